// A `pub async fn` in a #[hub] impl is a hub method, so it needs a `&self` receiver.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn echo(message: String) -> String {
        message
    }
}

fn main() {}
