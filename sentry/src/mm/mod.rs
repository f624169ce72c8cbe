//! Guest address spaces: VMAs over the memory file.
//!
//! Every guest mapping is backed by ranges of the memory file, filled when
//! the mapping is made (zeros for anonymous memory, the file's page cache
//! for file mappings: shared, or copy-on-write for private ones) and mapped
//! into the guest by the platform. The
//! Sentry reads and writes guest memory through its own mapping of the file
//! after translating the address through the VMAs, so a bad guest pointer is
//! EFAULT, never a Sentry fault.

mod advice;
mod cow;
mod filemap;
pub mod memfile;
mod mremap;
pub mod pagecache;

pub use advice::Advice;
pub use cow::FutexKey;
pub use filemap::FaultOutcome;
pub use memfile::{Chunk, MemoryFile, PAGE_SIZE};
pub use pagecache::CacheKey;

use crate::errno::{Errno, Result};
use crate::vfs::FileOps;
use pagecache::{PageCache, Piece};
use platform::Context;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Guest memory as the syscall layer sees it.
pub trait UserMemory {
    /// Copies guest memory at `addr` into `buf` (EFAULT if any byte is not
    /// readable).
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Copies `buf` to guest memory at `addr` (EFAULT if not writable).
    fn write(&self, addr: u64, buf: &[u8]) -> Result<()>;
}

/// Helpers on top of [`UserMemory`].
pub trait UserMemoryExt: UserMemory {
    fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.read(addr, &mut buf)?;
        Ok(buf)
    }

    /// Reads a plain-old-data value.
    fn read_val<T: Pod>(&self, addr: u64) -> Result<T> {
        let mut val = T::default();
        self.read(addr, val.as_bytes_mut())?;
        Ok(val)
    }

    fn write_val<T: Pod>(&self, addr: u64, val: &T) -> Result<()> {
        self.write(addr, val.as_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the
    /// NUL); ENAMETOOLONG when longer.
    fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut cur = addr;
        loop {
            // Read up to the end of the page so we never cross into an
            // unmapped page we do not need.
            let chunk = (PAGE_SIZE - cur % PAGE_SIZE) as usize;
            let mut buf = vec![0u8; chunk];
            self.read(cur, &mut buf)?;
            if let Some(nul) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..nul]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            cur = cur.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
        }
    }
}

impl<T: UserMemory + ?Sized> UserMemoryExt for T {}

/// Plain-old-data types that may be copied to and from guest memory as raw
/// bytes.
///
/// # Safety
/// Implementors must be `repr(C)` types with no padding-sensitive invariants
/// for which every byte pattern is a valid value.
pub unsafe trait Pod: Default + Copy {
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: Pod guarantees the value is plain bytes.
        unsafe { std::slice::from_raw_parts((self as *const Self).cast(), std::mem::size_of::<Self>()) }
    }
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: Pod guarantees any byte pattern is a valid value.
        unsafe { std::slice::from_raw_parts_mut((self as *mut Self).cast(), std::mem::size_of::<Self>()) }
    }
}

// SAFETY: integers accept every bit pattern.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: arrays of Pod are Pod.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] where [T; N]: Default {}

/// What a VMA shows in /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaName {
    Anonymous,
    Heap,
    Stack,
    /// A file mapping: the file's path and the file offset of the VMA start.
    File {
        path: Vec<u8>,
        offset: u64,
        dev: u64,
        ino: u64,
    },
}

/// The file behind a file mapping.
#[derive(Clone)]
struct FileRef {
    ops: Arc<dyn FileOps>,
    key: CacheKey,
    /// File offset of the VMA's first byte.
    offset: u64,
    /// The file's page cache: what shared mappings show, and private
    /// ones until they write (copy-on-write).
    cache: Option<Arc<PageCache>>,
}

