//! Advisory file locks: POSIX record locks and open file description (OFD)
//! record locks (fcntl(2) "Advisory record locking", "Open file description
//! locks"), and whole-file flock(2) locks.
//!
//! Locks are keyed by inode identity ([`InodeKey`]: device and inode
//! number), so the same file opened twice, through any path or mount,
//! shares one set of locks. Record locks and flock locks are separate
//! namespaces: they never conflict with each other (flock(2) NOTES).
//!
//! Owners:
//! - a POSIX record lock belongs to a file descriptor table (Linux's
//!   `files_struct`): every fd of the process shares it, a fork gets a new
//!   table and so inherits nothing, and closing any fd of the inode through
//!   that table drops all of them;
//! - OFD record locks and flock locks belong to an open file description:
//!   shared by dup and fork, dropped when the last reference closes.
//!
//! There is one manager per Sentry process ([`manager`]): an open file
//! description releases its locks from `Drop`, where no kernel is at hand.

use crate::errno::{Errno, Result};
use crate::kernel::interrupt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The largest file offset (Linux's OFFSET_MAX): a lock ending here runs to
/// the end of the file however far it grows.
pub const OFFSET_MAX: i64 = i64::MAX;

/// How long a blocked lock request sleeps before it checks for signals.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// posix_locks_deadlock's bound on the length of a wait-for chain.
const MAX_DEADLOCK_DEPTH: usize = 10;

/// Which file a lock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InodeKey {
    pub dev: u64,
    pub ino: u64,
}

/// Who holds a record lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A POSIX lock: the id of a file descriptor table.
    Posix(u64),
    /// An OFD lock: the id of an open file description.
    OpenFile(u64),
}

/// A fresh id for an fd table or an open file description.
pub fn new_owner_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Read,
    Write,
}

/// A byte range lock: `start..=end` (both inclusive, `end` may be
/// [`OFFSET_MAX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLock {
    pub owner: Owner,
    pub kind: LockKind,
    pub start: i64,
    pub end: i64,
    /// What F_GETLK reports as l_pid: the locker's pid, -1 for OFD locks.
    pub pid: i32,
}

impl RecordLock {
    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start <= end && start <= self.end
    }

    /// True if `self` overlaps or directly adjoins `start..=end`.
    fn touches(&self, start: i64, end: i64) -> bool {
        self.start <= end.saturating_add(1) && start <= self.end.saturating_add(1)
    }

    fn conflicts_with(&self, other: &RecordLock) -> bool {
        self.owner != other.owner
            && self.overlaps(other.start, other.end)
            && (self.kind == LockKind::Write || other.kind == LockKind::Write)
    }
}

/// A record lock request: a lock, or an unlock (`kind` None) of a range.
#[derive(Debug, Clone, Copy)]
pub struct RecordRequest {
    pub owner: Owner,
    pub kind: Option<LockKind>,
    pub start: i64,
    pub end: i64,
    pub pid: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlockLock {
    /// The open file description holding it.
    file: u64,
    exclusive: bool,
}

#[derive(Default)]
struct InodeLocks {
    records: Vec<RecordLock>,
    flocks: Vec<FlockLock>,
}

impl InodeLocks {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.flocks.is_empty()
    }

    fn first_record_conflict(&self, probe: &RecordLock) -> Option<RecordLock> {
        self.records.iter().find(|l| l.conflicts_with(probe)).copied()
    }

    /// Applies a request that has no conflict: the owner's locks in the
    /// range are replaced (split where they stick out) and the new lock is
    /// merged with the owner's adjacent or overlapping locks of its kind.
    fn apply_record(&mut self, req: &RecordRequest) {
        let (mut start, mut end) = (req.start, req.end);
        if let Some(kind) = req.kind {
            self.records.retain(|l| {
                let merge = l.owner == req.owner && l.kind == kind && l.touches(start, end);
                if merge {
                    start = start.min(l.start);
                    end = end.max(l.end);
                }
                !merge
            });
        }
        let mut kept = Vec::with_capacity(self.records.len() + 2);
        for l in self.records.drain(..) {
            if l.owner != req.owner || !l.overlaps(start, end) {
                kept.push(l);
                continue;
            }
            if l.start < start {
                kept.push(RecordLock { end: start - 1, ..l });
            }
            if l.end > end {
                kept.push(RecordLock { start: end + 1, ..l });
            }
        }
        if let Some(kind) = req.kind {
            kept.push(RecordLock {
                owner: req.owner,
                kind,
                start,
                end,
                pid: req.pid,
            });
        }
        kept.sort_by_key(|l| l.start);
        self.records = kept;
    }

