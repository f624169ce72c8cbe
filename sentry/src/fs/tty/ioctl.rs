//! The terminal ioctls (tty_ioctl(4), ioctl_tty(2)) of pty masters and
//! slaves. As in Linux, the termios, window size and job-control requests
//! made on a master act on its slave.

use super::termios::{Termios, Winsize, TERMIOS_SIZE};
use super::{ctty, GroupSignal, Terminal, TtyHandle};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::OpenFile;
use std::sync::Arc;

/// Handles ioctl `cmd` on an open terminal.
pub fn ioctl(task: &mut Task, handle: &TtyHandle, cmd: u32, arg: u64) -> Result<u64> {
    let tty = &handle.tty;
    if changes_terminal(cmd) {
        super::jobctl::check_change(task, handle)?;
    }
    let mem: &dyn UserMemory = task.mm.as_ref();
    match cmd as u64 {
        libc::TCGETS => {
            let termios = tty.lock()?.ldisc.termios;
            mem.write(arg, &termios.to_bytes())?;
            Ok(0)
        }
        libc::TCSETS | libc::TCSETSW | libc::TCSETSF => {
            let raw = task.mm.read_vec(arg, TERMIOS_SIZE)?;
            set_termios(tty, Termios::from_bytes(&raw)?, cmd as u64 == libc::TCSETSF)
        }
        libc::TIOCGWINSZ => {
            let ws = tty.lock()?.winsize;
            mem.write(arg, &ws.to_bytes())?;
            Ok(0)
        }
        libc::TIOCSWINSZ => {
            let raw: [u8; 8] = mem.read_val(arg)?;
            set_winsize(tty, Winsize::from_bytes(raw))
        }
        libc::TIOCGPTN if handle.master => {
            mem.write_val(arg, &tty.index)?;
            Ok(0)
        }
        libc::TIOCSPTLCK if handle.master => {
            let lock: i32 = mem.read_val(arg)?;
            tty.lock()?.locked = lock != 0;
            Ok(0)
        }
        libc::TIOCGPTLCK if handle.master => {
            let locked = i32::from(tty.lock()?.locked);
            mem.write_val(arg, &locked)?;
            Ok(0)
        }
        // ptm_open_peer: EIO on anything but a master.
        libc::TIOCGPTPEER if handle.master => open_peer(task, tty, arg as i32),
        libc::TIOCGPTPEER => Err(Errno::EIO),
        libc::TIOCSCTTY => ctty::tiocsctty(task, tty, arg == 1),
        libc::TIOCNOTTY if !handle.master => ctty::tiocnotty(task, tty),
        libc::TIOCGPGRP => {
            let pgrp = owned_by_caller(task, handle, |s| s.pgrp)?;
            mem.write_val(arg, &pgrp)?;
            Ok(0)
        }
        libc::TIOCGSID => {
            let sid = owned_by_caller(task, handle, |s| s.session)?;
            if sid == 0 {
                return Err(Errno::ENOTTY);
            }
            mem.write_val(arg, &sid)?;
            Ok(0)
        }
        libc::TIOCSPGRP => set_foreground(task, tty, arg),
        libc::FIONREAD => {
            let n = {
                let s = tty.lock()?;
                if handle.master {
                    s.to_master.len()
                } else {
                    s.ldisc.available()
                }
            };
            mem.write_val(arg, &(n as i32))?;
            Ok(0)
        }
        // A pty has no driver output buffer: what was written is already
        // queued for the other side.
        libc::TIOCOUTQ => {
            mem.write_val(arg, &0i32)?;
            Ok(0)
        }
        libc::TCFLSH => flush(handle, arg),
        // tcdrain(3) and tcsendbreak(3): output is never held back.
        libc::TCSBRK | libc::TCSBRKP => Ok(0),
        libc::TIOCGETD => {
            mem.write_val(arg, &0i32)?; // N_TTY
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// Requests a background process may not make without SIGTTOU.
fn changes_terminal(cmd: u32) -> bool {
    matches!(
        cmd as u64,
        libc::TCSETS | libc::TCSETSW | libc::TCSETSF | libc::TIOCSPGRP | libc::TCFLSH | libc::TCSBRK | libc::TCSBRKP
    )
}

fn set_termios(tty: &Terminal, new: Termios, flush: bool) -> Result<u64> {
    let mut s = tty.lock()?;
    if flush {
        s.ldisc.flush_input();
    }
    s.ldisc.set_termios(new);
    drop(s);
    tty.changed.notify_all();
    Ok(0)
}

/// TIOCSWINSZ: a change sends SIGWINCH to the foreground group.
pub(super) fn set_winsize(tty: &Terminal, ws: Winsize) -> Result<u64> {
    let pending = {
        let mut s = tty.lock()?;
        if s.winsize == ws {
            return Ok(0);
        }
        s.winsize = ws;
        Terminal::signals_for(&s, &[libc::SIGWINCH])
    };
    pending.into_iter().for_each(GroupSignal::send);
    Ok(0)
}

/// TIOCGPGRP and TIOCGSID read a field of the slave: on a slave only
/// when it is the caller's controlling terminal (ENOTTY otherwise), on a
/// master always (0 when unset).
fn owned_by_caller(task: &Task, handle: &TtyHandle, field: impl Fn(&super::State) -> Option<i32>) -> Result<i32> {
    if !handle.master && !ctty::is_controlling(task, &handle.tty) {
        return Err(Errno::ENOTTY);
    }
    Ok(field(&*handle.tty.lock()?).unwrap_or(0))
}

/// TIOCSPGRP: the caller's controlling terminal gets a new foreground
/// group, which must exist in the caller's session.
fn set_foreground(task: &Task, tty: &Arc<Terminal>, arg: u64) -> Result<u64> {
    if !ctty::is_controlling(task, tty) {
        return Err(Errno::ENOTTY);
    }
    let pgrp: i32 = task.mm.read_val(arg)?;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    let members = task.kernel.processes.live_pids(Some(pgrp));
    let Some(&member) = members.first() else {
        return Err(Errno::ESRCH);
    };
    let same_session = task
        .kernel
        .processes
        .session_of(member)
        .is_some_and(|(sid, _)| sid == task.sid);
    if !same_session {
        return Err(Errno::EPERM);
    }
    tty.lock()?.pgrp = Some(pgrp);
    Ok(0)
}

/// TCFLSH: TCIFLUSH (0) discards what this side would read, TCOFLUSH (1)
/// what it wrote and the other side has not read, TCIOFLUSH (2) both.
fn flush(handle: &TtyHandle, arg: u64) -> Result<u64> {
    let (input, output) = match arg {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let mut s = handle.tty.lock()?;
    // The slave reads the line discipline and writes to_master; the
    // master the other way round.
    let (ldisc, to_master) = if handle.master {
        (output, input)
    } else {
        (input, output)
    };
    if ldisc {
        s.ldisc.flush_input();
    }
    if to_master {
        s.to_master.clear();
    }
    drop(s);
    handle.tty.changed.notify_all();
    Ok(0)
}

/// TIOCGPTPEER: a new fd on the slave, as if /dev/pts/N were opened with
/// `flags` (the lock does not apply; ptm_open_peer).
fn open_peer(task: &mut Task, tty: &Arc<Terminal>, flags: i32) -> Result<u64> {
    let allowed = libc::O_ACCMODE | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    // Unlike open(2), this never makes the slave a controlling terminal.
    let ops: Arc<dyn crate::vfs::FileOps> = tty.open_slave(true)?;
    let dentry = crate::fs::devpts::slave_dentry(tty);
    let file = OpenFile::new(dentry, ops, flags);
    Ok(task.fds.insert(file, flags & libc::O_CLOEXEC != 0)? as u64)
}
