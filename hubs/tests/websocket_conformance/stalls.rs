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

/// A connection to `hub`, with stateful reconnect or without, from a client that takes about
/// 16 KiB before it reads, on a server that holds as much: the path of its sockets (with the
/// token to resume it) and its socket.
async fn connect(hub: &str, stateful: bool) -> (std::net::SocketAddr, String, RawSocket) {
    let address = server_with_send_buffer(16 * 1024).await;
    let (path, version) = match stateful {
        true => (RawSocket::negotiate_stateful(address, hub).await, 2),
        false => (hub.to_owned(), 1),
    };
    let socket = RawSocket::open_with_receive_buffer(address, &path, 16 * 1024)
        .await
        .hub_handshake(version)
        .await;
    (address, path, socket)
}

/// The next Completion `socket` gets, skipping Acks ({"type":8}): the hub sends one a second.
async fn next_completion(socket: &mut RawSocket) -> serde_json::Value {
    loop {
        let messages = socket.next_hub_messages().await;
        if let Some(completion) = messages.into_iter().find(|m| m["type"] == 3) {
            return completion;
        }
    }
}

/// Calls `target` with `arguments`, in the JSON protocol.
fn call(id: &str, target: &str, arguments: serde_json::Value) -> Frame {
    let call = serde_json::json!({"type": 1, "invocationId": id, "target": target, "arguments": arguments});
    Frame::text(format!("{call}\x1e"))
}

/// The connection on `socket` still answers a call.
async fn still_answers(socket: &mut RawSocket) {
    socket.send(Frame::echo_call("after", "still here")).await;
    let answer = next_completion(socket).await;
    assert_eq!(
        (&answer["invocationId"], &answer["result"]),
        (&"after".into(), &"still here".into())
    );
}

/// A resumed socket gets the Sequence, then the stuck reply whole, then answers a call.
async fn resumes_with_the_reply(mut new: RawSocket) {
    new.expect(TEXT, b"{\"type\":9,\"sequenceId\":1}\x1e").await;
    let reply = new.next_hub_messages().await;
    assert_eq!(reply.len(), 1, "the reply alone");
    assert_eq!(reply[0]["invocationId"], "big");
    assert!(reply[0]["result"] == "x".repeat(REPLY), "the reply differs");
    still_answers(&mut new).await;
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
    let (address, _, mut stuck) = connect(HUB_SHORT_SEND, false).await;
    stuck
        .send(call("big", "repeat", serde_json::json!(["x", REPLY])))
        .await;
    tokio::time::sleep(SHORT_SEND_TIMEOUT * 3).await;
    ends_part_way(stuck, Duration::from_secs(5)).await;
    still_answers(&mut RawSocket::open_hub(address, HUB_SHORT_SEND).await).await;
}

#[tokio::test]
async fn a_stuck_socket_is_given_up_after_the_send_timeout_and_the_client_resumes_elsewhere() {
    let (address, path, mut old) = connect(STATEFUL_HUB_SHORT_SEND, true).await;
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
    let (address, path, mut old) = connect(STATEFUL_HUB, true).await;
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
        let (_, _, mut old) = connect(hub, hub == STATEFUL_HUB).await;
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
    let (_, _, mut old) = connect(HUB, false).await;
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
    let (address, path, mut old) = connect(STATEFUL_HUB, true).await;
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

/// The arguments of the Notes `socket` gets, from the next one on, until there are `count`
/// (or a few more, from the same frame).
async fn notes(socket: &mut RawSocket, count: usize) -> Vec<String> {
    let mut notes = Vec::new();
    while notes.len() < count {
        let messages = socket.next_hub_messages().await.into_iter();
        let arguments = messages
            .filter(|m| m["target"] == "Note")
            .map(|m| m["arguments"][0].clone());
        notes.extend(arguments.map(|a| a.as_str().unwrap().to_owned()));
    }
    notes
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
        let first = notes(&mut socket, 21).await;
        assert_eq!(
            first[..21],
            (0..21).map(|i| i.to_string()).collect::<Vec<_>>()[..]
        );
        // Note 20 leaves at about 1 s, `tick`'s answer at about 2 s.
        assert!(
            start.elapsed() < Duration::from_millis(1600),
            "{hub}: Note 20 came after {:?}",
            start.elapsed()
        );
        // Then every call is answered, in order.
        let mut answered = Vec::new();
        while answered.len() < 41 {
            let completions = socket.next_hub_messages().await.into_iter();
            let ids = completions
                .filter(|m| m["type"] == 3)
                .map(|m| m["invocationId"].clone());
            answered.extend(ids.map(|id| id.as_str().unwrap().to_owned()));
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
    let first = notes(&mut new, 10).await;
    assert_eq!(
        first[..10],
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()[..]
    );
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
