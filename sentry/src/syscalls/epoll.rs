//! epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait and
//! epoll_pwait2 (epoll(7)). The interest list and readiness rules live in
//! `fs::epoll`; waiting is `vfs::readiness`'s, ended by a signal with EINTR
//! (signal(7): epoll_wait is never restarted).

use super::poll::{deadline_after, read_timespec, with_mask};
use super::Args;
use crate::errno::{Errno, Result};
use crate::fs::epoll::{self, Epoll, Event, EPOLLEXCLUSIVE, EPOLLWAKEUP, EVENT_SIZE, EXCLUSIVE_OK};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::readiness::{self, Attempt};
use std::sync::Arc;
use std::time::Duration;

const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;
/// The most events one epoll_wait may ask for (the kernel's EP_MAX_EVENTS).
const MAX_EVENTS: i32 = (i32::MAX as usize / EVENT_SIZE) as i32;
/// The end of the user address range (access_ok).
const USER_END: u64 = 0x7fff_ffff_f000;
const CAP_BLOCK_SUSPEND: u32 = 36;

fn create(task: &Task, flags: i32) -> Result<u64> {
    let file = epoll::new_file();
    Ok(task.fds.insert(file, flags & libc::O_CLOEXEC != 0)? as u64)
}

pub fn epoll_create(task: &mut Task, a: Args) -> Result<u64> {
    if a.i32(0) <= 0 {
        return Err(Errno::EINVAL);
    }
    create(task, 0)
}

pub fn epoll_create1(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(0);
    if flags & !libc::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create(task, flags)
}

/// The checks of epoll_ctl(2) on an EPOLLEXCLUSIVE request (EINVAL).
fn check_exclusive(op: i32, events: u32, target_is_epoll: bool) -> Result<()> {
    if events & EPOLLEXCLUSIVE == 0 {
        return Ok(());
    }
    if op == EPOLL_CTL_MOD || (op == EPOLL_CTL_ADD && (target_is_epoll || events & !EXCLUSIVE_OK != 0)) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

pub fn epoll_ctl(task: &mut Task, a: Args) -> Result<u64> {
    let (epfd, op, fd, event_addr) = (a.fd(0), a.i32(1), a.fd(2), a.u64(3));
    // The event is read first, for every op but DEL (which ignores it).
    let (mut events, data) = if op != EPOLL_CTL_DEL {
        let raw = task.mm.read_vec(event_addr, EVENT_SIZE)?;
        let events = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let mut data = [0u8; 8];
        data.copy_from_slice(&raw[4..12]);
        (events, u64::from_le_bytes(data))
    } else {
        (0, 0)
    };
    let epfile = task.fds.get(epfd)?;
    let target = task.fds.get(fd)?;
    // Files that cannot be polled (regular files, directories): EPERM.
    let st = target.dentry.inode.stat()?;
    if st.is_regular() || st.is_dir() {
        return Err(Errno::EPERM);
    }
    if task.creds.cap_effective & (1 << CAP_BLOCK_SUSPEND) == 0 {
        // epoll_ctl(2): EPOLLWAKEUP is silently dropped without the capability.
        events &= !EPOLLWAKEUP;
    }
    let ep = Epoll::of(&epfile).ok_or(Errno::EINVAL)?;
    if Arc::ptr_eq(&epfile, &target) {
        return Err(Errno::EINVAL);
    }
    if op != EPOLL_CTL_DEL {
        check_exclusive(op, events, Epoll::of(&target).is_some())?;
    }
    match op {
        EPOLL_CTL_ADD => ep.add(fd, &target, events, data)?,
        EPOLL_CTL_MOD => ep.modify(fd, &target, events, data)?,
        EPOLL_CTL_DEL => ep.remove(fd, &target)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// The events in struct epoll_event layout (packed: u32 events, u64 data).
fn encode(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * EVENT_SIZE);
    for (mask, data) in events {
        out.extend_from_slice(&mask.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
    }
    out
}

/// The common part of the epoll_wait family.
fn do_wait(task: &mut Task, epfd: i32, addr: u64, max: i32, timeout: Option<Duration>) -> Result<u64> {
    if max <= 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let end = addr.checked_add(max as u64 * EVENT_SIZE as u64);
    if end.is_none_or(|e| e > USER_END) {
        return Err(Errno::EFAULT);
    }
    let ep = Epoll::of(&*task.fds.get(epfd)?).ok_or(Errno::EINVAL)?;
    let deadline = deadline_after(timeout);
    let found = readiness::wait_on(&task.signal_queue, task.signals.mask, deadline, || {
        let (events, hint) = ep.scan(max as usize, true)?;
        Ok(if events.is_empty() {
            Attempt::Wait(hint)
        } else {
            Attempt::Done(events)
        })
    })?
    .unwrap_or_default();
    if !found.is_empty() {
        task.mm.write(addr, &encode(&found))?;
    }
    Ok(found.len() as u64)
}

/// An epoll_wait timeout in milliseconds: negative waits forever.
fn millis(ms: i32) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

pub fn epoll_wait(task: &mut Task, a: Args) -> Result<u64> {
    do_wait(task, a.fd(0), a.u64(1), a.i32(2), millis(a.i32(3)))
}

pub fn epoll_pwait(task: &mut Task, a: Args) -> Result<u64> {
    let (epfd, addr, max, timeout) = (a.fd(0), a.u64(1), a.i32(2), millis(a.i32(3)));
    with_mask(task, a.u64(4), a.u64(5), |t| do_wait(t, epfd, addr, max, timeout))
}

pub fn epoll_pwait2(task: &mut Task, a: Args) -> Result<u64> {
    let timeout = read_timespec(task, a.u64(3))?;
    let (epfd, addr, max) = (a.fd(0), a.u64(1), a.i32(2));
    with_mask(task, a.u64(4), a.u64(5), |t| do_wait(t, epfd, addr, max, timeout))
}
