//! Writing a queue's items straight to a socket (see [`Wire`]).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::task::Context;

use bytes::Bytes;

use super::{QueueReceiver, Shared, State};
use crate::connection::Outgoing;

/// Writes a queue's items to a transport's socket. It runs with the queue locked, so whoever
/// calls it (a sender that found nothing queued, the transport's own reader, the receiver)
/// writes in queue order, and an item leaves the queue only once it is on the wire: its bytes
/// count against the queue's limits until then.
pub(crate) trait Wire: Any + Send + std::fmt::Debug {
    /// Writes what the socket takes of `backlog` now. Without `cx` (a sender) it must not
    /// wait; with it (the receiver), `Blocked` means `cx` is woken when the socket takes more.
    fn write(&mut self, backlog: &mut Backlog<'_, '_>, cx: Option<&mut Context<'_>>) -> WireStatus;
}

/// Where a [`Wire::write`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireStatus {
    /// Everything queued is written.
    Idle,
    /// The socket takes no more now; the receiver finishes the job.
    Blocked,
    /// Nothing more will be written (the transport closed, or its socket failed): the queue
    /// refuses what else is sent.
    Finished,
}

/// The item being sent: owned, or a frame the sender only lends for the call (copied into
/// the queue if the socket does not take it at once, so the usual delivery allocates nothing).
#[derive(Debug)]
pub(crate) enum Arriving<'f> {
    Owned(Outgoing),
    Lent(LentFrame<'f>),
}

impl Arriving<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Arriving::Owned(item) => item.len(),
            Arriving::Lent(lent) => lent.len(),
        }
    }

    /// The item to keep in the queue.
    pub(super) fn into_owned(self) -> Outgoing {
        match self {
            Arriving::Owned(item) => item,
            Arriving::Lent(lent) => copied(lent.frame()),
        }
    }
}

/// A lent frame kept: the socket did not take it at once, which seldom happens.
#[cold]
fn copied(frame: &[u8]) -> Outgoing {
    Outgoing::Frame(Bytes::copy_from_slice(frame))
}

/// The frame being sent when it is all that waits (see [`Backlog::lone_arriving`]).
pub(crate) enum Lone<'b, 'f> {
    Owned(&'b [u8]),
    Lent(&'b mut LentFrame<'f>),
}

impl Lone<'_, '_> {
    #[inline(always)]
    pub(crate) fn frame(&self) -> &[u8] {
        match self {
            Lone::Owned(frame) => frame,
            Lone::Lent(lent) => lent.frame(),
        }
    }
}

/// Room a sender may leave before a frame it lends: enough for any header a transport puts
/// before a frame (a WebSocket server frame's is at most ten bytes).
pub(crate) const LENT_FRAME_ROOM: usize = 10;

/// A data frame its sender lends for the call, in a buffer that may have room before it
/// (see [`LENT_FRAME_ROOM`]): a transport can write its own header there, and the two leave
/// as one piece rather than copied together.
#[derive(Debug)]
pub(crate) struct LentFrame<'f> {
    buffer: &'f mut [u8],
    start: usize,
}

impl<'f> LentFrame<'f> {
    /// The frame `buffer[start..]`; what comes before it may be written over.
    pub(crate) fn new(buffer: &'f mut [u8], start: usize) -> Self {
        assert!(start <= buffer.len(), "a frame starts within its buffer");
        Self { buffer, start }
    }

    #[inline(always)]
    pub(crate) fn frame(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// The frame's length.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        // `new` checked that the frame starts within the buffer.
        self.buffer.len() - self.start
    }

    /// The bytes free before the frame.
    #[inline(always)]
    pub(crate) fn room(&self) -> usize {
        self.start
    }

    /// The frame with a header written before it, as one piece: the header is
    /// `block[start..]`, and all of `block` (a fixed size, copied in a few moves) must fit
    /// the room.
    #[inline(always)]
    pub(crate) fn with_header<const N: usize>(&mut self, block: &[u8; N], start: usize) -> &[u8] {
        let at = self.start - N;
        self.buffer[at..self.start].copy_from_slice(block);
        &self.buffer[at + start..]
    }
}

/// An item as a [`Wire`] sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'i> {
    Queued(&'i Outgoing),
    /// A data frame lent by its sender.
    Lent(&'i [u8]),
}

impl<'i> Item<'i> {
    /// The payload of an item that is a frame.
    pub(crate) fn payload(self) -> Option<&'i [u8]> {
        match self {
            Item::Queued(
                Outgoing::Frame(bytes) | Outgoing::Control(bytes) | Outgoing::Paced(bytes, _),
            ) => Some(bytes),
            Item::Queued(Outgoing::Format(_) | Outgoing::Close) => None,
            Item::Lent(frame) => Some(frame),
        }
    }
}

