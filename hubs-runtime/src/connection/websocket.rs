//! The WebSockets transport: a reader stream for the layer above and a writer task draining the
//! connection's send queue into the socket.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ConnectionHandler, ConnectionOptions, Outgoing, RequestInfo, TransportConnection};
use crate::protocol::TransferFormat;

/// Most frames written before one flush, so a burst becomes few syscalls.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// The payloads of data frames until the client closes or the socket fails.
struct WebSocketInbound(SplitStream<WebSocket>);

impl Stream for WebSocketInbound {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            return Poll::Ready(match ready!(self.0.poll_next_unpin(cx)) {
                Some(Ok(Message::Text(text))) => Some(Bytes::from(text)),
                Some(Ok(Message::Binary(bytes))) => Some(bytes),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => None,
            });
        }
    }
}

pub(super) async fn run(
    socket: WebSocket,
    handler: Arc<dyn ConnectionHandler>,
    options: &ConnectionOptions,
    connection_id: Arc<str>,
    request: Arc<RequestInfo>,
) {
    let (sink, stream) = socket.split();
    let (outbound, queue) = mpsc::channel(options.send_queue_capacity);
    let abort = CancellationToken::new();
    let writer = Writer {
        sink,
        abort: abort.clone(),
        send_timeout: options.transport_send_timeout,
    };
    let mut writer = tokio::spawn(writer.run(queue));
    let connection = TransportConnection {
        connection_id,
        request,
        supports_binary: true,
        keep_alive: true,
        inbound: Box::pin(WebSocketInbound(stream)),
        outbound,
        abort: abort.clone(),
    };
    handler.run(connection).await;
    // The handler queued its last frames and a Close; give the writer time to deliver them.
    if tokio::time::timeout(options.close_timeout, &mut writer)
        .await
        .is_err()
    {
        abort.cancel();
        writer.abort();
    }
}

/// Drains a connection's send queue into its socket.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    abort: CancellationToken,
    send_timeout: Duration,
}

impl Writer {
    /// One socket operation, bounded by the send timeout; `false` when the socket is gone or
    /// stuck, and then the connection is aborted.
    async fn write(&mut self, operation: Operation) -> bool {
        let sink = &mut self.sink;
        let done = match operation {
            Operation::Feed(message) => {
                tokio::time::timeout(self.send_timeout, sink.feed(message)).await
            }
            Operation::Flush => tokio::time::timeout(self.send_timeout, sink.flush()).await,
        };
        if matches!(done, Ok(Ok(()))) {
            return true;
        }
        if done.is_err() {
            tracing::warn!("a WebSocket write took longer than the transport send timeout");
        }
        self.abort.cancel();
        false
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
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

    async fn run(mut self, mut queue: mpsc::Receiver<Outgoing>) {
        let mut format = TransferFormat::Text;
        loop {
            let mut next = tokio::select! {
                biased;
                _ = self.abort.cancelled() => return self.close(close_code::ERROR, "connection aborted").await,
                next = queue.recv() => next,
            };
            let mut written = 0;
            loop {
                match next {
                    Some(Outgoing::Frame(bytes) | Outgoing::Paced(bytes, _)) => {
                        if let Some(message) = to_message(format, bytes) {
                            if !self.write(Operation::Feed(message)).await {
                                return;
                            }
                            written += 1;
                        }
                    }
                    Some(Outgoing::Format(f)) => format = f,
                    Some(Outgoing::Close) | None => {
                        return self.close(close_code::NORMAL, "").await;
                    }
                }
                if written >= MAX_FRAMES_PER_FLUSH {
                    break;
                }
                match queue.try_recv() {
                    Ok(more) => next = Some(more),
                    Err(_) => break,
                }
            }
            if !self.write(Operation::Flush).await {
                return;
            }
        }
    }
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
