//! Futexes (futex(2)): wait queues keyed by the memory-file offset of the
//! futex word, so private and shared futexes alike match across the
//! threads and processes that map the page.

use super::signals::SignalQueue;
use crate::errno::{Errno, Result};
use crate::mm::{FutexKey, MemoryManager, UserMemoryExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Waiter {
    woken: AtomicBool,
    bitset: u32,
    queue: Arc<SignalQueue>,
}

/// What FUTEX_WAIT(_BITSET) waits for.
pub struct WaitRequest {
    pub addr: u64,
    /// FUTEX_PRIVATE_FLAG: the word is private to this address space.
    pub private: bool,
    /// Sleep only while the word still holds this value.
    pub val: u32,
    pub bitset: u32,
    pub deadline: Option<Instant>,
}

/// The bits of a priority-inheritance futex word (futex(2)): the owner's
/// tid, and a flag that sends its unlock to the kernel.
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// What FUTEX_LOCK_PI / FUTEX_TRYLOCK_PI asks for.
pub struct PiLockRequest {
    pub addr: u64,
    pub private: bool,
    /// The caller's tid: the owner value it stores.
    pub tid: i32,
    pub deadline: Option<Instant>,
    /// FUTEX_TRYLOCK_PI: EAGAIN instead of waiting.
    pub try_only: bool,
}

#[derive(Default)]
pub struct Futexes {
    queues: Mutex<HashMap<FutexKey, Vec<Arc<Waiter>>>>,
}

impl Futexes {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<FutexKey, Vec<Arc<Waiter>>>>> {
        self.queues.lock().map_err(|_| Errno::EIO)
    }

    /// FUTEX_WAIT(_BITSET): sleeps while the word at `addr` equals `val`.
    pub fn wait(&self, mm: &MemoryManager, queue: &Arc<SignalQueue>, blocked: u64, req: WaitRequest) -> Result<()> {
        let WaitRequest {
            addr,
            private,
            val,
            bitset,
            deadline,
        } = req;
        if bitset == 0 {
            return Err(Errno::EINVAL);
        }
        let key = mm.futex_key(addr, private)?;
        let waiter = Arc::new(Waiter {
            woken: AtomicBool::new(false),
            bitset,
            queue: queue.clone(),
        });
        {
            let mut queues = self.lock()?;
            // Checked under the table lock, so a waker that changed the
            // word and then called wake cannot be missed.
            if mm.read_val::<u32>(addr)? != val {
                return Err(Errno::EAGAIN);
            }
            queues.entry(key).or_default().push(waiter.clone());
        }
        self.sleep(key, &waiter, deadline, blocked)
    }

    /// Sleeps until `waiter`, queued on `key`, is woken (Ok), or takes it
    /// off the queue and fails: ETIMEDOUT at `deadline`, EINTR for a signal
    /// outside `blocked`.
    fn sleep(&self, key: FutexKey, waiter: &Arc<Waiter>, deadline: Option<Instant>, blocked: u64) -> Result<()> {
        let outcome = waiter
            .queue
            .wait_for(deadline, blocked, &|_| waiter.woken.load(Ordering::SeqCst));
        if matches!(outcome, Ok(true)) {
            return Ok(());
        }
        let mut queues = self.lock()?;
        if waiter.woken.load(Ordering::SeqCst) {
            return Ok(());
        }
        remove(&mut queues, key, waiter);
        match outcome {
            Err(e) => Err(e),
            _ => Err(Errno(libc::ETIMEDOUT)),
        }
    }

    /// FUTEX_LOCK_PI / FUTEX_TRYLOCK_PI: takes the lock word at `addr` for
    /// `tid` (EDEADLK if it holds it already), else marks it contended
    /// (FUTEX_WAITERS, so the owner's unlock comes here) and sleeps until an
    /// unlock wakes it to try again. ESRCH when the owner's tid is no
    /// thread. Priorities are not inherited: the Sentry does not apply them.
    /// A signal restarts the wait once its handler ran, as in Linux.
    pub fn lock_pi(
        &self,
        mm: &MemoryManager,
        queue: &Arc<SignalQueue>,
        blocked: u64,
        req: PiLockRequest,
        thread_exists: &dyn Fn(i32) -> bool,
    ) -> Result<()> {
        let key = mm.futex_key(req.addr, req.private)?;
        let word = mm.memfile().atomic_u32(mm.futex_word_offset(req.addr)?)?;
        let me = req.tid as u32;
        loop {
            let waiter = {
                let mut queues = self.lock()?;
                let cur = word.load(Ordering::SeqCst);
                let owner = cur & FUTEX_TID_MASK;
                if owner == me {
                    return Err(Errno::EDEADLK);
                }
                if owner == 0 {
                    let contended = queues.get(&key).is_some_and(|q| !q.is_empty());
                    let new = me | (cur & FUTEX_OWNER_DIED) | if contended { FUTEX_WAITERS } else { 0 };
                    if word
                        .compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        return Ok(());
                    }
                    continue;
                }
                if !thread_exists(owner as i32) {
                    return Err(Errno::ESRCH);
                }
                if req.try_only {
                    return Err(Errno::EAGAIN);
                }
                let marked = cur | FUTEX_WAITERS;
                if cur != marked
                    && word
                        .compare_exchange(cur, marked, Ordering::SeqCst, Ordering::SeqCst)
                        .is_err()
                {
                    continue;
                }
                let waiter = Arc::new(Waiter {
                    woken: AtomicBool::new(false),
                    bitset: u32::MAX,
                    queue: queue.clone(),
                });
                queues.entry(key).or_default().push(waiter.clone());
                waiter
            };
            match self.sleep(key, &waiter, req.deadline, blocked) {
                Ok(()) => continue,
                Err(Errno::EINTR) => return Err(super::interrupt::ERESTARTNOINTR),
                Err(e) => return Err(e),
            }
        }
    }

    /// FUTEX_UNLOCK_PI: EPERM unless `tid` owns the word; frees it and
    /// wakes one waiter, which takes it (or marks it contended again).
    pub fn unlock_pi(&self, mm: &MemoryManager, private: bool, addr: u64, tid: i32) -> Result<()> {
        let key = mm.futex_key(addr, private)?;
        let word = mm.memfile().atomic_u32(mm.futex_word_offset(addr)?)?;
        let mut queues = self.lock()?;
        let cur = word.load(Ordering::SeqCst);
        if cur & FUTEX_TID_MASK != tid as u32 {
            return Err(Errno::EPERM);
        }
        // Only lock_pi changes a word someone owns, and it holds `queues`.
        word.store(0, Ordering::SeqCst);
        wake_locked(&mut queues, key, 1, u32::MAX);
        Ok(())
    }

    /// FUTEX_WAKE(_BITSET): wakes up to `n` waiters; returns how many.
    pub fn wake(&self, mm: &MemoryManager, private: bool, addr: u64, n: u32, bitset: u32) -> Result<u64> {
        if bitset == 0 {
            return Err(Errno::EINVAL);
        }
        let key = mm.futex_key(addr, private)?;
        let mut queues = self.lock()?;
        Ok(wake_locked(&mut queues, key, n, bitset))
    }

    /// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes `n_wake` waiters on `addr`
    /// and moves up to `n_move` of the rest to `addr2`.
    #[allow(clippy::too_many_arguments)]
    pub fn requeue(
        &self,
        mm: &MemoryManager,
        private: bool,
        addr: u64,
        addr2: u64,
        n_wake: u32,
        n_move: u32,
        expect: Option<u32>,
    ) -> Result<u64> {
        let key = mm.futex_key(addr, private)?;
        let key2 = mm.futex_key(addr2, private)?;
        let mut queues = self.lock()?;
        if let Some(expect) = expect {
            if mm.read_val::<u32>(addr)? != expect {
                return Err(Errno::EAGAIN);
            }
        }
        let woken = wake_locked(&mut queues, key, n_wake, u32::MAX);
        let mut moved = Vec::new();
        if let Some(q) = queues.get_mut(&key) {
            let n = (n_move as usize).min(q.len());
            moved.extend(q.drain(..n));
        }
        let count = moved.len() as u64;
        if !moved.is_empty() {
            queues.entry(key2).or_default().extend(moved);
        }
        queues.retain(|_, q| !q.is_empty());
        Ok(woken + count)
    }

    /// FUTEX_WAKE_OP: atomically updates the word at `addr2`, wakes `n`
    /// waiters on `addr`, and `n2` on `addr2` if the old value passes the
    /// comparison encoded in `op` (futex(2)).
    #[allow(clippy::too_many_arguments)]
    pub fn wake_op(
        &self,
        mm: &MemoryManager,
        private: bool,
        addr: u64,
        addr2: u64,
        n: u32,
        n2: u32,
        op: u32,
    ) -> Result<u64> {
        let key = mm.futex_key(addr, private)?;
        let key2 = mm.futex_key(addr2, private)?;
        let word2 = mm.memfile().atomic_u32(mm.futex_word_offset(addr2)?)?;
        let (kind, cmp) = ((op >> 28) & 0xf, (op >> 24) & 0xf);
        let (mut oparg, cmparg) = ((op >> 12) & 0xfff, op & 0xfff);
        if kind & 8 != 0 {
            // FUTEX_OP_OPARG_SHIFT
            if oparg > 31 {
                return Err(Errno::EINVAL);
            }
            oparg = 1 << oparg;
        }
        let apply = |old: u32| match kind & 7 {
            0 => Some(oparg),
            1 => Some(old.wrapping_add(oparg)),
            2 => Some(old | oparg),
            3 => Some(old & !oparg),
            4 => Some(old ^ oparg),
            _ => None,
        };
        if apply(0).is_none() {
            return Err(Errno::ENOSYS);
        }
        let mut queues = self.lock()?;
        let old = word2
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, apply)
            .map_err(|_| Errno::ENOSYS)?;
        let mut woken = wake_locked(&mut queues, key, n, u32::MAX);
        let (old_s, arg_s) = (old as i32, sign_extend_12(cmparg));
        let pass = match cmp {
            0 => old_s == arg_s,
            1 => old_s != arg_s,
            2 => old_s < arg_s,
            3 => old_s <= arg_s,
            4 => old_s > arg_s,
            5 => old_s >= arg_s,
            _ => return Err(Errno::ENOSYS),
        };
        if pass {
            woken += wake_locked(&mut queues, key2, n2, u32::MAX);
        }
        Ok(woken)
    }
}

fn sign_extend_12(v: u32) -> i32 {
    ((v << 20) as i32) >> 20
}

fn wake_locked(queues: &mut HashMap<FutexKey, Vec<Arc<Waiter>>>, key: FutexKey, n: u32, bitset: u32) -> u64 {
    let Some(q) = queues.get_mut(&key) else { return 0 };
    let mut woken = 0;
    q.retain(|w| {
        if woken < n as u64 && w.bitset & bitset != 0 {
            w.woken.store(true, Ordering::SeqCst);
            w.queue.notify();
            woken += 1;
            false
        } else {
            true
        }
    });
    if q.is_empty() {
        queues.remove(&key);
    }
    woken
}

fn remove(queues: &mut HashMap<FutexKey, Vec<Arc<Waiter>>>, key: FutexKey, waiter: &Arc<Waiter>) {
    if let Some(q) = queues.get_mut(&key) {
        q.retain(|w| !Arc::ptr_eq(w, waiter));
        if q.is_empty() {
            queues.remove(&key);
        }
    }
}
