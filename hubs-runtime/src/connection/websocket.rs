//! The WebSockets transport: a reader stream for the layer above and a writer task draining the
//! connection's send queue into the socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    ConnectionHandler, ConnectionOptions, Outgoing, QueueReceiver, RequestInfo, Resumable,
    SendQueue, TransferFormat, TransportConnection,
};

/// Most frames written before one flush, so a burst becomes few syscalls.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// What the client did wrong, if anything, as the close code the socket ends with: a frame
/// over the size limit (1009), text that is not UTF-8 (1007), a protocol violation (1002).
/// Set by the reader, used by the writer when it closes.
#[derive(Clone, Default)]
struct PeerFault(Arc<AtomicU16>);

impl PeerFault {
    /// Records the fault behind a read error, and says whether there was one: other errors (a
    /// reset socket) are no fault of the client's.
    fn record(&self, error: axum::Error) -> bool {
        let code = match error.into_inner().downcast_ref::<tungstenite::Error>() {
            Some(tungstenite::Error::Capacity(_)) => close_code::SIZE,
            Some(tungstenite::Error::Utf8(_)) => close_code::INVALID,
            Some(tungstenite::Error::Protocol(_)) => close_code::PROTOCOL,
            _ => return false,
        };
        tracing::debug!(code, "closing a WebSocket after a client fault");
        self.0.store(code, Ordering::Relaxed);
        true
    }

    /// The close code and reason for a close that would otherwise be `code`.
    fn close_frame(&self, code: u16, reason: &'static str) -> (u16, &'static str) {
        match self.0.load(Ordering::Relaxed) {
            close_code::SIZE => (close_code::SIZE, "message too big"),
            close_code::INVALID => (close_code::INVALID, "text is not UTF-8"),
            close_code::PROTOCOL => (close_code::PROTOCOL, "protocol error"),
            _ => (code, reason),
        }
    }
}

/// The payloads of data frames until the client closes or the socket fails.
struct WebSocketInbound {
    stream: SplitStream<WebSocket>,
    fault: PeerFault,
}

impl Stream for WebSocketInbound {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            return Poll::Ready(match ready!(self.stream.poll_next_unpin(cx)) {
                // Empty chunks mean something else to the layer above (see `Inbound`).
                Some(Ok(Message::Text(text))) if text.is_empty() => continue,
                Some(Ok(Message::Binary(bytes))) if bytes.is_empty() => continue,
                Some(Ok(Message::Text(text))) => Some(Bytes::from(text)),
                Some(Ok(Message::Binary(bytes))) => Some(bytes),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Err(error)) => {
                    self.fault.record(error);
                    None
                }
                Some(Ok(Message::Close(_))) | None => None,
            });
        }
    }
}

/// Runs a connection without stateful reconnect. The setup happens before the returned future,
/// so the future (which lives as long as the connection) keeps only what it still needs.
pub(super) fn run(
    socket: WebSocket,
    handler: Arc<dyn ConnectionHandler>,
    options: &ConnectionOptions,
    connection_id: Arc<str>,
    request: Arc<RequestInfo>,
) -> impl Future<Output = ()> + Send + use<> {
    let (sink, stream) = socket.split();
    let (outbound, queue) = SendQueue::new(options.queue_limits());
    let abort = CancellationToken::new();
    let fault = PeerFault::default();
    let writer = Writer {
        sink,
        abort: abort.clone(),
        send_timeout: options.transport_send_timeout,
        fault: fault.clone(),
    };
    let mut writer = tokio::spawn(writer.run(queue));
    let connection = TransportConnection {
        connection_id,
        request,
        supports_binary: true,
        keep_alive: true,
        inbound: Box::pin(WebSocketInbound { stream, fault }),
        outbound,
        abort: abort.clone(),
        resumable: None,
    };
    let application = handler.run(connection);
    let close_timeout = options.close_timeout;
    async move {
        application.await;
        // The handler queued its last frames and a Close; give the writer time to deliver them.
        // Boxed: the timer would otherwise take room in the connection for its whole life.
        if Box::pin(tokio::time::timeout(close_timeout, &mut writer))
            .await
            .is_err()
        {
            abort.cancel();
            writer.abort();
        }
    }
}

/// What ended one socket of a resumable connection.
enum Pumped {
    /// The socket failed or closed abnormally: wait for the client to come back.
    Lost,
    /// The client came back on a new socket before the old one was seen to fail.
    Replaced(Box<WebSocket>),
    /// The connection is over (clean close, application done, abort).
    Ended,
}

