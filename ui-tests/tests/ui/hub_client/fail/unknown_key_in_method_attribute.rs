// #[method(...)] on a #[hub_client] method takes only `name = "..."`.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    #[method(rename = "Receive")]
    async fn receive_message(&self, message: &str);
}

fn main() {}
