//! The streaming example: `cargo run --release -p examples --bin streaming`.
//!
//! Server-to-client streams (`connection.stream("StreamCounter", 10, 500).subscribe(...)` in
//! JavaScript), client-to-server streams (`connection.send("UploadStream", subject)`), a job
//! progress stream, and client results (the server asks a client to confirm and awaits the
//! answer). Mounted at `/hubs/streaming` with up to 4 parallel invocations per client (client
//! results inside hub methods need more than one) and at `/hubs/streaming-serial` with
//! ASP.NET Core's default of one (and detailed errors, to show why a client result fails there).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use examples::streaming::{StreamingClient, StreamingHub};
use hubs::HubOptions;
use hubs::prelude::*;
use tower_http::cors::CorsLayer;

/// `POST /api/ask/{connectionId}`: asks that client from outside the hub; answers
/// `{"answer": bool}` or `{"error": text}`.
async fn ask(
    State(hub): State<HubContext<StreamingHub>>,
    Path(connection_id): Path<String>,
) -> (StatusCode, Json<serde_json::Value>) {
    let client = hub.clients().client(connection_id);
    match client.confirm("Asked from outside the hub?").await {
        Ok(answer) => (
            StatusCode::OK,
            Json(serde_json::json!({ "answer": answer })),
        ),
        Err(error) => (
            StatusCode::OK,
            Json(serde_json::json!({ "error": error.message() })),
        ),
    }
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    let hub = StreamingHub::default();
    let parallel = HubEndpoint::builder(hub.clone())
        .options(HubOptions {
            maximum_parallel_invocations_per_client: 4,
            ..HubOptions::default()
        })
        .build();
    let context = parallel.context();
    let app = Router::new()
        .route("/api/ask/{connection_id}", post(ask))
        .with_state(context)
        .route("/health", get(|| async { "ok" }))
        .hub("/hubs/streaming", parallel)
        .hub(
            "/hubs/streaming-serial",
            HubEndpoint::builder(hub).detailed_errors(true).build(),
        )
        .layer(CorsLayer::very_permissive());
    examples::serve(app).await;
}
