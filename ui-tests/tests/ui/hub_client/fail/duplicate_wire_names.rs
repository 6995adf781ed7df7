// #[hub_client] wire names are unique without regard to case: JavaScript clients match handlers that way.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message(&self, message: &str);

    // The same wire name as `receive_message`.
    #[method(name = "ReceiveMessage")]
    async fn receive_text(&self, message: &str);

    // Differs from `receive_message` only in case.
    #[method(name = "receiveMessage")]
    async fn receive_note(&self, message: &str);
}

fn main() {}