#[derive(Clone)]
struct Vma {
    end: u64,
    prot: i32,
    shared: bool,
    /// The memory the VMA shows, from `chunk_off` in `chunk`.
    chunk: Arc<Chunk>,
    chunk_off: u64,
    /// Shared with a forked address space or the page cache (a private
    /// file mapping): mapped read-only in the stub, copied on the first
    /// write.
    cow: bool,
    name: VmaName,
    file: Option<FileRef>,
    /// Every page lies wholly past the file's EOF: mapped PROT_NONE in the
    /// stub so that a touch faults into the Sentry, which raises SIGBUS.
    past_eof: bool,
    /// A shared mapping of a file not open for writing: PROT_WRITE may
    /// never be added (Linux's missing VM_MAYWRITE).
    no_write: bool,
    /// mlock(2)ed.
    locked: bool,
    /// MADV_DONTFORK: not inherited by fork children.
    dont_fork: bool,
    /// MADV_WIPEONFORK: fork children get zeros.
    wipe_on_fork: bool,
}

impl Vma {
    /// Memory-file offset of the VMA's first byte.
    fn mem_offset(&self) -> u64 {
        self.chunk.offset + self.chunk_off
    }

    /// The protection the stub maps: COW pages are write-protected so that
    /// writes fault into the Sentry.
    fn stub_prot(&self) -> i32 {
        if self.past_eof {
            libc::PROT_NONE
        } else if self.cow {
            self.prot & !libc::PROT_WRITE
        } else {
            self.prot
        }
    }
}

/// Where a new mapping's contents come from.
pub enum Backing<'a> {
    Anonymous,
    /// A private copy of what `read_at` gives from `offset` (the ELF
    /// loader's segments: zeros past the read data, never SIGBUS).
    Image {
        read_at: &'a dyn Fn(&mut [u8], u64) -> Result<usize>,
        offset: u64,
        name: VmaName,
    },
    /// A regular file from `offset`: a private copy (bytes past EOF read as
    /// zero), or the file's shared page cache for a shared mapping.
    File(FileBacking),
}

pub struct FileBacking {
    pub ops: Arc<dyn FileOps>,
    pub key: CacheKey,
    pub offset: u64,
    pub name: VmaName,
    /// The file is open for writing (a shared mapping may be writable).
    pub writable: bool,
}

struct State {
    /// VMAs by start address; they never overlap.
    vmas: BTreeMap<u64, Vma>,
    brk_start: u64,
    brk: u64,
    /// New mappings are placed top-down below this address.
    mmap_top: u64,
    /// Lowest address the guest may map.
    min_addr: u64,
    /// One past the highest address the guest may map.
    max_addr: u64,
    /// mlockall(MCL_FUTURE): new mappings start locked.
    lock_future: bool,
}

/// One guest address space.
pub struct MemoryManager {
    memfile: Arc<MemoryFile>,
    state: Mutex<State>,
    /// Unique per address space (private futex keys).
    id: u64,
    /// Mapping changes each stub process using this address space still
    /// has to apply (see cow.rs).
    remaps: cow::RemapQueues,
    /// The truncation epoch at which the VMAs' EOF marks were last checked
    /// (see filemap.rs).
    eof_epoch: std::sync::atomic::AtomicU64,
}

/// Lowest mappable address (Linux's default vm.mmap_min_addr).
const MIN_ADDR: u64 = 0x10000;
/// x86-64 TASK_SIZE: one past the highest user address Linux has.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Room left between the stack and the mmap area.
const STACK_GAP: u64 = 256 << 20;

pub fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(|v| v & !(PAGE_SIZE - 1))
}

pub fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

impl MemoryManager {
    /// An empty address space whose highest usable address is `max_addr`,
    /// used by the stub process of thread group `owner`.
    pub fn new(memfile: Arc<MemoryFile>, max_addr: u64, owner: i32) -> MemoryManager {
        let max_addr = page_down(max_addr);
        MemoryManager {
            memfile,
            id: cow::next_mm_id(),
            remaps: cow::RemapQueues::new(owner),
            eof_epoch: std::sync::atomic::AtomicU64::new(pagecache::truncation_epoch()),
            state: Mutex::new(State {
                vmas: BTreeMap::new(),
                brk_start: 0,
                brk: 0,
                mmap_top: max_addr.saturating_sub(STACK_GAP),
                min_addr: MIN_ADDR,
                max_addr,
                lock_future: false,
            }),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EFAULT)
    }

