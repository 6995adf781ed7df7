// A #[hub_client] trait is not generic: its methods describe fixed client signatures.
use hubs::hub_client;

#[hub_client]
trait ChatClient<T> {
    async fn receive_message(&self, message: &str);
}

fn main() {}
