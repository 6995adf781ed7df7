//! Every publication of a node goes out through one queue, in the order it was made, and
//! what is queued together leaves together in one pipelined write.
//!
//! A send does not wait for Redis to answer its PUBLISH: it waits only for its place in the
//! queue. A hub method that broadcasts therefore finishes as soon as the local connections
//! have the message, as with the in-memory manager, and the next invocation of the same
//! client (ASP.NET runs one at a time per client by default) can broadcast right after it:
//! the two PUBLISHes then share a write, and the subscribers receive them together, so the
//! connections on every node get both in one write too. Publications whose answer matters
//! (group commands awaiting acks, client results, their answers) wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::driver::{Driver, DriverError};
use crate::lifetime::SendError;

/// How many publications the queue holds before a send waits for room: the backpressure
/// that keeps a node from outrunning Redis without bound.
const QUEUE_CAPACITY: usize = 4096;
/// The most publications one pipelined write carries.
const BATCH: usize = 256;

/// One publication waiting its turn, and who awaits Redis's answer (the receiver count).
struct Publication {
    channel: String,
    payload: Bytes,
    answer: Option<oneshot::Sender<Result<u64, SendError>>>,
}

/// A node's publication queue. Its task publishes until the publisher is dropped.
pub(super) struct Publisher {
    queue: mpsc::Sender<Publication>,
    driver: Arc<dyn Driver>,
    /// Set while publishing fails, so an outage is logged once.
    failing: Arc<AtomicBool>,
}

impl Publisher {
    /// A publisher on `driver`, with its task (inside a Tokio runtime).
    pub(super) fn start(driver: Arc<dyn Driver>) -> Self {
        let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
        let failing = Arc::new(AtomicBool::new(false));
        tokio::spawn(run(Arc::clone(&driver), Arc::clone(&failing), queued));
        Self {
            queue,
            driver,
            failing,
        }
    }

    /// Publishes `payload` on `channel` and waits for Redis's answer: how many nodes
    /// received it. A failure is logged (once per outage) and returned.
    pub(super) async fn publish(&self, channel: String, payload: Bytes) -> Result<u64, SendError> {
        let (answer, answered) = oneshot::channel();
        self.enqueue(Publication {
            channel,
            payload,
            answer: Some(answer),
        })
        .await?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Queues `payload` for `channel` without waiting for Redis's answer. While Redis is
    /// known to be unreachable it fails at once (logged); a failure found later is logged.
    pub(super) async fn publish_queued(
        &self,
        channel: String,
        payload: Bytes,
    ) -> Result<(), SendError> {
        if !self.driver.connected() {
            return Err(failed(&self.failing, &channel, &DriverError::NotConnected));
        }
        self.enqueue(Publication {
            channel,
            payload,
            answer: None,
        })
        .await
    }

    async fn enqueue(&self, publication: Publication) -> Result<(), SendError> {
        self.queue.send(publication).await.map_err(|_| stopped())
    }
}

/// Logs a failed publication (at error once per outage) and words it for the caller.
fn failed(failing: &AtomicBool, channel: &str, error: &DriverError) -> SendError {
    if !failing.swap(true, Ordering::Relaxed) {
        tracing::error!(%channel, %error, "cannot publish to Redis: other nodes miss what this node sends until it is back");
    } else {
        tracing::debug!(%channel, %error, "cannot publish to Redis");
    }
    SendError::Backplane(format!(
        "could not publish to Redis ({error}); connections on other nodes did not get the message"
    ))
}

fn stopped() -> SendError {
    SendError::Backplane("the Redis backplane of this node has stopped".into())
}

/// Publishes what is queued, in order, a batch at a time in one pipelined write, and hands
/// each waiter its answer; ends when the publisher is dropped.
async fn run(
    driver: Arc<dyn Driver>,
    failing: Arc<AtomicBool>,
    mut queued: mpsc::Receiver<Publication>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let messages: Vec<(&str, &Bytes)> = batch
            .iter()
            .map(|p| (p.channel.as_str(), &p.payload))
            .collect();
        let outcome = driver.publish_all(&messages).await;
        drop(messages);
        match outcome {
            Ok(receivers) => {
                if failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("publishing to Redis works again");
                }
                for (publication, receivers) in batch.drain(..).zip(receivers) {
                    if let Some(answer) = publication.answer {
                        let _ = answer.send(Ok(receivers));
                    }
                }
            }
            Err(error) => {
                for publication in batch.drain(..) {
                    let failed = failed(&failing, &publication.channel, &error);
                    if let Some(answer) = publication.answer {
                        let _ = answer.send(Err(failed));
                    }
                }
            }
        }
        batch.clear();
    }
}
