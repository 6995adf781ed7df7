// `on_connected` takes only `&self` and optionally `ctx: &Context`: no client sends it arguments.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    async fn on_connected(&self, user: String) {
        let _ = user;
    }
}

fn main() {}
