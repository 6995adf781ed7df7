//! Negotiate and the routing of transport requests, with ASP.NET Core's status codes and texts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::Either;
use serde::Serialize;
use tokio::sync::mpsc;

use super::body::read_body;
use super::http::{self, HttpConnection};
use super::shutdown::{LiveCount, LiveGuard, Served};
use super::{
    ConnectionHandler, ConnectionOptions, RequestInfo, Transport, new_connection_id, websocket,
};
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NegotiateResponse<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    use_stateful_reconnect: bool,
    negotiate_version: u32,
    connection_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_token: Option<&'a str>,
    available_transports: Vec<AvailableTransport>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailableTransport {
    transport: &'static str,
    transfer_formats: &'static [&'static str],
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

/// The requested negotiate version: missing means 0, the key ignores case, above 1 means 1.
fn negotiate_version(info: &RequestInfo) -> Result<u32, String> {
    let Some((_, raw)) = info
        .query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("negotiateVersion"))
    else {
        return Ok(0);
    };
    let requested: i64 = raw
        .parse()
        .map_err(|_| "The client requested a non-integer protocol version.".to_string())?;
    if requested < 0 {
        return Err(format!(
            "The client requested version '{requested}', but the server does not support this version."
        ));
    }
    Ok(requested.min(1) as u32)
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

    /// `{path}/negotiate`: creates a connection and says how to reach it.
    pub async fn negotiate(&self, request: Request<Body>) -> Response {
        let (mut parts, body) = request.into_parts();
        if parts.method != Method::POST {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        if self.stopping() {
            return shutting_down();
        }
        let user = match self.admit(&mut parts).await {
            Ok(principal) => principal.map(ConnectionUser::new),
            Err(refusal) => return refusal,
        };
        let query = parts.uri.query();
        // Clients send no body, or an empty one; a large one is refused without reading it
        // all (hyper then closes the connection rather than drain the rest).
        if let Err(error) = read_body(body, self.options.transport_max_message_size).await {
            return error.into_response();
        }
        let info = RequestInfo::new(Default::default(), query);
        let version = match negotiate_version(&info) {
            Ok(v) => v,
            Err(error) => return json_response(&serde_json::json!({ "error": error })),
        };
        let connection_id: Arc<str> = new_connection_id().into();
        // Version 1 separates the public id from a secret token; version 0 uses the id.
        let token = if version >= 1 {
            new_connection_id()
        } else {
            connection_id.to_string()
        };
        // Offered only when the endpoint allows it and the client asked.
        let stateful = self.options.allow_stateful_reconnects
            && info
                .query
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("useStatefulReconnect") && v == "true");
        let response = NegotiateResponse {
            use_stateful_reconnect: stateful,
            negotiate_version: version,
            connection_id: &connection_id,
            connection_token: (version >= 1).then_some(token.as_str()),
            available_transports: Transport::ALL
                .iter()
                .filter(|t| self.options.transports.contains(t))
                .map(|t| AvailableTransport {
                    transport: t.name(),
                    transfer_formats: t.transfer_formats(),
                })
                .collect(),
        };
        let response = json_response(&response);
        let now = Instant::now();
        let mut registry = self.registry();
        if now >= registry.next_sweep {
            // Forget connections whose transport never came, at most once a second.
            let timeout = self.options.disconnect_timeout;
            registry.by_token.retain(|_, r| match &r.state {
                State::Waiting { negotiated_at, .. } => {
                    now.duration_since(*negotiated_at) < timeout
                }
                _ => true,
            });
            registry.next_sweep = now + std::time::Duration::from_secs(1);
        }
        registry.by_token.insert(
            token.into(),
            Registered {
                connection_id,
                user,
                stateful,
                state: State::Waiting {
                    negotiated_at: now,
                    early_input: Vec::new(),
                },
            },
        );
        response
    }

    /// Requests on `{path}` itself: the transports.
    pub async fn connect(self: Arc<Self>, request: Request<Body>) -> Response {
        let (mut parts, body) = request.into_parts();
        if !matches!(parts.method, Method::GET | Method::POST | Method::DELETE) {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        self.register_with_server(&parts);
        let principal = match self.admit(&mut parts).await {
            Ok(principal) => principal,
            Err(refusal) => return refusal,
        };
        let header_is = |name: header::HeaderName, wanted: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains(wanted))
        };
        let wanted = match parts.method {
            Method::GET if header_is(header::UPGRADE, "websocket") => Transport::WebSockets,
            Method::GET if header_is(header::ACCEPT, "text/event-stream") => {
                Transport::ServerSentEvents
            }
            Method::GET => Transport::LongPolling,
            Method::POST => return self.post(parts.uri.query(), principal, body).await,
            _ => return self.delete(parts.uri.query(), principal),
        };
        let mut info = RequestInfo::new(parts.headers.clone(), parts.uri.query());
        info.transport = Some(wanted);
        // An empty id counts as none, as in ASP.NET Core.
        let token = info
            .query_value("id")
            .filter(|id| !id.is_empty())
            .map(Box::<str>::from);
        if wanted == Transport::WebSockets && token.is_none() {
            // skipNegotiation: the socket itself creates the connection.
            if !self.options.transports.contains(&wanted) {
                return not_supported(wanted);
            }
            if self.stopping() {
                return shutting_down();
            }
            let id = Arc::from(new_connection_id());
            info.user = principal.map(ConnectionUser::new);
            return self
                .upgrade(&mut parts, None, Socket::New(id, None), info)
                .await;
        }
        let Some(token) = token else {
            return UnknownConnection::Missing.into_response();
        };

        // The order of ASP.NET Core's checks: the connection, the transport being enabled, a
        // change of transport, a second concurrent request.
        let attach = {
            let mut registry = self.registry();
            let Some(registered) = registry.by_token.get_mut(&token) else {
                return UnknownConnection::Unknown.into_response();
            };
            if let Err(refusal) = same_user(&registered.user, principal.as_deref()) {
                return refusal.into_response();
            }
            if !self.options.transports.contains(&wanted) {
                return not_supported(wanted);
            }
            info.user = registered.user.clone();
            let user = registered.user.clone();
            match &mut registered.state {
                // Shutdown forgot every waiting connection; this one came meanwhile.
                State::Waiting { .. } if self.stopping() => return shutting_down(),
                State::Waiting { early_input, .. } => {
                    let early_input = std::mem::take(early_input);
                    let id = Arc::clone(&registered.connection_id);
                    if wanted == Transport::WebSockets {
                        let (resume, resumed) = match registered.stateful {
                            true => {
                                let (sender, receiver) = mpsc::channel(1);
                                (Some(sender), Some(receiver))
                            }
                            false => (None, None),
                        };
                        registered.state = State::WebSocket(resume);
                        Attach::WebSocket(Socket::New(id, resumed), user)
                    } else {
                        let (connection, events) = HttpConnection::start(
                            Arc::clone(&self.handler),
                            self.options.queue_limits(),
                            wanted,
                            id,
                            Arc::new(info),
                            early_input,
                            self.on_http_end(&token, wanted),
                        );
                        if wanted == Transport::LongPolling {
                            connection.keep_live(LiveGuard::new(&self.live));
                        }
                        registered.state = State::Http(Arc::clone(&connection));
                        Attach::Started(connection, events)
                    }
                }
                state if state.transport() != Some(wanted) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        "Cannot change transports mid-connection",
                    );
                }
                State::Http(connection) if wanted == Transport::LongPolling => {
                    Attach::Poll(Arc::clone(connection))
                }
                // Stateful reconnect: a new socket resumes the connection.
                State::WebSocket(Some(resume)) if !resume.is_closed() => {
                    Attach::WebSocket(Socket::Resume(resume.clone()), user)
                }
                // One SSE stream or WebSocket at a time.
                _ => return StatusCode::CONFLICT.into_response(),
            }
        };
        match attach {
            Attach::WebSocket(socket, user) => {
                let mut info = info_of(&parts);
                info.user = user;
                info.transport = Some(Transport::WebSockets);
                self.upgrade(&mut parts, Some(token), socket, info).await
            }
            Attach::Started(connection, Some(events)) => {
                http::event_stream(events, connection.abort.clone())
            }
            Attach::Started(_, None) => {
                self.watch_idle_long_polls();
                HttpConnection::first_poll()
            }
            Attach::Poll(connection) => {
                let (response, finished) = connection.poll(self.options.long_poll_timeout).await;
                if finished {
                    self.forget(Some(&token));
                }
                response
            }
        }
    }

    async fn upgrade(
        self: &Arc<Self>,
        parts: &mut axum::http::request::Parts,
        token: Option<Box<str>>,
        socket: Socket,
        info: RequestInfo,
    ) -> Response {
        let upgrade = match WebSocketUpgrade::from_request_parts(parts, &()).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => {
                if let Socket::New(..) = socket {
                    self.forget(token.as_deref());
                }
                return rejection.into_response();
            }
        };
        let (connection_id, resumed) = match socket {
            Socket::New(id, resumed) => (id, resumed),
            Socket::Resume(resume) => {
                let upgrade = self.configure(upgrade);
                return upgrade.on_upgrade(move |socket| async move {
                    // If the connection ended meanwhile the socket is dropped and the client
                    // starts over with a new negotiate.
                    let _ = resume.send(socket).await;
                });
            }
        };
        let upgrade = self.configure(upgrade);
        let dispatcher = Arc::clone(self);
        let failed = (Arc::clone(self), token.clone());
        let upgrade = upgrade.on_failed_upgrade(move |_| failed.0.forget(failed.1.as_deref()));
        upgrade.on_upgrade(move |socket| {
            // Counted without a guard: the future below already holds the dispatcher.
            dispatcher.live.add();
            let handler = Arc::clone(&dispatcher.handler);
            let request = Arc::new(info);
            // Set up here rather than inside the future, which lives as long as the connection
            // and would keep room for the socket and the request it started from.
            let connection = match resumed {
                None => Either::Left(websocket::run(
                    socket,
                    handler,
                    &dispatcher.options,
                    connection_id,
                    request,
                )),
                // Boxed: its state is larger, and most connections do not need it.
                Some(resumed) => {
                    let dispatcher = Arc::clone(&dispatcher);
                    Either::Right(Box::pin(async move {
                        let options = &dispatcher.options;
                        websocket::run_resumable(
                            socket,
                            resumed,
                            handler,
                            options,
                            connection_id,
                            request,
                        )
                        .await
                    }))
                }
            };
            async move {
                connection.await;
                dispatcher.forget(token.as_deref());
                dispatcher.live.remove();
            }
        })
    }

    /// Buffer sizes sized for many idle connections, and the size limit applied to each frame
    /// as well as to whole messages: a frame's header announces its length, so an oversized
    /// frame is refused before any of it is buffered.
    fn configure(&self, upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
        let options = &self.options;
        upgrade
            .read_buffer_size(options.websocket_read_buffer_size)
            .write_buffer_size(options.websocket_write_buffer_size)
            .max_message_size(options.transport_max_message_size)
            .max_frame_size(options.transport_max_message_size)
    }

    /// `POST {path}?id=`: a message for an SSE or Long Polling connection. Before the
    /// transport starts it is kept and handed over when it does (some clients send their
    /// handshake before their first poll).
    async fn post(
        &self,
        query: Option<&str>,
        principal: Option<Arc<Principal>>,
        body: Body,
    ) -> Response {
        let token = match token_of(query) {
            Ok(token) => token,
            Err(missing) => return missing.into_response(),
        };
        let limit = self.options.transport_max_message_size;
        let connection = match self.registered_state(&token, principal.as_deref()) {
            Err(unusable) => return unusable.into_response(),
            Ok(StateView::Http(connection)) => Some(connection),
            Ok(StateView::WebSocket) => {
                return text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "POST requests are not allowed for WebSocket connections.",
                );
            }
            Ok(StateView::Waiting) => None,
        };
        if let Some(connection) = connection {
            return connection.send(body, limit).await;
        }
        let bytes = match read_body(body, limit).await {
            Ok(bytes) => bytes,
            Err(error) => return error.into_response(),
        };
        let started = {
            let mut registry = self.registry();
            match registry
                .by_token
                .get_mut(token.as_str())
                .map(|r| &mut r.state)
            {
                Some(State::Waiting { early_input, .. }) => {
                    if early_input.iter().map(Bytes::len).sum::<usize>() + bytes.len() > limit {
                        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
                    }
                    early_input.push(bytes);
                    return StatusCode::OK.into_response();
                }
                // The transport started meanwhile: deliver through it.
                Some(State::Http(connection)) => Arc::clone(connection),
                _ => return UnknownConnection::Unknown.into_response(),
            }
        };
        started.send(Body::from(bytes), limit).await
    }

    /// `DELETE {path}?id=`: a Long Polling client leaving.
    fn delete(&self, query: Option<&str>, principal: Option<Arc<Principal>>) -> Response {
        let token = match token_of(query) {
            Ok(token) => token,
            Err(missing) => return missing.into_response(),
        };
        match self.registered_state(&token, principal.as_deref()) {
            Err(unusable) => unusable.into_response(),
            Ok(StateView::Http(connection)) if connection.transport == Transport::LongPolling => {
                // The client is gone for good: its token is forgotten at once, as in ASP.NET
                // Core (a poll still waiting answers 204; later ones get 404).
                let response = connection.close_by_client();
                self.forget(Some(&token));
                response
            }
            Ok(_) => text(
                StatusCode::BAD_REQUEST,
                "Cannot terminate this connection using the DELETE endpoint.",
            ),
        }
    }

    /// What to do when the application of an SSE or Long Polling connection ends. SSE
    /// connections are forgotten at once; Long Polling ones when the last poll has seen the
    /// end (or they idle out), so the client gets its 204.
    fn on_http_end(
        self: &Arc<Self>,
        token: &str,
        transport: Transport,
    ) -> impl FnOnce() + Send + 'static {
        let dispatcher = Arc::downgrade(self);
        let token = token.to_string();
        // SSE is done when its application is: the response ends with the queue.
        let live = (transport == Transport::ServerSentEvents).then(|| LiveGuard::new(&self.live));
        move || {
            if transport == Transport::ServerSentEvents
                && let Some(dispatcher) = dispatcher.upgrade()
            {
                dispatcher.forget(Some(&token));
            }
            drop(live);
        }
    }

    /// Starts, once, the task that closes Long Polling connections whose client stopped
    /// polling for longer than the disconnect timeout.
    fn watch_idle_long_polls(self: &Arc<Self>) {
        if self.idle_watch.set(()).is_err() {
            return;
        }
        let dispatcher = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(dispatcher) = dispatcher.upgrade() else {
                    return;
                };
                let timeout = dispatcher.options.disconnect_timeout;
                let now = Instant::now();
                dispatcher
                    .registry()
                    .by_token
                    .retain(|_, registered| match &registered.state {
                        State::Http(connection) if connection.idle_longer_than(timeout, now) => {
                            connection.abort.cancel();
                            false
                        }
                        _ => true,
                    });
            }
        });
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