/// A connection that negotiated stateful reconnect: its input and output outlive any one
/// socket, and a new socket (`reattach`) resumes it within the disconnect timeout.
pub(super) async fn run_resumable(
    first: WebSocket,
    mut reattach: mpsc::Receiver<WebSocket>,
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
        inbound: Box::pin(ReceiverStream(inbound)),
        outbound,
        abort: abort.clone(),
        resumable: Some(Arc::clone(&resumable)),
    };
    let mut application = tokio::spawn(handler.run(connection));
    let mut format = TransferFormat::Text;
    let mut next_socket = Some(first);
    let mut resumed = false;
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
        let (sink, stream) = socket.split();
        let mut writer = Writer {
            sink,
            abort: abort.clone(),
            send_timeout: options.transport_send_timeout,
            fault: PeerFault::default(),
        };
        if resumed {
            // Drop any half message of the old socket, then resend what was not acknowledged.
            if received.send(Bytes::new()).await.is_err() {
                break;
            }
            let mut replayed = true;
            for frame in resumable.replay() {
                if let Some(message) = to_message(format, frame) {
                    replayed &= writer.write(Operation::Feed(message)).await;
                }
            }
            if !(replayed && writer.write(Operation::Flush).await) {
                continue;
            }
        }
        resumed = true;
        let pumped = pump(
            &mut writer,
            stream,
            &mut queue,
            &received,
            &resumable,
            &mut format,
            &mut reattach,
        )
        .await;
        match pumped {
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

/// Moves messages between one socket and a resumable connection until the socket ends.
async fn pump(
    writer: &mut Writer,
    mut stream: SplitStream<WebSocket>,
    queue: &mut QueueReceiver,
    received: &mpsc::Sender<Bytes>,
    resumable: &Resumable,
    format: &mut TransferFormat,
    reattach: &mut mpsc::Receiver<WebSocket>,
) -> Pumped {
    loop {
        let room = resumable.has_room();
        tokio::select! {
            biased;
            _ = writer.abort.cancelled() => {
                writer.close(close_code::ERROR, "connection aborted").await;
                return Pumped::Ended;
            }
            socket = reattach.recv() => return socket.map_or(Pumped::Ended, |s| Pumped::Replaced(Box::new(s))),
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) if !text.is_empty() => {
                    if received.send(Bytes::from(text)).await.is_err() {
                        return Pumped::Ended;
                    }
                }
                Some(Ok(Message::Binary(bytes))) if !bytes.is_empty() => {
                    if received.send(bytes).await.is_err() {
                        return Pumped::Ended;
                    }
                }
                // A clean close: the client is leaving, not reconnecting. Its Close is
                // answered (RFC 6455 §5.5.1) before the socket goes.
                Some(Ok(Message::Close(_))) => {
                    writer.close(close_code::NORMAL, "").await;
                    return Pumped::Ended;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    // A client that broke the protocol is closed, not waited for.
                    if !writer.fault.record(error) {
                        return Pumped::Lost;
                    }
                    writer.close(close_code::NORMAL, "").await;
                    return Pumped::Ended;
                }
                None => return Pumped::Lost,
            },
            // While the replay log is full, leave messages queued until the client acknowledges.
            _ = resumable.wait_for_room(), if !room => {}
            item = queue.recv(), if room => {
                let frame = match item {
                    Some(Outgoing::Frame(bytes) | Outgoing::Paced(bytes, _)) => {
                        resumable.record(&bytes);
                        bytes
                    }
                    Some(Outgoing::Control(bytes)) => bytes,
                    Some(Outgoing::Format(f)) => {
                        *format = f;
                        continue;
                    }
                    Some(Outgoing::Close) | None => {
                        writer.close(close_code::NORMAL, "").await;
                        return Pumped::Ended;
                    }
                };
                let Some(message) = to_message(*format, frame) else { continue };
                if !writer.write(Operation::Feed(message)).await {
                    return Pumped::Lost;
                }
                if queue.is_empty() && !writer.write(Operation::Flush).await {
                    return Pumped::Lost;
                }
            }
        }
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

/// Drains a connection's send queue into its socket.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    abort: CancellationToken,
    send_timeout: Duration,
    /// Replaces the close code when the client broke the protocol.
    fault: PeerFault,
}

