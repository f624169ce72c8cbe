//! Copy-on-write fork, and mapping changes that other stub processes must
//! apply.
//!
//! After fork both address spaces share every private chunk and map it
//! read-only in their stubs. A write fault copies a piece of
//! [`COW_PIECE`] bytes (or, when no other address space still holds the
//! chunk, takes it back without copying) and remaps it writable. The
//! Sentry's own writes into COW pages copy first too.
//!
//! A stub can only be changed by the host thread that traces it, so a
//! change made on one thread for another process (the parent's pages
//! becoming read-only at fork, a copy made by the Sentry for a vfork
//! sharer) is queued per thread group and applied by that group's next
//! task before it re-enters the guest.

use super::{page_down, Chunk, MemoryManager, State, Vma, PAGE_SIZE};
use crate::errno::{Errno, Result};
use platform::Context;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes copied per COW fault: large enough that a heap written from end to
/// end does not take a ptrace round trip per page.
const COW_PIECE: u64 = 16 * PAGE_SIZE;

pub(super) fn next_mm_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A change to apply to a stub: map `offset` of the memory file at `addr`,
/// or only change the protection when `offset` is None.
#[derive(Debug, Clone, Copy)]
pub(super) struct Remap {
    addr: u64,
    len: u64,
    prot: i32,
    offset: Option<u64>,
}

impl Remap {
    /// Map memory-file `offset` at `addr`.
    pub(super) fn map(addr: u64, len: u64, prot: i32, offset: u64) -> Remap {
        Remap {
            addr,
            len,
            prot,
            offset: Some(offset),
        }
    }

    /// Only change the protection of `[addr, addr+len)`.
    pub(super) fn protect(addr: u64, len: u64, prot: i32) -> Remap {
        Remap {
            addr,
            len,
            prot,
            offset: None,
        }
    }

    pub(super) fn apply(&self, ctx: &mut dyn Context) {
        let r = match self.offset {
            Some(offset) => ctx.map(self.addr, self.len, self.prot, offset),
            None => ctx.protect(self.addr, self.len, self.prot),
        };
        if let Err(e) = r {
            tracing::warn!("applying a queued remap at {:#x}: {e}", self.addr);
        }
    }
}

/// Pending remaps per thread group using the address space.
pub(super) struct RemapQueues {
    queues: Mutex<HashMap<i32, Vec<Remap>>>,
    pending: AtomicBool,
}

impl RemapQueues {
    pub(super) fn new(owner: i32) -> RemapQueues {
        RemapQueues {
            queues: Mutex::new(HashMap::from([(owner, Vec::new())])),
            pending: AtomicBool::new(false),
        }
    }

    /// Queues `remap` for every user but `except`.
    pub(super) fn push(&self, remap: Remap, except: Option<i32>) {
        let Ok(mut queues) = self.queues.lock() else { return };
        for (&tgid, queue) in queues.iter_mut() {
            if Some(tgid) != except {
                queue.push(remap);
                self.pending.store(true, Ordering::Release);
            }
        }
    }
}

/// The identity of a futex word: private futexes by address space and
/// address (a COW copy must not split a wait queue), shared ones by the
/// memory-file page behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FutexKey {
    Private { mm: u64, addr: u64 },
    Shared { offset: u64 },
}

/// What a write fault on a private page came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CowFault {
    /// The page was copy-on-write and is now this address space's own.
    Copied,
    /// The page allows writing already (a racing thread copied it).
    AlreadyWritable,
    /// Not a copy-on-write page: a genuine fault.
    NotCow,
}

impl MemoryManager {
    /// Another thread group (a CLONE_VM|CLONE_VFORK child) starts using
    /// this address space: map everything into its stub.
    pub fn attach(&self, ctx: &mut dyn Context, tgid: i32) -> Result<()> {
        let s = self.lock()?;
        for (&start, vma) in &s.vmas {
            ctx.map(start, vma.end - start, vma.stub_prot(), vma.mem_offset())
                .map_err(|_| Errno::ENOMEM)?;
        }
        if let Ok(mut queues) = self.remaps.queues.lock() {
            queues.insert(tgid, Vec::new());
        }
        Ok(())
    }

