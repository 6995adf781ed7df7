// Each key of #[method(...)] is given at most once.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method(name = "Send", name = "Post")]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
