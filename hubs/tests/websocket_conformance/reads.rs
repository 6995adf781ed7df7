//! What the server's own reading and writing make possible to get wrong (it reads into one
//! buffer per thread and keeps per connection only what a read left unfinished; it writes to
//! an idle socket from the sending task and queues only what the socket does not take): frames
//! cut anywhere, messages larger than any read, many connections' halves at once, frames that
//! came with the upgrade request, and echoes that pile up while the client does not read.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{BINARY, CLOSE, Frame, RawSocket, TEXT, parse, upgrade_request};
use crate::{BINARY_ECHO, HUB, TEXT_ECHO, server};

#[tokio::test]
async fn a_close_without_a_code_is_answered_with_1000() {
    let address = server().await;
    // As ASP.NET Core answers it; an empty Close back reads as 1005 ("no status") to clients.
    let mut socket = RawSocket::open(address, TEXT_ECHO).await;
    socket.send(Frame::new(CLOSE, vec![])).await;
    let reply = socket.expect_close(1000).await;
    assert_eq!(reply.payload, [0x03, 0xe8], "1000 and no reason");
}

#[tokio::test]
async fn a_frame_written_one_byte_at_a_time_is_assembled() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    // A 16-bit length, a mask key and a payload, every byte its own write.
    let payload: Vec<u8> = (0..300u16).map(|i| (i % 256) as u8).collect();
    socket
        .send_in_chunks(Frame::binary(payload.clone()), 1)
        .await;
    socket.expect(BINARY, &payload).await;
    // A fragmented text message the same way, cut inside its code points.
    let text = "κόσμε, 𝄞".as_bytes();
    for frame in [
        Frame::text(&text[..3]).more(),
        Frame::continuation(&text[3..]),
    ] {
        socket.send_in_chunks(frame, 1).await;
    }
    // The binary echo answers in binary.
    socket.expect(BINARY, text).await;
}

#[tokio::test]
async fn a_message_larger_than_any_read_is_assembled_across_reads() {
    let address = server().await;
    let mut socket = RawSocket::open(address, BINARY_ECHO).await;
    // Several times the server's per-thread read buffer (64 KiB), in one frame and in
    // fragments, written in pieces that do not line up with frames.
    let message: Vec<u8> = (0..400_000).map(|i| (i % 251) as u8).collect();
    socket
        .send_in_chunks(Frame::binary(message.clone()), 50_000)
        .await;
    socket.expect(BINARY, &message).await;
    let mut frames = vec![Frame::binary(&message[..1]).more()];
    for part in message[1..].chunks(99_999) {
        frames.push(Frame::continuation(part).more());
    }
    frames.push(Frame::continuation(vec![]));
    let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
    for piece in bytes.chunks(70_001) {
        socket.send_bytes(piece).await;
    }
    socket.expect(BINARY, &message).await;
}

#[tokio::test]
async fn many_connections_with_partial_frames_at_once_keep_their_own_bytes() {
    let address = server().await;
    let mut sockets = Vec::new();
    let mut frames = Vec::new();
    for i in 0..20 {
        sockets.push(RawSocket::open(address, TEXT_ECHO).await);
        // Lengths in every form, and a payload telling each connection from the others.
        let payload = format!("connection {i}: {}", "x".repeat(i * 4_000));
        frames.push((payload.clone(), Frame::text(payload).encode()));
    }
    // Round-robin: the server reads a few bytes of one connection, then of the next, each
    // read ending inside a header or a payload.
    let longest = frames.iter().map(|(_, f)| f.len()).max().unwrap();
    for start in (0..longest).step_by(997) {
        for (socket, (_, frame)) in sockets.iter_mut().zip(&frames) {
            if let Some(piece) = frame.get(start..(start + 997).min(frame.len())) {
                socket.send_bytes(piece).await;
            }
        }
        tokio::task::yield_now().await;
    }
    for (socket, (payload, _)) in sockets.iter_mut().zip(&frames) {
        socket.expect(TEXT, payload.as_bytes()).await;
    }
}

#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_read() {
    let address = server().await;
    // A client may send its first frames before it has the 101: they arrive with the request.
    let mut request = upgrade_request(TEXT_ECHO, "Sec-WebSocket-Version: 13\r\n").into_bytes();
    request.extend(Frame::text(&b"early"[..]).encode());
    request.extend(Frame::text(&b"bird"[..]).encode());
    let (head, mut socket) = RawSocket::request_bytes(address, &request).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    socket.expect(TEXT, b"early").await;
    socket.expect(TEXT, b"bird").await;
}

