// A lifecycle hook's future is `Send`, like a hub method's: hold no `Rc` across an `.await`.
use std::rc::Rc;

use hubs::{Context, hub};

struct Chat;

async fn pause() {}

#[hub]
impl Chat {
    async fn on_connected(&self, ctx: &Context) {
        let id = Rc::new(ctx.connection_id().to_owned());
        pause().await;
        let _ = id;
    }
}

fn main() {}
