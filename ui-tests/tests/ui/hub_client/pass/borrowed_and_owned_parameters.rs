// #[hub_client] parameters may be borrowed (`&str`, `&T`, `&[T]`) or owned; each is `Serialize + Send + Sync`.
use hubs::prelude::*;
use serde::Serialize;

#[derive(ts_rs::TS, Serialize)]
struct Message {
    user: String,
    text: String,
}

#[hub_client]
trait ChatClient {
    async fn receive_text(&self, user: &str, text: String);
    async fn receive_message(&self, message: &Message);
    async fn receive_history(&self, messages: &[Message], more: bool);
    async fn receive_owned(&self, message: Message, tags: Vec<String>);
    async fn ping(&self);
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn send(&self, ctx: &Context, user: String, text: String) -> Result<(), HubError> {
        let all = ctx.clients().all();
        all.receive_text(&user, text.clone()).await?;
        let message = Message { user, text };
        all.receive_message(&message).await?;
        all.receive_history(std::slice::from_ref(&message), false)
            .await?;
        all.receive_owned(message, vec!["chat".to_string()]).await?;
        all.ping().await?;
        Ok(())
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Chat);
}
