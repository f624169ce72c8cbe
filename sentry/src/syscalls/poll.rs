//! poll, ppoll, select and pselect6 over the files' readiness. Waiting is
//! `vfs::readiness`'s: woken when a watched file notifies a change (or
//! every few ms for files that cannot); a signal ends it with EINTR, which
//! signal(7) says these calls never restart.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::readiness::{self, Attempt, WakeHint};
use std::time::{Duration, Instant};

/// revents for one fd (POLLNVAL for a closed one), and how to wait for it.
fn revents(task: &Task, fd: i32, events: i16) -> (i16, WakeHint) {
    if fd < 0 {
        return (0, WakeHint::Notified);
    }
    match task.fds.get(fd) {
        Ok(file) => {
            let wanted = events | libc::POLLHUP | libc::POLLERR;
            (file.ops.poll(wanted) & wanted, file.ops.wake_hint())
        }
        Err(_) => (libc::POLLNVAL, WakeHint::Notified),
    }
}

/// Runs `check` until it reports something ready, the deadline passes
/// (None: forever) or a signal arrives (EINTR).
fn wait_ready(task: &Task, deadline: Option<Instant>, mut check: impl FnMut() -> (usize, WakeHint)) -> Result<usize> {
    let found = readiness::wait_on(&task.signal_queue, task.signals.mask, deadline, || {
        Ok(match check() {
            (0, hint) => Attempt::Wait(hint),
            (ready, _) => Attempt::Done(ready),
        })
    })?;
    Ok(found.unwrap_or(0))
}

pub(super) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    // A timeout past the end of Instant's range is no timeout.
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Reads a struct timespec (None for a null pointer).
pub(super) fn read_timespec(task: &Task, addr: u64) -> Result<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = task.mm.read_val(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(ts[0] as u64, ts[1] as u32)))
}

fn do_poll(task: &mut Task, addr: u64, nfds: u64, timeout: Option<Duration>) -> Result<u64> {
    if nfds > task.fds.limit() {
        return Err(Errno::EINVAL);
    }
    let raw = task.mm.read_vec(addr, nfds as usize * 8)?;
    let mut fds: Vec<(i32, i16, i16)> = raw
        .chunks_exact(8)
        .map(|p| {
            (
                i32::from_le_bytes([p[0], p[1], p[2], p[3]]),
                i16::from_le_bytes([p[4], p[5]]),
                0,
            )
        })
        .collect();
    let deadline = deadline_after(timeout);
    let t: &Task = task;
    let ready = wait_ready(t, deadline, || {
        let mut n = 0;
        let mut hint = WakeHint::Notified;
        for entry in fds.iter_mut() {
            let (ready, wake) = revents(t, entry.0, entry.1);
            entry.2 = ready;
            n += usize::from(ready != 0);
            hint = hint.and(wake);
        }
        (n, hint)
    })?;
    let mut out = raw;
    for (i, entry) in fds.iter().enumerate() {
        out[i * 8 + 6..i * 8 + 8].copy_from_slice(&entry.2.to_le_bytes());
    }
    task.mm.write(addr, &out)?;
    Ok(ready as u64)
}

pub fn poll(task: &mut Task, a: Args) -> Result<u64> {
    let ms = a.i32(2);
    let timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
    do_poll(task, a.u64(0), a.u64(1), timeout)
}

/// Runs `f` with the signal mask replaced by the one at `mask_addr`, as
/// ppoll and pselect do atomically (the mask comes back afterwards, or
/// after the handler of a signal that interrupted the call).
pub(super) fn with_mask(
    task: &mut Task,
    mask_addr: u64,
    size: u64,
    f: impl FnOnce(&mut Task) -> Result<u64>,
) -> Result<u64> {
    if mask_addr == 0 {
        return f(task);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = task.mm.read_val(mask_addr)?;
    let old = task.signals.mask;
    task.signals.mask = mask & !((1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1)));
    let result = f(task);
    if result == Err(Errno::EINTR) {
        task.saved_mask = Some(old);
    } else {
        task.signals.mask = old;
    }
    result
}

/// ppoll(2), select(2) and pselect(2) write the time not slept back into
/// their timeout (`per_sec`: 10^6 for a timeval, 10^9 for a timespec),
/// whatever the result; a zero timeout is left alone, and a failed write
/// does not change the result (Linux's poll_select_finish).
fn write_back_remaining(task: &Task, addr: u64, timeout: Option<Duration>, start: Instant, per_sec: u32) {
    let Some(timeout) = timeout.filter(|t| !t.is_zero()) else {
        return;
    };
    if addr == 0 {
        return;
    }
    let left = timeout.saturating_sub(start.elapsed());
    let frac = left.subsec_nanos() / (1_000_000_000 / per_sec);
    let _ = task.mm.write_val(addr, &[left.as_secs() as i64, frac as i64]);
}