/// The queued items as a [`Wire`] sees them: those in the queue, then the one being sent, if
/// any. An item sent to an empty queue is offered to the wire before it is queued, so that
/// the usual delivery, taken by the socket at once, never allocates the queue's storage.
pub(crate) struct Backlog<'a, 'f> {
    state: &'a mut State,
    buffer: usize,
    arriving: Option<Arriving<'f>>,
}

impl<'a, 'f> Backlog<'a, 'f> {
    fn new(state: &'a mut State, buffer: usize, arriving: Option<Arriving<'f>>) -> Self {
        Self {
            state,
            buffer,
            arriving,
        }
    }

    /// Queues what the wire did not take of the item being sent.
    #[inline]
    fn finish(self) {
        if let Some(item) = self.arriving {
            self.state.items.push_back(item.into_owned());
        }
    }

    /// What waits to be written, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Item<'_>> {
        let arriving = self.arriving.as_ref().map(|item| match item {
            Arriving::Owned(item) => Item::Queued(item),
            Arriving::Lent(lent) => Item::Lent(lent.frame()),
        });
        self.state.items.iter().map(Item::Queued).chain(arriving)
    }

    /// The frame being sent, when it is all that waits and none of it is written: the usual
    /// delivery to an idle socket, which a wire can write without walking the queue. As its
    /// sender gave it: a lent frame may have room for a header.
    pub(crate) fn lone_arriving(&mut self) -> Option<Lone<'_, 'f>> {
        if self.state.offset != 0 || !self.state.items.is_empty() {
            return None;
        }
        match self.arriving.as_mut()? {
            Arriving::Owned(item) => Item::Queued(item).payload().map(Lone::Owned),
            Arriving::Lent(lent) => Some(Lone::Lent(lent)),
        }
    }

    /// Whether the queue's text frames are known to be UTF-8 (see
    /// [`SendQueue::vouch_for_text`](super::SendQueue::vouch_for_text)).
    #[inline(always)]
    pub(crate) fn text_vouched(&self) -> bool {
        self.state.text_vouched
    }

    /// The oldest item waiting.
    pub(crate) fn front(&self) -> Option<Item<'_>> {
        self.iter().next()
    }

    /// How many items wait.
    pub(crate) fn len(&self) -> usize {
        self.state.items.len() + usize::from(self.arriving.is_some())
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the first item that are written already.
    pub(crate) fn offset(&self) -> usize {
        self.state.offset
    }

    /// The first `done` items are written whole, and `offset` bytes of the next.
    pub(crate) fn advance(&mut self, done: usize, offset: usize) {
        let state = &mut *self.state;
        let queued = done.min(state.items.len());
        // Most writes take the item being sent, from an empty queue: nothing to drain.
        if queued > 0 {
            for item in state.items.drain(..queued) {
                state.bytes -= item.len();
            }
        }
        if done > queued
            && let Some(item) = self.arriving.take()
        {
            state.bytes -= item.len();
        }
        // Progress is counted in items, as a writer that takes items one by one would.
        state.taken += done as u64;
        state.offset = offset;
        if state.bytes <= self.buffer {
            state.stalled = None;
        }
    }

    /// Drops every item not begun (the transport is closing) and refuses later ones.
    pub(crate) fn discard(&mut self) {
        let begun = self.state.offset > 0;
        let state = &mut *self.state;
        let keep = usize::from(begun).min(state.items.len());
        let mut dropped: usize = state.items.drain(keep..).map(|i| i.len()).sum();
        // The item being sent is kept only if it is the one begun.
        if !(begun && keep == 0)
            && let Some(item) = self.arriving.take()
        {
            dropped += item.len();
        }
        state.bytes -= dropped;
        state.refused = true;
    }

    /// Whether the transport is to close once the backlog is written: every sender is gone,
    /// or the receiver asked for it.
    pub(crate) fn ended(&self) -> bool {
        self.state.senders == 0 || self.state.ended
    }
}

/// Items a drained queue's storage may hold and still be kept for the next burst.
pub(super) const KEPT_FOR_THE_NEXT_BURST: usize = 8;

