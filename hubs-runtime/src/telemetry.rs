//! Metrics through the `metrics` facade, named as ASP.NET Core's SignalR meter names them where
//! it has a name (`signalr.server.active_connections`, `signalr.server.connection.duration`),
//! and in the same style otherwise. An application that installs a recorder (for example
//! `metrics-exporter-prometheus`) before it serves gets them; without one they cost a branch.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `signalr.server.active_connections` | gauge | `signalr.transport` |
//! | `signalr.server.connection.duration` | histogram, seconds | `signalr.transport`, `signalr.connection.status` (`normal_closure`, `timeout`, `app_shutdown`, `error`) |
//! | `signalr.server.messages.received`, `.bytes.received` | counters | |
//! | `signalr.server.messages.sent`, `.bytes.sent` | counters | |
//! | `signalr.server.slow_client_disconnects` | counter | |

use std::sync::OnceLock;
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram};

use crate::connection::Transport;

/// Handles of the counters every message touches, made once: a registry lookup per message
/// would cost more than the count.
struct Counters {
    messages_received: Counter,
    bytes_received: Counter,
    messages_sent: Counter,
    bytes_sent: Counter,
    slow_client_disconnects: Counter,
}

fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| Counters {
        messages_received: metrics::counter!("signalr.server.messages.received"),
        bytes_received: metrics::counter!("signalr.server.bytes.received"),
        messages_sent: metrics::counter!("signalr.server.messages.sent"),
        bytes_sent: metrics::counter!("signalr.server.bytes.sent"),
        slow_client_disconnects: metrics::counter!("signalr.server.slow_client_disconnects"),
    })
}

/// `messages` hub messages in `bytes` bytes came from a client.
#[inline]
pub(crate) fn received(messages: u64, bytes: usize) {
    let counters = counters();
    counters.messages_received.increment(messages);
    counters.bytes_received.increment(bytes as u64);
}

/// `messages` frames of `bytes` bytes in all were queued for clients.
#[inline]
pub(crate) fn sent(messages: u64, bytes: usize) {
    let counters = counters();
    counters.messages_sent.increment(messages);
    counters.bytes_sent.increment(bytes as u64);
}

/// A client was closed for not keeping up with what is sent to it.
pub(crate) fn slow_client_disconnected() {
    counters().slow_client_disconnects.increment(1);
}

/// Transport label values, as ASP.NET Core writes them, by [`transport_index`].
const TRANSPORTS: [&str; 4] = [
    "web_sockets",
    "server_sent_events",
    "long_polling",
    "unknown",
];

fn transport_index(transport: Option<Transport>) -> usize {
    match transport {
        Some(Transport::WebSockets) => 0,
        Some(Transport::ServerSentEvents) => 1,
        Some(Transport::LongPolling) => 2,
        None => 3,
    }
}

/// How a connection ended, as the duration's status label; the discriminants index
/// [`Closure::LABELS`].
#[derive(Clone, Copy)]
pub(crate) enum Closure {
    Normal = 0,
    Timeout = 1,
    AppShutdown = 2,
    Error = 3,
}

impl Closure {
    const LABELS: [&str; 4] = ["normal_closure", "timeout", "app_shutdown", "error"];
}

/// The connection metrics' handles, one per label set, each made the first time it is needed:
/// a key with labels built per connection cost hundreds of instructions at its start and end,
/// recorder or not.
struct ConnectionHandles {
    active: [OnceLock<Gauge>; TRANSPORTS.len()],
    duration: [[OnceLock<Histogram>; Closure::LABELS.len()]; TRANSPORTS.len()],
}

static CONNECTION_HANDLES: ConnectionHandles = ConnectionHandles {
    active: [const { OnceLock::new() }; TRANSPORTS.len()],
    duration: [const { [const { OnceLock::new() }; Closure::LABELS.len()] }; TRANSPORTS.len()],
};

fn active_connections(transport: usize) -> &'static Gauge {
    CONNECTION_HANDLES.active[transport].get_or_init(|| {
        metrics::gauge!("signalr.server.active_connections", "signalr.transport" => TRANSPORTS[transport])
    })
}

fn connection_duration(transport: usize, closure: Closure) -> &'static Histogram {
    let status = closure as usize;
    CONNECTION_HANDLES.duration[transport][status].get_or_init(|| {
        metrics::histogram!(
            "signalr.server.connection.duration",
            "signalr.transport" => TRANSPORTS[transport],
            "signalr.connection.status" => Closure::LABELS[status],
        )
    })
}

/// One connection, counted as active from its handshake until this is dropped, when its
/// duration is recorded with how it ended (an error unless [`ended`](Self::ended) said).
pub(crate) struct ConnectionMetrics {
    started: Instant,
    transport: u8,
    closure: Closure,
}

impl ConnectionMetrics {
    pub(crate) fn start(transport: Option<Transport>) -> Self {
        let transport = transport_index(transport);
        active_connections(transport).increment(1.0);
        Self {
            started: Instant::now(),
            transport: transport as u8,
            closure: Closure::Error,
        }
    }

    /// How the connection ended.
    pub(crate) fn ended(&mut self, closure: Closure) {
        self.closure = closure;
    }
}

impl Drop for ConnectionMetrics {
    fn drop(&mut self) {
        let transport = usize::from(self.transport);
        connection_duration(transport, self.closure).record(self.started.elapsed().as_secs_f64());
        active_connections(transport).decrement(1.0);
    }
}