    fn flock_conflict(&self, file: u64, exclusive: bool) -> bool {
        self.flocks.iter().any(|l| l.file != file && (exclusive || l.exclusive))
    }
}

#[derive(Default)]
struct State {
    inodes: HashMap<InodeKey, InodeLocks>,
    /// Blocked POSIX owners and the owner each waits for (deadlock detection).
    waiting: HashMap<u64, u64>,
}

impl State {
    fn inode(&mut self, key: InodeKey) -> &mut InodeLocks {
        self.inodes.entry(key).or_default()
    }

    fn forget_if_empty(&mut self, key: InodeKey) {
        if self.inodes.get(&key).is_some_and(InodeLocks::is_empty) {
            self.inodes.remove(&key);
        }
    }

    /// Grants `req` if nothing of another owner is in the way; otherwise
    /// returns the first lock that is.
    fn try_record(&mut self, key: InodeKey, req: &RecordRequest) -> Option<RecordLock> {
        let locks = self.inode(key);
        if let Some(kind) = req.kind {
            let probe = RecordLock {
                owner: req.owner,
                kind,
                start: req.start,
                end: req.end,
                pid: req.pid,
            };
            if let Some(blocker) = locks.first_record_conflict(&probe) {
                return Some(blocker);
            }
        }
        locks.apply_record(req);
        None
    }

    /// A request of `owner` on `key` is over (granted, refused or interrupted).
    fn stop_waiting(&mut self, key: InodeKey, owner: Owner) {
        if let Owner::Posix(me) = owner {
            self.waiting.remove(&me);
        }
        self.forget_if_empty(key);
    }

    /// fcntl(2) EDEADLK: would `owner` waiting for `blocker` close a cycle
    /// of POSIX owners each waiting for the next?
    fn would_deadlock(&self, owner: u64, blocker: u64) -> bool {
        let mut next = blocker;
        for _ in 0..MAX_DEADLOCK_DEPTH {
            if next == owner {
                return true;
            }
            match self.waiting.get(&next) {
                Some(&n) => next = n,
                None => return false,
            }
        }
        false
    }
}

/// All advisory locks of the Sentry.
#[derive(Default)]
pub struct LockManager {
    state: Mutex<State>,
    /// Notified whenever a lock is released.
    released: Condvar,
}

/// The Sentry's lock manager.
pub fn manager() -> &'static LockManager {
    static MANAGER: OnceLock<LockManager> = OnceLock::new();
    MANAGER.get_or_init(LockManager::default)
}

