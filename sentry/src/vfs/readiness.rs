//! Readiness notification for poll, select, epoll and the blocking reads
//! of eventfd and timerfd.
//!
//! A file whose `poll` answer may have changed calls [`changed`], which
//! advances one sandbox-wide generation and wakes every registered waiter.
//! A waiter notes the generation, checks its files, and sleeps until the
//! generation moves, a signal it must act on arrives, or a deadline passes.
//! Files that never call [`changed`] (host streams, whose state changes
//! outside the Sentry) say so with [`WakeHint::Poll`], and waiters watching
//! them re-check every [`RECHECK`].

use crate::errno::{Errno, Result};
use crate::kernel::signals::SignalQueue;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a waiter re-checks files that do not notify.
pub const RECHECK: Duration = Duration::from_millis(10);

/// How a waiter learns that a file's `poll` answer may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeHint {
    /// Only through [`changed`].
    Notified,
    /// Through [`changed`], and by itself at this instant (a timer).
    At(Instant),
    /// Not reliably: re-check every [`RECHECK`].
    Poll,
}

impl WakeHint {
    /// The hint for a waiter watching both `self` and `other`.
    pub fn and(self, other: WakeHint) -> WakeHint {
        match (self, other) {
            (WakeHint::Poll, _) | (_, WakeHint::Poll) => WakeHint::Poll,
            (WakeHint::At(a), WakeHint::At(b)) => WakeHint::At(a.min(b)),
            (WakeHint::At(a), _) | (_, WakeHint::At(a)) => WakeHint::At(a),
            _ => WakeHint::Notified,
        }
    }

    /// When a waiter must look again even without a notification.
    fn recheck_at(self, now: Instant) -> Option<Instant> {
        match self {
            WakeHint::Notified => None,
            WakeHint::At(t) => Some(t),
            WakeHint::Poll => Some(now + RECHECK),
        }
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(0);
static WAITER_COUNT: AtomicUsize = AtomicUsize::new(0);
static WAITERS: Mutex<Vec<(u64, Arc<SignalQueue>)>> = Mutex::new(Vec::new());

/// The current generation: it moves at every [`changed`].
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// Some file's readiness may have changed: wake the waiters. Call it after
/// the change is visible; it may be called under the file's own lock, never
/// under a signal queue's.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    if WAITER_COUNT.load(Ordering::SeqCst) == 0 {
        return;
    }
    let queues: Vec<Arc<SignalQueue>> = match WAITERS.lock() {
        Ok(w) => w.iter().map(|(_, q)| q.clone()).collect(),
        Err(_) => return,
    };
    for queue in queues {
        queue.notify();
    }
}

/// A registration in the waiter list, removed on drop.
struct Registration(u64);

impl Registration {
    fn new(queue: &Arc<SignalQueue>) -> Registration {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut w) = WAITERS.lock() {
            w.push((id, queue.clone()));
        }
        // Counted after the push: a notifier that sees the count finds the queue.
        WAITER_COUNT.fetch_add(1, Ordering::SeqCst);
        Registration(id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        WAITER_COUNT.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut w) = WAITERS.lock() {
            w.retain(|(id, _)| *id != self.0);
        }
    }
}

/// What one look at the files found.
pub enum Attempt<T> {
    Done(T),
    /// Nothing yet; the hint says when to look again.
    Wait(WakeHint),
}

/// Runs `attempt` until it is done (Some), the deadline passes (None) or
/// a signal outside `blocked` is pending (EINTR).
pub fn wait_on<T>(
    queue: &Arc<SignalQueue>,
    blocked: u64,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Result<Attempt<T>>,
) -> Result<Option<T>> {
    let _registered = Registration::new(queue);
    loop {
        let seen = generation();
        let hint = match attempt()? {
            Attempt::Done(v) => return Ok(Some(v)),
            Attempt::Wait(hint) => hint,
        };
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Ok(None);
        }
        let wake = match (deadline, hint.recheck_at(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        queue.wait_for(wake, blocked, &|_| generation() != seen)?;
    }
}

/// [`wait_on`] for the task running on this thread, without a deadline,
/// for blocking reads and writes inside `FileOps`: a signal the task acts
/// on gives ERESTARTSYS (signal(7): restarted after SA_RESTART handlers).
pub fn block_current<T>(mut attempt: impl FnMut() -> Result<Attempt<T>>) -> Result<T> {
    let Some(queue) = crate::kernel::interrupt::current_queue() else {
        // No task on this thread (unit tests): plain polling.
        loop {
            match attempt()? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Wait(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    };
    match wait_on(&queue, queue.blocked(), None, attempt) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Errno::EAGAIN),
        Err(Errno::EINTR) => Err(crate::kernel::interrupt::ERESTARTSYS),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_combine_to_the_most_demanding() {
        let t = Instant::now();
        let later = t + Duration::from_secs(1);
        assert_eq!(WakeHint::Notified.and(WakeHint::Notified), WakeHint::Notified);
        assert_eq!(WakeHint::Notified.and(WakeHint::At(t)), WakeHint::At(t));
        assert_eq!(WakeHint::At(later).and(WakeHint::At(t)), WakeHint::At(t));
        assert_eq!(WakeHint::At(t).and(WakeHint::Poll), WakeHint::Poll);
    }

    #[test]
    fn changed_advances_the_generation() {
        let before = generation();
        changed();
        assert!(generation() > before);
    }

    #[test]
    fn block_current_without_a_task_polls() {
        let mut tries = 0;
        let v = block_current(|| {
            tries += 1;
            Ok(if tries < 3 {
                Attempt::Wait(WakeHint::Notified)
            } else {
                Attempt::Done(tries)
            })
        });
        assert_eq!(v, Ok(3));
    }
}
