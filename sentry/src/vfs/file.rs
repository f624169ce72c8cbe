//! Open file descriptions (open(2) "file description"): the file, its
//! status flags and its offset, shared by every fd dup'ed from it.

use super::lock::{self, InodeKey};
use super::{Dentry, DirEntry, FileOps};
use crate::errno::{Errno, Result};
use crate::mm::pagecache::{self, CacheKey};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Status flags that fcntl(F_SETFL) may change (fcntl(2)).
pub const SETFL_MASK: i32 = libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;

pub struct OpenFile {
    pub dentry: Arc<Dentry>,
    pub ops: Arc<dyn FileOps>,
    /// O_* status and access-mode flags.
    flags: AtomicI32,
    offset: Mutex<u64>,
    /// Directory listing snapshot taken by the first getdents64 call.
    dir_snapshot: Mutex<Option<Vec<DirEntry>>>,
    /// Owner id of this description's OFD and flock locks.
    lock_id: u64,
    /// The inode's lock key, set once this description has locked it.
    locked_inode: OnceLock<InodeKey>,
    /// The file's page-cache key, looked up once, when some file mapping
    /// exists.
    cache_key: OnceLock<Option<CacheKey>>,
}

impl Drop for OpenFile {
    /// The last reference to the description is gone: its OFD and flock
    /// locks are released (fcntl(2) "Open file description locks").
    fn drop(&mut self) {
        if let Some(key) = self.locked_inode.get() {
            lock::manager().release_open_file(*key, self.lock_id);
        }
    }
}

