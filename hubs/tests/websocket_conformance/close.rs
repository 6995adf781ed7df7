//! The closing handshake (Autobahn 7, RFC 6455 §5.5.1, §7): the server answers a Close with a
//! Close, sends and delivers nothing after it, closes TCP, and checks codes and reasons.

use crate::client::{CLOSE, Frame, RawSocket, TEXT};
use crate::{HUB, STATEFUL_HUB, TEXT_ECHO, fails_with, server};

/// Codes a peer may send (§7.4.1, IANA registry, 3000-4999): Autobahn 7.7.
const VALID_CODES: [u16; 15] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 3999, 4000, 4999,
];

/// Codes no peer may send: unassigned, reserved, or only for APIs (1005, 1006, 1015): Autobahn
/// 7.9 and 7.13.
const INVALID_CODES: [u16; 13] = [
    0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65_535,
];

#[tokio::test]
async fn a_close_is_answered_with_a_close_then_tcp_ends() {
    let address = server().await;
    // Autobahn 7.1.1, 7.3.1, 7.3.3-7.3.5: no payload, a code alone, a code with a reason,
    // with the longest reason that fits in 125 bytes.
    let longest = [b'*'; 123];
    for (frame, code) in [
        (Frame::new(CLOSE, vec![]), None),
        (Frame::close(1000, b""), Some(1000)),
        (Frame::close(1000, b"bye"), Some(1000)),
        (Frame::close(1000, &longest), Some(1000)),
    ] {
        let mut socket = RawSocket::open(address, TEXT_ECHO).await;
        socket.send(Frame::text(&b"before"[..])).await;
        socket.expect(TEXT, b"before").await;
        socket.send(frame).await;
        socket.expect_close_reply(code).await;
    }
}

/// Answered with 1000 whatever the code, as ASP.NET Core answers (its transport closes with
/// NormalClosure), so a client reads the same close code from hubs as from .NET.
#[tokio::test]
async fn every_valid_close_code_is_accepted_and_answered_with_1000() {
    let address = server().await;
    for code in VALID_CODES {
        let mut socket = RawSocket::open(address, TEXT_ECHO).await;
        socket.send(Frame::close(code, b"reason")).await;
        socket.expect_close(1000).await;
    }
}

#[tokio::test]
async fn an_invalid_close_code_fails_the_connection_with_1002() {
    let address = server().await;
    for code in INVALID_CODES {
        fails_with(address, TEXT_ECHO, vec![Frame::close(code, b"")], 1002).await;
    }
}

#[tokio::test]
async fn a_close_payload_of_one_byte_fails_the_connection_with_1002() {
    let address = server().await;
    // Autobahn 7.3.2: a status code needs two bytes.
    let frames = vec![Frame::new(CLOSE, vec![0x03])];
    fails_with(address, TEXT_ECHO, frames, 1002).await;
}

#[tokio::test]
async fn a_close_reason_that_is_not_utf8_fails_the_connection_with_1007() {
    let address = server().await;
    // Autobahn 7.5.1: the reason of a Close is UTF-8 (§5.5.1).
    let reason = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    fails_with(address, TEXT_ECHO, vec![Frame::close(1000, reason)], 1007).await;
}

#[tokio::test]
async fn nothing_after_a_close_is_delivered_or_answered() {
    let address = server().await;
    // Autobahn 7.1.2-7.1.4: a second Close, a ping and a message after the Close, in the same
    // write. None is echoed or answered: the server answers the first Close and ends.
    for after in [
        Frame::close(1000, b""),
        Frame::ping(&b"late"[..]),
        Frame::text(&b"late"[..]),
    ] {
        let mut socket = RawSocket::open(address, TEXT_ECHO).await;
        socket.send_all([Frame::close(1000, b""), after]).await;
        socket.expect_close_reply(Some(1000)).await;
    }
}

#[tokio::test]
async fn a_close_inside_a_fragmented_message_ends_it_cleanly() {
    let address = server().await;
    // Autobahn 7.1.5: the first fragment of a message, then a Close; the half message is
    // dropped, the Close answered.
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    socket
        .send_all([Frame::text(&b"half"[..]).more(), Frame::close(1000, b"")])
        .await;
    socket.expect_close_reply(Some(1000)).await;
}

