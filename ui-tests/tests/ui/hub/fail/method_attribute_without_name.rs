// #[method(...)] says what it changes: `#[method(name = "WireName")]`.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[method]
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
