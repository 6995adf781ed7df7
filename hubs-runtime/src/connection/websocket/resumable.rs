//! A WebSocket connection that negotiated stateful reconnect: its input and output outlive
//! any one socket, and a new socket resumes it within the disconnect timeout. One loop per
//! socket moves messages between it and the connection; writes go through [`SocketWriter`].

use std::future::{Future, poll_fn};
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::frame::{self, MAX_SERVER_HEADER, code};
use super::io::{Socket, WriteIo};
use super::read::{Event, FrameReader};
use crate::connection::{
    ConnectionHandler, ConnectionOptions, Inbound, Outgoing, QueueReceiver, Quiet, QuietWakes,
    RequestInfo, Resumable, SendQueue, TransferFormat, TransportConnection,
};

/// Bytes gathered before a write even while more messages are queued.
const BURST: usize = 64 * 1024;

/// What ended one socket of a resumable connection.
enum Pumped {
    /// The socket failed or closed abnormally: wait for the client to come back.
    Lost,
    /// The client came back on a new socket before the old one was seen to fail.
    Replaced(Box<Socket>),
    /// The connection is over (clean close, application done, abort).
    Ended,
}

/// Runs a connection that negotiated stateful reconnect; `reattach` brings its later sockets.
pub(in crate::connection) async fn run_resumable(
    first: Socket,
    mut reattach: mpsc::Receiver<Socket>,
    handler: Arc<dyn ConnectionHandler>,
    options: &ConnectionOptions,
    connection_id: Arc<str>,
    request: Arc<RequestInfo>,
) {
    let resumable = Arc::new(Resumable::new(options.stateful_reconnect_buffer_size));
    let (outbound, mut queue) = SendQueue::new(options.queue_limits());
    let (received, inbound) = mpsc::channel::<Bytes>(16);
    let abort = CancellationToken::new();
    let connection = TransportConnection {
        connection_id,
        request,
        supports_binary: true,
        keep_alive: true,
        inbound: Inbound::chunks(ReceiverStream(inbound)),
        outbound,
        abort: abort.clone(),
        resumable: Some(Arc::clone(&resumable)),
        quiet: None,
    };
    let together = handler.delimits_messages();
    let mut application = tokio::spawn(handler.run(connection));
    let mut format = TransferFormat::Text;
    let mut vouched = false;
    let mut next_socket = Some(first);
    let mut resumed = false;
    // A message for the application that its input has no room for yet.
    let mut held: Option<Bytes> = None;
    loop {
        let socket = match next_socket.take() {
            Some(socket) => socket,
            // Without replay (no version-2 handshake), a lost socket ends the connection.
            None if !resumable.is_active() => break,
            None => tokio::select! {
                socket = reattach.recv() => match socket {
                    Some(socket) => socket,
                    None => break,
                },
                _ = tokio::time::sleep(options.disconnect_timeout) => break,
                _ = abort.cancelled() => break,
                _ = &mut application => return,
            },
        };
        let Socket { read, write, early } = socket;
        let mut reader =
            FrameReader::new(read, early, options.transport_max_message_size, together);
        let mut writer = SocketWriter {
            io: write,
            buffer: Vec::new(),
            sent: 0,
            send_timeout: options.transport_send_timeout,
            close_timeout: options.close_timeout,
        };
        if resumed {
            // First the application drops any half message of the old socket: an empty
            // message, passed on before anything the new socket brings. It replaces a message
            // still held from the old socket, which the hub never counted as received, so the
            // client sends that one again. Then resend what was not acknowledged.
            held = Some(Bytes::new());
            // Checked again: the log may hold frames recorded before the queue was vouched for.
            for frame in resumable.replay() {
                writer.feed(format, &frame, false);
            }
            if !writer.flush().await {
                continue;
            }
        }
        resumed = true;
        let mut pump = Pump {
            writer: &mut writer,
            reader: &mut reader,
            queue: &mut queue,
            received: &received,
            held: &mut held,
            resumable: &resumable,
            format: &mut format,
            vouched: &mut vouched,
            abort: &abort,
        };
        match pump.run(&mut reattach).await {
            Pumped::Lost => tracing::debug!("socket lost; waiting for the client to resume"),
            Pumped::Replaced(socket) => next_socket = Some(*socket),
            Pumped::Ended => break,
        }
    }
    // The application sees its input end and finishes.
    drop(received);
    if tokio::time::timeout(options.close_timeout, &mut application)
        .await
        .is_err()
    {
        abort.cancel();
        application.abort();
    }
}

/// A wait of the pump's that rarely ends, ended.
enum Rare {
    Aborted,
    /// The client came back on a new socket, or (`None`) the connection is gone.
    Socket(Option<Socket>),
}

