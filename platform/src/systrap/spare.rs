//! One stub process started ahead of need.
//!
//! A new address space costs about a millisecond: a round trip to the stub
//! factory, its fork, the stub's own set-up and a wake-up of the Sentry
//! thread, each of which may cross CPUs. fork(2) and execve(2) in the guest
//! would wait for all of it. Instead a background thread keeps one started
//! stub in reserve: taking it costs a lock, and the thread starts the next
//! one while the guest goes on.
//!
//! A spare stub has done nothing but set itself up; it has run no guest
//! code and holds no mapping but its own code and control region, so any
//! new address space may start from it.

use super::process::StubProcess;
use super::Factory;
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// The reserve and what the refill thread should do next.
#[derive(Default)]
struct Reserve {
    /// A started stub and the memory file it maps.
    ready: Option<(RawFd, Arc<StubProcess>)>,
    /// The memory file and factory the next spare is for, when one is wanted.
    wanted: Option<(RawFd, &'static Factory)>,
}

struct Spares {
    reserve: Mutex<Reserve>,
    wake: Condvar,
}

static SPARES: OnceLock<Spares> = OnceLock::new();

fn spares() -> &'static Spares {
    SPARES.get_or_init(|| Spares {
        reserve: Mutex::new(Reserve::default()),
        wake: Condvar::new(),
    })
}

fn lock(spares: &Spares) -> std::sync::MutexGuard<'_, Reserve> {
    spares.reserve.lock().unwrap_or_else(|e| e.into_inner())
}

/// The spare stub for `memory_file`, if one is ready. Either way a new
/// spare is asked for. A spare made for another memory file is dropped
/// (killed).
pub(super) fn take(memory_file: RawFd, factory: &'static Factory) -> Option<Arc<StubProcess>> {
    let spares = spares();
    start_refill_thread();
    let mut reserve = lock(spares);
    let taken = match reserve.ready.take() {
        Some((fd, stub)) if fd == memory_file && stub.alive() => Some(stub),
        _ => None,
    };
    reserve.wanted = Some((memory_file, factory));
    spares.wake.notify_one();
    taken
}

/// Starts the thread that refills the reserve, once. Should it fail to
/// start, stubs are simply made on demand.
fn start_refill_thread() {
    static STARTED: OnceLock<bool> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("systrap-spare".into())
            .spawn(refill_loop)
            .is_ok()
    });
}

fn refill_loop() {
    let spares = spares();
    loop {
        let (memory_file, factory) = {
            let mut reserve = lock(spares);
            loop {
                if reserve.ready.is_none() {
                    if let Some(wanted) = reserve.wanted.take() {
                        break wanted;
                    }
                }
                reserve = spares.wake.wait(reserve).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A failure is not reported here: the next address space is then
        // made on demand, and that reports the error if it persists.
        if let Ok(stub) = StubProcess::start(memory_file, Some(factory)) {
            lock(spares).ready = Some((memory_file, stub));
        }
    }
}

/// Whether a spare for `memory_file` is ready (for tests).
#[cfg(test)]
pub(super) fn ready_for(memory_file: RawFd) -> bool {
    matches!(lock(spares()).ready, Some((fd, _)) if fd == memory_file)
}
