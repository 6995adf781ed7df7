//! A connection's send queue: bounded in bytes, many senders (hub code, broadcasts, the read
//! loop), one receiver (the transport's writer).
//!
//! Who is too slow is decided by the client, not by a burst the server produced: a queue may
//! grow past its buffer size while its socket keeps draining, and refuses (the connection is
//! then closed as slow) only when that socket has taken nothing for the drain timeout, or when
//! the hard cap is reached. See [`QueueLimits`].
//!
//! A channel would do, but an empty channel still holds its first block of slots (about
//! 2 KiB per connection here); this queue holds nothing while empty, which is most of the
//! time for most of 10,000 idle connections.
//!
//! A transport that can write without waiting (a WebSocket) gives its queue a [`Wire`]: a
//! sender finding nothing queued then writes to the socket itself, and the receiver (the
//! transport's writer) is woken only for what the socket did not take at once. A fan-out's
//! deliveries are written by tasks of their own once all are queued ([`FanOutWrites`]).

mod fan_out;
mod wire;

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use super::Outgoing;

pub(crate) use fan_out::FanOutWrites;
use wire::Arriving;
pub(crate) use wire::{
    Backlog, Item, LENT_FRAME_ROOM, LentFrame, Lone, Wire, WireHandle, WireStatus,
};

/// The sending side of a connection's queue. Cloning it adds a sender; the receiver sees the
/// end of the queue when every sender is gone.
#[derive(Debug)]
pub struct SendQueue {
    shared: Arc<Shared>,
}

/// The receiving side of a connection's queue: the transport's writer.
#[derive(Debug)]
pub struct QueueReceiver {
    shared: Arc<Shared>,
    /// The wire was idle when last run (see [`Shared::changed`]).
    wire_idle: bool,
}

/// When a queue counts its client as too slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Bytes that may wait without question; senders that wait for room
    /// ([`SendQueue::send`]) wait while this much is queued.
    pub buffer: usize,
    /// Bytes that may never be exceeded, however well the socket drains.
    pub max_buffer: usize,
    /// How long a queue may hold more than `buffer` bytes while its socket takes nothing.
    pub drain_timeout: Duration,
}

/// In declared order (`repr(C)`, here and in [`State`]): what every send reads (the lock,
/// the state's flags, counts, wire and items, the receiver's flag and waker, the buffer size)
/// is contiguous, so a send to a connection whose state is out of the cache misses as few
/// lines as it can; `room`, `stalled` and `senders` are left to the end.
#[derive(Debug)]
#[repr(C)]
struct Shared {
    state: Mutex<State>,
    /// Set with every wake of `receiver`, cleared when it looks: a receiver whose wire was
    /// idle and that no sender woke has nothing to write, whoever else woke its task.
    changed: AtomicBool,
    /// The receiver, waiting for an item.
    receiver: AtomicWaker,
    limits: QueueLimits,
    /// Senders waiting for room.
    room: Notify,
}

#[derive(Debug)]
#[repr(C)]
struct State {
    receiver_gone: bool,
    /// The client was found too slow; nothing more is queued.
    refused: bool,
    /// The wire's socket took all it could: what is queued waits for the receiver.
    wire_blocked: bool,
    /// Items are queued but not handed on (see [`SendQueue::hold`]).
    held: bool,
    /// The hold is a batch's, let go of once the buffer size is reached (see
    /// [`SendQueue::batch`]).
    batching: bool,
    /// The receiver asked for the end once every item is written.
    ended: bool,
    /// Every text frame queued is known to be UTF-8 (see [`SendQueue::vouch_for_text`]).
    text_vouched: bool,
    /// The bytes of `items`.
    bytes: usize,
    /// Writes items straight to the socket (see [`Wire`]).
    wire: Option<Box<dyn Wire>>,
    /// Bytes of the first item the wire has written already.
    offset: usize,
    items: VecDeque<Outgoing>,
    /// Items the receiver has taken so far: progress of the socket.
    taken: u64,
    /// Since when the queue has held more than `limits.buffer` bytes with no progress, and
    /// the value of `taken` then.
    stalled: Option<(Instant, u64)>,
    senders: usize,
}

/// Why [`SendQueue::try_send`] did not queue an item; the item comes back.
#[derive(Debug)]
pub enum TrySendError {
    /// The client is too slow for what is sent to it (see [`QueueLimits`]). Returned once;
    /// later items are refused as [`TrySendError::Closed`].
    Full(Outgoing),
    /// The receiver is gone, or the queue was found full before.
    Closed(Outgoing),
}

/// [`SendQueue::send`] failed: the receiver is gone.
#[derive(Debug)]
pub struct Closed(pub Outgoing);

/// Why [`QueueReceiver::try_recv`] returned nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and every sender is gone.
    Disconnected,
}

