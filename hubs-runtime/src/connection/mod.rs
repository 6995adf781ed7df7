//! Connections layer: negotiate and the transports, turning HTTP requests into a duplex stream
//! of bytes per connection. Knows nothing of hubs: the hub layer is one [`ConnectionHandler`],
//! and applications mount their own with a [`ConnectionEndpoint`] (ASP.NET Core's
//! `MapConnectionHandler`).

mod body;
mod dispatcher;
mod endpoint;
mod http;
mod inbound;
mod queue;
mod quiet;
mod resumable;
mod shutdown;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::auth::ConnectionUser;

pub use dispatcher::ConnectionDispatcher;
pub use endpoint::ConnectionEndpoint;
pub(crate) use inbound::Chunk;
pub use inbound::Inbound;
pub use queue::{Closed, QueueLimits, QueueReceiver, SendQueue, TryRecvError, TrySendError};
pub(crate) use queue::{FanOutWrites, LENT_FRAME_ROOM, LentFrame};
pub(crate) use quiet::{Quiet, QuietWakes};
pub use resumable::{Resumable, SequenceWriter};
pub(crate) use shutdown::Served;
/// Not public API: the WebSocket frame parser, for the `websocket_frames` fuzz target.
#[doc(hidden)]
pub use websocket::{FuzzEvent as WebSocketFuzzEvent, FuzzParser as WebSocketFuzzParser};

/// How a transport carries a protocol's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferFormat {
    /// UTF-8 text (WebSocket text frames, SSE).
    Text,
    /// Arbitrary bytes (WebSocket binary frames).
    Binary,
}

/// What a connection's writer is asked to do, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// Send the following frames in this format (set once, during the handshake).
    Format(TransferFormat),
    /// One or more whole protocol messages that stateful reconnect counts and replays
    /// (invocations, stream items, completions).
    Frame(Bytes),
    /// A message outside the numbering (handshake, Ping, Close, Ack, Sequence).
    Control(Bytes),
    /// A frame whose permit is returned once the writer has taken it: lets a producer (a
    /// server-to-client stream) keep only a bounded share of the queue.
    Paced(Bytes, OwnedSemaphorePermit),
    /// Close the transport normally after what came before.
    Close,
}

/// One client connection as the transport layer hands it to a [`ConnectionHandler`].
pub struct TransportConnection {
    /// The public connection id (never the secret token).
    pub connection_id: Arc<str>,
    /// The HTTP request that opened the transport.
    pub request: Arc<RequestInfo>,
    /// Whether binary protocols can be carried.
    pub supports_binary: bool,
    /// Whether the transport wants the application to keep the connection alive with its
    /// own pings and to time out silent clients, as the hub layer does (not on Long Polling,
    /// where neither side pings). The transport itself sends no pings.
    pub keep_alive: bool,
    /// What the client sends.
    pub inbound: Inbound,
    /// The bounded queue of what to send; see [`ConnectionOptions::send_buffer_size`].
    pub outbound: SendQueue,
    /// Cancelled when the transport is gone or must be dropped at once.
    pub abort: CancellationToken,
    /// Present when the client negotiated stateful reconnect (only where
    /// [`ConnectionOptions::allow_stateful_reconnects`] is on): the handler then numbers and
    /// acknowledges messages itself, as the hub protocol's Ack and Sequence do.
    pub resumable: Option<Arc<Resumable>>,
    /// The waker of waits that rarely end, shared with the transport's own futures that run
    /// in the handler's task (a WebSocket's writer); `None` where there are none.
    pub(crate) quiet: Option<QuietWakes>,
}

