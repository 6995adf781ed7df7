//! The chaos tests' hub (`interop/test/chaos.test.mjs`): short timeouts so a vanished or
//! silent client is let go within seconds, and counters of what the server still holds,
//! read by `GET /api/chaos/stats`.
//!
//! Included by the interop server with `#[path]`; it is not part of the examples library.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use futures_util::{Stream, StreamExt, stream};
use hubs::UploadStream;
use hubs::prelude::*;

/// Timeouts of the chaos endpoint: pings every 0.5 s, a client silent for 2 s is dropped, a
/// dropped stateful connection waits 2 s for its client, a close waits 1 s for the answer
/// and a write that does not finish in 1 s ends the connection; a client whose socket takes
/// nothing for 2 s while more than the send buffer waits is dropped as too slow.
pub const KEEP_ALIVE: Duration = Duration::from_millis(500);
/// See [`KEEP_ALIVE`].
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// See [`KEEP_ALIVE`].
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// See [`KEEP_ALIVE`].
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// A connection with more than its send buffer waiting whose socket takes nothing this long
/// is closed as too slow.
pub const SLOW_CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// Unacknowledged bytes kept for replay per stateful connection.
pub const REPLAY_BUFFER: usize = 16 * 1024;

/// What the server holds right now.
#[derive(Default)]
pub struct Held {
    live: AtomicI64,
    streams: AtomicI64,
    uploads: AtomicI64,
    upload_items: AtomicI64,
    floods: AtomicI64,
    flooded: AtomicI64,
}

/// Adds one to a counter for as long as it lives: dropped with the stream or call it is in.
struct Holding(Arc<Held>, fn(&Held) -> &AtomicI64);

impl Holding {
    fn new(held: &Arc<Held>, counter: fn(&Held) -> &AtomicI64) -> Self {
        counter(held).fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(held), counter)
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        (self.1)(&self.0).fetch_sub(1, Ordering::SeqCst);
    }
}

/// The chaos hub.
pub struct ChaosHub {
    held: Arc<Held>,
}

#[hub]
impl ChaosHub {
    async fn on_connected(&self, _ctx: &Context) -> Result<(), HubError> {
        self.held.live.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn on_disconnected(&self, _ctx: &Context, _error: Option<HubError>) {
        self.held.live.fetch_sub(1, Ordering::SeqCst);
    }

    pub async fn echo(&self, message: String) -> String {
        message
    }

    /// `Counter(count, delayMs)`: 0, 1, ... one every `delayMs`, counted while it lives.
    pub async fn counter(&self, count: u32, delay_ms: u64) -> impl Stream<Item = u32> {
        let holding = Holding::new(&self.held, |h| &h.streams);
        stream::iter(0..count).then(move |i| {
            let _holding = &holding;
            async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                i
            }
        })
    }

    /// `Upload(stream)`: how many items came; counted while it runs.
    pub async fn upload(&self, items: UploadStream<i64>) -> Result<i64, HubError> {
        let _holding = Holding::new(&self.held, |h| &h.uploads);
        let mut items = pin!(items);
        let mut count = 0;
        while let Some(item) = items.next().await {
            item?;
            count += 1;
            self.held.upload_items.fetch_add(1, Ordering::SeqCst);
        }
        Ok(count)
    }

    /// `Flood(count, size)`: `count` messages of `size` bytes to the caller, as fast as the
    /// connection takes them, until it closes; counted while it runs.
    pub async fn flood(&self, ctx: &Context, count: u32, size: usize) -> Result<u32, HubError> {
        let _holding = Holding::new(&self.held, |h| &h.floods);
        let padding = "x".repeat(size);
        for i in 0..count {
            // As hub code should: stop working for a connection that is gone.
            if ctx.is_cancelled() {
                break;
            }
            ctx.clients()
                .caller()
                .send("Flooded", (i, padding.as_str()))
                .await?;
            self.held.flooded.fetch_add(1, Ordering::SeqCst);
        }
        Ok(count)
    }
}

async fn stats(State(held): State<Arc<Held>>) -> axum::Json<serde_json::Value> {
    let get = |counter: &AtomicI64| counter.load(Ordering::SeqCst);
    axum::Json(serde_json::json!({
        "pid": std::process::id(),
        "live": get(&held.live),
        "streams": get(&held.streams),
        "uploads": get(&held.uploads),
        "uploadItems": get(&held.upload_items),
        "floods": get(&held.floods),
        "flooded": get(&held.flooded),
    }))
}

/// `/hubs/chaos` (every transport, stateful reconnect allowed, the short timeouts above) and
/// `GET /api/chaos/stats`.
pub fn routes() -> Router {
    let held = Arc::new(Held::default());
    let endpoint = HubEndpoint::builder(ChaosHub {
        held: Arc::clone(&held),
    })
    .configure(|o| {
        o.keep_alive_interval = KEEP_ALIVE;
        o.client_timeout_interval = CLIENT_TIMEOUT;
    })
    .configure_connections(|c| {
        c.disconnect_timeout = DISCONNECT_TIMEOUT;
        c.close_timeout = CLOSE_TIMEOUT;
        c.transport_send_timeout = CLOSE_TIMEOUT;
        c.slow_client_timeout = SLOW_CLIENT_TIMEOUT;
        c.allow_stateful_reconnects = true;
        c.stateful_reconnect_buffer_size = REPLAY_BUFFER;
    })
    .build();
    Router::new()
        .route("/api/chaos/stats", get(stats))
        .with_state(held)
        .hub("/hubs/chaos", endpoint)
}
