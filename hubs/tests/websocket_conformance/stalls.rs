//! A connection when one side stalls:
//! - a socket stuck part way through a write (its client stopped reading, or the network under
//!   it went away) ends the connection after the transport send timeout;
//! - with stateful reconnect the connection outlives its sockets, and one loop per socket
//!   moves its messages both ways, so neither direction may wait on the other. A stuck socket
//!   is given up after the transport send timeout, at once when the client comes back on a
//!   new socket, and after the close timeout when the connection is dropped;
//! - while the hub reads nothing (a call waits for a slot), the socket is not read, and what
//!   the hub sends still goes out, with stateful reconnect or without;
//! - a stateful client that loses its socket and never comes back is forgotten after the
//!   disconnect timeout.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::client::{Frame, RawSocket, TEXT, upgrade_request};
use crate::{
    CLOSE_TIMEOUT, DISCONNECT_TIMEOUT, HUB, HUB_SHORT_SEND, SHORT_SEND_TIMEOUT, STATEFUL_HUB,
    STATEFUL_HUB_SHORT_SEND, server, server_with_send_buffer,
};

/// The size of the reply that gets stuck: far more than kernel buffers of about 16 KiB on
/// each side hold, so the server's write stops inside its frame.
const REPLY: usize = 1 << 20;

/// A stateful connection to `hub`, from a client that takes about 16 KiB before it reads,
/// on a server that holds as much: the path to resume it and its socket.
async fn connect(hub: &str) -> (std::net::SocketAddr, String, RawSocket) {
    let address = server_with_send_buffer(16 * 1024).await;
    let path = RawSocket::negotiate_stateful(address, hub).await;
    let socket = RawSocket::open_with_receive_buffer(address, &path, 16 * 1024)
        .await
        .hub_handshake(2)
        .await;
    (address, path, socket)
}

/// Calls `target` with `arguments`, in the JSON protocol.
fn call(id: &str, target: &str, arguments: serde_json::Value) -> Frame {
    let call = serde_json::json!({"type": 1, "invocationId": id, "target": target, "arguments": arguments});
    Frame::text(format!("{call}\x1e"))
}

/// A resumed socket gets the Sequence, then the stuck reply whole, then answers a call.
async fn resumes_with_the_reply(mut new: RawSocket) {
    new.expect(TEXT, b"{\"type\":9,\"sequenceId\":1}\x1e").await;
    let reply = new.next().await.expect("the reply, not the end of TCP");
    assert_eq!((reply.fin, reply.opcode), (true, TEXT));
    let reply: serde_json::Value =
        serde_json::from_slice(reply.payload.strip_suffix(b"\x1e").unwrap()).unwrap();
    assert_eq!(reply["invocationId"], "big");
    assert!(reply["result"] == "x".repeat(REPLY), "the reply differs");
    new.send(Frame::echo_call("after", "still here")).await;
    // Acks of the client's messages ({"type":8}) may come first: the hub sends one a second.
    let answer = loop {
        let frame = new.next().await.expect("the Completion");
        let text = String::from_utf8(frame.payload).unwrap();
        if !text.starts_with(r#"{"type":8,"#) {
            break text;
        }
    };
    assert!(answer.contains("still here"), "{answer}");
}

/// A socket to the hub at `hub` without stateful reconnect, with the same buffers.
async fn connect_plain(hub: &str) -> (std::net::SocketAddr, RawSocket) {
    let address = server_with_send_buffer(16 * 1024).await;
    let socket = RawSocket::open_with_receive_buffer(address, hub, 16 * 1024)
        .await
        .hub_handshake(1)
        .await;
    (address, socket)
}

/// The old socket got part of what was written to it, then its end, within `within`.
async fn ends_part_way(old: RawSocket, within: Duration) {
    let mut old = old.into_stream();
    let drained = tokio::time::timeout(within, async {
        let mut got = Vec::new();
        while matches!(old.read_buf(&mut got).await, Ok(n) if n > 0) {}
        got.len()
    });
    let got = drained.await.expect("the old socket ended");
    assert!(0 < got && got < REPLY, "the old socket got {got} bytes");
}

/// Without stateful reconnect the connection ends: no Close can pass what the socket has not
/// taken, so the socket just goes, part way through the frame. The server serves others on.
#[tokio::test]
async fn a_socket_stuck_in_a_write_ends_its_connection_after_the_send_timeout() {
    let (address, mut stuck) = connect_plain(HUB_SHORT_SEND).await;
    stuck
        .send(call("big", "repeat", serde_json::json!(["x", REPLY])))
        .await;
    tokio::time::sleep(SHORT_SEND_TIMEOUT * 3).await;
    ends_part_way(stuck, Duration::from_secs(5)).await;
    let mut other = RawSocket::open_hub(address, HUB_SHORT_SEND).await;
    other.send(Frame::echo_call("1", "still here")).await;
    let answer = other.next().await.expect("the Completion");
    assert!(
        String::from_utf8(answer.payload)
            .unwrap()
            .contains("still here")
    );
}

