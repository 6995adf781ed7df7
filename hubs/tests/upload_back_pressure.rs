#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! A full upload buffer holds the client's messages back, as in ASP.NET Core: what follows
//! the item is read once the stream has room or its method stopped reading. Meanwhile the
//! connection still answers to its server: a close requested then is carried out.

use std::pin::pin;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hubs::UploadStream;
use hubs::prelude::*;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/json_socket.rs"]
mod json_socket;
use json_socket::{Socket, serve_and_connect};

struct Uploads;

#[hub]
impl Uploads {
    /// Reads the first item of its upload and stops there.
    pub async fn first(&self, items: UploadStream<u32>) -> Result<u32, HubError> {
        let mut items = pin!(items);
        match items.next().await {
            Some(item) => Ok(item?),
            None => Err(HubError::new("no items")),
        }
    }

    /// Never reads its upload; closes the connection after a while.
    pub async fn ignore_then_close(&self, ctx: &Context, _items: UploadStream<u32>) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ctx.abort();
        std::future::pending::<()>().await;
    }

    pub async fn echo(&self, n: u32) -> u32 {
        n
    }
}

/// An invocation of `method` with upload stream `s`, then `items` items for it, in one frame.
fn upload_frame(id: &str, method: &str, items: u32) -> String {
    let mut frame = format!(
        "{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"{method}\",\"arguments\":[],\"streamIds\":[\"s\"]}}\u{1e}"
    );
    for item in 0..items {
        frame.push_str(&format!(
            "{{\"type\":2,\"invocationId\":\"s\",\"item\":{item}}}\u{1e}"
        ));
    }
    frame
}

/// The next messages the server sends, until one of `kind`.
async fn next_of_kind(socket: &mut Socket, kind: u64) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no message of type {kind} within 5 s"));
        let Some(Ok(Message::Text(text))) = frame else {
            panic!("connection ended: {frame:?}");
        };
        for part in text.split_terminator('\u{1e}') {
            let message: Value = serde_json::from_str(part).unwrap();
            if message["type"] == kind {
                return message;
            }
        }
    }
}

#[tokio::test]
async fn items_for_a_method_that_stopped_reading_are_dropped_and_the_rest_is_read() {
    let mut socket = serve_and_connect(axum::Router::new().hub("/hub", Uploads)).await;
    // 40 items: more than the 10 the stream buffers, so the read loop waits on the 11th.
    let mut frame = upload_frame("1", "First", 40);
    frame.push_str(
        "{\"type\":1,\"invocationId\":\"2\",\"target\":\"Echo\",\"arguments\":[7]}\u{1e}",
    );
    socket.send(Message::text(frame)).await.unwrap();

    let first = next_of_kind(&mut socket, 3).await;
    assert_eq!(first["invocationId"], "1");
    assert_eq!(first["result"], 0);
    let echo = next_of_kind(&mut socket, 3).await;
    assert_eq!(echo["invocationId"], "2");
    assert_eq!(echo["result"], 7);
}

#[tokio::test]
async fn a_close_requested_while_an_upload_waits_for_room_is_carried_out() {
    let mut socket = serve_and_connect(axum::Router::new().hub("/hub", Uploads)).await;
    socket
        .send(Message::text(upload_frame("1", "IgnoreThenClose", 40)))
        .await
        .unwrap();
    let close = next_of_kind(&mut socket, 7).await;
    assert!(close.get("error").is_none(), "{close}");
}
