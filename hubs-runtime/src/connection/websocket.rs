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

use super::{ConnectionHandler, Outgoing, RequestInfo, TransportConnection};
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
    send_queue_capacity: usize,
    close_timeout: Duration,
    connection_id: Arc<str>,
    request: Arc<RequestInfo>,
) {
    let (sink, stream) = socket.split();
    let (outbound, queue) = mpsc::channel(send_queue_capacity);
    let abort = CancellationToken::new();
    let mut writer = tokio::spawn(write_loop(sink, queue, abort.clone()));
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
    if tokio::time::timeout(close_timeout, &mut writer)
        .await
        .is_err()
    {
        abort.cancel();
        writer.abort();
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outgoing>,
    abort: CancellationToken,
) {
    let mut format = TransferFormat::Text;
    loop {
        let next = tokio::select! {
            biased;
            _ = abort.cancelled() => {
                let frame = CloseFrame { code: close_code::ERROR, reason: Utf8Bytes::from_static("connection aborted") };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
            next = queue.recv() => next,
        };
        let mut next = next;
        let mut written = 0;
        loop {
            match next {
                Some(Outgoing::Frame(bytes) | Outgoing::Paced(bytes, _)) => {
                    if let Some(message) = to_message(format, bytes) {
                        if sink.feed(message).await.is_err() {
                            abort.cancel();
                            return;
                        }
                        written += 1;
                    }
                }
                Some(Outgoing::Format(f)) => format = f,
                Some(Outgoing::Close) | None => {
                    let frame = CloseFrame {
                        code: close_code::NORMAL,
                        reason: Utf8Bytes::default(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    let _ = sink.close().await;
                    return;
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
        if sink.flush().await.is_err() {
            abort.cancel();
            return;
        }
    }
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
