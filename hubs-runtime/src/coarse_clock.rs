//! A clock cheap enough to read on every send: milliseconds on the kernel's coarse monotonic
//! clock, which the vDSO reads from memory the kernel updates on each tick (no time counter
//! read, no system call). Connections stamp their last send with it, so the keep-alive can
//! spare a connection that was sent something within the interval. ASP.NET Core does not
//! spare them: to save a clock read per send, its stamp moves only when it pings, so it pings
//! every interval whatever else it sent.
//!
//! Readings are off by at most the kernel's tick (1 to 10 ms), and wrap after 49 days: only
//! differences of readings less than that apart are meaningful, which every stamp is, since
//! a ping (a send) goes out at least once per keep-alive interval. Elsewhere than Linux the
//! clock is `Instant`'s.

use std::time::Duration;

/// The time now, in milliseconds of an arbitrary, wrapping epoch.
#[inline]
pub(crate) fn now() -> u32 {
    imp::millis() as u32
}

/// How long ago `stamp`, a reading of [`now`], was.
pub(crate) fn since(stamp: u32) -> Duration {
    between(stamp, now())
}

/// The time from reading `earlier` to reading `later`, across the wrap.
fn between(earlier: u32, later: u32) -> Duration {
    Duration::from_millis(u64::from(later.wrapping_sub(earlier)))
}

#[cfg(target_os = "linux")]
mod imp {
    #[inline]
    pub(super) fn millis() -> u64 {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec for the call to write; CLOCK_MONOTONIC_COARSE
        // exists on every Linux since 2.6.32 and cannot fail with a valid pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
        (now.tv_sec as u64) * 1000 + (now.tv_nsec as u64) / 1_000_000
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;

    pub(super) fn millis() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_time_since_a_stamp_to_within_a_kernel_tick() {
        let stamp = now();
        std::thread::sleep(Duration::from_millis(100));
        let since = since(stamp);
        assert!(
            since >= Duration::from_millis(85) && since < Duration::from_secs(2),
            "{since:?}"
        );
    }

    #[test]
    fn a_stamp_from_before_the_wrap_still_measures() {
        assert_eq!(between(u32::MAX - 999, 4_000), Duration::from_secs(5));
        assert_eq!(between(1_000, 6_000), Duration::from_secs(5));
    }
}
