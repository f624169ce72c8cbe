//! Test-only hooks of the sandbox process, for tests of how a broken
//! Sentry ends. With `RUNSC_TESTONLY_HOOKS=1` in `runsc boot`'s environment
//! (inherited from `create` or `run`), two more control requests exist:
//!
//! - `testonly-panic`: the control thread panics, as a Sentry bug would;
//! - `testonly-seccomp-violation [WHAT]`: it makes a syscall the Sentry's
//!   seccomp table refuses, which the kernel answers by killing it. WHAT
//!   chooses the syscall: `socket` (the default: no table has it),
//!   `ptrace` (PTRACE_POKEDATA, a request no platform makes) or `futex`
//!   (FUTEX_LOCK_PI, an operation nothing in the Sentry uses).
//!
//! With `RUNSC_TESTONLY_HOOKS=panic-after-confine`, `runsc boot` and `runsc
//! do` panic as soon as they are confined (before the Sentry exists).
//!
//! Without the variable nothing changes. The hooks give nobody a power they
//! lack: whoever can reach the control socket can already kill the sandbox
//! with a `signal` request, and whoever sets runsc's environment runs it.

use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that enables the hooks.
const ENABLE: &str = "RUNSC_TESTONLY_HOOKS";

static ENABLED: AtomicBool = AtomicBool::new(false);
static PANIC_AFTER_CONFINE: AtomicBool = AtomicBool::new(false);

/// Reads [`ENABLE`] once, before the sandbox is confined.
pub fn read_env() {
    let value = std::env::var_os(ENABLE);
    let control = value.as_deref().is_some_and(|v| v == "1");
    let panic = value.as_deref().is_some_and(|v| v == "panic-after-confine");
    ENABLED.store(control, Ordering::Relaxed);
    PANIC_AFTER_CONFINE.store(panic, Ordering::Relaxed);
    if control || panic {
        tracing::warn!(?value, "test-only hooks are enabled");
    }
}

/// Called once the sandbox process is confined.
pub fn after_confinement() {
    if PANIC_AFTER_CONFINE.load(Ordering::Relaxed) {
        panic!("test-only panic after confinement");
    }
}

/// Runs the hook named by the control request `name` with its argument
/// `body`; false when `name` is not a hook or hooks are disabled.
pub fn run(name: &str, body: &str) -> bool {
    if !ENABLED.load(Ordering::Relaxed) {
        return false;
    }
    match name {
        "testonly-panic" => panic!("test-only panic requested on the control socket"),
        "testonly-seccomp-violation" => {
            seccomp_violation(body.trim());
            true
        }
        _ => false,
    }
}

/// A syscall the Sentry's table refuses, chosen by `what`: the kernel kills
/// the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS) and logs it.
#[allow(unsafe_code)]
fn seccomp_violation(what: &str) {
    tracing::warn!(what, "test-only: making a syscall the seccomp table refuses");
    let mut word: u32 = 0;
    let word_addr = &mut word as *mut u32 as libc::c_long;
    // SAFETY: raw syscalls that never return here once the filter is
    // installed. Without it: socket(2) makes an fd that leaks, ptrace(2)
    // of pid 0 fails with ESRCH, and FUTEX_LOCK_PI takes the unowned lock
    // word on our own stack, which outlives the call.
    let rc = unsafe {
        match what {
            "ptrace" => libc::syscall(libc::SYS_ptrace, libc::PTRACE_POKEDATA, 0, 0, 0),
            "futex" => libc::syscall(libc::SYS_futex, word_addr, libc::FUTEX_LOCK_PI, 0, 0, 0, 0),
            _ => libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0),
        }
    };
    tracing::error!(
        what,
        "a syscall outside the seccomp table returned {rc}: the filter is missing"
    );
}
