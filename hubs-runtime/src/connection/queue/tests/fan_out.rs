//! A fan-out's writes (see [`FanOutWrites`]) and the storage its bursts keep.

use super::*;

/// Lets the tasks a fan-out started run (the test's runtime has one thread).
async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_fan_out_writes_its_deliveries_in_one_write_by_a_task_of_its_own() {
    let socket = socket(usize::MAX);
    let (queue, mut receiver) = narrow_queue(&socket);
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    let mut writes = FanOutWrites::default();
    for delivery in ["a", "b", "c"] {
        queue.try_send_later(frame(delivery), &mut writes).unwrap();
    }
    assert_eq!(
        socket.lock().unwrap().runs,
        1,
        "nothing written while queuing"
    );
    drop(writes);
    settle().await;
    assert_eq!(socket.lock().unwrap().written, "abc");
    assert_eq!(socket.lock().unwrap().runs, 2, "one write for the three");
    // The connection's own task was not asked to do anything.
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().runs, 2);
}

#[tokio::test]
async fn what_the_socket_does_not_take_of_a_fan_out_is_left_to_the_receiver() {
    let socket = socket(2);
    let (queue, mut receiver) = narrow_queue(&socket);
    let mut writes = FanOutWrites::default();
    for delivery in ["ab", "cd"] {
        queue.try_send_later(frame(delivery), &mut writes).unwrap();
    }
    drop(writes);
    settle().await;
    assert_eq!(socket.lock().unwrap().written, "ab");
    // The receiver is woken for the rest, as a sender's write would wake it.
    assert!(receiver.shared.changed.load(Ordering::Acquire));
    socket.lock().unwrap().room = usize::MAX;
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().written, "abcd");
    // A sender's write that leaves the socket blocked before the fan-out's task runs: the
    // task leaves the queue to the receiver, which the socket wakes.
    let mut writes = FanOutWrites::default();
    queue.try_send_later(frame("ef"), &mut writes).unwrap();
    socket.lock().unwrap().room = 3;
    queue.try_send(frame("gh")).unwrap();
    assert_eq!(socket.lock().unwrap().written, "abcdefg");
    let runs = socket.lock().unwrap().runs;
    drop(writes);
    settle().await;
    assert_eq!(socket.lock().unwrap().runs, runs, "the task does not write");
    socket.lock().unwrap().room = usize::MAX;
    assert_eq!(poll_wire(&mut receiver), WireStatus::Idle);
    assert_eq!(socket.lock().unwrap().written, "abcdefgh");
}

#[tokio::test]
async fn a_fan_out_to_many_queues_writes_to_every_one() {
    let sockets: Vec<_> = (0..200).map(|_| socket(usize::MAX)).collect();
    let queues: Vec<_> = sockets.iter().map(narrow_queue).collect();
    let mut writes = FanOutWrites::default();
    for (queue, _) in &queues {
        queue.try_send_later(frame("x"), &mut writes).unwrap();
        queue.try_send_later(frame("y"), &mut writes).unwrap();
    }
    drop(writes);
    settle().await;
    for socket in &sockets {
        let socket = socket.lock().unwrap();
        assert_eq!((socket.written.as_str(), socket.runs), ("xy", 1));
    }
}

#[test]
fn outside_a_runtime_a_fan_out_is_written_when_its_writes_are_dropped() {
    let socket = socket(usize::MAX);
    let (queue, _receiver) = narrow_queue(&socket);
    let mut writes = FanOutWrites::default();
    queue.try_send_later(frame("a"), &mut writes).unwrap();
    assert_eq!(socket.lock().unwrap().written, "");
    drop(writes);
    assert_eq!(socket.lock().unwrap().written, "a");
}

#[tokio::test]
async fn a_small_burst_keeps_its_storage_for_the_next_until_a_sender_writes_to_an_idle_socket() {
    let socket = socket(usize::MAX);
    let (queue, receiver) = narrow_queue(&socket);
    let capacity = || receiver.shared.lock().items.capacity();
    let burst = |deliveries: &[&'static str]| {
        let mut writes = FanOutWrites::default();
        for &delivery in deliveries {
            queue.try_send_later(frame(delivery), &mut writes).unwrap();
        }
        writes
    };
    // A broadcast's deliveries are written as one burst.
    drop(burst(&["a", "b", "c"]));
    settle().await;
    let kept = capacity();
    assert!(
        (1..=KEPT_FOR_THE_NEXT_BURST).contains(&kept),
        "kept for the next burst, bounded"
    );
    // The next burst reuses it.
    let writes = burst(&["d", "e"]);
    assert_eq!(capacity(), kept);
    drop(writes);
    settle().await;
    // A send written straight to the idle socket (a ping, a Completion) frees it.
    queue.try_send(frame("ping")).unwrap();
    assert_eq!(capacity(), 0);
    assert_eq!(socket.lock().unwrap().written, "abcdeping");
}

#[tokio::test]
async fn a_large_burst_gives_its_storage_back_once_written() {
    let socket = socket(usize::MAX);
    let (queue, receiver) = narrow_queue(&socket);
    let mut writes = FanOutWrites::default();
    for _ in 0..40 {
        queue.try_send_later(frame("x"), &mut writes).unwrap();
    }
    drop(writes);
    settle().await;
    let state = receiver.shared.lock();
    assert_eq!((state.items.capacity(), state.bytes), (0, 0));
}
