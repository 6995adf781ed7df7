//! UTF-8 in text messages (Autobahn 6, RFC 6455 §5.6, §8.1): valid text is delivered however
//! it is fragmented, invalid text fails the connection with 1007 as soon as it is seen.

use crate::client::{BINARY, Frame, RawSocket, TEXT};
use crate::{BINARY_ECHO, HUB, TEXT_ECHO, fails_with, server};

/// Valid text, including the edges of each encoded length, a byte-order mark and
/// noncharacters (Autobahn 6.1, 6.2, 6.5, 6.7-6.9, 6.22, 6.23).
const VALID: [&str; 8] = [
    "Hello-µ@ßöäüàá-UTF-8!!",
    "κόσμε",
    "\u{0}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
    "\u{d7ff}\u{e000}\u{fffd}",
    "\u{feff}starts with a byte-order mark",
    "\u{fffe}\u{ffff}\u{1fffe}\u{10fffe} are noncharacters, still valid UTF-8",
    "𝄞 music, 😀 a face",
    "",
];

/// Invalid UTF-8: lone and missing continuation bytes, bytes that never occur, overlong
/// forms, surrogates and code points past U+10FFFF (Autobahn 6.3, 6.6, 6.10-6.21).
const INVALID: [&[u8]; 14] = [
    b"\x80",
    b"\xbf",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    b"\xc0\x20",
    b"\xc1\xbf",
    b"\xf5\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce",
];

#[tokio::test]
async fn valid_text_is_delivered_unchanged() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    for text in VALID.iter().filter(|text| !text.is_empty()) {
        socket.send(Frame::text(text.as_bytes())).await;
        socket.expect(TEXT, text.as_bytes()).await;
    }
}

#[tokio::test]
async fn text_fragmented_inside_a_code_point_is_delivered_whole() {
    let address = server().await;
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    // Autobahn 6.2.3-6.2.4: one byte per fragment, so most fragments end inside a code point.
    for text in VALID.iter().filter(|text| !text.is_empty()) {
        let bytes = text.as_bytes();
        let mut frames = vec![Frame::text(&bytes[..1]).more()];
        frames.extend(
            bytes[1..]
                .iter()
                .map(|b| Frame::continuation(vec![*b]).more()),
        );
        frames.push(Frame::continuation(vec![]));
        socket.send_all(frames).await;
        socket.expect(TEXT, bytes).await;
    }
}

#[tokio::test]
async fn invalid_text_fails_the_connection_with_1007() {
    let address = server().await;
    for bad in INVALID {
        let frames = vec![Frame::text([&b"ok "[..], bad].concat())];
        fails_with(address, TEXT_ECHO, frames, 1007).await;
    }
}

#[tokio::test]
async fn invalid_text_split_over_fragments_fails_the_connection_with_1007() {
    let address = server().await;
    // Each invalid sequence cut in two, the cut inside the sequence where it has two bytes or
    // more: validity cannot be decided per fragment.
    for bad in INVALID {
        let message = [&b"ok "[..], bad].concat();
        let cut = 3 + bad.len().div_ceil(2);
        let frames = vec![
            Frame::text(&message[..cut]).more(),
            Frame::continuation(&message[cut..]),
        ];
        fails_with(address, TEXT_ECHO, frames, 1007).await;
    }
}

#[tokio::test]
async fn invalid_text_fails_as_soon_as_the_fragment_holding_it_arrives() {
    let address = server().await;
    // Autobahn 6.4.1-6.4.2: a valid fragment, then one that makes the text invalid; the server
    // fails the connection without waiting for the message's end, which never comes.
    for invalid in [&b"\xf4\x90\x80\x80"[..], b"\xed\xa0\x80", b"\xc0"] {
        let mut socket = RawSocket::open(address, TEXT_ECHO).await;
        socket.send(Frame::text("κόσμε".as_bytes()).more()).await;
        socket.send(Frame::continuation(invalid).more()).await;
        socket.expect_close(1007).await;
    }
}

#[tokio::test]
async fn binary_messages_are_not_checked_for_utf8() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    for bad in INVALID {
        socket.send(Frame::binary(bad)).await;
        socket.expect(BINARY, bad).await;
    }
}

/// A JSON hub reads its messages from text and binary frames alike, also when frames of both
/// kinds come in one read. The WebSocket checks only text frames; JSON in a binary frame is
/// checked by the hub, which ends the connection with a Close message when it is not UTF-8,
/// after answering the calls before it.
#[tokio::test]
async fn a_hub_reads_json_from_text_and_binary_frames_and_refuses_binary_json_that_is_not_utf8() {
    let address = server().await;
    let mut socket = RawSocket::open_hub(address, HUB).await;
    let call = |id: usize| {
        let argument = VALID[id];
        let call = serde_json::json!({"type": 1, "invocationId": id.to_string(), "target": "Echo", "arguments": [argument]});
        format!("{call}\x1e").into_bytes()
    };
    let answer = |id: usize| serde_json::json!({"type": 3, "invocationId": id.to_string(), "result": VALID[id]});
    // Text frames, none of it ASCII.
    socket
        .send_all([Frame::text(call(1)), Frame::text(call(6))])
        .await;
    assert_eq!(hear(&mut socket, 2).await, [answer(1), answer(6)]);

    // Both kinds, then JSON that is not UTF-8 in a binary frame.
    let mut not_utf8 = call(0);
    let at = not_utf8.len() - 4 - VALID[0].len();
    not_utf8[at..at + 2].copy_from_slice(INVALID[8]);
    socket
        .send_all([
            Frame::binary(call(2)),
            Frame::text(call(3)),
            Frame::binary(not_utf8),
        ])
        .await;
    let heard = hear(&mut socket, 3).await;
    assert_eq!(heard[..2], [answer(2), answer(3)]);
    // As ASP.NET Core ends a connection it cannot read (no detailed errors); the call was
    // never answered.
    assert_eq!(
        heard[2],
        serde_json::json!({"type": 7, "error": "Connection closed with an error.", "allowReconnect": true})
    );
    socket.expect_close(1000).await;
}

/// The next `count` hub messages, from as many text frames as hold them.
async fn hear(socket: &mut RawSocket, count: usize) -> Vec<serde_json::Value> {
    let mut heard = Vec::new();
    while heard.len() < count {
        let frame = socket.next().await.expect("a frame, not the end of TCP");
        assert_eq!(frame.opcode, TEXT, "{frame:?}");
        let text = String::from_utf8(frame.payload).expect("the server writes UTF-8");
        for message in text.split_terminator('\x1e') {
            heard.push(serde_json::from_str(message).unwrap());
        }
    }
    assert_eq!(heard.len(), count, "{heard:?}");
    heard
}
