//! File mappings: pages past EOF (SIGBUS), truncation, write permission of
//! shared mappings, and msync(2).
//!
//! mmap(2) "SIGBUS: Attempted access to a page of the buffer that lies
//! beyond the end of the mapped file". A VMA whose pages lie wholly past
//! EOF is marked `past_eof` and mapped PROT_NONE in the stub; the access
//! faults into the Sentry, which looks at the file size again: if the file
//! grew, the pages are made accessible and the access retried, else the
//! guest gets SIGBUS (BUS_ADRERR). The partial last page is accessible,
//! with zeros past EOF.

use super::cow::{vma_at, Remap};
use super::pagecache::{CacheKey, PageCache};
use super::{page_up, MemoryManager, State};
use crate::errno::{Errno, Result};
use platform::Context;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What the Sentry made of a guest fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Resolved (a COW copy, a file that grew): run the guest again.
    Retry,
    /// Nothing to resolve: the page already allows writing, so another
    /// thread of the address space resolved the same copy-on-write fault
    /// while this one waited (the host fault raced with it). Run the guest
    /// again, but deliver the fault if the same instruction faults on the
    /// same address again (it was not a write, e.g. an exec of a data page).
    AlreadyResolved,
    /// A touch of a file page past EOF: SIGBUS with BUS_ADRERR.
    PastEof,
    /// A genuine fault: deliver it as it is.
    Deliver,
}

use super::cow::CowFault;

/// SEGV_ACCERR: the access was refused by the page protection.
const SEGV_ACCERR: i32 = 2;

impl MemoryManager {
    /// A fault with signal `signo`, code `code` at `addr` in thread group
    /// `tgid`.
    pub fn handle_fault(&self, ctx: &mut dyn Context, tgid: i32, signo: i32, code: i32, addr: u64) -> FaultOutcome {
        if signo != libc::SIGSEGV || code != SEGV_ACCERR {
            return FaultOutcome::Deliver;
        }
        // A PROT_NONE page faults on its protection first (SIGSEGV).
        let past_eof = match self.lock() {
            Ok(s) => vma_at(&s, addr).is_some_and(|(_, v)| v.past_eof && v.prot != libc::PROT_NONE),
            Err(_) => false,
        };
        if past_eof {
            return match self.revive_if_grown(ctx, tgid, addr) {
                Ok(true) => FaultOutcome::Retry,
                _ => FaultOutcome::PastEof,
            };
        }
        match self.handle_cow_fault(ctx, tgid, addr) {
            CowFault::Copied => FaultOutcome::Retry,
            CowFault::AlreadyWritable => FaultOutcome::AlreadyResolved,
            CowFault::NotCow => FaultOutcome::Deliver,
        }
    }

    /// The past-EOF page at `addr` was touched: if the file has grown over
    /// it since, make the pages now inside the file accessible (private
    /// mappings show the cached file again, copy-on-write) and report true.
    fn revive_if_grown(&self, ctx: &mut dyn Context, tgid: i32, addr: u64) -> Result<bool> {
        let mut s = self.lock()?;
        let (vstart, vma) = vma_at(&s, addr).ok_or(Errno::EFAULT)?;
        let file = vma.file.clone().ok_or(Errno::EFAULT)?;
        let size = file_size(&file)?;
        let page_off = file.offset + (super::page_down(addr) - vstart);
        if page_off >= size {
            return Ok(false);
        }
        let eof_page = page_up(size).ok_or(Errno::EFAULT)?;
        let boundary = (vstart + (eof_page - file.offset)).min(vma.end);
        s.split_at(boundary);
        let remaps = if vma.shared {
            let v = s.vmas.get_mut(&vstart).ok_or(Errno::EFAULT)?;
            v.past_eof = false;
            vec![Remap::protect(vstart, boundary - vstart, v.stub_prot())]
        } else {
            self.reattach_to_cache(&mut s, vstart, boundary)?
        };
        for remap in remaps {
            remap.apply(ctx);
            self.remaps.push(remap, Some(tgid));
        }
        Ok(true)
    }

