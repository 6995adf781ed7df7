// The wire name in #[method(name = "...")] is a string literal.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method(name = Send)]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