#[tokio::test]
async fn a_stuck_socket_is_given_up_after_the_send_timeout_and_the_client_resumes_elsewhere() {
    let (address, path, mut old) = connect(STATEFUL_HUB_SHORT_SEND).await;
    old.send(call("big", "repeat", serde_json::json!(["x", REPLY])))
        .await;
    // The write blocks; after the send timeout the server lets the socket go, though the
    // client has not come back yet (a socket still open would take the whole reply now).
    tokio::time::sleep(SHORT_SEND_TIMEOUT * 2).await;
    ends_part_way(old, Duration::from_secs(5)).await;
    resumes_with_the_reply(RawSocket::open(address, &path).await).await;
}

/// The client comes back while the old socket's write still waits (its network changed,
/// say), long before the send timeout (10 s): the new socket is served at once.
#[tokio::test]
async fn a_client_back_on_a_new_socket_is_served_at_once_while_the_old_one_is_stuck() {
    let (address, path, mut old) = connect(STATEFUL_HUB).await;
    old.send(call("big", "repeat", serde_json::json!(["x", REPLY])))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back = Instant::now();
    resumes_with_the_reply(RawSocket::open(address, &path).await).await;
    assert!(
        back.elapsed() < Duration::from_secs(3),
        "served after {:?}",
        back.elapsed()
    );
    ends_part_way(old, Duration::from_secs(3)).await;
}

/// While the socket is stuck the hub sends more than the connection may hold (4 MiB): the
/// connection is dropped as too slow. A client that reads again within the close timeout
/// gets the rest of what was being written, then a Close saying why (1011); with stateful
/// reconnect or without.
#[tokio::test]
async fn a_connection_dropped_while_its_socket_is_stuck_sends_a_close_after_the_stuck_frame() {
    for hub in [HUB, STATEFUL_HUB] {
        let mut old = match hub {
            HUB => connect_plain(hub).await.1,
            _ => connect(hub).await.2,
        };
        old.send(call("flood", "flood", serde_json::json!([6, REPLY])))
            .await;
        tokio::time::sleep(CLOSE_TIMEOUT / 3).await;
        let note = old.next().await.expect("the first Note");
        let envelope = "{\"type\":1,\"target\":\"Note\",\"arguments\":[\"\"]}\x1e".len();
        assert_eq!(
            (note.fin, note.opcode, note.payload.len()),
            (true, TEXT, REPLY + envelope),
            "{hub}"
        );
        let close = old.expect_close(1011).await;
        assert_eq!(&close.payload[2..], b"connection aborted", "{hub}");
    }
}

/// Without stateful reconnect too, a client that does not read again within the close
/// timeout has its socket cut then, not after the send timeout (10 s).
#[tokio::test]
async fn a_plain_connection_dropped_while_its_socket_is_stuck_lets_it_go_after_the_close_timeout() {
    let (_, mut old) = connect_plain(HUB).await;
    old.send(call("flood", "flood", serde_json::json!([6, REPLY])))
        .await;
    tokio::time::sleep(CLOSE_TIMEOUT * 3).await;
    ends_part_way(old, Duration::from_secs(1)).await;
}

