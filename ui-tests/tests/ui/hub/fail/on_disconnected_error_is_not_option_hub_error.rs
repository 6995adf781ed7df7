// The error parameter of `on_disconnected` is an `Option<HubError>`: `None` when the connection closed cleanly.
use hubs::{Context, hub};

struct Chat;

#[hub]
impl Chat {
    async fn on_disconnected(&self, ctx: &Context, error: String) {
        let _ = (ctx, error);
    }
}

fn main() {}