/// A WebSocket request: a new connection (with the channel that resumes it, when stateful)
/// or a new socket for one that negotiated stateful reconnect.
enum Socket {
    New(Arc<str>, Option<mpsc::Receiver<WebSocket>>),
    Resume(mpsc::Sender<WebSocket>),
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

/// What a transport request turned out to be.
enum Attach {
    WebSocket(Socket, Option<Arc<ConnectionUser>>),
    Started(Arc<HttpConnection>, Option<super::QueueReceiver>),
    Poll(Arc<HttpConnection>),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn version(query: &str) -> Result<u32, String> {
        negotiate_version(&RequestInfo::new(Default::default(), Some(query)))
    }

    #[test]
    fn negotiate_versions_follow_aspnet() {
        assert_eq!(version(""), Ok(0));
        assert_eq!(version("negotiateVersion=1"), Ok(1));
        assert_eq!(version("NEGOTIATEVERSION=1"), Ok(1));
        assert_eq!(version("negotiateVersion=7"), Ok(1));
        assert_eq!(
            version("negotiateVersion=abc"),
            Err("The client requested a non-integer protocol version.".into())
        );
        assert_eq!(
            version("negotiateVersion=-1"),
            Err(
                "The client requested version '-1', but the server does not support this version."
                    .into()
            )
        );
    }
}
