//! The ack table: group commands sent to other nodes that wait for the owning node's ack, each
//! for at most the ack timeout (ASP.NET Core's `AckHandler`, 30 s by default).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// Awaited acks by command id.
#[derive(Debug, Default)]
pub(super) struct AckTable {
    next_id: AtomicI32,
    pending: Mutex<HashMap<i32, oneshot::Sender<()>>>,
}

/// One awaited ack; forgotten when dropped.
pub(super) struct AckWait<'a> {
    table: &'a AckTable,
    id: i32,
    receiver: oneshot::Receiver<()>,
}

/// No node acknowledged in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AckTimeout;

impl AckTable {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<()>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new command id and the wait for its ack. Ids count up from 1, wrapping, as ASP.NET's
    /// `Interlocked.Increment` does.
    pub(super) fn create(&self) -> AckWait<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let (sender, receiver) = oneshot::channel();
        self.pending().insert(id, sender);
        AckWait {
            table: self,
            id,
            receiver,
        }
    }

    /// Completes the wait for command `id`; unknown ids (late acks) are ignored.
    pub(super) fn trigger(&self, id: i32) {
        if let Some(sender) = self.pending().remove(&id) {
            let _ = sender.send(());
        }
    }

    /// How many acks are awaited.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.pending().len()
    }
}

impl AckWait<'_> {
    /// The command id to send.
    pub(super) fn id(&self) -> i32 {
        self.id
    }

    /// Waits for the ack, at most `timeout`.
    pub(super) async fn wait(mut self, timeout: Duration) -> Result<(), AckTimeout> {
        match tokio::time::timeout(timeout, &mut self.receiver).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(AckTimeout),
        }
    }
}

impl Drop for AckWait<'_> {
    fn drop(&mut self) {
        self.table.pending().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn acks_complete_waits_and_time_out_otherwise() {
        let table = AckTable::default();
        let first = table.create();
        let second = table.create();
        assert_eq!((first.id(), second.id()), (1, 2));
        table.trigger(1);
        table.trigger(99);
        assert_eq!(first.wait(Duration::from_secs(30)).await, Ok(()));
        assert_eq!(second.wait(Duration::from_secs(30)).await, Err(AckTimeout));
        assert_eq!(table.len(), 0, "nothing is left behind");
    }
}
