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
//!   SIG_SETMASK); any other syscall from there kills the stub process. The
//!   stub has no fd but the memory file, so these reach nothing outside the
//!   stub process and the memory file.
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

mod filter;
mod stub;

use crate::{Context, Error, Event, Interrupter, Platform, Regs, Result, ThreadSeed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use stub::*;

const PAGE_SIZE: usize = 4096;
/// Top of the x86-64 user address space with 4-level paging.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Stub threads per stub process.
const SLOTS: usize = 1024;
const CONTROL_SIZE: usize = SLOTS * SLOT_SIZE;
/// How long an interrupt may go unanswered before the stub is deemed
/// hijacked by its guest and killed.
const INTERRUPT_DEADLINE_NS: u64 = 3_000_000_000;
/// How long the Sentry sleeps on a mailbox before checking the stub is alive.
const LIVENESS_PERIOD_NS: i64 = 200_000_000;

const THREAD_CLONE_FLAGS: libc::c_int = libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_CHILD_SETTID
    | libc::CLONE_CHILD_CLEARTID;

/// Signals whose handler is the stub's.
const HANDLED_SIGNALS: [i32; 7] = [
    libc::SIGSYS,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    INTERRUPT_SIGNAL,
];

/// Where the stub page and the control region live in every stub process;
/// reserved once in the Sentry so that no Sentry mapping moves there.
struct StubArea {
    /// The stub page.
    code: u64,
    /// The control region, `SLOT_SIZE`-aligned, right above the stub page.
    control: u64,
}

fn stub_area() -> Result<&'static StubArea> {
    static AREA: OnceLock<std::result::Result<StubArea, String>> = OnceLock::new();
    AREA.get_or_init(|| map_stub_area().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|msg| Error::Host {
            op: "map systrap stub area",
            source: std::io::Error::other(msg.clone()),
        })
}

fn map_stub_area() -> Result<StubArea> {
    let code = stub::code();
    assert!(code.len() <= PAGE_SIZE, "the systrap stub must fit in one page");
    let reserve_len = PAGE_SIZE + CONTROL_SIZE + SLOT_SIZE;
    // SAFETY: a fresh inaccessible reservation; no existing memory is touched.
    let reserve = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            reserve_len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if reserve == libc::MAP_FAILED {
        return Err(Error::last("mmap systrap reservation"));
    }
    let control = (reserve as usize + PAGE_SIZE).next_multiple_of(SLOT_SIZE);
    let page = control - PAGE_SIZE;
    // SAFETY: `page` lies inside the reservation made above, which nothing
    // else uses.
    let ptr = unsafe {
        libc::mmap(
            page as *mut libc::c_void,
            PAGE_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(Error::last("mmap systrap stub page"));
    }
    // SAFETY: `ptr` is a new writable page and the code is shorter than it.
    unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), ptr.cast::<u8>(), code.len()) };
    // SAFETY: exactly the page mapped above.
    if unsafe { libc::mprotect(ptr, PAGE_SIZE, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        return Err(Error::last("mprotect systrap stub page"));
    }
    Ok(StubArea {
        code: page as u64,
        control: control as u64,
    })
}

/// Whether user code may use rdfsbase/wrfsbase (AT_HWCAP2 bit 1).
fn has_fsgsbase() -> bool {
    const HWCAP2_FSGSBASE: u64 = 1 << 1;
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(libc::AT_HWCAP2) & HWCAP2_FSGSBASE != 0 }
}

/// The MXCSR bits this CPU accepts (FXSAVE's MXCSR_MASK, 0xffbf when 0).
fn mxcsr_mask() -> u32 {
    static MASK: OnceLock<u32> = OnceLock::new();
    *MASK.get_or_init(|| {
        #[repr(C, align(16))]
        struct Area([u8; 512]);
        let mut area = Area([0; 512]);
        // SAFETY: fxsave64 writes exactly 512 bytes to a 16-byte aligned buffer.
        unsafe { std::arch::asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack)) };
        let mask = u32::from_le_bytes([area.0[28], area.0[29], area.0[30], area.0[31]]);
        if mask == 0 {
            0xffbf
        } else {
            mask
        }
    })
}

/// One thread's slot, seen through the Sentry's mapping of the control
/// region. Every read is of guest-writable memory.
#[derive(Clone, Copy)]
struct Slot {
    base: *mut u8,
}

