// `#[hub(client = ...)]` names a trait that has #[hub_client] on it.
use hubs::hub;

trait ChatClient {
    async fn receive_message(&self, message: &str);
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