pub fn ppoll(task: &mut Task, a: Args) -> Result<u64> {
    let timeout = read_timespec(task, a.u64(2))?;
    let (addr, nfds) = (a.u64(0), a.u64(1));
    let start = Instant::now();
    let result = with_mask(task, a.u64(3), a.u64(4), |t| do_poll(t, addr, nfds, timeout));
    write_back_remaining(task, a.u64(2), timeout, start, 1_000_000_000);
    result
}

/// One fd_set: a bitmap of `nfds` bits in longs.
fn read_fd_set(task: &Task, addr: u64, nfds: usize) -> Result<Option<Vec<u64>>> {
    if addr == 0 {
        return Ok(None);
    }
    let words = nfds.div_ceil(64);
    let raw = task.mm.read_vec(addr, words * 8)?;
    Ok(Some(
        raw.chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .collect(),
    ))
}

fn write_fd_set(task: &Task, addr: u64, set: &Option<Vec<u64>>) -> Result<()> {
    if let Some(words) = set {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        task.mm.write(addr, &bytes)?;
    }
    Ok(())
}

fn do_select(task: &mut Task, a: Args, timeout: Option<Duration>) -> Result<u64> {
    let nfds = a.i32(0);
    if nfds < 0 || nfds as u64 > task.fds.limit().max(1024) {
        return Err(Errno::EINVAL);
    }
    // Linux only looks at fds below the size of the fd table (at least a
    // long's worth, then powers of two); bits above it are ignored.
    let table_size = task
        .fds
        .fds()
        .iter()
        .max()
        .map_or(0, |&m| m as usize + 1)
        .next_power_of_two()
        .max(64);
    let nfds = (nfds as usize).min(table_size);
    let sets = [
        read_fd_set(task, a.u64(1), nfds)?,
        read_fd_set(task, a.u64(2), nfds)?,
        read_fd_set(task, a.u64(3), nfds)?,
    ];
    let wanted = [
        libc::POLLIN | libc::POLLHUP | libc::POLLERR,
        libc::POLLOUT | libc::POLLERR,
        libc::POLLPRI,
    ];
    // Every fd named in any set must be open (select(2) EBADF).
    for set in sets.iter().flatten() {
        for fd in 0..nfds {
            if set[fd / 64] & (1 << (fd % 64)) != 0 && task.fds.get(fd as i32).is_err() {
                return Err(Errno::EBADF);
            }
        }
    }
    let mut results: [Option<Vec<u64>>; 3] = [None, None, None];
    let t: &Task = task;
    let ready = wait_ready(t, deadline_after(timeout), || {
        let mut count = 0;
        let mut hint = WakeHint::Notified;
        for (i, set) in sets.iter().enumerate() {
            let Some(set) = set else { continue };
            let mut out = vec![0u64; set.len()];
            for fd in 0..nfds {
                if set[fd / 64] & (1 << (fd % 64)) == 0 {
                    continue;
                }
                let (ready, wake) = revents(t, fd as i32, wanted[i]);
                hint = hint.and(wake);
                if ready & wanted[i] != 0 {
                    out[fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
            results[i] = Some(out);
        }
        (count, hint)
    })?;
    for (i, addr) in [a.u64(1), a.u64(2), a.u64(3)].into_iter().enumerate() {
        let cleared = sets[i].as_ref().map(|s| vec![0u64; s.len()]);
        write_fd_set(task, addr, if ready > 0 { &results[i] } else { &cleared })?;
    }
    Ok(ready as u64)
}

pub fn select(task: &mut Task, a: Args) -> Result<u64> {
    let timeout = if a.u64(4) == 0 {
        None
    } else {
        let tv: [i64; 2] = task.mm.read_val(a.u64(4))?;
        if tv[0] < 0 || !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(tv[0] as u64, tv[1] as u32 * 1000))
    };
    let start = Instant::now();
    let result = do_select(task, a, timeout);
    write_back_remaining(task, a.u64(4), timeout, start, 1_000_000);
    result
}

pub fn pselect6(task: &mut Task, a: Args) -> Result<u64> {
    let timeout = read_timespec(task, a.u64(4))?;
    // The sixth argument points at {const sigset_t *ss; size_t ss_len}.
    let (mask_addr, size) = if a.u64(5) == 0 {
        (0, 8)
    } else {
        let pair: [u64; 2] = task.mm.read_val(a.u64(5))?;
        (pair[0], pair[1])
    };
    let start = Instant::now();
    let result = with_mask(task, mask_addr, size, |t| do_select(t, a, timeout));
    write_back_remaining(task, a.u64(4), timeout, start, 1_000_000_000);
    result
}
