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
    /// Session id (getsid(2) of another process).
    sid: i32,
    /// Has called execve since fork (setpgid(2) EACCES).
    execed: bool,
    /// Some once the process has exited and until it is reaped.
    zombie: Option<ExitStatus>,
    /// A stop or continue not yet reported to a waiting parent.
    job_event: Option<WaitEvent>,
    /// The signal the parent gets at exit (clone(2) CSIGNAL; 0 for none).
    /// A child whose exit signal is not SIGCHLD is a "clone" child.
    exit_signal: i32,
}

/// What wait(2) reports about a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEvent {
    Exited(ExitStatus),
    Stopped(i32),
    Continued,
}

impl WaitEvent {
    /// (si_code, si_status) of the SIGCHLD or waitid(2) siginfo for it.
    pub fn sigchld_code(self) -> (i32, i32) {
        const CLD_EXITED: i32 = 1;
        const CLD_KILLED: i32 = 2;
        const CLD_STOPPED: i32 = 5;
        const CLD_CONTINUED: i32 = 6;
        match self {
            WaitEvent::Exited(ExitStatus::Exited(code)) => (CLD_EXITED, code),
            WaitEvent::Exited(ExitStatus::Signaled(sig)) => (CLD_KILLED, sig),
            WaitEvent::Stopped(sig) => (CLD_STOPPED, sig),
            WaitEvent::Continued => (CLD_CONTINUED, libc::SIGCONT),
        }
    }
}

