//! Fragmented messages (Autobahn 5, RFC 6455 §5.4): continuations, control frames between
//! fragments, and the orders of frames that are protocol errors.

use crate::client::{BINARY, Frame, PONG, RawSocket, TEXT};
use crate::{BINARY_ECHO, TEXT_ECHO, fails_with, server};

#[tokio::test]
async fn fragments_are_delivered_as_one_message() {
    let address = server().await;
    // Autobahn 5.3-5.5: two fragments, in one write and in separate writes.
    for (path, opcode) in [(TEXT_ECHO, TEXT), (BINARY_ECHO, BINARY)] {
        let mut socket = RawSocket::open(address, path).await;
        socket
            .send_all([
                Frame::new(opcode, &b"frag"[..]).more(),
                Frame::continuation(&b"ment1"[..]),
            ])
            .await;
        socket.expect(opcode, b"fragment1").await;
        socket.send(Frame::new(opcode, &b"frag"[..]).more()).await;
        socket.send(Frame::continuation(&b"ment"[..]).more()).await;
        socket.send(Frame::continuation(&b"2"[..])).await;
        socket.expect(opcode, b"fragment2").await;
    }
}

#[tokio::test]
async fn a_message_may_be_split_into_many_small_and_empty_fragments() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    // Autobahn 5.x with one byte per fragment, and empty first, middle and last fragments.
    let message: Vec<u8> = (0..200u8).collect();
    let mut frames = vec![Frame::binary(vec![]).more()];
    for byte in &message {
        frames.push(Frame::continuation(vec![*byte]).more());
        frames.push(Frame::continuation(vec![]).more());
    }
    frames.push(Frame::continuation(vec![]));
    socket.send_all(frames).await;
    socket.expect(BINARY, &message).await;
}

#[tokio::test]
async fn pings_between_fragments_are_answered_before_the_message() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 5.6-5.8 (and 5.19-5.20 with several): control frames may be injected in the
    // middle of a fragmented message (§5.4).
    socket
        .send_all([
            Frame::text(&b"one "[..]).more(),
            Frame::ping(&b"first"[..]),
            Frame::continuation(&b"two "[..]).more(),
            Frame::new(PONG, &b"unsolicited"[..]),
            Frame::ping(&b"second"[..]),
            Frame::continuation(&b"three"[..]),
        ])
        .await;
    socket.expect(PONG, b"first").await;
    socket.expect(PONG, b"second").await;
    socket.expect(TEXT, b"one two three").await;
    // The same with each frame in its own write.
    socket.send(Frame::text(&b"four "[..]).more()).await;
    socket.send(Frame::ping(&b"third"[..])).await;
    socket.expect(PONG, b"third").await;
    socket.send(Frame::continuation(&b"five"[..])).await;
    socket.expect(TEXT, b"four five").await;
}

#[tokio::test]
async fn a_continuation_without_a_message_to_continue_fails_the_connection_with_1002() {
    let address = server().await;
    // Autobahn 5.9-5.14: a continuation first, final or not, with and without a later
    // "message"; and a continuation after a message that had already ended.
    let orphan = || Frame::continuation(&b"orphan"[..]);
    let cases = [
        (vec![orphan()], None),
        (vec![orphan().more()], None),
        (vec![orphan().more(), Frame::text(&b"text"[..])], None),
        (
            vec![Frame::text(&b"done"[..]), Frame::continuation(&b"late"[..])],
            Some(&b"done"[..]),
        ),
    ];
    for (frames, echoed) in cases {
        let mut socket = RawSocket::open(address, TEXT_ECHO).await;
        socket.send_all(frames).await;
        if let Some(echoed) = echoed {
            socket.expect(TEXT, echoed).await;
        }
        socket.expect_close(1002).await;
    }
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_fails_the_connection_with_1002() {
    let address = server().await;
    // Autobahn 5.15-5.18: text or binary frames where a continuation must come.
    for second in [Frame::text(&b"new"[..]), Frame::binary(&b"new"[..]).more()] {
        let frames = vec![Frame::text(&b"begun"[..]).more(), second];
        fails_with(address, TEXT_ECHO, frames, 1002).await;
    }
}
