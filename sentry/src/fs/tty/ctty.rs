//! Controlling terminals (credentials(7) "Sessions", tty(4)).
//!
//! A session has at most one controlling terminal and a terminal controls
//! at most one session. A session leader that opens a terminal without
//! O_NOCTTY while it has none acquires it (only a slave: opening a master
//! never does), as does TIOCSCTTY. `/dev/tty` opens the caller's
//! controlling terminal: a pty slave, or the host terminal the container
//! was started on (runsc's console), which the init's session holds.
//!
//! The registry is keyed by session id and is kept next to each
//! terminal's own `session` field; the registry lock and a terminal's lock
//! are never held together.

use super::{GroupSignal, Terminal};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::vfs::FileOps;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a session's controlling terminal is.
#[derive(Clone)]
pub enum Controlling {
    Pty(Arc<Terminal>),
    /// A host terminal handed to the sandbox as stdio.
    Host(Arc<dyn FileOps>),
}

/// Controlling terminals by session id.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<i32, Controlling>>,
}

impl Sessions {
    pub fn get(&self, sid: i32) -> Option<Controlling> {
        self.map.lock().ok()?.get(&sid).cloned()
    }

    pub fn set(&self, sid: i32, tty: Controlling) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(sid, tty);
        }
    }

    pub fn forget(&self, sid: i32) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&sid);
        }
    }

    /// Forgets session `sid`'s controlling terminal if it is `tty`.
    pub fn forget_pty(&self, sid: i32, tty: &Terminal) {
        if let Ok(mut m) = self.map.lock() {
            if matches!(m.get(&sid), Some(Controlling::Pty(t)) if std::ptr::eq(Arc::as_ptr(t), tty)) {
                m.remove(&sid);
            }
        }
    }

    /// The pty controlling session `sid`, if it is one.
    pub fn pty_of(&self, sid: i32) -> Option<Arc<Terminal>> {
        match self.get(sid)? {
            Controlling::Pty(t) if t.session() == Some(sid) => Some(t),
            _ => None,
        }
    }
}

impl Terminal {
    pub fn session(&self) -> Option<i32> {
        self.lock().ok()?.session
    }

    pub fn pgrp(&self) -> Option<i32> {
        self.lock().ok()?.pgrp
    }

    /// Makes this the controlling terminal of the caller's session, with
    /// the caller's group in the foreground.
    fn attach(self: &Arc<Self>, task: &Task) -> Result<()> {
        {
            let mut s = self.lock()?;
            s.session = Some(task.sid);
            s.pgrp = Some(task.pgid);
            s.kernel = Arc::downgrade(&task.kernel);
        }
        task.kernel.ttys.set(task.sid, Controlling::Pty(self.clone()));
        Ok(())
    }

    /// The session lets go of this terminal; its foreground group gets
    /// SIGHUP (and SIGCONT unless the leader is exiting), as
    /// disassociate_ctty does.
    fn detach(&self, sid: i32, exiting: bool) -> Vec<GroupSignal> {
        let Ok(mut s) = self.lock() else { return Vec::new() };
        if s.session != Some(sid) {
            return Vec::new();
        }
        let signals: &[i32] = if exiting {
            &[libc::SIGHUP]
        } else {
            &[libc::SIGHUP, libc::SIGCONT]
        };
        let pending = Self::signals_for(&s, signals);
        s.session = None;
        s.pgrp = None;
        pending
    }
}

/// True when `tty` is the caller's controlling terminal.
pub fn is_controlling(task: &Task, tty: &Arc<Terminal>) -> bool {
    task.kernel.ttys.pty_of(task.sid).is_some_and(|t| Arc::ptr_eq(&t, tty))
}

/// open("/dev/tty"): the caller's controlling terminal, or ENXIO.
pub fn open_dev_tty(task: &Task) -> Result<Arc<dyn FileOps>> {
    match task.kernel.ttys.get(task.sid) {
        Some(Controlling::Pty(t)) if t.session() == Some(task.sid) => Ok(t.open_slave(true)?),
        Some(Controlling::Host(ops)) => Ok(ops),
        _ => Err(Errno::ENXIO),
    }
}

/// After a successful open: a session leader without a controlling
/// terminal acquires a slave opened without O_NOCTTY that no other
/// session controls (tty_open_proc_set_tty).
pub fn acquire_on_open(task: &Task, ops: &Arc<dyn FileOps>, flags: i32) {
    if flags & libc::O_NOCTTY != 0 || task.sid != task.tgid {
        return;
    }
    let Some(handle) = ops.tty() else { return };
    if handle.master || task.kernel.ttys.get(task.sid).is_some() || handle.tty.session().is_some() {
        return;
    }
    let _ = handle.tty.attach(task);
}

/// TIOCSCTTY (tty_ioctl(4)): the caller must be a session leader without
/// a controlling terminal, and the terminal must not control another
/// session (stealing it with arg 1 needs CAP_SYS_ADMIN).
pub fn tiocsctty(task: &Task, tty: &Arc<Terminal>, steal: bool) -> Result<u64> {
    if task.sid == task.tgid && tty.session() == Some(task.sid) {
        return Ok(0);
    }
    if task.sid != task.tgid || task.kernel.ttys.get(task.sid).is_some() {
        return Err(Errno::EPERM);
    }
    if let Some(other) = tty.session() {
        const CAP_SYS_ADMIN: u32 = 21;
        if !steal || task.creds.cap_effective & (1 << CAP_SYS_ADMIN) == 0 {
            return Err(Errno::EPERM);
        }
        task.kernel.ttys.forget(other);
    }
    tty.attach(task)?;
    Ok(0)
}

/// TIOCNOTTY: only on the caller's controlling terminal. A session
/// leader detaches the whole session (its foreground group gets SIGHUP
/// and SIGCONT). **Difference:** for other processes Linux drops the
/// terminal of that process alone; here the call succeeds and changes
/// nothing, since controlling terminals are kept per session.
pub fn tiocnotty(task: &Task, tty: &Arc<Terminal>) -> Result<u64> {
    if !is_controlling(task, tty) {
        return Err(Errno::ENOTTY);
    }
    if task.sid == task.tgid {
        task.kernel.ttys.forget(task.sid);
        tty.detach(task.sid, false).into_iter().for_each(GroupSignal::send);
    }
    Ok(0)
}

/// A session leader exited: its session loses its controlling terminal.
pub fn session_leader_exited(kernel: &crate::kernel::Kernel, sid: i32) {
    let Some(ctty) = kernel.ttys.get(sid) else { return };
    kernel.ttys.forget(sid);
    if let Controlling::Pty(tty) = ctty {
        tty.detach(sid, true).into_iter().for_each(GroupSignal::send);
    }
}
