// #[hub_client] methods are declarations ending in `;`: the macro writes the body that sends the call.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message(&self, message: &str) {
        let _ = message;
    }
}

fn main() {}
