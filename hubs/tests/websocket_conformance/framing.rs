//! The opening handshake (RFC 6455 §4.2), frame lengths (Autobahn 1), reserved bits
//! (Autobahn 3), opcodes (Autobahn 4) and masking (§5.1, §5.3).

use crate::client::{BINARY, Frame, RawSocket, TEXT, upgrade_request};
use crate::{BINARY_ECHO, TEXT_ECHO, fails_with, server};

#[tokio::test]
async fn the_upgrade_answers_101_with_the_accept_key_derived_from_the_client_key() {
    let address = server().await;
    let request = upgrade_request(TEXT_ECHO, "Sec-WebSocket-Version: 13\r\n");
    let (head, _) = RawSocket::request(address, &request).await;
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    // §1.3's example: key dGhlIHNhbXBsZSBub25jZQ== gives this accept value.
    for line in [
        "\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n",
        "\r\nupgrade: websocket\r\n",
        "\r\nconnection: upgrade\r\n",
    ] {
        assert!(head.contains(line), "{line:?} in {head}");
    }
}

#[tokio::test]
async fn an_unsupported_version_is_refused_with_the_version_the_server_speaks() {
    let address = server().await;
    let request = upgrade_request(TEXT_ECHO, "Sec-WebSocket-Version: 8\r\n");
    let (head, _) = RawSocket::request(address, &request).await;
    let head = head.to_ascii_lowercase();
    // §4.2.2: abort the handshake with an HTTP error (such as 426) and, per §4.4, say which
    // versions are understood.
    assert!(!head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("\r\nsec-websocket-version: 13\r\n"), "{head}");
}

/// Payload sizes at every boundary of the 7-, 16- and 64-bit length forms (Autobahn 1.1, 1.2).
const LENGTHS: [usize; 8] = [1, 125, 126, 127, 128, 65_535, 65_536, 300_000];

/// `len` bytes of every value (binary) or of printable ASCII (text).
fn payload(len: usize, text: bool) -> Vec<u8> {
    let modulus = if text { 95 } else { 256 };
    (0..len)
        .map(|i| (i % modulus) as u8 + if text { 32 } else { 0 })
        .collect()
}

#[tokio::test]
async fn messages_of_every_length_form_are_read_and_echoed_whole() {
    let address = server().await;
    for (path, opcode) in [(TEXT_ECHO, TEXT), (BINARY_ECHO, BINARY)] {
        let mut socket = RawSocket::open(address, path).await;
        for len in LENGTHS {
            let payload = payload(len, opcode == TEXT);
            socket.send(Frame::new(opcode, payload.clone())).await;
            // `expect` also checks the server's frame used the shortest length form.
            socket.expect(opcode, &payload).await;
        }
    }
}

#[tokio::test]
async fn a_frame_arriving_in_small_pieces_is_assembled() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    // Autobahn 1.1.8 / 1.2.8: 65,536 bytes written 997 at a time.
    let payload = payload(65_536, false);
    socket
        .send_in_chunks(Frame::binary(payload.clone()), 997)
        .await;
    socket.expect(BINARY, &payload).await;
    // A header split between its bytes.
    socket.send_in_chunks(Frame::binary(&b"tiny"[..]), 1).await;
    socket.expect(BINARY, b"tiny").await;
}

#[tokio::test]
async fn empty_messages_are_accepted_and_deliver_nothing() {
    let address = server().await;
    for (path, opcode) in [(TEXT_ECHO, TEXT), (BINARY_ECHO, BINARY)] {
        let mut socket = RawSocket::open(address, path).await;
        // An empty message carries no bytes for the application (the layer above reads a
        // stream of bytes), so nothing is echoed; the connection goes on.
        socket
            .send_all([
                Frame::new(opcode, vec![]),
                Frame::new(opcode, &b"after"[..]),
            ])
            .await;
        socket.expect(opcode, b"after").await;
    }
}

#[tokio::test]
async fn a_frame_with_any_reserved_bit_set_fails_the_connection_with_1002() {
    let address = server().await;
    // No extension is negotiated, so RSV1-3 must be 0 (§5.2); Autobahn 3.1-3.7 set each
    // combination on text, binary, ping and close frames, after a valid message.
    for bits in 1..=7 {
        for bad in [
            Frame::text(&b"bad"[..]),
            Frame::binary(&b"bad"[..]),
            Frame::ping(&b"bad"[..]),
            Frame::close(1000, b""),
        ] {
            let mut socket = RawSocket::open(address, TEXT_ECHO).await;
            socket
                .send_all([Frame::text(&b"good"[..]), bad.rsv(bits)])
                .await;
            socket.expect(TEXT, b"good").await;
            socket.expect_close(1002).await;
        }
    }
}

#[tokio::test]
async fn reserved_opcodes_fail_the_connection_with_1002() {
    let address = server().await;
    // Data opcodes 3-7 and control opcodes 11-15 (Autobahn 4.1, 4.2), with and without payload.
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        for payload in [&b""[..], b"reserved"] {
            let frames = vec![Frame::new(opcode, payload)];
            fails_with(address, TEXT_ECHO, frames, 1002).await;
        }
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_fails_the_connection_with_1002() {
    let address = server().await;
    // §5.1: a server MUST close the connection upon receiving an unmasked frame.
    for frame in [
        Frame::text(&b"plain"[..]),
        Frame::binary(&b"plain"[..]),
        Frame::ping(&b"plain"[..]),
        Frame::close(1000, b""),
        Frame::text(&b"first"[..]).more(),
    ] {
        fails_with(address, TEXT_ECHO, vec![frame.unmasked()], 1002).await;
    }
}