/// Moves messages between one socket and a resumable connection.
struct Pump<'a> {
    writer: &'a mut SocketWriter,
    reader: &'a mut FrameReader,
    queue: &'a mut QueueReceiver,
    received: &'a mpsc::Sender<Bytes>,
    /// While set, the socket is not read: the application is not taking its input (a call
    /// waits for a slot, say). Writing goes on meanwhile.
    held: &'a mut Option<Bytes>,
    resumable: &'a Resumable,
    format: &'a mut TransferFormat,
    /// The queue's text frames are known to be UTF-8: asked of the queue until it says so
    /// (a hub vouches before it queues anything; a `ConnectionHandler` of its own never does).
    vouched: &'a mut bool,
    abort: &'a CancellationToken,
}

impl Pump<'_> {
    /// Runs until the socket ends.
    async fn run(&mut self, reattach: &mut mpsc::Receiver<Socket>) -> Pumped {
        let cancelled = self.abort.cancelled();
        tokio::pin!(cancelled);
        let mut rare = RareWaits {
            gate: QuietWakes::default().gate(),
            cancelled,
            reattach,
        };
        loop {
            let room = self.resumable.has_room();
            tokio::select! {
                biased;
                ended = poll_fn(|cx| rare.poll(cx)) => return self.end(ended).await,
                event = poll_fn(|cx| self.reader.poll_event(cx)), if self.held.is_none() => match event {
                    Event::Message(bytes) => match self.received.try_send(bytes) {
                        Ok(()) => {}
                        Err(TrySendError::Full(bytes)) => *self.held = Some(bytes),
                        Err(TrySendError::Closed(_)) => return Pumped::Ended,
                    },
                    Event::Ping(payload) => {
                        self.writer.frame(frame::PONG, &payload);
                        if let Err(ended) = self.flush(&mut rare).await {
                            return ended;
                        }
                    }
                    // A clean close: the client is leaving, not reconnecting. Its Close is
                    // answered (RFC 6455 §5.5.1) with 1000, as ASP.NET Core answers, before
                    // the socket goes.
                    Event::Close(code) => {
                        tracing::debug!(code, "the client closed its WebSocket");
                        self.writer.close(code::NORMAL, "").await;
                        return Pumped::Ended;
                    }
                    // A client that broke the protocol is closed, not waited for.
                    Event::Fault(code, reason) => {
                        self.writer.close(code, reason).await;
                        return Pumped::Ended;
                    }
                    Event::Gone => return Pumped::Lost,
                },
                room_in = self.received.reserve(), if self.held.is_some() => match room_in {
                    Ok(room_in) => room_in.send(self.held.take().expect("a held message")),
                    Err(_) => return Pumped::Ended,
                },
                // While the replay log is full, leave messages queued until the client acknowledges.
                _ = self.resumable.wait_for_room(), if !room => {}
                item = self.queue.recv(), if room => {
                    let frame = match item {
                        Some(Outgoing::Frame(bytes) | Outgoing::Paced(bytes, _)) => {
                            self.resumable.record(&bytes);
                            bytes
                        }
                        Some(Outgoing::Control(bytes)) => bytes,
                        Some(Outgoing::Format(f)) => {
                            *self.format = f;
                            continue;
                        }
                        Some(Outgoing::Close) | None => {
                            self.writer.close(code::NORMAL, "").await;
                            return Pumped::Ended;
                        }
                    };
                    if !*self.vouched {
                        *self.vouched = self.queue.text_vouched();
                    }
                    self.writer.feed(*self.format, &frame, *self.vouched);
                    // Written when nothing else is ready to go with it, or before waiting for
                    // the client's acknowledgements, or when a burst grows large.
                    let last = self.queue.is_empty() || !self.resumable.has_room();
                    if (last || self.writer.buffer.len() >= BURST)
                        && let Err(ended) = self.flush(&mut rare).await
                    {
                        return ended;
                    }
                }
            }
        }
    }

    /// Writes what the writer gathered. A write that has to wait also ends at an abort or
    /// at the client's return on a new socket: a stuck socket is not waited for.
    async fn flush(&mut self, rare: &mut RareWaits<'_, '_>) -> Result<(), Pumped> {
        match self.writer.flush_unless(poll_fn(|cx| rare.poll(cx))).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Pumped::Lost),
            Err(ended) => Err(self.end(ended).await),
        }
    }

    /// What one of the rare waits ending makes of this socket. An abort is told to the
    /// client with a Close (1011) after what the socket has not yet taken, within the close
    /// timeout; a client back on a new socket has left this one.
    async fn end(&mut self, rare: Rare) -> Pumped {
        match rare {
            Rare::Aborted => {
                self.writer.close(code::ERROR, "connection aborted").await;
                Pumped::Ended
            }
            Rare::Socket(Some(socket)) => Pumped::Replaced(Box::new(socket)),
            Rare::Socket(None) => Pumped::Ended,
        }
    }
}

