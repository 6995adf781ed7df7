//! The read loop of one connection: its timer (the duties it wakes for are in `timers.rs`),
//! back-pressure while an invocation waits for a slot or an upload item for room, and message
//! handling, where the transport read the message (the kinds other than an invocation are in
//! `other_messages.rs`).

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;

use bytes::{Buf, BytesMut};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, sleep_until};

use crate::connection::{Chunk, QuietWakes, Resumable, TransportConnection};
use crate::hub::streams::UploadItem;
use crate::hub::{Context, Hub};
use crate::protocol::{HubMessage, Invocation, ProtocolError};
use crate::rare::rare;
use crate::telemetry;

use super::batch::Batch;
use super::close_all::Round;
use super::invoke::{Calls, Slot};
use super::timers::{self, ACK_INTERVAL, Timers};
use super::{End, HubDispatcher};

/// Per-connection state of the read loop.
pub(super) struct Reader<'a> {
    pub(super) context: &'a Context,
    pub(super) calls: Calls,
    pub(super) saw_ping: bool,
    /// Messages parsed since they were last counted in the metrics.
    parsed: u64,
    /// Numbering of the client's messages, with stateful reconnect. Boxed: only those
    /// connections have it, and the reader lives as long as the connection.
    pub(super) incoming: Option<Box<Incoming>>,
    /// An upload item waiting for room in its stream's buffer: what follows it is read once
    /// it has some, as in ASP.NET Core.
    pub(super) blocked: Option<Box<BlockedUpload>>,
}

impl Reader<'_> {
    /// Whether the client's messages wait unread: a call waits for a slot, or an upload item
    /// for room. The client timeout pauses meanwhile.
    fn paused(&self) -> bool {
        self.calls.waiting.is_some() || self.blocked.is_some()
    }
}

/// A deadline that never comes, for a timer with nothing to do.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365);

/// What woke the read loop's gated waits.
enum Woke {
    /// The transport's token: the transport went, or was dropped as too slow.
    TransportGone,
    /// Hub code asked to close ([`Context::abort`]).
    CloseRequested,
    /// Every connection of the endpoint closes.
    ClosingAll,
    /// The timer: a duty may be due.
    Due,
}

/// The client's side of stateful reconnect: which of its messages arrived.
pub(super) struct Incoming {
    pub(super) resumable: Arc<Resumable>,
    /// The highest sequence id processed.
    pub(super) received: u64,
    /// The id the next counted message carries.
    pub(super) next: u64,
    /// The highest id acknowledged to the client.
    acknowledged: u64,
}

impl Incoming {
    /// The highest id processed, when the client has not been told of it yet; it is told now.
    fn unacknowledged(&mut self) -> Option<u64> {
        (self.received > self.acknowledged).then(|| {
            self.acknowledged = self.received;
            self.received
        })
    }
}

