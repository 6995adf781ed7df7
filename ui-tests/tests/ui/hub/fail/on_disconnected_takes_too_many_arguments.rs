// `on_disconnected` takes `&self`, optionally `ctx: &Context`, and optionally `error: Option<HubError>`.
use hubs::{Context, HubError, hub};

struct Chat;

#[hub]
impl Chat {
    async fn on_disconnected(&self, ctx: &Context, error: Option<HubError>, reason: String) {
        let _ = (ctx, error, reason);
    }
}

fn main() {}
