//! A process's file descriptor table.

use super::OpenFile;
use crate::errno::{Errno, Result};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<OpenFile>,
    pub cloexec: bool,
}

pub struct FdTable {
    fds: Mutex<BTreeMap<i32, FdEntry>>,
    /// RLIMIT_NOFILE: fds must be below this.
    limit: std::sync::atomic::AtomicU64,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable {
            fds: Mutex::new(BTreeMap::new()),
            limit: std::sync::atomic::AtomicU64::new(1024),
        }
    }
}

impl FdTable {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<i32, FdEntry>>> {
        self.fds.lock().map_err(|_| Errno::EIO)
    }

    pub fn limit(&self) -> u64 {
        self.limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, std::sync::atomic::Ordering::Relaxed)
    }

    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>> {
        self.lock()?.get(&fd).map(|e| e.file.clone()).ok_or(Errno::EBADF)
    }

    pub fn entry(&self, fd: i32) -> Result<FdEntry> {
        self.lock()?.get(&fd).cloned().ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free fd >= `min` (EMFILE past the limit).
    pub fn insert_from(&self, min: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<i32> {
        let mut fds = self.lock()?;
        let mut fd = min.max(0);
        for (&used, _) in fds.range(fd..) {
            if used != fd {
                break;
            }
            fd += 1;
        }
        if fd as u64 >= self.limit() {
            return Err(Errno::EMFILE);
        }
        fds.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    pub fn insert(&self, file: Arc<OpenFile>, cloexec: bool) -> Result<i32> {
        self.insert_from(0, file, cloexec)
    }

    /// Installs at exactly `fd` (dup2), replacing what was there.
    pub fn insert_at(&self, fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<()> {
        if fd < 0 || fd as u64 >= self.limit() {
            return Err(Errno::EBADF);
        }
        self.lock()?.insert(fd, FdEntry { file, cloexec });
        Ok(())
    }

    pub fn remove(&self, fd: i32) -> Result<Arc<OpenFile>> {
        self.lock()?.remove(&fd).map(|e| e.file).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<()> {
        self.lock()?
            .get_mut(&fd)
            .map(|e| e.cloexec = cloexec)
            .ok_or(Errno::EBADF)
    }

    /// Closes every fd marked close-on-exec (execve(2)).
    pub fn close_on_exec(&self) -> Result<()> {
        self.lock()?.retain(|_, e| !e.cloexec);
        Ok(())
    }

    /// A copy for fork(2): same open file descriptions, separate table.
    pub fn fork(&self) -> Result<FdTable> {
        Ok(FdTable {
            fds: Mutex::new(self.lock()?.clone()),
            limit: std::sync::atomic::AtomicU64::new(self.limit()),
        })
    }

    /// Open fds, for /proc/self/fd.
    pub fn fds(&self) -> Vec<i32> {
        self.lock().map(|f| f.keys().copied().collect()).unwrap_or_default()
    }
}
