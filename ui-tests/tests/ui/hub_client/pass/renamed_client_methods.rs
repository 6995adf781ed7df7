// `#[method(name = "...")]` sets a client method's wire name; without it the wire name is the PascalCase Rust name.
use hubs::prelude::*;

#[hub_client]
trait ChatClient {
    /// Calls `ReceiveMessage` on the client.
    async fn receive_message(&self, message: &str);

    /// Calls `newMessage` on the client (JavaScript clients match names without regard to case).
    #[method(name = "newMessage")]
    async fn notify(&self, message: &str);
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn send(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        ctx.clients().all().receive_message(&message).await?;
        ctx.clients().others().notify(&message).await?;
        Ok(())
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Chat);
}
