//! Test-only hooks of the sandbox process, for tests of how a broken
//! Sentry ends. With `RUNSC_TESTONLY_HOOKS=1` in `runsc boot`'s environment
//! (inherited from `create` or `run`), two more control requests exist:
//!
//! - `testonly-panic`: the control thread panics, as a Sentry bug would;
//! - `testonly-seccomp-violation`: it makes a syscall outside the Sentry's
//!   seccomp table (socket(2)), which the kernel answers by killing it.
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

/// Runs the hook named by the control request `name`; false when `name`
/// is not a hook or hooks are disabled.
pub fn run(name: &str) -> bool {
    if !ENABLED.load(Ordering::Relaxed) {
        return false;
    }
    match name {
        "testonly-panic" => panic!("test-only panic requested on the control socket"),
        "testonly-seccomp-violation" => {
            seccomp_violation();
            true
        }
        _ => false,
    }
}

/// socket(2), which the Sentry's table does not allow: the kernel kills the
/// whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS) and logs it.
#[allow(unsafe_code)]
fn seccomp_violation() {
    tracing::warn!("test-only: making a syscall outside the seccomp table (socket)");
    // SAFETY: a raw syscall with integer arguments; it never returns here
    // once the filter is installed.
    let rc = unsafe { libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0) };
    tracing::error!("socket(2) outside the seccomp table returned {rc}: the filter is missing");
}
