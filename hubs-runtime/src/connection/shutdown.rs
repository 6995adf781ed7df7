//! What a graceful shutdown needs from the connections layer: which endpoints a server has
//! served, and how many of their transports are still running.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

use super::ConnectionDispatcher;

/// Put into every request by `serve`: the endpoints that served one of its requests register
/// here, so that its shutdown reaches them.
#[derive(Clone)]
pub(crate) struct Served(Arc<ServedInner>);

struct ServedInner {
    id: u64,
    endpoints: Mutex<Vec<Weak<ConnectionDispatcher>>>,
}

impl Served {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Served(Arc::new(ServedInner {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            endpoints: Mutex::new(Vec::new()),
        }))
    }

    pub(super) fn id(&self) -> u64 {
        self.0.id
    }

    pub(super) fn add(&self, endpoint: &Arc<ConnectionDispatcher>) {
        let mut endpoints = self
            .0
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let known = endpoints
            .iter()
            .any(|e| std::ptr::eq(e.as_ptr(), Arc::as_ptr(endpoint)));
        if !known {
            endpoints.push(Arc::downgrade(endpoint));
        }
    }

    /// The endpoints still alive.
    pub(crate) fn endpoints(&self) -> Vec<Arc<ConnectionDispatcher>> {
        let endpoints = self
            .0
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        endpoints.iter().filter_map(Weak::upgrade).collect()
    }
}

/// How many transports of an endpoint are running, and a wake-up when none is.
#[derive(Default)]
pub(super) struct LiveCount {
    count: AtomicUsize,
    none: Notify,
}

impl LiveCount {
    pub(super) fn add(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn remove(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.none.notify_waiters();
        }
    }

    /// Resolves once no transport is running.
    pub(super) async fn none(&self) {
        loop {
            let woken = self.none.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            woken.await;
        }
    }
}

/// Counts one Long Polling or SSE transport as running until dropped.
pub(super) struct LiveGuard(Arc<LiveCount>);

impl LiveGuard {
    pub(super) fn new(live: &Arc<LiveCount>) -> Self {
        live.add();
        LiveGuard(Arc::clone(live))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.remove();
    }
}
