//! The memory file: one memfd from which all guest memory is allocated.
//!
//! The Sentry maps the whole file once; guest pages are ranges of it that
//! the platform maps into the guest's address space. Fresh and freed ranges
//! read as zeros (freed ranges are punched out of the file).

use crate::errno::{Errno, Result};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

pub const PAGE_SIZE: u64 = 4096;

/// Virtual size reserved for the file; pages cost memory only once touched.
const FILE_SIZE: u64 = 64 << 30;

pub struct MemoryFile {
    fd: OwnedFd,
    base: *mut u8,
    size: u64,
    alloc: Mutex<Allocator>,
}

// SAFETY: `base` points to a shared mapping that lives as long as the
// MemoryFile; all access goes through bounds-checked methods, and the
// allocator state is behind a Mutex.
unsafe impl Send for MemoryFile {}
// SAFETY: as above.
unsafe impl Sync for MemoryFile {}

#[derive(Default)]
struct Allocator {
    /// Free ranges below `next`: start -> length.
    free: BTreeMap<u64, u64>,
    /// Everything from here to the end of the file is unused.
    next: u64,
}

impl MemoryFile {
    pub fn new() -> std::io::Result<MemoryFile> {
        // SAFETY: plain syscall; the name is a valid C string.
        let raw = unsafe { libc::memfd_create(c"runsc-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: memfd_create just returned this fd and nobody else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: plain syscall on our fd.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), FILE_SIZE as i64) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a new shared mapping of the whole file; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                FILE_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(MemoryFile {
            fd,
            base: base.cast(),
            size: FILE_SIZE,
            alloc: Mutex::new(Allocator::default()),
        })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Allocates `len` bytes (a multiple of the page size); ENOMEM when full.
    pub fn allocate(&self, len: u64) -> Result<u64> {
        let mut a = self.alloc.lock().map_err(|_| Errno::ENOMEM)?;
        let fit = a.free.iter().find(|(_, &l)| l >= len).map(|(&s, &l)| (s, l));
        if let Some((start, flen)) = fit {
            a.free.remove(&start);
            if flen > len {
                a.free.insert(start + len, flen - len);
            }
            return Ok(start);
        }
        if a.next + len > self.size {
            return Err(Errno::ENOMEM);
        }
        let start = a.next;
        a.next += len;
        Ok(start)
    }

    /// Releases the pages of a range; it reads back as zeros.
    pub fn punch(&self, offset: u64, len: u64) {
        // SAFETY: punching a hole in our own memfd only changes the bytes
        // of that range to zero; both mappings stay valid.
        unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as i64,
                len as i64,
            );
        }
    }

    /// Returns a range to the allocator and releases its pages.
    pub fn free(&self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.punch(offset, len);
        let Ok(mut a) = self.alloc.lock() else { return };
        let mut start = offset;
        let mut length = len;
        // Merge with the previous and next free ranges.
        if let Some((&ps, &pl)) = a.free.range(..start).next_back() {
            if ps + pl == start {
                a.free.remove(&ps);
                start = ps;
                length += pl;
            }
        }
        if let Some(&nl) = a.free.get(&(offset + len)) {
            a.free.remove(&(offset + len));
            length += nl;
        }
        if start + length == a.next {
            a.next = start;
        } else {
            a.free.insert(start, length);
        }
    }

    /// Copies `buf.len()` bytes out of the file at `offset`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check(offset, buf.len())?;
        // SAFETY: the range is inside our mapping (checked above). Guest
        // threads may write the same bytes concurrently; the copy then sees
        // some mix of old and new bytes, as a racing kernel copy would.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(offset as usize), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `buf` into the file at `offset`.
    pub fn write(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.check(offset, buf.len())?;
        // SAFETY: the range is inside our mapping (checked above); see read().
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.base.add(offset as usize), buf.len()) };
        Ok(())
    }

    /// Copies `len` bytes inside the file (for mremap and copy-on-write).
    pub fn copy(&self, from: u64, to: u64, len: u64) -> Result<()> {
        self.check(from, len as usize)?;
        self.check(to, len as usize)?;
        // SAFETY: both ranges are inside our mapping (checked above);
        // `copy` allows overlap.
        unsafe { std::ptr::copy(self.base.add(from as usize), self.base.add(to as usize), len as usize) };
        Ok(())
    }

    /// A mutable view of a range, for filling it from a host fd.
    pub fn with_slice<R>(&self, offset: u64, len: u64, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
        self.check(offset, len as usize)?;
        // SAFETY: the range is inside our mapping; callers use it only for
        // freshly allocated ranges that no guest has mapped yet.
        let slice = unsafe { std::slice::from_raw_parts_mut(self.base.add(offset as usize), len as usize) };
        Ok(f(slice))
    }

    /// mincore(2) of a range (page aligned): one byte per page, 1 when the
    /// page is in memory, 0 for a hole never written.
    pub fn resident(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.check(offset, len as usize)?;
        let mut vec = vec![0u8; len.div_ceil(PAGE_SIZE) as usize];
        // SAFETY: the range is inside our mapping (checked above) and page
        // aligned; `vec` has one byte per page of it.
        let r = unsafe { libc::mincore(self.base.add(offset as usize).cast(), len as usize, vec.as_mut_ptr()) };
        if r != 0 {
            return Err(Errno::ENOMEM);
        }
        for b in &mut vec {
            *b &= 1;
        }
        Ok(vec)
    }

    /// The 32-bit word at `offset`, for futexes: guest threads change it
    /// concurrently, so it is only ever touched atomically.
    pub fn atomic_u32(&self, offset: u64) -> Result<&std::sync::atomic::AtomicU32> {
        if !offset.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        self.check(offset, 4)?;
        // SAFETY: the word is inside our mapping (checked), 4-byte aligned,
        // and the mapping outlives `self`; AtomicU32 has u32's layout.
        Ok(unsafe { &*(self.base.add(offset as usize) as *const std::sync::atomic::AtomicU32) })
    }

    fn check(&self, offset: u64, len: usize) -> Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping created in new().
        unsafe { libc::munmap(self.base.cast(), self.size as usize) };
    }
}

/// A range of the memory file, freed when the last VMA using it goes.
/// Forked address spaces share chunks until a write copies a piece.
pub struct Chunk {
    memfile: std::sync::Arc<MemoryFile>,
    pub offset: u64,
    pub len: u64,
}

impl Chunk {
    pub fn allocate(memfile: &std::sync::Arc<MemoryFile>, len: u64) -> Result<std::sync::Arc<Chunk>> {
        let offset = memfile.allocate(len)?;
        Ok(std::sync::Arc::new(Chunk {
            memfile: memfile.clone(),
            offset,
            len,
        }))
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.memfile.free(self.offset, self.len);
    }
}