#[tokio::test]
async fn a_close_arriving_while_replies_are_due_is_still_answered_with_a_close() {
    let address = server().await;
    // Autobahn 7.1.6 in small: many messages, then a Close in the same write. The server may
    // stop sending data once it has the Close (§5.5.1: it may also finish first), but what it
    // sends is in order, and it MUST answer with a Close before TCP ends.
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    let messages: Vec<Vec<u8>> = (0..100).map(|i| format!("message {i}").into()).collect();
    let mut frames: Vec<Frame> = messages.iter().cloned().map(Frame::text).collect();
    frames.push(Frame::close(1001, b""));
    socket.send_all(frames).await;
    let mut echoed = 0;
    loop {
        let frame = socket.next().await.expect("a Close frame before TCP ends");
        if frame.opcode == CLOSE {
            assert!(matches!(frame.close_code(), Some(1000 | 1001)), "{frame:?}");
            break;
        }
        assert_eq!(frame.payload, messages[echoed], "echoes in order");
        echoed += 1;
    }
    socket.expect_tcp_end().await;
}

#[tokio::test]
async fn a_close_on_a_hub_connection_is_answered_with_a_close() {
    let address = server().await;
    let mut plain = RawSocket::open_hub(address, HUB).await;
    plain.send(Frame::close(1000, b"")).await;
    plain.expect_close_reply(Some(1000)).await;
    // With stateful reconnect a lost socket may be replaced, but a Close ends the connection
    // and is answered like any other.
    let mut stateful = RawSocket::open_stateful_hub(address, STATEFUL_HUB).await;
    stateful.send(Frame::close(1000, b"")).await;
    stateful.expect_close_reply(Some(1000)).await;
}

#[tokio::test]
async fn a_stateful_connection_resumed_on_a_new_socket_ends_the_old_one() {
    let address = server().await;
    let path = RawSocket::negotiate_stateful(address, STATEFUL_HUB).await;
    let mut old = RawSocket::open(address, &path).await.hub_handshake(2).await;
    old.send(Frame::echo_call("1", "before")).await;
    let answer = old.next().await.expect("the Completion");
    assert_eq!(answer.opcode, TEXT);
    // The client comes back on a new socket while the old one is still open (its network
    // changed, say): the connection moves there at once, without waiting for the old one to
    // fail. The new socket starts with a Sequence naming the first message not acknowledged
    // (the Completion, the first counted message), then that message again.
    let mut new = RawSocket::open(address, &path).await;
    new.expect(TEXT, b"{\"type\":9,\"sequenceId\":1}\x1e").await;
    new.expect(TEXT, &answer.payload).await;
    old.expect_tcp_end().await;
    new.send(Frame::echo_call("2", "after")).await;
    let answer = new.next().await.expect("the Completion");
    let text = String::from_utf8(answer.payload).unwrap();
    assert!(
        text.contains(r#""invocationId":"2""#) && text.contains("after"),
        "{text}"
    );
}

#[tokio::test]
async fn a_client_that_ends_tcp_without_a_close_is_sent_nothing_more() {
    let address = server().await;
    // No closing handshake (§7.1.5: closure 1006): the server drops what is queued and closes
    // TCP without a Close, as ASP.NET Core aborts such a socket; a Close would only draw a
    // reset from a client that is gone. Other connections carry on.
    let mut other = RawSocket::open(address, TEXT_ECHO).await;
    for path in [TEXT_ECHO, HUB] {
        let mut socket = match path {
            HUB => RawSocket::open_hub(address, HUB).await,
            _ => RawSocket::open(address, path).await,
        };
        socket.send(Frame::text(&b"unanswered?"[..])).await;
        socket.end_tcp_without_close().await;
        while let Some(frame) = socket.next().await {
            assert_ne!(frame.opcode, CLOSE, "no Close after the client's TCP ended");
        }
    }
    other.send(Frame::text(&b"still here"[..])).await;
    other.expect(TEXT, b"still here").await;
}
