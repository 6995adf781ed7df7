// A #[hub_client] method can be called on every client target, inside a hub method and on a `HubContext` outside one.
use hubs::prelude::*;

#[hub_client]
trait ChatClient {
    async fn notify(&self, text: &str);
}

struct Chat;

#[hub(client = ChatClient)]
impl Chat {
    pub async fn send_everywhere(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        let clients = ctx.clients();
        let me = ctx.connection_id();
        clients.all().notify(&text).await?;
        clients.all_except([me]).notify(&text).await?;
        clients.caller().notify(&text).await?;
        clients.others().notify(&text).await?;
        clients.client(me).notify(&text).await?;
        clients.clients([me, "other"]).notify(&text).await?;
        clients.group("ops").notify(&text).await?;
        clients.groups(["ops", "dev"]).notify(&text).await?;
        clients.group_except("ops", [me]).notify(&text).await?;
        clients.others_in_group("ops").notify(&text).await?;
        clients.user("ann").notify(&text).await?;
        clients.users(["ann", "bob"]).notify(&text).await?;
        Ok(())
    }
}

/// From an axum handler or a background task: every target but the caller's own.
async fn announce(hub: HubContext<Chat>, text: &str) -> Result<(), hubs::SendError> {
    let clients = hub.clients();
    clients.all().notify(text).await?;
    clients.all_except(["id"]).notify(text).await?;
    clients.client("id").notify(text).await?;
    clients.clients(["id", "other"]).notify(text).await?;
    clients.group("ops").notify(text).await?;
    clients.groups(["ops", "dev"]).notify(text).await?;
    clients.group_except("ops", ["id"]).notify(text).await?;
    clients.user("ann").notify(text).await?;
    clients.users(["ann", "bob"]).notify(text).await?;
    Ok(())
}

fn main() {
    let endpoint = HubEndpoint::new(Chat);
    let _announce = announce(endpoint.context(), "deploying");
}