impl Outgoing {
    /// The bytes this item puts on the wire.
    pub(crate) fn len(&self) -> usize {
        match self {
            Outgoing::Frame(bytes) | Outgoing::Control(bytes) | Outgoing::Paced(bytes, _) => {
                bytes.len()
            }
            Outgoing::Format(_) | Outgoing::Close => 0,
        }
    }
}

impl SendQueue {
    /// An empty queue with `limits`.
    pub fn new(limits: QueueLimits) -> (SendQueue, QueueReceiver) {
        Self::with(limits, None)
    }

    /// An empty queue with `limits` whose items `wire` writes.
    pub(crate) fn with_wire(
        limits: QueueLimits,
        wire: Box<dyn Wire>,
    ) -> (SendQueue, QueueReceiver) {
        Self::with(limits, Some(wire))
    }

    fn with(limits: QueueLimits, wire: Option<Box<dyn Wire>>) -> (SendQueue, QueueReceiver) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                taken: 0,
                stalled: None,
                senders: 1,
                receiver_gone: false,
                refused: false,
                wire,
                offset: 0,
                wire_blocked: false,
                ended: false,
                held: false,
                batching: false,
                text_vouched: false,
            }),
            limits,
            receiver: AtomicWaker::new(),
            changed: AtomicBool::new(false),
            room: Notify::new(),
        });
        (
            SendQueue {
                shared: Arc::clone(&shared),
            },
            QueueReceiver {
                shared,
                wire_idle: false,
            },
        )
    }

    /// The limits this queue was made with.
    pub fn limits(&self) -> QueueLimits {
        self.shared.limits
    }

    /// Promises that every text frame this queue is given from now on is UTF-8, so that the
    /// wire sends it without checking it again: the hub's promise, whose protocols write
    /// UTF-8 and whose ways in for frames written elsewhere check them (see
    /// `HubConnection::deliver` and `SerializedMessage::set`). Without it, a WebSocket drops
    /// a text frame that is not UTF-8 rather than send it.
    pub(crate) fn vouch_for_text(&self) {
        self.shared.lock().text_vouched = true;
    }

    /// Queues `item` without waiting, unless the client has proven too slow: more than
    /// `max_buffer` bytes would wait, or more than `buffer` bytes wait and the socket has
    /// taken nothing for `drain_timeout`.
    pub fn try_send(&self, item: Outgoing) -> Result<(), TrySendError> {
        self.try_send_arriving(Arriving::Owned(item), None)
    }

    /// [`try_send`](Self::try_send) for one of the many deliveries of a fan-out: the write is
    /// left to `writes` (or, without a [`Wire`], to the transport's writer), so that
    /// deliveries piling up on a connection leave together and the sender does not write to
    /// every socket itself.
    pub(crate) fn try_send_later(
        &self,
        item: Outgoing,
        writes: &mut FanOutWrites,
    ) -> Result<(), TrySendError> {
        self.try_send_arriving(Arriving::Owned(item), Some(writes))
    }

    /// [`try_send`](Self::try_send) of a data frame the caller only lends: copied only if the
    /// socket does not take it at once (or there is no socket to take it, or the queue is
    /// refusing).
    pub(crate) fn try_send_lent(&self, frame: LentFrame<'_>) -> Result<(), TrySendError> {
        self.try_send_arriving(Arriving::Lent(frame), None)
    }

    /// Starts loading the queue's state a send reads first (see [`crate::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self) {
        let shared = Arc::as_ptr(&self.shared);
        crate::prefetch::prefetch(shared);
        crate::prefetch::prefetch(shared.cast::<u8>().wrapping_add(64));
    }

    /// Queues `item`: written at once if the socket is free, unless `later` takes the write.
    fn try_send_arriving(
        &self,
        item: Arriving<'_>,
        later: Option<&mut FanOutWrites>,
    ) -> Result<(), TrySendError> {
        let limits = self.shared.limits;
        let mut state = self.shared.lock();
        if state.receiver_gone || state.refused {
            return Err(TrySendError::Closed(item.into_owned()));
        }
        let after = state.bytes + item.len();
        if state.batching && after > limits.buffer {
            // A batch is never what makes a client look slow: it leaves as it reaches the
            // buffer size, and what is sent after it goes out as it comes.
            state.batching = false;
            state.held = false;
        }
        // One item always fits an empty queue, whatever its size.
        if after > limits.buffer && !state.items.is_empty() {
            let stalled = match state.stalled {
                Some((since, taken)) if taken == state.taken => {
                    since.elapsed() >= limits.drain_timeout
                }
                // Over the buffer size just now, or the socket moved since: start counting.
                _ => {
                    state.stalled = Some((Instant::now(), state.taken));
                    false
                }
            };
            if stalled || after > limits.max_buffer {
                state.refused = true;
                return Err(TrySendError::Full(item.into_owned()));
            }
        }
        self.push(state, item, later);
        Ok(())
    }

    /// Queues `item`, waiting while the buffer size is reached: for senders that should slow
    /// down rather than make the client look slow.
    pub async fn send(&self, item: Outgoing) -> Result<(), Closed> {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            // Listening before trying: room made between the try and the wait is not missed.
            room.as_mut().enable();
            {
                let state = self.shared.lock();
                if state.receiver_gone || state.refused {
                    return Err(Closed(item));
                }
                if state.bytes < self.shared.limits.buffer || state.items.is_empty() {
                    self.push(state, Arriving::Owned(item), None);
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Keeps what is queued from here on from leaving until [`release`](Self::release): the
    /// hub queues its handshake response this way, and sends it only once the connection can
    /// be reached, so a client that has the response can be sent to at once.
    pub(crate) fn hold(&self) {
        self.shared.lock().held = true;
    }

    /// Lets what [`hold`](Self::hold) kept leave, in order.
    pub(crate) fn release(&self) {
        let mut state = self.shared.lock();
        state.held = false;
        self.let_go(state);
    }

    /// Holds what is sent from here on until [`end_batch`](Self::end_batch), so that it
    /// leaves in one write, as [`hold`](Self::hold) does; but only while it fits the buffer
    /// size, so that a batch never makes its client look slow. Nothing changes while the queue
    /// is held already.
    pub(crate) fn batch(&self) {
        let mut state = self.shared.lock();
        if !state.held {
            state.held = true;
            state.batching = true;
        }
    }

    /// Lets what [`batch`](Self::batch) kept leave, in order; nothing if the batch already
    /// left.
    pub(crate) fn end_batch(&self) {
        let mut state = self.shared.lock();
        if state.batching {
            state.batching = false;
            state.held = false;
            self.let_go(state);
        }
    }

    /// Writes or hands on what a hold kept.
    fn let_go(&self, state: MutexGuard<'_, State>) {
        if state.wire.is_some() {
            return self.shared.write_or_wake(state, None);
        }
        drop(state);
        self.shared.wake_receiver();
    }

    /// Queues `item`; with a wire, writes it at once unless `later` takes the write.
    fn push(
        &self,
        mut state: MutexGuard<'_, State>,
        item: Arriving<'_>,
        later: Option<&mut FanOutWrites>,
    ) {
        let was_empty = state.items.is_empty();
        state.bytes += item.len();
        let has_wire = state.wire.is_some();
        if has_wire && later.is_none() {
            return self.shared.write_or_wake(state, Some(item));
        }
        state.items.push_back(item.into_owned());
        drop(state);
        // Whoever writes a queue (or a receiver, which only waits on an empty queue) takes
        // what came meanwhile: only the first item asks for a write.
        if was_empty {
            match later {
                Some(writes) if has_wire => writes.add(&self.shared),
                _ => self.shared.wake_receiver(),
            }
        }
    }
}

impl Clone for SendQueue {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for SendQueue {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.shared.wake_receiver();
        }
    }
}

impl QueueReceiver {
    /// The next item; `None` once the queue is empty and every sender is gone.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item, or why there is none.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        // Registered before looking, so an item queued right after the look wakes us.
        self.shared.receiver.register(cx.waker());
        match self.try_recv() {
            Ok(item) => Poll::Ready(Some(item)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// Whether the text frames queued are known to be UTF-8 (see
    /// [`SendQueue::vouch_for_text`]): once true, it stays true.
    pub(crate) fn text_vouched(&self) -> bool {
        self.shared.lock().text_vouched
    }

    /// The next item if one is queued now.
    pub fn try_recv(&mut self) -> Result<Outgoing, TryRecvError> {
        let buffer = self.shared.limits.buffer;
        let mut state = self.shared.lock();
        if state.held {
            return Err(TryRecvError::Empty);
        }
        let was_full = state.bytes >= buffer;
        let Some(item) = state.items.pop_front() else {
            return Err(if state.senders == 0 {
                TryRecvError::Disconnected
            } else {
                TryRecvError::Empty
            });
        };
        state.bytes -= item.len();
        state.taken += 1;
        let full = state.bytes >= buffer;
        if state.bytes <= buffer {
            state.stalled = None;
        }
        if state.items.is_empty() {
            // Most connections are idle most of the time: an empty queue holds no memory.
            state.items = VecDeque::new();
        }
        drop(state);
        // Senders wait only while the buffer size is reached, so only going below it makes room.
        if was_full && !full {
            self.shared.room.notify_waiters();
        }
        Ok(item)
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

impl Drop for QueueReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Dropped outside the lock: a paced frame's permit wakes its stream.
        let items = std::mem::take(&mut state.items);
        let wire = state.wire.take();
        drop(state);
        drop(items);
        drop(wire);
        self.shared.room.notify_waiters();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the receiver for a change it has to look at.
    fn wake_receiver(&self) {
        self.changed.store(true, Ordering::Release);
        self.receiver.wake();
    }
}

#[cfg(test)]
mod tests;
