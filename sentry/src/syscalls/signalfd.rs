//! signalfd(2) and signalfd4: signals read from a file descriptor as
//! `struct signalfd_siginfo` records.
//!
//! Like Linux, a signalfd reads (and polls) the signals pending for the
//! task that reads it, not for its creator. **Difference:** only the
//! reading thread's queue is consulted, which is where this kernel keeps
//! process-directed signals for the main thread.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::interrupt;
use crate::kernel::signals::{bit, SigInfo};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use crate::vfs::{Dentry, FileOps, Inode, OpenFile, Stat};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// sizeof(struct signalfd_siginfo).
const RECORD: usize = 128;
const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));

/// An open signalfd: the set of signals it reports.
struct SignalFd {
    mask: AtomicU64,
}

impl SignalFd {
    fn mask(&self) -> u64 {
        self.mask.load(Ordering::Relaxed)
    }
}

/// struct signalfd_siginfo from a kernel siginfo (the union fields land
/// where each signal's siginfo keeps them).
fn record(info: &SigInfo) -> [u8; RECORD] {
    let raw = info.encode();
    let u32_at = |o: usize| u32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
    let u64_at = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap_or([0; 8]));
    let mut out = [0u8; RECORD];
    let mut put32 = |o: usize, v: u32| out[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put32(0, info.signo as u32); // ssi_signo
    put32(4, u32_at(4)); // ssi_errno
    put32(8, u32_at(8)); // ssi_code
    put32(12, u32_at(16)); // ssi_pid
    put32(16, u32_at(20)); // ssi_uid
    if info.signo == libc::SIGCHLD {
        put32(40, u32_at(24)); // ssi_status
    } else {
        put32(44, u32_at(24)); // ssi_int
    }
    let ptr = if info.signo == libc::SIGCHLD { 0 } else { u64_at(24) };
    out[48..56].copy_from_slice(&ptr.to_le_bytes()); // ssi_ptr
    if info.is_fault {
        out[72..80].copy_from_slice(&u64_at(16).to_le_bytes()); // ssi_addr
    }
    out
}

impl FileOps for SignalFd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }

    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        if buf.len() < RECORD {
            return Err(Errno::EINVAL);
        }
        let queue = interrupt::current_queue().ok_or(Errno::EINVAL)?;
        loop {
            let mask = self.mask();
            let mut n = 0;
            while n + RECORD <= buf.len() {
                let Some(info) = queue.take_in(mask) else { break };
                buf[n..n + RECORD].copy_from_slice(&record(&info));
                n += RECORD;
            }
            if n > 0 {
                return Ok(n);
            }
            if flags & libc::O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            interrupt::check()?;
            let deadline = Instant::now() + Duration::from_millis(20);
            queue.wait_for(Some(deadline), u64::MAX, &|pending| {
                pending.iter().any(|s| mask & bit(s.signo) != 0)
            })?;
        }
    }

    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self, events: i16) -> i16 {
        let pending = interrupt::current_queue().map_or(0, |q| q.pending_set());
        if pending & self.mask() != 0 {
            events & (libc::POLLIN | libc::POLLRDNORM)
        } else {
            0
        }
    }
}

/// What fstat on a signalfd shows (an anonymous inode, mode 0600); it
/// also finds the signalfd behind an fd for a mask change.
struct SignalFdInode(Arc<SignalFd>);

impl Inode for SignalFdInode {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn do_signalfd(task: &mut Task, fd: i32, mask_addr: u64, size: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) != 0 || size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = task.mm.read_val::<u64>(mask_addr)? & !UNBLOCKABLE;
    if fd != -1 {
        // An existing signalfd gets the new mask.
        let file = task.fds.get(fd)?;
        let inode = file.dentry.inode.as_any().downcast_ref::<SignalFdInode>();
        inode.ok_or(Errno::EINVAL)?.0.mask.store(mask, Ordering::Relaxed);
        return Ok(fd as u64);
    }
    let ops = Arc::new(SignalFd {
        mask: AtomicU64::new(mask),
    });
    let dentry = Arc::new(Dentry {
        path: b"anon_inode:[signalfd]".to_vec(),
        parent: None,
        inode: Arc::new(SignalFdInode(ops.clone())),
    });
    let file = OpenFile::new(dentry, ops, libc::O_RDWR | (flags & libc::SFD_NONBLOCK));
    Ok(task.fds.insert(file, flags & libc::SFD_CLOEXEC != 0)? as u64)
}

pub fn signalfd(task: &mut Task, a: Args) -> Result<u64> {
    do_signalfd(task, a.i32(0), a.u64(1), a.u64(2), 0)
}

pub fn signalfd4(task: &mut Task, a: Args) -> Result<u64> {
    do_signalfd(task, a.i32(0), a.u64(1), a.u64(2), a.i32(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_signo_code_pid_and_status() {
        let info = SigInfo::child(
            42,
            crate::kernel::process::WaitEvent::Exited(crate::sandbox::ExitStatus::Exited(7)),
        );
        let r = record(&info);
        let at = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
        assert_eq!(at(0), libc::SIGCHLD as u32);
        assert_eq!(at(8), 1); // CLD_EXITED
        assert_eq!(at(12), 42);
        assert_eq!(at(40), 7);
    }
}
