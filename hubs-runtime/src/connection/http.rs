//! The transports that run over plain HTTP requests: Server-Sent Events (one long response for
//! server-to-client, POSTs for client-to-server) and Long Polling (repeated GETs, POSTs, and a
//! DELETE to close).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use tokio_util::sync::CancellationToken;

use super::body::read_body;
use super::shutdown::LiveGuard;
use super::{
    ConnectionHandler, Inbound, Outgoing, QueueLimits, QueueReceiver, RequestInfo, SendQueue,
    Transport, TransportConnection, TryRecvError,
};

/// A connection whose transport is SSE or Long Polling.
pub(super) struct HttpConnection {
    pub(super) transport: Transport,
    /// What POSTs deliver; `None` once the client closed with DELETE. A queue rather than a
    /// channel: it holds no memory while empty, as it is between a client's messages.
    inbound: Mutex<Option<SendQueue>>,
    /// What polls take (Long Polling only; an SSE response owns its receiver).
    outbound: tokio::sync::Mutex<Option<QueueReceiver>>,
    pub(super) abort: CancellationToken,
    polls: Mutex<Polls>,
    /// Long Polling: counts the transport as running until its last messages are taken (or
    /// the client left), so a shutdown waits for them.
    live: Mutex<Option<LiveGuard>>,
}

/// Long Polling's bookkeeping.
#[derive(Default)]
struct Polls {
    /// The poll being answered, by number; a newer one supersedes it.
    current: Option<(u64, CancellationToken)>,
    next_number: u64,
    /// When the last poll ended (`None` while one is waiting).
    idle_since: Option<Instant>,
    /// The application closed the connection; the next poll answers 204.
    closed: bool,
    /// The server is shutting down.
    stopping: bool,
}

/// How long a Long Polling client may have gone without polling, when the server shuts down,
/// to be waited for.
const GONE_AT_SHUTDOWN: Duration = Duration::from_secs(1);

/// How long a poll waits, during a shutdown, for the end that follows a Close message.
const CLOSE_FOLLOWS: Duration = Duration::from_millis(100);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The body of POSTs as a stream, for the layer above.
struct PostedBytes(QueueReceiver);

impl Stream for PostedBytes {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            return Poll::Ready(match ready!(self.0.poll_recv(cx)) {
                Some(Outgoing::Frame(bytes)) => Some(bytes),
                Some(_) => continue,
                None => None,
            });
        }
    }
}

/// The limits of what POSTs deliver: a POST waits while the application has the send buffer's
/// size unread (one body always fits), and nothing is refused.
fn posted_limits(queue_limits: QueueLimits) -> QueueLimits {
    QueueLimits {
        max_buffer: usize::MAX,
        drain_timeout: Duration::MAX,
        ..queue_limits
    }
}