impl LockManager {
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Sleeps until a release or the next signal check; ERESTARTSYS if a
    /// signal the task acts on is pending.
    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        interrupt::check()?;
        let (guard, _) = self.released.wait_timeout(guard, WAIT_SLICE).map_err(|_| Errno::EIO)?;
        Ok(guard)
    }

    /// F_GETLK: the first lock of another owner that would block `probe`.
    pub fn test_record(&self, key: InodeKey, probe: &RecordLock) -> Result<Option<RecordLock>> {
        let state = self.lock()?;
        Ok(state.inodes.get(&key).and_then(|l| l.first_record_conflict(probe)))
    }

    /// F_OFD_GETLK with F_UNLCK: the first lock of `owner` itself that
    /// overlaps `start..=end` (Linux 6.6's "F_UNLCK extension").
    pub fn find_own_record(&self, key: InodeKey, owner: Owner, start: i64, end: i64) -> Result<Option<RecordLock>> {
        let state = self.lock()?;
        Ok(state.inodes.get(&key).and_then(|l| {
            l.records
                .iter()
                .find(|r| r.owner == owner && r.overlaps(start, end))
                .copied()
        }))
    }

    /// F_SETLK / F_SETLKW and their OFD forms. With `wait`, sleeps until
    /// the range is free (interruptible); fails with EDEADLK when a POSIX
    /// owner would wait in a cycle.
    pub fn set_record(&self, key: InodeKey, req: &RecordRequest, wait: bool) -> Result<()> {
        let mut state = self.lock()?;
        let result = loop {
            let Some(blocker) = state.try_record(key, req) else {
                break Ok(());
            };
            if !wait {
                break Err(Errno::EAGAIN);
            }
            // Only POSIX owners take part in deadlock detection (fcntl(2)).
            if let (Owner::Posix(me), Owner::Posix(them)) = (req.owner, blocker.owner) {
                if state.would_deadlock(me, them) {
                    break Err(Errno::EDEADLK);
                }
                state.waiting.insert(me, them);
            }
            state = match self.wait(state) {
                Ok(s) => s,
                Err(e) => {
                    self.lock()?.stop_waiting(key, req.owner);
                    return Err(e);
                }
            };
        };
        state.stop_waiting(key, req.owner);
        drop(state);
        self.released.notify_all();
        result
    }

    /// True if `table` holds any POSIX lock (lets close skip the inode lookup).
    pub fn has_posix_locks(&self, table: u64) -> bool {
        self.lock().is_ok_and(|s| {
            s.inodes
                .values()
                .any(|l| l.records.iter().any(|r| r.owner == Owner::Posix(table)))
        })
    }

    /// Drops every record lock of `owner` on `key`.
    pub fn release_records(&self, key: InodeKey, owner: Owner) {
        if let Ok(mut state) = self.lock() {
            if let Some(locks) = state.inodes.get_mut(&key) {
                locks.records.retain(|l| l.owner != owner);
            }
            state.forget_if_empty(key);
        }
        self.released.notify_all();
    }

    /// Drops every POSIX lock of a table on any inode (the table is gone).
    pub fn release_table(&self, table: u64) {
        if let Ok(mut state) = self.lock() {
            for locks in state.inodes.values_mut() {
                locks.records.retain(|l| l.owner != Owner::Posix(table));
            }
            state.inodes.retain(|_, l| !l.is_empty());
        }
        self.released.notify_all();
    }

    /// The last reference to an open file description went away: its OFD
    /// and flock locks go with it.
    pub fn release_open_file(&self, key: InodeKey, file: u64) {
        if let Ok(mut state) = self.lock() {
            if let Some(locks) = state.inodes.get_mut(&key) {
                locks.records.retain(|l| l.owner != Owner::OpenFile(file));
                locks.flocks.retain(|l| l.file != file);
            }
            state.forget_if_empty(key);
        }
        self.released.notify_all();
    }

    /// flock(2) LOCK_SH / LOCK_EX (`exclusive`) for open file `file`. A
    /// conversion first drops the old lock, so a failed conversion leaves
    /// none (flock(2): "not guaranteed to be atomic").
    pub fn flock(&self, key: InodeKey, file: u64, exclusive: bool, wait: bool) -> Result<()> {
        let mut state = self.lock()?;
        let locks = state.inode(key);
        let wanted = FlockLock { file, exclusive };
        if locks.flocks.contains(&wanted) {
            return Ok(());
        }
        let before = locks.flocks.len();
        locks.flocks.retain(|l| l.file != file);
        if locks.flocks.len() != before {
            self.released.notify_all();
        }
        loop {
            let locks = state.inode(key);
            if !locks.flock_conflict(file, exclusive) {
                locks.flocks.push(wanted);
                return Ok(());
            }
            if !wait {
                state.forget_if_empty(key);
                return Err(Errno::EAGAIN);
            }
            state = match self.wait(state) {
                Ok(s) => s,
                Err(e) => {
                    if let Ok(mut s) = self.lock() {
                        s.forget_if_empty(key);
                    }
                    return Err(e);
                }
            };
        }
    }

    /// flock(2) LOCK_UN.
    pub fn funlock(&self, key: InodeKey, file: u64) -> Result<()> {
        let mut state = self.lock()?;
        if let Some(locks) = state.inodes.get_mut(&key) {
            locks.flocks.retain(|l| l.file != file);
        }
        state.forget_if_empty(key);
        drop(state);
        self.released.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: InodeKey = InodeKey { dev: 1, ino: 2 };

    fn req(owner: Owner, kind: Option<LockKind>, start: i64, end: i64) -> RecordRequest {
        RecordRequest {
            owner,
            kind,
            start,
            end,
            pid: 7,
        }
    }

    fn ranges(m: &LockManager) -> Vec<(i64, i64, LockKind)> {
        let s = m.state.lock().unwrap_or_else(|e| e.into_inner());
        s.inodes
            .get(&KEY)
            .map(|l| l.records.iter().map(|r| (r.start, r.end, r.kind)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn unlock_in_the_middle_splits_and_relock_merges() {
        let m = LockManager::default();
        let me = Owner::Posix(1);
        assert_eq!(m.set_record(KEY, &req(me, Some(LockKind::Write), 0, 99), false), Ok(()));
        assert_eq!(m.set_record(KEY, &req(me, None, 10, 19), false), Ok(()));
        assert_eq!(ranges(&m), vec![(0, 9, LockKind::Write), (20, 99, LockKind::Write)]);
        assert_eq!(
            m.set_record(KEY, &req(me, Some(LockKind::Write), 10, 19), false),
            Ok(())
        );
        assert_eq!(ranges(&m), vec![(0, 99, LockKind::Write)]);
    }

    #[test]
    fn a_different_kind_inside_a_lock_splits_it_in_three() {
        let m = LockManager::default();
        let me = Owner::Posix(1);
        assert_eq!(
            m.set_record(KEY, &req(me, Some(LockKind::Read), 0, OFFSET_MAX), false),
            Ok(())
        );
        assert_eq!(m.set_record(KEY, &req(me, Some(LockKind::Write), 5, 5), false), Ok(()));
        assert_eq!(
            ranges(&m),
            vec![
                (0, 4, LockKind::Read),
                (5, 5, LockKind::Write),
                (6, OFFSET_MAX, LockKind::Read)
            ]
        );
    }

    #[test]
    fn readers_share_and_writers_conflict_across_owners() {
        let m = LockManager::default();
        let (a, b) = (Owner::Posix(1), Owner::OpenFile(2));
        assert_eq!(m.set_record(KEY, &req(a, Some(LockKind::Read), 0, 9), false), Ok(()));
        assert_eq!(m.set_record(KEY, &req(b, Some(LockKind::Read), 5, 14), false), Ok(()));
        assert_eq!(
            m.set_record(KEY, &req(b, Some(LockKind::Write), 9, 9), false),
            Err(Errno::EAGAIN)
        );
        assert_eq!(m.set_record(KEY, &req(b, Some(LockKind::Write), 10, 14), false), Ok(()));
        m.release_records(KEY, a);
        assert_eq!(m.set_record(KEY, &req(b, Some(LockKind::Write), 0, 9), false), Ok(()));
        assert_eq!(ranges(&m), vec![(0, 14, LockKind::Write)]);
    }

    #[test]
    fn a_two_owner_cycle_is_a_deadlock() {
        let m = LockManager::default();
        let mut s = m.state.lock().unwrap_or_else(|e| e.into_inner());
        s.waiting.insert(2, 1);
        assert!(s.would_deadlock(1, 2));
        assert!(!s.would_deadlock(3, 2));
    }

    #[test]
    fn failed_flock_conversion_drops_the_old_lock() {
        let m = LockManager::default();
        assert_eq!(m.flock(KEY, 1, false, false), Ok(()));
        assert_eq!(m.flock(KEY, 2, false, false), Ok(()));
        assert_eq!(m.flock(KEY, 1, true, false), Err(Errno::EAGAIN));
        assert_eq!(m.flock(KEY, 2, true, false), Ok(()));
        m.release_open_file(KEY, 2);
        assert!(m.lock().map(|s| s.inodes.is_empty()).unwrap_or(false));
    }
}
