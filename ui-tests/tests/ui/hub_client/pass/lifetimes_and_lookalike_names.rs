// Named lifetimes are fine in client methods, and types that merely look like `UploadStream`
// are ordinary hub method arguments.
use hubs::prelude::*;
use serde::Deserialize;

#[hub_client]
trait ChatClient {
    async fn receive<'a>(&self, message: &'a str);
}

#[derive(ts_rs::TS, Deserialize)]
struct UploadStreamOptions {
    chunk: u32,
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn configure(&self, ctx: &Context, options: UploadStreamOptions) -> Result<(), HubError> {
        ctx.clients().caller().receive(&options.chunk.to_string()).await?;
        Ok(())
    }

    async fn on_disconnected(&self, ctx: &Context) -> Result<(), HubError> {
        ctx.clients().others().receive("left").await?;
        Ok(())
    }
}

fn main() {}
