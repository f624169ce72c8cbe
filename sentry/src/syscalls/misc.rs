//! prctl(2), personality(2), resource usage; and the task hooks that keep
//! their state across fork, exec and exit. (Nice values, scheduling
//! policies and affinity are in sched.rs.)

use super::creds::{CAP_LAST_CAP, CAP_SETPCAP};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::process::INIT_PID;
use crate::kernel::signals::SigInfo;
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};

const PR_SET_PDEATHSIG: i32 = 1;
const PR_GET_PDEATHSIG: i32 = 2;
const PR_GET_DUMPABLE: i32 = 3;
const PR_SET_DUMPABLE: i32 = 4;
const PR_GET_KEEPCAPS: i32 = 7;
const PR_SET_KEEPCAPS: i32 = 8;
const PR_SET_NAME: i32 = 15;
const PR_GET_NAME: i32 = 16;
const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_SET_TIMERSLACK: i32 = 29;
const PR_GET_TIMERSLACK: i32 = 30;
const PR_SET_CHILD_SUBREAPER: i32 = 36;
const PR_GET_CHILD_SUBREAPER: i32 = 37;
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_GET_NO_NEW_PRIVS: i32 = 39;
const PR_GET_THP_DISABLE: i32 = 42;
const PR_SET_THP_DISABLE: i32 = 41;
const PR_GET_SECCOMP: i32 = 21;

const NSIG: u64 = 64;

/// The comm of a program run as `path`: its last component, cut to 15
/// bytes and NUL-padded.
pub fn comm_from_path(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
    let mut comm = [0u8; 16];
    let n = base.len().min(15);
    comm[..n].copy_from_slice(&base[..n]);
    comm
}

impl Task {
    /// Hook for `Task::exec` once the new image is in place: the comm
    /// becomes the program's name, capabilities are recomputed
    /// (capabilities(7)), POSIX timers are deleted, the process is
    /// dumpable again.
    pub fn on_exec(&mut self, path: &[u8]) {
        self.comm.set(comm_from_path(path));
        self.creds.exec();
        self.kernel.timers.process_execed(self.tgid);
        self.kernel.proc_attrs.execed(self.tgid);
    }

    /// Hook for `Task::clone_process` before the child runs: the child
    /// inherits its parent's nice value, policy and dumpability.
    pub fn on_fork(&self, child: i32) {
        self.kernel.proc_attrs.forked(self.tgid, child);
    }

    /// Hook for `Task::process_exited`: the process's timers go, its
    /// children that asked for a parent-death signal get it, its peak RSS
    /// counts for its parent's RUSAGE_CHILDREN.
    pub fn on_process_exit(&self) {
        self.kernel.timers.process_exited(self.tgid);
        note_rss(self);
        // Read while the stub still runs; this thread's time is in already.
        let cpu = self.kernel.proc_attrs.cpu_of(self.tgid, false);
        for (child, signo) in self.kernel.proc_attrs.exited(self.tgid, INIT_PID, cpu) {
            let info = SigInfo {
                signo,
                code: 0, // SI_USER
                pid_or_addr: self.tgid as u64,
                uid: self.creds.uid,
                ..Default::default()
            };
            let _ = self.kernel.post_signal(child, info);
        }
    }
}

/// Records the task's mapped size as its process's RSS if it is the
/// largest seen; returns the high-water mark in KiB.
fn note_rss(task: &Task) -> u64 {
    let mapped: u64 = task
        .mm
        .maps()
        .iter()
        .filter(|(_, _, prot, _, _)| *prot != libc::PROT_NONE)
        .map(|(start, end, _, _, _)| end - start)
        .sum();
    let kb = mapped / 1024;
    task.kernel.proc_attrs.update(task.tgid, |a| {
        a.maxrss_kb = a.maxrss_kb.max(kb);
        a.maxrss_kb
    })
}

/// Reads prctl(PR_SET_NAME)'s string: up to 15 bytes, stopping at a NUL.
fn read_name(task: &Task, addr: u64) -> Result<[u8; 16]> {
    let mut comm = [0u8; 16];
    for (i, slot) in comm.iter_mut().take(15).enumerate() {
        let b: u8 = task.mm.read_val(addr.checked_add(i as u64).ok_or(Errno::EFAULT)?)?;
        if b == 0 {
            break;
        }
        *slot = b;
    }
    Ok(comm)
}

