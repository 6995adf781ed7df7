// `client` in #[hub(...)] names the hub's #[hub_client] trait: `#[hub(client = ChatClient)]`.
use hubs::hub;

struct Chat;

#[hub(client)]
impl Chat {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
