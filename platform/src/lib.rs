//! The platform runs guest code and hands control back to the Sentry on every
//! syscall and every fault the guest takes.
//!
//! One [`Context`] is one guest thread together with the address space it runs
//! in. Guest memory is always a window onto the Sentry's memory file: the
//! Sentry decides what lives where and asks the context to map ranges of the
//! memory file at guest addresses.

pub mod ptrace;
pub mod systrap;

use std::os::fd::RawFd;

/// The general-purpose registers of a guest thread (x86-64 layout).
pub type Regs = libc::user_regs_struct;

/// Why the guest stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The guest executed `syscall`. The number is in `orig_rax`, the
    /// arguments in rdi, rsi, rdx, r10, r8, r9; rip already points past the
    /// instruction. The Sentry writes the result into `rax`.
    Syscall,
    /// A synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) with the
    /// kernel's si_code and fault address.
    Fault { signo: i32, code: i32, addr: u64 },
    /// The context was kicked by [`Interrupter::interrupt`] or an external
    /// signal; nothing happened in the guest.
    Interrupted,
}

/// Errors of the platform itself (never of the guest).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} failed: {source}")]
    Host {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("stub process {pid} died unexpectedly (wait status {status:#x})")]
    StubDied { pid: i32, status: i32 },
    #[error("stub process {pid} stopped unexpectedly (wait status {status:#x})")]
    UnexpectedStop { pid: i32, status: i32 },
    #[error("injected {syscall} in the stub failed with errno {errno}")]
    Injected { syscall: &'static str, errno: i32 },
}

impl Error {
    pub(crate) fn last(op: &'static str) -> Self {
        Error::Host {
            op,
            source: std::io::Error::last_os_error(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Which platform implementation to use.
///
/// `Default` is ptrace, which needs nothing of the kernel beyond ptrace
/// itself; [`default_kind`] picks the platform a sandbox gets when none
/// is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlatformKind {
    #[default]
    Ptrace,
    /// Seccomp traps and a signal handler in the stub (see [`systrap`]).
    Systrap,
}

impl std::str::FromStr for PlatformKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ptrace" => Ok(PlatformKind::Ptrace),
            "systrap" => Ok(PlatformKind::Systrap),
            other => Err(format!(
                "unknown platform {other:?} (supported: ptrace, systrap; kvm is not built yet)"
            )),
        }
    }
}

/// Wakes a context that is running guest code, from any thread.
pub trait Interrupter: Send + Sync {
    fn interrupt(&self);
}

/// One guest thread and its address space.
///
/// A context must be used only from the host thread that created it (the
/// ptrace platform binds a tracee to its tracer thread).
pub trait Context {
    /// Loads `regs`, runs the guest until the next event, and stores the
    /// guest's registers back into `regs`.
    fn switch(&mut self, regs: &mut Regs) -> Result<Event>;

    /// Maps `len` bytes of the memory file at `file_offset` to guest address
    /// `addr` (shared, fixed), with `prot` (PROT_* bits).
    fn map(&mut self, addr: u64, len: u64, prot: i32, file_offset: u64) -> Result<()>;

    /// Removes guest mappings in `[addr, addr+len)`.
    fn unmap(&mut self, addr: u64, len: u64) -> Result<()>;

    /// Changes the protection of `[addr, addr+len)`.
    fn protect(&mut self, addr: u64, len: u64, prot: i32) -> Result<()>;

    /// Reads the guest's x87/SSE state (the 512-byte FXSAVE image).
    fn get_fp_state(&mut self, buf: &mut [u8; 512]) -> Result<()>;

    /// Replaces the guest's x87/SSE state with an FXSAVE image.
    fn set_fp_state(&mut self, buf: &[u8; 512]) -> Result<()>;

    /// Creates a new guest thread in this context's address space (clone
    /// with CLONE_THREAD). The returned seed is adopted with
    /// [`Platform::adopt_thread`] on the host thread that will run it.
    fn spawn_thread(&mut self) -> Result<ThreadSeed>;

    /// A handle other threads use to kick this context out of the guest.
    fn interrupter(&self) -> std::sync::Arc<dyn Interrupter>;

    /// The highest guest address (exclusive) the Sentry may hand to the guest.
    fn max_user_address(&self) -> u64;

    /// The host pid of the process the guest code runs in (a stub), whose
    /// CPU-time clock counts the guest's own CPU time.
    fn host_pid(&self) -> Option<i32> {
        None
    }
}

/// Creates contexts. One per sandbox.
pub trait Platform: Send + Sync {
    /// A new guest thread in a new, empty address space, bound to the
    /// calling host thread. `memory_file` is the fd guest memory is mapped
    /// from.
    fn new_context(&self, memory_file: RawFd) -> Result<Box<dyn Context>>;

    /// Takes over a thread made by [`Context::spawn_thread`]; must be
    /// called on the host thread that will run it.
    fn adopt_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>>;

    fn name(&self) -> &'static str;
}

/// A guest thread created but not yet bound to the host thread that will
/// run it.
#[derive(Debug)]
pub struct ThreadSeed {
    pub(crate) tid: i32,
    pub(crate) tgid: i32,
    pub(crate) memory_file: RawFd,
    pub(crate) shared: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The stub process and slot of a systrap thread (None for ptrace).
    pub(crate) systrap: Option<systrap::Seed>,
}

/// The platform to use when none is asked for: systrap when this kernel
/// supports it ([`systrap::supported`], a probe in a forked child), else
/// ptrace.
pub fn default_kind() -> PlatformKind {
    if systrap::supported() {
        PlatformKind::Systrap
    } else {
        PlatformKind::Ptrace
    }
}

/// Builds the platform of the given kind.
pub fn new(kind: PlatformKind) -> Result<Box<dyn Platform>> {
    match kind {
        PlatformKind::Ptrace => Ok(Box::new(ptrace::PtracePlatform::new()?)),
        PlatformKind::Systrap => Ok(Box::new(systrap::SystrapPlatform::new()?)),
    }
}