    /// Points the private file mapping at `[start, end)` (one VMA's range)
    /// at the file's cached pages again, copy-on-write, dropping private
    /// copies (MADV_DONTNEED, a file grown back over truncated pages).
    /// Returns the remaps for the stubs.
    pub(super) fn reattach_to_cache(&self, s: &mut State, start: u64, end: u64) -> Result<Vec<Remap>> {
        let (_, vma) = vma_at(s, start).ok_or(Errno::EFAULT)?;
        let file = vma.file.clone().ok_or(Errno::EFAULT)?;
        let cache = file.cache.clone().ok_or(Errno::EFAULT)?;
        let pieces = cache.pieces(file.offset, end - start)?;
        let doomed: Vec<u64> = s.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in doomed {
            s.vmas.remove(&k);
        }
        let mut template = vma;
        template.cow = true;
        template.past_eof = false;
        s.insert_pieces(start, template, pieces);
        Ok(s.vmas
            .range(start..end)
            .map(|(&at, v)| Remap::map(at, v.end - at, v.stub_prot(), v.mem_offset()))
            .collect())
    }

    /// Marks the file VMAs in `[start, end)` whose pages lie wholly past
    /// EOF (the caller maps or protects them afterwards).
    pub(super) fn mark_past_eof(&self, s: &mut State, start: u64, end: u64) -> Result<()> {
        let Some((vstart, vma)) = s.vmas.range(start..end).next().map(|(&k, v)| (k, v.clone())) else {
            return Ok(());
        };
        let Some(file) = &vma.file else { return Ok(()) };
        let size = file_size(file)?;
        let eof_page = page_up(size).ok_or(Errno::EOVERFLOW)?;
        let boundary = if eof_page > file.offset {
            vstart.saturating_add(eof_page - file.offset).min(end)
        } else {
            vstart
        };
        if boundary >= end {
            return Ok(());
        }
        s.split_at(boundary);
        for (_, v) in s.vmas.range_mut(boundary..end) {
            v.past_eof = true;
        }
        Ok(())
    }

    /// Some file was truncated since this address space last looked:
    /// mark the mapped pages that now lie wholly past EOF, so that they
    /// raise SIGBUS (the stubs learn through their remap queues, applied
    /// right after this before the guest runs again).
    pub(super) fn recheck_eof_if_truncated(&self) {
        let epoch = super::pagecache::truncation_epoch();
        if self.eof_epoch.load(Ordering::Acquire) == epoch {
            return;
        }
        if let Err(e) = self.mark_truncated() {
            tracing::warn!("marking mappings past EOF: {e:?}");
        }
        self.eof_epoch.store(epoch, Ordering::Release);
    }

    fn mark_truncated(&self) -> Result<()> {
        let mut s = self.lock()?;
        let mut sizes: HashMap<CacheKey, u64> = HashMap::new();
        let starts: Vec<u64> = s
            .vmas
            .iter()
            .filter(|(_, v)| v.file.is_some() && !v.past_eof)
            .map(|(&k, _)| k)
            .collect();
        for vstart in starts {
            let Some(file) = s.vmas.get(&vstart).and_then(|v| v.file.clone()) else {
                continue;
            };
            let size = match sizes.get(&file.key) {
                Some(&size) => size,
                None => {
                    let size = file_size(&file)?;
                    sizes.insert(file.key, size);
                    size
                }
            };
            let eof_page = page_up(size).ok_or(Errno::EOVERFLOW)?;
            let boundary = vstart.saturating_add(eof_page.saturating_sub(file.offset));
            if s.vmas.get(&vstart).is_none_or(|v| boundary >= v.end) {
                continue;
            }
            s.split_at(boundary);
            let Some(v) = s.vmas.get_mut(&boundary) else { continue };
            v.past_eof = true;
            self.remaps
                .push(Remap::protect(boundary, v.end - boundary, v.stub_prot()), None);
        }
        Ok(())
    }

