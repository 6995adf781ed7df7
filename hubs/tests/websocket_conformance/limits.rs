//! Size limits (Autobahn 9 in spirit, RFC 6455 §10.4): a frame or message over the transport
//! limit fails the connection with 1009, a frame as soon as its header announces it, before a
//! byte of its payload is buffered; the hub path has the same limit and code.

use std::net::SocketAddr;

use crate::client::{BINARY, Frame, RawSocket, TEXT, header_length};
use crate::{BINARY_ECHO, HUB, MAX_MESSAGE, TEXT_ECHO, server};

/// The header and mask key of a masked frame of `opcode` announcing `length` payload bytes,
/// without the payload.
fn header_only(opcode: u8, length: u64) -> Vec<u8> {
    let mut header = vec![0x80 | opcode];
    header.extend(header_length(0x80, length));
    header.extend([1, 2, 3, 4]);
    header
}

/// A socket on `path`, past the hub handshake where `path` is the hub's.
async fn open(address: SocketAddr, path: &str) -> RawSocket {
    if path == HUB {
        RawSocket::open_hub(address, path).await
    } else {
        RawSocket::open(address, path).await
    }
}

#[tokio::test]
async fn a_frame_announcing_more_than_the_limit_fails_on_its_header_with_1009() {
    let address = server().await;
    let over = MAX_MESSAGE as u64 + 1;
    // Just over, far over (interop's 15 MiB attack), and a 64-bit length with its most
    // significant bit set, which §5.2 forbids outright.
    for length in [over, 15 << 20, 1 << 63] {
        for (path, opcode) in [(TEXT_ECHO, TEXT), (BINARY_ECHO, BINARY), (HUB, TEXT)] {
            let mut socket = open(address, path).await;
            socket.send_bytes(&header_only(opcode, length)).await;
            socket.expect_close(1009).await;
        }
    }
}

#[tokio::test]
async fn a_message_of_exactly_the_limit_is_delivered_whole_or_in_fragments() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    let message: Vec<u8> = (0..MAX_MESSAGE).map(|i| (i % 251) as u8).collect();
    socket.send(Frame::binary(message.clone())).await;
    socket.expect(BINARY, &message).await;
    let quarter = MAX_MESSAGE / 4;
    let mut frames = vec![Frame::binary(&message[..quarter]).more()];
    for part in message[quarter..].chunks(quarter) {
        frames.push(Frame::continuation(part).more());
    }
    frames.push(Frame::continuation(vec![]));
    socket.send_all(frames).await;
    socket.expect(BINARY, &message).await;
}

#[tokio::test]
async fn a_fragmented_message_passing_the_limit_fails_with_1009() {
    let address = server().await;
    // interop's fragment attack: 512 KiB fragments; two make the limit, the third passes it.
    let fragment = vec![b'f'; 512 * 1024];
    for path in [TEXT_ECHO, HUB] {
        let mut socket = open(address, path).await;
        socket
            .send_all([
                Frame::text(fragment.clone()).more(),
                Frame::continuation(fragment.clone()).more(),
                Frame::continuation(fragment.clone()).more(),
            ])
            .await;
        socket.expect_close(1009).await;
    }
}
