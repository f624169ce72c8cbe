//! eventfd, eventfd2, timerfd_create, timerfd_settime and timerfd_gettime.

use super::Args;
use crate::errno::{Errno, Result};
use crate::fs::anon;
use crate::fs::eventfd::EventFd;
use crate::fs::timerfd::{Nanos, Setting, TimerFd};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use std::sync::Arc;

const EFD_SEMAPHORE: i32 = 1;
const TFD_TIMER_ABSTIME: i32 = 1;
const TFD_TIMER_CANCEL_ON_SET: i32 = 2;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CAP_WAKE_ALARM: u32 = 35;
const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// Installs an anonymous file; O_NONBLOCK and O_CLOEXEC come from `flags`.
fn install<T: std::any::Any + Send + Sync>(
    task: &Task,
    name: &str,
    object: Arc<T>,
    ops: Arc<dyn crate::vfs::FileOps>,
    flags: i32,
) -> Result<u64> {
    let file = anon::new_file(name, object, ops, libc::O_RDWR | (flags & libc::O_NONBLOCK));
    let fd = task.fds.insert(file, flags & libc::O_CLOEXEC != 0)?;
    Ok(fd as u64)
}

fn do_eventfd(task: &mut Task, initial: u32, flags: i32) -> Result<u64> {
    if flags & !(EFD_SEMAPHORE | libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let counter = Arc::new(EventFd::new(initial as u64, flags & EFD_SEMAPHORE != 0));
    install(task, "eventfd", counter.clone(), counter, flags)
}

pub fn eventfd(task: &mut Task, a: Args) -> Result<u64> {
    do_eventfd(task, a.u32(0), 0)
}

pub fn eventfd2(task: &mut Task, a: Args) -> Result<u64> {
    do_eventfd(task, a.u32(0), a.i32(1))
}

/// The host clock of a timerfd clock id (timerfd_create(2) EINVAL, EPERM).
fn timer_clock(task: &Task, clock: i32) -> Result<libc::clockid_t> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME => Ok(clock),
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => {
            if task.creds.cap_effective & (1 << CAP_WAKE_ALARM) == 0 {
                return Err(Errno::EPERM);
            }
            Ok(if clock == CLOCK_REALTIME_ALARM {
                libc::CLOCK_REALTIME
            } else {
                libc::CLOCK_BOOTTIME
            })
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn timerfd_create(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(1);
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let timer = Arc::new(TimerFd::new(timer_clock(task, a.i32(0))?));
    install(task, "timerfd", timer.clone(), timer, flags)
}

/// The timer behind fd (EBADF; EINVAL if it is not a timerfd).
fn timer_of(task: &Task, fd: i32) -> Result<Arc<TimerFd>> {
    let file = task.fds.get(fd)?;
    anon::object_of::<TimerFd>(&file).ok_or(Errno::EINVAL)
}

/// A struct timespec in nanoseconds (EINVAL unless normalized).
fn timespec_nanos(ts: [i64; 2]) -> Result<Nanos> {
    if ts[0] < 0 || !(0..NANOS_PER_SEC as i64).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok(ts[0] as Nanos * NANOS_PER_SEC + ts[1] as Nanos)
}

fn timespec_of(n: Nanos) -> [i64; 2] {
    let secs = i64::try_from(n / NANOS_PER_SEC).unwrap_or(i64::MAX);
    [secs, (n % NANOS_PER_SEC) as i64]
}

/// struct itimerspec {it_interval, it_value}.
fn write_setting(task: &Task, addr: u64, s: Setting) -> Result<()> {
    let [isec, insec] = timespec_of(s.interval);
    let [vsec, vnsec] = timespec_of(s.value);
    task.mm.write_val(addr, &[isec, insec, vsec, vnsec])
}

pub fn timerfd_settime(task: &mut Task, a: Args) -> Result<u64> {
    let raw: [i64; 4] = task.mm.read_val(a.u64(2))?;
    let flags = a.i32(1);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let new = Setting {
        interval: timespec_nanos([raw[0], raw[1]])?,
        value: timespec_nanos([raw[2], raw[3]])?,
    };
    let timer = timer_of(task, a.fd(0))?;
    // TFD_TIMER_CANCEL_ON_SET is accepted: nothing in the sandbox sets
    // the clock, so the read never fails with ECANCELED.
    let old = timer.set(new, flags & TFD_TIMER_ABSTIME != 0)?;
    if a.u64(3) != 0 {
        write_setting(task, a.u64(3), old)?;
    }
    Ok(0)
}

pub fn timerfd_gettime(task: &mut Task, a: Args) -> Result<u64> {
    let timer = timer_of(task, a.fd(0))?;
    write_setting(task, a.u64(1), timer.get()?)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespecs_must_be_normalized() {
        assert_eq!(timespec_nanos([1, 5]), Ok(1_000_000_005));
        assert_eq!(timespec_nanos([-1, 0]), Err(Errno::EINVAL));
        assert_eq!(timespec_nanos([0, NANOS_PER_SEC as i64]), Err(Errno::EINVAL));
        assert_eq!(timespec_of(2_500_000_000), [2, 500_000_000]);
    }
}
