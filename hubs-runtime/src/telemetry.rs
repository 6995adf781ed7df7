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
pub(crate) fn received(messages: u64, bytes: usize) {
    let counters = counters();
    counters.messages_received.increment(messages);
    counters.bytes_received.increment(bytes as u64);
}

/// `messages` frames of `bytes` bytes in all were queued for clients.
pub(crate) fn sent(messages: u64, bytes: usize) {
    let counters = counters();
    counters.messages_sent.increment(messages);
    counters.bytes_sent.increment(bytes as u64);
}

/// A client was closed for not keeping up with what is sent to it.
pub(crate) fn slow_client_disconnected() {
    counters().slow_client_disconnects.increment(1);
}

/// The label value of a transport, as ASP.NET Core writes it.
fn transport_label(transport: Option<Transport>) -> &'static str {
    match transport {
        Some(Transport::WebSockets) => "web_sockets",
        Some(Transport::ServerSentEvents) => "server_sent_events",
        Some(Transport::LongPolling) => "long_polling",
        None => "unknown",
    }
}

/// How a connection ended, as the duration's status label.
#[derive(Clone, Copy)]
pub(crate) enum Closure {
    Normal,
    Timeout,
    AppShutdown,
    Error,
}

/// One connection, counted as active from its handshake until this is dropped, when its
/// duration is recorded with how it ended (an error unless [`ended`](Self::ended) said).
pub(crate) struct ConnectionMetrics {
    transport: &'static str,
    started: Instant,
    active: Gauge,
    closure: Closure,
}

impl ConnectionMetrics {
    pub(crate) fn start(transport: Option<Transport>) -> Self {
        let transport = transport_label(transport);
        let active =
            metrics::gauge!("signalr.server.active_connections", "signalr.transport" => transport);
        active.increment(1.0);
        Self {
            transport,
            started: Instant::now(),
            active,
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
        let status = match self.closure {
            Closure::Normal => "normal_closure",
            Closure::Timeout => "timeout",
            Closure::AppShutdown => "app_shutdown",
            Closure::Error => "error",
        };
        let duration: Histogram = metrics::histogram!(
            "signalr.server.connection.duration",
            "signalr.transport" => self.transport,
            "signalr.connection.status" => status,
        );
        duration.record(self.started.elapsed().as_secs_f64());
        self.active.decrement(1.0);
    }
}