/// Headers every poll and event stream carries so no proxy caches them.
fn no_cache(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The headers of every poll response.
fn poll_headers(response: &mut Response) {
    no_cache(response);
    response.headers_mut().insert(
        header::EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
}

impl HttpConnection {
    /// Starts the application for a connection whose first SSE or Long Polling request came.
    /// Returns the connection and, for SSE, the receiver its response streams from.
    pub(super) fn start(
        handler: Arc<dyn ConnectionHandler>,
        queue_limits: QueueLimits,
        transport: Transport,
        connection_id: Arc<str>,
        request: Arc<RequestInfo>,
        early_input: Vec<Bytes>,
        on_end: impl FnOnce() + Send + 'static,
    ) -> (Arc<Self>, Option<QueueReceiver>) {
        let (outbound, queue) = SendQueue::new(queue_limits);
        let (posted, received) = SendQueue::new(posted_limits(queue_limits));
        for bytes in early_input {
            // Never refused: these limits refuse nothing.
            let _ = posted.try_send(Outgoing::Frame(bytes));
        }
        let abort = CancellationToken::new();
        let long_polling = transport == Transport::LongPolling;
        let (stored, returned) = if long_polling {
            (Some(queue), None)
        } else {
            (None, Some(queue))
        };
        let connection = Arc::new(HttpConnection {
            transport,
            live: Mutex::new(None),
            inbound: Mutex::new(Some(posted)),
            outbound: tokio::sync::Mutex::new(stored),
            abort: abort.clone(),
            polls: Mutex::new(Polls {
                idle_since: Some(Instant::now()),
                ..Polls::default()
            }),
        });
        let transport_connection = TransportConnection {
            connection_id,
            request,
            // Long Polling carries bytes; EventSource only text.
            supports_binary: long_polling,
            // Neither side pings over Long Polling, so there is no client timeout either.
            keep_alive: !long_polling,
            inbound: Inbound::chunks(PostedBytes(received)),
            outbound,
            abort,
            resumable: None,
            quiet: None,
        };
        tokio::spawn(async move {
            handler.run(transport_connection).await;
            on_end();
        });
        (connection, returned)
    }

    /// `POST`: hands the body to the application.
    pub(super) async fn send(&self, body: Body, limit: usize) -> Response {
        let bytes = match read_body(body, limit).await {
            Ok(bytes) if bytes.is_empty() => return StatusCode::OK.into_response(),
            Ok(bytes) => bytes,
            Err(error) => return error.into_response(),
        };
        let sender = lock(&self.inbound).clone();
        match sender {
            Some(sender) if sender.send(Outgoing::Frame(bytes)).await.is_ok() => {
                StatusCode::OK.into_response()
            }
            _ => (StatusCode::NOT_FOUND, "No Connection with that ID").into_response(),
        }
    }

    /// `DELETE` (Long Polling): the client is leaving; the application sees its input end.
    pub(super) fn close_by_client(&self) -> Response {
        lock(&self.inbound).take();
        lock(&self.live).take();
        if let Some((_, poll)) = lock(&self.polls).current.take() {
            poll.cancel();
        }
        (StatusCode::ACCEPTED, "").into_response()
    }

    /// Long Polling: counts the transport as running until a poll has taken its end.
    pub(super) fn keep_live(&self, live: LiveGuard) {
        *lock(&self.live) = Some(live);
    }

    /// The server is shutting down: polls wait for the application's end (see `answer_poll`).
    /// A Long Polling client that has not polled for a while is not waited for: a live one
    /// polls again as soon as it has an answer.
    pub(super) fn stopping(&self) {
        lock(&self.polls).stopping = true;
        if self.idle_longer_than(GONE_AT_SHUTDOWN, Instant::now()) {
            lock(&self.live).take();
        }
    }

    /// Whether this is a Long Polling connection whose client stopped polling longer than
    /// `timeout` ago. Never true for SSE: its stream is alive for as long as its response is
    /// open, and polls are the only thing that would mark it active.
    pub(super) fn idle_longer_than(&self, timeout: Duration, now: Instant) -> bool {
        if self.transport != Transport::LongPolling {
            return false;
        }
        let polls = lock(&self.polls);
        polls.current.is_none()
            && polls
                .idle_since
                .is_some_and(|since| now.duration_since(since) >= timeout)
    }

    /// The first Long Polling request: answered at once, empty, which starts the client.
    pub(super) fn first_poll() -> Response {
        let mut response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::empty(),
        )
            .into_response();
        poll_headers(&mut response);
        response
    }

    /// A later Long Polling request: the queued messages, an empty 200 after `timeout`, or
    /// 204 once the connection is closed. Returns whether the connection is finished.
    pub(super) async fn poll(&self, timeout: Duration) -> (Response, bool) {
        let me = CancellationToken::new();
        let number = {
            let mut polls = lock(&self.polls);
            let number = polls.next_number;
            polls.next_number += 1;
            if let Some((_, previous)) = polls.current.replace((number, me.clone())) {
                previous.cancel();
            }
            polls.idle_since = None;
            number
        };
        let ended = PollEnded {
            connection: self,
            number,
        };
        let (response, finished) = self.answer_poll(&me, timeout).await;
        drop(ended);
        let mut response = response;
        poll_headers(&mut response);
        (response, finished)
    }

    async fn answer_poll(&self, me: &CancellationToken, timeout: Duration) -> (Response, bool) {
        let terminated = || {
            lock(&self.live).take();
            (StatusCode::NO_CONTENT.into_response(), true)
        };
        if lock(&self.polls).closed {
            return terminated();
        }
        let mut queue = tokio::select! {
            queue = self.outbound.lock() => queue,
            _ = me.cancelled() => return (StatusCode::NO_CONTENT.into_response(), false),
        };
        let Some(queue) = queue.as_mut() else {
            return terminated();
        };
        let first = tokio::select! {
            item = next_frame(queue) => item,
            _ = me.cancelled() => return (StatusCode::NO_CONTENT.into_response(), false),
            _ = tokio::time::sleep(timeout) => {
                let response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], Body::empty());
                return (response.into_response(), false);
            }
        };
        let Some(first) = first else {
            lock(&self.polls).closed = true;
            return terminated();
        };
        // Everything else already queued goes in the same response: whole messages only.
        let mut body = BytesMut::from(&first[..]);
        loop {
            let next = match queue.try_recv() {
                Ok(next) => Some(next),
                Err(TryRecvError::Disconnected) => None,
                // While the server shuts down, the application's end follows its Close
                // message at once: wait a moment for it, so that this poll ends the
                // connection instead of leaving the client one more poll to make.
                Err(TryRecvError::Empty) if lock(&self.polls).stopping => {
                    match tokio::time::timeout(CLOSE_FOLLOWS, queue.recv()).await {
                        Ok(next) => next,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Empty) => break,
            };
            match next {
                Some(
                    Outgoing::Frame(bytes) | Outgoing::Control(bytes) | Outgoing::Paced(bytes, _),
                ) => body.put_slice(&bytes),
                Some(Outgoing::Format(_)) => {}
                Some(Outgoing::Close) | None => {
                    lock(&self.polls).closed = true;
                    lock(&self.live).take();
                    break;
                }
            }
        }
        let mut response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            body.freeze(),
        )
            .into_response();
        response
            .headers_mut()
            .insert("Long-Running", HeaderValue::from_static("true"));
        (response, false)
    }
}

