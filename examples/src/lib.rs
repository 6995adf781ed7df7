//! What the example servers share: logging and the listening address, and
//! the example hubs with their client traits and DTOs (the binaries mount them;
//! `src/bin/typescript.rs` writes their TypeScript modules).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;

pub mod auth_hub;
pub mod chat;
pub mod cluster;
pub mod interop;
pub mod notifications;
pub mod scale_out;
pub mod secure_chat;
pub mod streaming;
pub mod testhub;
pub mod tutorial;

/// Logs through `tracing`, at `info` unless `RUST_LOG` says otherwise.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,hubs_runtime=info".into()),
        )
        .init();
}

/// 127.0.0.1 and the port in `PORT`, 5000 by default.
pub fn address() -> SocketAddr {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Serves `app` on [`address`] with [`hubs::serve`] until Ctrl-C or SIGTERM, then shuts down
/// gracefully: every hub connection gets a Close message allowing reconnects (unless
/// `SHUTDOWN_ALLOW_RECONNECT=0`) and `on_disconnected` runs for each. Clients that take too
/// long to send their request headers are disconnected (30 s, or `HEADER_READ_TIMEOUT_MS`,
/// which tests set short).
pub async fn serve(app: Router) {
    let address = address();
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {address}: {e}"));
    let header_read_timeout = std::env::var("HEADER_READ_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .filter(|&ms| ms > 0)
        .map_or(hubs::DEFAULT_HEADER_READ_TIMEOUT, Duration::from_millis);
    tracing::info!("listening on http://{address}");
    let allow_reconnect = std::env::var("SHUTDOWN_ALLOW_RECONNECT").map_or(true, |v| v != "0");
    hubs::serve(listener, app)
        .header_read_timeout(header_read_timeout)
        .allow_reconnect_on_shutdown(allow_reconnect)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .expect("server error");
    tracing::info!("shut down");
}

/// Ctrl-C, or SIGTERM (what `kill`, systemd and Kubernetes send) on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
}

/// Demo authentication: the `user` query parameter names the connection's user (its id and
/// name). Anyone can claim any name, so this only suits examples and tests; the chat example
/// shows real bearer tokens.
pub fn user_from_query() -> impl hubs::auth::Authenticator {
    hubs::auth::from_fn(|request| {
        let user = form_urlencoded::parse(request.uri.query().unwrap_or_default().as_bytes())
            .find(|(key, value)| key == "user" && !value.is_empty())
            .map(|(_, user)| user.into_owned());
        let principal = user.map(|user| hubs::auth::Principal::new(user.clone()).with_id(user));
        std::future::ready(Ok(principal))
    })
}
