// A #[hub_client] trait holds only `async fn` client methods: no associated types or consts.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    type Message;

    const LIMIT: usize;

    async fn receive_message(&self, message: &str);
}

fn main() {}
