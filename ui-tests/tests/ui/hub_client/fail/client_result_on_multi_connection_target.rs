// Client methods that return a value (client results) are called on one connection: `caller()` or `client(id)`, not `all()` or `group(..)`.
use hubs::prelude::*;

#[hub_client]
trait ChatClient {
    async fn confirm(&self, question: &str) -> bool;
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn ask_everyone(&self, ctx: &Context) -> Result<bool, HubError> {
        ctx.clients().all().confirm("Ready?").await
    }
}

fn main() {}