    pub fn max_addr(&self) -> u64 {
        self.lock().map(|s| s.max_addr).unwrap_or(0)
    }

    /// Sets the initial program break (just after the loaded executable).
    pub fn set_brk_start(&self, addr: u64) -> Result<()> {
        let mut s = self.lock()?;
        let start = page_up(addr).ok_or(Errno::ENOMEM)?;
        s.brk_start = start;
        s.brk = start;
        Ok(())
    }

    /// mmap(2). `addr` is a hint unless `fixed`; `fixed_noreplace` fails
    /// with EEXIST on overlap. Returns the mapped address.
    #[allow(clippy::too_many_arguments)]
    pub fn mmap(
        &self,
        ctx: &mut dyn Context,
        addr: u64,
        len: u64,
        prot: i32,
        shared: bool,
        fixed: bool,
        fixed_noreplace: bool,
        backing: Backing<'_>,
    ) -> Result<u64> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let mut s = self.lock()?;
        let start = if fixed || fixed_noreplace {
            if !addr.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            // Past user space Linux says ENOMEM; the top of it that the
            // platform keeps for itself looks taken to MAP_FIXED_NOREPLACE.
            if end > TASK_SIZE {
                return Err(Errno::ENOMEM);
            }
            if addr < s.min_addr || end > s.max_addr {
                return Err(if fixed_noreplace { Errno::EEXIST } else { Errno::ENOMEM });
            }
            if fixed_noreplace && s.overlaps(addr, end) {
                return Err(Errno::EEXIST);
            }
            addr
        } else {
            s.find_free(page_down(addr), len).ok_or(Errno::ENOMEM)?
        };
        let pieces = self.backing_pieces(&backing, shared, prot, len)?;
        // Replace whatever was there (MAP_FIXED semantics).
        self.unmap_locked(&mut s, ctx, start, len)?;
        let (name, file, no_write) = match backing {
            Backing::Anonymous => (VmaName::Anonymous, None, false),
            Backing::Image { name, .. } => (name, None, false),
            Backing::File(fb) => {
                let cache = pieces.1;
                let no_write = shared && !fb.writable;
                let file = FileRef {
                    ops: fb.ops,
                    key: fb.key,
                    offset: fb.offset,
                    cache,
                };
                (fb.name, Some(file), no_write)
            }
        };
        let template = Vma {
            end: start + len,
            prot,
            shared,
            chunk: pieces.0.first().ok_or(Errno::ENOMEM)?.chunk.clone(),
            chunk_off: 0,
            // A private file mapping writes to its own copies.
            cow: !shared && file.is_some(),
            name,
            file,
            past_eof: false,
            no_write,
            locked: s.lock_future,
            dont_fork: false,
            wipe_on_fork: false,
        };
        let end = start + len;
        s.insert_pieces(start, template, pieces.0);
        let installed = self.mark_past_eof(&mut s, start, end).and_then(|()| {
            for (&vstart, vma) in s.vmas.range(start..end) {
                ctx.map(vstart, vma.end - vstart, vma.stub_prot(), vma.mem_offset())
                    .map_err(|e| {
                        tracing::warn!("platform map failed: {e}");
                        Errno::ENOMEM
                    })?;
            }
            Ok(())
        });
        if let Err(e) = installed {
            // Leave nothing behind that the stub does not map.
            let _ = self.unmap_locked(&mut s, ctx, start, len);
            return Err(e);
        }
        Ok(start)
    }

    /// The memory a new mapping of `len` bytes shows: a fresh chunk, a
    /// fresh chunk filled by `read_at`, or the file's cached pages (then
    /// with the cache).
    fn backing_pieces(
        &self,
        backing: &Backing<'_>,
        shared: bool,
        prot: i32,
        len: u64,
    ) -> Result<(Vec<Piece>, Option<Arc<PageCache>>)> {
        let fresh = |len| -> Result<Piece> {
            Ok(Piece {
                chunk: Chunk::allocate(&self.memfile, len)?,
                chunk_off: 0,
                len,
            })
        };
        let fb = match backing {
            Backing::Anonymous => return Ok((vec![fresh(len)?], None)),
            Backing::Image { read_at, offset, .. } => {
                let piece = fresh(len)?;
                self.fill_from_file(piece.chunk.offset, len, *read_at, *offset)?;
                return Ok((vec![piece], None));
            }
            Backing::File(fb) => fb,
        };
        // Private mappings show the cached file too, copy-on-write.
        let cache = PageCache::get_or_create(&self.memfile, fb.key, fb.ops.clone())?;
        if shared && prot & libc::PROT_WRITE != 0 {
            cache.set_writer(fb.ops.clone())?;
        }
        let pieces = cache.pieces(fb.offset, len)?;
        Ok((pieces, Some(cache)))
    }

    fn fill_from_file(
        &self,
        mem_offset: u64,
        len: u64,
        read_at: &dyn Fn(&mut [u8], u64) -> Result<usize>,
        offset: u64,
    ) -> Result<()> {
        self.memfile.with_slice(mem_offset, len, |buf| {
            let mut done = 0;
            while done < buf.len() {
                let n = read_at(&mut buf[done..], offset + done as u64)?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            Ok(())
        })?
    }

    /// munmap(2).
    pub fn munmap(&self, ctx: &mut dyn Context, addr: u64, len: u64) -> Result<()> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let mut s = self.lock()?;
        self.unmap_locked(&mut s, ctx, addr, len)
    }

    fn unmap_locked(&self, s: &mut State, ctx: &mut dyn Context, addr: u64, len: u64) -> Result<()> {
        let end = addr + len;
        s.split_at(addr);
        s.split_at(end);
        let doomed: Vec<u64> = s.vmas.range(addr..end).map(|(&k, _)| k).collect();
        if doomed.is_empty() {
            return Ok(());
        }
        for start in doomed {
            // The chunk is freed when its last VMA, here or in a forked
            // address space, goes.
            s.vmas.remove(&start);
        }
        ctx.unmap(addr, len).map_err(|e| {
            tracing::warn!("platform unmap failed: {e}");
            Errno::ENOMEM
        })
    }

    /// mprotect(2): ENOMEM if any page in the range is unmapped.
    pub fn mprotect(&self, ctx: &mut dyn Context, addr: u64, len: u64, prot: i32) -> Result<()> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if prot & !(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let mut s = self.lock()?;
        if !s.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        if prot & libc::PROT_WRITE != 0 {
            self.allow_shared_writes(&s, addr, end)?;
        }
        s.split_at(addr);
        s.split_at(end);
        for (&start, vma) in s.vmas.range_mut(addr..end) {
            vma.prot = prot;
            ctx.protect(start, vma.end - start, vma.stub_prot())
                .map_err(|_| Errno::ENOMEM)?;
        }
        Ok(())
    }

    /// brk(2): returns the new break, or the old one if the request fails.
    pub fn brk(&self, ctx: &mut dyn Context, addr: u64) -> Result<u64> {
        let (start, old) = {
            let s = self.lock()?;
            (s.brk_start, s.brk)
        };
        if addr < start {
            return Ok(old);
        }
        let (Some(old_top), Some(new_top)) = (page_up(old), page_up(addr)) else {
            return Ok(old);
        };
        if new_top > old_top {
            let grown = self.mmap(
                ctx,
                old_top,
                new_top - old_top,
                libc::PROT_READ | libc::PROT_WRITE,
                false,
                false,
                true,
                Backing::Anonymous,
            );
            if grown.is_err() {
                return Ok(old);
            }
            self.rename(old_top, VmaName::Heap)?;
        } else if new_top < old_top {
            self.munmap(ctx, new_top, old_top - new_top)?;
        }
        self.lock()?.brk = addr;
        Ok(addr)
    }

    fn rename(&self, addr: u64, name: VmaName) -> Result<()> {
        let mut s = self.lock()?;
        if let Some(vma) = s.vmas.get_mut(&addr) {
            vma.name = name;
        }
        Ok(())
    }

    /// Maps the initial stack: `size` bytes ending at the top of the usable
    /// address space. Returns the stack top.
    pub fn map_stack(&self, ctx: &mut dyn Context, size: u64) -> Result<u64> {
        let top = self.max_addr() - PAGE_SIZE;
        let base = top - size;
        self.mmap(
            ctx,
            base,
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            false,
            true,
            false,
            Backing::Anonymous,
        )?;
        self.rename(base, VmaName::Stack)?;
        Ok(top)
    }

    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.memfile
    }

    /// Bytes mapped in this address space (for RLIMIT_AS).
    pub fn mapped_bytes(&self) -> u64 {
        self.lock()
            .map(|s| s.vmas.iter().map(|(&start, v)| v.end - start).sum())
            .unwrap_or(0)
    }

    /// Lines for /proc/self/maps.
    /// A file mapping split here only by the page cache's extents or at
    /// EOF shows as one line, as it does on Linux.
    pub fn maps(&self) -> Vec<(u64, u64, i32, bool, VmaName)> {
        let Ok(s) = self.lock() else { return Vec::new() };
        let mut lines: Vec<(u64, u64, i32, bool, VmaName)> = Vec::new();
        for (&start, v) in &s.vmas {
            if let Some(last) = lines.last_mut() {
                if continues_file_mapping(last, start, v) {
                    last.1 = v.end;
                    continue;
                }
            }
            lines.push((start, v.end, v.prot, v.shared, v.name.clone()));
        }
        lines
    }

    /// Visits the memory-file pieces backing `[addr, addr+len)`, checking
    /// that each page has `need` protection.
    fn for_each_piece(
        &self,
        addr: u64,
        len: usize,
        need: i32,
        f: impl FnMut(u64, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let s = self.lock()?;
        s.for_each_piece(addr, len, need, f)
    }
}

