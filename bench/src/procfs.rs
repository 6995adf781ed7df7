//! CPU time and memory of a process, read from `/proc`.

use std::fs;

/// CPU time a process has used so far, in nanoseconds: the sum of its threads' run time from
/// `/proc/<pid>/task/*/schedstat` (nanosecond resolution), or utime + stime from
/// `/proc/<pid>/stat` (clock ticks) where schedstat is missing. Threads that already exited are
/// only counted by the fallback; the contestants do not start short-lived threads.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    schedstat_ns(pid).or_else(|| stat_ns(pid))
}

fn schedstat_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        let Ok(text) = fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|s| s.parse::<u64>().ok())
        {
            total += ns;
            any = true;
        }
    }
    any.then_some(total)
}

fn stat_ns(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may contain spaces, closed by the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 1_000_000_000 / clock_ticks())
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// Resident memory of a process in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:").map(|kib| kib * 1024)
}

/// Peak resident memory of a process in bytes (`VmHWM`).
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:").map(|kib| kib * 1024)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// How many file descriptors a process has open.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct passed by pointer only.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

/// Machine-wide CPU counters (`/proc/stat`), to see how busy the machine was over a window.
#[derive(Debug, Clone, Copy)]
pub struct SystemSample {
    busy: u64,
    total: u64,
}

impl SystemSample {
    /// Samples the counters now.
    pub fn take() -> Self {
        let text = fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = text
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let total: u64 = fields.iter().take(8).sum();
        // idle and iowait are the 4th and 5th counters.
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Self {
            busy: total - idle,
            total,
        }
    }

    /// Cores busy on average since `earlier` (all processes).
    pub fn busy_cores_since(&self, earlier: &SystemSample) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(earlier.busy) as f64 / total as f64 * cores() as f64
    }
}

/// Cores this machine has online.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A sample of one process's CPU time, to take differences over a window.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    /// CPU nanoseconds used by the process so far.
    pub cpu_ns: u64,
    /// When the sample was taken.
    pub at: std::time::Instant,
}

impl CpuSample {
    /// Samples `pid` now (zero CPU when the process is gone).
    pub fn take(pid: u32) -> Self {
        Self {
            cpu_ns: cpu_ns(pid).unwrap_or(0),
            at: std::time::Instant::now(),
        }
    }

    /// CPU nanoseconds used since `earlier`.
    pub fn cpu_since(&self, earlier: &CpuSample) -> u64 {
        self.cpu_ns.saturating_sub(earlier.cpu_ns)
    }

    /// Share of one core used since `earlier` (1.0 = one core busy all the time).
    pub fn utilization_since(&self, earlier: &CpuSample) -> f64 {
        let wall = self.at.duration_since(earlier.at).as_nanos() as f64;
        if wall == 0.0 {
            0.0
        } else {
            self.cpu_since(earlier) as f64 / wall
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(cpu_ns(pid).unwrap() > 0);
        assert!(stat_ns(pid).is_some());
        assert!(rss_bytes(pid).unwrap() > 1024 * 1024);
        assert!(open_fds(pid).unwrap() >= 3);
    }
}
