//! Requests on `{path}` itself: the WebSocket upgrade, the SSE stream, polls, POSTs and
//! DELETEs, with ASP.NET Core's order of checks.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::Either;
use tokio::sync::mpsc;

use crate::auth::{ConnectionUser, Principal};
use crate::connection::body::read_body;
use crate::connection::http::{self, HttpConnection};
use crate::connection::shutdown::LiveGuard;
use crate::connection::websocket::{self, Handshake, Socket as WebSocket};
use crate::connection::{RequestInfo, Transport, new_connection_id};

use super::{
    ConnectionDispatcher, State, StateView, UnknownConnection, info_of, not_supported, same_user,
    shutting_down, text, token_of,
};

impl ConnectionDispatcher {
    /// Requests on `{path}` itself: the transports.
    pub async fn connect(self: Arc<Self>, request: Request<Body>) -> Response {
        // Boxed, and freed before a poll waits (a statement of its own: a temporary of the
        // `match` would live through the wait): a poll waits up to the poll timeout, and would
        // otherwise keep room for every step of a request's handling.
        let routed = Box::pin(self.route(request)).await;
        match routed {
            Routed::Answered(response) => response,
            Routed::Poll(connection, token) => {
                let (response, finished) = connection.poll(self.options.long_poll_timeout).await;
                if finished {
                    self.forget(Some(&token));
                }
                response
            }
        }
    }

    /// What a request on `{path}` is: answered at once (or after an upgrade, a POST's body),
    /// or a poll that waits. The request is gone once this returns: its headers are slices of
    /// the server's read buffer (8 KiB under hyper), which must not stay behind a waiting poll.
    async fn route(self: &Arc<Self>, request: Request<Body>) -> Routed {
        let (mut parts, body) = request.into_parts();
        if !matches!(parts.method, Method::GET | Method::POST | Method::DELETE) {
            return Routed::Answered(StatusCode::METHOD_NOT_ALLOWED.into_response());
        }
        self.register_with_server(&parts);
        let principal = match self.admit(&mut parts).await {
            Ok(principal) => principal,
            Err(refusal) => return Routed::Answered(refusal),
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
            Method::POST => {
                return Routed::Answered(self.post(parts.uri.query(), principal, body).await);
            }
            _ => return Routed::Answered(self.delete(parts.uri.query(), principal)),
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
                return Routed::Answered(not_supported(wanted));
            }
            if self.stopping() {
                return Routed::Answered(shutting_down());
            }
            let id = Arc::from(new_connection_id());
            info.user = principal.map(ConnectionUser::new);
            let response = self
                .upgrade(&mut parts, None, Socket::New(id, None), info)
                .await;
            return Routed::Answered(response);
        }
        let Some(token) = token else {
            return Routed::Answered(UnknownConnection::Missing.into_response());
        };

        // The order of ASP.NET Core's checks: the connection, the transport being enabled, a
        // change of transport, a second concurrent request.
        let attach = {
            let mut registry = self.registry();
            let Some(registered) = registry.by_token.get_mut(&token) else {
                return Routed::Answered(UnknownConnection::Unknown.into_response());
            };
            if let Err(refusal) = same_user(&registered.user, principal.as_deref()) {
                return Routed::Answered(refusal.into_response());
            }
            if !self.options.transports.contains(&wanted) {
                return Routed::Answered(not_supported(wanted));
            }
            info.user = registered.user.clone();
            let user = registered.user.clone();
            match &mut registered.state {
                // Shutdown forgot every waiting connection; this one came meanwhile.
                State::Waiting { .. } if self.stopping() => {
                    return Routed::Answered(shutting_down());
                }
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
                    return Routed::Answered(text(
                        StatusCode::BAD_REQUEST,
                        "Cannot change transports mid-connection",
                    ));
                }
                State::Http(connection) if wanted == Transport::LongPolling => {
                    Attach::Poll(Arc::clone(connection))
                }
                // Stateful reconnect: a new socket resumes the connection.
                State::WebSocket(Some(resume)) if !resume.is_closed() => {
                    Attach::WebSocket(Socket::Resume(resume.clone()), user)
                }
                // One SSE stream or WebSocket at a time.
                _ => return Routed::Answered(StatusCode::CONFLICT.into_response()),
            }
        };
        match attach {
            Attach::WebSocket(socket, user) => {
                let mut info = info_of(&parts);
                info.user = user;
                info.transport = Some(Transport::WebSockets);
                Routed::Answered(self.upgrade(&mut parts, Some(token), socket, info).await)
            }
            Attach::Started(connection, Some(events)) => {
                Routed::Answered(http::event_stream(events, connection.abort.clone()))
            }
            Attach::Started(_, None) => {
                self.watch_idle_long_polls();
                Routed::Answered(HttpConnection::first_poll())
            }
            Attach::Poll(connection) => Routed::Poll(connection, token),
        }
    }

    async fn upgrade(
        self: &Arc<Self>,
        parts: &mut axum::http::request::Parts,
        token: Option<Box<str>>,
        socket: Socket,
        info: RequestInfo,
    ) -> Response {
        let handshake = match Handshake::from_parts(parts) {
            Ok(handshake) => handshake,
            Err(refusal) => {
                if let Socket::New(..) = socket {
                    self.forget(token.as_deref());
                }
                return refusal.into_response();
            }
        };
        let (connection_id, resumed) = match socket {
            Socket::New(id, resumed) => (id, resumed),
            Socket::Resume(resume) => {
                // If the connection ended meanwhile the socket is dropped and the client
                // starts over with a new negotiate.
                let run = move |socket| async move {
                    let _ = resume.send(socket).await;
                };
                return handshake.accept(run, || {});
            }
        };
        let dispatcher = Arc::clone(self);
        let failed = (Arc::clone(self), token.clone());
        let failed = move || failed.0.forget(failed.1.as_deref());
        handshake.accept(
            move |socket| {
                let ended = Ended {
                    _live: LiveGuard::new(&dispatcher.live),
                    dispatcher: Arc::clone(&dispatcher),
                    token,
                };
                let handler = Arc::clone(&dispatcher.handler);
                let request = Arc::new(info);
                // Set up here rather than inside the future, which lives as long as the
                // connection and would keep room for the socket and the request it started from.
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
                // Not an `async` block awaiting `connection`: that would keep room for the
                // connection's future twice, once captured and once awaited.
                connection.map(move |()| drop(ended))
            },
            failed,
        )
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
}

/// A WebSocket request: a new connection (with the channel that resumes it, when stateful)
/// or a new socket for one that negotiated stateful reconnect.
enum Socket {
    New(Arc<str>, Option<mpsc::Receiver<WebSocket>>),
    Resume(mpsc::Sender<WebSocket>),
}

/// How a request on `{path}` goes on once it is routed.
enum Routed {
    Answered(Response),
    /// A Long Polling poll, to wait on with nothing of its request.
    Poll(Arc<HttpConnection>, Box<str>),
}

/// What a transport request turned out to be.
enum Attach {
    WebSocket(Socket, Option<Arc<ConnectionUser>>),
    Started(
        Arc<HttpConnection>,
        Option<crate::connection::QueueReceiver>,
    ),
    Poll(Arc<HttpConnection>),
}

/// A WebSocket connection's end, when its future completes or is dropped: its token is no
/// longer accepted and it no longer counts as running.
struct Ended {
    _live: LiveGuard,
    dispatcher: Arc<ConnectionDispatcher>,
    token: Option<Box<str>>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        self.dispatcher.forget(self.token.as_deref());
    }
}
