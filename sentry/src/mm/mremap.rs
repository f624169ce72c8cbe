//! mremap(2): moving, growing and shrinking mappings, and a second
//! mapping of shared pages (old_size 0), MREMAP_DONTUNMAP. A moved mapping keeps its
//! memory-file pages, so shared mappings stay shared and nothing is copied.

use super::{cow, page_up, ranges_overlap, Backing, Chunk, FileBacking, MemoryManager, Vma, VmaName, PAGE_SIZE};
use crate::errno::{Errno, Result};
use platform::Context;

/// mremap(2) MREMAP_DONTUNMAP (Linux 5.7).
const MREMAP_DONTUNMAP: i32 = 4;

impl MemoryManager {
    /// mremap(2) with MREMAP_MAYMOVE and MREMAP_FIXED. A moved mapping
    /// keeps its pages (shared mappings stay shared); a grown one is
    /// extended with what the mapping shows there (zeros, the file).
    pub fn mremap(
        &self,
        ctx: &mut dyn Context,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: i32,
        new_addr: u64,
    ) -> Result<u64> {
        let may_move = flags & libc::MREMAP_MAYMOVE != 0;
        let fixed = flags & libc::MREMAP_FIXED != 0;
        let dont_unmap = flags & MREMAP_DONTUNMAP != 0;
        if !old.is_multiple_of(PAGE_SIZE)
            || flags & !(libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            || ((fixed || dont_unmap) && !may_move)
            || (dont_unmap && page_up(old_len) != page_up(new_len))
            || new_len == 0
        {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
        if fixed && (!new_addr.is_multiple_of(PAGE_SIZE) || ranges_overlap(new_addr, new_len, old, old_len)) {
            return Err(Errno::EINVAL);
        }
        if old_len == 0 {
            return self.duplicate_shared(ctx, old, new_len, may_move, fixed.then_some(new_addr));
        }
        {
            let s = self.lock()?;
            // The old range must be one mapping (Linux merges neighbours
            // with equal attributes, so contiguous equal VMAs count as one).
            s.uniform_range(old, old_end).ok_or(Errno::EFAULT)?;
        }
        if dont_unmap {
            return self.move_keeping_old(ctx, old, old_len, fixed.then_some(new_addr));
        }
        if new_len < old_len {
            self.munmap(ctx, old + new_len, old_len - new_len)?;
            if !fixed {
                return Ok(old);
            }
        } else if !fixed && new_len == old_len {
            return Ok(old);
        }
        let kept = old_len.min(new_len);
        let dest = if fixed {
            new_addr
        } else {
            // Grow in place when the range after the mapping is free.
            let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
            let free = {
                let s = self.lock()?;
                grow_end <= s.max_addr && !s.overlaps(old_end, grow_end)
            };
            if free {
                self.extend(ctx, old, kept, new_len)?;
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
            let s = self.lock()?;
            s.find_free(0, new_len).ok_or(Errno::ENOMEM)?
        };
        self.move_range(ctx, old, kept, dest)?;
        if new_len > kept {
            self.extend(ctx, dest, kept, new_len)?;
        }
        Ok(dest)
    }

    /// MREMAP_DONTUNMAP: the pages move to `fixed` (or anywhere) and the
    /// old range stays mapped, showing what a fresh fault would: zeros for
    /// private anonymous memory, the file (cached) for file mappings, the
    /// same pages for shared anonymous memory.
    fn move_keeping_old(&self, ctx: &mut dyn Context, old: u64, len: u64, fixed: Option<u64>) -> Result<u64> {
        let dest = match fixed {
            Some(addr) => addr,
            None => self.lock()?.find_free(0, len).ok_or(Errno::ENOMEM)?,
        };
        self.move_range(ctx, old, len, dest)?;
        let mut s = self.lock()?;
        let moved: Vec<(u64, Vma)> = s.vmas.range(dest..dest + len).map(|(&k, v)| (k, v.clone())).collect();
        for (at, mut v) in moved {
            let back = old + (at - dest);
            v.end = back + (v.end - at);
            v.locked = false;
            if !v.shared && v.file.is_none() {
                v.chunk = Chunk::allocate(&self.memfile, v.end - back)?;
                v.chunk_off = 0;
                v.cow = false;
            }
            let private_file = !v.shared && v.file.is_some();
            let end = v.end;
            s.vmas.insert(back, v);
            if private_file {
                self.reattach_to_cache(&mut s, back, end)?;
            }
        }
        self.mark_past_eof(&mut s, old, old + len)?;
        for (&at, v) in s.vmas.range(old..old + len) {
            ctx.map(at, v.end - at, v.stub_prot(), v.mem_offset())
                .map_err(|_| Errno::ENOMEM)?;
        }
        Ok(dest)
    }

    /// mremap(2) with old_size 0: "a new mapping of the same pages" of a
    /// shared mapping, at `fixed` or anywhere. Pages past the end of a
    /// shared anonymous object raise SIGBUS, as past a file's EOF.
    fn duplicate_shared(
        &self,
        ctx: &mut dyn Context,
        old: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64> {
        let (vstart, vma) = cow::vma_at(&*self.lock()?, old).ok_or(Errno::EFAULT)?;
        if !vma.shared {
            return Err(Errno::EINVAL);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        if let Some(f) = &vma.file {
            let offset = f.offset + (old - vstart);
            let mut name = vma.name.clone();
            if let VmaName::File { offset: o, .. } = &mut name {
                *o = offset;
            }
            let backing = Backing::File(FileBacking {
                ops: f.ops.clone(),
                key: f.key,
                offset,
                name,
                writable: !vma.no_write,
            });
            return self.mmap(
                ctx,
                fixed.unwrap_or(0),
                new_len,
                vma.prot,
                true,
                fixed.is_some(),
                false,
                backing,
            );
        }
        let mut s = self.lock()?;
        let dest = match fixed {
            Some(addr) => addr,
            None => s.find_free(0, new_len).ok_or(Errno::ENOMEM)?,
        };
        let dest_end = dest.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        if dest < s.min_addr || dest_end > s.max_addr {
            return Err(Errno::ENOMEM);
        }
        self.unmap_locked(&mut s, ctx, dest, new_len)?;
        let from = vma.chunk_off + (old - vstart);
        let shown = (vma.chunk.len - from).min(new_len);
        let mut dup = vma.clone();
        dup.end = dest + shown;
        dup.chunk_off = from;
        dup.locked = s.lock_future;
        s.vmas.insert(dest, dup);
        if shown < new_len {
            let mut beyond = vma;
            beyond.end = dest_end;
            beyond.chunk = Chunk::allocate(&self.memfile, new_len - shown)?;
            beyond.chunk_off = 0;
            beyond.past_eof = true;
            beyond.locked = s.lock_future;
            s.vmas.insert(dest + shown, beyond);
        }
        for (&at, v) in s.vmas.range(dest..dest_end) {
            ctx.map(at, v.end - at, v.stub_prot(), v.mem_offset())
                .map_err(|_| Errno::ENOMEM)?;
        }
        Ok(dest)
    }

    /// Moves the VMAs of `[old, old+len)` to `dest` without copying
    /// (whatever was at `dest` is unmapped).
    fn move_range(&self, ctx: &mut dyn Context, old: u64, len: u64, dest: u64) -> Result<()> {
        let mut s = self.lock()?;
        let dest_end = dest.checked_add(len).ok_or(Errno::ENOMEM)?;
        if dest < s.min_addr || dest_end > s.max_addr {
            return Err(Errno::ENOMEM);
        }
        s.split_at(old);
        s.split_at(old + len);
        let moving: Vec<(u64, Vma)> = s.vmas.range(old..old + len).map(|(&k, v)| (k, v.clone())).collect();
        self.unmap_locked(&mut s, ctx, dest, len)?;
        for (vstart, mut vma) in moving {
            s.vmas.remove(&vstart);
            let at = dest + (vstart - old);
            vma.end = at + (vma.end - vstart);
            ctx.map(at, vma.end - at, vma.stub_prot(), vma.mem_offset())
                .map_err(|_| Errno::ENOMEM)?;
            s.vmas.insert(at, vma);
        }
        ctx.unmap(old, len).map_err(|_| Errno::ENOMEM)
    }

    /// Grows the mapping at `start` from `len` to `new_len` bytes with the
    /// memory its last VMA would show there.
    fn extend(&self, ctx: &mut dyn Context, start: u64, len: u64, new_len: u64) -> Result<()> {
        let last = {
            let s = self.lock()?;
            let (vstart, vma) = s.vmas.range(..start + len).next_back().ok_or(Errno::EFAULT)?;
            (*vstart, vma.clone())
        };
        let (vstart, vma) = last;
        let at = start + len;
        let backing = match &vma.file {
            None => Backing::Anonymous,
            Some(f) => {
                let offset = f.offset + (at - vstart);
                let mut name = vma.name.clone();
                if let VmaName::File { offset: o, .. } = &mut name {
                    *o = offset;
                }
                Backing::File(FileBacking {
                    ops: f.ops.clone(),
                    key: f.key,
                    offset,
                    name,
                    writable: !vma.no_write,
                })
            }
        };
        self.mmap(ctx, at, new_len - len, vma.prot, vma.shared, false, true, backing)?;
        let mut s = self.lock()?;
        if let Some(grown) = s.vmas.get_mut(&at) {
            if matches!(vma.name, VmaName::Heap | VmaName::Stack) {
                grown.name = vma.name.clone();
            }
        }
        Ok(())
    }
}
