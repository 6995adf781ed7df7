//! Closing every connection of one endpoint at once (`HubContext::close_all`, and the server's
//! graceful shutdown), with one shared token rather than a task or timer per connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::lock;

/// The connections of an endpoint that started since its last close-all: one token they all
/// wait on, and how to close them once it is cancelled.
pub(crate) struct Round {
    pub(super) token: CancellationToken,
    allow_reconnect: AtomicBool,
}

impl Round {
    fn new() -> Arc<Self> {
        Arc::new(Round {
            token: CancellationToken::new(),
            allow_reconnect: AtomicBool::new(false),
        })
    }

    /// Whether the Close message tells clients they may reconnect.
    pub(super) fn allow_reconnect(&self) -> bool {
        self.allow_reconnect.load(Ordering::Acquire)
    }
}

/// One endpoint's close-all switch.
pub(crate) struct CloseAll {
    current: Mutex<Arc<Round>>,
    /// Set by a shutdown: the cancelled round is never replaced, so a connection that starts
    /// later (its upgrade was already under way) is closed as soon as it is served.
    stopped: AtomicBool,
}

impl Default for CloseAll {
    fn default() -> Self {
        Self {
            current: Mutex::new(Round::new()),
            stopped: AtomicBool::new(false),
        }
    }
}

impl CloseAll {
    /// The round a connection starting now belongs to.
    pub(super) fn round(&self) -> Arc<Round> {
        Arc::clone(&lock(&self.current))
    }

    /// Ends every connection served so far with a Close message. Unless `for_good`, later
    /// connections are served as usual.
    pub(crate) fn close(&self, allow_reconnect: bool, for_good: bool) {
        let mut current = lock(&self.current);
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        current
            .allow_reconnect
            .store(allow_reconnect, Ordering::Release);
        current.token.cancel();
        if for_good {
            self.stopped.store(true, Ordering::Release);
        } else {
            *current = Round::new();
        }
    }
}
