//! Stateful reconnect end to end, in process: a client negotiates `useStatefulReconnect`,
//! opens a real WebSocket (hyper serving the router over an in-memory duplex pipe, a
//! tungstenite client on the other end), shakes hands with version 2 (or 1), then sends
//! messages, Acks and Sequences with any ids, drops and replaces its socket, closes, and lets
//! virtual time pass (ack timer, disconnect timeout). This reaches the `Resumable` replay log
//! (recording, acknowledging, replaying, a full log holding senders back), the hub layer's
//! numbering of incoming messages, and the reattachment path of the dispatcher.
//!
//! Checked: every frame the server sends holds whole messages of the connection's protocol,
//! and a resumed socket starts with a Sequence message.
//!
//! The client's frames are tungstenite's and always well formed: the server's frame reader
//! has a target of its own (`websocket_frames`).
//!
//! Input layout (`hubs_fuzz::script`): an operation byte (mod 10), then its fields.
#![no_main]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hubs::Protocol;
use hubs_runtime::protocol::{HANDSHAKE_OK, HubMessage, SequenceMessage};
use hubs_fuzz::{hub, script::Script};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use libfuzzer_sys::fuzz_target;
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

/// Virtual time any one step may take.
const STEP_TIMEOUT: Duration = Duration::from_millis(200);
const MAX_OPERATIONS: usize = 32;

type Socket = WebSocketStream<DuplexStream>;

/// The client's side of one connection.
struct Client {
    router: Router,
    token: Option<String>,
    protocol: Protocol,
    socket: Option<Socket>,
    /// A Sequence must be the first message of the current socket.
    expect_sequence: bool,
    /// The handshake asked for version 2 and was accepted.
    resumable: bool,
    next_invocation: u64,
}

fuzz_target!(|data: &[u8]| {
    hubs_fuzz::run_paused(run(Script::new(data)));
});

async fn run(mut script: Script<'_>) {
    let mut client = Client {
        router: hub::stateful_router(),
        token: None,
        protocol: Protocol::Json,
        socket: None,
        expect_sequence: false,
        resumable: false,
        next_invocation: 0,
    };
    for _ in 0..MAX_OPERATIONS {
        if script.is_done() {
            break;
        }
        match script.byte() % 10 {
            0 => client.connect(script.byte()).await,
            1 => client.send(script.message()).await,
            2 => {
                client
                    .send_sequence_message(SequenceMessage::Ack, script.byte())
                    .await
            }
            3 => {
                let id = script.byte();
                client
                    .send_sequence_message(SequenceMessage::Sequence, id)
                    .await
            }
            4 => client.read().await,
            // Dropped without a close: the connection waits for the client to come back.
            5 => client.socket = None,
            6 => client.reconnect().await,
            7 => {
                if let Some(mut socket) = client.socket.take() {
                    let _ = tokio::time::timeout(STEP_TIMEOUT, socket.close(None)).await;
                }
            }
            8 => tokio::time::sleep(Duration::from_millis(u64::from(script.byte()) * 250)).await,
            _ => {
                let text = String::from_utf8_lossy(script.bytes()).into_owned();
                let id = client.next_invocation.to_string();
                client.next_invocation += 1;
                let message = client
                    .protocol
                    .write_invocation(Some(&id), "Echo", &(text,))
                    .expect("a string serializes");
                client.send(message.to_vec()).await;
            }
        }
    }
}

/// An id byte as a sequence id: small ones as they are, the top ones near `u64::MAX`.
fn sequence_id(byte: u8) -> u64 {
    match byte {
        0..0xf0 => u64::from(byte),
        _ => u64::MAX - u64::from(byte - 0xf0),
    }
}

