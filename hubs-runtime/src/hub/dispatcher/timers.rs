//! The read loop's timed duties: pings, acknowledgements, the client timeout and the
//! credentials' expiry, all on one timer.

use std::pin::Pin;
use std::sync::Arc;

use tokio::time::{Duration, Instant, Sleep};

use crate::auth::ConnectionUser;
use crate::coarse_clock;
use crate::connection::Quiet;
use crate::lifetime::HubConnection;
use crate::protocol::SequenceMessage;

use super::End;

/// How often stateful reconnect acknowledges the client's messages.
pub(super) const ACK_INTERVAL: Duration = Duration::from_secs(1);

/// What the timer is for, and when each duty is next due.
pub(super) struct Timers {
    pub(super) keep_alive: Duration,
    /// `None` without keep-alive.
    pub(super) next_ping: Option<Instant>,
    /// The connection's last-send stamp when `next_ping` was set (see `run_duties`).
    pub(super) sent_before_ping: u32,
    /// `None` without stateful reconnect.
    pub(super) next_ack: Option<Instant>,
    pub(super) client_timeout: Duration,
    /// Armed by the client's first Ping.
    pub(super) timeout_armed: bool,
    /// Set when the connection closes as its credentials expire.
    pub(super) expiring: Option<Arc<ConnectionUser>>,
}

impl Timers {
    /// The earliest duty, given when the client last sent something.
    /// The client timeout pauses while an invocation waits for a slot (`paused`): the
    /// client's messages go unread meanwhile, as in ASP.NET Core.
    pub(super) fn next_due(&self, last_message: Instant, paused: bool) -> Option<Instant> {
        let timeout = (self.timeout_armed && !paused).then(|| last_message + self.client_timeout);
        [self.next_ping, self.next_ack, timeout, self.expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether there is any duty, as [`next_due`](Self::next_due) would find one, without
    /// reading the clocks: asked once per message.
    #[inline]
    pub(super) fn has_duty(&self, paused: bool) -> bool {
        self.next_ping.is_some()
            || self.next_ack.is_some()
            || (self.timeout_armed && !paused)
            || self
                .expiring
                .as_ref()
                .is_some_and(|user| user.expires_at().is_some())
    }

    /// Does the duties that are due: a ping, an acknowledgement (of the id `unacknowledged`
    /// gives, if any), or the end of a connection that timed out or whose credentials expired.
    pub(super) fn run_duties(
        &mut self,
        connection: &HubConnection,
        last_message: Instant,
        paused: bool,
        unacknowledged: impl FnOnce() -> Option<u64>,
    ) -> Option<End> {
        let now = Instant::now();
        if self.expired() {
            return Some(End::failed(
                "AuthenticationExpired",
                "The connection's credentials expired.",
            ));
        }
        if self.timed_out(last_message, now, paused) {
            return Some(End::failed(
                "TimeoutException",
                "The client sent nothing within the client timeout interval.",
            ));
        }
        let protocol = connection.protocol();
        if self.next_ping.is_some_and(|due| due <= now) {
            // A connection sent something within the interval needs no ping yet: clients reset
            // their server timeout on any message. The next is due an interval after that send.
            // (ASP.NET Core pings every interval whatever it sent.) With nothing sent since the
            // ping was set, the interval has passed on the timer's clock: Tokio's, which a
            // test may pause and run ahead while the coarse clock of the stamps stands still.
            let stamp = connection.last_sent();
            let since = coarse_clock::since(stamp);
            if stamp != self.sent_before_ping && since < self.keep_alive {
                self.next_ping = Some(now + (self.keep_alive - since));
            } else {
                connection.deliver_own_control(protocol.write_ping());
                self.next_ping = Some(now + self.keep_alive);
            }
            self.sent_before_ping = connection.last_sent();
        }
        if self.next_ack.is_some_and(|due| due <= now) {
            self.next_ack = Some(now + ACK_INTERVAL);
            if let Some(received) = unacknowledged() {
                let ack = protocol.write_sequence_message(SequenceMessage::Ack, received);
                connection.deliver_own_control(ack);
            }
        }
        None
    }

    /// When the connection's credentials expire, if it closes then.
    fn expiry(&self) -> Option<Instant> {
        let expires_at = self.expiring.as_ref()?.expires_at()?;
        let left = expires_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        Some(Instant::now() + left)
    }

    fn expired(&self) -> bool {
        self.expiring
            .as_ref()
            .and_then(|user| user.expires_at())
            .is_some_and(|at| at <= std::time::SystemTime::now())
    }

    fn timed_out(&self, last_message: Instant, now: Instant, paused: bool) -> bool {
        self.timeout_armed && !paused && last_message + self.client_timeout <= now
    }
}

/// Moves the timer to `due`. Polled at once with the gate's waker: tokio does not promise
/// that a reset timer keeps the waker it had, and a timer already due must be seen.
pub(super) fn rearm(quiet: &mut Quiet, mut timer: Pin<&mut Sleep>, due: Instant) {
    timer.as_mut().reset(due);
    if quiet.poll_one(|cx| timer.poll(cx)).is_ready() {
        quiet.reopen();
    }
}
