// Wire names are unique without regard to case: clients' method names are matched that way.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn send_message(&self, message: String) {
        let _ = message;
    }

    #[method(name = "sendMessage")]
    pub async fn send_message_v2(&self, message: String) {
        let _ = message;
    }
}

fn main() {}
