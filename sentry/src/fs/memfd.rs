//! memfd_create(2) files: tmpfs files that no directory lists, with the
//! file seals of fcntl(2) "File Sealing" (F_ADD_SEALS, F_GET_SEALS).
//!
//! A [`MemfdInode`] wraps a detached tmpfs file and refuses what its seals
//! forbid: writes (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE), size changes
//! (F_SEAL_SHRINK, F_SEAL_GROW), changes of the execute bits (F_SEAL_EXEC)
//! and, through [`check_mmap`], shared writable mappings.

use super::tmpfs::{Tmpfs, TmpfsInode};
use crate::errno::{Errno, Result};
use crate::vfs::{FileOps, Inode, OpenFile, SetAttr, Stat};
use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};

pub const F_SEAL_SEAL: u32 = 0x0001;
pub const F_SEAL_SHRINK: u32 = 0x0002;
pub const F_SEAL_GROW: u32 = 0x0004;
pub const F_SEAL_WRITE: u32 = 0x0008;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x0010;
pub const F_SEAL_EXEC: u32 = 0x0020;
/// Every seal Linux knows (F_ALL_SEALS).
pub const ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;
/// Seals that forbid writing through fds and new shared writable mappings.
const WRITE_SEALS: u32 = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

/// The internal tmpfs (Linux's shm_mnt) every memfd lives in.
fn shm_root() -> &'static Arc<TmpfsInode> {
    static ROOT: OnceLock<Arc<TmpfsInode>> = OnceLock::new();
    ROOT.get_or_init(|| Tmpfs::new_root(None, 0o1777, 0, 0))
}

/// A memfd: a detached tmpfs file and its seals.
pub struct MemfdInode {
    file: Arc<TmpfsInode>,
    seals: Arc<Mutex<u32>>,
}

impl MemfdInode {
    /// A new empty memfd with permission bits `mode` and initial `seals`.
    pub fn new(mode: u32, uid: u32, gid: u32, seals: u32) -> Result<Arc<MemfdInode>> {
        Ok(Arc::new(MemfdInode {
            file: shm_root().new_detached_file(mode, uid, gid)?,
            seals: Arc::new(Mutex::new(seals)),
        }))
    }

    pub fn seals(&self) -> Result<u32> {
        Ok(*self.seals.lock().map_err(|_| Errno::EIO)?)
    }

    /// fcntl(F_ADD_SEALS) once the caller checked the fd is writable and
    /// `seals` is within ALL_SEALS: EPERM once F_SEAL_SEAL is set; EBUSY
    /// adding F_SEAL_WRITE while a shared mapping was made writable and
    /// the file is still mapped (Linux also counts read-only shared
    /// mappings that could become writable; this does not).
    pub fn add_seals(&self, seals: u32) -> Result<()> {
        let mut current = self.seals.lock().map_err(|_| Errno::EIO)?;
        if *current & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_WRITE != 0
            && *current & F_SEAL_WRITE == 0
            && crate::mm::pagecache::has_shared_writer(self.file.identity()?)
        {
            return Err(Errno::EBUSY);
        }
        *current |= seals;
        Ok(())
    }

