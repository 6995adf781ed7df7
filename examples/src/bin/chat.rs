//! The chat example: `scripts/chat` (or `cargo run --release -p examples --bin chat` once
//! `npm ci --prefix interop` has installed the browser client), then open
//! http://127.0.0.1:5000. The hub is at `/hubs/chat`, the signed-in users' hub at
//! `/hubs/secure-chat` (tokens from `POST /api/login`); everything lives in memory.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use hubs::prelude::*;
use tower_http::cors::CorsLayer;

#[path = "../secure_chat.rs"]
mod secure_chat;

/// A chat room with groups.
struct ChatHub;

#[hub]
impl ChatHub {
    /// `SendMessage(user, message)`: everyone gets `ReceiveMessage(user, message)`.
    pub async fn send_message(
        &self,
        ctx: &Context,
        user: String,
        message: String,
    ) -> Result<(), HubError> {
        ctx.clients()
            .all()
            .send("ReceiveMessage", (user, message))
            .await?;
        Ok(())
    }

    /// `JoinGroup(group)`: the caller joins, then the group gets `UserJoined(connectionId, group)`.
    pub async fn join_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), &group).await?;
        ctx.clients()
            .group(&group)
            .send("UserJoined", (ctx.connection_id(), &group))
            .await?;
        Ok(())
    }

    /// `LeaveGroup(group)`: the caller leaves, then the group gets `UserLeft(connectionId, group)`.
    pub async fn leave_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        ctx.groups().remove(ctx.connection_id(), &group).await?;
        ctx.clients()
            .group(&group)
            .send("UserLeft", (ctx.connection_id(), &group))
            .await?;
        Ok(())
    }

    /// `SendMessageToGroup(group, user, message)`: the group gets `ReceiveMessage(user, message)`.
    pub async fn send_message_to_group(
        &self,
        ctx: &Context,
        group: String,
        user: String,
        message: String,
    ) -> Result<(), HubError> {
        ctx.clients()
            .group(&group)
            .send("ReceiveMessage", (user, message))
            .await?;
        Ok(())
    }

    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        tracing::info!(connection_id = ctx.connection_id(), "user connected");
        ctx.clients()
            .all()
            .send("UserConnected", (ctx.connection_id(),))
            .await?;
        Ok(())
    }

    async fn on_disconnected(&self, ctx: &Context, error: Option<HubError>) {
        match error {
            Some(error) => {
                tracing::info!(connection_id = ctx.connection_id(), %error, "user disconnected")
            }
            None => tracing::info!(connection_id = ctx.connection_id(), "user disconnected"),
        }
        let _ = ctx
            .clients()
            .others()
            .send("UserDisconnected", (ctx.connection_id(),))
            .await;
    }
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    // Installed before anything is served, so every metric of hubs reaches it.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only metrics recorder of the process");
    let app = Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../../static/chat.html")) }),
        )
        .merge(examples::signalr_client())
        // The hub metrics (signalr.server.*) in Prometheus' text format.
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .hub("/hubs/chat", ChatHub)
        // `/hubs/secure-chat` and `POST /api/login`: signed-in users, bearer tokens.
        .merge(secure_chat::routes(secure_chat::SigningKey::from_env()))
        // Browser clients on other origins send credentials by default.
        .layer(CorsLayer::very_permissive());
    examples::serve(app).await;
}
