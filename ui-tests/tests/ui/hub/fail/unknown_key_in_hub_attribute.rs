// #[hub] takes no arguments.
use hubs::hub;

struct Chat;
struct ChatClient;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
