//! The server the interop tests drive with the official clients: one hub exercising every
//! feature (`examples::interop::TestHub`), mounted with default options at `/hubs/test` and
//! with detailed errors at `/hubs/test-detailed`, plus REST endpoints that reach clients from
//! outside the hub, the chaos tests' hub and the authenticated hubs (`examples::auth_hub`).

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use hubs::ConnectionOptions;
use hubs::Transport::{self, LongPolling, ServerSentEvents, WebSockets};
use hubs::prelude::*;

use examples::auth_hub;
use examples::interop::{TestClient, TestHub};

#[path = "../chaos_hub.rs"]
mod chaos_hub;

/// The filter of `/hubs/test-filtered`: refuses `Record` of a negative value before the method
/// runs (`Recorded` shows it never did) and multiplies `Add`'s result by ten.
struct InteropFilter;

impl hubs::HubFilter for InteropFilter {
    async fn invoke(
        &self,
        invocation: &hubs::HubInvocation,
        next: hubs::Next<'_, Result<hubs::InvocationResult, HubError>>,
    ) -> Result<hubs::InvocationResult, HubError> {
        match invocation.method() {
            "Record" if invocation.argument::<i64>(0).is_ok_and(|value| value < 0) => {
                Err(HubError::new("negative values are refused by a filter"))
            }
            "Add" => {
                let sum: i32 = next.run().await?.decode()?;
                invocation.result(&(sum * 10))
            }
            _ => next.run().await,
        }
    }
}

async fn broadcast(State(hub): State<HubContext<TestHub>>, body: String) -> StatusCode {
    match hub.clients().all().send("Received", (body,)).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn send_to_user(
    State(hub): State<HubContext<TestHub>>,
    Path(user): Path<String>,
    body: String,
) -> StatusCode {
    match hub.clients().user(user).received(&body).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn add_to_group(
    State(hub): State<HubContext<TestHub>>,
    Path((group, connection_id)): Path<(String, String)>,
) -> StatusCode {
    match hub.groups().add(&connection_id, &group).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    // The `user` query parameter names a connection's user (demo authentication).
    let test = HubEndpoint::builder(TestHub::default())
        .authenticate(examples::user_from_query())
        .build();
    let context = test.context();
    let app = Router::new()
        .route("/api/broadcast", post(broadcast))
        .route("/api/groups/{group}/{connection_id}", post(add_to_group))
        .route("/api/users/{user}", post(send_to_user))
        .with_state(context)
        .hub("/hubs/test", test)
        .hub(
            "/hubs/test-detailed",
            HubEndpoint::builder(TestHub::default())
                .detailed_errors(true)
                .authenticate(examples::user_from_query())
                .build(),
        )
        // For transport fallback and the transport status codes.
        .hub(
            "/hubs/test-no-websockets",
            with_transports(&[ServerSentEvents, LongPolling]),
        )
        .hub("/hubs/test-long-polling", with_transports(&[LongPolling]))
        .hub("/hubs/test-websockets", with_transports(&[WebSockets]))
        // Idle long polls are swept after 2 s here, so tests can outlast the sweep quickly.
        .hub(
            "/hubs/test-quick-sweep",
            HubEndpoint::builder(TestHub::default())
                .configure_connections(|o| o.disconnect_timeout = Duration::from_secs(2))
                .build(),
        )
        .hub(
            "/hubs/test-filtered",
            HubEndpoint::builder(TestHub::default())
                .filter(InteropFilter)
                .build(),
        )
        .hub(
            "/hubs/test-stateful",
            HubEndpoint::builder(TestHub::default())
                .configure_connections(|o| o.allow_stateful_reconnects = true)
                .build(),
        );
    // The chaos tests' endpoint: short timeouts and counters of what the server holds.
    let app = app.merge(chaos_hub::routes()).merge(auth_hub::routes());
    examples::serve(app).await;
}

/// The test hub offering only `transports`.
fn with_transports(transports: &[Transport]) -> HubEndpoint<TestHub> {
    HubEndpoint::builder(TestHub::default())
        .connection_options(ConnectionOptions {
            transports: transports.to_vec(),
            ..ConnectionOptions::default()
        })
        .build()
}
