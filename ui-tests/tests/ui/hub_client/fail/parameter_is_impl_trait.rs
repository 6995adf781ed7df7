// #[hub_client] parameters have concrete types: `impl Trait` would make the method generic.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message(&self, message: impl serde::Serialize + Send + Sync);
}

fn main() {}