impl Slot {
    fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: `off` is a 4-aligned offset inside the slot, which stays
        // mapped as long as the StubProcess that handed out this Slot.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }

    fn qword(&self, off: usize) -> &AtomicU64 {
        // SAFETY: as in `word`, with an 8-aligned offset.
        unsafe { &*(self.base.add(off) as *const AtomicU64) }
    }

    fn get(&self, off: usize) -> u64 {
        self.qword(off).load(Ordering::Relaxed)
    }

    fn set(&self, off: usize, value: u64) {
        self.qword(off).store(value, Ordering::Relaxed)
    }

    /// Resets the header of a slot for a new stub thread.
    fn init(&self, tid: u32, cur_fs: u64, cur_gs: u64) {
        self.word(OFF_TO_SENTRY).store(0, Ordering::Relaxed);
        self.word(OFF_TO_STUB).store(0, Ordering::Relaxed);
        self.word(OFF_TID).store(tid, Ordering::Relaxed);
        self.set(OFF_FLAGS, has_fsgsbase() as u64);
        self.set(OFF_CUR_FS, cur_fs);
        self.set(OFF_CUR_GS, cur_gs);
        std::sync::atomic::fence(Ordering::SeqCst);
    }
}

/// Publishes a message in a mailbox and wakes its reader if it sleeps.
fn post(word: &AtomicU32) {
    if word.swap(1, Ordering::SeqCst) == 2 {
        // SAFETY: FUTEX_WAKE on a word of a shared mapping.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1, 0, 0, 0) };
    }
}

/// One stub process: a guest address space.
struct StubProcess {
    pid: i32,
    pidfd: OwnedFd,
    /// The Sentry's mapping of the control region (CONTROL_SIZE bytes).
    control: *mut u8,
    area: &'static StubArea,
    memory_file: RawFd,
    /// Slots handed to a context (a slot is reused only once its thread's
    /// tid word is cleared too).
    slots_in_use: Mutex<Vec<bool>>,
}

// SAFETY: `control` points to a shared mapping that lives as long as the
// StubProcess; all access to it goes through atomics.
unsafe impl Send for StubProcess {}
// SAFETY: as above.
unsafe impl Sync for StubProcess {}

impl std::fmt::Debug for StubProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StubProcess").field("pid", &self.pid).finish()
    }
}

impl StubProcess {
    /// Forks a stub process whose first thread runs in slot 0.
    fn start(memory_file: RawFd) -> Result<Arc<StubProcess>> {
        let area = stub_area()?;
        let control_fd = create_control_file()?;
        let control = map_control(&control_fd)?;
        let first = Slot { base: control };
        first.init(0, u64::MAX, u64::MAX);
        let filter = filter::program(
            area.code,
            area.code + PAGE_SIZE as u64,
            memory_file,
            THREAD_CLONE_FLAGS as u32,
        );
        let fprog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        let request = ForkRequest {
            area,
            memory_file,
            control_fd: control_fd.as_raw_fd(),
            fprog: &fprog,
        };
        let forked = fork_stub(request).and_then(|pid| Ok((pid, open_pidfd(pid)?)));
        let (pid, pidfd) = match forked {
            Ok(ids) => ids,
            Err(e) => {
                // SAFETY: the mapping made above, unused by anyone else.
                unsafe { libc::munmap(control.cast(), CONTROL_SIZE) };
                return Err(e);
            }
        };
        first.word(OFF_TID).store(pid as u32, Ordering::SeqCst);
        let mut slots_in_use = vec![false; SLOTS];
        slots_in_use[0] = true;
        Ok(Arc::new(StubProcess {
            pid,
            pidfd,
            control,
            area,
            memory_file,
            slots_in_use: Mutex::new(slots_in_use),
        }))
    }

    fn slot(&self, index: usize) -> Slot {
        debug_assert!(index < SLOTS);
        // SAFETY: index < SLOTS, so the slot lies inside the control mapping.
        let base = unsafe { self.control.add(index * SLOT_SIZE) };
        Slot { base }
    }

    /// Address of a slot in the stub process.
    fn stub_addr(&self, index: usize) -> u64 {
        self.area.control + (index * SLOT_SIZE) as u64
    }

    fn alloc_slot(&self) -> Option<usize> {
        let mut used = self.slots_in_use.lock().unwrap_or_else(|e| e.into_inner());
        let index = (1..SLOTS).find(|&i| !used[i] && self.slot(i).word(OFF_TID).load(Ordering::SeqCst) == 0)?;
        used[index] = true;
        Some(index)
    }

