// A #[hub_client] method that returns a value is a client result: await it on `caller()` or `client(id)`, with an optional timeout.
use std::time::Duration;

use hubs::prelude::*;

#[hub_client]
trait ChatClient {
    /// The client's handler returns true or false.
    async fn confirm(&self, question: &str) -> bool;
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn ask_caller(&self, ctx: &Context, question: String) -> Result<bool, HubError> {
        ctx.clients().caller().confirm(&question).await
    }

    pub async fn ask_client(
        &self,
        ctx: &Context,
        connection_id: String,
        question: String,
    ) -> Result<bool, HubError> {
        ctx.clients().client(connection_id).confirm(&question).await
    }

    pub async fn ask_caller_within(
        &self,
        ctx: &Context,
        question: String,
        ms: u64,
    ) -> Result<bool, HubError> {
        ctx.clients()
            .caller()
            .with_timeout(Duration::from_millis(ms))
            .confirm(&question)
            .await
    }
}

/// From outside the hub: one connection, by id.
async fn ask(hub: HubContext<Chat>, connection_id: String) -> Result<bool, HubError> {
    hub.clients()
        .client(connection_id)
        .confirm("Asked from outside?")
        .await
}

fn main() {
    // Client results inside hub methods need more than one parallel invocation per client.
    let endpoint = HubEndpoint::builder(Chat)
        .options(HubOptions {
            maximum_parallel_invocations_per_client: 2,
            ..HubOptions::default()
        })
        .build();
    let _ask = ask(endpoint.context(), "id".to_string());
}
