// A #[hub_client] method's return type (a client result) implements serde's `Deserialize`.
use hubs::hub_client;

// A TypeScript form, so the only mistake is the serde one.
#[derive(ts_rs::TS)]
struct Answer {
    accepted: bool,
}

#[hub_client]
trait ChatClient {
    async fn confirm(&self, question: &str) -> Answer;
}

fn main() {}
