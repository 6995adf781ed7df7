//! The WebSockets transport, on our own RFC 6455 implementation: `handshake` upgrades the
//! request, `read` parses what the client sends, `wire` frames and writes what the connection
//! sends, from whichever task finds the socket free.
//!
//! A connection without stateful reconnect is one task: the application (which reads through
//! [`Inbound`]) and, beside it, the part that finishes writes the socket did not take at once,
//! enforces the send timeout and closes. With stateful reconnect (`resumable`) the connection
//! outlives its sockets, and one loop moves messages between the current socket and the queue.

mod frame;
mod handshake;
mod io;
mod read;
mod resumable;
mod wire;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio_util::sync::CancellationToken;

use self::frame::code;
use self::read::{Event, FrameReader};
use self::wire::WebSocketWire;
use super::queue::{QueueReceiver, WireHandle, WireStatus};
use super::{ConnectionHandler, ConnectionOptions, RequestInfo, SendQueue, TransportConnection};

pub(crate) use handshake::Handshake;
pub(crate) use io::Socket;
#[doc(hidden)]
pub use read::{Event as FuzzEvent, FuzzParser};
pub(super) use resumable::run_resumable;

/// Frames a writer takes before its send timeout starts again (see [`Writer`]).
const FRAMES_PER_DEADLINE: u64 = 64;

/// The payloads of data messages until the client closes or the socket fails. Pings are
/// answered, and a Close or a fault is answered with a Close, through the wire.
struct Inbound {
    reader: FrameReader,
    wire: WireHandle,
}

impl Stream for Inbound {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            let (code, reason) = match std::task::ready!(self.reader.poll_event(cx)) {
                Event::Message(bytes) => return Poll::Ready(Some(bytes)),
                Event::Ping(payload) => {
                    self.wire
                        .with_wire(|wire: &mut WebSocketWire, _| wire.pong(payload));
                    continue;
                }
                Event::Gone => return Poll::Ready(None),
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
    let wire = Box::new(WebSocketWire::new(write, abort.clone()));
    let (outbound, queue) = SendQueue::with_wire(options.queue_limits(), wire);
    let inbound = Inbound {
        reader: FrameReader::new(read, early, options.transport_max_message_size),
        wire: queue.wire_handle(),
    };
    let ending = queue.wire_handle();
    let writer = Writer {
        wire: queue.wire_handle(),
        queue,
        abort: abort.clone(),
        send_timeout: options.transport_send_timeout,
    };
    let connection = TransportConnection {
        connection_id,
        request,
        supports_binary: true,
        keep_alive: true,
        inbound: Box::pin(inbound),
        outbound,
        abort: abort.clone(),
        resumable: None,
    };
    let mut application = handler.run(connection);
    let close_timeout = options.close_timeout;
    async move {
        let writing = writer.run();
        tokio::pin!(writing);
        let application_first = tokio::select! {
            () = &mut application => true,
            () = &mut writing => false,
        };
        if !application_first {
            // The socket is closed or gone; the application sees its input end.
            return application.await;
        }
        // Its last frames and the Close are queued: give them time to leave. Boxed: the timer
        // would otherwise take room in the connection for its whole life.
        ending.end();
        if Box::pin(tokio::time::timeout(close_timeout, &mut writing))
            .await
            .is_err()
        {
            abort.cancel();
        }
    }
}

/// The part of a connection that writes what senders could not (the socket was full), closes,
/// and gives up on a socket that takes nothing for the send timeout. Idle while senders find
/// the socket free, which is most of the time.
struct Writer {
    queue: QueueReceiver,
    wire: WireHandle,
    abort: CancellationToken,
    send_timeout: Duration,
}

impl Writer {
    async fn run(mut self) {
        // Waiting once, outside the loop, keeps each wake from registering a new waiter.
        let aborted = self.abort.clone().cancelled_owned();
        tokio::pin!(aborted);
        let mut aborting = false;
        // While the socket is full: the deadline, and the progress when it was set.
        let mut stalled: Option<(Pin<Box<tokio::time::Sleep>>, u64)> = None;
        poll_fn(|cx| {
            if !aborting && aborted.as_mut().poll(cx).is_ready() {
                aborting = true;
                self.wire.with_wire(|wire: &mut WebSocketWire, backlog| {
                    wire.close(code::ERROR, "connection aborted", backlog);
                });
            }
            match self.queue.poll_wire(cx) {
                WireStatus::Finished => return Poll::Ready(()),
                WireStatus::Idle => {
                    stalled = None;
                    return Poll::Pending;
                }
                WireStatus::Blocked => {}
            }
            // One deadline per burst of frames, as a writer flushing bursts would have.
            let progress = self.queue.progress();
            if stalled
                .as_ref()
                .is_none_or(|(_, since)| progress - since >= FRAMES_PER_DEADLINE)
            {
                stalled = Some((Box::pin(tokio::time::sleep(self.send_timeout)), progress));
            }
            let (deadline, _) = stalled.as_mut().expect("armed above");
            if deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            tracing::warn!("a WebSocket write took longer than the transport send timeout");
            self.abort.cancel();
            Poll::Ready(())
        })
        .await;
    }
}
