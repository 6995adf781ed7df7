// Lifecycle hooks are `async fn`s too.
use hubs::{Context, hub};

struct Chat;

#[hub]
impl Chat {
    fn on_connected(&self, ctx: &Context) {
        let _ = ctx;
    }
}

fn main() {}
