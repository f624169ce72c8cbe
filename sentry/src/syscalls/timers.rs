//! alarm(2), setitimer(2)/getitimer(2) and the POSIX timers
//! (timer_create(2) and friends). The timers and the thread that fires
//! them are in kernel::timers.
//!
//! Limits: ITIMER_VIRTUAL, ITIMER_PROF and timers on the CPU-time clocks
//! count elapsed time (the guest's CPU time is not accounted); absolute
//! CLOCK_REALTIME deadlines are converted to a delay when set.

use super::creds::CAP_WAKE_ALARM;
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::timers::{Notify, TimerValue, ITIMER_REAL};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use std::time::Duration;

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const SIGRTMAX: i32 = 64;

/// Starts the kernel's timer thread before the first timer is armed.
fn start(task: &Task) -> Result<()> {
    task.kernel.timers.start(&task.kernel)
}

/// A (seconds, fraction) pair in units of 1/`per_sec`; negative seconds
/// or an out-of-range fraction are EINVAL.
fn duration(sec: i64, frac: i64, per_sec: i64) -> Result<Duration> {
    if sec < 0 || !(0..per_sec).contains(&frac) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(sec as u64, (frac * (1_000_000_000 / per_sec)) as u32))
}

/// struct itimerval / itimerspec: the interval first, then the value.
fn read_timer_value(task: &Task, addr: u64, per_sec: i64) -> Result<TimerValue> {
    let v: [i64; 4] = task.mm.read_val(addr)?;
    Ok(TimerValue {
        interval: duration(v[0], v[1], per_sec)?,
        value: duration(v[2], v[3], per_sec)?,
    })
}

fn write_timer_value(task: &Task, addr: u64, t: TimerValue, per_sec: u32) -> Result<()> {
    let div = 1_000_000_000 / per_sec;
    let v = [
        t.interval.as_secs() as i64,
        (t.interval.subsec_nanos() / div) as i64,
        t.value.as_secs() as i64,
        (t.value.subsec_nanos() / div) as i64,
    ];
    task.mm.write_val(addr, &v)
}

const USEC: i64 = 1_000_000;
const NSEC: i64 = 1_000_000_000;

fn itimer_which(which: i32) -> Result<usize> {
    match which {
        0..=2 => Ok(which as usize),
        _ => Err(Errno::EINVAL),
    }
}

pub fn alarm(task: &mut Task, a: Args) -> Result<u64> {
    let secs = a.u32(0);
    if secs != 0 {
        start(task)?;
    }
    let new = TimerValue {
        value: Duration::from_secs(secs as u64),
        interval: Duration::ZERO,
    };
    let old = task.kernel.timers.set_itimer(task.tgid, ITIMER_REAL, new);
    // alarm(2) returns whole seconds, rounded to nearest, and never 0 for
    // a pending alarm.
    let mut left = old.value.as_secs();
    let usec = old.value.subsec_micros();
    if (left == 0 && usec != 0) || usec >= 500_000 {
        left += 1;
    }
    Ok(left)
}

pub fn setitimer(task: &mut Task, a: Args) -> Result<u64> {
    // A NULL new value disarms (a Linux misfeature kept for old programs).
    let new = if a.u64(1) != 0 {
        read_timer_value(task, a.u64(1), USEC)?
    } else {
        TimerValue::default()
    };
    let which = itimer_which(a.i32(0))?;
    if !new.value.is_zero() {
        start(task)?;
    }
    let old = task.kernel.timers.set_itimer(task.tgid, which, new);
    if a.u64(2) != 0 {
        write_timer_value(task, a.u64(2), old, USEC as u32)?;
    }
    Ok(0)
}

pub fn getitimer(task: &mut Task, a: Args) -> Result<u64> {
    let which = itimer_which(a.i32(0))?;
    let cur = task.kernel.timers.get_itimer(task.tgid, which);
    write_timer_value(task, a.u64(1), cur, USEC as u32)?;
    Ok(0)
}

/// Checks that `clock` can carry a timer; returns the host clock that
/// tells its current time.
fn timer_clock(task: &Task, clock: i32) -> Result<libc::clockid_t> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => Ok(clock),
        libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM => {
            if !task.creds.capable(CAP_WAKE_ALARM) {
                return Err(Errno::EPERM);
            }
            Ok(if clock == libc::CLOCK_REALTIME_ALARM {
                libc::CLOCK_REALTIME
            } else {
                libc::CLOCK_BOOTTIME
            })
        }
        // As clock_gettime reports them: the Sentry thread's CPU time.
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Ok(libc::CLOCK_THREAD_CPUTIME_ID),
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => {
            Err(Errno::EOPNOTSUPP)
        }
        // clock_getcpuclockid(3) ids: ((~pid) << 3) | thread flag (4) |
        // clock type (0-2). glibc's timer_create passes these for
        // CLOCK_PROCESS_CPUTIME_ID (-6) and CLOCK_THREAD_CPUTIME_ID (-2),
        // with pid 0 for the caller. Other processes' clocks are refused.
        id if id < 0 && id & 3 != 3 => {
            let pid = !(id >> 3);
            let own = if id & 4 != 0 { task.tid } else { task.tgid };
            if pid == 0 || pid == own {
                Ok(libc::CLOCK_THREAD_CPUTIME_ID)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// How long until `clock` reads `target`.
fn until(clock: libc::clockid_t, target: Duration) -> Result<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    let now = Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, NSEC - 1) as u32);
    Ok(target.saturating_sub(now))
}

