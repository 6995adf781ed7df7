// #[hub_client] methods have no type parameters: each parameter has a concrete type.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message<T: serde::Serialize + Send + Sync>(&self, message: T);
}

fn main() {}
