//! Clocks and sleeps. Wall and monotonic clocks are the host's.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
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

/// The process whose CPU time clock `id` reads: CLOCK_PROCESS_CPUTIME_ID
/// or clock_getcpuclockid(3)'s ((~pid) << 3) | CPUCLOCK_SCHED for a live
/// process of the sandbox (pid 0: the caller); EINVAL for another pid.
/// None for other clocks (thread CPU clocks included).
fn process_cpu_clock(task: &Task, id: i32) -> Result<Option<i32>> {
    const CPUCLOCK_PERTHREAD: i32 = 4;
    if id == libc::CLOCK_PROCESS_CPUTIME_ID {
        return Ok(Some(task.tgid));
    }
    // The caller's own thread clock: while it is the only thread, its
    // process's (the stub's clock cannot be split between threads).
    let own_thread = id == libc::CLOCK_THREAD_CPUTIME_ID || (id < 0 && id & 7 == 6 && id >> 3 == -1);
    if own_thread && task.group.thread_count() == 1 {
        return Ok(Some(task.tgid));
    }
    if id >= 0 || id & 7 != 2 || id & CPUCLOCK_PERTHREAD != 0 {
        return Ok(None);
    }
    match !(id >> 3) {
        0 => Ok(Some(task.tgid)),
        pid if task.kernel.processes.exists(pid) => Ok(Some(pid)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn clock_gettime(task: &mut Task, a: Args) -> Result<u64> {
    CURRENT_TGID.with(|t| t.set(task.tgid));
    let (sec, nsec) = match process_cpu_clock(task, a.i32(0))? {
        Some(pid) => {
            let used = task.kernel.proc_attrs.cpu_of(pid, pid == task.tgid).total();
            (used.as_secs() as i64, i64::from(used.subsec_nanos()))
        }
        None => {
            let ts = now(host_clock(a.i32(0))?)?;
            (ts.tv_sec, ts.tv_nsec)
        }
    };
    task.mm.write_val(a.u64(1), &[sec, nsec])?;
    Ok(0)
}

pub fn clock_getres(task: &mut Task, a: Args) -> Result<u64> {
    CURRENT_TGID.with(|t| t.set(task.tgid));
    if process_cpu_clock(task, a.i32(0))?.is_some() {
        // CPU-time clocks count nanoseconds.
        if a.u64(1) != 0 {
            task.mm.write_val(a.u64(1), &[0i64, 1])?;
        }
        return Ok(0);
    }
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

/// CAP_SYS_TIME (capabilities(7)).
const CAP_SYS_TIME: u32 = 25;

/// clock_settime(2): only CLOCK_REALTIME can be set (EINVAL for any other
/// clock), the time is read (EFAULT) and checked (EINVAL), and then setting
/// it needs CAP_SYS_TIME (EPERM). The sandbox's clock is the host's, which
/// no guest may change, so a privileged caller gets EPERM too.
pub fn clock_settime(task: &mut Task, a: Args) -> Result<u64> {
    if a.i32(0) != libc::CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    read_timespec(task, a.u64(1))?;
    set_host_time(task)
}

/// settimeofday(2): the timeval is checked (EFAULT, then EINVAL for
/// microseconds outside 0..1000000 or negative seconds), then a timezone
/// outside ±15 hours (EINVAL); then as clock_settime. A call with neither
/// only checks the privilege.
pub fn settimeofday(task: &mut Task, a: Args) -> Result<u64> {
    if a.u64(0) != 0 {
        let tv: [i64; 2] = task.mm.read_val(a.u64(0))?;
        if tv[0] < 0 || !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
    }
    if a.u64(1) != 0 {
        let tz: [i32; 2] = task.mm.read_val(a.u64(1))?;
        if !task.creds.capable(CAP_SYS_TIME) {
            return Err(Errno::EPERM);
        }
        if !(-15 * 60..=15 * 60).contains(&tz[0]) {
            return Err(Errno::EINVAL);
        }
    }
    if a.u64(0) == 0 && a.u64(1) == 0 {
        return if task.creds.capable(CAP_SYS_TIME) {
            Ok(0)
        } else {
            Err(Errno::EPERM)
        };
    }
    set_host_time(task)
}

fn set_host_time(task: &Task) -> Result<u64> {
    if task.creds.capable(CAP_SYS_TIME) {
        tracing::debug!("the guest may not set the host's clock: EPERM");
    }
    Err(Errno::EPERM)
}

/// sizeof(struct __kernel_timex) on x86-64.
const TIMEX_SIZE: usize = 208;
/// adjtimex(2) status bit: the clock is not synchronised.
const STA_UNSYNC: i32 = 0x40;
/// adjtimex(2) return value of a clock whose status is in error (unsynchronised).
const TIME_ERROR: u64 = 5;

/// adjtimex(2). A query (modes 0) reports the clock as Linux reports one that
/// nothing disciplines: STA_UNSYNC, the default error bounds and tick, and
/// TIME_ERROR; NTP state of the host is not shown. A change needs CAP_SYS_TIME
/// (EPERM) and is refused even with it: the clock is the host's.
pub fn adjtimex(task: &mut Task, a: Args) -> Result<u64> {
    adjust_realtime(task, a.u64(0))
}

/// clock_adjtime(2): CLOCK_REALTIME as adjtimex; another valid clock cannot
/// be adjusted (EOPNOTSUPP); an unknown one is EINVAL.
pub fn clock_adjtime(task: &mut Task, a: Args) -> Result<u64> {
    CURRENT_TGID.with(|t| t.set(task.tgid));
    host_clock(a.i32(0))?;
    if a.i32(0) != libc::CLOCK_REALTIME {
        return Err(Errno::EOPNOTSUPP);
    }
    adjust_realtime(task, a.u64(1))
}

fn adjust_realtime(task: &Task, addr: u64) -> Result<u64> {
    let mut tx = [0u8; TIMEX_SIZE];
    task.mm.read(addr, &mut tx)?;
    let modes = u32::from_le_bytes([tx[0], tx[1], tx[2], tx[3]]);
    if modes != 0 {
        return set_host_time(task);
    }
    let ts = now(libc::CLOCK_REALTIME)?;
    let mut put = |off: usize, v: i64| tx[off..off + 8].copy_from_slice(&v.to_le_bytes());
    // NTP_PHASE_LIMIT (µs), the error bounds of an unsynchronised clock.
    put(24, 16_000_000);
    put(32, 16_000_000);
    put(48, 2); // time_constant
    put(56, 1); // precision (µs)
    put(64, 500 << 16); // tolerance: MAXFREQ, 500 ppm scaled by 2^16
    put(72, ts.tv_sec);
    put(80, ts.tv_nsec / 1000);
    put(88, 10_000); // tick: µs per USER_HZ tick
    tx[40..44].copy_from_slice(&STA_UNSYNC.to_le_bytes());
    task.mm.write(addr, &tx)?;
    Ok(TIME_ERROR)
}

pub fn time(task: &mut Task, a: Args) -> Result<u64> {
    let secs = now(libc::CLOCK_REALTIME)?.tv_sec;
    if a.u64(0) != 0 {
        task.mm.write_val(a.u64(0), &secs)?;
    }
    Ok(secs as u64)
}

/// times(2): the process's and its reaped children's user and system time
/// in clock ticks (see kernel/cputime.rs); returns the host's tick count.
pub fn times(task: &mut Task, a: Args) -> Result<u64> {
    use crate::kernel::cputime::ticks;
    // SAFETY: all-zero is a valid struct tms; the host fills it.
    let mut host: libc::tms = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    let now = unsafe { libc::times(&mut host) };
    if a.u64(0) != 0 {
        let own = task.kernel.proc_attrs.cpu_of(task.tgid, true);
        let children = task.kernel.proc_attrs.get(task.tgid).children_cpu;
        let tms = [
            ticks(own.user),
            ticks(own.system),
            ticks(children.user),
            ticks(children.system),
        ];
        task.mm.write_val(a.u64(0), &tms)?;
    }
    Ok(now as u64)
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
