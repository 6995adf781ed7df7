// Client methods are called by the server, not by clients, so they take no #[authorize]: authorize the hub methods instead.
use hubs::prelude::*;

#[hub_client]
trait ChatClient {
    #[authorize(roles = "Admin")]
    async fn receive_message(&self, message: &str);
}

fn main() {}
