// #[authorize] on an impl block needs #[hub] there too: only a hub's connections and calls are authorized.
use hubs::authorize;

struct Chat;

#[authorize]
impl Chat {
    pub async fn send(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
