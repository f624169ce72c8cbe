//! The syscall side of advisory locking: fcntl(2) record locks (F_GETLK,
//! F_SETLK, F_SETLKW and the F_OFD_* forms) and flock(2). The locks
//! themselves live in [`crate::vfs::lock`].

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::vfs::lock::{self, LockKind, Owner, RecordLock, RecordRequest, OFFSET_MAX};
use crate::vfs::OpenFile;

/// sizeof(struct flock) on x86-64.
const FLOCK_SIZE: usize = 32;
/// flock(2): obsolete LOCK_MAND requests succeed without doing anything.
const LOCK_MAND: i32 = 32;

/// struct flock as the guest passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
}

impl Flock {
    fn read(mem: &dyn UserMemory, addr: u64) -> Result<Flock> {
        let mut b = [0u8; FLOCK_SIZE];
        mem.read(addr, &mut b)?;
        let i16_at = |o: usize| i16::from_le_bytes([b[o], b[o + 1]]);
        let i64_at = |o: usize| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[o..o + 8]);
            i64::from_le_bytes(v)
        };
        Ok(Flock {
            l_type: i16_at(0),
            l_whence: i16_at(2),
            l_start: i64_at(8),
            l_len: i64_at(16),
            l_pid: i32::from_le_bytes([b[24], b[25], b[26], b[27]]),
        })
    }

    fn write(&self, mem: &dyn UserMemory, addr: u64) -> Result<()> {
        let mut b = [0u8; FLOCK_SIZE];
        b[0..2].copy_from_slice(&self.l_type.to_le_bytes());
        b[2..4].copy_from_slice(&self.l_whence.to_le_bytes());
        b[8..16].copy_from_slice(&self.l_start.to_le_bytes());
        b[16..24].copy_from_slice(&self.l_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.l_pid.to_le_bytes());
        mem.write(addr, &b)
    }

    /// l_type as a lock kind; None for F_UNLCK, EINVAL for anything else.
    fn kind(&self) -> Result<Option<LockKind>> {
        match self.l_type as i32 {
            libc::F_RDLCK => Ok(Some(LockKind::Read)),
            libc::F_WRLCK => Ok(Some(LockKind::Write)),
            libc::F_UNLCK => Ok(None),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The inclusive byte range the request covers (fcntl(2): l_start is
    /// relative to l_whence; l_len 0 means "to the end of the file however
    /// large it grows"; a negative l_len covers l_start+l_len..l_start-1).
    fn range(&self, file: &OpenFile) -> Result<(i64, i64)> {
        let base = match self.l_whence as i32 {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => file.seek(0, libc::SEEK_CUR)? as i64,
            libc::SEEK_END => file.ops.size()? as i64,
            _ => return Err(Errno::EINVAL),
        };
        let start = base.checked_add(self.l_start).ok_or(Errno::EOVERFLOW)?;
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        match self.l_len {
            0 => Ok((start, OFFSET_MAX)),
            len if len > 0 => {
                if len - 1 > OFFSET_MAX - start {
                    return Err(Errno::EOVERFLOW);
                }
                Ok((start, start + len - 1))
            }
            len => {
                let first = start.checked_add(len).filter(|&s| s >= 0).ok_or(Errno::EINVAL)?;
                Ok((first, start - 1))
            }
        }
    }

    /// What F_GETLK reports for a conflicting lock.
    fn describe(lock: &RecordLock) -> Flock {
        Flock {
            l_type: match lock.kind {
                LockKind::Read => libc::F_RDLCK as i16,
                LockKind::Write => libc::F_WRLCK as i16,
            },
            l_whence: libc::SEEK_SET as i16,
            l_start: lock.start,
            l_len: if lock.end == OFFSET_MAX {
                0
            } else {
                lock.end - lock.start + 1
            },
            l_pid: lock.pid,
        }
    }
}

/// Who a record lock request from `task` through `file` belongs to, and
/// the l_pid other processes see for it (-1 for OFD locks).
fn owner_of(task: &Task, file: &OpenFile, ofd: bool) -> (Owner, i32) {
    if ofd {
        (Owner::OpenFile(file.lock_id()), -1)
    } else {
        (task.fds.lock_owner(), task.tgid)
    }
}

/// fcntl F_GETLK / F_OFD_GETLK.
pub(super) fn get_lock(task: &Task, file: &OpenFile, addr: u64, ofd: bool) -> Result<u64> {
    let mut fl = Flock::read(task.mm.as_ref(), addr)?;
    let kind = fl.kind()?;
    if kind.is_none() && !ofd {
        return Err(Errno::EINVAL);
    }
    let (start, end) = fl.range(file)?;
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let (owner, pid) = owner_of(task, file, ofd);
    let key = file.inode_key()?;
    let found = match kind {
        Some(kind) => {
            let probe = RecordLock {
                owner,
                kind,
                start,
                end,
                pid,
            };
            lock::manager().test_record(key, &probe)?
        }
        // F_OFD_GETLK with F_UNLCK reports the description's own lock.
        None => lock::manager().find_own_record(key, owner, start, end)?,
    };
    match found {
        Some(held) => fl = Flock::describe(&held),
        None => fl.l_type = libc::F_UNLCK as i16,
    }
    fl.write(task.mm.as_ref(), addr)?;
    Ok(0)
}

/// fcntl F_SETLK / F_SETLKW / F_OFD_SETLK / F_OFD_SETLKW.
pub(super) fn set_lock(task: &Task, file: &OpenFile, addr: u64, ofd: bool, wait: bool) -> Result<u64> {
    let fl = Flock::read(task.mm.as_ref(), addr)?;
    let (start, end) = fl.range(file)?;
    let kind = fl.kind()?;
    // A read lock needs a readable fd, a write lock a writable one.
    match kind {
        Some(LockKind::Read) if !file.readable() => return Err(Errno::EBADF),
        Some(LockKind::Write) if !file.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let key = if ofd {
        file.lock_key_for_locking()?
    } else {
        file.inode_key()?
    };
    let (owner, pid) = owner_of(task, file, ofd);
    let req = RecordRequest {
        owner,
        kind,
        start,
        end,
        pid,
    };
    lock::manager().set_record(key, &req, wait)?;
    Ok(0)
}

/// flock(2).
pub fn flock(task: &mut Task, a: Args) -> Result<u64> {
    let op = a.i32(1);
    if op & LOCK_MAND != 0 {
        return Ok(0);
    }
    let exclusive = match op & !libc::LOCK_NB {
        libc::LOCK_SH => Some(false),
        libc::LOCK_EX => Some(true),
        libc::LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let file = task.fds.get(a.fd(0))?;
    // flock ignores O_PATH fds entirely; locking (not unlocking) also
    // needs read or write access (open mode 3 has neither).
    if file.is_path_only() || (exclusive.is_some() && !file.readable() && !file.writable()) {
        return Err(Errno::EBADF);
    }
    let locks = lock::manager();
    match exclusive {
        None => locks.funlock(file.inode_key()?, file.lock_id())?,
        Some(exclusive) => {
            let key = file.lock_key_for_locking()?;
            locks.flock(key, file.lock_id(), exclusive, op & libc::LOCK_NB == 0)?;
        }
    }
    Ok(0)
}
