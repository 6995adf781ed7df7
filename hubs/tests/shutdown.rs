#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! Graceful shutdown and `HubContext::close_all`, on a real server on loopback: WebSocket
//! clients get a Close message and a normal close frame, SSE responses end, pending polls get
//! the Close message, `on_disconnected` runs for each connection, and the server's future
//! resolves soon, or by the shutdown timeout when a client never comes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

struct Counted {
    disconnected: Arc<AtomicUsize>,
}

#[hub]
impl Counted {
    pub async fn echo(&self, text: String) -> String {
        text
    }
    async fn on_disconnected(&self, _ctx: &Context, _error: Option<HubError>) {
        self.disconnected.fetch_add(1, Ordering::SeqCst);
    }
}

const HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
const CLOSE_RECONNECT: &str = "{\"type\":7,\"allowReconnect\":true}\u{1e}";
const CLOSE: &str = "{\"type\":7}\u{1e}";

struct Server {
    address: SocketAddr,
    disconnected: Arc<AtomicUsize>,
    context: HubContext<Counted>,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(shutdown_timeout: Duration) -> Server {
        let disconnected = Arc::new(AtomicUsize::new(0));
        let endpoint = HubEndpoint::new(Counted {
            disconnected: Arc::clone(&disconnected),
        });
        let context = endpoint.context();
        let app = axum::Router::new().hub("/hub", endpoint);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(
            hubs::serve(listener, app)
                .shutdown_timeout(shutdown_timeout)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Server {
            address,
            disconnected,
            context,
            stop: Some(stop),
            served,
        }
    }

    /// Signals the shutdown; resolves when the server's future does, with how long it took.
    async fn shut_down(&mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.served)
            .await
            .expect("the server shut down")
            .unwrap()
            .unwrap();
        started.elapsed()
    }

    fn disconnected(&self) -> usize {
        self.disconnected.load(Ordering::SeqCst)
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn websocket(address: SocketAddr) -> Socket {
    let (mut socket, _) = connect_async(format!("ws://{address}/hub")).await.unwrap();
    socket.send(Message::text(HANDSHAKE)).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "{}\u{1e}");
    socket
}

async fn next_text(socket: &mut Socket) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("no socket error");
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The Close message, then a close frame with the code 1000.
async fn expect_clean_close(socket: &mut Socket, close: &str) {
    assert_eq!(next_text(socket).await, close);
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a close frame in time");
    match frame {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a normal close frame, got {other:?}"),
    }
}

/// One HTTP/1.1 request on a new connection; the raw response, read until `until` appears
/// in it or the server closes.
async fn http(address: SocketAddr, head: &str, body: &str, until: Option<&str>) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{head} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(&mut stream, until).await
}

async fn read_response(stream: &mut TcpStream, until: Option<&str>) -> String {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("the response in time")
            .unwrap_or(0);
        if read == 0 {
            break;
        }
        seen.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&seen);
        let complete = match until {
            Some(needle) => text.contains(needle),
            None => response_complete(&text),
        };
        if complete {
            break;
        }
    }
    String::from_utf8(seen).unwrap()
}

/// Whether a response with a `content-length` has all its body.
fn response_complete(text: &str) -> bool {
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|l| l.trim().parse::<usize>().ok());
    length.is_some_and(|length| body.len() >= length) || head.starts_with("HTTP/1.1 204")
}

/// Negotiates; returns the connection token.
async fn negotiate(address: SocketAddr) -> String {
    let response = http(address, "POST /hub/negotiate?negotiateVersion=1", "", None).await;
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    body["connectionToken"].as_str().unwrap().to_owned()
}

/// An open Long Polling connection that has done its handshake; returns its token.
async fn long_polling(address: SocketAddr) -> String {
    let token = negotiate(address).await;
    let first = http(address, &format!("GET /hub?id={token}"), "", None).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let sent = http(address, &format!("POST /hub?id={token}"), HANDSHAKE, None).await;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    let reply = http(address, &format!("GET /hub?id={token}"), "", None).await;
    assert!(reply.ends_with("{}\u{1e}"), "{reply}");
    token
}

