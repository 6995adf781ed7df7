// `on_disconnected` returns nothing or a `Result<(), E>`; its error is logged, since the client is gone.
use hubs::{Context, HubError, hub};

struct Chat;

#[hub]
impl Chat {
    async fn on_disconnected(&self, ctx: &Context) -> Result<String, HubError> {
        Ok(ctx.connection_id().to_string())
    }
}

fn main() {}
