//! Waits that rarely end (an abort, a close requested by hub code, a close of every
//! connection), polled only after one of them may have.
//!
//! A connection's task wakes for every message, and polling a `CancellationToken`'s wait takes
//! two locks, on memory no message otherwise touches. Instead, such waits are polled with a
//! waker of their own that counts its wakes; between wakes, a poll reads that count and
//! nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
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
        // Registered before the count is read: a wake after the read wakes this task.
        self.wakes.task.register(cx.waker());
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

#[cfg(test)]
mod tests {
    use std::future::{Future, poll_fn};
    use std::time::Duration;

    use futures_util::FutureExt;
    use tokio_util::sync::CancellationToken;

    use super::QuietWakes;

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
                std::task::Poll::Ready((a.is_ready(), b.is_ready()))
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
}