    /// The size change from `old` to `new` the seals allow.
    fn check_resize(&self, old: u64, new: u64) -> Result<()> {
        let seals = self.seals()?;
        if (new < old && seals & F_SEAL_SHRINK != 0) || (new > old && seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }
}

/// The memfd behind an open file, if it is one.
pub fn memfd_of(file: &OpenFile) -> Option<&MemfdInode> {
    file.dentry.inode.as_any().downcast_ref::<MemfdInode>()
}

/// mmap(2) of a sealed memfd: a shared writable mapping is EPERM under
/// F_SEAL_WRITE or F_SEAL_FUTURE_WRITE (memfd_create(2)).
pub fn check_mmap(file: &OpenFile, shared: bool, prot: i32) -> Result<()> {
    let Some(memfd) = memfd_of(file) else { return Ok(()) };
    if shared && prot & libc::PROT_WRITE != 0 && memfd.seals()? & WRITE_SEALS != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// What mappings of `file` read and write through. A memfd's mappings
/// bypass the seal checks of its fds: F_SEAL_FUTURE_WRITE leaves existing
/// shared mappings writable, and the write seals keep new ones from being
/// writable in the first place ([`check_mmap`], [`may_write_shared`]).
pub fn mapping_ops(file: &OpenFile) -> Result<Arc<dyn FileOps>> {
    match memfd_of(file) {
        Some(memfd) => memfd.file.open(libc::O_RDWR),
        None => Ok(file.ops.clone()),
    }
}

/// Whether a shared mapping of `file` may ever be writable (mprotect
/// PROT_WRITE later): the fd must be writable, and a write-sealed memfd
/// never is (Linux clears VM_MAYWRITE).
pub fn may_write_shared(file: &OpenFile) -> Result<bool> {
    let sealed = match memfd_of(file) {
        Some(memfd) => memfd.seals()? & WRITE_SEALS != 0,
        None => false,
    };
    Ok(file.writable() && !sealed)
}

impl Inode for MemfdInode {
    fn stat(&self) -> Result<Stat> {
        self.file.stat()
    }

    fn identity(&self) -> Result<(u64, u64)> {
        self.file.identity()
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if flags & libc::O_TRUNC != 0 {
            self.check_resize(self.file.stat()?.size, 0)?;
        }
        Ok(Arc::new(MemfdFile {
            inner: self.file.open(flags)?,
            seals: self.seals.clone(),
        }))
    }

    fn setattr(&self, attr: SetAttr) -> Result<()> {
        let st = self.file.stat()?;
        if let Some(size) = attr.size {
            self.check_resize(st.size, size)?;
        }
        if let Some(mode) = attr.mode {
            // F_SEAL_EXEC: the execute bits may no longer change.
            if self.seals()? & F_SEAL_EXEC != 0 && (st.mode ^ mode) & 0o111 != 0 {
                return Err(Errno::EPERM);
            }
        }
        self.file.setattr(attr)
    }

    fn fs_magic(&self) -> u64 {
        self.file.fs_magic()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open memfd: the tmpfs file, with the seals checked on every change.
struct MemfdFile {
    inner: Arc<dyn FileOps>,
    seals: Arc<Mutex<u32>>,
}

impl MemfdFile {
    fn seals(&self) -> Result<u32> {
        Ok(*self.seals.lock().map_err(|_| Errno::EIO)?)
    }

    /// shmem's write_begin: EPERM under a write seal, or past the size
    /// under F_SEAL_GROW.
    fn check_write(&self, offset: u64, len: u64) -> Result<()> {
        let seals = self.seals()?;
        if seals & WRITE_SEALS != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_GROW != 0 && offset.saturating_add(len) > self.inner.size()? {
            return Err(Errno::EPERM);
        }
        Ok(())
    }
}

impl FileOps for MemfdFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.inner.read(buf, offset)
    }

    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_write(offset, buf.len() as u64)?;
        self.inner.write(buf, offset)
    }

    fn size(&self) -> Result<u64> {
        self.inner.size()
    }

    /// shmem_fallocate: punching needs no write seal, allocating past the
    /// size (even with FALLOC_FL_KEEP_SIZE) no F_SEAL_GROW.
    fn fallocate(&self, mode: i32, offset: u64, len: u64) -> Result<()> {
        let seals = self.seals()?;
        if mode & libc::FALLOC_FL_PUNCH_HOLE != 0 {
            if seals & WRITE_SEALS != 0 {
                return Err(Errno::EPERM);
            }
        } else if seals & F_SEAL_GROW != 0 && offset.saturating_add(len) > self.inner.size()? {
            return Err(Errno::EPERM);
        }
        self.inner.fallocate(mode, offset, len)
    }
}
