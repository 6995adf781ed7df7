//! Negotiate and the routing of transport requests, with ASP.NET Core's status codes and texts:
//! the registry of negotiated connections here, `negotiate.rs` and the transport requests in
//! `transports.rs`.

mod negotiate;
mod transports;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;

use super::http::HttpConnection;
use super::shutdown::{LiveCount, Served};
use super::websocket::Socket as WebSocket;
use super::{ConnectionHandler, ConnectionOptions, RequestInfo, Transport};
use crate::auth::{ConnectionUser, HubRequest, Principal, Refusal, RequestAuth};

/// Accepts negotiate and transport requests for one endpoint and hands each new connection to
/// its [`ConnectionHandler`].
pub struct ConnectionDispatcher {
    handler: Arc<dyn ConnectionHandler>,
    options: ConnectionOptions,
    /// Who requests come from, and who may connect; `None`: everyone, anonymously.
    auth: Option<RequestAuth>,
    registry: Mutex<Registry>,
    /// Set once the idle Long Polling watcher runs.
    idle_watch: std::sync::OnceLock<()>,
    /// Set when the server shuts down: no new connection is accepted.
    stopping: AtomicBool,
    /// Transports still running, for a shutdown to wait on.
    live: Arc<LiveCount>,
    /// The server this endpoint last registered with (0: none), so a request costs a lock
    /// only the first time.
    server: AtomicU64,
}

/// Negotiated connections by token, from negotiate until their transport ends.
struct Registry {
    by_token: HashMap<Box<str>, Registered>,
    next_sweep: Instant,
}

struct Registered {
    connection_id: Arc<str>,
    /// Who negotiated; every later request must be the same user.
    user: Option<Arc<ConnectionUser>>,
    /// Negotiated with stateful reconnect.
    stateful: bool,
    state: State,
}

enum State {
    /// Negotiated; the transport has not arrived yet. `early_input` holds what the client
    /// POSTed meanwhile.
    Waiting {
        negotiated_at: Instant,
        early_input: Vec<Bytes>,
    },
    /// A WebSocket is attached; with stateful reconnect, new sockets resume it through here.
    WebSocket(Option<mpsc::Sender<WebSocket>>),
    /// An SSE or Long Polling connection, reached by later requests.
    Http(Arc<HttpConnection>),
}

impl State {
    fn transport(&self) -> Option<Transport> {
        match self {
            State::Waiting { .. } => None,
            State::WebSocket(_) => Some(Transport::WebSockets),
            State::Http(connection) => Some(connection.transport),
        }
    }
}

/// A transport request that names no usable connection.
enum UnknownConnection {
    /// No `id` in the query.
    Missing,
    /// No connection has that token.
    Unknown,
}

impl IntoResponse for UnknownConnection {
    fn into_response(self) -> Response {
        match self {
            UnknownConnection::Missing => text(StatusCode::BAD_REQUEST, "Connection ID required"),
            UnknownConnection::Unknown => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        }
    }
}

