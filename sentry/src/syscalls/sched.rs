//! Nice values, scheduling policies and parameters, CPU affinity and getcpu
//! (sched(7), setpriority(2), sched_setattr(2)).
//!
//! Nice values and policies are stored and reported but do not change how
//! the host schedules the Sentry's threads.

use super::creds::CAP_SYS_NICE;
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::timers::{ProcessAttrs, SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER, SCHED_RR};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
const MAX_RT_PRIO: i32 = 99;

/// The processes a PRIO_PROCESS/PGRP/USER argument names.
fn prio_targets(task: &Task, which: i32, who: i32) -> Result<Vec<i32>> {
    let k = &task.kernel;
    Ok(match which {
        PRIO_PROCESS => {
            if who == 0 || who == task.tid || who == task.tgid {
                vec![task.tgid]
            } else if who > 0 && k.processes.pgid_of(who).is_some() {
                vec![who]
            } else {
                Vec::new()
            }
        }
        PRIO_PGRP => k.processes.live_pids(Some(if who == 0 { task.pgid } else { who })),
        PRIO_USER => {
            let uid = if who == 0 { task.creds.uid } else { who as u32 };
            k.procs
                .snapshot()
                .into_iter()
                .filter(|(_, e)| e.creds.uid == uid)
                .map(|(pid, _)| pid)
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// The real uid of process `pid` as /proc knows it.
fn uid_of(task: &Task, pid: i32) -> Option<u32> {
    if pid == task.tgid {
        return Some(task.creds.uid);
    }
    task.kernel.procs.creds_of(pid).map(|c| c.uid)
}

/// Whether the caller may change process `pid`'s scheduling: it is the
/// caller's own or has the caller's effective uid as its uid, or the caller
/// has CAP_SYS_NICE (setpriority(2), sched_setscheduler(2)).
fn same_owner_or_nice(task: &Task, pid: i32) -> bool {
    pid == task.tgid || task.creds.capable(CAP_SYS_NICE) || uid_of(task, pid).is_some_and(|uid| uid == task.creds.euid)
}

/// can_nice(): lowering the nice value to `nice` needs CAP_SYS_NICE or an
/// RLIMIT_NICE of at least 20 - nice.
fn can_nice(task: &Task, nice: i32) -> bool {
    task.creds.capable(CAP_SYS_NICE) || (20 - nice) as u64 <= task.rlimits[libc::RLIMIT_NICE as usize].0
}

pub fn getpriority(task: &mut Task, a: Args) -> Result<u64> {
    let targets = prio_targets(task, a.i32(0), a.i32(1))?;
    // The highest priority (lowest nice value), as 20 - nice: 1..=40.
    targets
        .iter()
        .map(|&pid| 20 - task.kernel.proc_attrs.get(pid).nice)
        .max()
        .map(|v| v as u64)
        .ok_or(Errno::ESRCH)
}

pub fn setpriority(task: &mut Task, a: Args) -> Result<u64> {
    let targets = prio_targets(task, a.i32(0), a.i32(1))?;
    let nice = a.i32(2).clamp(-20, 19);
    let mut result = Err(Errno::ESRCH);
    for pid in targets {
        if !same_owner_or_nice(task, pid) {
            result = Err(Errno::EPERM);
            continue;
        }
        let current = task.kernel.proc_attrs.get(pid).nice;
        if nice < current && !can_nice(task, nice) {
            result = Err(Errno::EACCES);
            continue;
        }
        task.kernel.proc_attrs.update(pid, |p| p.nice = nice);
        if result == Err(Errno::ESRCH) {
            result = Ok(0);
        }
    }
    result
}

/// The process a sched_* pid argument names.
fn sched_target(task: &Task, pid: i32) -> Result<i32> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == task.tid || pid == task.tgid {
        return Ok(task.tgid);
    }
    task.kernel.processes.pgid_of(pid).map(|_| pid).ok_or(Errno::ESRCH)
}

fn is_rt(policy: i32) -> bool {
    matches!(policy, SCHED_FIFO | SCHED_RR)
}

/// The checks of sched_setscheduler(2) and sched_setparam(2) (`policy`
/// None), for a new policy and priority of process `pid` whose current
/// attributes are `cur`. Returns (policy, reset_on_fork).
fn check_sched(task: &Task, pid: i32, cur: &ProcessAttrs, policy: Option<i32>, prio: i32) -> Result<(i32, bool)> {
    let (policy, reset) = match policy {
        None => (cur.policy, cur.reset_on_fork),
        Some(p) => (p & !SCHED_RESET_ON_FORK, p & SCHED_RESET_ON_FORK != 0),
    };
    if !matches!(
        policy,
        SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE
    ) {
        return Err(Errno::EINVAL);
    }
    // SCHED_DEADLINE needs sched_setattr's runtime and deadline; real-time
    // policies need 1..=99, the others 0.
    if !(0..=MAX_RT_PRIO).contains(&prio) || policy == SCHED_DEADLINE || is_rt(policy) != (prio != 0) {
        return Err(Errno::EINVAL);
    }
    if !task.creds.capable(CAP_SYS_NICE) {
        let rtprio = task.rlimits[libc::RLIMIT_RTPRIO as usize].0;
        if is_rt(policy) {
            if policy != cur.policy && rtprio == 0 {
                return Err(Errno::EPERM);
            }
            if prio > cur.rt_priority && prio as u64 > rtprio {
                return Err(Errno::EPERM);
            }
        }
        if cur.policy == SCHED_IDLE && policy != SCHED_IDLE && !can_nice(task, cur.nice) {
            return Err(Errno::EPERM);
        }
        if !same_owner_or_nice(task, pid) || (cur.reset_on_fork && !reset) {
            return Err(Errno::EPERM);
        }
    }
    Ok((policy, reset))
}

fn set_sched(task: &Task, pid: i32, policy: Option<i32>, param: u64) -> Result<u64> {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = task.mm.read_val(param)?;
    let target = sched_target(task, pid)?;
    let cur = task.kernel.proc_attrs.get(target);
    let (policy, reset) = check_sched(task, target, &cur, policy, prio)?;
    task.kernel.proc_attrs.update(target, |p| {
        p.policy = policy;
        p.rt_priority = prio;
        p.reset_on_fork = reset;
    });
    Ok(0)
}

pub fn sched_setscheduler(task: &mut Task, a: Args) -> Result<u64> {
    let policy = a.i32(1);
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    set_sched(task, a.i32(0), Some(policy), a.u64(2))
}

pub fn sched_setparam(task: &mut Task, a: Args) -> Result<u64> {
    set_sched(task, a.i32(0), None, a.u64(1))
}

pub fn sched_getscheduler(task: &mut Task, a: Args) -> Result<u64> {
    let attrs = task.kernel.proc_attrs.get(sched_target(task, a.i32(0))?);
    let flag = if attrs.reset_on_fork { SCHED_RESET_ON_FORK } else { 0 };
    Ok((attrs.policy | flag) as u64)
}

pub fn sched_getparam(task: &mut Task, a: Args) -> Result<u64> {
    if a.u64(1) == 0 || a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    let attrs = task.kernel.proc_attrs.get(sched_target(task, a.i32(0))?);
    task.mm.write_val(a.u64(1), &attrs.rt_priority)?;
    Ok(0)
}

/// sched_rr_get_interval(2): SCHED_RR's 100 ms quantum (RR_TIMESLICE),
/// none for SCHED_FIFO, and for the fair policies a fixed 3 ms (Linux gives
/// the task's current CFS/EEVDF slice, which depends on the load).
pub fn sched_rr_get_interval(task: &mut Task, a: Args) -> Result<u64> {
    const RR_TIMESLICE_NS: i64 = 100_000_000;
    const FAIR_SLICE_NS: i64 = 3_000_000;
    let attrs = task.kernel.proc_attrs.get(sched_target(task, a.i32(0))?);
    let ns = match attrs.policy {
        SCHED_FIFO => 0,
        SCHED_RR => RR_TIMESLICE_NS,
        _ => FAIR_SLICE_NS,
    };
    task.mm.write_val(a.u64(1), &[0i64, ns])?;
    Ok(0)
}

/// sizeof(struct sched_attr): SCHED_ATTR_SIZE_VER0 and _VER1.
const SCHED_ATTR_SIZE_VER0: usize = 48;
const SCHED_ATTR_SIZE_VER1: usize = 56;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
/// SCHED_FLAG_ALL: every flag Linux 6.x knows.
const SCHED_FLAG_ALL: u64 = 0x7f;

/// sched_getattr(2): EINVAL for flags, a size below VER0 or above a page,
/// or no buffer; writes min(size, VER1) bytes with that size in `size`.
pub fn sched_getattr(task: &mut Task, a: Args) -> Result<u64> {
    let (pid, addr, size, flags) = (a.i32(0), a.u64(1), a.usize(2), a.u32(3));
    if addr == 0 || pid < 0 || flags != 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let attrs = task.kernel.proc_attrs.get(sched_target(task, pid)?);
    let size = size.min(SCHED_ATTR_SIZE_VER1);
    let mut b = [0u8; SCHED_ATTR_SIZE_VER1];
    b[0..4].copy_from_slice(&(size as u32).to_le_bytes());
    b[4..8].copy_from_slice(&(attrs.policy as u32).to_le_bytes());
    let flags = if attrs.reset_on_fork {
        SCHED_FLAG_RESET_ON_FORK
    } else {
        0
    };
    b[8..16].copy_from_slice(&flags.to_le_bytes());
    let nice = if is_rt(attrs.policy) { 0 } else { attrs.nice };
    b[16..20].copy_from_slice(&nice.to_le_bytes());
    b[20..24].copy_from_slice(&(attrs.rt_priority as u32).to_le_bytes());
    // sched_util_max (VER1) of a task without clamping: SCHED_CAPACITY_SCALE.
    b[52..56].copy_from_slice(&1024u32.to_le_bytes());
    task.mm.write(addr, &b[..size])?;
    Ok(0)
}

/// The fields of a struct sched_attr that sched_setattr uses.
struct SchedAttr {
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
}

/// Reads a struct sched_attr as sched_copy_attr() does: size 0 means
/// VER0; a size below VER0 or above a page, or non-zero bytes past what
/// is known, is E2BIG with the known size written back.
fn read_sched_attr(task: &Task, addr: u64) -> Result<SchedAttr> {
    let mut size = task.mm.read_val::<u32>(addr)? as usize;
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    let mut b = vec![0u8; size.clamp(SCHED_ATTR_SIZE_VER0, 4096)];
    task.mm.read(addr, &mut b)?;
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) || b.iter().skip(SCHED_ATTR_SIZE_VER1).any(|&x| x != 0) {
        task.mm.write_val(addr, &(SCHED_ATTR_SIZE_VER1 as u32))?;
        return Err(Errno::E2BIG);
    }
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    Ok(SchedAttr {
        policy: u32_at(4),
        flags: u64::from(u32_at(8)) | u64::from(u32_at(12)) << 32,
        // sched_copy_attr clamps the nice value rather than failing.
        nice: (u32_at(16) as i32).clamp(-20, 19),
        priority: u32_at(20),
    })
}

/// sched_setattr(2): policy, priority, nice and SCHED_FLAG_RESET_ON_FORK
/// with sched_setscheduler's checks; a lower nice value needs can_nice
/// (EPERM). SCHED_DEADLINE is EINVAL as in sched_setscheduler here.
pub fn sched_setattr(task: &mut Task, a: Args) -> Result<u64> {
    let (pid, addr, flags) = (a.i32(0), a.u64(1), a.u32(2));
    if addr == 0 || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let attr = read_sched_attr(task, addr)?;
    if attr.flags & !SCHED_FLAG_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let target = sched_target(task, pid)?;
    let cur = task.kernel.proc_attrs.get(target);
    let policy = if attr.flags & SCHED_FLAG_KEEP_POLICY != 0 {
        cur.policy
    } else {
        i32::try_from(attr.policy).map_err(|_| Errno::EINVAL)?
    };
    let reset = attr.flags & SCHED_FLAG_RESET_ON_FORK != 0;
    let keep_params = attr.flags & SCHED_FLAG_KEEP_PARAMS != 0;
    let prio = if keep_params {
        cur.rt_priority
    } else {
        i32::try_from(attr.priority).map_err(|_| Errno::EINVAL)?
    };
    let requested = policy | if reset { SCHED_RESET_ON_FORK } else { 0 };
    let (policy, reset) = check_sched(task, target, &cur, Some(requested), prio)?;
    let fair = !is_rt(policy);
    if fair && attr.nice < cur.nice && !can_nice(task, attr.nice) {
        return Err(Errno::EPERM);
    }
    task.kernel.proc_attrs.update(target, |p| {
        p.policy = policy;
        p.rt_priority = prio;
        p.reset_on_fork = reset;
        if fair {
            p.nice = attr.nice;
        }
    });
    Ok(0)
}

pub fn sched_get_priority_max(_task: &mut Task, a: Args) -> Result<u64> {
    match a.i32(0) {
        SCHED_FIFO | SCHED_RR => Ok(MAX_RT_PRIO as u64),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_get_priority_min(_task: &mut Task, a: Args) -> Result<u64> {
    match a.i32(0) {
        SCHED_FIFO | SCHED_RR => Ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// CPUs the guest sees (as sched_getaffinity reports them: 0..n).
fn online_cpus() -> usize {
    crate::fs::proc_sys::allowed_cpu_count()
}

/// Whether a cpu mask names at least one online cpu.
fn mask_has_online_cpu(mask: &[u8], ncpus: usize) -> bool {
    (0..ncpus).any(|cpu| mask.get(cpu / 8).is_some_and(|b| b & (1 << (cpu % 8)) != 0))
}

pub fn sched_setaffinity(task: &mut Task, a: Args) -> Result<u64> {
    let ncpus = online_cpus();
    // The kernel's cpumask size: longs enough for every cpu. A shorter
    // mask is zero-extended, a longer one cut.
    let len = a.usize(1).min(ncpus.div_ceil(64) * 8);
    let mask = task.mm.read_vec(a.u64(2), len)?;
    let pid = a.i32(0);
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    let target = sched_target(task, pid)?;
    if !same_owner_or_nice(task, target) {
        return Err(Errno::EPERM);
    }
    if !mask_has_online_cpu(&mask, ncpus) {
        return Err(Errno::EINVAL);
    }
    // Recorded for sched_getaffinity and getcpu; guest threads still run
    // wherever the host puts their Sentry threads.
    let bits = (0..ncpus.min(64))
        .filter(|&cpu| mask.get(cpu / 8).is_some_and(|b| b & (1 << (cpu % 8)) != 0))
        .fold(0u64, |m, cpu| m | 1 << cpu);
    task.kernel.proc_attrs.update(target, |a| a.cpu_mask = bits);
    Ok(0)
}

/// The CPUs process `tgid` may run on, as a bitmask over `ncpus` CPUs.
pub(super) fn cpu_mask(task: &Task, tgid: i32, ncpus: usize) -> u64 {
    let all = if ncpus >= 64 { u64::MAX } else { (1u64 << ncpus) - 1 };
    match task.kernel.proc_attrs.get(tgid).cpu_mask & all {
        0 => all,
        m => m,
    }
}

pub fn getcpu(task: &mut Task, a: Args) -> Result<u64> {
    // SAFETY: sched_getcpu has no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    let cpu = (cpu.max(0) as u32).min(online_cpus() as u32 - 1);
    // A CPU the caller's affinity allows: the host runs the Sentry thread
    // where it likes.
    let mask = cpu_mask(task, task.tgid, online_cpus());
    let cpu = if mask & (1 << cpu.min(63)) != 0 {
        cpu
    } else {
        mask.trailing_zeros()
    };
    if a.u64(0) != 0 {
        task.mm.write_val(a.u64(0), &cpu)?;
    }
    if a.u64(1) != 0 {
        task.mm.write_val(a.u64(1), &0u32)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_masks() {
        assert!(mask_has_online_cpu(&[0b1], 1));
        assert!(!mask_has_online_cpu(&[0b10], 1));
        assert!(mask_has_online_cpu(&[0, 0b1], 9));
        assert!(!mask_has_online_cpu(&[], 4));
    }
}
