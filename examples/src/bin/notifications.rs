//! The notifications example: `cargo run --release -p examples --bin notifications`.
//!
//! Services push to browsers through the hub context (the "send from services" pattern):
//!
//! - `POST /api/notifications/broadcast` with `{"title": .., "message": ..}`: every client gets
//!   `ReceiveNotification(notification)`;
//! - `POST /api/notifications/users/{id}` with the same body: every connection of user `id`;
//! - `POST /api/orders/{id}/status` with `{"status": ..}`: clients following order `id` get
//!   `OrderStatusChanged(orderId, status)`.
//!
//! Until authentication is configured, a connection's user is the `user` query parameter of
//! its URL (`/hubs/notifications?user=alice`); each connection with a user is put in the group
//! `user:{id}` when it connects.

use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use examples::notifications::{
    NotificationClient, NotificationDto, NotificationHub, order_group, user_group,
};
use hubs::Timestamp;
use hubs::prelude::*;
use serde::Deserialize;
use tower_http::cors::{AllowHeaders, AllowMethods, CorsLayer};

#[derive(Deserialize)]
struct NewNotification {
    title: String,
    message: String,
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
}

#[derive(Clone)]
struct Services {
    hub: HubContext<NotificationHub>,
    next_id: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Services {
    fn notification(&self, new: NewNotification) -> NotificationDto {
        NotificationDto {
            id: self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            title: new.title,
            message: new.message,
            created_at: Timestamp::now(),
        }
    }
}

fn status(result: Result<(), hubs::SendError>) -> StatusCode {
    match result {
        Ok(()) => StatusCode::ACCEPTED,
        Err(error) => {
            tracing::error!(%error, "push failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

async fn broadcast(
    State(services): State<Services>,
    Json(new): Json<NewNotification>,
) -> StatusCode {
    let notification = services.notification(new);
    status(
        services
            .hub
            .clients()
            .all()
            .receive_notification(&notification)
            .await,
    )
}

async fn to_user(
    State(services): State<Services>,
    Path(user): Path<String>,
    Json(new): Json<NewNotification>,
) -> StatusCode {
    let notification = services.notification(new);
    let clients = services.hub.clients();
    status(
        clients
            .group(user_group(&user))
            .receive_notification(&notification)
            .await,
    )
}

async fn order_status(
    State(services): State<Services>,
    Path(order_id): Path<String>,
    Json(change): Json<StatusChange>,
) -> StatusCode {
    let clients = services.hub.clients();
    let followers = clients.group(order_group(&order_id));
    status(
        followers
            .order_status_changed(&order_id, &change.status)
            .await,
    )
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    let builder = HubEndpoint::builder(NotificationHub)
        // The `user` query parameter names a connection's user (demo authentication).
        .authenticate(examples::user_from_query());
    // With REDIS_URL set, pushes reach the clients of every node on that Redis.
    let endpoint = examples::scale_out::join(builder).build();
    let services = Services {
        hub: endpoint.context(),
        next_id: Default::default(),
    };
    let app = Router::new()
        .route("/api/notifications/broadcast", post(broadcast))
        .route("/api/notifications/users/{id}", post(to_user))
        .route("/api/orders/{id}/status", post(order_status))
        .with_state(services)
        .hub("/hubs/notifications", endpoint)
        .layer(cors_for_one_origin());
    examples::serve(app).await;
}

/// CORS for the one frontend that uses this backend (a single-page app on its own origin,
/// `FRONTEND_ORIGIN`, by default a Vite dev server) and sends credentials (cookies, or the
/// `Authorization` header of `accessTokenFactory`). With credentials browsers accept no
/// wildcards: the exact origin, credentials allowed, and the methods and headers the official
/// client asks for (`X-SignalR-User-Agent`, `X-Requested-With`, ...) echoed back.
fn cors_for_one_origin() -> CorsLayer {
    let origin =
        std::env::var("FRONTEND_ORIGIN").unwrap_or_else(|_| "http://localhost:5173".into());
    let origin = HeaderValue::from_str(&origin).expect("FRONTEND_ORIGIN is a valid origin");
    CorsLayer::new()
        .allow_origin(origin)
        .allow_credentials(true)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
}