impl State {
    fn for_each_piece(
        &self,
        addr: u64,
        len: usize,
        need: i32,
        mut f: impl FnMut(u64, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut cur = addr;
        while cur < end {
            let (&vstart, vma) = self.vmas.range(..=cur).next_back().ok_or(Errno::EFAULT)?;
            // A page past EOF would raise SIGBUS; a syscall gets EFAULT.
            if vma.end <= cur || vma.prot & need != need || vma.past_eof {
                return Err(Errno::EFAULT);
            }
            let piece_end = vma.end.min(end);
            let done = (cur - addr) as usize;
            f(vma.mem_offset() + (cur - vstart), done, (piece_end - cur) as usize)?;
            cur = piece_end;
        }
        Ok(())
    }
}

impl UserMemory for MemoryManager {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.for_each_piece(addr, buf.len(), libc::PROT_READ, |off, done, n| {
            self.memfile.read(off, &mut buf[done..done + n])
        })
    }

    fn write(&self, addr: u64, buf: &[u8]) -> Result<()> {
        self.write_checked(addr, buf, libc::PROT_WRITE)
    }
}

impl MemoryManager {
    /// Writes into guest memory regardless of protection (the ELF loader
    /// filling read-only segments and the initial stack).
    pub fn write_force(&self, addr: u64, buf: &[u8]) -> Result<()> {
        self.write_checked(addr, buf, 0)
    }

