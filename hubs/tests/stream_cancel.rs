#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! A streaming method starts even when the client cancels it right after invoking it (both
//! messages in one frame), so it sees its cancellation, as in ASP.NET Core, where the method
//! runs before the CancelInvocation is read. The official client's functional tests rely on
//! this: `InfiniteStream` tells the client `StreamCanceled` when its token fires.

use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use hubs::prelude::*;
use serde_json::Value;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

struct Streams;

#[hub]
impl Streams {
    /// Never yields; says `Canceled(n)` to its caller once cancelled.
    pub async fn forever(&self, ctx: &Context, n: u32) -> impl Stream<Item = u32> + use<> {
        let watcher = ctx.clone();
        tokio::spawn(async move {
            watcher.cancelled().await;
            let caller = watcher.clients().caller();
            let _ = caller.send("Canceled", (n,)).await;
        });
        futures_util::stream::pending()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cancelled_at_once_still_starts_and_sees_its_cancellation() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().hub("/streams", Streams);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (mut socket, _) = connect_async(format!("ws://{address}/streams"))
        .await
        .unwrap();
    socket
        .send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();

    const CALLS: u32 = 40;
    for n in 0..CALLS {
        let id = format!("s{n}");
        let frame = format!(
            "{{\"type\":4,\"invocationId\":\"{id}\",\"target\":\"Forever\",\"arguments\":[{n}]}}\u{1e}\
             {{\"type\":5,\"invocationId\":\"{id}\"}}\u{1e}"
        );
        socket.send(Message::text(frame)).await.unwrap();
    }

    let mut canceled = Vec::new();
    let mut completed = 0;
    while canceled.len() < CALLS as usize || completed < CALLS {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "waiting: {} Canceled, {completed} completions",
                    canceled.len()
                )
            });
        let Some(Ok(Message::Text(text))) = frame else {
            panic!("connection ended: {frame:?}");
        };
        for part in text.split_terminator('\u{1e}') {
            let message: Value = serde_json::from_str(part).unwrap();
            match message["type"].as_u64() {
                Some(1) if message["target"] == "Canceled" => {
                    canceled.push(message["arguments"][0].as_u64().unwrap());
                }
                Some(3) => {
                    assert!(message.get("error").is_none(), "{message}");
                    completed += 1;
                }
                _ => {}
            }
        }
    }
    canceled.sort_unstable();
    assert_eq!(canceled, (0..u64::from(CALLS)).collect::<Vec<_>>());
}
