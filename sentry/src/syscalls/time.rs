//! Clocks and sleeps. Wall and monotonic clocks are the host's.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use std::time::Duration;

thread_local! {
    /// The calling task's tgid, for per-process CPU clock ids.
    pub(crate) static CURRENT_TGID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Clocks the guest may read (clock_gettime(2)).
fn host_clock(id: i32) -> Result<libc::clockid_t> {
    match id {
        libc::CLOCK_REALTIME
        | libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_REALTIME_COARSE
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME
        | libc::CLOCK_TAI => Ok(id),
        // The guest's CPU time is spent in its stub; until tasks account it,
        // report the Sentry thread's.
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Ok(libc::CLOCK_THREAD_CPUTIME_ID),
        // clock_getcpuclockid(3): ((~pid) << 3) | CPUCLOCK_SCHED for a
        // process (pid 0 is the caller); only the caller's is known here.
        id if id < 0 && id & 7 == 2 => {
            let pid = !(id >> 3);
            let own = CURRENT_TGID.with(|t| t.get());
            if pid == 0 || pid == own {
                Ok(libc::CLOCK_THREAD_CPUTIME_ID)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

fn now(clock: libc::clockid_t) -> Result<libc::timespec> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    Ok(ts)
}

pub fn clock_gettime(task: &mut Task, a: Args) -> Result<u64> {
    CURRENT_TGID.with(|t| t.set(task.tgid));
    let ts = now(host_clock(a.i32(0))?)?;
    task.mm.write_val(a.u64(1), &[ts.tv_sec, ts.tv_nsec])?;
    Ok(0)
}

pub fn clock_getres(task: &mut Task, a: Args) -> Result<u64> {
    CURRENT_TGID.with(|t| t.set(task.tgid));
    let clock = host_clock(a.i32(0))?;
    if a.u64(1) != 0 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out pointer.
        unsafe { libc::clock_getres(clock, &mut ts) };
        task.mm.write_val(a.u64(1), &[ts.tv_sec, ts.tv_nsec])?;
    }
    Ok(0)
}

pub fn gettimeofday(task: &mut Task, a: Args) -> Result<u64> {
    if a.u64(0) != 0 {
        let ts = now(libc::CLOCK_REALTIME)?;
        task.mm.write_val(a.u64(0), &[ts.tv_sec, ts.tv_nsec / 1000])?;
    }
    if a.u64(1) != 0 {
        // struct timezone is obsolete; Linux reports zeros by default.
        task.mm.write_val(a.u64(1), &[0i32, 0i32])?;
    }
    Ok(0)
}

pub fn time(task: &mut Task, a: Args) -> Result<u64> {
    let secs = now(libc::CLOCK_REALTIME)?.tv_sec;
    if a.u64(0) != 0 {
        task.mm.write_val(a.u64(0), &secs)?;
    }
    Ok(secs as u64)
}

pub fn times(task: &mut Task, a: Args) -> Result<u64> {
    // SAFETY: all-zero is a valid struct tms; the host fills it.
    let mut tms: libc::tms = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    let ticks = unsafe { libc::times(&mut tms) };
    if a.u64(0) != 0 {
        task.mm
            .write_val(a.u64(0), &[tms.tms_utime as i64, tms.tms_stime as i64, 0, 0])?;
    }
    Ok(ticks as u64)
}

fn read_timespec(task: &Task, addr: u64) -> Result<[i64; 2]> {
    let ts: [i64; 2] = task.mm.read_val(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

/// Time left until the absolute time `ts` on the realtime or monotonic clock.
pub(super) fn until_absolute(realtime: bool, ts: [i64; 2]) -> Result<Duration> {
    let cur = now(if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    })?;
    let target = ts[0] as i128 * 1_000_000_000 + ts[1] as i128;
    let current = cur.tv_sec as i128 * 1_000_000_000 + cur.tv_nsec as i128;
    Ok(Duration::from_nanos((target - current).max(0) as u64))
}

pub fn nanosleep(task: &mut Task, a: Args) -> Result<u64> {
    let ts = read_timespec(task, a.u64(0))?;
    sleep_reporting_rest(task, Duration::new(ts[0] as u64, ts[1] as u32), a.u64(1))
}

/// A relative sleep; when a signal ends it early, the time left goes to
/// `rem` if given (nanosleep(2)). Never restarted by SA_RESTART.
fn sleep_reporting_rest(task: &Task, dur: Duration, rem: u64) -> Result<u64> {
    let start = std::time::Instant::now();
    match task.signal_queue.sleep(dur, task.signals.mask) {
        Ok(()) => Ok(0),
        Err(e) => {
            if rem != 0 {
                let left = dur.saturating_sub(start.elapsed());
                task.mm
                    .write_val(rem, &[left.as_secs() as i64, left.subsec_nanos() as i64])?;
            }
            Err(e)
        }
    }
}

pub fn clock_nanosleep(task: &mut Task, a: Args) -> Result<u64> {
    let (clock, flags) = (a.i32(0), a.i32(1));
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
        // Valid clocks that cannot be slept on (clock_nanosleep(2) ENOTSUP).
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP)
        }
        _ => return Err(Errno::EINVAL),
    }
    let ts = read_timespec(task, a.u64(2))?;
    if flags & libc::TIMER_ABSTIME != 0 {
        // An absolute sleep has no remaining time to report.
        let wait = until_absolute(clock == libc::CLOCK_REALTIME || clock == libc::CLOCK_TAI, ts)?;
        return sleep(task, wait);
    }
    sleep_reporting_rest(task, Duration::new(ts[0] as u64, ts[1] as u32), a.u64(3))
}

/// Sleeps; a signal the task does not block ends the sleep with EINTR
/// (nanosleep(2): never restarted by SA_RESTART; `rem` is not written).
fn sleep(task: &Task, dur: Duration) -> Result<u64> {
    task.signal_queue.sleep(dur, task.signals.mask)?;
    Ok(0)
}
