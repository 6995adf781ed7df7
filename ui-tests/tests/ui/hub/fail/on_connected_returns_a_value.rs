// `on_connected` returns nothing or a `Result<(), E>` whose error closes the connection.
use hubs::{Context, hub};

struct Chat;

#[hub]
impl Chat {
    async fn on_connected(&self, ctx: &Context) -> usize {
        ctx.connection_id().len()
    }
}

fn main() {}
