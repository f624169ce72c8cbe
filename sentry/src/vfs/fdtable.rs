//! A process's file descriptor table.

use super::lock::{self, Owner};
use super::OpenFile;
use crate::errno::{Errno, Result};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Owner id of the POSIX record locks taken through this table.
    lock_owner: u64,
    /// Tasks using this table (Linux's files_struct count): the last one
    /// to leave closes every fd.
    users: AtomicUsize,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::with_fds(BTreeMap::new(), 1024)
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        lock::manager().release_table(self.lock_owner);
    }
}

impl FdTable {
    fn with_fds(fds: BTreeMap<i32, FdEntry>, limit: u64) -> FdTable {
        FdTable {
            fds: Mutex::new(fds),
            limit: std::sync::atomic::AtomicU64::new(limit),
            lock_owner: lock::new_owner_id(),
            users: AtomicUsize::new(1),
        }
    }

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
        let replaced = self.lock()?.insert(fd, FdEntry { file, cloexec });
        self.closed(replaced.into_iter().map(|e| e.file).collect());
        Ok(())
    }

    pub fn remove(&self, fd: i32) -> Result<Arc<OpenFile>> {
        let file = self.lock()?.remove(&fd).map(|e| e.file).ok_or(Errno::EBADF)?;
        self.closed(vec![file.clone()]);
        Ok(file)
    }

    /// The owner of the POSIX record locks taken through this table.
    pub fn lock_owner(&self) -> Owner {
        Owner::Posix(self.lock_owner)
    }

    /// Files just closed through this table: the table's POSIX locks on
    /// their inodes go (fcntl(2): "If a process closes any file descriptor
    /// referring to a file, then all of the process's locks on that file
    /// are released").
    fn closed(&self, files: Vec<Arc<OpenFile>>) {
        let locks = lock::manager();
        if files.is_empty() || !locks.has_posix_locks(self.lock_owner) {
            return;
        }
        for file in files {
            if let Ok(key) = file.inode_key() {
                locks.release_records(key, self.lock_owner());
            }
        }
    }

    /// close_range(2) without flags: closes the open fds in first..=last.
    pub fn close_range(&self, first: u32, last: u32) -> Result<()> {
        let removed: Vec<Arc<OpenFile>> = {
            let mut fds = self.lock()?;
            let doomed: Vec<i32> = fds.range(clamp_fd(first)..=clamp_fd(last)).map(|(&fd, _)| fd).collect();
            doomed.iter().filter_map(|fd| fds.remove(fd)).map(|e| e.file).collect()
        };
        self.closed(removed);
        Ok(())
    }

    /// close_range(2) CLOSE_RANGE_CLOEXEC: marks the fds in first..=last.
    pub fn set_cloexec_range(&self, first: u32, last: u32) -> Result<()> {
        let mut fds = self.lock()?;
        for (_, e) in fds.range_mut(clamp_fd(first)..=clamp_fd(last)) {
            e.cloexec = true;
        }
        Ok(())
    }

    /// One more task uses this table (clone with CLONE_FILES).
    pub fn add_user(&self) {
        self.users.fetch_add(1, Ordering::AcqRel);
    }

    /// A task stopped using this table (exit, or it unshared); the last
    /// one closes every fd, which releases the process's locks.
    pub fn remove_user(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            let all: Vec<Arc<OpenFile>> = match self.lock() {
                Ok(mut fds) => std::mem::take(&mut *fds).into_values().map(|e| e.file).collect(),
                Err(_) => Vec::new(),
            };
            self.closed(all);
            lock::manager().release_table(self.lock_owner);
        }
    }

    /// True if another task shares this table.
    pub fn is_shared(&self) -> bool {
        self.users.load(Ordering::Acquire) > 1
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<()> {
        self.lock()?
            .get_mut(&fd)
            .map(|e| e.cloexec = cloexec)
            .ok_or(Errno::EBADF)
    }

    /// Closes every fd marked close-on-exec (execve(2)).
    pub fn close_on_exec(&self) -> Result<()> {
        let mut closed = Vec::new();
        self.lock()?.retain(|_, e| {
            if e.cloexec {
                closed.push(e.file.clone());
            }
            !e.cloexec
        });
        self.closed(closed);
        Ok(())
    }

    /// A copy for fork(2): same open file descriptions, separate table
    /// (and so no POSIX locks: they are not inherited).
    pub fn fork(&self) -> Result<FdTable> {
        Ok(FdTable::with_fds(self.lock()?.clone(), self.limit()))
    }

    /// Open fds, for /proc/self/fd.
    pub fn fds(&self) -> Vec<i32> {
        self.lock().map(|f| f.keys().copied().collect()).unwrap_or_default()
    }
}

/// An fd number from close_range(2)'s unsigned bounds.
fn clamp_fd(fd: u32) -> i32 {
    fd.min(i32::MAX as u32) as i32
}
