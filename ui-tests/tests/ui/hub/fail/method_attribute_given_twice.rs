// A hub method has at most one #[method(...)].
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method(name = "Send")]
    #[method(name = "Post")]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
