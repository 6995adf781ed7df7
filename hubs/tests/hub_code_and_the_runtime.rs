#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! How hub code shares the runtime with everything else: a method that sends in a loop
//! lets other tasks run between its sends (a send rarely waits, so without that it would hold
//! its thread, and on a busy server the I/O of every other connection, until it finished), and
//! a method sees its connection's end the moment the connection is aborted, as ASP.NET Core's
//! `Context.ConnectionAborted` fires, so it can stop working for a client that is gone.

#[path = "support/json_socket.rs"]
mod json_socket;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Worker {
    /// What `Leave` saw right after asking for its connection to close.
    seen_after_abort: Arc<Mutex<Vec<bool>>>,
}

#[hub]
impl Worker {
    /// Sends `count` messages to the caller; returns how many it had sent when a task spawned
    /// just before the loop first ran, or `count` when that task never ran meanwhile.
    pub async fn send_many(&self, ctx: &Context, count: u32) -> Result<u32, HubError> {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        for sent in 0..count {
            if ran.load(Ordering::SeqCst) {
                return Ok(sent);
            }
            ctx.clients().caller().send("Item", (sent,)).await?;
        }
        Ok(count)
    }

    /// Returns at once; a task of its own asks for the connection to close a little later,
    /// while the connection has nothing to read.
    pub async fn leave_later(&self, ctx: &Context) {
        let closer = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            closer.abort();
        });
    }

    /// Asks for the connection to close, then notes whether the invocation sees it.
    pub async fn leave(&self, ctx: &Context) {
        ctx.abort();
        self.seen_after_abort
            .lock()
            .unwrap()
            .push(ctx.is_cancelled());
    }
}

/// A connection to `hub` that has sent invocation "1" of `target` with `arguments` (a JSON
/// array).
async fn calling(hub: Worker, target: &str, arguments: &str) -> json_socket::Socket {
    let mut socket = json_socket::serve_and_connect(axum::Router::new().hub("/hub", hub)).await;
    let call =
        format!(r#"{{"type":1,"invocationId":"1","target":"{target}","arguments":{arguments}}}"#);
    socket
        .send(Message::text(format!("{call}\u{1e}")))
        .await
        .unwrap();
    socket
}

/// The first message the server sends that is `wanted`.
async fn first(socket: &mut json_socket::Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = socket.next().await.expect("open").expect("a frame");
        let text = frame.into_text().expect("text");
        for part in text.split_terminator('\u{1e}') {
            let message: Value = serde_json::from_str(part).unwrap();
            if wanted(&message) {
                return message;
            }
        }
    }
}

/// The Completion of invocation "1".
async fn completion(socket: &mut json_socket::Socket) -> Value {
    first(socket, |m| m["type"] == 3 && m["invocationId"] == "1").await
}

// One thread: the spawned task can run only when the method's task gives the thread up.
#[tokio::test(flavor = "current_thread")]
async fn a_method_sending_in_a_loop_lets_other_tasks_run_between_sends() {
    let mut socket = calling(Worker::default(), "SendMany", "[2000]").await;
    let sent_before_it_ran = completion(&mut socket).await["result"].as_u64().unwrap();
    assert!(
        sent_before_it_ran < 2000,
        "the other task ran only after all 2000 sends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_abort_cancels_the_running_invocation_at_once() {
    let seen = Arc::default();
    let hub = Worker {
        seen_after_abort: Arc::clone(&seen),
    };
    let mut socket = calling(hub, "Leave", "[]").await;
    // The server closes the connection; read until it has.
    while let Some(Ok(frame)) = socket.next().await {
        if frame.is_close() {
            break;
        }
    }
    assert_eq!(*seen.lock().unwrap(), [true]);
}

// The read loop waits for nothing from the client here: the abort alone has to wake it.
#[tokio::test(flavor = "current_thread")]
async fn context_abort_from_another_task_closes_an_idle_connection() {
    let mut socket = calling(Worker::default(), "LeaveLater", "[]").await;
    assert_eq!(completion(&mut socket).await["invocationId"], "1");
    let close = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        first(&mut socket, |m| m["type"] == 7),
    )
    .await
    .expect("the server closes the idle connection soon after the abort");
    // Hub code closed it: no reconnect is offered, and no error named.
    assert_eq!(close.get("allowReconnect"), None);
    assert_eq!(close.get("error"), None);
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .expect("the socket closes after the Close message");
    assert!(matches!(
        end,
        None | Some(Ok(Message::Close(_))) | Some(Err(_))
    ));
}
