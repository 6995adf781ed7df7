//! The queue's limits and wakeups.

use bytes::Bytes;

use super::wire::KEPT_FOR_THE_NEXT_BURST;
use super::*;

mod fan_out;

fn frame(text: &'static str) -> Outgoing {
    Outgoing::Frame(Bytes::from_static(text.as_bytes()))
}

fn text(item: Outgoing) -> String {
    match item {
        Outgoing::Frame(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
        other => panic!("not a frame: {other:?}"),
    }
}

/// A queue of `buffer` bytes, at most `max_buffer`, and a drain timeout of `drain_ms`.
fn queue(buffer: usize, max_buffer: usize, drain_ms: u64) -> (SendQueue, QueueReceiver) {
    SendQueue::new(QueueLimits {
        buffer,
        max_buffer,
        drain_timeout: Duration::from_millis(drain_ms),
    })
}

#[tokio::test]
async fn items_arrive_in_order_and_the_end_after_the_last_sender() {
    let (queue, mut receiver) = queue(64, 1024, 1000);
    let second = queue.clone();
    queue.try_send(frame("a")).unwrap();
    second.try_send(frame("b")).unwrap();
    drop(queue);
    assert_eq!(text(receiver.recv().await.unwrap()), "a");
    assert_eq!(receiver.try_recv().map(text), Ok("b".to_owned()));
    assert_eq!(receiver.try_recv().unwrap_err(), TryRecvError::Empty);
    drop(second);
    assert!(receiver.recv().await.is_none());
    assert_eq!(receiver.try_recv().unwrap_err(), TryRecvError::Disconnected);
}

#[tokio::test]
async fn a_draining_client_may_fall_behind_up_to_the_hard_cap() {
    let (queue, mut receiver) = queue(4, 12, 60_000);
    // Two in, one out: the backlog grows past the buffer size, but the socket is
    // draining, so it is no fault of the client's.
    for _ in 0..5 {
        queue.try_send(frame("ab")).unwrap();
        queue.try_send(frame("cd")).unwrap();
        receiver.try_recv().unwrap();
    }
    queue.try_send(frame("ef")).unwrap();
    // Past the hard cap (12 bytes) it is refused, once; later items are refused quietly.
    assert!(matches!(
        queue.try_send(frame("gh")),
        Err(TrySendError::Full(_))
    ));
    assert!(matches!(
        queue.try_send(frame("ij")),
        Err(TrySendError::Closed(_))
    ));
}

#[tokio::test]
async fn a_socket_that_takes_nothing_for_the_drain_timeout_is_too_slow() {
    let (queue, mut receiver) = queue(4, 1024, 30);
    queue.try_send(frame("abcd")).unwrap();
    // Over the buffer size: the clock starts, and progress restarts it.
    queue.try_send(frame("efgh")).unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(text(receiver.try_recv().unwrap()), "abcd");
    queue.try_send(frame("ijkl")).unwrap();
    queue.try_send(frame("mnop")).unwrap();
    // No progress for the drain timeout: refused once, then quietly.
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(matches!(
        queue.try_send(frame("q")),
        Err(TrySendError::Full(_))
    ));
    assert!(matches!(
        queue.try_send(frame("r")),
        Err(TrySendError::Closed(_))
    ));
}

#[tokio::test]
async fn one_item_larger_than_the_buffer_fits_an_empty_queue() {
    let (queue, mut receiver) = queue(4, 8, 0);
    queue.try_send(frame("larger than both limits")).unwrap();
    assert_eq!(
        text(receiver.recv().await.unwrap()),
        "larger than both limits"
    );
    queue.try_send(frame("again, and again")).unwrap();
}

#[tokio::test]
async fn send_waits_while_the_buffer_size_is_reached() {
    let (queue, mut receiver) = queue(4, 1024, 60_000);
    queue.try_send(frame("ab")).unwrap();
    queue.try_send(frame("cd")).unwrap();
    let waiting = tokio::spawn(async move { queue.send(frame("e")).await.is_ok() });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    assert_eq!(text(receiver.recv().await.unwrap()), "ab");
    assert!(waiting.await.unwrap());
    assert_eq!(text(receiver.recv().await.unwrap()), "cd");
    assert_eq!(text(receiver.recv().await.unwrap()), "e");
    assert!(receiver.recv().await.is_none());
}

#[tokio::test]
async fn a_waiting_receiver_wakes_for_an_item_from_another_task() {
    let (queue, mut receiver) = queue(64, 1024, 1000);
    let sender = tokio::spawn(async move {
        tokio::task::yield_now().await;
        queue.try_send(frame("late")).unwrap();
        queue
    });
    assert_eq!(text(receiver.recv().await.unwrap()), "late");
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn senders_see_the_receiver_go() {
    let (queue, receiver) = queue(1, 1024, 1000);
    queue.try_send(frame("a")).unwrap();
    let waiting = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.send(frame("b")).await.is_err() })
    };
    tokio::task::yield_now().await;
    drop(receiver);
    assert!(waiting.await.unwrap());
    assert!(matches!(
        queue.try_send(frame("c")),
        Err(TrySendError::Closed(_))
    ));
}