/// Runs one connection from its first byte to its end: the application of a raw connection
/// endpoint, without the hub protocol (ASP.NET Core's `ConnectionHandler`). The hub layer is
/// one; mount your own with
/// [`HubRouterExt::connection_handler`](crate::HubRouterExt::connection_handler). Clients reach
/// it as they reach a hub (negotiate, then WebSockets, Server-Sent Events or Long Polling, or a
/// WebSocket without negotiate) and exchange bytes with it: the official JavaScript client's
/// `HttpConnection`, or a plain WebSocket.
///
/// [`run`](Self::run) gets the connection once its transport has started. It reads what the
/// client sends from [`inbound`](TransportConnection::inbound) (ended when the client leaves)
/// and queues what to send on [`outbound`](TransportConnection::outbound); when its future ends
/// the transport closes (WebSocket close code 1000, the SSE response ends, the next poll gets
/// 204). An echo server:
///
/// ```
/// use std::sync::Arc;
///
/// use futures_util::StreamExt;
/// use futures_util::future::BoxFuture;
/// use hubs::prelude::*;
/// use hubs::connection::{ConnectionHandler, Outgoing, TransportConnection};
///
/// struct Echo;
///
/// impl ConnectionHandler for Echo {
///     fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
///         Box::pin(async move {
///             let TransportConnection { mut inbound, outbound, .. } = connection;
///             while let Some(bytes) = inbound.next().await {
///                 // Sent as it came; WebSocket frames are text unless told otherwise.
///                 if outbound.send(Outgoing::Frame(bytes)).await.is_err() {
///                     break;
///                 }
///             }
///         })
///     }
/// }
///
/// let app: axum::Router = axum::Router::new().connection_handler("/echo", Echo);
/// # let _ = app;
/// ```
///
/// Chunks arrive as the transport delivered them (a WebSocket message, a POST body), so a
/// message-based protocol frames its own messages. Outgoing frames are WebSocket text frames
/// (UTF-8; other bytes are dropped) until an [`Outgoing::Format`] says `Binary` (Server-Sent
/// Events carry text only: see
/// [`supports_binary`](TransportConnection::supports_binary)). The connection options of the
/// [`ConnectionEndpoint`] bound the send queue; [`SendQueue::send`] waits for room.
pub trait ConnectionHandler: Send + Sync + 'static {
    /// Drives `connection`; the transport closes when the returned future ends.
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()>;

    /// The server is shutting down ([`Serve::with_graceful_shutdown`](crate::Serve::with_graceful_shutdown)):
    /// end every connection, now and as they start, so that each future [`run`](Self::run)
    /// returned finishes soon (a hub sends its clients a Close message, telling them whether
    /// they may reconnect). The default does nothing: such connections are dropped when the
    /// server's shutdown timeout passes.
    fn shutdown(&self, allow_reconnect: bool) {
        let _ = allow_reconnect;
    }

    /// Whether [`inbound`](TransportConnection::inbound) may bring several WebSocket messages
    /// in one chunk, as a Long Polling post or a Server-Sent Events send may: true for a
    /// protocol that tells its own messages apart, as the hub protocols do. The messages a
    /// client sent together then arrive together, and their replies can leave in one write.
    /// The default, false, hands each WebSocket message on alone.
    fn delimits_messages(&self) -> bool {
        false
    }
}

/// The parts of the HTTP request that opened a connection, for hub code to inspect.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The request headers, less those that only served the transport's own handshake
    /// (`Connection`, `Upgrade`, `Sec-WebSocket-Key`, `-Version`, `-Extensions` and the other
    /// hop-by-hop headers), which a connection would otherwise carry for its whole life.
    pub headers: HeaderMap,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The authenticated user the connection belongs to, if the endpoint authenticates and
    /// the client signed in.
    pub user: Option<Arc<ConnectionUser>>,
    /// The transport this request opened.
    pub transport: Option<Transport>,
}

impl RequestInfo {
    /// Captures headers and the query string of a request.
    pub fn new(headers: HeaderMap, query: Option<&str>) -> Self {
        Self {
            headers: detach(headers),
            query: parse_query(query),
            user: None,
            transport: None,
        }
    }

