// Lifecycle hooks run for every connection the hub accepts: require a signed-in user to connect with #[authorize] on the #[hub] impl instead.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize]
    async fn on_connected(&self) {}

    #[authorize(roles = "Admin")]
    async fn on_disconnected(&self) {}
}

fn main() {}
