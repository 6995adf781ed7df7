// A wire name set with #[method(name = "...")] is not empty.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method(name = "")]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
