#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! The metrics a known workload leaves, read from a recorder as an application would install
//! one: active connections, connection duration with transport and status, messages and bytes
//! both ways.

#[path = "support/json_socket.rs"]
mod json_socket;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio_tungstenite::tungstenite::Message;

use json_socket::serve_and_connect;

struct Echo;

#[hub]
impl Echo {
    pub async fn echo(&self, text: String) -> String {
        text
    }
}

/// What the recorder saw so far. A debugging snapshot drains what it reads (counters and
/// gauges read as changes since the last one), so readings are added up here.
#[derive(Default)]
struct Seen {
    /// Counters and gauges, by name and labels.
    totals: HashMap<String, f64>,
    /// Histogram samples, by name and labels.
    samples: HashMap<String, usize>,
}

impl Seen {
    fn read(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{} {}", key.name(), labels.join(","));
            match value {
                DebugValue::Counter(n) => *self.totals.entry(name).or_default() += n as f64,
                DebugValue::Gauge(g) => *self.totals.entry(name).or_default() += g.into_inner(),
                DebugValue::Histogram(h) => *self.samples.entry(name).or_default() += h.len(),
            }
        }
    }

    fn total(&self, name: &str) -> f64 {
        self.totals.get(name).copied().unwrap_or_default()
    }
}

#[tokio::test]
async fn a_known_workload_leaves_its_counts() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let mut socket = serve_and_connect(axum::Router::new().hub("/hub", Echo)).await;
    let calls: String = (1..=3)
        .map(|i| format!("{{\"type\":1,\"invocationId\":\"{i}\",\"target\":\"Echo\",\"arguments\":[\"x\"]}}\u{1e}"))
        .collect();
    socket.send(Message::text(calls.clone())).await.unwrap();
    let mut completions = 0;
    while completions < 3 {
        let text = socket.next().await.unwrap().unwrap().into_text().unwrap();
        completions += text.matches("\"type\":3").count();
    }
    let mut seen = Seen::default();
    seen.read(&snapshotter);
    let active = "signalr.server.active_connections signalr.transport=web_sockets";
    assert_eq!(seen.total(active), 1.0);
    socket.close(None).await.unwrap();

    // The connection's end is recorded once the server has seen the close.
    let ended = "signalr.server.connection.duration signalr.connection.status=normal_closure,signalr.transport=web_sockets";
    for _ in 0..100 {
        seen.read(&snapshotter);
        if seen.samples.contains_key(ended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.samples.get(ended), Some(&1), "{:?}", seen.samples);
    assert_eq!(seen.total(active), 0.0);
    assert_eq!(seen.total("signalr.server.messages.received "), 3.0);
    assert_eq!(
        seen.total("signalr.server.bytes.received "),
        calls.len() as f64
    );
    assert_eq!(seen.total("signalr.server.messages.sent "), 3.0);
    assert!(seen.total("signalr.server.bytes.sent ") > 0.0);
    assert_eq!(seen.total("signalr.server.slow_client_disconnects "), 0.0);
}