pub fn prctl(task: &mut Task, a: Args) -> Result<u64> {
    let (option, arg2) = (a.i32(0), a.u64(1));
    let rest_zero = a.u64(2) == 0 && a.u64(3) == 0 && a.u64(4) == 0;
    match option {
        PR_SET_PDEATHSIG => {
            if arg2 > NSIG {
                return Err(Errno::EINVAL);
            }
            let (tid, tgid, ppid) = (task.tid, task.tgid, task.ppid);
            task.kernel.proc_attrs.set_pdeathsig(tid, tgid, ppid, arg2 as i32);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = task.kernel.proc_attrs.pdeathsig(task.tid);
            task.mm.write_val(arg2, &sig)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(task.kernel.proc_attrs.get(task.tgid).dumpable as u64),
        PR_GET_TIMERSLACK => Ok(task.kernel.proc_attrs.get(task.tgid).timer_slack_ns),
        // A value of 0 (or, read as signed, below it) restores the default.
        PR_SET_TIMERSLACK => {
            task.kernel.proc_attrs.update(task.tgid, |p| {
                p.timer_slack_ns = if (arg2 as i64) <= 0 {
                    p.default_timer_slack_ns
                } else {
                    arg2
                };
            });
            Ok(0)
        }
        PR_GET_THP_DISABLE => {
            if arg2 != 0 || !rest_zero {
                return Err(Errno::EINVAL);
            }
            Ok(task.kernel.proc_attrs.get(task.tgid).thp_disable as u64)
        }
        PR_SET_THP_DISABLE => {
            if !rest_zero {
                return Err(Errno::EINVAL);
            }
            task.kernel.proc_attrs.update(task.tgid, |p| p.thp_disable = arg2 != 0);
            Ok(0)
        }
        // No guest runs in a seccomp mode here (seccomp(2) is not offered).
        PR_GET_SECCOMP => Ok(0),
        PR_SET_DUMPABLE => {
            // SUID_DUMP_ROOT (2) may not be set this way.
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            task.kernel.proc_attrs.update(task.tgid, |p| p.dumpable = arg2 as i32);
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(task.creds.keep_caps as u64),
        PR_SET_KEEPCAPS => {
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            task.creds.keep_caps = arg2 == 1;
            Ok(0)
        }
        PR_SET_NAME => {
            task.comm.set(read_name(task, arg2)?);
            Ok(0)
        }
        PR_GET_NAME => {
            task.mm.write(arg2, &task.comm.get())?;
            Ok(0)
        }
        PR_CAPBSET_READ => {
            if arg2 > CAP_LAST_CAP as u64 {
                return Err(Errno::EINVAL);
            }
            Ok((task.creds.cap_bounding >> arg2) & 1)
        }
        PR_CAPBSET_DROP => {
            if !task.creds.capable(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            if arg2 > CAP_LAST_CAP as u64 {
                return Err(Errno::EINVAL);
            }
            task.creds.cap_bounding &= !(1u64 << arg2);
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            task.kernel
                .proc_attrs
                .update(task.tgid, |p| p.child_subreaper = arg2 != 0);
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = task.kernel.proc_attrs.get(task.tgid).child_subreaper as i32;
            task.mm.write_val(arg2, &v)?;
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || !rest_zero {
                return Err(Errno::EINVAL);
            }
            task.no_new_privs = true;
            task.publish(); // NoNewPrivs of /proc/PID/status
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if arg2 != 0 || !rest_zero {
                return Err(Errno::EINVAL);
            }
            Ok(task.no_new_privs as u64)
        }
        // Everything else, seccomp included, is what a kernel built
        // without it answers.
        _ => Err(Errno::EINVAL),
    }
}

/// struct rusage: two timevals, then fourteen longs.
fn encode_rusage(utime: (i64, i64), stime: (i64, i64), longs: [i64; 14]) -> [u8; 144] {
    let mut b = [0u8; 144];
    let words = [utime.0, utime.1, stime.0, stime.1].into_iter().chain(longs);
    for (i, w) in words.enumerate() {
        b[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// ru_maxrss and the context switch counts sit at these indexes of the
/// fourteen longs.
pub(super) const RU_MAXRSS: usize = 0;
const RU_NVCSW: usize = 12;
const RU_NIVCSW: usize = 13;

/// getrusage(2): CPU time from kernel/cputime.rs (RUSAGE_THREAD reports
/// its process's user time, since a stub's threads share one clock here),
/// the peak RSS, and the serving Sentry thread's context switches.
pub fn getrusage(task: &mut Task, a: Args) -> Result<u64> {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let mut longs = [0i64; 14];
    let usage = match a.i32(0) {
        RUSAGE_SELF | RUSAGE_THREAD => {
            // SAFETY: all-zero is a valid struct rusage; the host fills it.
            let mut host: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: valid out pointer.
            unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut host) };
            longs[RU_MAXRSS] = note_rss(task) as i64;
            longs[RU_NVCSW] = host.ru_nvcsw;
            longs[RU_NIVCSW] = host.ru_nivcsw;
            task.kernel.proc_attrs.cpu_of(task.tgid, true)
        }
        RUSAGE_CHILDREN => {
            let attrs = task.kernel.proc_attrs.get(task.tgid);
            longs[RU_MAXRSS] = attrs.children_maxrss_kb as i64;
            attrs.children_cpu
        }
        _ => return Err(Errno::EINVAL),
    };
    task.mm.write(a.u64(1), &encode_usage(usage, longs))?;
    Ok(0)
}

/// A struct rusage with `usage`'s times.
pub(super) fn encode_usage(usage: crate::kernel::cputime::Usage, longs: [i64; 14]) -> [u8; 144] {
    use crate::kernel::cputime::timeval;
    encode_rusage(timeval(usage.user), timeval(usage.system), longs)
}

/// membarrier(2) commands (linux/membarrier.h).
const MEMBARRIER_CMD_QUERY: i32 = 0;
const MEMBARRIER_CMD_GLOBAL: i32 = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: i32 = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: i32 = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 16;
const MEMBARRIER_CMD_GET_REGISTRATIONS: i32 = 512;

/// membarrier(2). Guest threads run in stub processes on any host CPU, so
/// every barrier is the host's MEMBARRIER_CMD_GLOBAL (an RCU grace period,
/// after which every CPU has passed a full barrier): stronger than the
/// expedited commands ask for, and slower (milliseconds). A process with
/// one thread needs none for PRIVATE_EXPEDITED, as in Linux. The SYNC_CORE
/// and RSEQ commands are not offered (EINVAL, and not in QUERY's answer).
pub fn membarrier(task: &mut Task, a: Args) -> Result<u64> {
    let (cmd, flags) = (a.i32(0), a.u32(1));
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let registered = task.kernel.proc_attrs.get(task.tgid).membarrier;
    let register = |bit: i32| {
        task.kernel.proc_attrs.update(task.tgid, |p| p.membarrier |= bit as u32);
        Ok(0)
    };
    match cmd {
        MEMBARRIER_CMD_QUERY => Ok((MEMBARRIER_CMD_GLOBAL
            | MEMBARRIER_CMD_GLOBAL_EXPEDITED
            | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
            | MEMBARRIER_CMD_PRIVATE_EXPEDITED
            | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
            | MEMBARRIER_CMD_GET_REGISTRATIONS) as u64),
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => host_barrier(),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED => {
            if registered & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED as u32 == 0 {
                return Err(Errno::EPERM);
            }
            if task.group.thread_count() == 1 {
                return Ok(0);
            }
            host_barrier()
        }
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED => register(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED),
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED => register(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED),
        MEMBARRIER_CMD_GET_REGISTRATIONS => Ok(u64::from(registered)),
        _ => Err(Errno::EINVAL),
    }
}

/// The host's MEMBARRIER_CMD_GLOBAL (allowed by the Sentry's seccomp table
/// with these arguments only).
fn host_barrier() -> Result<u64> {
    // SAFETY: membarrier takes no pointers.
    if unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) } != 0 {
        return Err(Errno::last());
    }
    Ok(0)
}

/// personality(2): 0xffffffff queries; any other value is taken (Linux
/// never fails it) and the old one returned. It is recorded only: every
/// process runs as PER_LINUX, whatever flags (ADDR_NO_RANDOMIZE, ...) say.
pub fn personality(task: &mut Task, a: Args) -> Result<u64> {
    const QUERY: u32 = 0xffff_ffff;
    let persona = a.u32(0);
    let old = task.kernel.proc_attrs.get(task.tgid).personality;
    if persona != QUERY {
        task.kernel.proc_attrs.update(task.tgid, |p| p.personality = persona);
    }
    Ok(u64::from(old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_the_basename_cut_to_15_bytes() {
        assert_eq!(&comm_from_path(b"/usr/bin/env"), b"env\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(&comm_from_path(b"a-very-long-program-name"), b"a-very-long-pro\0");
        assert_eq!(comm_from_path(b"/"), [0; 16]);
    }

    #[test]
    fn rusage_layout() {
        let mut longs = [0i64; 14];
        longs[RU_MAXRSS] = 1234;
        longs[RU_NIVCSW] = 7;
        let b = encode_rusage((1, 2), (3, 4), longs);
        let word = |i: usize| i64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
        // ru_utime, ru_stime, then ru_maxrss at offset 32 and ru_nivcsw last.
        assert_eq!(
            [word(0), word(1), word(2), word(3), word(4), word(17)],
            [1, 2, 3, 4, 1234, 7]
        );
    }
}
