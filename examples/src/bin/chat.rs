//! The chat example: `scripts/chat`, then open http://127.0.0.1:5000. The hub is at
//! `/hubs/chat` (`examples::chat`), the signed-in users' hub at `/hubs/secure-chat` (tokens
//! from `POST /api/login`); everything lives in memory.
//!
//! The page is `examples/web/chat.html` with its script bundled from `examples/web/chat.ts`
//! (which imports the generated `examples/typescript/ChatHub.ts` and the pinned
//! `@microsoft/signalr`) by `node examples/web/build.mjs` into `target/chat-web/chat.js`;
//! `scripts/chat` builds it, `CHAT_BUNDLE` names another file.

use std::path::PathBuf;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
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
            get(|| async { Html(include_str!("../../web/chat.html")) }),
        )
        .route("/chat.js", get(chat_js))
        // The hub metrics (signalr.server.*) in Prometheus' text format.
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        // With REDIS_URL set, every chat node on that Redis is one hub (examples::scale_out).
        .hub(
            "/hubs/chat",
            examples::scale_out::join(HubEndpoint::builder(ChatHub)).build(),
        )
        // `/hubs/secure-chat` and `POST /api/login`: signed-in users, bearer tokens.
        .merge(secure_chat::routes(secure_chat::SigningKey::from_env()))
        // Browser clients on other origins send credentials by default.
        .layer(CorsLayer::very_permissive());
    examples::serve(app).await;
}

/// Where the page's bundle is: `CHAT_BUNDLE`, else `target/chat-web/chat.js` of this
/// workspace.
fn bundle_path() -> PathBuf {
    std::env::var_os("CHAT_BUNDLE").map_or_else(
        || concat!(env!("CARGO_MANIFEST_DIR"), "/../target/chat-web/chat.js").into(),
        PathBuf::from,
    )
}

/// `GET /chat.js`: the page's script with the SignalR client inside, read on each request so
/// a rebuilt bundle needs no restart; 503 with what to run when it has not been built.
async fn chat_js() -> Response {
    let path = bundle_path();
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        // Nothing is fetched from outside localhost: the page says what to run instead.
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "The chat page's script is not built ({} is missing): run scripts/chat, or \
                 `npm ci --prefix interop && node examples/web/build.mjs`.",
                path.display()
            ),
        )
            .into_response(),
    }
}
