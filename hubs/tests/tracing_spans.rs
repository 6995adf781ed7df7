#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! The tracing spans an application sees at debug level: one per connection, naming its
//! transport and protocol, and one per invocation, naming the hub, the method, the id and how
//! it ended. Below debug level the spans are disabled and hubs does not wrap its futures in
//! them at all, so this test is the proof that they are still there when asked for.

#[path = "support/captured.rs"]
mod captured;

#[path = "support/json_socket.rs"]
mod json_socket;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use tokio_tungstenite::tungstenite::Message;
use tracing_subscriber::fmt::format::FmtSpan;

use captured::Captured;
use json_socket::serve_and_connect;

struct Echo;

#[hub]
impl Echo {
    pub async fn echo(&self, text: String) -> String {
        text
    }

    pub async fn later(&self, text: String) -> String {
        tokio::time::sleep(Duration::from_millis(5)).await;
        text
    }
}

#[tokio::test]
async fn debug_level_spans_name_the_connection_and_every_invocation() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let mut socket = serve_and_connect(axum::Router::new().hub("/hub", Echo)).await;
    // One method that completes at once and one that waits: both get their span.
    for (id, target) in [("1", "Echo"), ("2", "Later")] {
        let call = format!(
            "{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"{target}\",\"arguments\":[\"x\"]}}\u{1e}"
        );
        socket.send(Message::text(call)).await.unwrap();
        let text = socket.next().await.unwrap().unwrap().into_text().unwrap();
        assert!(
            text.contains(&format!("\"invocationId\":\"{id}\"")),
            "{text}"
        );
    }
    socket.close(None).await.unwrap();

    // The connection's span closes once the server has seen the client go. A close line
    // names the spans it is inside, then the closing one.
    let closes = |logs: &str| -> Vec<String> {
        logs.lines()
            .filter(|l| l.contains(": close "))
            .map(str::to_owned)
            .collect()
    };
    let connection_closed = |l: &String| l.contains("connection{") && !l.contains("invocation{");
    let mut logs = String::new();
    for _ in 0..100 {
        logs = captured.text();
        if closes(&logs).iter().any(connection_closed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closes = closes(&logs);
    let connection = closes
        .iter()
        .find(|l| connection_closed(l))
        .unwrap_or_else(|| panic!("no connection span closed in:\n{logs}"));
    assert!(
        connection.contains("transport=\"WebSockets\""),
        "{connection}"
    );
    assert!(connection.contains("protocol=\"json\""), "{connection}");
    for (id, method) in [("1", "Echo"), ("2", "Later")] {
        let invocation = closes
            .iter()
            .find(|l| l.contains(&format!("invocation_id=\"{id}\"")))
            .unwrap_or_else(|| panic!("no span for invocation {id} in:\n{logs}"));
        // Inside its connection's span, with the hub, the method and how it ended.
        assert!(invocation.contains("connection{"), "{invocation}");
        assert!(invocation.contains("hub=\"Echo\""), "{invocation}");
        assert!(
            invocation.contains(&format!("method={method} ")),
            "{invocation}"
        );
        assert!(invocation.contains("outcome=\"completed\""), "{invocation}");
        assert!(invocation.contains("duration_us="), "{invocation}");
    }
}