    fn free_slot(&self, index: usize) {
        let mut used = self.slots_in_use.lock().unwrap_or_else(|e| e.into_inner());
        used[index] = false;
    }

    /// Whether the stub process has not exited.
    fn alive(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd with no timeout.
        unsafe { libc::poll(&mut pfd, 1, 0) == 0 }
    }

    fn thread_alive(&self, tid: i32) -> bool {
        // SAFETY: signal 0 only checks that the thread exists; the process
        // is not reaped while `self` lives, so its ids are not reused.
        self.alive() && unsafe { libc::syscall(libc::SYS_tgkill, self.pid, tid, 0) } == 0
    }
}

impl Drop for StubProcess {
    fn drop(&mut self) {
        // SAFETY: our own child, not yet reaped (only this drop reaps it);
        // the control mapping is not used after this.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, libc::__WALL);
            libc::munmap(self.control.cast(), CONTROL_SIZE);
        }
    }
}

/// What a [`ThreadSeed`] carries for systrap.
#[derive(Debug)]
pub(crate) struct Seed {
    stub: Arc<StubProcess>,
    slot: usize,
}

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
}

impl SystrapContext {
    fn spawn(memory_file: RawFd) -> Result<Self> {
        let stub = StubProcess::start(memory_file)?;
        let pid = stub.pid;
        let mut ctx = SystrapContext::new(stub, 0, pid);
        ctx.await_ready()?;
        ctx.init_fp_state()?;
        crate::ptrace::pin_pair(pid);
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
        SystrapContext {
            stub,
            slot,
            tid,
            kicker,
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
        crate::ptrace::pin_pair(seed.tid);
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

    /// Waits until the stub thread posts to the Sentry's mailbox.
    ///
    /// No spinning: each Sentry thread shares one CPU with its stub thread
    /// (`pin_pair`), where a spinning waiter only delays the peer it waits
    /// for. Spinning pays only when both run on different idle CPUs; on
    /// these 2-vCPU machines, loaded by parallel tests, measured round trips
    /// were 16-69 us with spinning against 8-11 us pinned and sleeping.
    fn wait_event(&self) -> Result<()> {
        let slot = self.slot();
        let word = slot.word(OFF_TO_SENTRY);
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

/// A base the kernel would refuse (arch_prctl(2): EPERM) faults wrfsbase in
/// the stub; the guest gets 0 instead.
fn canonical_or_zero(base: u64) -> u64 {
    if base < TASK_SIZE {
        base
    } else {
        0
    }
}

/// The Sentry's own mapping of a control file.
fn map_control(control_fd: &OwnedFd) -> Result<*mut u8> {
    // SAFETY: a new shared mapping of a control file sized CONTROL_SIZE.
    let control = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            CONTROL_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            control_fd.as_raw_fd(),
            0,
        )
    };
    if control == libc::MAP_FAILED {
        return Err(Error::last("mmap systrap control region"));
    }
    Ok(control.cast())
}

/// A pidfd for a just-forked stub; on failure the stub is killed and reaped.
fn open_pidfd(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open on our own unreaped child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let err = Error::last("pidfd_open stub");
        // SAFETY: killing and reaping the child we just made.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
        }
        return Err(err);
    }
    // SAFETY: pidfd_open returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn create_control_file() -> Result<OwnedFd> {
    // SAFETY: plain syscall creating a new memfd.
    let fd = unsafe { libc::memfd_create(c"runsc-systrap".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last("memfd_create systrap control"));
    }
    // SAFETY: memfd_create returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sizing our own memfd.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), CONTROL_SIZE as i64) } != 0 {
        return Err(Error::last("ftruncate systrap control"));
    }
    Ok(fd)
}