    /// mprotect(PROT_WRITE) over `[start, end)`: EACCES on a shared
    /// mapping of a file not open for writing (mprotect(2) EACCES); the
    /// caches of the other shared file mappings learn they may be written.
    pub(super) fn allow_shared_writes(&self, s: &State, start: u64, end: u64) -> Result<()> {
        let overlapping = || {
            let first = s.vmas.range(..start).next_back().filter(|(_, v)| v.end > start);
            first.into_iter().chain(s.vmas.range(start..end))
        };
        if overlapping().any(|(_, v)| v.no_write) {
            return Err(Errno::EACCES);
        }
        for (_, v) in overlapping() {
            if let (true, Some(file)) = (v.shared, &v.file) {
                if let Some(cache) = &file.cache {
                    cache.set_writer(file.ops.clone())?;
                }
            }
        }
        Ok(())
    }

    /// msync(2) over `[addr, addr+len)` (addr page aligned, flags
    /// checked): writes the shared file mappings in the range back.
    /// ENOMEM if part of the range is unmapped; EBUSY for MS_INVALIDATE of
    /// locked memory.
    pub fn msync(&self, addr: u64, len: u64, flags: i32) -> Result<()> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        let ranges = {
            let s = self.lock()?;
            if !s.fully_mapped(addr, end) {
                return Err(Errno::ENOMEM);
            }
            let first = s.vmas.range(..addr).next_back().filter(|(_, v)| v.end > addr);
            let vmas: Vec<(u64, &super::Vma)> = first
                .into_iter()
                .chain(s.vmas.range(addr..end))
                .map(|(&k, v)| (k, v))
                .collect();
            if flags & libc::MS_INVALIDATE != 0 && vmas.iter().any(|(_, v)| v.locked) {
                return Err(Errno::EBUSY);
            }
            shared_file_ranges(vmas.into_iter(), addr, end)
        };
        // MS_ASYNC may start the write-back and return; doing it now is
        // one valid way. The lock is not held: write-back reads the file.
        for (cache, from, to) in ranges {
            cache.flush_range(from, to)?;
        }
        Ok(())
    }

    /// The process is exiting: write its shared file mappings back now, so
    /// that the parent sees the data once wait(2) reports the exit (Linux
    /// releases the address space before it notifies the parent).
    pub fn flush_shared_files(&self) {
        let ranges = match self.lock() {
            Ok(s) => shared_file_ranges(s.vmas.iter().map(|(&k, v)| (k, v)), 0, u64::MAX),
            Err(_) => return,
        };
        for (cache, from, to) in ranges {
            if let Err(e) = cache.flush_range(from, to) {
                tracing::warn!("writing back a shared mapping at exit: {e:?}");
            }
        }
    }
}

/// The file ranges that the shared file mappings among `vmas` show inside
/// `[start, end)`, with their caches.
fn shared_file_ranges<'a>(
    vmas: impl Iterator<Item = (u64, &'a super::Vma)>,
    start: u64,
    end: u64,
) -> Vec<(Arc<PageCache>, u64, u64)> {
    let mut ranges = Vec::new();
    for (vstart, v) in vmas.filter(|(_, v)| v.shared) {
        let Some((file, cache)) = v.file.as_ref().and_then(|f| Some((f, f.cache.clone()?))) else {
            continue;
        };
        let from = start.max(vstart);
        let to = end.min(v.end);
        if from < to {
            let file_from = file.offset + (from - vstart);
            ranges.push((cache, file_from, file_from + (to - from)));
        }
    }
    ranges
}

fn file_size(file: &super::FileRef) -> Result<u64> {
    match &file.cache {
        Some(cache) => cache.file_size(),
        None => file.ops.size(),
    }
}
