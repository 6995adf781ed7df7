//! Waits that rarely end (an abort, a close requested by hub code, a close of every
//! connection), polled only after one of them may have.
//!
//! A connection's task wakes for every message, and polling a `CancellationToken`'s wait takes
//! two locks, on memory no message otherwise touches. Instead, such waits are polled with a
//! waker of their own that counts its wakes; between wakes, a poll reads that count and
//! nothing else.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The waker of the quiet waits of the futures one task polls (a WebSocket's writer and the
/// hub's read loop): each has its own [`Quiet`], and all share this.
#[derive(Clone, Default)]
pub(crate) struct QuietWakes(Arc<Wakes>);

impl QuietWakes {
    /// The quiet waits of one future of the task.
    pub(crate) fn gate(&self) -> Quiet {
        Quiet {
            wakes: Arc::clone(&self.0),
            seen: None,
        }
    }
}

/// The quiet waits of one future.
pub(crate) struct Quiet {
    wakes: Arc<Wakes>,
    /// The count of wakes when the waits were last polled; `None` before their first poll.
    seen: Option<u32>,
}

/// The waker the waits are polled with.
#[derive(Default)]
struct Wakes {
    count: AtomicU32,
    /// The task that polls the waits, woken in turn.
    task: AtomicWaker,
}

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Counted before the task is woken: the task's next poll sees the count.
        self.count.fetch_add(1, Ordering::AcqRel);
        self.task.wake();
    }
}

impl Quiet {
    /// Runs `poll_waits` (which polls the waits with the context it is given) on the first
    /// call and after one of the waits woke since; `Pending` otherwise.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll_waits: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.poll_waking(cx.waker(), poll_waits)
    }

    /// [`poll`](Self::poll), with `waker` (one that wakes this task) woken when a wait ends.
    /// The futures of one task share the registration: when they register the same waker it
    /// is kept, where different ones would each replace the other's with a clone.
    pub(crate) fn poll_waking<T>(
        &mut self,
        waker: &Waker,
        poll_waits: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        // Registered before the count is read: a wake after the read wakes this task.
        self.wakes.task.register(waker);
        let count = self.wakes.count.load(Ordering::Acquire);
        if self.seen == Some(count) {
            return Poll::Pending;
        }
        self.seen = Some(count);
        self.poll_one(poll_waits)
    }

    /// Makes the next [`poll`](Self::poll) poll the waits whatever the count: for a wait
    /// that was added, or one found ready outside [`poll`](Self::poll) (which then has to
    /// report it).
    pub(crate) fn reopen(&mut self) {
        self.seen = None;
    }

    /// How many times the waits of the task's futures have woken so far.
    pub(crate) fn wakes(&self) -> u32 {
        self.wakes.count.load(Ordering::Acquire)
    }

    /// Polls one wait at once with the waker of the waits, leaving the count alone: for a
    /// wait that changed, such as a timer that was reset, so that its next wake is seen
    /// without polling the others again.
    pub(crate) fn poll_one<T>(
        &self,
        poll_wait: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let waker = Waker::from(Arc::clone(&self.wakes));
        poll_wait(&mut Context::from_waker(&waker))
    }
}

/// The waker of one of the futures a task polls, noting that it was used, so that the task
/// polls that future only after it woke. A WebSocket's writer is woken for each fan-out
/// delivery the socket did not take at once; without this, each such wake would also poll
/// the hub's read loop, its socket's readiness included, for nothing.
pub(crate) struct OwnWaker {
    flag: Arc<Flag>,
    // Made once: a waker made per poll would count a reference up and down each time.
    waker: Waker,
}

struct Flag {
    woke: AtomicBool,
    /// The task's waker, kept from the first poll: a task's wakers all wake the same task, so
    /// this is woken by reference, with no slot to take it from and fill again per wake.
    task: OnceLock<Waker>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Set before the task is woken: the task's next poll sees it.
        self.woke.store(true, Ordering::Release);
        if let Some(task) = self.task.get() {
            task.wake_by_ref();
        }
    }
}

impl OwnWaker {
    /// A waker that counts as woken, so that the future is polled the first time.
    pub(crate) fn new() -> Self {
        let flag = Arc::new(Flag {
            woke: AtomicBool::new(true),
            task: OnceLock::new(),
        });
        let waker = Waker::from(Arc::clone(&flag));
        Self { flag, waker }
    }

    /// This waker, once a poll has told it the task it wakes.
    pub(crate) fn waker(&self) -> Option<&Waker> {
        self.flag.task.get().map(|_| &self.waker)
    }

