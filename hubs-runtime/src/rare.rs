//! A hint that a path is rare, so the compiler lays the common path out as one run of code.
//!
//! A message's path crosses many small functions, and each of them interleaves its common
//! steps with branches for errors and rarer messages (with no hint, every arm of a `match` is
//! as likely as the others). The instruction cache then holds lines that are mostly code the
//! message does not run. `std::hint::cold_path` says the same from Rust 1.95; this crate
//! supports 1.88, where a call to a `#[cold]` function gives the branch the same weight.

/// Marks the branch it is called on as rare.
#[cold]
#[inline(never)]
pub(crate) fn rare() {}
