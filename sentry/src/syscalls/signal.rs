//! Signal syscalls. Actions, the mask and the alternate stack are recorded
//! faithfully; delivering signals to guest handlers is future work, and the
//! table says so.

use super::Args;
use crate::errno::{Errno, Result};
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
    let idx = (sig - 1) as usize;
    let new_action = if new != 0 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let raw: [u64; 4] = task.mm.read_val(new)?;
        Some(SigAction { handler: raw[0], flags: raw[1], restorer: raw[2], mask: raw[3] & !UNBLOCKABLE })
    } else {
        None
    };
    if old != 0 {
        let cur = task.signals.actions[idx];
        task.mm.write_val(old, &[cur.handler, cur.flags, cur.restorer, cur.mask])?;
    }
    if let Some(action) = new_action {
        task.signals.actions[idx] = action;
    }
    Ok(0)
}

pub fn rt_sigprocmask(task: &mut Task, a: Args) -> Result<u64> {
    let (how, set, old) = (a.i32(0), a.u64(1), a.u64(2));
    sigset_size_ok(a.u64(3))?;
    let new_set = if set != 0 { Some(task.mm.read_val::<u64>(set)?) } else { None };
    if old != 0 {
        task.mm.write_val(old, &task.signals.mask)?;
    }
    if let Some(set) = new_set {
        let mask = task.signals.mask;
        task.signals.mask = match how {
            libc::SIG_BLOCK => mask | set,
            libc::SIG_UNBLOCK => mask & !set,
            libc::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    } else if !matches!(how, libc::SIG_BLOCK | libc::SIG_UNBLOCK | libc::SIG_SETMASK) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn sigaltstack(task: &mut Task, a: Args) -> Result<u64> {
    let (new, old) = (a.u64(0), a.u64(1));
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
        let (sp, flags, size) = task.signals.altstack;
        task.mm.write(old, &[sp.to_le_bytes(), (flags as u64).to_le_bytes(), size.to_le_bytes()].concat())?;
    }
    if let Some(stack) = new_stack {
        task.signals.altstack = stack;
    }
    Ok(0)
}