#[tokio::test]
async fn a_drained_queue_gives_its_memory_back() {
    let (queue, mut receiver) = queue(64 * 1024, 1024 * 1024, 1000);
    for _ in 0..200 {
        queue.try_send(frame("x")).unwrap();
    }
    while receiver.try_recv().is_ok() {}
    let state = receiver.shared.lock();
    assert_eq!((state.items.capacity(), state.bytes), (0, 0));
}

/// A wire that takes everything and remembers it.
#[derive(Debug, Default)]
struct Recording(Arc<Mutex<Vec<String>>>);

impl Wire for Recording {
    fn write(&mut self, backlog: &mut Backlog<'_, '_>, _: Option<&mut Context<'_>>) -> WireStatus {
        let mut written = self.0.lock().unwrap();
        for item in backlog.iter() {
            match item.payload() {
                Some(bytes) => written.push(String::from_utf8_lossy(bytes).into()),
                None => panic!("not a frame: {item:?}"),
            }
        }
        let all = backlog.len();
        backlog.advance(all, 0);
        WireStatus::Idle
    }
}

#[tokio::test]
async fn a_held_queue_writes_nothing_until_released_then_all_in_order() {
    let written = Arc::new(Mutex::new(Vec::new()));
    let limits = QueueLimits {
        buffer: 64,
        max_buffer: 1024,
        drain_timeout: Duration::from_secs(1),
    };
    let (queue, _receiver) = SendQueue::with_wire(limits, Box::new(Recording(written.clone())));
    queue.hold();
    queue.send(frame("handshake")).await.unwrap();
    // Sent meanwhile by someone else (a broadcast): it must not pass the handshake.
    queue.try_send(frame("broadcast")).unwrap();
    assert!(written.lock().unwrap().is_empty());
    queue.release();
    assert_eq!(*written.lock().unwrap(), ["handshake", "broadcast"]);
    queue.try_send(frame("later")).unwrap();
    assert_eq!(
        written.lock().unwrap().len(),
        3,
        "written at once after the release"
    );
}

#[tokio::test]
async fn a_held_queue_hands_its_receiver_nothing_until_released() {
    let (queue, mut receiver) = queue(64, 1024, 1000);
    queue.hold();
    queue.try_send(frame("a")).unwrap();
    assert_eq!(receiver.try_recv().unwrap_err(), TryRecvError::Empty);
    let waiting = tokio::spawn(async move { receiver.recv().await.map(text) });
    tokio::task::yield_now().await;
    queue.release();
    assert_eq!(waiting.await.unwrap().as_deref(), Some("a"));
}

/// A socket that takes at most `room` bytes, then blocks until given more.
#[derive(Debug)]
struct Socket {
    room: usize,
    written: String,
    /// How often the wire was run.
    runs: usize,
}

fn socket(room: usize) -> Arc<Mutex<Socket>> {
    Arc::new(Mutex::new(Socket {
        room,
        written: String::new(),
        runs: 0,
    }))
}

/// A wire writing to a [`Socket`].
#[derive(Debug)]
struct Narrow(Arc<Mutex<Socket>>);

