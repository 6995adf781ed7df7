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
#[path = "../support/mod.rs"]
mod support;
mod utf8;

use std::net::SocketAddr;

use echo::Echo;
use hubs::prelude::*;
use hubs::{ConnectionEndpoint, Transport};

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
}

/// Paths of the test server.
const TEXT_ECHO: &str = "/echo";
const BINARY_ECHO: &str = "/binary-echo";
const HUB: &str = "/hub";
/// A hub that offers stateful reconnect (its WebSockets outlive a lost socket).
const STATEFUL_HUB: &str = "/stateful";

/// The default transport limit on a frame and a message
/// (`ConnectionOptions::transport_max_message_size`), as `interop/test/attacks.test.mjs`
/// expects it.
const MAX_MESSAGE: usize = 1024 * 1024;

/// Starts a server with the default options on a free loopback port.
async fn server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let websockets = |handler| {
        ConnectionEndpoint::new(handler).configure(|o| o.transports = vec![Transport::WebSockets])
    };
    let app = axum::Router::new()
        .connection_handler(TEXT_ECHO, websockets(Echo { binary: false }))
        .connection_handler(BINARY_ECHO, websockets(Echo { binary: true }))
        .hub(HUB, Quiet)
        .hub(
            STATEFUL_HUB,
            HubEndpoint::builder(Quiet)
                .configure_connections(|c| c.allow_stateful_reconnects = true)
                .build(),
        );
    tokio::spawn(async move { hubs::serve(listener, app).await.unwrap() });
    address
}

/// Sends `frames` (in one write) on a new socket to `path`; the server must fail the
/// connection with a Close of `code` and then close TCP.
async fn fails_with(address: SocketAddr, path: &str, frames: Vec<client::Frame>, code: u16) {
    let mut socket = client::RawSocket::open(address, path).await;
    socket.send_all(frames).await;
    socket.expect_close(code).await;
}