/// Marks a Long Polling connection idle when its poll ends, however it ends: answered, or
/// dropped by the server because its client went away mid-poll (else the connection would
/// count as polling for ever and never be swept).
struct PollEnded<'a> {
    connection: &'a HttpConnection,
    number: u64,
}

impl Drop for PollEnded<'_> {
    fn drop(&mut self) {
        let mut polls = lock(&self.connection.polls);
        // Only the newest poll marks the connection idle again.
        if polls
            .current
            .as_ref()
            .is_some_and(|(n, _)| *n == self.number)
        {
            polls.current = None;
            polls.idle_since = Some(Instant::now());
        }
    }
}

/// The next frame of `queue`, or `None` when the application closed.
async fn next_frame(queue: &mut QueueReceiver) -> Option<Bytes> {
    loop {
        match queue.recv().await? {
            Outgoing::Frame(bytes) | Outgoing::Control(bytes) | Outgoing::Paced(bytes, _) => {
                return Some(bytes);
            }
            Outgoing::Format(_) => {}
            Outgoing::Close => return None,
        }
    }
}

/// Cancels the connection when the SSE response is dropped: the client went away.
struct AbortOnDrop(CancellationToken);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One SSE event per frame: each line as `data: <line>`, then a blank line.
fn sse_event(frame: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(frame.len() + 16);
    for line in frame.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.put_slice(b"data: ");
        out.put_slice(line);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.freeze()
}

/// The SSE response: an opening comment, then an event per frame until the application
/// closes or the client leaves.
pub(super) fn event_stream(queue: QueueReceiver, abort: CancellationToken) -> Response {
    let guard = AbortOnDrop(abort.clone());
    let opening =
        futures_util::stream::once(async { Ok::<_, Infallible>(Bytes::from_static(b":\r\n")) });
    let events = futures_util::stream::unfold((queue, guard), |(mut queue, guard)| async move {
        let frame = tokio::select! {
            frame = next_frame(&mut queue) => frame?,
            _ = guard.0.cancelled() => return None,
        };
        Some((Ok::<_, Infallible>(sse_event(&frame)), (queue, guard)))
    });
    // Fused: a body polled again after its end (hyper never does) ends again rather than
    // panicking inside `unfold`.
    let events = futures_util::StreamExt::fuse(events);
    let body = Body::from_stream(futures_util::StreamExt::chain(opening, events));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    headers.insert("Long-Running", HeaderValue::from_static("true"));
    headers.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    no_cache(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use futures_util::future::BoxFuture;

    use super::*;
    use crate::connection::ConnectionOptions;

    /// An application that runs until its transport is aborted.
    struct UntilAborted;

    impl ConnectionHandler for UntilAborted {
        fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
            Box::pin(async move { connection.abort.cancelled().await })
        }
    }

    fn started(transport: Transport) -> Arc<HttpConnection> {
        let (connection, _events) = HttpConnection::start(
            Arc::new(UntilAborted),
            ConnectionOptions::default().queue_limits(),
            transport,
            Arc::from("id"),
            Arc::default(),
            Vec::new(),
            || {},
        );
        connection
    }

    #[tokio::test]
    async fn a_poll_dropped_mid_wait_leaves_the_connection_idle() {
        let polling = started(Transport::LongPolling);
        let waiting = polling.poll(Duration::from_secs(3600));
        let mut waiting = Box::pin(waiting);
        // Polled once, then dropped: what the server does when the client vanishes.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        let now = Instant::now();
        assert!(!polling.idle_longer_than(Duration::ZERO, now));
        drop(waiting);
        assert!(polling.idle_longer_than(Duration::ZERO, Instant::now()));
        polling.abort.cancel();
    }

    #[tokio::test]
    async fn only_long_polling_connections_idle_out() {
        let later = Instant::now() + Duration::from_secs(3600);
        let timeout = Duration::from_secs(15);
        let polling = started(Transport::LongPolling);
        assert!(polling.idle_longer_than(timeout, later));
        // An SSE stream never polls; its age is no sign of a client gone.
        let events = started(Transport::ServerSentEvents);
        assert!(!events.idle_longer_than(timeout, later));
        polling.abort.cancel();
        events.abort.cancel();
    }

    #[test]
    fn events_split_lines_and_drop_carriage_returns() {
        assert_eq!(
            &sse_event(b"{\"type\":6}\x1e")[..],
            b"data: {\"type\":6}\x1e\r\n\r\n"
        );
        assert_eq!(
            &sse_event(b"a\r\nb\nc")[..],
            b"data: a\r\ndata: b\r\ndata: c\r\n\r\n"
        );
    }
}