/// Which changes a wait call accepts, and whether it reaps.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub exited: bool,
    pub stopped: bool,
    pub continued: bool,
    pub nohang: bool,
    /// False for WNOWAIT: the child stays waitable.
    pub consume: bool,
    /// __WCLONE: wait for clone children (exit signal not SIGCHLD) only.
    pub clone_only: bool,
    /// __WALL: wait for every child, clone or not.
    pub all: bool,
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
        self.add_limited(pid, ppid, pgid, uid, u64::MAX)
    }

    /// Adds a process unless `uid` already has `limit` live processes
    /// (RLIMIT_NPROC; fork(2) EAGAIN). A new process starts in its
    /// parent's group and session.
    pub fn add_limited(&self, pid: i32, ppid: i32, pgid: i32, uid: u32, limit: u64) -> Result<()> {
        let mut procs = self.lock()?;
        let count = procs.values().filter(|p| p.uid == uid && p.zombie.is_none()).count() as u64;
        if count >= limit {
            return Err(Errno::EAGAIN);
        }
        let process = Process {
            ppid,
            pgid,
            uid,
            zombie: None,
            job_event: None,
            sid: pgid,
            execed: false,
            exit_signal: libc::SIGCHLD,
        };
        procs.insert(pid, process);
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

    /// Records the signal `pid` sends its parent when it exits.
    pub fn set_exit_signal(&self, pid: i32, sig: i32) {
        if let Ok(mut procs) = self.lock() {
            if let Some(p) = procs.get_mut(&pid) {
                p.exit_signal = sig;
            }
        }
    }

    /// The signal `pid` sends its parent when it exits (0: none).
    pub fn exit_signal(&self, pid: i32) -> i32 {
        let procs = self.lock();
        procs
            .ok()
            .and_then(|p| p.get(&pid).map(|p| p.exit_signal))
            .unwrap_or(libc::SIGCHLD)
    }

    /// Records the session and exec state of a process.
    pub fn set_session(&self, pid: i32, sid: i32) {
        if let Ok(mut procs) = self.lock() {
            if let Some(p) = procs.get_mut(&pid) {
                p.sid = sid;
            }
        }
    }

    pub fn mark_execed(&self, pid: i32) {
        if let Ok(mut procs) = self.lock() {
            if let Some(p) = procs.get_mut(&pid) {
                p.execed = true;
            }
        }
    }

    /// (session, has exec'd) of a live or zombie process.
    pub fn session_of(&self, pid: i32) -> Option<(i32, bool)> {
        let procs = self.lock().ok()?;
        procs.get(&pid).map(|p| (p.sid, p.execed))
    }

    /// True while `pid` exists, zombie or not (kill(2) with signal 0).
    pub fn exists(&self, pid: i32) -> bool {
        self.lock().map(|p| p.contains_key(&pid)).unwrap_or(false)
    }

    /// Removes a zombie nobody will wait for (the parent ignores SIGCHLD).
    pub fn reap(&self, pid: i32) {
        if let Ok(mut procs) = self.lock() {
            if procs.get(&pid).is_some_and(|p| p.zombie.is_some()) {
                procs.remove(&pid);
            }
        }
        self.changed.notify_all();
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
    /// (prctl(2) PR_SET_CHILD_SUBREAPER). When `reap_now(parent)` holds
    /// (the parent ignores SIGCHLD), no zombie is left: the decision is
    /// taken under the table's lock, so no wait can see the zombie first.
    pub fn exit(
        &self,
        pid: i32,
        status: ExitStatus,
        is_subreaper: &dyn Fn(i32) -> bool,
        reap_now: &dyn Fn(i32) -> bool,
    ) -> Option<i32> {
        let Ok(mut procs) = self.lock() else { return None };
        let mut parent = None;
        if let Some(p) = procs.get_mut(&pid) {
            p.zombie = Some(status);
            parent = Some(p.ppid);
        }
        if parent.is_some_and(reap_now) {
            procs.remove(&pid);
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
                // An orphan tells its new parent with SIGCHLD (Linux's
                // reparent_leader: "We don't want people slaying init").
                p.exit_signal = libc::SIGCHLD;
            }
        }
        drop(procs);
        self.changed.notify_all();
        parent
    }

    /// Records that `pid` stopped or continued, for its parent's wait.
    pub fn job_control(&self, pid: i32, event: WaitEvent) -> Option<i32> {
        let mut procs = self.lock().ok()?;
        let p = procs.get_mut(&pid)?;
        p.job_event = Some(event);
        let parent = p.ppid;
        drop(procs);
        self.changed.notify_all();
        Some(parent)
    }

    /// wait4(2) for exits only, reaping.
    pub fn wait(&self, parent: i32, target: WaitTarget, nohang: bool) -> Result<Option<(i32, ExitStatus)>> {
        let opts = WaitOptions {
            exited: true,
            stopped: false,
            continued: false,
            nohang,
            consume: true,
            clone_only: false,
            all: true,
        };
        Ok(self.wait_opts(parent, target, opts)?.and_then(|(pid, e)| match e {
            WaitEvent::Exited(status) => Some((pid, status)),
            _ => None,
        }))
    }

    /// wait4(2)/waitid(2): the first matching child of `parent` with an
    /// event the options accept. Exits are reaped (unless WNOWAIT); stop
    /// and continue events are reported once. With `nohang`, Ok(None)
    /// when children exist but none has anything to report.
    pub fn wait_opts(&self, parent: i32, target: WaitTarget, opts: WaitOptions) -> Result<Option<(i32, WaitEvent)>> {
        let mut procs = self.lock()?;
        loop {
            // wait(2) __WCLONE/__WALL: a clone child is seen only with
            // __WCLONE or __WALL, any other child only without __WCLONE.
            let kind_ok = |p: &Process| opts.all || (p.exit_signal != libc::SIGCHLD) == opts.clone_only;
            let matches = |pid: i32, p: &Process| {
                p.ppid == parent
                    && kind_ok(p)
                    && match target {
                        WaitTarget::Any => true,
                        WaitTarget::Pid(want) => pid == want,
                        WaitTarget::Group(pgid) => p.pgid == pgid,
                    }
            };
            let mut any_child = false;
            let mut found = None;
            for (&pid, p) in procs.iter() {
                if !matches(pid, p) {
                    continue;
                }
                any_child = true;
                let event = match (p.zombie, p.job_event) {
                    (Some(status), _) if opts.exited => Some(WaitEvent::Exited(status)),
                    (None, Some(e @ WaitEvent::Stopped(_))) if opts.stopped => Some(e),
                    (None, Some(WaitEvent::Continued)) if opts.continued => Some(WaitEvent::Continued),
                    _ => None,
                };
                if let Some(event) = event {
                    found = Some((pid, event));
                    break;
                }
            }
            if let Some((pid, event)) = found {
                if opts.consume {
                    match event {
                        WaitEvent::Exited(_) => {
                            procs.remove(&pid);
                        }
                        _ => {
                            if let Some(p) = procs.get_mut(&pid) {
                                p.job_event = None;
                            }
                        }
                    }
                }
                return Ok(Some((pid, event)));
            }
            if !any_child {
                return Err(Errno::ECHILD);
            }
            if opts.nohang {
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

/// The wait status word of wait(2).
pub fn wait_status(event: WaitEvent) -> i32 {
    match event {
        WaitEvent::Exited(ExitStatus::Exited(code)) => (code & 0xff) << 8,
        WaitEvent::Exited(ExitStatus::Signaled(sig)) => sig & 0x7f,
        WaitEvent::Stopped(sig) => 0x7f | ((sig & 0xff) << 8),
        WaitEvent::Continued => 0xffff,
    }
}
