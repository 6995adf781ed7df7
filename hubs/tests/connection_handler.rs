//! A raw connection endpoint (`HubRouterExt::connection_handler`, ASP.NET Core's
//! `MapConnectionHandler`): negotiate and the transports without the hub protocol, bytes in and
//! out as the handler decides.

#[path = "support/echo.rs"]
mod echo;
mod support;

use std::time::Duration;

use echo::Echo;
use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use hubs::{ConnectionEndpoint, Transport};
use support::{post, request};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The long-poll timeout of `/quick-poll` (90 s by default).
const QUICK_POLL: Duration = Duration::from_millis(300);

async fn start() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .connection_handler("/echo", Echo { binary: false })
        .connection_handler(
            "/resumable-echo",
            ConnectionEndpoint::new(Echo { binary: false })
                .configure(|o| o.allow_stateful_reconnects = true),
        )
        .connection_handler(
            "/quick-poll",
            ConnectionEndpoint::new(Echo { binary: false })
                .configure(|o| o.long_poll_timeout = QUICK_POLL),
        )
        .connection_handler(
            "/binary-echo",
            ConnectionEndpoint::new(Echo { binary: true })
                .configure(|o| o.transports = vec![Transport::WebSockets]),
        );
    tokio::spawn(async move { hubs::serve(listener, app).await.unwrap() });
    address
}

async fn next(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Message {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the socket is open")
        .expect("a frame")
}

#[tokio::test]
async fn a_websocket_without_negotiate_gets_its_text_back_as_text_and_a_clean_close() {
    let address = start().await;
    let (mut socket, _) = connect_async(format!("ws://{address}/echo")).await.unwrap();
    socket.send(Message::text("message")).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("message"));
    // No hub protocol: bytes that are no handshake are echoed too.
    socket.send(Message::binary(&b"\x1e{}"[..])).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("\u{1e}{}"));
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    socket.close(Some(normal)).await.unwrap();
    match next(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a normal close, got {other:?}"),
    }
}

#[tokio::test]
async fn negotiate_offers_the_endpoints_transports_and_its_path_ignores_case() {
    let address = start().await;
    let response = post(address, "/ECHO/negotiate?negotiateVersion=1").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for transport in ["WebSockets", "ServerSentEvents", "LongPolling"] {
        assert!(response.contains(transport), "{transport}: {response}");
    }
    let response = post(address, "/binary-echo/negotiate?negotiateVersion=1").await;
    assert!(response.contains("WebSockets"), "{response}");
    assert!(!response.contains("LongPolling"), "{response}");

    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let negotiated: serde_json::Value = serde_json::from_str(body).unwrap();
    let token = negotiated["connectionToken"].as_str().unwrap();
    let url = format!("ws://{address}/Binary-Echo?id={token}");
    let (mut socket, _) = connect_async(url).await.unwrap();
    socket.send(Message::text("hi")).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::binary(&b"hi"[..]));
}

#[test]
#[should_panic(expected = "invalid connection endpoint \"/none\"")]
fn an_endpoint_without_transports_is_refused_when_mounted() {
    let endpoint =
        ConnectionEndpoint::new(Echo { binary: false }).configure(|o| o.transports.clear());
    let _ = axum::Router::<()>::new().connection_handler("/none", endpoint);
}

/// A handler's own frames are not vouched for, as a hub's are: a text frame that is not UTF-8
/// is dropped instead of sent (RFC 6455 §8.1 would have the client fail the connection), and
/// what follows goes out. Over a plain WebSocket and over one that negotiated stateful
/// reconnect, whose writer is its own.
#[tokio::test]
async fn a_text_frame_the_handler_writes_that_is_not_utf8_is_dropped_and_the_next_is_sent() {
    let address = start().await;
    let response = post(
        address,
        "/resumable-echo/negotiate?negotiateVersion=1&useStatefulReconnect=true",
    )
    .await;
    assert!(
        response.contains("\"useStatefulReconnect\":true"),
        "{response}"
    );
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let negotiated: serde_json::Value = serde_json::from_str(body).unwrap();
    let token = negotiated["connectionToken"].as_str().unwrap();
    for url in [
        format!("ws://{address}/echo"),
        format!("ws://{address}/resumable-echo?id={token}"),
    ] {
        let (mut socket, _) = connect_async(&url).await.unwrap();
        // Echoed as text, as every message of this handler is.
        socket.send(Message::binary(&b"a\xffb"[..])).await.unwrap();
        socket.send(Message::text("after")).await.unwrap();
        assert_eq!(next(&mut socket).await, Message::text("after"), "{url}");
        socket.send(Message::text("still open")).await.unwrap();
        assert_eq!(
            next(&mut socket).await,
            Message::text("still open"),
            "{url}"
        );
    }
}

/// A long poll with nothing to send is answered empty (200, no body) after the long-poll
/// timeout (ASP.NET Core's `LongPolling.PollTimeout`), and the connection lives on: the next
/// poll carries what was sent meanwhile.
#[tokio::test]
async fn a_long_poll_with_nothing_to_send_is_answered_empty_after_the_long_poll_timeout() {
    let address = start().await;
    let response = post(address, "/quick-poll/negotiate?negotiateVersion=1").await;
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let negotiated: serde_json::Value = serde_json::from_str(body).unwrap();
    let token = negotiated["connectionToken"].as_str().unwrap();
    let poll = format!("/quick-poll?id={token}");
    // The first poll starts the transport and is answered at once.
    let first = request(address, "GET", &poll, "").await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let asked = std::time::Instant::now();
    let empty = tokio::time::timeout(QUICK_POLL * 5, request(address, "GET", &poll, ""))
        .await
        .expect("an answer within five long-poll timeouts");
    assert!(
        asked.elapsed() >= QUICK_POLL,
        "answered after {:?}",
        asked.elapsed()
    );
    assert!(empty.starts_with("HTTP/1.1 200"), "{empty}");
    assert!(empty.ends_with("\r\n\r\n"), "an empty body: {empty}");

    let sent = request(address, "POST", &poll, "hi").await;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    let echoed = request(address, "GET", &poll, "").await;
    assert!(
        echoed.starts_with("HTTP/1.1 200") && echoed.ends_with("\r\n\r\nhi"),
        "{echoed}"
    );
}