impl<H: Hub> HubDispatcher<H> {
    /// The read loop until the connection ends. A function returning an `async` block rather
    /// than an `async fn`, which would keep a second copy of its arguments for the life of
    /// the connection.
    #[allow(clippy::manual_async_fn)] // on purpose: see above
    pub(super) fn read_loop<'a>(
        &'a self,
        transport: &'a mut TransportConnection,
        context: &'a Context,
        round: &'a Round,
        mut buffer: BytesMut,
    ) -> impl Future<Output = End> + Send + 'a {
        async move {
            let mut reader =
                Reader {
                    context,
                    calls: Calls::default(),
                    saw_ping: false,
                    parsed: 0,
                    blocked: None,
                    incoming: transport.resumable.as_ref().filter(|r| r.is_active()).map(
                        |resumable| {
                            Box::new(Incoming {
                                resumable: Arc::clone(resumable),
                                received: 0,
                                next: 1,
                                acknowledged: 0,
                            })
                        },
                    ),
                };
            // Long Polling has no keep-alive: neither pings nor a client timeout.
            let pings = transport.keep_alive;
            // Scoped: `now` would otherwise be kept in the future for the connection's life.
            let (mut timers, mut last_message, timer) = {
                let now = Instant::now();
                let timers = Timers {
                    keep_alive: self.options.keep_alive_interval,
                    next_ping: pings.then(|| now + self.options.keep_alive_interval),
                    sent_before_ping: reader.context.connection().last_sent(),
                    // With stateful reconnect, acknowledge what arrived about once a second.
                    next_ack: reader.incoming.is_some().then(|| now + ACK_INTERVAL),
                    client_timeout: self.options.client_timeout_interval,
                    timeout_armed: false,
                    expiring: transport
                        .request
                        .user
                        .clone()
                        .filter(|_| self.options.close_on_authentication_expiration),
                };
                // One timer for all three duties: idle connections cost one timer entry each.
                let timer = sleep_until(
                    timers
                        .next_due(now, reader.paused())
                        .unwrap_or(now + FAR_FUTURE),
                );
                (timers, now, timer)
            };
            tokio::pin!(timer);

            // Messages that came in the same chunk as the handshake.
            if let Err(end) = self.resume(&mut reader, &mut buffer) {
                return end;
            }
            // Waiting once, outside the loop, keeps each message from registering and removing a
            // waiter.
            let closing = transport.abort.clone().cancelled_owned();
            tokio::pin!(closing);
            // Shared by every connection of the endpoint: a close-all costs no task per connection.
            let closing_all = round.token.cancelled();
            tokio::pin!(closing_all);
            // Both are polled only after one of them woke (see `Quiet`).
            let mut quiet = transport
                .quiet
                .get_or_insert_with(QuietWakes::default)
                .gate();
            // The timer waits behind the same gate: polled once per wake, not per message.
            let mut timed = false;
            loop {
                let has_duty = timers.has_duty(reader.paused());
                if has_duty != timed {
                    timed = has_duty;
                    quiet.reopen();
                }
                // What the rare waits below need, taken out of `reader` beforehand: the first
                // branch borrows it while it reads.
                let slots = match reader.calls.waiting {
                    Some(_) => reader.calls.slots.clone(),
                    None => None,
                };
                let upload = reader
                    .blocked
                    .as_ref()
                    .map(|blocked| blocked.upload.clone());
                let paused = reader.paused();
                tokio::select! {
                    biased;
                    // What the client sent comes first: when there is some, the waits below
                    // are not polled at all, and a close is seen once the messages at hand are
                    // handled (as `Context::abort` says). Handled where the transport read it.
                    processed = poll_fn(|cx| transport.inbound.poll_lend(cx, |chunk| {
                        self.take_chunk(&mut reader, &mut buffer, chunk)
                    })), if !paused => {
                        let Some(processed) = processed else { return End::ClientClosed };
                        match processed {
                            Ok(0) => {}
                            Ok(_) => last_message = Instant::now(),
                            Err(end) => return end,
                        }
                        if buffer.is_empty() && buffer.capacity() > 16 * 1024 {
                            // Give back the memory of one large message.
                            buffer = BytesMut::new();
                        }
                        if reader.saw_ping && !timers.timeout_armed && pings {
                            // Clients that never ping are never timed out.
                            timers.timeout_armed = true;
                            if let Some(due) = timers.next_due(last_message, reader.paused()) {
                                timers::rearm(&mut quiet, timer.as_mut(), due);
                            }
                        }
                    }
                    woke = poll_fn(|cx| quiet.poll(cx, |cx| {
                        if closing.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(Woke::TransportGone);
                        }
                        if context.poll_abort_requested(cx).is_ready() {
                            return Poll::Ready(Woke::CloseRequested);
                        }
                        if closing_all.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(Woke::ClosingAll);
                        }
                        if timed && timer.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(Woke::Due);
                        }
                        Poll::Pending
                    })) => match woke {
                        Woke::ClosingAll => return End::ClosedByServer(round.allow_reconnect()),
                        Woke::TransportGone => return End::TransportGone,
                        Woke::CloseRequested => return End::CloseRequested,
                        Woke::Due => {
                            if let Some(end) = timers.run_duties(
                                reader.context.connection(),
                                last_message,
                                reader.paused(),
                                || reader.incoming.as_mut().and_then(|i| i.unacknowledged()),
                            ) {
                                return end;
                            }
                            if let Some(due) = timers.next_due(last_message, reader.paused()) {
                                timers::rearm(&mut quiet, timer.as_mut(), due);
                            }
                        }
                    },
                    // Boxed: rarely waited for, and its state would enlarge every read loop.
                    slot = async {
                        let slots = slots.expect("a call waits only for slots taken");
                        Box::pin(slots.acquire_owned()).await
                    },
                        if slots.is_some() => {
                        let slot = slot.expect("the invocation semaphore is never closed");
                        if let Some(call) = reader.calls.waiting.take() {
                            self.start(*call, Slot::Held(slot), &mut reader.calls.running);
                        }
                        last_message = Instant::now();
                        // Carry on with what was read before the loop stopped.
                        if let Err(end) = self.resume(&mut reader, &mut buffer) {
                            return end;
                        }
                    }
                    // Room is reserved rather than the item sent here: a wake of another branch
                    // drops this wait, and nothing is lost with it.
                    room = async {
                        Box::pin(upload.expect("an upload waits only when blocked").reserve_owned()).await
                    },
                        if upload.is_some() => {
                        if let Some(blocked) = reader.blocked.take() {
                            let BlockedUpload { item, stream, .. } = *blocked;
                            match (room, stream) {
                                (Ok(room), _) => {
                                    room.send(item);
                                }
                                // The method stopped reading its stream: forget it.
                                (Err(_), Some(stream)) => {
                                    reader.calls.uploads.remove(&stream);
                                }
                                (Err(_), None) => {}
                            }
                        }
                        last_message = Instant::now();
                        if let Err(end) = self.resume(&mut reader, &mut buffer) {
                            return end;
                        }
                    }
                }
            }
        }
    }

    /// Handles a chunk the client sent, where it lies when it starts with a whole message and
    /// nothing is left from before; keeps what it did not use (part of a message, or what
    /// follows a pause) in `buffer`. Returns the bytes of messages used.
    #[inline]
    fn take_chunk(
        &self,
        reader: &mut Reader<'_>,
        buffer: &mut BytesMut,
        chunk: Chunk<'_>,
    ) -> Result<usize, End> {
        let bytes = chunk.bytes();
        if bytes.is_empty() {
            // A new socket resumed the connection: a half message is gone for good.
            buffer.clear();
            return Ok(0);
        }
        let processed = if buffer.is_empty() {
            // The common case, a chunk of whole messages: read it where it lies.
            self.process_some(reader, chunk).inspect(|&used| {
                if let Some(rest) = bytes.get(used..).filter(|rest| !rest.is_empty()) {
                    buffer.extend_from_slice(rest);
                }
            })
        } else {
            // What the buffer holds is checked as a whole, as bytes: a text chunk's check
            // says nothing of what came before it.
            buffer.extend_from_slice(bytes);
            self.process_some(reader, Chunk::Bytes(buffer))
                .inspect(|&used| buffer.advance(used))
        };
        telemetry::received(std::mem::take(&mut reader.parsed), bytes.len());
        processed
    }

    /// Handles what the buffer holds: what came with the handshake, or what was read before
    /// the loop paused, once it may go on.
    fn resume(&self, reader: &mut Reader<'_>, buffer: &mut BytesMut) -> Result<(), End> {
        if !buffer.is_empty() {
            let used = self.process_some(reader, Chunk::Bytes(buffer))?;
            buffer.advance(used);
        }
        Ok(())
    }

    /// Handles whole messages at the start of `data` until they run out or the loop must
    /// pause (see [`Reader::paused`]); returns the bytes used.
    fn process_some(&self, reader: &mut Reader<'_>, data: Chunk<'_>) -> Result<usize, End> {
        let mut batch = Batch::default();
        let processed = self.process_messages(reader, data, &mut batch);
        batch.end(reader.context.connection());
        processed
    }

    /// [`process_some`](Self::process_some), with the replies to several messages of one read
    /// sent together (see [`Batch`]).
    fn process_messages(
        &self,
        reader: &mut Reader<'_>,
        data: Chunk<'_>,
        batch: &mut Batch,
    ) -> Result<usize, End> {
        // Borrowed for as long as the context, not from `reader`: no count taken per message.
        let context = reader.context;
        let connection = context.connection();
        let protocol = connection.protocol();
        let limit = self.options.maximum_receive_message_size;
        let len = data.bytes().len();
        let mut offset = 0;
        loop {
            // A frame usually holds one whole message: no need to look for another.
            if offset == len {
                return Ok(offset);
            }
            // Borrowed where it was returned: taking it apart moved the message (about 160
            // bytes) once more, and again to take the invocation out of it.
            let parsed = match data.after(offset) {
                Chunk::Text(text) => protocol.parse_text(text, limit),
                Chunk::Bytes(bytes) => protocol.parse(bytes, limit),
            };
            let (message, used) = match &parsed {
                Ok(Some((message, used))) => (message, *used),
                Ok(None) => return Ok(offset),
                Err(error) => return Err(unreadable(error)),
            };
            offset += used;
            reader.parsed += 1;
            batch.next_message(connection, offset < len);
            if let Some(incoming) = reader.incoming.as_mut() {
                let counted = matches!(
                    message,
                    HubMessage::Invocation(_)
                        | HubMessage::StreamInvocation(_)
                        | HubMessage::StreamItem { .. }
                        | HubMessage::Completion { .. }
                        | HubMessage::CancelInvocation { .. }
                );
                if counted {
                    let id = incoming.next;
                    incoming.next += 1;
                    if id <= incoming.received {
                        // Resent after a reconnect, and already handled.
                        continue;
                    }
                    incoming.received = id;
                }
            }
            match message {
                HubMessage::Invocation(invocation) => {
                    if self.call(reader, invocation, false) {
                        return Ok(offset);
                    }
                }
                message => {
                    // Invocations are most of what clients send: the other kinds are handled
                    // apart, so that an invocation's path is short.
                    rare();
                    if self.handle(reader, message)? {
                        return Ok(offset);
                    }
                }
            }
        }
    }

    /// Starts a call; whether reading pauses (it has no slot: what follows is read once it
    /// has one).
    #[inline(always)]
    pub(super) fn call(
        &self,
        reader: &mut Reader<'_>,
        invocation: &Invocation<'_>,
        streaming: bool,
    ) -> bool {
        self.invoke(reader.context, &mut reader.calls, invocation, streaming);
        reader.calls.waiting.is_some()
    }
}

/// How the connection ends on a message it cannot read.
#[cold]
fn unreadable(error: &ProtocolError) -> End {
    let kind = match error {
        ProtocolError::MessageTooLarge { .. } | ProtocolError::Malformed(_) => {
            "InvalidDataException"
        }
    };
    End::failed(kind, error.to_string())
}

/// An upload item that waits for room in its stream's buffer.
pub(super) struct BlockedUpload {
    pub(super) upload: mpsc::Sender<UploadItem>,
    pub(super) item: UploadItem,
    /// The stream's invocation id, to forget it if the method stopped reading.
    pub(super) stream: Option<String>,
}
