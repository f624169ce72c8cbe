//! How a Sentry thread and its stub thread hand control to each other.
//!
//! A hand-off is a mailbox word (see [`super::stub`]): the poster stores 1
//! and makes a FUTEX_WAKE only when the reader said it sleeps (2), so a
//! reader that is still looking at the word costs the poster no syscall.
//! How the reader looks before it sleeps is the policy here:
//!
//! - [`Mode::Spin`]: the two threads run on different CPUs and each spins
//!   on its mailbox (`pause`) for a bounded time before sleeping. A
//!   hand-off is then a cache-line transfer, with no syscall and no
//!   wake-up, as long as both CPUs are free; a sleeping peer on another CPU
//!   costs a cross-CPU wake-up (up to ~65 us on virtual machines).
//! - [`Mode::Yield`]: the two threads share one CPU (`pin_pair`) and the
//!   reader calls sched_yield for a bounded time before sleeping, which
//!   runs its peer at once with no futex on either side.
//! - [`Mode::Sleep`]: one CPU, and the reader sleeps on the futex at once.
//!
//! The default is Spin when this process may use two CPUs or more, else
//! Yield; `RUNSC_SYSTRAP_HANDOFF=spin|yield|sleep` overrides it (for
//! benchmarks).
//!
//! Measured on the 2-vCPU development VM while other builds ran (getpid
//! round trip under `runsc do`, docs/benchmarks.md): Spin 5.8-9 us, Yield
//! 8-35 us, Sleep 9-15 us, the raw in-process trap 2.4-4.5 us. Sleep
//! pays two futex wake-ups and two context switches per guest syscall;
//! Yield saves the futex calls but gives the CPU to any other runnable
//! process too; Spin is the trap plus two cache-line transfers when both
//! CPUs are free, and degrades to Sleep (after the budget) when they are
//! not. A profile of Spin shows the Sentry thread's own work per getpid
//! (dispatch, signal checks, register copies) at ~5% of its time; the rest
//! is waiting for the stub, whose time goes to the kernel's signal
//! delivery and rt_sigreturn.

use std::sync::OnceLock;

/// How long a reader polls its mailbox before it sleeps on the futex.
const SPIN_BUDGET: std::time::Duration = std::time::Duration::from_micros(20);

/// Nanoseconds one `pause` takes on this CPU (from ~10 cycles on older
/// cores to ~140 on newer ones), at least 1.
/// The fastest of a few timed rounds, so that a preemption in one round
/// does not count.
fn pause_ns() -> u64 {
    const PAUSES: u64 = 2_000;
    let round = || {
        let start = std::time::Instant::now();
        for _ in 0..PAUSES {
            std::hint::spin_loop();
        }
        start.elapsed().as_nanos() as u64 / PAUSES
    };
    (0..5).map(|_| round()).min().unwrap_or(1).max(1)
}

/// How a reader waits for its mailbox before it sleeps on the futex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Spin,
    Yield,
    Sleep,
}

/// The hand-off policy of every context of this process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) mode: Mode,
    /// How long the Sentry thread looks at its mailbox before sleeping.
    pub(crate) sentry_budget: std::time::Duration,
    /// How many times the stub looks at its mailbox before sleeping
    /// (`pause` or sched_yield between looks).
    pub(crate) stub_polls: u64,
}

impl Policy {
    pub(crate) fn get() -> Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        *POLICY.get_or_init(Policy::detect)
    }

    fn detect() -> Policy {
        let forced = std::env::var("RUNSC_SYSTRAP_HANDOFF").ok();
        let mode = match forced.as_deref() {
            Some("spin") => Mode::Spin,
            Some("yield") => Mode::Yield,
            Some("sleep") => Mode::Sleep,
            _ if crate::ptrace::allowed_cpus().len() >= 2 => Mode::Spin,
            _ => Mode::Yield,
        };
        Policy::of(mode)
    }

    pub(crate) fn of(mode: Mode) -> Policy {
        match mode {
            // SPIN_BUDGET of pause loops on either side covers a syscall the
            // Sentry serves from memory; longer work pays one wake-up.
            Mode::Spin => Policy {
                mode,
                sentry_budget: SPIN_BUDGET,
                stub_polls: (SPIN_BUDGET.as_nanos() as u64 / pause_ns()).max(1),
            },
            // A sched_yield with a runnable peer is a context switch (~1-3
            // us); with none it returns at once.
            Mode::Yield => Policy {
                mode,
                sentry_budget: SPIN_BUDGET,
                stub_polls: 20,
            },
            Mode::Sleep => Policy {
                mode,
                sentry_budget: std::time::Duration::ZERO,
                stub_polls: 0,
            },
        }
    }
}

/// Places the calling Sentry thread and its stub thread `stub_tid` for the
/// policy: on one CPU (Yield, Sleep; contexts spread round-robin), or on two
/// different CPUs (Spin: Sentry on one, stub on the next).
pub(crate) fn pin(stub_tid: i32) {
    match Policy::get().mode {
        Mode::Yield | Mode::Sleep => crate::ptrace::pin_pair(stub_tid),
        Mode::Spin => pin_apart(stub_tid),
    }
}

fn pin_apart(stub_tid: i32) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let allowed = crate::ptrace::allowed_cpus();
    if allowed.len() < 2 || std::env::var_os("RUNSC_SYSTRAP_NOPIN").is_some() {
        return;
    }
    let first = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::ptrace::pin_thread(0, allowed[first % allowed.len()]);
    crate::ptrace::pin_thread(stub_tid, allowed[(first + 1) % allowed.len()]);
}
