//! The containers of one sandbox (a Kubernetes pod): the first one, whose
//! init is pid 1 and whose mount table is the kernel's, and the further
//! ones added while it runs, each with a mount table of its own.
//!
//! A process belongs to the container whose mount table its file-system
//! context uses: fork and clone copy or share that context, and no syscall
//! replaces the table (the Sentry has no mount namespaces; chroot changes
//! the root directory, not the table), so membership is inherited and
//! fixed, and needs no tag of its own.

use crate::kernel::signals::SigInfo;
use crate::kernel::Kernel;
use crate::vfs::MountTable;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// A container added to the sandbox.
pub struct Member {
    pub mounts: Arc<MountTable>,
    /// Its init process (a pid of the sandbox's single pid space).
    pub init_pid: i32,
    /// Lets the loaded init run; taken when it starts.
    start: Option<mpsc::Sender<()>>,
}

/// The added containers by id.
#[derive(Default)]
pub struct Members(Mutex<HashMap<String, Member>>);

impl Members {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Member>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    pub fn insert(&self, id: &str, mounts: Arc<MountTable>, init_pid: i32, start: mpsc::Sender<()>) {
        self.lock().insert(
            id.to_string(),
            Member {
                mounts,
                init_pid,
                start: Some(start),
            },
        );
    }

    /// The mount table of container `id`; None names the first container.
    pub fn mounts(&self, kernel: &Kernel, id: Option<&str>) -> Option<Arc<MountTable>> {
        match id {
            None => Some(kernel.mounts.clone()),
            Some(id) => self.lock().get(id).map(|m| m.mounts.clone()),
        }
    }

    pub fn init_pid(&self, id: &str) -> Option<i32> {
        self.lock().get(id).map(|m| m.init_pid)
    }

    /// Lets container `id`'s init run; false if it is unknown or started.
    pub fn start(&self, id: &str) -> bool {
        let start = self.lock().get_mut(id).and_then(|m| m.start.take());
        start.is_some_and(|tx| tx.send(()).is_ok())
    }

    /// Forgets container `id` once its init has been reaped. Its other
    /// processes must be gone or dying: the mount table goes with the last
    /// of them.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The live processes (by pid) whose file-system context uses `mounts`.
pub fn pids_in(kernel: &Kernel, mounts: &Arc<MountTable>) -> Vec<i32> {
    kernel
        .procs
        .snapshot()
        .into_iter()
        .filter(|(_, p)| {
            let fs = p.fs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::ptr_eq(&fs.mounts, mounts)
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Queues `signal` for every process of the container with `mounts`, as
/// if sent from outside the sandbox; returns how many got it.
pub fn signal_all(kernel: &Kernel, mounts: &Arc<MountTable>, signal: i32) -> usize {
    pids_in(kernel, mounts)
        .into_iter()
        .filter(|&pid| kernel.post_signal(pid, outside_signal(signal)).is_ok())
        .count()
}

/// A signal from the parent pid namespace: si_pid 0, SI_USER.
pub fn outside_signal(signal: i32) -> SigInfo {
    SigInfo {
        signo: signal,
        code: 0,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_start_once_and_are_forgotten() {
        let members = Members::default();
        let mounts = Arc::new(MountTable::default());
        let (tx, rx) = mpsc::channel();
        assert!(!members.contains("app"));
        members.insert("app", mounts.clone(), 7, tx);
        assert!(members.contains("app"));
        assert_eq!(members.init_pid("app"), Some(7));
        assert!(!members.start("other"));
        assert!(members.start("app"));
        assert!(rx.try_recv().is_ok());
        // A second start finds nothing to let go.
        assert!(!members.start("app"));
        members.remove("app");
        assert_eq!(members.init_pid("app"), None);
        // The loaded init's thread sees the end of the channel.
        assert!(rx.recv().is_err());
    }
}
