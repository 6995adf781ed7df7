// A #[hub_client] trait has no supertraits: #[hub_client] adds the one it needs.
use hubs::hub_client;

#[hub_client]
trait ChatClient: Send {
    async fn receive_message(&self, message: &str);
}

fn main() {}