impl Client {
    /// A new connection: negotiate, a socket, the handshake (protocol from bit 0, version 1
    /// when bit 1 is set, else 2).
    async fn connect(&mut self, choice: u8) {
        self.socket = None;
        self.protocol = Protocol::ALL[usize::from(choice & 1)];
        let version = if choice & 2 == 0 { 2 } else { 1 };
        let request = Request::builder()
            .method(Method::POST)
            .uri("/hub/negotiate?negotiateVersion=1&useStatefulReconnect=true")
            .body(Body::empty())
            .expect("a request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let reply: serde_json::Value = serde_json::from_slice(&body).expect("negotiate JSON");
        assert_eq!(reply["useStatefulReconnect"], true);
        self.token = reply["connectionToken"].as_str().map(str::to_string);
        self.expect_sequence = false;
        self.resumable = false;
        self.socket = self.open_socket().await;
        let handshake = format!(
            "{{\"protocol\":\"{}\",\"version\":{version}}}\x1e",
            self.protocol.name()
        );
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        if socket.send(Message::text(handshake)).await.is_err() {
            return;
        }
        if let Ok(Some(Ok(reply))) = tokio::time::timeout(STEP_TIMEOUT, socket.next()).await
            && let Some(rest) = reply.into_data().strip_prefix(HANDSHAKE_OK)
        {
            self.resumable = version == 2;
            check_frame(self.protocol, rest);
        }
    }

    /// A new socket for the same connection, with no handshake.
    async fn reconnect(&mut self) {
        self.socket = None;
        self.socket = self.open_socket().await;
        self.expect_sequence = self.socket.is_some() && self.resumable;
    }

    /// A WebSocket to `/hub?id={token}` over an in-memory pipe.
    async fn open_socket(&self) -> Option<Socket> {
        let token = self.token.as_deref()?;
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let service = TowerToHyperService::new(self.router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server_io), service)
                .with_upgrades();
            let _ = connection.await;
        });
        let url = format!("ws://localhost/hub?id={token}");
        let handshake = tokio_tungstenite::client_async(url, client_io);
        let (socket, _) = tokio::time::timeout(STEP_TIMEOUT, handshake)
            .await
            .ok()?
            .ok()?;
        Some(socket)
    }

    /// Sends bytes in the frame type of the protocol (text for JSON, binary for MessagePack).
    async fn send(&mut self, bytes: Vec<u8>) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let message = match self.protocol {
            Protocol::Json => match String::from_utf8(bytes) {
                Ok(text) => Message::text(text),
                Err(bytes) => Message::binary(bytes.into_bytes()),
            },
            _ => Message::binary(bytes),
        };
        if tokio::time::timeout(STEP_TIMEOUT, socket.send(message))
            .await
            .is_err()
        {
            self.socket = None;
        }
    }

    async fn send_sequence_message(&mut self, kind: SequenceMessage, id: u8) {
        let message = self.protocol.write_sequence_message(kind, sequence_id(id));
        self.send(message.to_vec()).await;
    }

    /// Reads what the server sent, checking each frame.
    async fn read(&mut self) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        for _ in 0..8 {
            let message = match tokio::time::timeout(STEP_TIMEOUT, socket.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(_) => {
                    self.socket = None;
                    return;
                }
                Err(_) => return,
            };
            if !(message.is_text() || message.is_binary()) {
                continue;
            }
            let data = message.into_data();
            if std::mem::take(&mut self.expect_sequence) {
                let first = self.protocol.parse(&data, None);
                assert!(
                    matches!(first, Ok(Some((HubMessage::Sequence { .. }, _)))),
                    "a resumed socket started with {first:?}"
                );
            }
            check_frame(self.protocol, &data);
        }
    }
}

/// A frame from the server holds whole, valid messages only (clients reject anything else).
fn check_frame(protocol: Protocol, mut frame: &[u8]) {
    while !frame.is_empty() {
        match protocol.parse(frame, None) {
            Ok(Some((_, used))) => frame = &frame[used..],
            other => panic!("the server sent {frame:?}, which reads as {other:?}"),
        }
    }
}
