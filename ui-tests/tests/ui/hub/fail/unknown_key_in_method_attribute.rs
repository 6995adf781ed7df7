// #[method(...)] takes only `name = "..."`.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method(rename = "Send")]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
