//! The soak test's server: one hub at `/soak` (WebSockets and Long Polling) whose every
//! delivery the driver (`soak`) can check. Messages are opaque strings the driver numbers; the
//! hub only routes them.
//!
//! Methods: `Echo(s) -> s`; `Broadcast(s)`: everyone gets `B(s)`; `SendToGroup(g, s)`: group
//! `g` gets `G(s)`; `Join(g)`, `Leave(g)` answer once done; `Counter(n, delayMs)` streams
//! `0..n`; `Upload(stream of numbers)` answers how many came if they were `0, 1, 2, ...` and
//! fails otherwise; `Live()` answers the connections between `on_connected` and
//! `on_disconnected`.
//!
//! Runs on a two-thread runtime (the machine's cores) and prints `listening <port>` first.
//!
//! Faults on purpose, to show that the driver's checks catch them: `--drop-every N` skips
//! every Nth broadcast or group send, `--repeat-every N` sends every Nth twice.

use std::pin::pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use bench::server::{self, ServerArgs};
use futures_util::{Stream, StreamExt, stream};
use hubs::UploadStream;
use hubs::prelude::*;

/// The soak hub; `live` counts connected clients.
#[derive(Default)]
pub struct SoakHub {
    live: AtomicI64,
    faults: Faults,
}

/// Deliberate faults (all off by default).
#[derive(Default)]
struct Faults {
    drop_every: u64,
    repeat_every: u64,
    sends: AtomicU64,
}

impl Faults {
    /// How many times to send the next broadcast or group send: 1, or 0 or 2 for a fault.
    fn copies(&self) -> usize {
        let n = self.sends.fetch_add(1, Ordering::Relaxed) + 1;
        if self.drop_every > 0 && n.is_multiple_of(self.drop_every) {
            0
        } else if self.repeat_every > 0 && n.is_multiple_of(self.repeat_every) {
            2
        } else {
            1
        }
    }
}

#[hub]
impl SoakHub {
    async fn on_connected(&self, _ctx: &Context) -> Result<(), HubError> {
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn on_disconnected(&self, _ctx: &Context, _error: Option<HubError>) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Answers its argument.
    pub async fn echo(&self, s: String) -> String {
        s
    }

    /// Sends `B(s)` to every connection.
    pub async fn broadcast(&self, ctx: &Context, s: String) -> Result<(), HubError> {
        for _ in 0..self.faults.copies() {
            ctx.clients().all().send("B", (&s,)).await?;
        }
        Ok(())
    }

    /// Sends `G(s)` to group `g`.
    pub async fn send_to_group(&self, ctx: &Context, g: String, s: String) -> Result<(), HubError> {
        for _ in 0..self.faults.copies() {
            ctx.clients().group(&g).send("G", (&s,)).await?;
        }
        Ok(())
    }

    /// Adds the caller to group `g`; the completion is the acknowledgement.
    pub async fn join(&self, ctx: &Context, g: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), &g).await?;
        Ok(())
    }

    /// Removes the caller from group `g`; the completion is the acknowledgement.
    pub async fn leave(&self, ctx: &Context, g: String) -> Result<(), HubError> {
        ctx.groups().remove(ctx.connection_id(), &g).await?;
        Ok(())
    }

    /// `0, 1, ..., n - 1`, one every `delay_ms`.
    pub async fn counter(&self, n: u32, delay_ms: u64) -> impl Stream<Item = u32> {
        stream::iter(0..n).then(move |i| async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            i
        })
    }

    /// How many numbers came, when they were `0, 1, 2, ...` in order.
    pub async fn upload(&self, items: UploadStream<u64>) -> Result<u64, HubError> {
        let mut items = pin!(items);
        let mut expected = 0u64;
        while let Some(item) = items.next().await {
            let item = item?;
            if item != expected {
                return Err(HubError::new(format!(
                    "upload: {item} where {expected} was due"
                )));
            }
            expected += 1;
        }
        Ok(expected)
    }

    /// Connections whose `on_connected` ran and whose `on_disconnected` has not.
    pub async fn live(&self) -> i64 {
        self.live.load(Ordering::Relaxed)
    }
}

fn main() {
    let args = ServerArgs::from_env();
    let flags = bench::args::Args::from_env();
    let hub = SoakHub {
        faults: Faults {
            drop_every: flags.get("drop-every", 0),
            repeat_every: flags.get("repeat-every", 0),
            ..Faults::default()
        },
        ..SoakHub::default()
    };
    bench::procfs::raise_fd_limit();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(async move {
            let endpoint = HubEndpoint::builder(hub)
                .configure(|o| {
                    if let Some(keepalive) = args.keepalive {
                        o.keep_alive_interval = keepalive;
                    }
                })
                .build();
            let app = axum::Router::new().hub("/soak", endpoint);
            let listener = server::listen(args.port).await;
            server::serve_axum(listener, app).await;
        });
}
