//! Interrupting blocked syscalls (signal(7), "Interruption of system calls
//! and library functions by signal handlers").
//!
//! A syscall that blocks returns [`ERESTARTSYS`] when a signal the task
//! will act on arrives. After the signal is delivered the run loop either
//! restarts the syscall (the handler has SA_RESTART, or no handler ran) or
//! makes it fail with EINTR.

use super::signals::SignalQueue;
use crate::errno::{Errno, Result};
use std::cell::RefCell;
use std::sync::Arc;

/// Internal: "interrupted, restart if the signal allows". Never seen by the guest.
pub const ERESTARTSYS: Errno = Errno(512);
/// Internal: "interrupted, always restart once the handler has run" (what
/// FUTEX_LOCK_PI does). Never seen by the guest.
pub const ERESTARTNOINTR: Errno = Errno(513);

thread_local! {
    static CURRENT: RefCell<Option<Arc<SignalQueue>>> = const { RefCell::new(None) };
}

/// Binds the calling host thread to a task's signal queue.
pub fn set_current(queue: Arc<SignalQueue>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(queue));
}

/// The signal queue of the task running on this thread, if any.
pub fn current_queue() -> Option<Arc<SignalQueue>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// ERESTARTSYS if the current task has a signal to act on.
pub fn check() -> Result<()> {
    let pending = CURRENT.with(|c| c.borrow().as_ref().is_some_and(|q| q.has_actionable()));
    if pending {
        Err(ERESTARTSYS)
    } else {
        Ok(())
    }
}