impl Writer {
    /// One socket operation, bounded by the send timeout; `false` when the socket is gone or
    /// stuck.
    async fn write(&mut self, operation: Operation) -> bool {
        let sink = &mut self.sink;
        let done = match operation {
            Operation::Feed(message) => {
                tokio::time::timeout(self.send_timeout, sink.feed(message)).await
            }
            Operation::Flush => tokio::time::timeout(self.send_timeout, sink.flush()).await,
        };
        if done.is_err() {
            tracing::warn!("a WebSocket write took longer than the transport send timeout");
        }
        matches!(done, Ok(Ok(())))
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let (code, reason) = self.fault.close_frame(code, reason);
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let closing = async {
            let _ = self.sink.send(Message::Close(Some(frame))).await;
            let _ = self.sink.close().await;
        };
        let _ = tokio::time::timeout(self.send_timeout, closing).await;
    }

    /// The writer task of a connection without stateful reconnect: a failed write ends it.
    async fn run(mut self, mut queue: QueueReceiver) {
        let mut format = TransferFormat::Text;
        // Waiting once, outside the loop, keeps each burst from registering a new waiter.
        let aborted = self.abort.clone().cancelled_owned();
        tokio::pin!(aborted);
        loop {
            let first = tokio::select! {
                biased;
                _ = &mut aborted => return self.close(close_code::ERROR, "connection aborted").await,
                next = queue.recv() => next,
            };
            let Some(first) = first else {
                return self.close(close_code::NORMAL, "").await;
            };
            let send_timeout = self.send_timeout;
            // One deadline for the whole burst rather than one per frame.
            let burst = self.write_burst(first, &mut queue, &mut format);
            let written = tokio::time::timeout(send_timeout, burst).await;
            match written {
                Ok(Burst::Written) => {}
                Ok(Burst::Close) => return self.close(close_code::NORMAL, "").await,
                Ok(Burst::Failed) => return self.abort.cancel(),
                Err(_) => {
                    tracing::warn!("a WebSocket write took longer than the transport send timeout");
                    return self.abort.cancel();
                }
            }
        }
    }

    /// Writes `first` and what else is queued (up to [`MAX_FRAMES_PER_FLUSH`]), then flushes.
    async fn write_burst(
        &mut self,
        first: Outgoing,
        queue: &mut QueueReceiver,
        format: &mut TransferFormat,
    ) -> Burst {
        let mut next = first;
        let mut written = 0;
        loop {
            match next {
                Outgoing::Frame(bytes) | Outgoing::Control(bytes) | Outgoing::Paced(bytes, _) => {
                    if let Some(message) = to_message(*format, bytes) {
                        if let Err(error) = self.sink.feed(message).await {
                            // The client's Close was read first: the library takes no more
                            // data, but the close handshake is still to be answered.
                            return if peer_closed(&error) {
                                Burst::Close
                            } else {
                                Burst::Failed
                            };
                        }
                        written += 1;
                    }
                }
                Outgoing::Format(f) => *format = f,
                Outgoing::Close => {
                    return match self.sink.flush().await {
                        Ok(()) => Burst::Close,
                        Err(_) => Burst::Failed,
                    };
                }
            }
            if written >= MAX_FRAMES_PER_FLUSH {
                break;
            }
            match queue.try_recv() {
                Ok(more) => next = more,
                Err(_) => break,
            }
        }
        match self.sink.flush().await {
            Ok(()) => Burst::Written,
            Err(_) => Burst::Failed,
        }
    }
}

/// Whether a write failed only because the client's Close frame was read before it.
fn peer_closed(error: &axum::Error) -> bool {
    let cause = std::error::Error::source(error).and_then(|e| e.downcast_ref());
    matches!(
        cause,
        Some(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SendAfterClosing
        ))
    )
}

/// How a burst of writes ended.
enum Burst {
    Written,
    /// The queue asked for a normal close after the burst.
    Close,
    Failed,
}

enum Operation {
    Feed(Message),
    Flush,
}

fn to_message(format: TransferFormat, bytes: Bytes) -> Option<Message> {
    match format {
        TransferFormat::Binary => Some(Message::Binary(bytes)),
        TransferFormat::Text => match Utf8Bytes::try_from(bytes) {
            Ok(text) => Some(Message::Text(text)),
            Err(_) => {
                tracing::error!("dropped a text frame that is not UTF-8");
                None
            }
        },
    }
}
