// #[hub_client] takes no arguments; a method's wire name is set with #[method(name = "...")].
use hubs::hub_client;

#[hub_client(foo)]
trait ChatClient {
    async fn receive_message(&self, message: &str);
}

fn main() {}
