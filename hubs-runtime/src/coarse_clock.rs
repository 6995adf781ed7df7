//! A clock the send path reads for the price of one load: a thread of its own moves it on
//! every [`TICK`]. Connections stamp their last send with it, so the keep-alive can spare a
//! connection that was sent something within the interval without a clock read per delivery
//! of a broadcast. ASP.NET Core does not spare them: to save that clock read, its stamp moves
//! only when it pings, so it pings every interval whatever else it sent.
//!
//! It may only lag, never lead: a stamp is no later than the send it marks. If the thread
//! cannot be started the clock stays at its start, every stamp looks old and every ping is
//! sent, as with no clock at all.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How often the clock moves on: a ping goes out at most this much before its interval has
/// passed since the last send.
const TICK: Duration = Duration::from_millis(250);

struct Clock {
    started: Instant,
    /// Whole ticks from `started` to the last time the thread looked.
    ticks: AtomicU32,
}

fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        // The thread waits in `clock()` until this closure has returned.
        let _ = std::thread::Builder::new()
            .name("hubs-clock".into())
            .spawn(|| {
                let clock = clock();
                loop {
                    std::thread::sleep(TICK);
                    let ticks = clock.started.elapsed().as_millis() / TICK.as_millis();
                    clock
                        .ticks
                        .store(u32::try_from(ticks).unwrap_or(u32::MAX), Ordering::Relaxed);
                }
            });
        Clock {
            started: Instant::now(),
            ticks: AtomicU32::new(0),
        }
    })
}

/// The time now, in ticks; no later than the real time.
#[inline]
pub(crate) fn now() -> u32 {
    clock().ticks.load(Ordering::Relaxed)
}

/// The instant `ticks` stands for.
pub(crate) fn instant(ticks: u32) -> Instant {
    clock().started + TICK * ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_on_and_never_leads_the_real_time() {
        let first = now();
        std::thread::sleep(TICK * 3);
        let later = now();
        assert!(later > first, "{first} -> {later}");
        assert!(instant(later) <= Instant::now());
        // A busy machine may delay the thread, never by this much.
        assert!(Instant::now() - instant(later) < Duration::from_secs(2));
    }
}
