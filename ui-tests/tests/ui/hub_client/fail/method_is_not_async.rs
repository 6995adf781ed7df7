// #[hub_client] methods are `async fn`: sending is awaited.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    fn receive_message(&self, message: &str);
}

fn main() {}