/// The waits of the pump that rarely end: an abort, and the client back on a new socket.
/// Polled only after one of them woke: polling them costs locks on every turn of the loop.
struct RareWaits<'a, 'b> {
    gate: Quiet,
    cancelled: Pin<&'a mut WaitForCancellationFuture<'b>>,
    reattach: &'a mut mpsc::Receiver<Socket>,
}

impl RareWaits<'_, '_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Rare> {
        let Self {
            gate,
            cancelled,
            reattach,
        } = self;
        gate.poll(cx, |cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Rare::Aborted);
            }
            reattach.poll_recv(cx).map(Rare::Socket)
        })
    }
}

/// The messages of a resumable connection, from whichever socket is current.
struct ReceiverStream(mpsc::Receiver<Bytes>);

impl Stream for ReceiverStream {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.0.poll_recv(cx)
    }
}

/// Writes frames to one socket of a resumable connection: gathered, then written together.
struct SocketWriter {
    io: WriteIo,
    buffer: Vec<u8>,
    /// How much of `buffer` the socket took: a write cut short goes on from there.
    sent: usize,
    send_timeout: Duration,
    close_timeout: Duration,
}

impl SocketWriter {
    /// Adds a message in `format`; a text message that is not UTF-8 is dropped, unless it is
    /// `vouched` for and so not checked again.
    fn feed(&mut self, format: TransferFormat, payload: &[u8], vouched: bool) {
        let opcode = match format {
            TransferFormat::Binary => frame::BINARY,
            TransferFormat::Text if vouched || crate::utf8::from_utf8(payload).is_ok() => {
                frame::TEXT
            }
            TransferFormat::Text => {
                tracing::error!("dropped a text frame that is not UTF-8");
                return;
            }
        };
        self.frame(opcode, payload);
    }

    /// Adds a frame of `opcode`.
    fn frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut header = [0; MAX_SERVER_HEADER];
        let start = frame::server_header(opcode, payload.len(), &mut header);
        self.buffer.extend_from_slice(&header[start..]);
        self.buffer.extend_from_slice(payload);
    }

    /// Writes what was added, within the send timeout; false when the socket is gone or stuck.
    async fn flush(&mut self) -> bool {
        self.flush_unless(std::future::pending::<Rare>())
            .await
            .unwrap_or(false)
    }

    /// As [`flush`](Self::flush), but a write that has to wait ends early when `rare` does.
    async fn flush_unless(&mut self, rare: impl Future<Output = Rare>) -> Result<bool, Rare> {
        let send_timeout = self.send_timeout;
        let write = self.write_all();
        tokio::pin!(write);
        // Most writes finish at once: the timer is set, and `rare` polled, only for one that
        // has to wait.
        if let Poll::Ready(done) = poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
            return Ok(done);
        }
        tokio::select! {
            biased;
            written = tokio::time::timeout(send_timeout, write) => {
                if written.is_err() {
                    tracing::warn!("a WebSocket write took longer than the transport send timeout");
                }
                Ok(matches!(written, Ok(true)))
            }
            ended = rare => Err(ended),
        }
    }

    async fn write_all(&mut self) -> bool {
        while self.sent < self.buffer.len() {
            let rest = [IoSlice::new(&self.buffer[self.sent..])];
            match poll_fn(|cx| self.io.poll_write(Some(cx), &rest)).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.sent += n,
            }
        }
        self.sent = 0;
        // Kept for the next burst unless it grew large.
        self.buffer.clear();
        if self.buffer.capacity() > 64 * 1024 {
            self.buffer = Vec::new();
        }
        poll_fn(|cx| self.io.poll_flush(Some(cx))).await.is_ok()
    }

    /// Sends a Close after what was added, and ends the sending direction; gives up after
    /// the close timeout, as a connection without stateful reconnect does.
    async fn close(&mut self, code: u16, reason: &'static str) {
        self.buffer
            .extend_from_slice(&frame::close_frame(code, reason));
        let close_timeout = self.close_timeout;
        let close = async {
            if self.flush().await {
                let _ = poll_fn(|cx| self.io.poll_shutdown(Some(cx))).await;
            }
        };
        let _ = tokio::time::timeout(close_timeout, close).await;
    }
}