impl Wire for Narrow {
    fn write(&mut self, backlog: &mut Backlog<'_, '_>, _: Option<&mut Context<'_>>) -> WireStatus {
        let mut socket = self.0.lock().unwrap();
        socket.runs += 1;
        let (mut done, mut at) = (0, backlog.offset());
        for item in backlog.iter() {
            let Some(bytes) = item.payload() else {
                panic!("not a frame: {item:?}")
            };
            let take = (bytes.len() - at).min(socket.room);
            socket.room -= take;
            socket
                .written
                .push_str(std::str::from_utf8(&bytes[at..at + take]).unwrap());
            if at + take < bytes.len() {
                at += take;
                break;
            }
            done += 1;
            at = 0;
        }
        let blocked = done < backlog.len();
        backlog.advance(done, at);
        if blocked {
            WireStatus::Blocked
        } else {
            WireStatus::Idle
        }
    }
}

fn narrow_queue(socket: &Arc<Mutex<Socket>>) -> (SendQueue, QueueReceiver) {
    let limits = QueueLimits {
        buffer: 64,
        max_buffer: 1024,
        drain_timeout: Duration::from_secs(1),
    };
    SendQueue::with_wire(limits, Box::new(Narrow(socket.clone())))
}

fn poll_wire(receiver: &mut QueueReceiver) -> WireStatus {
    let waker = futures_util::task::noop_waker();
    receiver.poll_wire(&mut Context::from_waker(&waker))
}

#[tokio::test]
async fn a_send_the_socket_takes_at_once_leaves_nothing_queued_and_the_rest_keeps_its_order() {
    let socket = socket(usize::MAX);
    let (queue, mut receiver) = narrow_queue(&socket);
    queue.try_send(frame("hello")).unwrap();
    {
        let state = receiver.shared.lock();
        // Written straight from the sender: nothing is left queued.
        assert_eq!((state.items.capacity(), state.bytes), (0, 0));
    }
    // The socket takes three bytes: the rest of the item waits in the queue, counted.
    socket.lock().unwrap().room = 3;
    queue.try_send(frame("abcdef")).unwrap();
    {
        let state = receiver.shared.lock();
        assert_eq!((state.items.len(), state.offset, state.bytes), (1, 3, 6));
        assert!(state.wire_blocked);
    }
    // Sent while the socket is blocked: queued behind, not written past the half item.
    queue.try_send(frame("gh")).unwrap();
    assert_eq!(socket.lock().unwrap().written, "helloabc");
    socket.lock().unwrap().room = usize::MAX;
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().written, "helloabcdefgh");
    let state = receiver.shared.lock();
    assert_eq!((state.items.len(), state.bytes, state.offset), (0, 0, 0));
    // The receiver wrote a burst of two: its storage may stay, bounded, for the next burst.
    assert!(state.items.capacity() <= KEPT_FOR_THE_NEXT_BURST);
}

/// Lends `frame` to `queue` as the hub lends a Completion, but with no room before it.
fn send_lent(queue: &SendQueue, frame: &[u8]) -> Result<(), TrySendError> {
    queue.try_send_lent(LentFrame::new(&mut frame.to_vec(), 0))
}

#[tokio::test]
async fn a_lent_frame_is_copied_only_for_what_the_socket_does_not_take_at_once() {
    let socket = socket(usize::MAX);
    let (queue, mut receiver) = narrow_queue(&socket);
    send_lent(&queue, b"hello").unwrap();
    {
        let state = receiver.shared.lock();
        assert_eq!(
            (state.items.capacity(), state.bytes, state.taken),
            (0, 0, 1)
        );
    }
    // Part taken: the frame is kept whole (the wire counts from its start), three bytes in.
    socket.lock().unwrap().room = 3;
    send_lent(&queue, b"abcdef").unwrap();
    {
        let state = receiver.shared.lock();
        assert_eq!((state.items.len(), state.offset, state.bytes), (1, 3, 6));
        assert!(matches!(&state.items[0], Outgoing::Frame(kept) if kept == &b"abcdef"[..]));
    }
    // Lent behind a queued item: copied, and in order.
    send_lent(&queue, b"gh").unwrap();
    socket.lock().unwrap().room = usize::MAX;
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().written, "helloabcdefgh");
    // Refused like any item once the receiver is gone.
    drop(receiver);
    assert!(matches!(
        send_lent(&queue, b"late"),
        Err(TrySendError::Closed(Outgoing::Frame(kept))) if kept == b"late"[..]
    ));
}

