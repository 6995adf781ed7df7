//! The chat example: `scripts/chat` (or `cargo run --release -p examples --bin chat` once
//! `npm ci --prefix interop` has installed the browser client), then open
//! http://127.0.0.1:5000. The hub is at `/hubs/chat` (`examples::chat`), the signed-in users' hub at
//! `/hubs/secure-chat` (tokens from `POST /api/login`); everything lives in memory.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use examples::chat::ChatHub;
use examples::secure_chat;
use hubs::prelude::*;
use tower_http::cors::CorsLayer;

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
