//! One process the shim looks after: a container's init (the sandbox
//! process runsc created) or an exec'd process (the host helper whose exit
//! status is the exec'd process's).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::types::task::Status;

use crate::io::{ProcessIo, StdioPaths};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Created,
    Running,
    /// Frozen by Pause (the init's phase; its container's execs are frozen with it).
    Paused,
    Stopped,
}

#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub code: u32,
    pub at: SystemTime,
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    pid: u32,
    exit: Option<Exit>,
}

pub struct Process {
    /// Empty for the init.
    pub exec_id: String,
    pub stdio: StdioPaths,
    pub io: ProcessIo,
    inner: Mutex<Inner>,
    exited: Condvar,
}

impl Process {
    pub fn new(exec_id: &str, stdio: StdioPaths, io: ProcessIo) -> Process {
        Process {
            exec_id: exec_id.to_string(),
            stdio,
            io,
            inner: Mutex::new(Inner {
                phase: Phase::Created,
                pid: 0,
                exit: None,
            }),
            exited: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn pid(&self) -> u32 {
        self.lock().pid
    }

    pub fn set_pid(&self, pid: u32) {
        self.lock().pid = pid;
    }

    pub fn phase(&self) -> Phase {
        self.lock().phase
    }

    pub fn set_running(&self) {
        let mut inner = self.lock();
        if inner.phase == Phase::Created {
            inner.phase = Phase::Running;
        }
    }

    /// Pause (`true`) or Resume (`false`) of a live process.
    pub fn set_paused(&self, paused: bool) {
        let mut inner = self.lock();
        inner.phase = match (inner.phase, paused) {
            (Phase::Running, true) => Phase::Paused,
            (Phase::Paused, false) => Phase::Running,
            (phase, _) => phase,
        };
    }

    pub fn exit(&self) -> Option<Exit> {
        self.lock().exit
    }

    /// Records the exit (the first one counts) and wakes every Wait.
    pub fn set_exited(&self, code: u32) -> Exit {
        let mut inner = self.lock();
        let exit = *inner.exit.get_or_insert(Exit {
            code,
            at: SystemTime::now(),
        });
        inner.phase = Phase::Stopped;
        self.exited.notify_all();
        exit
    }

    /// Blocks until the process has exited.
    pub fn wait(&self) -> Exit {
        let mut inner = self.lock();
        loop {
            if let Some(exit) = inner.exit {
                return exit;
            }
            inner = self.exited.wait(inner).unwrap_or_else(PoisonError::into_inner);
        }
    }

    pub fn status(&self) -> Status {
        match self.phase() {
            Phase::Created => Status::CREATED,
            Phase::Running => Status::RUNNING,
            Phase::Paused => Status::PAUSED,
            Phase::Stopped => Status::STOPPED,
        }
    }
}

pub fn timestamp(at: SystemTime) -> Timestamp {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn wait_returns_the_first_exit() {
        let p = Arc::new(Process::new("", StdioPaths::default(), ProcessIo::default()));
        assert_eq!(p.status(), Status::CREATED);
        p.set_running();
        assert_eq!(p.status(), Status::RUNNING);
        let waiter = {
            let p = Arc::clone(&p);
            std::thread::spawn(move || p.wait().code)
        };
        p.set_paused(true);
        assert_eq!(p.status(), Status::PAUSED);
        p.set_paused(false);
        assert_eq!(p.status(), Status::RUNNING);
        p.set_exited(3);
        p.set_exited(9);
        assert_eq!(waiter.join().unwrap(), 3);
        assert_eq!(p.status(), Status::STOPPED);
        p.set_running();
        p.set_paused(true);
        assert_eq!(p.status(), Status::STOPPED);
    }
}