impl Shared {
    /// Runs the wire (taken out of `state` while it works) on what is queued and then
    /// `arriving` (counted in `state.bytes` already); Finished without one, Idle while the
    /// queue is held. What the wire does not take of `arriving` is queued. `burst`: what is
    /// written is a burst of deliveries, whose storage may be kept for the next.
    fn run_wire(
        &self,
        state: &mut State,
        cx: Option<&mut Context<'_>>,
        arriving: Option<Arriving<'_>>,
        burst: bool,
    ) -> WireStatus {
        let wire = if state.held { None } else { state.wire.take() };
        let Some(mut wire) = wire else {
            state.items.extend(arriving.map(Arriving::into_owned));
            // A held queue's wire writes once it is released.
            return if state.wire.is_some() {
                WireStatus::Idle
            } else {
                WireStatus::Finished
            };
        };
        let buffer = self.limits.buffer;
        let was_full = state.bytes >= buffer;
        let mut backlog = Backlog::new(state, buffer, arriving);
        let status = wire.write(&mut backlog, cx);
        backlog.finish();
        state.wire_blocked = status == WireStatus::Blocked;
        if status == WireStatus::Finished {
            // The socket's writing half goes now, whoever still holds the queue.
            state.receiver_gone = true;
            state.items.clear();
            state.bytes = 0;
        } else {
            state.wire = Some(wire);
        }
        if state.items.is_empty() {
            // Most connections are idle most of the time: an empty queue holds no memory. The
            // storage of a small burst just written is the exception, kept for the next
            // (broadcasts come in bursts); the next single write, a ping at the latest, finds
            // it unused and frees it.
            let keep = burst && state.items.capacity() <= KEPT_FOR_THE_NEXT_BURST;
            if state.items.capacity() > 0 && !keep {
                state.items = VecDeque::new();
            }
            state.offset = 0;
        }
        if was_full && state.bytes < buffer {
            self.room.notify_waiters();
        }
        status
    }

    /// After a change by anyone but the receiver: writes now, unless the receiver is already
    /// waiting for the socket, and wakes the receiver if anything is left for it.
    /// `arriving`, if any, is an item just sent (see [`Backlog`]).
    pub(super) fn write_or_wake(
        &self,
        mut state: MutexGuard<'_, State>,
        arriving: Option<Arriving<'_>>,
    ) {
        if state.wire_blocked {
            // The socket wakes the receiver when it takes more; it writes what came since.
            state.items.extend(arriving.map(Arriving::into_owned));
            return;
        }
        self.write_as_sender(state, arriving, false);
    }

    /// Writes what a fan-out queued (see [`FanOutWrites`](super::FanOutWrites)), as
    /// [`write_or_wake`](Self::write_or_wake) does.
    pub(super) fn write_burst(&self) {
        let state = self.lock();
        if !state.wire_blocked {
            self.write_as_sender(state, None, true);
        }
    }

    fn write_as_sender(
        &self,
        mut state: MutexGuard<'_, State>,
        arriving: Option<Arriving<'_>>,
        burst: bool,
    ) {
        let status = self.run_wire(&mut state, None, arriving, burst);
        drop(state);
        if status != WireStatus::Idle {
            self.wake_receiver();
        }
    }
}

impl QueueReceiver {
    /// Writes the queue through its wire. Unless it is `Finished`, the receiver is woken by the
    /// socket (`Blocked`) or by a change (`Idle`).
    pub(crate) fn poll_wire(&mut self, cx: &mut Context<'_>) -> WireStatus {
        // Registered before looking, so that a change right after the look wakes us.
        self.shared.receiver.register(cx.waker());
        // The task shares its wakes with the transport's reader: most find the wire idle and
        // nothing new for it, which the flag tells without the lock. A swap, not a store,
        // clears it: a change flagged meanwhile is seen under the lock or left for the next
        // wake.
        let changed = self.shared.changed.load(Ordering::Acquire)
            && self.shared.changed.swap(false, Ordering::AcqRel);
        if self.wire_idle && !changed {
            return WireStatus::Idle;
        }
        let mut state = self.shared.lock();
        let status = self.shared.run_wire(&mut state, Some(cx), None, true);
        self.wire_idle = status == WireStatus::Idle;
        status
    }

    /// Items the socket has taken so far.
    pub(crate) fn progress(&self) -> u64 {
        self.shared.lock().taken
    }

    /// A handle through which the transport's own reader reaches the wire.
    pub(crate) fn wire_handle(&self) -> WireHandle {
        WireHandle(Arc::clone(&self.shared))
    }
}

/// Reaches a queue's wire without counting as a sender.
#[derive(Debug)]
pub(crate) struct WireHandle(Arc<Shared>);

impl WireHandle {
    /// Asks the wire to close once everything queued is written, whatever senders remain.
    pub(crate) fn end(&self) {
        self.0.lock().ended = true;
        self.0.wake_receiver();
    }

    /// Runs `change` on the wire if it is a `W` (a frame of the transport's own, a close),
    /// then writes as a sender would.
    pub(crate) fn with_wire<W: Wire>(&self, change: impl FnOnce(&mut W, &mut Backlog<'_, '_>)) {
        let mut state = self.0.lock();
        let Some(mut wire) = state.wire.take() else {
            return;
        };
        if let Some(ours) = (&mut *wire as &mut dyn Any).downcast_mut::<W>() {
            let buffer = self.0.limits.buffer;
            change(ours, &mut Backlog::new(&mut state, buffer, None));
        }
        state.wire = Some(wire);
        self.0.write_or_wake(state, None);
        // Senders waiting for room see whether the change refused them.
        self.0.room.notify_waiters();
    }
}
