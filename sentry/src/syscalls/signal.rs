//! Signal syscalls: actions, masks, the alternate stack, sending, waiting
//! and returning from handlers. Delivery itself is in kernel::signals.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::process::INIT_PID;
use crate::kernel::signals::{bit, SigInfo};
use crate::kernel::task::SigAction;
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};

const NSIG: usize = 64;
/// Signals whose action and mask cannot change (signal(7)).
const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));

fn sigset_size_ok(size: u64) -> Result<()> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

pub fn rt_sigaction(task: &mut Task, a: Args) -> Result<u64> {
    let (sig, new, old) = (a.i32(0), a.u64(1), a.u64(2));
    sigset_size_ok(a.u64(3))?;
    if sig < 1 || sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    let new_action = if new != 0 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let raw: [u64; 4] = task.mm.read_val(new)?;
        Some(SigAction {
            handler: raw[0],
            flags: raw[1],
            restorer: raw[2],
            mask: raw[3] & !UNBLOCKABLE,
        })
    } else {
        None
    };
    if old != 0 {
        let cur = task.signals.actions.get(sig);
        task.mm
            .write_val(old, &[cur.handler, cur.flags, cur.restorer, cur.mask])?;
    }
    if let Some(action) = new_action {
        task.signals.actions.set(sig, action);
        // Setting a disposition to ignore discards the pending signal
        // (POSIX, sigaction(2)).
        let ignored = action.handler == libc::SIG_IGN as u64
            || (action.handler == libc::SIG_DFL as u64
                && crate::kernel::signals::default_action(sig) == crate::kernel::signals::DefaultAction::Ignore);
        if ignored {
            task.signal_queue.discard(sig);
        }
    }
    Ok(0)
}