#[test]
fn a_header_goes_in_the_room_left_before_a_lent_frame() {
    let mut buffer = *b"....frame";
    let mut lent = LentFrame::new(&mut buffer, 4);
    assert_eq!(lent.room(), 4);
    assert_eq!(lent.with_header(b"__hd", 2), b"hdframe");
    assert_eq!(lent.frame(), b"frame");
    assert_eq!(lent.with_header(b"head", 0), b"headframe");
}

#[tokio::test]
async fn a_lent_frame_without_a_wire_is_queued_as_a_copy() {
    let (queue, mut receiver) = queue(64, 1024, 1000);
    send_lent(&queue, b"copied").unwrap();
    assert_eq!(receiver.try_recv().map(text).as_deref(), Ok("copied"));
}

#[tokio::test]
async fn an_idle_wire_runs_again_only_after_a_sender_woke_its_receiver() {
    let socket = socket(usize::MAX);
    let (queue, mut receiver) = narrow_queue(&socket);
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    // Wakes of the task by others (its transport's reader) find nothing new: no run.
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().runs, 1);
    // A send the socket takes whole leaves the receiver nothing, and does not wake it.
    queue.try_send(frame("ab")).unwrap();
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().runs, 2, "the sender's run only");
    // A send the socket takes part of wakes the receiver, which writes the rest.
    socket.lock().unwrap().room = 1;
    queue.try_send(frame("cd")).unwrap();
    socket.lock().unwrap().room = usize::MAX;
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().written, "abcd");
    // The end, asked for by the transport, wakes it too.
    receiver.wire_handle().end();
    drop(queue);
    let runs = socket.lock().unwrap().runs;
    poll_wire(&mut receiver);
    assert_eq!(socket.lock().unwrap().runs, runs + 1);
}

/// A queue of `buffer` bytes (four times that at most) writing to `socket`.
fn wired(buffer: usize, socket: &Arc<Mutex<Socket>>) -> (SendQueue, QueueReceiver) {
    let limits = QueueLimits {
        buffer,
        max_buffer: 4 * buffer,
        drain_timeout: Duration::from_secs(60),
    };
    SendQueue::with_wire(limits, Box::new(Narrow(Arc::clone(socket))))
}

#[tokio::test]
async fn a_batch_leaves_in_one_write_when_it_ends() {
    let socket = socket(1024);
    let (queue, _receiver) = wired(64, &socket);
    queue.batch();
    send_lent(&queue, b"a").unwrap();
    queue.try_send(frame("b")).unwrap();
    send_lent(&queue, b"c").unwrap();
    assert_eq!(
        socket.lock().unwrap().runs,
        0,
        "nothing written during the batch"
    );
    queue.end_batch();
    {
        let socket = socket.lock().unwrap();
        assert_eq!((socket.written.as_str(), socket.runs), ("abc", 1));
    }
    send_lent(&queue, b"d").unwrap();
    assert_eq!(
        socket.lock().unwrap().runs,
        2,
        "after the batch, written as it comes"
    );
    queue.end_batch();
    assert_eq!(
        socket.lock().unwrap().runs,
        2,
        "a second end changes nothing"
    );
}

#[tokio::test]
async fn a_batch_leaves_as_it_reaches_the_buffer_size_and_never_makes_its_client_look_slow() {
    let socket = socket(1024);
    // A hard cap of 16 bytes: held whole, the batch below would pass it.
    let (queue, _receiver) = wired(4, &socket);
    queue.batch();
    queue.try_send(frame("ab")).unwrap();
    queue.try_send(frame("cd")).unwrap();
    assert_eq!(socket.lock().unwrap().runs, 0);
    for item in ["ef", "gh", "ij", "kl", "mn", "op", "qr", "st", "uv"] {
        queue.try_send(frame(item)).unwrap();
    }
    assert_eq!(socket.lock().unwrap().written, "abcdefghijklmnopqrstuv");
    queue.end_batch();
    assert_eq!(socket.lock().unwrap().written, "abcdefghijklmnopqrstuv");
}

#[tokio::test]
async fn a_batch_leaves_a_hold_alone() {
    let socket = socket(1024);
    let (queue, _receiver) = wired(64, &socket);
    queue.hold();
    queue.batch();
    queue.try_send(frame("handshake")).unwrap();
    queue.end_batch();
    assert_eq!(socket.lock().unwrap().written, "", "still held");
    queue.release();
    assert_eq!(socket.lock().unwrap().written, "handshake");
}
