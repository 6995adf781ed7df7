// A #[hub_client] method's return type (a client result) implements serde's `Deserialize`.
use hubs::hub_client;

struct Answer {
    accepted: bool,
}

#[hub_client]
trait ChatClient {
    async fn confirm(&self, question: &str) -> Answer;
}

fn main() {}
