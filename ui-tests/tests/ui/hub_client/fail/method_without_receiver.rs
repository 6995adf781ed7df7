// #[hub_client] methods take `&self`: they are called on a target, like `ctx.clients().all()`.
use hubs::hub_client;

#[hub_client]
trait ChatClient {
    async fn receive_message(message: String);
}

fn main() {}
