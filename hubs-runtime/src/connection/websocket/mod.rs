//! The WebSockets transport, on our own RFC 6455 implementation: `handshake` upgrades the
//! request, `read` parses what the client sends, `wire` frames and writes what the connection
//! sends, from whichever task finds the socket free.
//!
//! A connection without stateful reconnect is one task: the application (which reads through
//! [`Messages`]) and, beside it, the part that finishes writes the socket did not take at once,
//! enforces the send timeout and closes. With stateful reconnect (`resumable`) the connection
//! outlives its sockets, and one loop moves messages between the current socket and the queue.

mod frame;
mod handshake;
mod io;
mod read;
mod resumable;
mod wire;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use self::frame::code;
use self::read::{Event, FrameReader, Lent};
use self::wire::WebSocketWire;
use super::queue::{QueueReceiver, WireHandle, WireStatus};
use super::quiet::OwnWaker;
use super::{
    Chunk, ConnectionHandler, ConnectionOptions, Inbound, Quiet, QuietWakes, RequestInfo,
    SendQueue, TransportConnection,
};

pub(crate) use handshake::Handshake;
pub(crate) use io::Socket;
#[doc(hidden)]
pub use read::{Event as FuzzEvent, FuzzParser};
pub(super) use resumable::run_resumable;

/// Frames a writer takes before its send timeout starts again (see [`Writer`]).
const FRAMES_PER_DEADLINE: u64 = 64;

/// The payloads of data messages until the client closes or the socket fails. Pings are
/// answered, and a Close or a fault is answered with a Close, through the wire.
pub(super) struct Messages {
    reader: FrameReader,
    wire: WireHandle,
}

