//! The systrap platform: guest code runs in stub processes under a seccomp
//! filter that turns every guest syscall into a SIGSYS; a small signal
//! handler in the stub (see [`stub`]) hands the registers to the Sentry
//! through shared memory and futexes, with no ptrace on any path.
//!
//! One stub process per guest address space, one stub thread per guest
//! thread, one slot of the shared control region per stub thread.
//!
//! Threat model. Guest code can read and write everything in its stub
//! process that is writable, including the control region, and can jump
//! into the stub page with registers of its choice. So:
//! - The Sentry treats every value it reads from the control region as
//!   guest-controlled (registers, signal numbers, syscall results); it never
//!   follows a pointer found there.
//! - From the stub page the filter allows only the syscalls the stub makes
//!   (rt_sigreturn, FUTEX_WAIT/WAKE, mmap of the memory file, munmap,
//!   mprotect, the one thread clone, exit, ARCH_SET_FS/GS, sigaltstack,
//!   SIG_SETMASK, sched_yield); any other syscall from there kills the stub process. The
//!   stub has no fd but the memory file, so these reach nothing outside the
//!   stub process and the memory file.
//! - Stubs come from a stub factory process ([`prepare`]) forked before the
//!   Sentry confines itself with its own seccomp filter, so they never
//!   inherit that filter (whose kill would win over their trap). They do
//!   inherit the factory's own allow-list ([`FACTORY_SECCOMP`]), which traps
//!   rather than kills what it does not list, so guest syscalls still trap.
//! - A guest that maps memory-file pages it was not given (mmap of the memory
//!   file from the stub page) can read memory of other guest processes of
//!   the same sandbox: systrap isolates the sandbox from the host, not guest
//!   processes of one sandbox from each other as strictly as ptrace.
//! - The Sentry keeps guest mappings below the stub page
//!   ([`Context::max_user_address`]), so the guest cannot map over the stub
//!   or the control region through the Sentry.
//! - A guest that blocks SIGSYS (by a forged rt_sigreturn from the stub page)
//!   is killed by the kernel at its next syscall. The handler clears the
//!   signal mask on every return to the guest; a guest that still blocks the
//!   interrupt signal (or moves the stub's signal stack) and so ignores an
//!   interrupt for [`INTERRUPT_DEADLINE_NS`] has its stub process killed:
//!   the Sentry is never left waiting on a guest it cannot stop.

mod factory;
mod factory_seccomp;
mod filter;
mod fpu;
mod handoff;
mod probe;
mod process;
mod slot;
mod spare;
mod stub;

use crate::{Context, Error, Event, Interrupter, Platform, Regs, Result, ThreadSeed};
use factory::Factory;
use fpu::{initial_fp_image, mxcsr_mask, reset_x87};
use handoff::Handoff;
use process::{prepared_factory, stub_area, StubProcess, STUB_MEMORY_FD, TASK_SIZE, THREAD_CLONE_FLAGS};
use slot::{post, Slot};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use stub::*;

/// How long an interrupt may go unanswered before the stub is deemed
/// hijacked by its guest and killed.
const INTERRUPT_DEADLINE_NS: u64 = 3_000_000_000;
/// How long the Sentry sleeps on a mailbox before checking the stub is alive.
const LIVENESS_PERIOD_NS: i64 = 200_000_000;

/// What a [`ThreadSeed`] carries for systrap.
#[derive(Debug)]
pub(crate) struct Seed {
    stub: Arc<StubProcess>,
    slot: usize,
}

/// Forks the stub factory process, from which every later stub of this
/// process comes (see `factory.rs`). Call it while the process may still
/// install seccomp filters, before it installs its own: stubs then never
/// inherit those. Without it stubs are forked from a thread of this process.
pub fn prepare() -> Result<()> {
    process::prepare_factory()
}

pub use factory_seccomp::{FactorySyscall, FACTORY_SECCOMP};
pub use probe::supported;

/// The systrap platform.
pub struct SystrapPlatform {
    _private: (),
}

