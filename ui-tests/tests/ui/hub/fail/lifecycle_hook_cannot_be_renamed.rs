// Lifecycle hooks are not hub methods, so they have no wire name to set.
use hubs::{Context, hub};

struct Chat;

#[hub]
impl Chat {
    #[method(name = "Connected")]
    async fn on_connected(&self, ctx: &Context) {
        let _ = ctx;
    }
}

fn main() {}
