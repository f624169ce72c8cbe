//! How a Sentry thread and its stub thread hand control to each other.
//!
//! A hand-off is a mailbox word (see [`super::stub`]): the poster stores 1
//! and makes a FUTEX_WAKE only when the reader said it sleeps (2), so a
//! reader that is still looking at the word costs the poster no syscall.
//! How the reader looks before it sleeps, and where the two threads run,
//! is decided here, per context:
//!
//! - together: both threads pinned to one CPU, and the reader sleeps on the
//!   futex at once. A hand-off is a futex wake and a context switch on that
//!   CPU (~4 us here); it never needs a cross-CPU wake-up, and it never
//!   holds a CPU another thread needs.
//! - apart: the stub thread on another CPU, and each reader spins on its
//!   mailbox (`pause`) for up to [`SPIN_BUDGET`] before sleeping. A
//!   hand-off is then a cache-line transfer with no syscall, as long as
//!   both CPUs are free for the pair; when they are not, the spinning
//!   holds a CPU the peer (or anyone else) needs, and a sleeping peer on
//!   another CPU costs a cross-CPU wake-up (up to ~65 us on these VMs).
//!
//! [`Mode::Adaptive`], the default with two CPUs or more, starts a context
//! together and moves it apart once it sees a run of guest syscalls in
//! quick succession (a syscall-bound guest), back together when the
//! spinning keeps failing (the guest computes between syscalls, or the
//! CPUs are busy). With one CPU the default is [`Mode::Yield`]: together,
//! each reader polling with sched_yield (which runs its peer at once) a
//! few times before sleeping. `RUNSC_SYSTRAP_HANDOFF=spin|yield|sleep`
//! fixes the policy instead (for benchmarks): always apart, together
//! polling with sched_yield, together sleeping.
//!
//! Measured on the 2-vCPU development VM while other builds ran (getpid
//! round trip under `runsc do`, docs/benchmarks.md): apart 3.3-11 us
//! (median 8), together 8.4-15 us (median 12.5), yield 8-22 us (8.1 against
//! sleeping's 8.4 us in six interleaved rounds at a lighter load: it wins
//! while no other process wants the CPU), the raw in-process trap 2.2-4.4 us; on a quiet machine apart is 2.8 us against
//! a 2.4 us trap. fork+exec+wait of `true`, which creates a stub per
//! process and is not syscall-bound, ran at 47-134/s always apart against
//! 98-159/s together. A profile of apart shows the Sentry thread's own work
//! per getpid (dispatch, signal checks, register copies) at ~5% of its
//! time; the rest is waiting for the stub, whose time goes to the kernel's
//! signal delivery and rt_sigreturn.

use super::slot::Slot;
use super::stub::{FLAG_YIELD, OFF_FLAGS, OFF_POLLS};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a reader polls its mailbox before it sleeps on the futex.
const SPIN_BUDGET: Duration = Duration::from_micros(20);
/// Polls of a stub thread that shares its CPU and calls sched_yield.
const YIELD_POLLS: u64 = 20;
/// A switch that came back within this time counts towards moving apart.
const QUICK_SWITCH: Duration = Duration::from_micros(50);
/// Quick switches in a row that move a context apart.
const QUICK_STREAK: u32 = 16;
/// Switches in a row whose event came only after the Sentry slept (its
/// spinning was wasted) that move a context back together.
const SLEPT_STREAK: u32 = 3;

/// The hand-off policy of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Together, apart when it pays (see the module comment).
    Adaptive,
    /// Always apart, spinning.
    Spin,
    /// Always together, polling with sched_yield before sleeping.
    Yield,
    /// Always together, sleeping at once.
    Sleep,
}

impl Mode {
    pub(crate) fn get() -> Mode {
        static MODE: OnceLock<Mode> = OnceLock::new();
        *MODE.get_or_init(|| {
            let two_cpus = crate::ptrace::allowed_cpus().len() >= 2;
            match std::env::var("RUNSC_SYSTRAP_HANDOFF").ok().as_deref() {
                Some("spin") if two_cpus => Mode::Spin,
                Some("yield") => Mode::Yield,
                Some("sleep") => Mode::Sleep,
                _ if two_cpus => Mode::Adaptive,
                _ => Mode::Yield,
            }
        })
    }
}

/// Nanoseconds one `pause` takes on this CPU (from ~10 cycles on older
/// cores to ~140 on newer ones), at least 1: the fastest of a few timed
/// rounds, so that a preemption in one round does not count.
fn pause_ns() -> u64 {
    static NS: OnceLock<u64> = OnceLock::new();
    *NS.get_or_init(|| {
        const PAUSES: u64 = 2_000;
        let round = || {
            let start = std::time::Instant::now();
            for _ in 0..PAUSES {
                std::hint::spin_loop();
            }
            start.elapsed().as_nanos() as u64 / PAUSES
        };
        (0..5).map(|_| round()).min().unwrap_or(1).max(1)
    })
}

