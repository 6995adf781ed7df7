// `#[method(name = "...")]` sets a method's wire name; without it the wire name is the PascalCase Rust name.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    /// Clients call `Send` (matched without regard to case, so `send` works too).
    #[method(name = "Send")]
    pub async fn send_message(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        ctx.clients().all().send("ReceiveMessage", (message,)).await?;
        Ok(())
    }

    /// Clients call `ping` — any non-empty name is allowed, even one that is not PascalCase.
    #[method(name = "ping")]
    pub async fn heartbeat(&self) -> &'static str {
        "pong"
    }

    /// Clients call `SendMessage`: it does not clash with `Send` above.
    #[method(name = "SendMessage")]
    pub async fn send_message_v1(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        self.send_message(ctx, message).await
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Chat);
}
