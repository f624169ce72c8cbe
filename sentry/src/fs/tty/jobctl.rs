//! Background process groups and their controlling terminal (credentials(7)
//! "job control", termios(3) TOSTOP): a process outside the terminal's
//! foreground group that reads it gets SIGTTIN; one that writes to it with
//! TOSTOP set, or changes its settings, gets SIGTTOU. The whole group is
//! signalled and the call restarts once the group is continued. A blocked
//! or ignored signal lets the call through (reads fail with EIO instead),
//! and so does an orphaned group, which fails with EIO (nobody could
//! continue it).

use super::{ctty, GroupSignal, TtyHandle};
use crate::errno::{Errno, Result};
use crate::kernel::interrupt::ERESTARTSYS;
use crate::kernel::signals::bit;
use crate::kernel::Task;
use crate::vfs::OpenFile;
use std::sync::Arc;

/// Before a read of `file`.
pub fn check_read(task: &Task, file: &OpenFile) -> Result<()> {
    match slave_of(file) {
        Some(h) => check(task, &h, libc::SIGTTIN),
        None => Ok(()),
    }
}

/// Before a write to `file`: only with TOSTOP.
pub fn check_write(task: &Task, file: &OpenFile) -> Result<()> {
    let Some(h) = slave_of(file) else { return Ok(()) };
    let tostop = h.tty.lock()?.ldisc.termios.lflag(libc::TOSTOP);
    if tostop {
        check(task, &h, libc::SIGTTOU)
    } else {
        Ok(())
    }
}

/// Before a request that changes the terminal (tty_check_change).
pub fn check_change(task: &Task, handle: &TtyHandle) -> Result<()> {
    if handle.master {
        return Ok(());
    }
    check(task, handle, libc::SIGTTOU)
}

/// The slave side behind `file`: masters are nobody's controlling terminal.
fn slave_of(file: &OpenFile) -> Option<TtyHandle> {
    file.ops.tty().filter(|h| !h.master)
}

fn check(task: &Task, handle: &TtyHandle, sig: i32) -> Result<()> {
    if !ctty::is_controlling(task, &handle.tty) {
        return Ok(());
    }
    let Some(foreground) = handle.tty.pgrp() else {
        return Ok(());
    };
    if foreground == task.pgid {
        return Ok(());
    }
    let ignored = task.signals.mask & bit(sig) != 0 || task.signals.actions.get(sig).handler == libc::SIG_IGN as u64;
    if ignored {
        return if sig == libc::SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    if is_orphaned(task, task.pgid) {
        return Err(Errno::EIO);
    }
    GroupSignal {
        kernel: Arc::downgrade(&task.kernel),
        pgrp: task.pgid,
        signo: sig,
    }
    .send();
    Err(ERESTARTSYS)
}

/// An orphaned process group: no member has a parent in another group of
/// the same session (credentials(7)).
fn is_orphaned(task: &Task, pgrp: i32) -> bool {
    let table = &task.kernel.processes;
    !table.live_pids(Some(pgrp)).into_iter().any(|pid| {
        let Some((ppid, _)) = table.parent_and_group(pid) else {
            return false;
        };
        let Some((parent_pgid, parent_sid)) = table
            .parent_and_group(ppid)
            .and_then(|(_, g)| Some((g, table.session_of(ppid)?.0)))
        else {
            return false;
        };
        parent_pgid != pgrp && parent_sid == task.sid
    })
}
