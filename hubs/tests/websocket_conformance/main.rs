#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! RFC 6455 conformance of the WebSocket transport, section by section as the Autobahn test
//! suite (crossbario/autobahn-testsuite) groups its cases: framing, pings and pongs, reserved
//! bits, opcodes, fragmentation, UTF-8, the close handshake and size limits. A raw TCP client
//! ([`client`]) writes every frame byte by byte, masked or not, whole or in pieces, and checks
//! every frame the server sends (unmasked, no reserved bits, shortest length form).
//!
//! The server is the real one (`hubs::serve`) with the endpoints applications mount: raw
//! connection endpoints that echo each message (Autobahn drives an echo server too), and a hub
//! for the limits the hub path must share. These tests are the safety net for replacing the
//! WebSocket library: each is named for the rule it proves.

mod client;
mod close;
mod control;
#[path = "../support/echo.rs"]
mod echo;
mod fragmentation;
mod framing;
mod limits;
mod reads;
mod stalls;
#[path = "../support/mod.rs"]
mod support;
mod utf8;

use std::net::SocketAddr;

use echo::Echo;
use hubs::prelude::*;
use hubs::{ConnectionEndpoint, ConnectionOptions, Transport};

/// A hub, for the limits its WebSocket path shares with raw endpoints.
struct Quiet;

#[hub]
impl Quiet {
    pub async fn echo(&self, text: String) -> String {
        text
    }

    /// Sends `text` back to the caller before it answers.
    pub async fn note(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        Ok(ctx.clients().caller().send("Note", (text,)).await?)
    }

    /// `text` `times` over: a large reply to a small call.
    pub async fn repeat(&self, text: String, times: usize) -> String {
        text.repeat(times)
    }

    /// Sends the caller `count` Notes, `pause_ms` apart.
    pub async fn tick(&self, ctx: &Context, count: usize, pause_ms: u64) -> Result<(), HubError> {
        for i in 0..count {
            ctx.clients()
                .caller()
                .send("Note", (i.to_string(),))
                .await?;
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        }
        Ok(())
    }

    /// Sends the caller `count` Notes of `size` bytes, pausing after the first (time for the
    /// connection to start writing it).
    pub async fn flood(&self, ctx: &Context, count: usize, size: usize) -> Result<(), HubError> {
        let note = "x".repeat(size);
        for i in 0..count {
            ctx.clients().caller().send("Note", (&note,)).await?;
            if i == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }
}

/// Paths of the test server.
const TEXT_ECHO: &str = "/echo";
const BINARY_ECHO: &str = "/binary-echo";
const HUB: &str = "/hub";
/// A hub that offers stateful reconnect (its WebSockets outlive a lost socket), keeping more
/// for replay than a test's replies fill.
const STATEFUL_HUB: &str = "/stateful";
const LARGE_REPLAY: usize = 8 * 1024 * 1024;
/// How long a Close of [`HUB`] and [`STATEFUL_HUB`] may take to leave (5 s by default).
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// How long [`STATEFUL_HUB`] waits for a client that lost its socket (15 s by default).
const DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The hub, closing a connection whose write takes longer than [`SHORT_SEND_TIMEOUT`] (10 s
/// by default).
const HUB_SHORT_SEND: &str = "/hub-short-send";
/// The stateful hub, giving up a socket whose write takes longer than [`SHORT_SEND_TIMEOUT`].
const STATEFUL_HUB_SHORT_SEND: &str = "/stateful-short-send";
const SHORT_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// The default transport limit on a frame and a message
/// (`ConnectionOptions::transport_max_message_size`), as `interop/test/attacks.test.mjs`
/// expects it.
const MAX_MESSAGE: usize = 1024 * 1024;

/// Starts a server with the default options on a free loopback port.
async fn server() -> SocketAddr {
    serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
}

/// Starts the server on sockets whose kernel send buffer is held at about `bytes` (Linux
/// otherwise grows it to megabytes): its writes then block as soon as the client stops
/// reading.
async fn server_with_send_buffer(bytes: u32) -> SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // Accepted sockets inherit the listener's buffer size.
    socket.set_send_buffer_size(bytes).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    serve(socket.listen(128).unwrap())
}

fn serve(listener: tokio::net::TcpListener) -> SocketAddr {
    let address = listener.local_addr().unwrap();
    let websockets = |handler| {
        ConnectionEndpoint::new(handler).configure(|o| o.transports = vec![Transport::WebSockets])
    };
    let app = axum::Router::new()
        .connection_handler(TEXT_ECHO, websockets(Echo { binary: false }))
        .connection_handler(BINARY_ECHO, websockets(Echo { binary: true }))
        .hub(
            HUB,
            HubEndpoint::builder(Quiet)
                .configure_connections(|c| c.close_timeout = CLOSE_TIMEOUT)
                .build(),
        )
        .hub(
            HUB_SHORT_SEND,
            HubEndpoint::builder(Quiet)
                .configure_connections(|c| c.transport_send_timeout = SHORT_SEND_TIMEOUT)
                .build(),
        )
        .hub(
            STATEFUL_HUB,
            stateful(|c| {
                c.close_timeout = CLOSE_TIMEOUT;
                c.disconnect_timeout = DISCONNECT_TIMEOUT;
            }),
        )
        .hub(
            STATEFUL_HUB_SHORT_SEND,
            stateful(|c| c.transport_send_timeout = SHORT_SEND_TIMEOUT),
        );
    tokio::spawn(async move { hubs::serve(listener, app).await.unwrap() });
    address
}

/// The quiet hub with stateful reconnect, keeping [`LARGE_REPLAY`] for replay, and what
/// `configure` sets.
fn stateful(configure: impl FnOnce(&mut ConnectionOptions)) -> HubEndpoint<Quiet> {
    HubEndpoint::builder(Quiet)
        .configure_connections(|c| {
            c.allow_stateful_reconnects = true;
            c.stateful_reconnect_buffer_size = LARGE_REPLAY;
            configure(c);
        })
        .build()
}

/// Sends `frames` (in one write) on a new socket to `path`; the server must fail the
/// connection with a Close of `code` and then close TCP.
async fn fails_with(address: SocketAddr, path: &str, frames: Vec<client::Frame>, code: u16) {
    let mut socket = client::RawSocket::open(address, path).await;
    socket.send_all(frames).await;
    socket.expect_close(code).await;
}
