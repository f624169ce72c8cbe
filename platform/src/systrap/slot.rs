//! The Sentry's view of one stub thread's slot of the control region, and
//! the mailbox protocol on it (see [`super::stub`]).

use super::stub::*;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Whether user code may use rdfsbase/wrfsbase (AT_HWCAP2 bit 1).
fn has_fsgsbase() -> bool {
    const HWCAP2_FSGSBASE: u64 = 1 << 1;
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(libc::AT_HWCAP2) & HWCAP2_FSGSBASE != 0 }
}

/// One thread's slot, seen through the Sentry's mapping of the control
/// region. Every read is of guest-writable memory.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    pub(super) base: *mut u8,
}

impl Slot {
    pub(super) fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: `off` is a 4-aligned offset inside the slot, which stays
        // mapped as long as the StubProcess that handed out this Slot.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }

    pub(super) fn qword(&self, off: usize) -> &AtomicU64 {
        // SAFETY: as in `word`, with an 8-aligned offset.
        unsafe { &*(self.base.add(off) as *const AtomicU64) }
    }

    pub(super) fn get(&self, off: usize) -> u64 {
        self.qword(off).load(Ordering::Relaxed)
    }

    pub(super) fn set(&self, off: usize, value: u64) {
        self.qword(off).store(value, Ordering::Relaxed)
    }

    /// Resets the header of a slot for a new stub thread.
    pub(super) fn init(&self, tid: u32, cur_fs: u64, cur_gs: u64) {
        self.word(OFF_TO_SENTRY).store(0, Ordering::Relaxed);
        self.word(OFF_TO_STUB).store(0, Ordering::Relaxed);
        self.word(OFF_TID).store(tid, Ordering::Relaxed);
        // The hand-off settings come with the thread's context (handoff.rs).
        let fsgsbase_flag = if has_fsgsbase() { FLAG_FSGSBASE } else { 0 };
        self.set(OFF_FLAGS, fsgsbase_flag);
        self.set(OFF_POLLS, 0);
        self.set(OFF_CUR_FS, cur_fs);
        self.set(OFF_CUR_GS, cur_gs);
        std::sync::atomic::fence(Ordering::SeqCst);
    }
}

/// Publishes a message in a mailbox and wakes its reader if it sleeps.
pub(super) fn post(word: &AtomicU32) {
    if word.swap(1, Ordering::SeqCst) == 2 {
        // SAFETY: FUTEX_WAKE on a word of a shared mapping.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1, 0, 0, 0) };
    }
}