pub fn rt_sigprocmask(task: &mut Task, a: Args) -> Result<u64> {
    let (how, set, old) = (a.i32(0), a.u64(1), a.u64(2));
    sigset_size_ok(a.u64(3))?;
    let new_set = if set != 0 {
        Some(task.mm.read_val::<u64>(set)?)
    } else {
        None
    };
    if old != 0 {
        task.mm.write_val(old, &task.signals.mask)?;
    }
    // With no new set, `how` is not looked at (rt_sigprocmask(2)).
    if let Some(set) = new_set {
        let mask = task.signals.mask;
        task.signals.mask = match how {
            libc::SIG_BLOCK => mask | set,
            libc::SIG_UNBLOCK => mask & !set,
            libc::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    }
    Ok(0)
}

pub fn sigaltstack(task: &mut Task, a: Args) -> Result<u64> {
    let (new, old) = (a.u64(0), a.u64(1));
    let (cur_sp, cur_flags, cur_size) = task.signals.altstack;
    let rsp = task.regs.rsp;
    let on_stack = cur_flags & libc::SS_DISABLE == 0 && rsp > cur_sp && rsp <= cur_sp.saturating_add(cur_size);
    let new_stack = if new != 0 {
        let raw: [u64; 3] = task.mm.read_val(new)?;
        let flags = raw[1] as i32;
        if flags & !(libc::SS_DISABLE | libc::SS_ONSTACK) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & libc::SS_DISABLE == 0 && raw[2] < libc::MINSIGSTKSZ as u64 {
            return Err(Errno::ENOMEM);
        }
        Some((raw[0], flags & libc::SS_DISABLE, raw[2]))
    } else {
        None
    };
    if old != 0 {
        let flags = if on_stack { libc::SS_ONSTACK } else { cur_flags };
        task.mm.write(
            old,
            &[
                cur_sp.to_le_bytes(),
                (flags as u64).to_le_bytes(),
                cur_size.to_le_bytes(),
            ]
            .concat(),
        )?;
    }
    if let Some(stack) = new_stack {
        // The stack in use cannot be changed (sigaltstack(2) EPERM).
        if on_stack {
            return Err(Errno::EPERM);
        }
        task.signals.altstack = stack;
    }
    Ok(0)
}

pub fn rt_sigreturn(task: &mut Task, _: Args) -> Result<u64> {
    task.sigreturn()?;
    Ok(0)
}

pub fn rt_sigpending(task: &mut Task, a: Args) -> Result<u64> {
    sigset_size_ok(a.u64(1))?;
    let pending = task.signal_queue.pending_set() & task.signals.mask;
    task.mm.write_val(a.u64(0), &pending)?;
    Ok(0)
}

/// Waits until a signal that `mask` does not block is pending; the caller
/// returns EINTR and the run loop delivers it.
fn suspend(task: &mut Task, mask: u64) -> Result<u64> {
    task.saved_mask = Some(task.signals.mask);
    task.signals.mask = mask & !UNBLOCKABLE;
    loop {
        if task
            .signal_queue
            .sleep(std::time::Duration::from_secs(3600), task.signals.mask)
            .is_err()
        {
            return Err(Errno::EINTR);
        }
    }
}

pub fn rt_sigsuspend(task: &mut Task, a: Args) -> Result<u64> {
    sigset_size_ok(a.u64(1))?;
    let mask: u64 = task.mm.read_val(a.u64(0))?;
    suspend(task, mask)
}

pub fn pause(task: &mut Task, _: Args) -> Result<u64> {
    let mask = task.signals.mask;
    let r = suspend(task, mask);
    task.saved_mask = None;
    r
}

fn check_signal(sig: i32) -> Result<()> {
    if !(0..=NSIG as i32).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn user_signal(task: &Task, sig: i32) -> SigInfo {
    const SI_USER: i32 = 0;
    SigInfo {
        signo: sig,
        code: SI_USER,
        pid_or_addr: task.tgid as u64,
        uid: task.creds.uid,
        ..Default::default()
    }
}

/// CAP_KILL (capabilities(7)).
const CAP_KILL: u32 = 5;

/// check_kill_permission() of Linux (kill(2) EPERM): the sender's real or
/// effective uid is the target's real or saved uid, or it has CAP_KILL;
/// SIGCONT may also go to any process of the sender's session.
fn may_signal(task: &Task, tgid: i32, sig: i32) -> Result<()> {
    if tgid == task.tgid || task.creds.capable(CAP_KILL) {
        return Ok(());
    }
    // Gone already: delivery reports it (ESRCH, or nothing for a zombie).
    let Some(target) = task.kernel.procs.creds_of(tgid) else {
        return Ok(());
    };
    let me = &task.creds;
    if [me.uid, me.euid].iter().any(|&u| u == target.uid || u == target.suid) {
        return Ok(());
    }
    let same_session = task
        .kernel
        .processes
        .session_of(tgid)
        .is_some_and(|(sid, _)| sid == task.sid);
    if sig == libc::SIGCONT && same_session {
        return Ok(());
    }
    Err(Errno::EPERM)
}

/// Sends `info` to process `pid` as kill(2) does: ESRCH if there is no
/// such process, EPERM if the sender may not signal it; a zombie takes it
/// and nothing happens.
fn kill_one(task: &Task, pid: i32, info: SigInfo) -> Result<()> {
    // kill(2) also takes the tid of any thread, meaning its process.
    let tgid = if task.kernel.processes.exists(pid) {
        pid
    } else {
        task.kernel.tgid_of_thread(pid).ok_or(Errno::ESRCH)?
    };
    may_signal(task, tgid, info.signo)?;
    match task.kernel.post_signal(pid, info) {
        Err(Errno::ESRCH) => Ok(()),
        other => other,
    }
}

pub fn kill(task: &mut Task, a: Args) -> Result<u64> {
    let (pid, sig) = (a.i32(0), a.i32(1));
    check_signal(sig)?;
    let info = user_signal(task, sig);
    match pid {
        p if p > 0 => kill_one(task, p, info).map(|_| 0),
        // kill(2) with -1: every process but init and the caller's own;
        // ESRCH only when there is none, and EPERM is never reported.
        -1 => {
            let targets: Vec<i32> = task
                .kernel
                .processes
                .live_pids(None)
                .into_iter()
                .filter(|&p| p != INIT_PID && p != task.tgid)
                .collect();
            if targets.is_empty() {
                return Err(Errno::ESRCH);
            }
            let mut result = Ok(0);
            for target in targets {
                match kill_one(task, target, info) {
                    Ok(()) | Err(Errno::EPERM) => {}
                    Err(e) => result = Err(e),
                }
            }
            result
        }
        p if p == i32::MIN => Err(Errno::ESRCH),
        // A process group: success if any member took the signal, else
        // the last error (ESRCH for an empty group).
        p => {
            let group = if p == 0 { task.pgid } else { -p };
            let mut last = Err(Errno::ESRCH);
            let mut any = false;
            for target in task.kernel.processes.live_pids(Some(group)) {
                last = kill_one(task, target, info).map(|_| 0);
                any |= last.is_ok();
            }
            if any {
                Ok(0)
            } else {
                last
            }
        }
    }
}

/// The siginfo of tkill/tgkill: si_code SI_TKILL.
fn tkill_signal(task: &Task, sig: i32) -> SigInfo {
    const SI_TKILL: i32 = -6;
    SigInfo {
        code: SI_TKILL,
        ..user_signal(task, sig)
    }
}

pub fn tgkill(task: &mut Task, a: Args) -> Result<u64> {
    let (tgid, tid, sig) = (a.i32(0), a.i32(1), a.i32(2));
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    check_signal(sig)?;
    if !task.kernel.thread_in_group(tgid, tid) {
        return Err(Errno::ESRCH);
    }
    may_signal(task, tgid, sig)?;
    task.kernel.post_signal(tid, tkill_signal(task, sig))?;
    Ok(0)
}

pub fn tkill(task: &mut Task, a: Args) -> Result<u64> {
    let (tid, sig) = (a.i32(0), a.i32(1));
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    check_signal(sig)?;
    if let Some(tgid) = task.kernel.tgid_of_thread(tid) {
        may_signal(task, tgid, sig)?;
    }
    task.kernel.post_signal(tid, tkill_signal(task, sig))?;
    Ok(0)
}

pub fn rt_sigtimedwait(task: &mut Task, a: Args) -> Result<u64> {
    sigset_size_ok(a.u64(3))?;
    let set: u64 = task.mm.read_val::<u64>(a.u64(0))? & !UNBLOCKABLE;
    let deadline = if a.u64(2) != 0 {
        let ts: [i64; 2] = task.mm.read_val(a.u64(2))?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        // Past the end of Instant's range: no deadline.
        std::time::Instant::now().checked_add(std::time::Duration::new(ts[0] as u64, ts[1] as u32))
    } else {
        None
    };
    // Signals in `set` end the wait; any other unblocked one interrupts it.
    let queue = task.signal_queue.clone();
    let arrived = queue.wait_for(deadline, task.signals.mask | set, &|pending| {
        pending.iter().any(|s| set & bit(s.signo) != 0)
    })?;
    let info = match arrived.then(|| queue.take_in(set)).flatten() {
        Some(info) => info,
        None => return Err(Errno::EAGAIN),
    };
    if a.u64(1) != 0 {
        task.mm.write(a.u64(1), &info.encode())?;
    }
    Ok(info.signo as u64)
}

/// Reads a sender-supplied siginfo; only the kernel may claim si_code >= 0
/// for another process (rt_sigqueueinfo(2) EPERM).
fn queued_info(task: &Task, sig: i32, addr: u64, target: i32) -> Result<SigInfo> {
    let raw: [u8; 128] = task.mm.read_vec(addr, 128)?.try_into().map_err(|_| Errno::EFAULT)?;
    let code = i32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
    if (code >= 0 || code == -6) && target != task.tgid {
        return Err(Errno::EPERM);
    }
    Ok(SigInfo {
        signo: sig,
        code,
        pid_or_addr: task.tgid as u64,
        raw: Some(raw),
        ..Default::default()
    })
}

pub fn rt_sigqueueinfo(task: &mut Task, a: Args) -> Result<u64> {
    let (pid, sig) = (a.i32(0), a.i32(1));
    check_signal(sig)?;
    let info = queued_info(task, sig, a.u64(2), pid)?;
    kill_one(task, pid, info)?;
    Ok(0)
}

pub fn rt_tgsigqueueinfo(task: &mut Task, a: Args) -> Result<u64> {
    let (tgid, tid, sig) = (a.i32(0), a.i32(1), a.i32(2));
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    check_signal(sig)?;
    let info = queued_info(task, sig, a.u64(3), tgid)?;
    // As tgkill: a tid outside thread group `tgid` does not exist there.
    if !task.kernel.thread_in_group(tgid, tid) {
        return Err(Errno::ESRCH);
    }
    may_signal(task, tgid, sig)?;
    task.kernel.post_signal(tid, info)?;
    Ok(0)
}
