// Every #[hub_client] parameter and client result has a TypeScript form: derive `ts_rs::TS`.
use hubs::hub_client;
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    text: String,
}

#[hub_client]
trait ChatClient {
    async fn receive_message(&self, message: &Message);
}

fn main() {}