/// Whether `tid` may receive the caller's SIGEV_THREAD_ID signals: the
/// caller itself or another thread. Thread-group membership of other
/// threads is not checked.
fn thread_of_caller(task: &Task, tid: i32) -> bool {
    if tid == task.tid || tid == task.tgid {
        return true;
    }
    let known = task
        .kernel
        .signal_queues
        .lock()
        .map(|q| q.contains_key(&tid))
        .unwrap_or(false);
    // Another process's leader is a different thread group.
    known && task.kernel.processes.pgid_of(tid).is_none()
}

pub fn timer_create(task: &mut Task, a: Args) -> Result<u64> {
    let (clock, sevp, idp) = (a.i32(0), a.u64(1), a.u64(2));
    // struct sigevent: sigev_value, sigev_signo, sigev_notify, then
    // sigev_notify_thread_id; 64 bytes.
    let event = if sevp != 0 {
        Some(task.mm.read_val::<[u64; 8]>(sevp)?)
    } else {
        None
    };
    timer_clock(task, clock)?;
    let (notify, value_is_id) = match event {
        // No sigevent: SIGALRM to the process, si_value the timer id.
        None => (
            Notify::Signal {
                signo: libc::SIGALRM,
                value: 0,
                target: task.tgid,
            },
            true,
        ),
        Some(ev) => {
            let value = ev[0];
            let signo = ev[1] as u32 as i32;
            let how = (ev[1] >> 32) as u32 as i32;
            let tid = ev[2] as u32 as i32;
            let signo_ok = (1..=SIGRTMAX).contains(&signo);
            let notify = match how {
                SIGEV_NONE => Notify::None,
                // SIGEV_THREAD is the C library's business; to the kernel
                // it is a signal to the process.
                SIGEV_SIGNAL | SIGEV_THREAD if signo_ok => Notify::Signal {
                    signo,
                    value,
                    target: task.tgid,
                },
                SIGEV_THREAD_ID if signo_ok && thread_of_caller(task, tid) => Notify::Signal {
                    signo,
                    value,
                    target: tid,
                },
                _ => return Err(Errno::EINVAL),
            };
            (notify, false)
        }
    };
    let id = task.kernel.timers.create(task.tgid, clock, notify, value_is_id)?;
    if let Err(e) = task.mm.write_val(idp, &id) {
        let _ = task.kernel.timers.delete(task.tgid, id);
        return Err(e);
    }
    Ok(0)
}

pub fn timer_settime(task: &mut Task, a: Args) -> Result<u64> {
    let (id, flags, new, old) = (a.i32(0), a.i32(1), a.u64(2), a.u64(3));
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let mut value = read_timer_value(task, new, NSEC)?;
    let clock = task.kernel.timers.clock_of(task.tgid, id)?;
    if flags & libc::TIMER_ABSTIME != 0 && !value.value.is_zero() {
        // A time already past fires at once (a zero delay would disarm).
        value.value = until(timer_clock(task, clock)?, value.value)?.max(Duration::from_nanos(1));
    }
    if !value.value.is_zero() {
        start(task)?;
    }
    let previous = task.kernel.timers.settime(task.tgid, id, value)?;
    if old != 0 {
        write_timer_value(task, old, previous, NSEC as u32)?;
    }
    Ok(0)
}

pub fn timer_gettime(task: &mut Task, a: Args) -> Result<u64> {
    let cur = task.kernel.timers.gettime(task.tgid, a.i32(0))?;
    write_timer_value(task, a.u64(1), cur, NSEC as u32)?;
    Ok(0)
}

pub fn timer_getoverrun(task: &mut Task, a: Args) -> Result<u64> {
    Ok(task.kernel.timers.getoverrun(task.tgid, a.i32(0))? as u64)
}

pub fn timer_delete(task: &mut Task, a: Args) -> Result<u64> {
    task.kernel.timers.delete(task.tgid, a.i32(0))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_validated() {
        assert_eq!(duration(1, 500_000, USEC), Ok(Duration::from_millis(1500)));
        assert_eq!(duration(0, 999_999_999, NSEC), Ok(Duration::new(0, 999_999_999)));
        assert_eq!(duration(-1, 0, USEC), Err(Errno::EINVAL));
        assert_eq!(duration(0, USEC, USEC), Err(Errno::EINVAL));
        assert_eq!(duration(0, -1, NSEC), Err(Errno::EINVAL));
    }

    #[test]
    fn until_a_past_time_is_zero() {
        assert_eq!(until(libc::CLOCK_MONOTONIC, Duration::ZERO), Ok(Duration::ZERO));
        let far = until(libc::CLOCK_REALTIME, Duration::from_secs(u32::MAX as u64)).unwrap();
        assert!(far > Duration::from_secs(1 << 30));
    }
}