/// The FXSAVE image of a new process: FCW 0x37f, MXCSR 0x1f80, all else 0.
fn initial_fp_image() -> [u8; 512] {
    let mut image = [0u8; 512];
    reset_x87(&mut image);
    image[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    image
}

/// Guest x87 state in its initial configuration (XSAVE leaves it out).
fn reset_x87(fp: &mut [u8; 512]) {
    fp[0..24].fill(0);
    fp[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    fp[32..160].fill(0);
}

impl Context for SystrapContext {
    fn switch(&mut self, regs: &mut Regs) -> Result<Event> {
        self.store_regs(regs);
        self.command(CMD_RESUME)?;
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
        let args = [addr, len, prot as u64, flags, self.stub.memory_file as u64, file_offset];
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

/// asm/signal.h: the handler returns through `restorer`.
const SA_RESTORER: libc::c_int = 0x0400_0000;

/// What the stub factory needs to fork one stub process.
struct ForkRequest {
    area: &'static StubArea,
    memory_file: RawFd,
    control_fd: RawFd,
    /// Lives on the requester's stack until the factory replies.
    fprog: *const libc::sock_fprog,
}

// SAFETY: the factory reads `fprog` only while the requesting thread waits
// for its reply, so the pointee outlives every use.
unsafe impl Send for ForkRequest {}

/// Forks a stub process from one long-lived Sentry thread.
///
/// The stub's parent-death signal (PR_SET_PDEATHSIG) fires when the thread
/// that forked it exits, not the Sentry: a stub forked by a task's thread
/// would be killed when that task exits while other guest threads still run
/// in the address space (pthread_exit from main).
fn fork_stub(request: ForkRequest) -> Result<i32> {
    type Job = (ForkRequest, std::sync::mpsc::Sender<Result<i32>>);
    static FACTORY: OnceLock<Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    let factory = FACTORY.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        // If the thread cannot start, `rx` is dropped with it and every
        // request fails with "the stub factory thread is gone".
        let _ = std::thread::Builder::new().name("systrap-stubs".into()).spawn(move || {
            for (request, reply) in rx {
                let _ = reply.send(fork_one(&request));
            }
        });
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = std::sync::mpsc::channel();
    let sent = factory
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((request, reply_tx));
    let no_factory = || Error::Host {
        op: "fork systrap stub",
        source: std::io::Error::other("the stub factory thread is gone"),
    };
    sent.map_err(|_| no_factory())?;
    reply_rx.recv().map_err(|_| no_factory())?
}

fn fork_one(request: &ForkRequest) -> Result<i32> {
    // SAFETY: a raw fork (clone with only SIGCHLD). The child runs
    // `child_main`, which makes only raw syscalls and never returns.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid < 0 {
        return Err(Error::last("clone systrap stub"));
    }
    if pid == 0 {
        // SAFETY: the requester keeps the program alive while it waits,
        // and the child has a copy of it anyway.
        let fprog = unsafe { &*request.fprog };
        child_main(request.area, request.memory_file, request.control_fd, fprog);
    }
    Ok(pid as i32)
}

#[repr(C)]
struct KernelSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

/// Runs in the freshly forked stub child. Only raw syscalls: the child is a
/// copy of a multi-threaded process and must not take locks.
fn child_main(area: &StubArea, memory_file: RawFd, control_fd: RawFd, fprog: &libc::sock_fprog) -> ! {
    let blocked = HANDLED_SIGNALS.iter().fold(0u64, |m, &s| m | 1 << (s - 1));
    let action = KernelSigaction {
        handler: area.code + stub::handler_offset() as u64,
        flags: (libc::SA_SIGINFO | libc::SA_ONSTACK | SA_RESTORER) as u64,
        restorer: area.code + stub::restorer_offset() as u64,
        mask: blocked,
    };
    // SAFETY: raw syscalls in the child; none touches shared state. The
    // final jump enters the stub code, which never returns.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::setsid();
        // Everything stays blocked until the stub thread has its signal stack.
        let all = u64::MAX;
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all, 0usize, 8usize);
        crate::ptrace::unregister_rseq();
        let control = libc::mmap(
            area.control as *mut libc::c_void,
            CONTROL_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            control_fd,
            0,
        );
        if control == libc::MAP_FAILED {
            libc::_exit(122);
        }
        for sig in HANDLED_SIGNALS {
            if libc::syscall(libc::SYS_rt_sigaction, sig, &action, 0usize, 8usize) != 0 {
                libc::_exit(123);
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            libc::_exit(124);
        }
        // Keep only the memory file.
        let fd = memory_file as libc::c_uint;
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, fd - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, u32::MAX, 0u32);
        let entry: extern "C" fn(*const libc::sock_fprog, u64, u64, u64) -> ! = std::mem::transmute(area.code as usize);
        entry(fprog, area.code, area.control + CONTROL_SIZE as u64, TASK_SIZE)
    }
}

#[cfg(test)]
mod tests;