#[tokio::test]
async fn echoes_piled_up_while_the_client_does_not_read_arrive_whole_and_in_order() {
    // 32 MiB in 512 messages: far more than the socket buffers hold, so the server's writes
    // block, its queue fills and its reads stop, then everything drains once the client reads.
    let messages = (0..512u32)
        .map(|i| (0..64 * 1024).map(|j| (i as usize * 7 + j) as u8).collect())
        .collect();
    let address = server().await;
    pile_up_then_read(RawSocket::open(address, BINARY_ECHO).await, messages).await;
}

#[tokio::test]
async fn many_small_echoes_piled_up_leave_in_writes_of_many_frames_whole_and_in_order() {
    // 40,000 messages of 1 to 400 bytes, 8 MB, towards a client that takes 16 KiB before it
    // reads: the server's writes block, frames queue up behind them and leave several to a
    // write, which the blocked socket may take only in part. (Not 0 bytes: the connection
    // layer carries bytes, and an empty message adds none, as in ASP.NET Core.)
    let messages = (0..40_000u32)
        .map(|i| (0..=i % 400).map(|j| (i + j) as u8).collect())
        .collect();
    let address = server().await;
    let socket = RawSocket::open_with_receive_buffer(address, BINARY_ECHO, 16 * 1024).await;
    pile_up_then_read(socket, messages).await;
}

/// Sends `messages` to the binary echo on `socket` without reading, then reads every echo.
async fn pile_up_then_read(socket: RawSocket, messages: Vec<Vec<u8>>) {
    let (mut reading, mut writing) = socket.into_stream().into_split();
    let sent = messages.clone();
    let writer = tokio::spawn(async move {
        for message in sent {
            writing
                .write_all(&Frame::binary(message).encode())
                .await
                .unwrap();
        }
        writing
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut buffer = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let frame = loop {
            if let Some((frame, used)) = parse(&buffer) {
                buffer.drain(..used);
                break frame;
            }
            let read = tokio::time::timeout(Duration::from_secs(10), reading.read_buf(&mut buffer));
            assert!(
                read.await.unwrap().unwrap() > 0,
                "the server closed after {i} echoes"
            );
        };
        assert_eq!((frame.fin, frame.opcode), (true, BINARY), "echo {i}");
        assert!(frame.payload == *message, "echo {i} differs");
    }
    drop(writer.await.unwrap());
}

/// A client that pipelines its calls sends many in one write. They are read together, and
/// everything they send the caller (the Completions, and what the methods send it before
/// answering) leaves in one write, in the order the calls ran.
#[tokio::test]
async fn a_burst_of_calls_is_answered_in_one_write_in_order() {
    let address = server().await;
    let socket = RawSocket::open_hub(address, HUB).await;
    let calls: Vec<(String, &str)> = (0..12)
        .map(|i| (i.to_string(), if i % 3 == 1 { "Note" } else { "Echo" }))
        .collect();
    let mut stream = socket.into_stream();
    let burst: Vec<u8> = calls
        .iter()
        .flat_map(|(id, target)| {
            let call = serde_json::json!({"type": 1, "invocationId": id, "target": target, "arguments": [id]});
            Frame::text(format!("{call}\x1e")).encode()
        })
        .collect();
    stream.write_all(&burst).await.unwrap();

    let mut expected = Vec::new();
    for (id, target) in &calls {
        if *target == "Note" {
            expected.push(serde_json::json!({"type": 1, "target": "Note", "arguments": [id]}));
            expected.push(serde_json::json!({"type": 3, "invocationId": id, "result": null}));
        } else {
            expected.push(serde_json::json!({"type": 3, "invocationId": id, "result": id}));
        }
    }
    // One read, as soon as anything arrives: it holds every answer.
    let mut read = vec![0; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut read))
        .await
        .expect("answered within 5 s")
        .unwrap();
    let mut heard = Vec::new();
    let mut at = 0;
    while let Some((frame, used)) = parse(&read[at..n]) {
        assert_eq!(frame.opcode, TEXT);
        let text = std::str::from_utf8(&frame.payload).unwrap();
        for message in text.split_terminator('\x1e') {
            heard.push(serde_json::from_str::<serde_json::Value>(message).unwrap());
        }
        at += used;
    }
    assert_eq!(at, n, "whole frames");
    assert_eq!(heard, expected);
}
