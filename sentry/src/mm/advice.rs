//! madvise(2), mlock(2) and mincore(2): advice and queries about mapped
//! ranges. Ranges arrive page aligned; a range with unmapped pages is
//! ENOMEM, after the advice was applied to its mapped parts (as Linux does).

use super::cow::Remap;
use super::{Chunk, MemoryManager, State, VmaName, PAGE_SIZE};
use crate::errno::{Errno, Result};

/// madvise(2) advice with an effect here (the rest is accepted and
/// ignored, as hints may be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// MADV_DONTNEED: private pages are dropped; anonymous memory reads
    /// zeros again, a private file mapping the file.
    DontNeed,
    /// MADV_FREE: like DONTNEED here; only for private anonymous memory.
    Free,
    DontFork,
    DoFork,
    /// MADV_REMOVE: frees shared anonymous memory (it reads zeros in
    /// every sharer); EINVAL on private mappings, EOPNOTSUPP on files
    /// (no filesystem here punches holes).
    Remove,
    /// MADV_WIPEONFORK: only for private anonymous memory.
    WipeOnFork,
    KeepOnFork,
    Ignored,
}

impl MemoryManager {
    /// madvise(2) over `[addr, addr+len)`.
    pub fn madvise(&self, addr: u64, len: u64, advice: Advice) -> Result<()> {
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(());
        }
        let mut s = self.lock()?;
        let holes = !s.fully_mapped(addr, end);
        s.split_at(addr);
        s.split_at(end);
        let starts: Vec<u64> = s.vmas.range(addr..end).map(|(&k, _)| k).collect();
        let private_anon = |s: &State, k: u64| {
            s.vmas
                .get(&k)
                .is_some_and(|v| !v.shared && v.file.is_none() && !matches!(v.name, VmaName::File { .. }))
        };
        for vstart in starts {
            match advice {
                Advice::DontNeed => {
                    // madvise(2) EINVAL: "MADV_DONTNEED ... applied to locked pages".
                    if s.vmas.get(&vstart).is_some_and(|v| v.locked) {
                        return Err(Errno::EINVAL);
                    }
                    self.drop_private_copy(&mut s, vstart)?;
                }
                Advice::Remove => self.remove_shared(&s, vstart)?,
                Advice::Free => {
                    if !private_anon(&s, vstart) {
                        return Err(Errno::EINVAL);
                    }
                    self.drop_private_copy(&mut s, vstart)?;
                }
                Advice::WipeOnFork | Advice::KeepOnFork => {
                    if !private_anon(&s, vstart) {
                        return Err(Errno::EINVAL);
                    }
                    if let Some(v) = s.vmas.get_mut(&vstart) {
                        v.wipe_on_fork = advice == Advice::WipeOnFork;
                    }
                }
                Advice::DontFork | Advice::DoFork => {
                    if let Some(v) = s.vmas.get_mut(&vstart) {
                        v.dont_fork = advice == Advice::DontFork;
                    }
                }
                Advice::Ignored => {}
            }
        }
        if holes {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Drops the private pages of the VMA at `vstart`: anonymous memory
    /// reads zeros again, a private file mapping shows the file again. Shared
    /// mappings show the cache or shared memory, which stays. Pages still
    /// shared with a forked address space get fresh pages instead of being
    /// punched out from under the other side.
    fn drop_private_copy(&self, s: &mut State, vstart: u64) -> Result<()> {
        let v = s.vmas.get_mut(&vstart).ok_or(Errno::EFAULT)?;
        // ELF segments (a file name without a file) keep their contents.
        let image = v.file.is_none() && matches!(v.name, VmaName::File { .. });
        if v.shared || v.past_eof || image {
            return Ok(());
        }
        let (len, end) = (v.end - vstart, v.end);
        if v.file.is_some() {
            for remap in self.reattach_to_cache(s, vstart, end)? {
                self.remaps.push(remap, None);
            }
            return Ok(());
        }
        if v.cow {
            v.chunk = Chunk::allocate(&self.memfile, len)?;
            v.chunk_off = 0;
            v.cow = false;
            self.remaps
                .push(Remap::map(vstart, len, v.stub_prot(), v.mem_offset()), None);
        } else {
            self.memfile.punch(v.mem_offset(), len);
        }
        Ok(())
    }

    /// MADV_REMOVE on the VMA at `vstart`.
    fn remove_shared(&self, s: &State, vstart: u64) -> Result<()> {
        let v = s.vmas.get(&vstart).ok_or(Errno::EFAULT)?;
        if v.locked || !v.shared {
            return Err(Errno::EINVAL);
        }
        if v.file.is_some() {
            return Err(Errno::EOPNOTSUPP);
        }
        self.memfile.punch(v.mem_offset(), v.end - vstart);
        Ok(())
    }

    /// mlock(2) (`lock`) or munlock(2) of `[addr, addr+len)`. With a
    /// `limit` (RLIMIT_MEMLOCK without CAP_IPC_LOCK), locking past it is
    /// ENOMEM. Residency is not affected: memory-file pages are never
    /// swapped by the Sentry.
    pub fn set_locked(&self, addr: u64, len: u64, lock: bool, limit: Option<u64>) -> Result<()> {
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let mut s = self.lock()?;
        if !s.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        s.split_at(addr);
        s.split_at(end);
        if let (true, Some(limit)) = (lock, limit) {
            let newly: u64 = s
                .vmas
                .range(addr..end)
                .filter(|(_, v)| !v.locked)
                .map(|(&k, v)| v.end - k)
                .sum();
            if s.locked_bytes().saturating_add(newly) > limit {
                return Err(Errno::ENOMEM);
            }
        }
        for (_, v) in s.vmas.range_mut(addr..end) {
            v.locked = lock;
        }
        Ok(())
    }

    /// mlockall(2) with checked flags; `limit` as for [`Self::set_locked`].
    pub fn mlockall(&self, flags: i32, limit: Option<u64>) -> Result<()> {
        let mut s = self.lock()?;
        let current = flags & libc::MCL_CURRENT != 0;
        if current {
            let total: u64 = s.vmas.iter().map(|(&k, v)| v.end - k).sum();
            if limit.is_some_and(|l| total > l) {
                return Err(Errno::ENOMEM);
            }
            for v in s.vmas.values_mut() {
                v.locked = true;
            }
        }
        s.lock_future = flags & libc::MCL_FUTURE != 0;
        Ok(())
    }

    /// Whether a new mapping of `len` bytes, locked by MAP_LOCKED or
    /// mlockall(MCL_FUTURE), stays within `limit` (mmap(2) EAGAIN).
    pub fn may_lock_new(&self, len: u64, map_locked: bool, limit: Option<u64>) -> Result<bool> {
        let s = self.lock()?;
        let Some(limit) = limit else { return Ok(true) };
        if !map_locked && !s.lock_future {
            return Ok(true);
        }
        Ok(s.locked_bytes().saturating_add(len) <= limit)
    }

    /// munlockall(2).
    pub fn munlockall(&self) -> Result<()> {
        let mut s = self.lock()?;
        for v in s.vmas.values_mut() {
            v.locked = false;
        }
        s.lock_future = false;
        Ok(())
    }

    /// mincore(2): one byte per page of `[addr, addr+len)`, 1 when the
    /// page is resident in the memory file. ENOMEM if a page is unmapped.
    pub fn mincore(&self, addr: u64, len: u64) -> Result<Vec<u8>> {
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let s = self.lock()?;
        if !s.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = Vec::with_capacity((len / PAGE_SIZE) as usize);
        let mut cur = addr;
        while cur < end {
            let (&vstart, v) = s.vmas.range(..=cur).next_back().ok_or(Errno::ENOMEM)?;
            let piece_end = v.end.min(end);
            if v.past_eof {
                out.resize(out.len() + ((piece_end - cur) / PAGE_SIZE) as usize, 0);
            } else {
                out.extend(
                    self.memfile
                        .resident(v.mem_offset() + (cur - vstart), piece_end - cur)?,
                );
            }
            cur = piece_end;
        }
        Ok(out)
    }
}

impl State {
    /// Bytes under mlock(2).
    fn locked_bytes(&self) -> u64 {
        self.vmas
            .iter()
            .filter(|(_, v)| v.locked)
            .map(|(&k, v)| v.end - k)
            .sum()
    }
}