impl SystrapPlatform {
    pub fn new() -> Result<Self> {
        stub_area()?;
        Ok(SystrapPlatform { _private: () })
    }
}

impl Platform for SystrapPlatform {
    fn new_context(&self, memory_file: RawFd) -> Result<Box<dyn Context>> {
        Ok(Box::new(SystrapContext::spawn(memory_file)?))
    }

    fn adopt_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>> {
        Ok(Box::new(SystrapContext::adopt(seed)?))
    }

    fn name(&self) -> &'static str {
        "systrap"
    }
}

/// Sends the interrupt signal to one stub thread.
struct StubKicker {
    tgid: i32,
    tid: i32,
    /// Cleared once the thread is gone: its ids may then be reused.
    alive: AtomicBool,
    /// When the oldest interrupt not yet answered by an event was sent
    /// (an `Instant` as nanoseconds since `epoch`; 0: none).
    kicked_at: AtomicU64,
    epoch: std::time::Instant,
}

impl StubKicker {
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Whether an interrupt has gone unanswered for longer than a working
    /// stub ever takes (its handler answers within microseconds).
    fn ignored(&self) -> bool {
        let at = self.kicked_at.load(Ordering::SeqCst);
        at != 0 && self.now().saturating_sub(at) > INTERRUPT_DEADLINE_NS
    }
}

impl Interrupter for StubKicker {
    fn interrupt(&self) {
        if self.alive.load(Ordering::SeqCst) {
            let _ = self
                .kicked_at
                .compare_exchange(0, self.now(), Ordering::SeqCst, Ordering::SeqCst);
            // SAFETY: plain syscall to our own live stub thread.
            unsafe { libc::syscall(libc::SYS_tgkill, self.tgid, self.tid, INTERRUPT_SIGNAL) };
        }
    }
}

/// One stub thread, driven by the host thread that owns the context.
pub struct SystrapContext {
    stub: Arc<StubProcess>,
    slot: usize,
    tid: i32,
    kicker: Arc<StubKicker>,
    handoff: Handoff,
    /// Whether the last wait for the stub ended asleep on the futex.
    slept: std::cell::Cell<bool>,
}

impl SystrapContext {
    /// A new address space: the spare stub if one is ready (see spare.rs).
    fn spawn(memory_file: RawFd) -> Result<Self> {
        let factory = prepared_factory();
        let stub = match factory.and_then(|f| spare::take(memory_file, f)) {
            Some(stub) => stub,
            None => StubProcess::start(memory_file, factory)?,
        };
        Self::from_stub(stub)
    }

    #[cfg(test)]
    fn spawn_from(memory_file: RawFd, factory: Option<&'static Factory>) -> Result<Self> {
        Self::from_stub(StubProcess::start(memory_file, factory)?)
    }

    fn from_stub(stub: Arc<StubProcess>) -> Result<Self> {
        let pid = stub.pid;
        let mut ctx = SystrapContext::new(stub, 0, pid);
        ctx.await_ready()?;
        ctx.init_fp_state()?;
        Ok(ctx)
    }

    fn new(stub: Arc<StubProcess>, slot: usize, tid: i32) -> Self {
        let kicker = Arc::new(StubKicker {
            tgid: stub.pid,
            tid,
            alive: AtomicBool::new(true),
            kicked_at: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
        });
        let handoff = Handoff::start(tid, stub.slot(slot));
        SystrapContext {
            stub,
            slot,
            tid,
            kicker,
            handoff,
            slept: std::cell::Cell::new(false),
        }
    }

    fn adopt(seed: ThreadSeed) -> Result<Self> {
        let Some(Seed { stub, slot }) = seed.systrap else {
            return Err(Error::Host {
                op: "adopt systrap thread",
                source: std::io::Error::other("the seed was not made by systrap"),
            });
        };
        let mut ctx = SystrapContext::new(stub, slot, seed.tid);
        ctx.await_ready()?;
        Ok(ctx)
    }

    fn slot(&self) -> Slot {
        self.stub.slot(self.slot)
    }

