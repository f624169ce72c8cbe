//! CPU time of guest processes (getrusage(2), times(2), wait4(2)).
//!
//! A guest process's code runs in its stub process on the host, so the
//! stub's CPU-time clock is the guest's user time; the Sentry threads that
//! serve its syscalls spend its system time. The kernel's own per-process
//! record ([`super::timers::ProcessAttrs`]) carries what earlier address
//! spaces (before an execve) and exited threads used.

use std::ops::AddAssign;
use std::time::Duration;

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub user: Duration,
    pub system: Duration,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.user += other.user;
        self.system += other.system;
    }
}

impl Usage {
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// The CPU time host process `pid` (all its threads) has used so far: its
/// process CPU-time clock, ((~pid) << 3) | CPUCLOCK_SCHED as
/// clock_getcpuclockid(3) makes it. Zero once it is gone.
pub fn host_process(pid: i32) -> Duration {
    const CPUCLOCK_SCHED: i32 = 2;
    if pid <= 0 {
        return Duration::ZERO;
    }
    read_clock(((!pid) << 3) | CPUCLOCK_SCHED)
}

/// The CPU time the calling host thread has used.
pub fn this_thread() -> Duration {
    read_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn read_clock(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer; an unknown clock is an error, not UB.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// Clock ticks ([`super::procinfo::CLK_TCK`] a second) as times(2) counts them.
pub fn ticks(d: Duration) -> i64 {
    (d.as_millis() * u128::from(super::procinfo::CLK_TCK) / 1000) as i64
}

/// (seconds, microseconds) of a struct timeval.
pub fn timeval(d: Duration) -> (i64, i64) {
    (d.as_secs() as i64, d.subsec_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_clock_counts_this_threads_work() {
        let start = host_process(std::process::id() as i32);
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(host_process(std::process::id() as i32) > start);
        assert!(this_thread() > Duration::ZERO);
        assert_eq!(host_process(-1), Duration::ZERO);
        assert_eq!(ticks(Duration::from_millis(1234)), 123);
        assert_eq!(timeval(Duration::from_micros(2_000_345)), (2, 345));
    }
}
