// Doc comments may document a hub method's parameters (the macro keeps them for generated clients and takes them off the Rust code, where the compiler rejects them).
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    /// Sends `message` to everyone as `user`.
    pub async fn send_message(
        &self,
        ctx: &Context,
        /// The name shown next to the message.
        user: String,
        /// The text, at most 32 KiB.
        message: String,
    ) -> Result<(), HubError> {
        ctx.clients().all().send("ReceiveMessage", (user, message)).await?;
        Ok(())
    }
}

#[hub_client]
trait ChatClient {
    /// A message from `user`.
    async fn receive_message(
        &self,
        /// Who wrote it.
        user: &str,
        /// What they wrote.
        message: &str,
    );
}

fn main() {
    let _endpoint = HubEndpoint::new(Chat);
}