    /// Writes guest memory: COW pages in the range are copied first, so a
    /// forked address space never sees the write.
    fn write_checked(&self, addr: u64, buf: &[u8], need: i32) -> Result<()> {
        let mut s = self.lock()?;
        s.for_each_piece(addr, buf.len(), need, |_, _, _| Ok(()))?;
        self.unshare_range(&mut s, addr, buf.len() as u64)?;
        s.for_each_piece(addr, buf.len(), need, |off, done, n| {
            self.memfile.write(off, &buf[done..done + n])
        })
    }
}

/// Whether VMA `v` at `start` continues the file mapping of maps line
/// `line`: adjacent, same protection and sharing, the next file offset.
fn continues_file_mapping(line: &(u64, u64, i32, bool, VmaName), start: u64, v: &Vma) -> bool {
    let (lstart, lend, prot, shared, name) = line;
    let (
        VmaName::File {
            path, offset, dev, ino, ..
        },
        VmaName::File {
            path: vpath,
            offset: voffset,
            dev: vdev,
            ino: vino,
        },
    ) = (name, &v.name)
    else {
        return false;
    };
    *lend == start
        && *prot == v.prot
        && *shared == v.shared
        && v.file.is_some()
        && (path, dev, ino) == (vpath, vdev, vino)
        && offset.checked_add(start - lstart) == Some(*voffset)
}