/// Where one context's two threads run and how they wait for each other.
#[derive(Debug)]
pub(crate) struct Handoff {
    mode: Mode,
    /// The pair's CPU when together (None: nothing pinned).
    home: Option<usize>,
    apart: bool,
    quick_streak: u32,
    slept_streak: u32,
}

impl Handoff {
    /// Pins the calling Sentry thread and stub thread `stub_tid` for the
    /// policy and sets up the stub's side in `slot`.
    pub(crate) fn start(stub_tid: i32, slot: Slot) -> Handoff {
        let mode = Mode::get();
        let mut handoff = Handoff {
            mode,
            home: crate::ptrace::pin_pair(stub_tid),
            apart: false,
            quick_streak: 0,
            slept_streak: 0,
        };
        if mode == Mode::Spin {
            handoff.move_apart(stub_tid);
        }
        handoff.configure_stub(slot);
        handoff
    }

    /// How long the Sentry thread polls its mailbox before sleeping.
    pub(crate) fn sentry_budget(&self) -> Duration {
        match self.mode {
            Mode::Yield => SPIN_BUDGET,
            _ if self.apart => SPIN_BUDGET,
            _ => Duration::ZERO,
        }
    }

    /// Whether the Sentry thread polls with sched_yield rather than pause.
    pub(crate) fn yields(&self) -> bool {
        self.mode == Mode::Yield
    }

    /// Learns from one switch: how long the guest took to come back and
    /// whether the Sentry had to sleep for it.
    pub(crate) fn after_switch(&mut self, took: Duration, slept: bool, stub_tid: i32, slot: Slot) {
        if self.mode != Mode::Adaptive {
            return;
        }
        if self.apart {
            self.slept_streak = if slept { self.slept_streak + 1 } else { 0 };
            if self.slept_streak >= SLEPT_STREAK {
                self.move_together(stub_tid);
                self.configure_stub(slot);
            }
        } else {
            self.quick_streak = if took < QUICK_SWITCH { self.quick_streak + 1 } else { 0 };
            if self.quick_streak >= QUICK_STREAK {
                self.move_apart(stub_tid);
                self.configure_stub(slot);
            }
        }
    }

    fn move_apart(&mut self, stub_tid: i32) {
        let allowed = crate::ptrace::allowed_cpus();
        let Some(home) = self.home else { return };
        let Some(i) = allowed.iter().position(|&c| c == home) else {
            return;
        };
        crate::ptrace::pin_thread(stub_tid, allowed[(i + 1) % allowed.len()]);
        self.apart = true;
        self.quick_streak = 0;
    }

    fn move_together(&mut self, stub_tid: i32) {
        if let Some(home) = self.home {
            crate::ptrace::pin_thread(stub_tid, home);
        }
        self.apart = false;
        self.slept_streak = 0;
    }

    /// How the stub thread waits (its polls and whether it yields), in its
    /// slot, where it reads them before every wait.
    fn configure_stub(&self, slot: Slot) {
        let polls = match self.mode {
            Mode::Yield => YIELD_POLLS,
            _ if self.apart => (SPIN_BUDGET.as_nanos() as u64 / pause_ns()).max(1),
            _ => 0,
        };
        let flags = slot.get(OFF_FLAGS) & !FLAG_YIELD;
        let yield_flag = if self.mode == Mode::Yield { FLAG_YIELD } else { 0 };
        slot.set(OFF_FLAGS, flags | yield_flag);
        slot.set(OFF_POLLS, polls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_moves_apart_on_quick_switches_and_back_when_spinning_fails() {
        let Some(&home) = crate::ptrace::allowed_cpus().first() else {
            return;
        };
        if crate::ptrace::allowed_cpus().len() < 2 {
            return;
        }
        let mut memory = vec![0u64; 64];
        let slot = Slot {
            base: memory.as_mut_ptr().cast(),
        };
        // No such thread: pinning it fails harmlessly.
        let tid = -1;
        let mut handoff = Handoff {
            mode: Mode::Adaptive,
            home: Some(home),
            apart: false,
            quick_streak: 0,
            slept_streak: 0,
        };
        let quick = Duration::from_micros(5);
        for _ in 0..QUICK_STREAK - 1 {
            handoff.after_switch(quick, true, tid, slot);
        }
        handoff.after_switch(Duration::from_millis(1), true, tid, slot);
        assert!(!handoff.apart, "a slow switch breaks the streak");
        for _ in 0..QUICK_STREAK {
            handoff.after_switch(quick, true, tid, slot);
        }
        assert!(handoff.apart);
        assert_eq!(handoff.sentry_budget(), SPIN_BUDGET);
        assert!(slot.get(OFF_POLLS) > 0, "the stub spins too");
        handoff.after_switch(quick, false, tid, slot);
        for _ in 0..SLEPT_STREAK {
            handoff.after_switch(quick, true, tid, slot);
        }
        assert!(!handoff.apart);
        assert_eq!(handoff.sentry_budget(), Duration::ZERO);
        assert_eq!(slot.get(OFF_POLLS), 0);
    }
}
