//! Asking the CPU for memory before it is read. A fan-out visits thousands of connections
//! whose state is out of the cache, one after the other; fetching the next ones while this
//! one is written to overlaps their waits instead of taking them in turn.

/// Starts loading the cache line at `at`. A hint: it reads nothing the program sees.
#[inline(always)]
pub(crate) fn prefetch<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes nothing but the cache, whatever the address.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