/// Starts a poll and waits until the server holds it.
async fn pending_poll(address: SocketAddr, token: &str) -> JoinHandle<String> {
    let head = format!("GET /hub?id={token}");
    let poll = tokio::spawn(async move { http(address, &head, "", None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    poll
}

#[tokio::test]
async fn websocket_clients_get_a_close_message_and_a_normal_close_frame() {
    let mut server = Server::start(Duration::from_secs(10)).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(websocket(server.address).await);
    }
    let took = server.shut_down().await;
    for socket in &mut sockets {
        expect_clean_close(socket, CLOSE_RECONNECT).await;
    }
    assert_eq!(server.disconnected(), 3);
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn sse_responses_end_and_pending_polls_get_the_close_message() {
    let mut server = Server::start(Duration::from_secs(10)).await;
    let address = server.address;

    let token = negotiate(address).await;
    let mut events = TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET /hub?id={token} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n");
    events.write_all(request.as_bytes()).await.unwrap();
    let opened = read_response(&mut events, Some(":\r\n")).await;
    assert!(opened.starts_with("HTTP/1.1 200"), "{opened}");
    let sent = http(address, &format!("POST /hub?id={token}"), HANDSHAKE, None).await;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    let handshake = read_response(&mut events, Some("data: {}")).await;
    assert!(handshake.contains("data: {}\u{1e}"), "{handshake}");

    let polling = long_polling(address).await;
    let poll = pending_poll(address, &polling).await;

    let took = server.shut_down().await;
    // The event stream carries the Close message, then ends (the last chunk of the body).
    let rest = read_response(&mut events, Some("0\r\n\r\n")).await;
    assert!(
        rest.contains(&format!("data: {CLOSE_RECONNECT}\r\n\r\n")),
        "{rest:?}"
    );
    assert!(
        rest.ends_with("0\r\n\r\n"),
        "the event stream did not end: {rest:?}"
    );
    let answered = poll.await.unwrap();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.ends_with(CLOSE_RECONNECT), "{answered}");
    assert_eq!(server.disconnected(), 2);
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn a_client_that_never_polls_again_holds_the_shutdown_only_until_its_timeout() {
    let mut server = Server::start(Duration::from_secs(2)).await;
    let address = server.address;
    // Handshake done, and no poll waiting: its Close message is never fetched.
    let _gone = long_polling(address).await;
    let stop = server.stop.take().unwrap();
    let started = Instant::now();
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Meanwhile requests are served, but no new connection is made.
    let refused = http(address, "POST /hub/negotiate?negotiateVersion=1", "", None).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    tokio::time::timeout(Duration::from_secs(5), &mut server.served)
        .await
        .expect("the shutdown timeout bounds the shutdown")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400), "took {took:?}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(server.disconnected(), 1);
}

#[tokio::test]
async fn close_all_closes_the_connections_of_now_and_lets_new_ones_in() {
    let mut server = Server::start(Duration::from_secs(10)).await;
    let mut first = websocket(server.address).await;
    let mut second = websocket(server.address).await;
    server.context.close_all(false);
    expect_clean_close(&mut first, CLOSE).await;
    expect_clean_close(&mut second, CLOSE).await;
    assert_eq!(server.disconnected(), 2);

    let mut later = websocket(server.address).await;
    let call =
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[\"hi\"]}\u{1e}";
    later.send(Message::text(call)).await.unwrap();
    let reply: Value =
        serde_json::from_str(next_text(&mut later).await.trim_end_matches('\u{1e}')).unwrap();
    assert_eq!(reply["result"], "hi");

    server.context.close_all(true);
    expect_clean_close(&mut later, CLOSE_RECONNECT).await;
    assert_eq!(server.disconnected(), 3);
    server.shut_down().await;
}

#[tokio::test]
async fn a_socket_still_to_send_its_handshake_does_not_hold_the_shutdown() {
    let mut server = Server::start(Duration::from_secs(10)).await;
    let (mut silent, _) = connect_async(format!("ws://{}/hub", server.address))
        .await
        .unwrap();
    let took = server.shut_down().await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    match tokio::time::timeout(Duration::from_secs(5), silent.next()).await {
        Ok(Some(Ok(Message::Close(Some(frame))))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a normal close frame, got {other:?}"),
    }
    // It never connected, so it never disconnects either.
    assert_eq!(server.disconnected(), 0);
}

#[tokio::test]
async fn a_long_polling_client_gone_for_a_while_is_not_waited_for() {
    let mut server = Server::start(Duration::from_secs(10)).await;
    let _gone = long_polling(server.address).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let took = server.shut_down().await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(server.disconnected(), 1);
}