/// A client that does not read again within the close timeout: its socket goes then, with
/// the frame it was stuck in cut short, not after the send timeout (10 s). The connection is
/// over: it cannot be resumed.
#[tokio::test]
async fn a_connection_dropped_while_its_socket_is_stuck_lets_the_socket_go_after_the_close_timeout()
{
    let (address, path, mut old) = connect(STATEFUL_HUB).await;
    old.send(call("flood", "flood", serde_json::json!([6, REPLY])))
        .await;
    tokio::time::sleep(CLOSE_TIMEOUT * 3).await;
    ends_part_way(old, Duration::from_secs(1)).await;
    // Forgotten once the hub has finished with it (until then a socket that comes is taken
    // and dropped).
    let upgrade = upgrade_request(&path, "Sec-WebSocket-Version: 13\r\n");
    let forgotten = async {
        loop {
            let (head, _) = RawSocket::request(address, &upgrade).await;
            if head.starts_with("HTTP/1.1 404") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let waited = tokio::time::timeout(CLOSE_TIMEOUT * 3, forgotten).await;
    assert!(waited.is_ok(), "the connection can still be resumed");
}

/// Calls `tick` (40 Notes, 50 ms apart: 2 s), then 40 more calls, each in a write of its own:
/// with one call at a time, they wait for `tick`, and the hub reads nothing meanwhile.
async fn tick_then_pile_up_calls(socket: &mut RawSocket) {
    socket
        .send(call("tick", "tick", serde_json::json!([40, 50])))
        .await;
    for i in 0..40 {
        socket.send(Frame::echo_call(&i.to_string(), "e")).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The next Note's argument, skipping Acks.
async fn next_note(socket: &mut RawSocket) -> String {
    loop {
        let frame = socket.next().await.expect("a Note, not the end of TCP");
        let text = String::from_utf8(frame.payload).unwrap();
        for message in text.split_terminator('\x1e') {
            let message: serde_json::Value = serde_json::from_str(message).unwrap();
            if message["target"] == "Note" {
                return message["arguments"][0].as_str().unwrap().to_owned();
            }
        }
    }
}

#[tokio::test]
async fn while_the_hub_reads_nothing_what_it_sends_still_goes_out() {
    for hub in [HUB, STATEFUL_HUB] {
        let address = server().await;
        let mut socket = match hub {
            HUB => RawSocket::open_hub(address, hub).await,
            _ => RawSocket::open_stateful_hub(address, hub).await,
        };
        let start = Instant::now();
        tick_then_pile_up_calls(&mut socket).await;
        while next_note(&mut socket).await != "20" {}
        // Note 20 leaves at about 1 s, `tick`'s answer at about 2 s.
        assert!(
            start.elapsed() < Duration::from_millis(1600),
            "{hub}: Note 20 came after {:?}",
            start.elapsed()
        );
        // Then every call is answered, in order.
        let mut answered = Vec::new();
        while answered.len() < 41 {
            let frame = socket.next().await.expect("the answers");
            let text = String::from_utf8(frame.payload).unwrap();
            for message in text.split_terminator('\x1e') {
                let message: serde_json::Value = serde_json::from_str(message).unwrap();
                if message["type"] == 3 {
                    answered.push(message["invocationId"].as_str().unwrap().to_owned());
                }
            }
        }
        let expected: Vec<String> = std::iter::once("tick".to_owned())
            .chain((0..40).map(|i| i.to_string()))
            .collect();
        assert_eq!(answered, expected, "{hub}");
    }
}

/// The client comes back while the hub still reads nothing: the new socket is served at once
/// (the Sequence, then the Notes as they are sent), not once the hub reads again.
#[tokio::test]
async fn a_client_back_while_the_hub_reads_nothing_is_served_at_once() {
    let address = server().await;
    let path = RawSocket::negotiate_stateful(address, STATEFUL_HUB).await;
    let mut old = RawSocket::open(address, &path).await.hub_handshake(2).await;
    tick_then_pile_up_calls(&mut old).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(old);
    let back = Instant::now();
    let mut new = RawSocket::open(address, &path).await;
    new.expect(TEXT, b"{\"type\":9,\"sequenceId\":1}\x1e").await;
    assert!(
        back.elapsed() < Duration::from_secs(1),
        "the Sequence came after {:?}",
        back.elapsed()
    );
    // Every Note again from the first (none was acknowledged), then the ones sent since.
    for i in 0..10 {
        assert_eq!(next_note(&mut new).await, i.to_string());
    }
}

/// A client with stateful reconnect whose socket ends without a Close may come back within
/// the disconnect timeout (here 2 s); one that never does is forgotten after it: a socket
/// that comes later is refused (404), as one with an unknown id is.
#[tokio::test]
async fn a_stateful_client_that_never_comes_back_is_forgotten_after_the_disconnect_timeout() {
    let address = server().await;
    let lost = |path: String| async move {
        let socket = RawSocket::open(address, &path).await.hub_handshake(2).await;
        drop(socket);
        path
    };
    let back_soon = lost(RawSocket::negotiate_stateful(address, STATEFUL_HUB).await).await;
    let never_back = lost(RawSocket::negotiate_stateful(address, STATEFUL_HUB).await).await;
    tokio::time::sleep(DISCONNECT_TIMEOUT / 4).await;
    let mut back = RawSocket::open(address, &back_soon).await;
    back.expect(TEXT, b"{\"type\":9,\"sequenceId\":1}\x1e")
        .await;

    // Asked once: a socket that came before the end would resume the connection again.
    // After the timeout the hub gets the close timeout to finish, then the id is forgotten.
    tokio::time::sleep(DISCONNECT_TIMEOUT + CLOSE_TIMEOUT + Duration::from_secs(1)).await;
    let upgrade = upgrade_request(&never_back, "Sec-WebSocket-Version: 13\r\n");
    let (head, _) = RawSocket::request(address, &upgrade).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}
