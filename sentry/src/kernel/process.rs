//! The process table of a sandbox's pid namespace: parents, children,
//! zombies and wait(2).

use crate::errno::{Errno, Result};
use crate::sandbox::ExitStatus;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

/// The container's init process.
pub const INIT_PID: i32 = 1;

struct Process {
    ppid: i32,
    pgid: i32,
    /// Real uid, for RLIMIT_NPROC.
    uid: u32,
    /// Some once the process has exited and until it is reaped.
    zombie: Option<ExitStatus>,
}

/// Which children a wait call accepts (wait4(2) `pid` argument).
#[derive(Debug, Clone, Copy)]
pub enum WaitTarget {
    Any,
    Pid(i32),
    Group(i32),
}

#[derive(Default)]
pub struct ProcessTable {
    procs: Mutex<BTreeMap<i32, Process>>,
    changed: Condvar,
}

impl ProcessTable {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<i32, Process>>> {
        self.procs.lock().map_err(|_| Errno::EIO)
    }

    pub fn add(&self, pid: i32, ppid: i32, pgid: i32, uid: u32) -> Result<()> {
        self.lock()?.insert(
            pid,
            Process {
                ppid,
                pgid,
                uid,
                zombie: None,
            },
        );
        Ok(())
    }

    /// Adds a process unless `uid` already has `limit` live processes
    /// (RLIMIT_NPROC; fork(2) EAGAIN).
    pub fn add_limited(&self, pid: i32, ppid: i32, pgid: i32, uid: u32, limit: u64) -> Result<()> {
        let mut procs = self.lock()?;
        let count = procs.values().filter(|p| p.uid == uid && p.zombie.is_none()).count() as u64;
        if count >= limit {
            return Err(Errno::EAGAIN);
        }
        procs.insert(
            pid,
            Process {
                ppid,
                pgid,
                uid,
                zombie: None,
            },
        );
        Ok(())
    }

    /// Records a process's new real uid (setuid family).
    pub fn set_uid(&self, pid: i32, uid: u32) {
        if let Ok(mut procs) = self.lock() {
            if let Some(p) = procs.get_mut(&pid) {
                p.uid = uid;
            }
        }
    }

    /// (ppid, pgid) of a live process.
    pub fn parent_and_group(&self, pid: i32) -> Option<(i32, i32)> {
        let procs = self.lock().ok()?;
        procs.get(&pid).filter(|p| p.zombie.is_none()).map(|p| (p.ppid, p.pgid))
    }

    pub fn set_pgid(&self, pid: i32, pgid: i32) -> Result<()> {
        if let Some(p) = self.lock()?.get_mut(&pid) {
            p.pgid = pgid;
        }
        Ok(())
    }

    /// Number of live (not yet exited) processes.
    pub fn live_count(&self) -> usize {
        self.lock()
            .map(|p| p.values().filter(|p| p.zombie.is_none()).count())
            .unwrap_or(0)
    }

    /// Live processes in process group `pgid` (or all, for None).
    pub fn live_pids(&self, pgid: Option<i32>) -> Vec<i32> {
        self.lock()
            .map(|p| {
                p.iter()
                    .filter(|(_, p)| p.zombie.is_none() && pgid.is_none_or(|g| p.pgid == g))
                    .map(|(&pid, _)| pid)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Marks `pid` as exited and returns its parent. Its children go to
    /// the nearest live ancestor that is a subreaper, else to init
    /// (prctl(2) PR_SET_CHILD_SUBREAPER).
    pub fn exit(&self, pid: i32, status: ExitStatus, is_subreaper: &dyn Fn(i32) -> bool) -> Option<i32> {
        let Ok(mut procs) = self.lock() else { return None };
        let mut parent = None;
        if let Some(p) = procs.get_mut(&pid) {
            p.zombie = Some(status);
            parent = Some(p.ppid);
        }
        let mut heir = INIT_PID;
        let mut ancestor = parent.unwrap_or(0);
        while ancestor > 0 && ancestor != INIT_PID {
            match procs.get(&ancestor) {
                Some(a) if a.zombie.is_none() && is_subreaper(ancestor) => {
                    heir = ancestor;
                    break;
                }
                Some(a) => ancestor = a.ppid,
                None => break,
            }
        }
        for p in procs.values_mut() {
            if p.ppid == pid {
                p.ppid = heir;
            }
        }
        drop(procs);
        self.changed.notify_all();
        parent
    }

    /// wait4(2): reaps a matching zombie child of `parent`; with `nohang`
    /// returns Ok(None) when children exist but none has exited.
    pub fn wait(&self, parent: i32, target: WaitTarget, nohang: bool) -> Result<Option<(i32, ExitStatus)>> {
        self.wait_opts(parent, target, nohang, true)
    }

    /// wait with WNOWAIT (`reap` false): the zombie stays waitable.
    pub fn wait_opts(
        &self,
        parent: i32,
        target: WaitTarget,
        nohang: bool,
        reap: bool,
    ) -> Result<Option<(i32, ExitStatus)>> {
        let mut procs = self.lock()?;
        loop {
            let matches = |pid: i32, p: &Process| {
                p.ppid == parent
                    && match target {
                        WaitTarget::Any => true,
                        WaitTarget::Pid(want) => pid == want,
                        WaitTarget::Group(pgid) => p.pgid == pgid,
                    }
            };
            let mut any_child = false;
            let mut found = None;
            for (&pid, p) in procs.iter() {
                if matches(pid, p) {
                    any_child = true;
                    if let Some(status) = p.zombie {
                        found = Some((pid, status));
                        break;
                    }
                }
            }
            if let Some((pid, status)) = found {
                if reap {
                    procs.remove(&pid);
                }
                return Ok(Some((pid, status)));
            }
            if !any_child {
                return Err(Errno::ECHILD);
            }
            if nohang {
                return Ok(None);
            }
            super::interrupt::check()?;
            procs = self
                .changed
                .wait_timeout(procs, std::time::Duration::from_millis(20))
                .map_err(|_| Errno::EIO)?
                .0;
        }
    }

    pub fn pgid_of(&self, pid: i32) -> Option<i32> {
        self.lock().ok()?.get(&pid).map(|p| p.pgid)
    }
}

/// The wait status word of wait(2) for an exit status.
pub fn wait_status(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Exited(code) => (code & 0xff) << 8,
        ExitStatus::Signaled(sig) => sig & 0x7f,
    }
}