fn ranges_overlap(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a < b.saturating_add(blen) && b < a.saturating_add(alen)
}

impl State {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        if let Some((_, vma)) = self.vmas.range(..start).next_back() {
            if vma.end > start {
                return true;
            }
        }
        self.vmas.range(start..end).next().is_some()
    }

    /// (prot, shared) when `[start, end)` is fully mapped by VMAs that all
    /// share them.
    fn uniform_range(&self, start: u64, end: u64) -> Option<(i32, bool)> {
        let (&first_start, first) = self.vmas.range(..=start).next_back()?;
        if first_start > start || first.end <= start || !self.fully_mapped(start, end) {
            return None;
        }
        let (prot, shared) = (first.prot, first.shared);
        let uniform = self
            .vmas
            .range(first_start..end)
            .all(|(_, v)| v.prot == prot && v.shared == shared);
        uniform.then_some((prot, shared))
    }

    fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut cur = start;
        while cur < end {
            match self.vmas.range(..=cur).next_back() {
                Some((_, vma)) if vma.end > cur => cur = vma.end,
                _ => return false,
            }
        }
        true
    }

    /// Splits the VMA containing `addr` (if any) so that one starts at `addr`.
    fn split_at(&mut self, addr: u64) {
        let Some((&start, vma)) = self.vmas.range(..addr).next_back() else {
            return;
        };
        if vma.end <= addr {
            return;
        }
        let mut tail = vma.clone();
        tail.chunk_off += addr - start;
        if let Some(file) = &mut tail.file {
            file.offset += addr - start;
        }
        if let VmaName::File { offset, .. } = &mut tail.name {
            *offset += addr - start;
        }
        if let Some(head) = self.vmas.get_mut(&start) {
            head.end = addr;
        }
        self.vmas.insert(addr, tail);
    }

    /// Inserts one VMA per piece from `start` on, each a copy of
    /// `template` showing its piece (the file offset advances).
    fn insert_pieces(&mut self, start: u64, template: Vma, pieces: Vec<Piece>) {
        let mut at = start;
        for piece in pieces {
            let mut vma = template.clone();
            vma.end = at + piece.len;
            vma.chunk = piece.chunk;
            vma.chunk_off = piece.chunk_off;
            if let Some(file) = &mut vma.file {
                file.offset += at - start;
            }
            if let VmaName::File { offset, .. } = &mut vma.name {
                *offset += at - start;
            }
            self.vmas.insert(at, vma);
            at += piece.len;
        }
    }

    fn mem_offset_of(&self, addr: u64) -> Option<u64> {
        let (&start, vma) = self.vmas.range(..=addr).next_back()?;
        (vma.end > addr).then(|| vma.mem_offset() + (addr - start))
    }

    /// A free range of `len` bytes: at `hint` if possible, else the highest
    /// gap below `mmap_top`.
    fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        if hint >= self.min_addr {
            if let Some(end) = hint.checked_add(len) {
                if end <= self.max_addr && !self.overlaps(hint, end) {
                    return Some(hint);
                }
            }
        }
        let mut top = self.mmap_top;
        // Walk VMAs downward from the top, looking at the gap above each.
        for (&start, vma) in self.vmas.range(..self.mmap_top).rev() {
            if vma.end <= top && top - vma.end >= len {
                return Some(top - len);
            }
            top = top.min(start);
        }
        (top >= self.min_addr + len).then(|| top - len)
    }
}