    /// Polls with this waker if it woke since the last poll, or if `anyway`; `None` otherwise.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        anyway: bool,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Option<Poll<T>> {
        let task = self.flag.task.get_or_init(|| cx.waker().clone());
        if !task.will_wake(cx.waker()) {
            // Polled by another task than before: a waker for that one, and a poll with it,
            // so that everything the future waits for learns the new waker.
            *self = Self::new();
            self.flag.task.get_or_init(|| cx.waker().clone());
        }
        let woke =
            self.flag.woke.load(Ordering::Acquire) && self.flag.woke.swap(false, Ordering::AcqRel);
        if !woke && !anyway {
            return None;
        }
        Some(poll(&mut Context::from_waker(&self.waker)))
    }
}

#[cfg(test)]
mod tests {
    use std::future::{Future, poll_fn};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    use futures_util::FutureExt;
    use tokio_util::sync::CancellationToken;

    use super::{OwnWaker, QuietWakes};

    #[tokio::test]
    async fn a_wait_is_polled_again_only_after_it_woke() {
        let token = CancellationToken::new();
        let waited = token.clone().cancelled_owned();
        tokio::pin!(waited);
        let mut quiet = QuietWakes::default().gate();
        let mut polls = 0;
        let mut poll_once = || {
            poll_fn(|cx| {
                quiet.poll(cx, |cx| {
                    polls += 1;
                    waited.as_mut().poll(cx)
                })
            })
            .now_or_never()
        };
        assert_eq!(poll_once(), None);
        assert_eq!(poll_once(), None);
        token.cancel();
        assert_eq!(poll_once(), Some(()));
        assert_eq!(
            polls, 2,
            "polled on the first call and after the cancel only"
        );
    }

    #[tokio::test]
    async fn a_cancel_from_another_task_wakes_the_waiting_task() {
        let token = CancellationToken::new();
        let waited = token.clone().cancelled_owned();
        let cancel = tokio::spawn({
            let token = token.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                token.cancel();
            }
        });
        tokio::pin!(waited);
        let mut quiet = QuietWakes::default().gate();
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| quiet.poll(cx, |cx| waited.as_mut().poll(cx))),
        )
        .await;
        assert!(outcome.is_ok(), "the cancel woke the task");
        cancel.await.unwrap();
    }

    #[tokio::test]
    async fn futures_of_one_task_each_see_a_wake() {
        // A wake for one future's wait makes both poll theirs: neither misses its own.
        let wakes = QuietWakes::default();
        let (mut first, mut second) = (wakes.gate(), wakes.gate());
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        let (waited_a, waited_b) = (a.clone().cancelled_owned(), b.clone().cancelled_owned());
        tokio::pin!(waited_a, waited_b);
        let mut both = || {
            poll_fn(|cx| {
                let a = first.poll(cx, |cx| waited_a.as_mut().poll(cx));
                let b = second.poll(cx, |cx| waited_b.as_mut().poll(cx));
                Poll::Ready((a.is_ready(), b.is_ready()))
            })
            .now_or_never()
            .unwrap()
        };
        assert_eq!(both(), (false, false));
        b.cancel();
        assert_eq!(both(), (false, true));
        a.cancel();
        assert!(both().0);
    }

    /// A task's waker that counts its wakes.
    #[derive(Default)]
    struct Task(AtomicUsize);

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_future_with_its_own_waker_is_polled_only_after_it_woke() {
        let task = Arc::new(Task::default());
        let waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&waker);
        let token = CancellationToken::new();
        let waited = token.clone().cancelled_owned();
        tokio::pin!(waited);
        let mut own = OwnWaker::new();
        let mut polls = 0;
        let mut poll = |cx: &mut Context<'_>, anyway| {
            own.poll(cx, anyway, |cx| {
                polls += 1;
                waited.as_mut().poll(cx)
            })
            .map(|polled| polled.is_ready())
        };
        assert_eq!(poll(&mut cx, false), Some(false), "polled the first time");
        assert_eq!(
            poll(&mut cx, false),
            None,
            "a wake for someone else: not polled"
        );
        assert_eq!(
            poll(&mut cx, true),
            Some(false),
            "polled when asked to anyway"
        );
        token.cancel();
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "the task woke");
        assert_eq!(
            poll(&mut cx, false),
            Some(true),
            "polled after its own wake"
        );
        assert_eq!(polls, 3);
    }

    #[test]
    fn a_future_moved_to_another_task_is_polled_and_wakes_that_task() {
        let (first, second) = (Arc::new(Task::default()), Arc::new(Task::default()));
        let (first_waker, second_waker) = (Waker::from(first.clone()), Waker::from(second.clone()));
        let mut own = OwnWaker::new();
        let mut waker_seen = None;
        let mut poll = |waker: &Waker| {
            own.poll(&mut Context::from_waker(waker), false, |cx| {
                waker_seen = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
            .is_some()
        };
        assert!(poll(&first_waker));
        assert!(poll(&second_waker), "a new task polls it at once");
        waker_seen.expect("polled").wake();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }
}