    /// Thread group `tgid` no longer uses this address space (exit, exec).
    pub fn detach(&self, tgid: i32) {
        if let Ok(mut queues) = self.remaps.queues.lock() {
            queues.remove(&tgid);
        }
    }

    /// Applies the changes queued for thread group `tgid` to `ctx`. Cheap
    /// when nothing is queued.
    pub fn apply_remaps(&self, tgid: i32, ctx: &mut dyn Context) {
        self.recheck_eof_if_truncated();
        if !self.remaps.pending.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut queues) = self.remaps.queues.lock() else {
            return;
        };
        let mine = queues.get_mut(&tgid).map(std::mem::take).unwrap_or_default();
        let still = queues.values().any(|q| !q.is_empty());
        self.remaps.pending.store(still, Ordering::Release);
        drop(queues);
        for remap in mine {
            remap.apply(ctx);
        }
    }

    /// fork(2): a new address space for thread group `child` sharing every
    /// chunk, mapped into `ctx`; private memory becomes copy-on-write on
    /// both sides (the parent's stubs are write-protected through their
    /// remap queue before they run again).
    pub fn fork(&self, ctx: &mut dyn Context, child: i32) -> Result<MemoryManager> {
        let mut s = self.lock()?;
        let mut vmas = BTreeMap::new();
        for (&start, vma) in s.vmas.iter_mut() {
            let len = vma.end - start;
            if vma.dont_fork {
                continue;
            }
            if vma.wipe_on_fork {
                let wiped = wiped_copy(&self.memfile, vma, len)?;
                ctx.map(start, len, wiped.stub_prot(), wiped.mem_offset())
                    .map_err(|_| Errno::ENOMEM)?;
                vmas.insert(start, wiped);
                continue;
            }
            if !vma.shared && !vma.cow {
                vma.cow = true;
                if vma.prot & libc::PROT_WRITE != 0 {
                    self.remaps.push(
                        Remap {
                            addr: start,
                            len,
                            prot: vma.stub_prot(),
                            offset: None,
                        },
                        None,
                    );
                }
            }
            ctx.map(start, len, vma.stub_prot(), vma.mem_offset())
                .map_err(|_| Errno::ENOMEM)?;
            // mlock(2): memory locks are not inherited by a fork child.
            let mut inherited = vma.clone();
            inherited.locked = false;
            vmas.insert(start, inherited);
        }
        Ok(MemoryManager {
            memfile: self.memfile.clone(),
            id: next_mm_id(),
            remaps: RemapQueues::new(child),
            eof_epoch: AtomicU64::new(self.eof_epoch.load(Ordering::Acquire)),
            state: Mutex::new(State {
                vmas,
                brk_start: s.brk_start,
                brk: s.brk,
                mmap_top: s.mmap_top,
                min_addr: s.min_addr,
                max_addr: s.max_addr,
                lock_future: false,
            }),
        })
    }

    /// A write fault at `addr` in thread group `tgid`: if it hit a COW page
    /// of a writable mapping, give the page its own copy, map it into `ctx`
    /// and report true (the guest retries the write).
    pub fn handle_cow_fault(&self, ctx: &mut dyn Context, tgid: i32, addr: u64) -> CowFault {
        let Ok(mut s) = self.lock() else {
            return CowFault::NotCow;
        };
        match vma_at(&s, addr) {
            Some((_, v)) if v.cow && v.prot & libc::PROT_WRITE != 0 => {}
            // Another thread's fault on this copy-on-write piece got the
            // lock first and made it writable in this address space (its
            // remap was applied under the lock, before we got it).
            Some((_, v)) if v.stub_prot() & libc::PROT_WRITE != 0 => return CowFault::AlreadyWritable,
            _ => return CowFault::NotCow,
        }
        match self.unshare(&mut s, addr) {
            Ok(remaps) => {
                for remap in remaps {
                    remap.apply(ctx);
                    self.remaps.push(remap, Some(tgid));
                }
                CowFault::Copied
            }
            Err(_) => CowFault::NotCow,
        }
    }

    /// Gives every COW page in `[addr, addr+len)` its own copy (the Sentry
    /// is about to write there); stubs learn through their remap queues.
    pub(super) fn unshare_range(&self, s: &mut State, addr: u64, len: u64) -> Result<()> {
        let end = addr.saturating_add(len);
        let mut cur = page_down(addr);
        while cur < end {
            let Some((start, vma)) = vma_at(s, cur) else {
                return Err(Errno::EFAULT);
            };
            if vma.cow {
                for remap in self.unshare(s, cur)? {
                    self.remaps.push(remap, None);
                }
                continue; // the VMA at `cur` changed; look again
            }
            let _ = start;
            cur = vma.end;
        }
        Ok(())
    }

    /// Ends COW for the piece around `addr`: without copying when this
    /// address space is the chunk's only user, else with a fresh copy.
    fn unshare(&self, s: &mut State, addr: u64) -> Result<Vec<Remap>> {
        let (start, vma) = vma_at(s, addr).ok_or(Errno::EFAULT)?;
        let chunk = vma.chunk.clone();
        let users_here = s.vmas.values().filter(|v| Arc::ptr_eq(&v.chunk, &chunk)).count();
        // One reference is `chunk` itself.
        if Arc::strong_count(&chunk) - 1 == users_here {
            let mut remaps = Vec::new();
            for (&vstart, v) in s.vmas.iter_mut().filter(|(_, v)| Arc::ptr_eq(&v.chunk, &chunk)) {
                if v.cow {
                    v.cow = false;
                    remaps.push(Remap {
                        addr: vstart,
                        len: v.end - vstart,
                        prot: v.prot,
                        offset: None,
                    });
                }
            }
            return Ok(remaps);
        }
        let piece_start = page_down(addr).saturating_sub(page_down(addr) % COW_PIECE).max(start);
        let piece_end = piece_start.saturating_add(COW_PIECE).min(vma.end);
        s.split_at(piece_start);
        s.split_at(piece_end);
        let len = piece_end - piece_start;
        let fresh = Chunk::allocate(&self.memfile, len)?;
        let v = s.vmas.get_mut(&piece_start).ok_or(Errno::EFAULT)?;
        self.memfile.copy(v.mem_offset(), fresh.offset, len)?;
        v.chunk = fresh;
        v.chunk_off = 0;
        v.cow = false;
        Ok(vec![Remap {
            addr: piece_start,
            len,
            prot: v.prot,
            offset: Some(v.mem_offset()),
        }])
    }

    /// The key of the futex word at `addr` (EFAULT if not readable).
    pub fn futex_key(&self, addr: u64, private: bool) -> Result<FutexKey> {
        let s = self.lock()?;
        let mut offset = None;
        s.for_each_piece(addr, 4, libc::PROT_READ, |off, done, _| {
            if done == 0 {
                offset = Some(off);
            }
            Ok(())
        })?;
        let offset = offset.ok_or(Errno::EFAULT)?;
        let shared_vma = vma_at(&s, addr).is_some_and(|(_, v)| v.shared);
        Ok(if private || !shared_vma {
            FutexKey::Private { mm: self.id, addr }
        } else {
            FutexKey::Shared { offset }
        })
    }

    /// The memory-file offset of the word at `addr`, after giving a COW
    /// page its own copy (futex operations modify the word).
    pub fn futex_word_offset(&self, addr: u64) -> Result<u64> {
        let mut s = self.lock()?;
        s.for_each_piece(addr, 4, libc::PROT_READ, |_, _, _| Ok(()))?;
        self.unshare_range(&mut s, addr, 4)?;
        s.mem_offset_of(addr).ok_or(Errno::EFAULT)
    }
}

/// MADV_WIPEONFORK: the child's copy of `vma` is fresh zero memory.
fn wiped_copy(memfile: &Arc<super::MemoryFile>, vma: &Vma, len: u64) -> Result<Vma> {
    let mut wiped = vma.clone();
    wiped.chunk = Chunk::allocate(memfile, len)?;
    wiped.chunk_off = 0;
    wiped.cow = false;
    wiped.locked = false;
    Ok(wiped)
}

pub(super) fn vma_at(s: &State, addr: u64) -> Option<(u64, Vma)> {
    let (&start, vma) = s.vmas.range(..=addr).next_back()?;
    (vma.end > addr).then(|| (start, vma.clone()))
}
