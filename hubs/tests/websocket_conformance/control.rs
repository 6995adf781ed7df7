//! Pings and pongs (Autobahn 2, RFC 6455 §5.5.2-3) and the rules every control frame follows
//! (§5.5: at most 125 bytes of payload, never fragmented).

use std::time::Duration;

use crate::client::{Frame, PONG, RawSocket, TEXT};
use crate::{TEXT_ECHO, fails_with, server};

#[tokio::test]
async fn a_ping_is_answered_by_a_pong_with_the_same_payload() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 2.1-2.4: empty, text, binary and 125-byte payloads.
    let binary: Vec<u8> = (0..=255u8).step_by(7).collect();
    let longest = vec![0xfe; 125];
    for payload in [&b""[..], b"Hello, world!", &binary, &longest] {
        socket.send(Frame::ping(payload)).await;
        socket.expect(PONG, payload).await;
    }
}

#[tokio::test]
async fn a_ping_arriving_byte_by_byte_is_answered() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 2.6: a 125-byte ping written one byte at a time.
    let payload = vec![b'*'; 125];
    socket.send_in_chunks(Frame::ping(payload.clone()), 1).await;
    socket.expect(PONG, &payload).await;
}

#[tokio::test]
async fn every_ping_of_a_burst_is_answered_in_order() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 2.10: ten pings in one write.
    let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into()).collect();
    socket
        .send_all(payloads.iter().cloned().map(Frame::ping))
        .await;
    for payload in &payloads {
        socket.expect(PONG, payload).await;
    }
}

#[tokio::test]
async fn an_unsolicited_pong_is_ignored() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 2.7-2.9: pongs nobody asked for, then a ping; only the ping is answered.
    socket
        .send_all([
            Frame::new(PONG, vec![]),
            Frame::new(PONG, &b"unsolicited"[..]),
            Frame::ping(&b"solicited"[..]),
            Frame::text(&b"still open"[..]),
        ])
        .await;
    socket.expect(PONG, b"solicited").await;
    socket.expect(TEXT, b"still open").await;
    socket.expect_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_fails_the_connection_with_1002() {
    let address = server().await;
    // Autobahn 2.5 (ping), 7.3.6 (close: a 2-byte code and a 124-byte reason).
    for frame in [
        Frame::ping(vec![b'x'; 126]),
        Frame::new(PONG, vec![b'x'; 126]),
        Frame::close(1000, &[b'x'; 124]),
    ] {
        fails_with(address, TEXT_ECHO, vec![frame], 1002).await;
    }
}

#[tokio::test]
async fn a_fragmented_control_frame_fails_the_connection_with_1002() {
    let address = server().await;
    // Autobahn 5.1, 5.2: a ping or pong split over a continuation; and a close the same way.
    for frame in [
        Frame::ping(&b"frag"[..]),
        Frame::new(PONG, &b"frag"[..]),
        Frame::close(1000, b""),
    ] {
        let frames = vec![frame.more(), Frame::continuation(&b"ment"[..])];
        fails_with(address, TEXT_ECHO, frames, 1002).await;
    }
}
