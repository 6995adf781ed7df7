// Every #[hub_client] parameter implements serde's `Serialize` (and is `Send + Sync`).
use hubs::hub_client;

// A TypeScript form, so the only mistake is the serde one.
#[derive(ts_rs::TS)]
struct Message {
    text: String,
}

#[hub_client]
trait ChatClient {
    async fn receive_message(&self, message: &Message);
}

fn main() {}
