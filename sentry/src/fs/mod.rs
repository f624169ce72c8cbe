//! Filesystems: host files through the gofer, tmpfs, overlay, dev and proc.
//!
//! Each filesystem implements [`crate::vfs::Inode`] for its files and
//! [`crate::vfs::FileOps`] for what `open` returns; the VFS does path
//! resolution, offsets and fds.
//!
//! - [`host`]: read-only host files served by a gofer [`gofer::FileServer`];
//! - [`tmpfs`]: an in-memory filesystem (tmpfs(5));
//! - [`overlay`]: a writable tmpfs upper over a read-only lower (the default
//!   root of `runsc do`: writes never reach the host);
//! - [`dev`]: `/dev` (a tmpfs holding null, zero, full, random, urandom,
//!   tty) and the character devices themselves, opened by device number from
//!   any filesystem;
//! - [`devpts`]: `/dev/pts`, the pseudo-terminal slaves, over the
//!   terminals of [`tty`];
//! - [`proc`]: the sandbox's `/proc`.
//!
//! This module also holds the few helpers they share: lock helpers that map
//! a poisoned lock to EIO, device numbers, and the trivial [`FileOps`] of
//! directories and `O_PATH` descriptors.

pub mod anon;
pub mod dev;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
pub mod host;
pub mod host_cache;
pub mod memfd;
pub mod overlay;
pub mod pipe;
pub mod proc;
pub mod proc_sys;
pub mod sys;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;

use crate::errno::{Errno, Result};
use crate::vfs::FileOps;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `m`; a poisoned lock (a panic elsewhere) is EIO for the guest.
pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    m.lock().map_err(|_| Errno::EIO)
}

/// Read-locks `l` (EIO when poisoned).
pub(crate) fn read_lock<T>(l: &RwLock<T>) -> Result<RwLockReadGuard<'_, T>> {
    l.read().map_err(|_| Errno::EIO)
}

/// Write-locks `l` (EIO when poisoned).
pub(crate) fn write_lock<T>(l: &RwLock<T>) -> Result<RwLockWriteGuard<'_, T>> {
    l.write().map_err(|_| Errno::EIO)
}

/// Linux's `makedev(3)` encoding of a device number.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

/// `major(3)` of a device number.
pub const fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

/// `minor(3)` of a device number.
pub const fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// A fresh anonymous device number (major 0, as Linux gives tmpfs and
/// overlay mounts) so that every filesystem instance has its own st_dev.
pub(crate) fn alloc_anon_dev() -> u64 {
    // Minor numbers below 16 look like the host's early mounts; start above.
    static NEXT_MINOR: AtomicU64 = AtomicU64::new(16);
    let minor = NEXT_MINOR.fetch_add(1, Ordering::Relaxed);
    makedev(0, minor as u32)
}

/// True when `flags` ask for write access (O_WRONLY or O_RDWR).
pub(crate) fn wants_write(flags: i32) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
}

/// True for `O_PATH` opens, which must not touch the file (open(2)).
pub(crate) fn is_path_open(flags: i32) -> bool {
    flags & libc::O_PATH != 0
}

/// What an open directory does: read(2) and write(2) give EISDIR; the
/// listing comes from the inode through getdents64.
pub(crate) struct DirOps;

impl FileOps for DirOps {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EISDIR)
    }
}

/// An `O_PATH` descriptor: no I/O at all (the VFS refuses it with EBADF
/// before reaching here; this is the belt to its braces).
pub(crate) struct PathOps;

impl FileOps for PathOps {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EBADF)
    }
}

/// The common start of `open`: O_DIRECTORY on a non-directory is ENOTDIR;
/// a directory or an `O_PATH` open is complete here (`Some(ops)`). A directory opened for writing
/// (or with O_TRUNC, as Linux checks in may_open) gives EISDIR (open(2)).
pub(crate) fn open_dir_or_path(flags: i32, is_dir: bool) -> Result<Option<Arc<dyn FileOps>>> {
    if flags & libc::O_DIRECTORY != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if is_path_open(flags) {
        return Ok(Some(Arc::new(PathOps)));
    }
    if !is_dir {
        return Ok(None);
    }
    if wants_write(flags) || flags & libc::O_TRUNC != 0 {
        return Err(Errno::EISDIR);
    }
    Ok(Some(Arc::new(DirOps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makedev_round_trips() {
        for (ma, mi) in [(1, 3), (5, 0), (0, 16), (259, 70000), (4095, 255)] {
            let dev = makedev(ma, mi);
            assert_eq!((major(dev), minor(dev)), (ma, mi));
        }
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(5, 0), 0x500);
    }

    #[test]
    fn anon_devs_differ() {
        assert_ne!(alloc_anon_dev(), alloc_anon_dev());
        assert_eq!(major(alloc_anon_dev()), 0);
    }

    #[test]
    fn directory_open_rules() {
        assert!(matches!(open_dir_or_path(libc::O_RDONLY, true), Ok(Some(_))));
        assert_eq!(open_dir_or_path(libc::O_WRONLY, true).err(), Some(Errno::EISDIR));
        assert_eq!(
            open_dir_or_path(libc::O_RDONLY | libc::O_TRUNC, true).err(),
            Some(Errno::EISDIR)
        );
        assert!(matches!(
            open_dir_or_path(libc::O_PATH | libc::O_WRONLY, true),
            Ok(Some(_))
        ));
        assert!(matches!(open_dir_or_path(libc::O_RDWR, false), Ok(None)));
        assert_eq!(
            open_dir_or_path(libc::O_PATH | libc::O_DIRECTORY, false).err(),
            Some(Errno::ENOTDIR)
        );
    }
}