    /// Gives a new address space's first thread the FP state of a fresh
    /// process (execve(2)) rather than whatever registers the stub was
    /// forked with, which are the Sentry's.
    fn init_fp_state(&mut self) -> Result<()> {
        self.write_fp_image(&initial_fp_image());
        self.command(CMD_INIT_FP)
    }

    /// Puts an FXSAVE image (MXCSR sanitized) in the slot for SET/INIT_FP.
    fn write_fp_image(&self, buf: &[u8; 512]) {
        let mut image = *buf;
        let mxcsr = u32::from_le_bytes([image[24], image[25], image[26], image[27]]) & mxcsr_mask();
        image[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        let slot = self.slot();
        for (i, chunk) in image[..464].chunks_exact(8).enumerate() {
            let mut qword = [0u8; 8];
            qword.copy_from_slice(chunk);
            slot.set(OFF_FP + 8 * i, u64::from_le_bytes(qword));
        }
    }

    /// Waits for the trap a new stub thread raises once it is set up.
    fn await_ready(&mut self) -> Result<()> {
        self.wait_event()?;
        let signo = self.slot().get(OFF_SIGNO) as i32;
        if signo != libc::SIGTRAP {
            return Err(Error::UnexpectedStop {
                pid: self.tid,
                status: signo,
            });
        }
        Ok(())
    }

    fn died(&self) -> Error {
        self.kicker.alive.store(false, Ordering::SeqCst);
        Error::StubDied {
            pid: self.tid,
            status: 0,
        }
    }

    /// Waits until the stub thread posts to the Sentry's mailbox: polls it
    /// as the hand-off says (see `handoff.rs`), then sleeps on it, waking
    /// every [`LIVENESS_PERIOD_NS`] to check the stub is alive.
    fn wait_event(&self) -> Result<()> {
        let slot = self.slot();
        let word = slot.word(OFF_TO_SENTRY);
        self.slept.set(false);
        if poll_mailbox(word, self.handoff.sentry_budget(), self.handoff.yields()) {
            return Ok(());
        }
        self.slept.set(true);
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: LIVENESS_PERIOD_NS,
        };
        loop {
            match word.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) | Err(2) => {}
                // Full (or garbage written by the guest): take it.
                Err(_) => {
                    word.store(0, Ordering::SeqCst);
                    return Ok(());
                }
            }
            // SAFETY: FUTEX_WAIT on a word of our shared mapping with a
            // valid relative timeout.
            unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, 2, &timeout, 0, 0) };
            if word.load(Ordering::SeqCst) == 1 {
                word.store(0, Ordering::SeqCst);
                return Ok(());
            }
            if !self.stub.thread_alive(self.tid) {
                return Err(self.died());
            }
            if self.kicker.ignored() {
                // The guest blocked the interrupt signal (a forged
                // rt_sigreturn) or moved the stub's signal stack: it can no
                // longer be stopped, so its address space ends here.
                // SAFETY: our own unreaped child.
                unsafe { libc::kill(self.stub.pid, libc::SIGKILL) };
                return Err(self.died());
            }
        }
    }

    /// Hands a command to the stub thread and waits for its answer.
    fn command(&mut self, cmd: u64) -> Result<()> {
        let slot = self.slot();
        slot.set(OFF_CMD, cmd);
        post(slot.word(OFF_TO_STUB));
        self.wait_event()
    }

    /// Makes the stub thread execute one system call; returns the raw result.
    fn stub_syscall(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        let slot = self.slot();
        slot.set(OFF_NR, nr as u64);
        for (i, arg) in args.iter().enumerate() {
            slot.set(OFF_ARGS + 8 * i, *arg);
        }
        self.command(CMD_SYSCALL)?;
        Ok(self.slot().get(OFF_RET) as i64)
    }

    fn stub_syscall_checked(&mut self, name: &'static str, nr: i64, args: [u64; 6]) -> Result<i64> {
        let r = self.stub_syscall(nr, args)?;
        if (-4095..0).contains(&r) {
            return Err(Error::Injected {
                syscall: name,
                errno: -r as i32,
            });
        }
        Ok(r)
    }

    fn store_regs(&self, regs: &Regs) {
        let slot = self.slot();
        let eflags = if regs.eflags == 0 { 0x202 } else { regs.eflags };
        let gregs = [
            regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rdi, regs.rsi, regs.rbp,
            regs.rbx, regs.rdx, regs.rax, regs.rcx, regs.rsp, regs.rip, eflags,
        ];
        for (i, value) in gregs.iter().enumerate() {
            slot.set(OFF_GREGS + 8 * i, *value);
        }
        slot.set(OFF_FS_BASE, canonical_or_zero(regs.fs_base));
        slot.set(OFF_GS_BASE, canonical_or_zero(regs.gs_base));
    }

    fn load_regs(&self, regs: &mut Regs) {
        let slot = self.slot();
        let g = |i: usize| slot.get(OFF_GREGS + 8 * i);
        let segments = g(18);
        regs.r8 = g(0);
        regs.r9 = g(1);
        regs.r10 = g(2);
        regs.r11 = g(3);
        regs.r12 = g(4);
        regs.r13 = g(5);
        regs.r14 = g(6);
        regs.r15 = g(7);
        regs.rdi = g(8);
        regs.rsi = g(9);
        regs.rbp = g(10);
        regs.rbx = g(11);
        regs.rdx = g(12);
        regs.rax = g(13);
        regs.rcx = g(14);
        regs.rsp = g(15);
        regs.rip = g(16);
        regs.eflags = g(17);
        regs.cs = segments & 0xffff;
        regs.ss = (segments >> 48) & 0xffff;
        regs.ds = 0;
        regs.es = 0;
        regs.fs = 0;
        regs.gs = 0;
        regs.fs_base = slot.get(OFF_FS_BASE);
        regs.gs_base = slot.get(OFF_GS_BASE);
        regs.orig_rax = u64::MAX;
    }
}

