#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! The server's keep-alive: a connection that was sent nothing for the keep-alive interval
//! gets a Ping; one that receives messages at least that often gets none (ASP.NET Core pings
//! it anyway), and its client still hears from the server within every interval.

#[path = "support/json_socket.rs"]
mod json_socket;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use json_socket::{Socket, serve_and_connect};

const KEEP_ALIVE: Duration = Duration::from_secs(1);

struct Echo;

#[hub]
impl Echo {
    pub async fn echo(&self, text: String) -> String {
        text
    }
}

async fn connect() -> Socket {
    let endpoint = HubEndpoint::builder(Echo)
        .options(HubOptions {
            keep_alive_interval: KEEP_ALIVE,
            ..HubOptions::default()
        })
        .build();
    serve_and_connect(axum::Router::new().hub("/hub", endpoint)).await
}

/// Every message the server sends until `until`, with the time it arrived.
async fn heard_until(socket: &mut Socket, until: Instant) -> Vec<(Instant, Value)> {
    let mut heard = Vec::new();
    while let Ok(Some(frame)) = timeout(until - Instant::now(), socket.next()).await {
        let text = frame.unwrap().into_text().unwrap();
        for message in text.split_terminator('\u{1e}') {
            heard.push((Instant::now(), serde_json::from_str(message).unwrap()));
        }
    }
    heard
}

fn pings(heard: &[(Instant, Value)]) -> usize {
    heard
        .iter()
        .filter(|(_, message)| *message == json!({"type": 6}))
        .count()
}

#[tokio::test]
async fn an_idle_connection_is_pinged_every_interval() {
    let mut idle = connect().await;
    let heard = heard_until(&mut idle, Instant::now() + KEEP_ALIVE * 3 + KEEP_ALIVE / 2).await;
    assert_eq!(pings(&heard), 3, "{heard:?}");
    assert_eq!(pings(&heard), heard.len(), "only pings: {heard:?}");
}

#[tokio::test]
async fn a_connection_sent_messages_within_every_interval_is_not_pinged() {
    let mut busy = connect().await;
    let started = Instant::now();
    let mut heard = Vec::new();
    // A call every fifth of the interval for three intervals: each Completion is a send.
    for call in 0..15 {
        let message = json!({"type": 1, "invocationId": call.to_string(), "target": "Echo", "arguments": ["x"]});
        busy.send(Message::text(format!("{message}\u{1e}")))
            .await
            .unwrap();
        heard.extend(heard_until(&mut busy, started + KEEP_ALIVE / 5 * (call + 1)).await);
    }
    assert_eq!(pings(&heard), 0, "{heard:?}");
    assert_eq!(heard.len(), 15, "every Completion: {heard:?}");

    // Once the calls stop, the server is quiet for one interval and then pings.
    let last_sent = heard.last().unwrap().0;
    let after = heard_until(&mut busy, Instant::now() + KEEP_ALIVE * 2).await;
    let (pinged_at, ping) = after.first().expect("a ping once the calls stopped");
    assert_eq!(*ping, json!({"type": 6}));
    let quiet = *pinged_at - last_sent;
    // The interval (the client's timeout counts on that): at most the kernel's tick and a
    // busy machine's slack later, and never much earlier.
    assert!(
        quiet >= KEEP_ALIVE - Duration::from_millis(100)
            && quiet <= KEEP_ALIVE + Duration::from_millis(300),
        "pinged {quiet:?} after the last send"
    );
}

#[tokio::test(start_paused = true)]
async fn with_tokio_time_paused_an_idle_connection_is_still_pinged_every_interval() {
    // A test of a hub may pause Tokio's time and let it run ahead: the keep-alive follows
    // that clock, though each send is stamped on the kernel's (which barely moves meanwhile).
    let mut idle = connect().await;
    let heard = heard_until(&mut idle, Instant::now() + KEEP_ALIVE * 3 + KEEP_ALIVE / 2).await;
    assert_eq!(pings(&heard), 3, "{heard:?}");
    assert_eq!(pings(&heard), heard.len(), "only pings: {heard:?}");
}