impl Messages {
    /// The next message, handed to `lend` where it was read; `None` once the client is gone.
    #[inline]
    pub(super) fn poll_lend<R>(
        &mut self,
        cx: &mut Context<'_>,
        lend: &mut impl FnMut(Chunk<'_>) -> R,
    ) -> Poll<Option<R>> {
        loop {
            let event = match std::task::ready!(self.reader.poll_lend(cx, lend)) {
                Lent::Message(lent) => return Poll::Ready(Some(lent)),
                Lent::Other(event) => event,
            };
            let (code, reason) = match event {
                Event::Message(bytes) => return Poll::Ready(Some(lend(Chunk::Bytes(&bytes)))),
                Event::Ping(payload) => {
                    self.wire
                        .with_wire(|wire: &mut WebSocketWire, _| wire.pong(payload));
                    continue;
                }
                Event::Gone => {
                    self.wire
                        .with_wire(|wire: &mut WebSocketWire, backlog| wire.peer_gone(backlog));
                    return Poll::Ready(None);
                }
                // The client's Close is answered (§5.5.1) with 1000, as ASP.NET Core answers.
                Event::Close(code) => {
                    tracing::debug!(code, "the client closed its WebSocket");
                    (code::NORMAL, "")
                }
                Event::Fault(code, reason) => {
                    tracing::debug!(code, reason, "closing a WebSocket after a client fault");
                    (code, reason)
                }
            };
            self.wire
                .with_wire(|wire: &mut WebSocketWire, backlog| wire.close(code, reason, backlog));
            return Poll::Ready(None);
        }
    }
}

/// Runs a connection without stateful reconnect. The setup happens before the returned future,
/// so the future (which lives as long as the connection) keeps only what it still needs.
pub(super) fn run(
    socket: Socket,
    handler: Arc<dyn ConnectionHandler>,
    options: &ConnectionOptions,
    connection_id: Arc<str>,
    request: Arc<RequestInfo>,
) -> impl Future<Output = ()> + Send + use<> {
    let Socket { read, write, early } = socket;
    let abort = CancellationToken::new();
    let quiet = QuietWakes::default();
    let wire = Box::new(WebSocketWire::new(write, abort.clone()));
    let (outbound, queue) = SendQueue::with_wire(options.queue_limits(), wire);
    let messages = Messages {
        reader: FrameReader::new(
            read,
            early,
            options.transport_max_message_size,
            handler.delimits_messages(),
        ),
        wire: queue.wire_handle(),
    };
    let connection = TransportConnection {
        connection_id,
        request,
        supports_binary: true,
        keep_alive: true,
        inbound: Inbound::websocket(messages),
        outbound,
        abort: abort.clone(),
        resumable: None,
        // The writer is polled in the handler's task (see `Connection`).
        quiet: Some(quiet.clone()),
    };
    Connection {
        application: Some(handler.run(connection)),
        application_waker: OwnWaker::new(),
        application_quiet: 0,
        writer: Writer {
            wire: queue.wire_handle(),
            queue,
            aborted: abort.clone().cancelled_owned(),
            quiet: quiet.gate(),
            abort,
            aborting: false,
            send_timeout: options.transport_send_timeout,
            stalled: None,
        },
        writer_done: false,
        close_timeout: options.close_timeout,
        closing: None,
    }
}

pin_project_lite::pin_project! {
    /// A connection without stateful reconnect: the application and, beside it, the writer.
    /// The application is polled only after one of its own wakes, not for the writer's.
    /// Once the application is done, its last frames and the Close get the close timeout to
    /// leave. A struct rather than an `async` block: it lives as long as the connection, and
    /// an `async` block keeps room for every state it passes through. In declared order
    /// (`repr(C)`, here and in [`Writer`]): what every wake looks at comes first.
    #[repr(C)]
    struct Connection {
        application: Option<BoxFuture<'static, ()>>,
        application_waker: OwnWaker,
        // The count of quiet wakes when the application was last polled (see `poll`).
        application_quiet: u32,
        writer_done: bool,
        #[pin]
        writer: Writer,
        close_timeout: Duration,
        closing: Option<Pin<Box<Sleep>>>,
    }
}

impl Future for Connection {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if let Some(application) = this.application {
            // The application's quiet waits share their registration with the writer's: a
            // wake of theirs comes by whichever waker was registered last (the task's own
            // once the application is done), so the application is polled whenever the count
            // of quiet wakes moved.
            let quiet = this.writer.as_ref().get_ref().quiet.wakes();
            let polled = this
                .application_waker
                .poll(cx, quiet != *this.application_quiet, |cx| {
                    application.as_mut().poll(cx)
                });
            if let Some(done) = polled {
                *this.application_quiet = quiet;
                if done.is_ready() {
                    *this.application = None;
                    if !*this.writer_done {
                        this.writer.wire.end();
                    }
                }
            }
        }
        // The writer's quiet waits register the application's waker while it runs, the
        // waker the application's own quiet waits register: one waker kept, not the task's
        // and the application's replacing each other (a clone and a drop per message).
        let quiet_waker = match this.application {
            Some(_) => this.application_waker.waker(),
            None => None,
        };
        if !*this.writer_done && this.writer.as_mut().poll_waking(cx, quiet_waker).is_ready() {
            // The socket is closed or gone; the application (if still running) sees its
            // input end.
            *this.writer_done = true;
        }
        if this.application.is_some() {
            return Poll::Pending;
        }
        if *this.writer_done {
            return Poll::Ready(());
        }
        // The timer is made only when the last frames do not leave at once (a client that
        // is gone needs none).
        let closing = this
            .closing
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(*this.close_timeout)));
        if closing.as_mut().poll(cx).is_ready() {
            this.writer.abort.cancel();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// The part of a connection that writes what senders could not (the socket was full),
    /// closes, and gives up on a socket that takes nothing for the send timeout. Idle while
    /// senders find the socket free, which is most of the time.
    #[repr(C)]
    struct Writer {
        aborting: bool,
        quiet: Quiet,
        queue: QueueReceiver,
        // While the socket is full: the deadline, and the progress when it was set.
        stalled: Option<(Pin<Box<Sleep>>, u64)>,
        wire: WireHandle,
        abort: CancellationToken,
        // Waited for once, not per wake, so that a wake registers no new waiter; polled only
        // after it woke (see `Quiet`).
        #[pin]
        aborted: WaitForCancellationFutureOwned,
        send_timeout: Duration,
    }
}

impl Writer {
    /// Writes what is queued; `Ready` once the socket is closed or gone. `quiet_waker` (one
    /// that wakes this task; else the task's own) is woken when the writer's quiet waits end.
    fn poll_waking(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        quiet_waker: Option<&Waker>,
    ) -> Poll<()> {
        let mut this = self.project();
        if !*this.aborting
            && this
                .quiet
                .poll_waking(quiet_waker.unwrap_or(cx.waker()), |cx| {
                    this.aborted.as_mut().poll(cx)
                })
                .is_ready()
        {
            *this.aborting = true;
            this.wire.with_wire(|wire: &mut WebSocketWire, backlog| {
                wire.close(code::ERROR, "connection aborted", backlog);
            });
        }
        match this.queue.poll_wire(cx) {
            WireStatus::Finished => return Poll::Ready(()),
            WireStatus::Idle => {
                *this.stalled = None;
                return Poll::Pending;
            }
            WireStatus::Blocked => {}
        }
        // One deadline per burst of frames, as a writer flushing bursts would have.
        let progress = this.queue.progress();
        if this
            .stalled
            .as_ref()
            .is_none_or(|(_, since)| progress - since >= FRAMES_PER_DEADLINE)
        {
            *this.stalled = Some((Box::pin(tokio::time::sleep(*this.send_timeout)), progress));
        }
        let (deadline, _) = this.stalled.as_mut().expect("armed above");
        if deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        tracing::warn!("a WebSocket write took longer than the transport send timeout");
        this.abort.cancel();
        Poll::Ready(())
    }
}
