//! What every soak process agrees on: the load, the schedule on the shared monotonic clock,
//! and the message formats the checks rely on.

use serde::{Deserialize, Serialize};

/// Nanoseconds on `CLOCK_MONOTONIC`: one clock for the driver's processes, so a sender's
/// stamp and a receiver's clock compare directly.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the struct passed by pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A Tokio instant for a point on the shared clock.
pub(crate) fn instant_at(ns: u64) -> tokio::time::Instant {
    let now = now_ns();
    let base = tokio::time::Instant::now();
    if ns > now {
        base + std::time::Duration::from_nanos(ns - now)
    } else {
        base
    }
}

/// The soak's load and schedule, handed from the orchestrator to each worker as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// The server's port on 127.0.0.1.
    pub(crate) port: u16,
    /// Worker processes; worker `w` owns connections `w, w + workers, ...`.
    pub(crate) workers: usize,
    /// SignalR connections in all (announcers included).
    pub(crate) connections: usize,
    /// Every `long_polling_every`-th connection uses Long Polling, the others WebSockets.
    pub(crate) long_polling_every: usize,
    /// Groups `g0` .. `g{groups-1}`; every connection is in one at a time.
    pub(crate) groups: usize,
    /// Broadcasts per second over all announcers.
    pub(crate) broadcasts_per_sec: f64,
    /// Group sends per second over all announcers.
    pub(crate) group_sends_per_sec: f64,
    /// Seconds between one connection's echoes (and, times three, its streams, uploads and
    /// group moves).
    pub(crate) echo_every_secs: f64,
    /// Share of the churnable connections replaced per minute.
    pub(crate) churn_per_minute: f64,
    /// Actions left out (`echo`, `stream`, `upload`, `move`), to tell which one a finding
    /// depends on.
    #[serde(default)]
    pub(crate) skip: Vec<String>,
    /// Connecting starts (shared clock, ns).
    pub(crate) start_ns: u64,
    /// Every connection is open; churn begins.
    pub(crate) steady_ns: u64,
    /// Nothing new is started after this; churn stops.
    pub(crate) stop_ns: u64,
    /// Announcers send their last message on every stream.
    pub(crate) final_ns: u64,
    /// Every receiver checks that it has everything, then closes.
    pub(crate) check_ns: u64,
}

impl Plan {
    /// Connections worker `w` owns.
    pub(crate) fn slots_of(&self, worker: usize) -> Vec<usize> {
        (worker..self.connections).step_by(self.workers).collect()
    }

    /// Whether connection `slot` uses Long Polling. Announcers (the first `workers` slots)
    /// always use WebSockets.
    pub(crate) fn is_long_polling(&self, slot: usize) -> bool {
        slot >= self.workers
            && self.long_polling_every > 0
            && slot.is_multiple_of(self.long_polling_every)
    }

    /// Announcers: the first slot of each worker; they never churn.
    pub(crate) fn is_announcer(&self, slot: usize) -> bool {
        slot < self.workers
    }
}

/// A numbered message from an announcer: `{sender}|{stream}|{seq}|{sent}|{prev}|{last}`,
/// where `stream` is `b` (broadcast) or a group, `prev` the send time of the stream's
/// previous message (0 for the first), `last` 1 on the stream's final message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Numbered<'a> {
    /// Which announcer.
    pub(crate) sender: &'a str,
    /// `b` or the group.
    pub(crate) stream: &'a str,
    /// 1, 2, 3, ... per (sender, stream).
    pub(crate) seq: u64,
    /// Shared-clock send time.
    pub(crate) sent_ns: u64,
    /// Send time of `seq - 1`.
    pub(crate) prev_ns: u64,
    /// The stream's final message.
    pub(crate) last: bool,
}

impl<'a> Numbered<'a> {
    /// The text form.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.sender,
            self.stream,
            self.seq,
            self.sent_ns,
            self.prev_ns,
            u8::from(self.last)
        )
    }

    /// Reads the text form.
    pub(crate) fn decode(text: &'a str) -> Option<Self> {
        let mut parts = text.split('|');
        let sender = parts.next()?;
        let stream = parts.next()?;
        let seq = parts.next()?.parse().ok()?;
        let sent_ns = parts.next()?.parse().ok()?;
        let prev_ns = parts.next()?.parse().ok()?;
        let last = parts.next()? == "1";
        Some(Self {
            sender,
            stream,
            seq,
            sent_ns,
            prev_ns,
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_round_trip() {
        let n = Numbered {
            sender: "a3",
            stream: "g17",
            seq: 42,
            sent_ns: 123,
            prev_ns: 100,
            last: true,
        };
        assert_eq!(Numbered::decode(&n.encode()), Some(n));
    }
}