impl OpenFile {
    pub fn new(dentry: Arc<Dentry>, ops: Arc<dyn FileOps>, flags: i32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            dentry,
            ops,
            flags: AtomicI32::new(
                flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_CLOEXEC | libc::O_NOCTTY),
            ),
            offset: Mutex::new(0),
            dir_snapshot: Mutex::new(None),
            lock_id: lock::new_owner_id(),
            locked_inode: OnceLock::new(),
            cache_key: OnceLock::new(),
        })
    }

    /// The identity locks on this file are keyed by.
    pub fn inode_key(&self) -> Result<InodeKey> {
        if let Some(key) = self.locked_inode.get() {
            return Ok(*key);
        }
        let st = self.dentry.inode.stat()?;
        Ok(InodeKey {
            dev: st.dev,
            ino: st.ino,
        })
    }

    /// The lock key, remembered so that the locks of this description are
    /// released when it goes away. Call before taking an OFD or flock lock.
    pub fn lock_key_for_locking(&self) -> Result<InodeKey> {
        let key = self.inode_key()?;
        Ok(*self.locked_inode.get_or_init(|| key))
    }

    /// The owner id of this description's OFD and flock locks.
    pub fn lock_id(&self) -> u64 {
        self.lock_id
    }

    /// True for O_PATH descriptions, which only allow fd-level operations.
    pub fn is_path_only(&self) -> bool {
        self.flags() & libc::O_PATH != 0
    }

    pub fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// fcntl(F_SETFL): only SETFL_MASK bits change.
    pub fn set_status_flags(&self, flags: i32) {
        let old = self.flags();
        self.flags
            .store((old & !SETFL_MASK) | (flags & SETFL_MASK), Ordering::Relaxed);
    }

    pub fn readable(&self) -> bool {
        !self.is_path_only() && matches!(self.flags() & libc::O_ACCMODE, libc::O_RDONLY | libc::O_RDWR)
    }

    pub fn writable(&self) -> bool {
        !self.is_path_only() && matches!(self.flags() & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
    }

    /// The file's page-cache key while any file mapping exists
    /// (mm::pagecache keeps read/write coherent with mappings).
    fn mapped_key(&self) -> Option<CacheKey> {
        if !pagecache::any_live() || !self.ops.seekable() {
            return None;
        }
        // Only regular files are ever cached; others find no cache.
        *self.cache_key.get_or_init(|| self.dentry.inode.identity().ok())
    }

    /// Writes what shared mappings changed back to the file, so that
    /// fsync sees it.
    pub fn flush_mapped(&self) -> Result<()> {
        match self.mapped_key() {
            Some(key) => pagecache::flush_file(key),
            None => Ok(()),
        }
    }

    /// Writes what shared mappings changed in `[offset, offset+len)` back
    /// to the file, so that a read of it sees it.
    fn flush_mapped_range(&self, offset: u64, len: usize) -> Result<()> {
        match self.mapped_key() {
            Some(key) => pagecache::flush_file_range(key, offset, len as u64),
            None => Ok(()),
        }
    }

    /// `buf` was written at `offset`: mappings of the file show it.
    fn written(&self, buf: &[u8], offset: u64) {
        if let Some(key) = self.mapped_key() {
            pagecache::file_written(key, buf, offset);
        }
    }

    fn lock_offset(&self) -> Result<std::sync::MutexGuard<'_, u64>> {
        self.offset.lock().map_err(|_| Errno::EIO)
    }

    /// read(2): at the file offset, which advances.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return self.ops.read_with_flags(buf, 0, self.flags());
        }
        let mut offset = self.lock_offset()?;
        self.flush_mapped_range(*offset, buf.len())?;
        let n = self.ops.read(buf, *offset)?;
        *offset += n as u64;
        Ok(n)
    }

    /// read(2) of up to `max` bytes handed to `consume` (the copy to the
    /// guest); the offset advances only if `consume` succeeds.
    pub fn read_and_consume(&self, max: usize, consume: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        let mut buf = vec![0u8; max];
        if !self.ops.seekable() {
            let n = self.ops.read_with_flags(&mut buf, 0, self.flags())?;
            consume(&buf[..n])?;
            return Ok(n);
        }
        let mut offset = self.lock_offset()?;
        self.flush_mapped_range(*offset, max)?;
        let n = self.ops.read(&mut buf, *offset)?;
        consume(&buf[..n])?;
        *offset += n as u64;
        Ok(n)
    }

    /// write(2): at the offset (or the end with O_APPEND), which advances.
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.write_capped(buf, u64::MAX)
    }

    /// The part of `buf` that a write at `offset` may store under the
    /// file-size limit `limit` (RLIMIT_FSIZE; setrlimit(2)): EFBIG at or past
    /// the limit, a shorter buffer across it. Only regular files have the
    /// limit.
    fn capped<'a>(&self, buf: &'a [u8], offset: u64, limit: u64) -> Result<&'a [u8]> {
        if limit == u64::MAX || buf.is_empty() || !self.dentry.inode.stat()?.is_regular() {
            return Ok(buf);
        }
        if offset >= limit {
            return Err(Errno::EFBIG);
        }
        let room = usize::try_from(limit - offset).unwrap_or(usize::MAX);
        Ok(&buf[..buf.len().min(room)])
    }

    /// write(2) under a file-size limit (see `capped`).
    pub fn write_capped(&self, buf: &[u8], limit: u64) -> Result<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return self.ops.write_with_flags(buf, 0, self.flags());
        }
        let mut offset = self.lock_offset()?;
        if self.flags() & libc::O_APPEND != 0 {
            *offset = self.ops.size()?;
        }
        let buf = self.capped(buf, *offset, limit)?;
        let n = self.ops.write(buf, *offset)?;
        self.written(&buf[..n], *offset);
        *offset += n as u64;
        Ok(n)
    }

    /// pread64(2): ESPIPE on streams.
    pub fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        self.flush_mapped_range(offset, buf.len())?;
        self.ops.read(buf, offset)
    }

    /// pwrite64(2): ESPIPE on streams. Like Linux, O_APPEND wins over the
    /// offset (pwrite(2) BUGS).
    pub fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.pwrite_capped(buf, offset, u64::MAX)
    }

    /// pwrite64(2) under a file-size limit (see `capped`).
    pub fn pwrite_capped(&self, buf: &[u8], offset: u64, limit: u64) -> Result<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        let offset = if self.flags() & libc::O_APPEND != 0 {
            self.ops.size()?
        } else {
            offset
        };
        let buf = self.capped(buf, offset, limit)?;
        let n = self.ops.write(buf, offset)?;
        self.written(&buf[..n], offset);
        Ok(n)
    }

    /// lseek(2) with SEEK_SET, SEEK_CUR, SEEK_END (SEEK_DATA/HOLE treat the
    /// file as one data extent).
    pub fn seek(&self, offset: i64, whence: i32) -> Result<u64> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return if self.ops.seek_is_noop() {
                Ok(0)
            } else {
                Err(Errno::ESPIPE)
            };
        }
        let mut cur = self.lock_offset()?;
        if self.ops.seeks_to_zero() {
            *cur = 0;
            return Ok(0);
        }
        let base: i64 = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => *cur as i64,
            libc::SEEK_END => self.ops.size()? as i64,
            libc::SEEK_DATA | libc::SEEK_HOLE => {
                let size = self.ops.size()? as i64;
                if offset < 0 || offset >= size {
                    return Err(Errno::ENXIO);
                }
                let pos = if whence == libc::SEEK_DATA { offset } else { size };
                *cur = pos as u64;
                return Ok(*cur);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *cur = new as u64;
        Ok(*cur)
    }

    /// The next directory entries for getdents64, starting at the offset
    /// (an index into a snapshot taken at the first call, or after a rewind).
    /// `take` decides how many fit and returns that count.
    pub fn next_dirents(&self, take: &mut dyn FnMut(&[DirEntry]) -> Result<usize>) -> Result<usize> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.lock_offset()?;
        let mut snapshot = self.dir_snapshot.lock().map_err(|_| Errno::EIO)?;
        if snapshot.is_none() || *offset == 0 {
            *snapshot = Some(self.listing()?);
        }
        let entries = snapshot.as_deref().unwrap_or(&[]);
        let start = (*offset as usize).min(entries.len());
        let n = take(&entries[start..])?;
        *offset = (start + n) as u64;
        Ok(n)
    }

    /// "." and ".." followed by the directory's entries.
    fn listing(&self) -> Result<Vec<DirEntry>> {
        let inode = &self.dentry.inode;
        let own = inode.stat()?;
        let parent_ino = match &self.dentry.parent {
            Some(p) => p.inode.stat().map(|s| s.ino).unwrap_or(own.ino),
            None => own.ino,
        };
        let mut all = vec![
            DirEntry {
                name: b".".to_vec(),
                ino: own.ino,
                kind: libc::DT_DIR,
            },
            DirEntry {
                name: b"..".to_vec(),
                ino: parent_ino,
                kind: libc::DT_DIR,
            },
        ];
        all.extend(inode.readdir()?);
        Ok(all)
    }
}