/// New connections while the server shuts down.
fn shutting_down() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is shutting down",
    )
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn json_response(body: &impl Serialize) -> Response {
    let body = serde_json::to_vec(body).expect("negotiate responses serialize");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn not_supported(transport: Transport) -> Response {
    let body = format!(
        "{} transport not supported by this end point type",
        transport.name()
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        body,
    )
        .into_response()
}

impl ConnectionDispatcher {
    /// A dispatcher handing connections to `handler`.
    pub fn new(handler: Arc<dyn ConnectionHandler>, options: ConnectionOptions) -> Self {
        Self {
            handler,
            options,
            auth: None,
            registry: Mutex::new(Registry {
                by_token: HashMap::new(),
                next_sweep: Instant::now(),
            }),
            idle_watch: std::sync::OnceLock::new(),
            stopping: AtomicBool::new(false),
            live: Arc::default(),
            server: AtomicU64::new(0),
        }
    }

    /// The server is shutting down: refuses new connections, forgets those whose transport
    /// has not come, and has the handler end every running one.
    pub(crate) fn shutdown(&self, allow_reconnect: bool) {
        self.stopping.store(true, Ordering::Release);
        self.registry().by_token.retain(|_, r| match &r.state {
            State::Waiting { .. } => false,
            State::Http(connection) => {
                connection.stopping();
                true
            }
            State::WebSocket(_) => true,
        });
        self.handler.shutdown(allow_reconnect);
    }

    /// Resolves once every transport of this endpoint has ended: WebSockets closed, SSE
    /// responses ended, and Long Polling clients handed their last messages.
    pub(crate) async fn drained(&self) {
        self.live.none().await;
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Lets the server `parts` came through reach this endpoint when it shuts down.
    fn register_with_server(self: &Arc<Self>, parts: &Parts) {
        if let Some(served) = parts.extensions.get::<Served>()
            && self.server.swap(served.id(), Ordering::AcqRel) != served.id()
        {
            served.add(self);
        }
    }

    /// Authenticates every request of this endpoint with `auth`.
    pub(crate) fn with_auth(mut self, auth: RequestAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Who `parts` comes from (`None`: anonymous), or the response refusing it.
    async fn admit(&self, parts: &mut Parts) -> Result<Option<Arc<Principal>>, Response> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        parts.extensions.insert(HubRequest);
        auth.admit(parts).await.map_err(IntoResponse::into_response)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of the connection `token` names, if `principal` may use it: 404 for an
    /// unknown token, 403 for another user's connection.
    fn registered_state(
        &self,
        token: &str,
        principal: Option<&Principal>,
    ) -> Result<StateView, Unusable> {
        let registry = self.registry();
        let Some(registered) = registry.by_token.get(token) else {
            return Err(Unusable::Unknown);
        };
        same_user(&registered.user, principal).map_err(Unusable::Refused)?;
        Ok(match &registered.state {
            State::Waiting { .. } => StateView::Waiting,
            State::WebSocket(_) => StateView::WebSocket,
            State::Http(connection) => StateView::Http(Arc::clone(connection)),
        })
    }

    /// Removes a connection whose transport ended; its token is no longer accepted.
    fn forget(&self, token: Option<&str>) {
        if let Some(token) = token {
            self.registry().by_token.remove(token);
        }
    }
}

/// Why a POST or DELETE cannot use the connection it names.
enum Unusable {
    Unknown,
    Refused(Refusal),
}

impl IntoResponse for Unusable {
    fn into_response(self) -> Response {
        match self {
            Unusable::Unknown => UnknownConnection::Unknown.into_response(),
            Unusable::Refused(refusal) => refusal.into_response(),
        }
    }
}

/// What a registered connection is, seen from a POST or DELETE.
enum StateView {
    Waiting,
    WebSocket,
    Http(Arc<HttpConnection>),
}

/// Every request of a connection must come from the user that negotiated it (ASP.NET Core only
/// logs a mismatch; a connection is not to be taken over). A refreshed token for that user moves
/// the connection's expiry.
fn same_user(
    negotiated: &Option<Arc<ConnectionUser>>,
    principal: Option<&Principal>,
) -> Result<(), Refusal> {
    match (negotiated, principal) {
        (None, None) => Ok(()),
        (Some(user), principal) => user.refresh(principal),
        (None, Some(_)) => Err(Refusal::Forbidden),
    }
}

/// The `id` of a POST or DELETE, or the response for its absence.
fn token_of(query: Option<&str>) -> Result<String, UnknownConnection> {
    let info = RequestInfo::new(Default::default(), query);
    match info.query_value("id").filter(|id| !id.is_empty()) {
        Some(token) => Ok(token.to_string()),
        None => Err(UnknownConnection::Missing),
    }
}

fn info_of(parts: &axum::http::request::Parts) -> RequestInfo {
    RequestInfo::new(parts.headers.clone(), parts.uri.query())
}