    /// The first value of query parameter `key` (exact match).
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Copies every header value into its own allocation. The values hyper parses are slices of
/// the connection's read buffer (16 KiB): kept for the life of a connection, they would keep
/// that whole buffer alive and triple the memory of an idle WebSocket connection.
fn detach(headers: HeaderMap) -> HeaderMap {
    let kept = headers.keys().filter(|name| !transport_only(name.as_str()));
    let mut detached = HeaderMap::with_capacity(kept.count());
    for (name, value) in &headers {
        if transport_only(name.as_str()) {
            continue;
        }
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        detached.append(name.clone(), copy);
    }
    detached
}

/// Headers that matter to the transport alone (names arrive in lower case).
fn transport_only(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "upgrade"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "sec-websocket-key"
            | "sec-websocket-version"
            | "sec-websocket-extensions"
    )
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The transports a hub endpoint can offer, in the order negotiate lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    /// WebSockets (text and binary).
    WebSockets,
    /// Server-Sent Events for receiving, POSTs for sending (text only).
    ServerSentEvents,
    /// Long Polling: repeated GETs for receiving, POSTs for sending (text and binary).
    LongPolling,
}

impl Transport {
    /// Every transport, in negotiate order.
    pub const ALL: [Transport; 3] = [
        Transport::WebSockets,
        Transport::ServerSentEvents,
        Transport::LongPolling,
    ];

    /// The name in negotiate responses and error texts.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSockets => "WebSockets",
            Transport::ServerSentEvents => "ServerSentEvents",
            Transport::LongPolling => "LongPolling",
        }
    }

    fn transfer_formats(self) -> &'static [&'static str] {
        match self {
            Transport::ServerSentEvents => &["Text"],
            Transport::WebSockets | Transport::LongPolling => &["Text", "Binary"],
        }
    }
}

/// Settings of the connections layer (the transports), with ASP.NET Core's names and
/// defaults; set per hub with `HubEndpointBuilder::connection_options` or
/// `configure_connections`. The send buffer fields decide when a client is too slow: see
/// [`send_buffer_size`](Self::send_buffer_size).
///
/// ```
/// use std::time::Duration;
///
/// use hubs::{ConnectionOptions, Transport};
///
/// let options = ConnectionOptions {
///     transports: vec![Transport::WebSockets, Transport::LongPolling],
///     slow_client_timeout: Duration::from_secs(10),
///     allow_stateful_reconnects: true,
///     ..ConnectionOptions::default()
/// };
/// assert_eq!(options.send_buffer_size, 64 * 1024);
/// assert!(options.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// Enabled transports (all by default); negotiate lists them in the order of
    /// [`Transport::ALL`].
    pub transports: Vec<Transport>,
    /// Bytes that may wait to be written to one connection (64 KiB). More may wait while the
    /// client keeps reading (a burst the server produced is no fault of the client's), but a
    /// connection whose socket then takes nothing for [`slow_client_timeout`] is too slow to
    /// keep up: it is closed (WebSocket close code 1011) rather than allowed to stall senders
    /// or to miss messages silently. Server-to-client streams wait for room instead.
    ///
    /// [`slow_client_timeout`]: Self::slow_client_timeout
    pub send_buffer_size: usize,
    /// The most bytes that may ever wait for one connection (4 MiB), however well it reads:
    /// the bound on a connection's send memory.
    pub max_send_buffer_size: usize,
    /// How long a connection with more than `send_buffer_size` bytes waiting may go without
    /// its socket taking any (5 s) before it is closed as too slow.
    pub slow_client_timeout: Duration,
    /// Largest WebSocket message or POST body accepted (1 MiB), checked before it is
    /// buffered; the hub-level limit ([`HubOptions::maximum_receive_message_size`], 32 KiB)
    /// is usually smaller.
    ///
    /// [`HubOptions::maximum_receive_message_size`]: crate::HubOptions::maximum_receive_message_size
    pub transport_max_message_size: usize,
    /// How long a Long Polling request waits for messages before answering empty (90 s).
    pub long_poll_timeout: Duration,
    /// How long a negotiated connection may wait for its transport, a Long Polling
    /// connection may go without a poll, and a stateful-reconnect connection waits for its
    /// client to come back (15 s).
    pub disconnect_timeout: Duration,
    /// How long to wait for a WebSocket to close cleanly before dropping it (5 s).
    pub close_timeout: Duration,
    /// Longest a single WebSocket write may take before the connection is closed as stuck
    /// (10 s, ASP.NET Core's `TransportSendTimeout`). With stateful reconnect only the socket
    /// is given up: the client may resume on a new one, which it may also do sooner.
    pub transport_send_timeout: Duration,
    /// Whether clients may negotiate stateful reconnect (false, `AllowStatefulReconnects`):
    /// a dropped WebSocket is then replaced within the disconnect timeout without losing or
    /// repeating a message.
    pub allow_stateful_reconnects: bool,
    /// Bytes of unacknowledged messages kept for replay per connection (100 000); senders wait
    /// when it is full.
    pub stateful_reconnect_buffer_size: usize,
}

