//! Stateful reconnect as the transport provides it: a log of the messages sent but not yet
//! acknowledged, replayed on a new WebSocket after the old one dropped.
//!
//! The layer above activates it after a version-2 handshake, tells it how to write a
//! Sequence message, and passes on the client's Acks; the transport numbers every counted
//! frame ([`Outgoing::Frame`](super::Outgoing::Frame) and `Paced`, not `Control`) as it writes it.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::Notify;

/// Writes the Sequence message for an id, in the connection's protocol.
pub type SequenceWriter = Box<dyn Fn(u64) -> Bytes + Send + Sync>;

/// The replay log of one connection that negotiated stateful reconnect.
pub struct Resumable {
    state: Mutex<ReplayLog>,
    room: Notify,
    limit: usize,
}

struct ReplayLog {
    sequence: Option<SequenceWriter>,
    /// Sent, not yet acknowledged, oldest first, with their sequence ids.
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    /// The id the next counted frame gets.
    next_id: u64,
}

impl Resumable {
    /// A log that holds at most `limit` bytes of unacknowledged messages.
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(ReplayLog {
                sequence: None,
                frames: VecDeque::new(),
                bytes: 0,
                next_id: 1,
            }),
            room: Notify::new(),
            limit,
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, ReplayLog> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns replay on; until then a dropped socket ends the connection.
    pub fn activate(&self, sequence: SequenceWriter) {
        self.log().sequence = Some(sequence);
    }

    /// Whether the connection may survive its socket.
    pub fn is_active(&self) -> bool {
        self.log().sequence.is_some()
    }

    /// The client received everything up to `id`: forget it.
    pub fn acknowledge(&self, id: u64) {
        let mut log = self.log();
        while log.frames.front().is_some_and(|(first, _)| *first <= id) {
            if let Some((_, frame)) = log.frames.pop_front() {
                log.bytes -= frame.len();
            }
        }
        drop(log);
        self.room.notify_waiters();
    }

    /// Whether another frame may be sent before the client acknowledges some.
    pub(super) fn has_room(&self) -> bool {
        let log = self.log();
        log.sequence.is_none() || log.bytes < self.limit
    }

    /// Waits until the log has room, so a sender slows down rather than losing messages.
    pub(super) async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            {
                let log = self.log();
                if log.sequence.is_none() || log.bytes < self.limit {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Numbers and keeps a counted frame that is being written.
    pub(super) fn record(&self, frame: &Bytes) {
        let mut log = self.log();
        if log.sequence.is_none() {
            return;
        }
        let id = log.next_id;
        log.next_id += 1;
        log.bytes += frame.len();
        log.frames.push_back((id, frame.clone()));
    }

    /// What a new socket starts with: a Sequence naming the first unacknowledged id, then the
    /// unacknowledged frames in order.
    pub(super) fn replay(&self) -> Vec<Bytes> {
        let log = self.log();
        let Some(sequence) = &log.sequence else {
            return Vec::new();
        };
        let first = log.frames.front().map_or(log.next_id, |(id, _)| *id);
        std::iter::once(sequence(first))
            .chain(log.frames.iter().map(|(_, frame)| frame.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(id: u64) -> Bytes {
        format!("seq {id}").into()
    }

    #[test]
    fn replays_what_was_not_acknowledged() {
        let log = Resumable::new(1000);
        log.record(&Bytes::from_static(b"ignored before activation"));
        assert!(log.replay().is_empty());
        log.activate(Box::new(sequence));
        for text in ["a", "b", "c"] {
            log.record(&Bytes::from(text));
        }
        assert_eq!(log.replay(), ["seq 1", "a", "b", "c"]);
        log.acknowledge(2);
        assert_eq!(log.replay(), ["seq 3", "c"]);
        log.acknowledge(3);
        assert_eq!(log.replay(), ["seq 4"]);
    }

    #[tokio::test]
    async fn a_full_log_waits_for_acknowledgements() {
        let log = std::sync::Arc::new(Resumable::new(4));
        log.activate(Box::new(sequence));
        log.record(&Bytes::from_static(b"1234"));
        let waiting = tokio::spawn({
            let log = std::sync::Arc::clone(&log);
            async move { log.wait_for_room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        log.acknowledge(1);
        waiting.await.unwrap();
    }
}