/// Looks at a mailbox for `budget` (sched_yield between looks when
/// `yields`, else pause); true (and the mailbox emptied) when a message
/// came.
fn poll_mailbox(word: &std::sync::atomic::AtomicU32, budget: std::time::Duration, yields: bool) -> bool {
    if budget.is_zero() {
        return false;
    }
    let start = std::time::Instant::now();
    let mut polls = 0u32;
    loop {
        // 0 is empty; anything else (1, or garbage from the guest) is taken.
        if word.load(Ordering::Acquire) != 0 {
            word.store(0, Ordering::SeqCst);
            return true;
        }
        if yields {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        } else {
            std::hint::spin_loop();
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(32) && start.elapsed() >= budget {
            return false;
        }
    }
}

/// A base the kernel would refuse (arch_prctl(2): EPERM) faults wrfsbase in
/// the stub; the guest gets 0 instead.
fn canonical_or_zero(base: u64) -> u64 {
    if base < TASK_SIZE {
        base
    } else {
        0
    }
}

impl Context for SystrapContext {
    fn switch(&mut self, regs: &mut Regs) -> Result<Event> {
        self.store_regs(regs);
        let resumed = std::time::Instant::now();
        self.command(CMD_RESUME)?;
        let slot = self.slot();
        self.handoff
            .after_switch(resumed.elapsed(), self.slept.get(), self.tid, slot);
        // Any event answers the interrupts sent so far: the Sentry looks at
        // its pending work after every switch.
        self.kicker.kicked_at.store(0, Ordering::SeqCst);
        self.load_regs(regs);
        let slot = self.slot();
        let signo = slot.get(OFF_SIGNO) as i32;
        match signo {
            libc::SIGSYS => {
                // The kernel rolled rax back to the syscall number.
                regs.orig_rax = regs.rax;
                regs.rax = (-libc::ENOSYS as i64) as u64;
                Ok(Event::Syscall)
            }
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP => Ok(Event::Fault {
                signo,
                code: slot.get(OFF_CODE) as i32,
                addr: slot.get(OFF_ADDR),
            }),
            _ => Ok(Event::Interrupted),
        }
    }

    fn map(&mut self, addr: u64, len: u64, prot: i32, file_offset: u64) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let args = [addr, len, prot as u64, flags, STUB_MEMORY_FD as u64, file_offset];
        self.stub_syscall_checked("mmap", libc::SYS_mmap, args).map(drop)
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<()> {
        self.stub_syscall_checked("munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0])
            .map(drop)
    }

    fn protect(&mut self, addr: u64, len: u64, prot: i32) -> Result<()> {
        self.stub_syscall_checked("mprotect", libc::SYS_mprotect, [addr, len, prot as u64, 0, 0, 0])
            .map(drop)
    }

    fn get_fp_state(&mut self, buf: &mut [u8; 512]) -> Result<()> {
        self.command(CMD_GET_FP)?;
        let slot = self.slot();
        let qwords = slot.get(OFF_FP_LEN);
        if qwords == 0 {
            return Err(Error::Injected {
                syscall: "get fp state",
                errno: libc::EFAULT,
            });
        }
        for (i, chunk) in buf.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&slot.get(OFF_FP + 8 * i).to_le_bytes());
        }
        buf[464..].fill(0);
        if qwords >= 72 {
            // XSAVE leaves components in their initial state out of the image.
            let present = slot.get(OFF_FP + 512);
            if present & 1 == 0 {
                reset_x87(buf);
            }
            if present & 2 == 0 {
                buf[160..416].fill(0);
            }
        }
        Ok(())
    }

    fn set_fp_state(&mut self, buf: &[u8; 512]) -> Result<()> {
        self.write_fp_image(buf);
        self.command(CMD_SET_FP)
    }

    fn spawn_thread(&mut self) -> Result<ThreadSeed> {
        let Some(index) = self.stub.alloc_slot() else {
            return Err(Error::Injected {
                syscall: "clone",
                errno: libc::EAGAIN,
            });
        };
        let current = self.slot();
        let new = self.stub.slot(index);
        // The clone child starts with the current thread's FS/GS bases.
        new.init(u32::MAX, current.get(OFF_CUR_FS), current.get(OFF_CUR_GS));
        let stack = self.stub.stub_addr(index) + SLOT_SIZE as u64 - 64;
        let child_tid = self.stub.stub_addr(index) + OFF_TID as u64;
        let args = [THREAD_CLONE_FLAGS as u64, stack, 0, child_tid, 0, 0];
        let tid = match self.stub_syscall_checked("clone", libc::SYS_clone, args) {
            Ok(tid) => tid as i32,
            Err(e) => {
                new.word(OFF_TID).store(0, Ordering::SeqCst);
                self.stub.free_slot(index);
                return Err(e);
            }
        };
        Ok(ThreadSeed {
            tid,
            tgid: self.stub.pid,
            memory_file: self.stub.memory_file,
            shared: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            systrap: Some(Seed {
                stub: self.stub.clone(),
                slot: index,
            }),
        })
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.kicker.clone()
    }

    fn max_user_address(&self) -> u64 {
        self.stub.area.code
    }

    fn host_pid(&self) -> Option<i32> {
        Some(self.stub.pid)
    }
}

impl Drop for SystrapContext {
    fn drop(&mut self) {
        let alive = self.kicker.alive.swap(false, Ordering::SeqCst);
        if alive && Arc::strong_count(&self.stub) > 1 {
            // Other threads still run in this stub process: end only ours.
            // Its slot is reused once the kernel clears the tid word.
            let slot = self.slot();
            slot.set(OFF_NR, libc::SYS_exit as u64);
            slot.set(OFF_ARGS, 0);
            slot.set(OFF_CMD, CMD_SYSCALL);
            post(slot.word(OFF_TO_STUB));
        }
        if self.slot != 0 {
            self.stub.free_slot(self.slot);
        }
        // The last reference kills the stub process (StubProcess::drop).
    }
}

#[cfg(test)]
mod tests;
