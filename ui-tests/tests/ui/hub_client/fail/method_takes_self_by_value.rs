// #[hub_client] methods take `&self`, the proxy the call goes through.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message(self, message: String);
}

fn main() {}
