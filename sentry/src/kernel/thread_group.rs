//! Thread groups: the threads of one process, how the process exits
//! (exit_group, a fatal signal, or its last thread's exit), and what exec
//! does to the other threads.

use super::signals::{SigInfo, SignalQueue};
use crate::errno::{Errno, Result};
use crate::sandbox::ExitStatus;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// si_code of the SIGKILL a thread group sends its own threads.
pub const SI_KERNEL: i32 = 0x80;

struct State {
    threads: Vec<(i32, Arc<SignalQueue>)>,
    /// Stopped by a job-control signal (SIGSTOP, SIGTSTP, ...).
    stopped: bool,
    group_exit: Option<ExitStatus>,
    leader_exit: Option<ExitStatus>,
}

pub struct ThreadGroup {
    pub tgid: i32,
    /// SIGCHLD is SIG_IGN or has SA_NOCLDWAIT: children are reaped at exit.
    pub reaps_children: std::sync::atomic::AtomicBool,
    /// Resource limits another process set with prlimit(2), for the
    /// process to take at its next syscall.
    pub rlimit_update: Mutex<Option<super::task::Rlimits>>,
    state: Mutex<State>,
    changed: Condvar,
}

impl ThreadGroup {
    pub fn new(tgid: i32, leader_queue: Arc<SignalQueue>) -> Arc<ThreadGroup> {
        Arc::new(ThreadGroup {
            tgid,
            reaps_children: Default::default(),
            rlimit_update: Mutex::new(None),
            state: Mutex::new(State {
                threads: vec![(tgid, leader_queue)],
                stopped: false,
                group_exit: None,
                leader_exit: None,
            }),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    pub fn add(&self, tid: i32, queue: Arc<SignalQueue>) -> Result<()> {
        self.lock()?.threads.push((tid, queue));
        Ok(())
    }

    pub fn has_thread(&self, tid: i32) -> bool {
        self.lock()
            .map(|s| s.threads.iter().any(|(t, _)| *t == tid))
            .unwrap_or(false)
    }

    /// The thread ids, leader first (/proc/PID/task).
    pub fn tids(&self) -> Vec<i32> {
        self.lock()
            .map(|s| s.threads.iter().map(|(t, _)| *t).collect())
            .unwrap_or_default()
    }

    /// Stopped by a job-control signal (state T in /proc).
    pub fn is_stopped(&self) -> bool {
        self.lock().map(|s| s.stopped).unwrap_or(false)
    }

    pub fn thread_count(&self) -> usize {
        self.lock().map(|s| s.threads.len()).unwrap_or(0)
    }

    /// The queue of the thread that takes process-directed signals.
    pub fn main_queue(&self) -> Option<Arc<SignalQueue>> {
        self.lock().ok()?.threads.first().map(|(_, q)| q.clone())
    }

    /// exit_group(2) or a fatal signal: records the process's status (the
    /// first one wins) and kills every other thread.
    pub fn begin_group_exit(&self, status: ExitStatus, caller: i32) {
        let Ok(mut s) = self.lock() else { return };
        if s.group_exit.is_none() {
            s.group_exit = Some(status);
        }
        kill_others(&s.threads, caller);
    }

    /// execve(2) in a multi-threaded process: the other threads die first.
    /// Threads blocked outside the guest get `patience` to notice.
    pub fn kill_others_and_wait(&self, caller: i32, patience: Duration) {
        let Ok(s) = self.lock() else { return };
        kill_others(&s.threads, caller);
        let _ = self.changed.wait_timeout_while(s, patience, |s| s.threads.len() > 1);
    }

    /// A default-action stop signal: every thread stops before re-entering
    /// the guest. Returns false if the group was already stopped.
    pub fn stop(&self) -> bool {
        let Ok(mut s) = self.lock() else { return false };
        if std::mem::replace(&mut s.stopped, true) {
            return false;
        }
        for (_, queue) in &s.threads {
            queue.kick();
        }
        true
    }

    /// SIGCONT was sent: the stopped threads run again. Returns whether the
    /// group was stopped.
    pub fn resume(&self) -> bool {
        let Ok(mut s) = self.lock() else { return false };
        let was = std::mem::replace(&mut s.stopped, false);
        drop(s);
        self.changed.notify_all();
        for queue in self
            .lock()
            .map(|s| s.threads.iter().map(|(_, q)| q.clone()).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            queue.notify();
        }
        was
    }

    /// Blocks while the group is stopped; SIGKILL (pending on `queue`) ends
    /// the wait so it can be delivered.
    pub fn wait_while_stopped(&self, queue: &SignalQueue) {
        let Ok(mut s) = self.lock() else { return };
        while s.stopped && queue.pending_set() & super::signals::bit(libc::SIGKILL) == 0 {
            s = match self.changed.wait_timeout(s, Duration::from_millis(20)) {
                Ok((s, _)) => s,
                Err(_) => return,
            };
        }
    }

    /// A thread has finished. Returns the process's exit status when it
    /// was the last thread.
    pub fn thread_exited(&self, tid: i32, status: ExitStatus) -> Option<ExitStatus> {
        let mut s = self.lock().ok()?;
        if tid == self.tgid {
            s.leader_exit = Some(status);
        }
        s.threads.retain(|(t, _)| *t != tid);
        self.changed.notify_all();
        if !s.threads.is_empty() {
            return None;
        }
        Some(s.group_exit.or(s.leader_exit).unwrap_or(status))
    }
}

fn kill_others(threads: &[(i32, Arc<SignalQueue>)], caller: i32) {
    for (tid, queue) in threads {
        if *tid != caller {
            queue.post(SigInfo {
                signo: libc::SIGKILL,
                code: SI_KERNEL,
                ..Default::default()
            });
        }
    }
}
