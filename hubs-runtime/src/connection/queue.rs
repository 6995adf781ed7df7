//! A connection's send queue: bounded, many senders (hub code, broadcasts, the read loop), one
//! receiver (the transport's writer).
//!
//! A channel would do, but an empty channel still holds its first block of slots (about
//! 2 KiB per connection here); this queue holds nothing while empty, which is most of the
//! time for most of 10,000 idle connections.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use super::Outgoing;

/// The sending side of a connection's queue. Cloning it adds a sender; the receiver sees the
/// end of the queue when every sender is gone.
#[derive(Debug)]
pub struct SendQueue {
    shared: Arc<Shared>,
}

/// The receiving side of a connection's queue: the transport's writer.
#[derive(Debug)]
pub struct QueueReceiver {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    capacity: usize,
    /// The receiver, waiting for an item.
    receiver: AtomicWaker,
    /// Senders waiting for room.
    room: Notify,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Outgoing>,
    senders: usize,
    receiver_gone: bool,
}

/// Why [`SendQueue::try_send`] did not queue an item; the item comes back.
#[derive(Debug)]
pub enum TrySendError {
    /// The queue holds `capacity` items.
    Full(Outgoing),
    /// The receiver is gone.
    Closed(Outgoing),
}

/// [`SendQueue::send`] failed: the receiver is gone.
#[derive(Debug)]
pub struct Closed(pub Outgoing);

/// Why [`QueueReceiver::try_recv`] returned nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and every sender is gone.
    Disconnected,
}

impl SendQueue {
    /// A queue of at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> (SendQueue, QueueReceiver) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::new(),
                senders: 1,
                receiver_gone: false,
            }),
            capacity: capacity.max(1),
            receiver: AtomicWaker::new(),
            room: Notify::new(),
        });
        (
            SendQueue {
                shared: Arc::clone(&shared),
            },
            QueueReceiver { shared },
        )
    }

    /// The most items the queue holds.
    pub fn max_capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Queues `item` if there is room.
    pub fn try_send(&self, item: Outgoing) -> Result<(), TrySendError> {
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return Err(TrySendError::Closed(item));
        }
        if state.items.len() >= self.shared.capacity {
            return Err(TrySendError::Full(item));
        }
        let was_empty = state.items.is_empty();
        state.items.push_back(item);
        drop(state);
        // A receiver only waits on an empty queue: later items find it awake.
        if was_empty {
            self.shared.receiver.wake();
        }
        Ok(())
    }

    /// Queues `item`, waiting for room.
    pub async fn send(&self, mut item: Outgoing) -> Result<(), Closed> {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            // Listening before trying: room made between the try and the wait is not missed.
            room.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(back)) => return Err(Closed(back)),
                Err(TrySendError::Full(back)) => item = back,
            }
            room.await;
        }
    }
}

impl Clone for SendQueue {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for SendQueue {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.shared.receiver.wake();
        }
    }
}

impl QueueReceiver {
    /// The next item; `None` once the queue is empty and every sender is gone.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item, or why there is none.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        // Registered before looking, so an item queued right after the look wakes us.
        self.shared.receiver.register(cx.waker());
        match self.try_recv() {
            Ok(item) => Poll::Ready(Some(item)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// The next item if one is queued now.
    pub fn try_recv(&mut self) -> Result<Outgoing, TryRecvError> {
        let mut state = self.shared.lock();
        let was_full = state.items.len() >= self.shared.capacity;
        let Some(item) = state.items.pop_front() else {
            return Err(if state.senders == 0 {
                TryRecvError::Disconnected
            } else {
                TryRecvError::Empty
            });
        };
        if state.items.is_empty() {
            // Most connections are idle most of the time: an empty queue holds no memory.
            state.items = VecDeque::new();
        }
        drop(state);
        // Senders wait only on a full queue, so only taking from a full one makes room for them.
        if was_full {
            self.shared.room.notify_waiters();
        }
        Ok(item)
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

impl Drop for QueueReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Dropped outside the lock: a paced frame's permit wakes its stream.
        let items = std::mem::take(&mut state.items);
        drop(state);
        drop(items);
        self.shared.room.notify_waiters();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frame(text: &'static str) -> Outgoing {
        Outgoing::Frame(Bytes::from_static(text.as_bytes()))
    }

    fn text(item: Outgoing) -> String {
        match item {
            Outgoing::Frame(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
            other => panic!("not a frame: {other:?}"),
        }
    }

    #[tokio::test]
    async fn items_arrive_in_order_and_the_end_after_the_last_sender() {
        let (queue, mut receiver) = SendQueue::new(8);
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
    async fn a_full_queue_refuses_try_send_and_holds_send_until_there_is_room() {
        let (queue, mut receiver) = SendQueue::new(2);
        queue.try_send(frame("a")).unwrap();
        queue.try_send(frame("b")).unwrap();
        assert!(matches!(
            queue.try_send(frame("c")),
            Err(TrySendError::Full(_))
        ));
        let waiting = tokio::spawn(async move { queue.send(frame("c")).await.is_ok() });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert_eq!(text(receiver.recv().await.unwrap()), "a");
        assert!(waiting.await.unwrap());
        assert_eq!(text(receiver.recv().await.unwrap()), "b");
        assert_eq!(text(receiver.recv().await.unwrap()), "c");
        assert!(receiver.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_an_item_from_another_task() {
        let (queue, mut receiver) = SendQueue::new(4);
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
        let (queue, receiver) = SendQueue::new(1);
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
        let (queue, mut receiver) = SendQueue::new(1024);
        for _ in 0..200 {
            queue.try_send(frame("x")).unwrap();
        }
        while receiver.try_recv().is_ok() {}
        assert_eq!(receiver.shared.lock().items.capacity(), 0);
    }
}