impl ConnectionOptions {
    /// Checks the values, naming the first one that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.transports.is_empty() {
            return Err("ConnectionOptions::transports must enable at least one transport".into());
        }
        if self.max_send_buffer_size < self.send_buffer_size {
            return Err(
                "ConnectionOptions::max_send_buffer_size must be at least send_buffer_size".into(),
            );
        }
        let counts = [
            ("send_buffer_size", self.send_buffer_size),
            (
                "stateful_reconnect_buffer_size",
                self.stateful_reconnect_buffer_size,
            ),
            (
                "transport_max_message_size",
                self.transport_max_message_size,
            ),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(format!("ConnectionOptions::{name} must be at least 1"));
        }
        let durations = [
            ("long_poll_timeout", self.long_poll_timeout),
            ("disconnect_timeout", self.disconnect_timeout),
            ("close_timeout", self.close_timeout),
            ("transport_send_timeout", self.transport_send_timeout),
            ("slow_client_timeout", self.slow_client_timeout),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!(
                "ConnectionOptions::{name} must be greater than zero"
            ));
        }
        Ok(())
    }
}

impl ConnectionOptions {
    /// The limits of each connection's send queue.
    pub(crate) fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            buffer: self.send_buffer_size,
            max_buffer: self.max_send_buffer_size,
            drain_timeout: self.slow_client_timeout,
        }
    }
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            transports: Transport::ALL.to_vec(),
            send_buffer_size: 64 * 1024,
            max_send_buffer_size: 4 * 1024 * 1024,
            slow_client_timeout: Duration::from_secs(5),
            transport_max_message_size: 1024 * 1024,
            long_poll_timeout: Duration::from_secs(90),
            disconnect_timeout: Duration::from_secs(15),
            close_timeout: Duration::from_secs(5),
            transport_send_timeout: Duration::from_secs(10),
            allow_stateful_reconnects: false,
            stateful_reconnect_buffer_size: 100_000,
        }
    }
}

/// A new random id: 16 bytes, base64url without padding (22 URL-safe characters).
pub fn new_connection_id() -> String {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe_and_distinct() {
        let a = new_connection_id();
        let b = new_connection_id();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn query_values_are_decoded() {
        let info = RequestInfo::new(HeaderMap::new(), Some("id=a%2Bb&team=blue+green&id=x"));
        assert_eq!(info.query_value("id"), Some("a+b"));
        assert_eq!(info.query_value("team"), Some("blue green"));
        assert_eq!(info.query_value("nope"), None);
    }

    #[test]
    fn kept_headers_do_not_hold_the_request_buffer() {
        // As hyper parses them: values are slices of one shared read buffer.
        let buffer = Bytes::from(b"Bearer abc".to_vec());
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_maybe_shared(buffer.slice(..)).unwrap();
        value.set_sensitive(true);
        headers.insert("authorization", value);
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        headers.insert(
            "sec-websocket-key",
            HeaderValue::from_static("dGhlIHNhbXBsZQ=="),
        );
        headers.insert("upgrade", HeaderValue::from_static("websocket"));
        let info = RequestInfo::new(headers, None);
        assert!(
            buffer.is_unique(),
            "a kept header still points into the buffer"
        );
        assert_eq!(info.headers["authorization"], "Bearer abc");
        assert!(info.headers["authorization"].is_sensitive());
        let tags: Vec<_> = info.headers.get_all("x-tag").iter().collect();
        assert_eq!(tags, ["a", "b"]);
        assert_eq!(info.headers.len(), 3, "handshake headers are not kept");
    }
}
