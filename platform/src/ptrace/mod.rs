//! The ptrace platform: each guest thread runs in a stub process traced by
//! the Sentry thread that runs the task, with PTRACE_SYSEMU so every guest
//! syscall stops before the host kernel executes it.

mod stub;

use crate::{Context, Error, Event, Interrupter, Platform, Regs, Result, ThreadSeed};
use std::os::fd::RawFd;
use std::sync::{Arc, OnceLock};

const PAGE_SIZE: usize = 4096;
/// Top of the x86-64 user address space with 4-level paging.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The page every stub runs from, mapped once per Sentry process.
struct StubPage {
    addr: u64,
    len: u64,
    syscall_addr: u64,
}

fn stub_page() -> Result<&'static StubPage> {
    static PAGE: OnceLock<std::result::Result<StubPage, String>> = OnceLock::new();
    PAGE.get_or_init(|| map_stub_page().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|msg| Error::Host {
            op: "map stub page",
            source: std::io::Error::other(msg.clone()),
        })
}

fn map_stub_page() -> Result<StubPage> {
    let code = stub::code();
    let len = code.len().div_ceil(PAGE_SIZE) * PAGE_SIZE;
    // SAFETY: a fresh anonymous mapping; no existing memory is touched.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(Error::last("mmap stub page"));
    }
    // SAFETY: `ptr` is a new writable mapping of `len >= code.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), ptr.cast::<u8>(), code.len()) };
    // SAFETY: `ptr`/`len` is exactly the mapping created above.
    if unsafe { libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        return Err(Error::last("mprotect stub page"));
    }
    let addr = ptr as u64;
    Ok(StubPage {
        addr,
        len: len as u64,
        syscall_addr: addr + stub::syscall_offset() as u64,
    })
}

/// Every ptrace stop is a hand-off between the stub thread and its tracer.
/// Across cores that costs a cross-CPU wake-up (tens of microseconds on
/// virtual machines); on one core it is a plain context switch. So each
/// tracer and its stub thread share a core, and successive contexts are
/// spread over the CPUs this process may use.
/// Returns the CPU chosen (None: one CPU only, nothing pinned).
pub(crate) fn pin_pair(stub_tid: i32) -> Option<usize> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let allowed = allowed_cpus();
    if allowed.len() < 2 {
        return None;
    }
    let cpu = allowed[NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % allowed.len()];
    for tid in [0, stub_tid] {
        pin_thread(tid, cpu);
    }
    Some(cpu)
}

/// Restricts thread `tid` (0: the calling thread) to one CPU; failure only
/// costs speed.
pub(crate) fn pin_thread(tid: i32, cpu: usize) {
    // SAFETY: cpu_set_t is plain data.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return;
    }
    // SAFETY: cpu < CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: setting the affinity of this thread or of one of our stub
    // threads with a valid set.
    unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// The CPUs this process may run on (at its start).
pub(crate) fn allowed_cpus() -> &'static [usize] {
    static ALLOWED: OnceLock<Vec<usize>> = OnceLock::new();
    ALLOWED.get_or_init(|| {
        // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid out pointer of the right size.
        if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
            return Vec::new();
        }
        // SAFETY: CPU_ISSET only reads the set.
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect()
    })
}

/// The ptrace platform.
pub struct PtracePlatform {
    _private: (),
}

impl PtracePlatform {
    pub fn new() -> Result<Self> {
        stub_page()?;
        Ok(PtracePlatform { _private: () })
    }
}

impl Platform for PtracePlatform {
    fn new_context(&self, memory_file: RawFd) -> Result<Box<dyn Context>> {
        Ok(Box::new(PtraceContext::spawn(memory_file)?))
    }

    fn adopt_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>> {
        Ok(Box::new(PtraceContext::adopt(seed)?))
    }

    fn name(&self) -> &'static str {
        "ptrace"
    }
}

/// Sends SIGSTOP to one stub thread so that a running guest returns to the
/// Sentry (the tracer suppresses it, so it never stops the thread group).
struct StubKicker {
    tgid: i32,
    tid: i32,
    /// Cleared once the stub is known dead or released: its ids may then
    /// belong to an unrelated host process and must never be signalled.
    alive: std::sync::atomic::AtomicBool,
}

impl StubKicker {
    fn new(tgid: i32, tid: i32) -> Arc<StubKicker> {
        Arc::new(StubKicker {
            tgid,
            tid,
            alive: std::sync::atomic::AtomicBool::new(true),
        })
    }

    fn retire(&self) {
        self.alive.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Interrupter for StubKicker {
    fn interrupt(&self) {
        if !self.alive.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // SAFETY: plain syscall to our own live stub thread.
        unsafe { libc::syscall(libc::SYS_tgkill, self.tgid, self.tid, libc::SIGSTOP) };
    }
}

const TRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACECLONE;
/// The flags of the clone(2) a stub makes for a guest thread (the Sentry's
/// seccomp filter allows exactly these).
pub const THREAD_CLONE_FLAGS: libc::c_int = libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM;

/// One stub thread traced by the calling thread.
pub struct PtraceContext {
    /// The traced stub thread.
    pid: i32,
    /// Its thread group (the stub process).
    tgid: i32,
    /// Contexts alive in this stub process; the last one kills it.
    shared: Arc<std::sync::atomic::AtomicUsize>,
    memory_file: RawFd,
    stub: &'static StubPage,
    /// Registers captured when the stub first stopped: valid segment
    /// selectors and flags for this kernel.
    template: Regs,
    kicker: Arc<StubKicker>,
}

/// What a stopped stub reported.
enum Stop {
    Syscall,
    Signal(i32),
    /// A PTRACE_EVENT_* stop.
    Event(i32),
}

impl PtraceContext {
    fn spawn(memory_file: RawFd) -> Result<Self> {
        let stub = stub_page()?;
        // SAFETY: a raw fork (clone with only SIGCHLD). The child runs
        // `child_main`, which makes only raw syscalls and never returns.
        let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
        if pid < 0 {
            return Err(Error::last("clone stub"));
        }
        if pid == 0 {
            child_main(stub, memory_file);
        }
        let pid = pid as i32;
        let mut ctx = PtraceContext {
            pid,
            tgid: pid,
            shared: Arc::new(std::sync::atomic::AtomicUsize::new(1)),
            memory_file,
            stub,
            template: zeroed_regs(),
            kicker: StubKicker::new(pid, pid),
        };
        match ctx.wait()? {
            Stop::Signal(libc::SIGSTOP) => {}
            Stop::Signal(sig) | Stop::Event(sig) => {
                return Err(Error::UnexpectedStop { pid, status: sig });
            }
            Stop::Syscall => return Err(Error::UnexpectedStop { pid, status: 0 }),
        }
        // SAFETY: pid is our stopped tracee.
        if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, TRACE_OPTIONS as libc::c_ulong) } != 0 {
            return Err(Error::last("PTRACE_SETOPTIONS"));
        }
        ctx.template = ctx.get_regs()?;
        let _ = pin_pair(pid);
        Ok(ctx)
    }

    /// Seizes a parked stub thread made by spawn_thread on another host
    /// thread and stops it, so that this thread becomes its tracer.
    fn adopt(seed: ThreadSeed) -> Result<Self> {
        let stub = stub_page()?;
        let tid = seed.tid;
        // SAFETY: seizing a thread of our own stub process; no signal is sent.
        if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, TRACE_OPTIONS as libc::c_ulong) } != 0 {
            return Err(Error::last("PTRACE_SEIZE"));
        }
        // SAFETY: tid is now our tracee.
        if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) } != 0 {
            return Err(Error::last("PTRACE_INTERRUPT"));
        }
        let mut ctx = PtraceContext {
            pid: tid,
            tgid: seed.tgid,
            shared: seed.shared,
            memory_file: seed.memory_file,
            stub,
            template: zeroed_regs(),
            kicker: StubKicker::new(seed.tgid, tid),
        };
        loop {
            match ctx.wait()? {
                Stop::Event(_) => break,
                // A stray signal that reached the parked thread: drop it.
                Stop::Signal(_) | Stop::Syscall => ctx.resume(libc::PTRACE_CONT)?,
            }
        }
        ctx.template = ctx.get_regs()?;
        ctx.template.orig_rax = u64::MAX;
        let _ = pin_pair(tid);
        Ok(ctx)
    }

    /// Makes the stub thread exit on its own (SYS_exit ends one thread).
    fn exit_thread(&mut self) {
        let mut regs = self.template;
        regs.rax = libc::SYS_exit as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = 0;
        regs.rip = self.stub.syscall_addr;
        if self.set_regs(&regs).is_err() || self.resume(libc::PTRACE_CONT).is_err() {
            return;
        }
        // Reap the thread's exit (wait fails once it is gone).
        while self.wait().is_ok() {
            if self.resume(libc::PTRACE_CONT).is_err() {
                return;
            }
        }
    }

    /// Waits for the next stop of the stub.
    fn wait(&self) -> Result<Stop> {
        loop {
            let mut status = 0;
            // SAFETY: plain syscall with a valid out pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if r < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Error::last("waitpid stub"));
            }
            if libc::WIFSTOPPED(status) {
                let sig = libc::WSTOPSIG(status);
                if sig == (libc::SIGTRAP | 0x80) {
                    return Ok(Stop::Syscall);
                }
                if status >> 16 != 0 {
                    return Ok(Stop::Event(status >> 16));
                }
                return Ok(Stop::Signal(sig));
            }
            // Reaped: from now on the pid may be reused by anyone.
            self.kicker.retire();
            return Err(Error::StubDied { pid: self.pid, status });
        }
    }

    fn get_regs(&self) -> Result<Regs> {
        let mut regs = zeroed_regs();
        // SAFETY: pid is a stopped tracee of this thread; regs is a valid out buffer.
        if unsafe { libc::ptrace(libc::PTRACE_GETREGS, self.pid, 0, &mut regs as *mut Regs) } != 0 {
            return Err(Error::last("PTRACE_GETREGS"));
        }
        Ok(regs)
    }

    fn set_regs(&self, regs: &Regs) -> Result<()> {
        // SAFETY: pid is a stopped tracee of this thread; regs is a valid buffer.
        if unsafe { libc::ptrace(libc::PTRACE_SETREGS, self.pid, 0, regs as *const Regs) } != 0 {
            return Err(Error::last("PTRACE_SETREGS"));
        }
        Ok(())
    }

    fn resume(&self, request: libc::c_uint) -> Result<()> {
        // SAFETY: pid is a stopped tracee; signal 0 suppresses any pending stop signal.
        if unsafe { libc::ptrace(request, self.pid, 0, 0) } != 0 {
            return Err(Error::last("ptrace resume"));
        }
        Ok(())
    }

    fn siginfo(&self) -> Result<libc::siginfo_t> {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid is stopped in signal-delivery-stop; info is a valid out buffer.
        if unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, self.pid, 0, &mut info as *mut _) } != 0 {
            return Err(Error::last("PTRACE_GETSIGINFO"));
        }
        Ok(info)
    }

    /// Makes the stub execute one real system call and returns its raw result.
    fn inject(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        let mut regs = self.template;
        regs.rax = nr as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = args[0];
        regs.rsi = args[1];
        regs.rdx = args[2];
        regs.r10 = args[3];
        regs.r8 = args[4];
        regs.r9 = args[5];
        regs.rip = self.stub.syscall_addr;
        self.set_regs(&regs)?;
        loop {
            self.resume(libc::PTRACE_CONT)?;
            match self.wait()? {
                Stop::Signal(libc::SIGTRAP) => break,
                Stop::Signal(sig @ (libc::SIGSEGV | libc::SIGBUS | libc::SIGILL)) => {
                    return Err(Error::UnexpectedStop {
                        pid: self.pid,
                        status: sig,
                    });
                }
                // A kick or stray signal: drop it and let the syscall finish.
                Stop::Signal(_) | Stop::Syscall | Stop::Event(_) => continue,
            }
        }
        Ok(self.get_regs()?.rax as i64)
    }

    /// The new thread was auto-attached to us (PTRACE_O_TRACECLONE) and
    /// starts stopped: point it at the park loop and let it go, so that its
    /// own host thread can seize it.
    fn park_new_thread(&self, tid: i32) -> Result<()> {
        let mut status = 0;
        // SAFETY: waiting for our new tracee's first stop; valid out pointer.
        while unsafe { libc::waitpid(tid, &mut status, libc::__WALL) } < 0 {
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(Error::last("waitpid new stub thread"));
            }
        }
        let mut regs = self.template;
        regs.rip = self.stub.addr + stub::park_offset() as u64;
        regs.orig_rax = u64::MAX;
        // SAFETY: tid is our stopped tracee; regs is a valid buffer.
        if unsafe { libc::ptrace(libc::PTRACE_SETREGS, tid, 0, &regs as *const Regs) } != 0 {
            return Err(Error::last("PTRACE_SETREGS new thread"));
        }
        // SAFETY: detaching our tracee with no signal; it runs the park loop.
        if unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0) } != 0 {
            return Err(Error::last("PTRACE_DETACH new thread"));
        }
        Ok(())
    }

    fn inject_checked(&mut self, name: &'static str, nr: i64, args: [u64; 6]) -> Result<()> {
        let r = self.inject(nr, args)?;
        if (-4095..0).contains(&r) {
            return Err(Error::Injected {
                syscall: name,
                errno: -r as i32,
            });
        }
        Ok(())
    }
}

impl Context for PtraceContext {
    fn switch(&mut self, regs: &mut Regs) -> Result<Event> {
        // The guest cannot choose its segments or privileged flags.
        regs.cs = self.template.cs;
        regs.ss = self.template.ss;
        regs.ds = self.template.ds;
        regs.es = self.template.es;
        regs.fs = self.template.fs;
        regs.gs = self.template.gs;
        if regs.eflags == 0 {
            regs.eflags = self.template.eflags;
        }
        self.set_regs(regs)?;
        self.resume(libc::PTRACE_SYSEMU)?;
        let stop = self.wait()?;
        *regs = self.get_regs()?;
        match stop {
            Stop::Syscall => Ok(Event::Syscall),
            Stop::Signal(signo @ (libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP)) => {
                let info = self.siginfo()?;
                // SAFETY: for these signals the kernel fills the si_addr union member.
                let addr = unsafe { info.si_addr() } as u64;
                Ok(Event::Fault {
                    signo,
                    code: info.si_code,
                    addr,
                })
            }
            Stop::Signal(_) | Stop::Event(_) => Ok(Event::Interrupted),
        }
    }

    fn spawn_thread(&mut self) -> Result<ThreadSeed> {
        let mut regs = self.template;
        regs.rax = libc::SYS_clone as u64;
        regs.orig_rax = u64::MAX;
        // clone(flags, stack = 0: the stub code never touches the stack).
        regs.rdi = THREAD_CLONE_FLAGS as u64;
        regs.rsi = 0;
        regs.rdx = 0;
        regs.r10 = 0;
        regs.r8 = 0;
        regs.rip = self.stub.syscall_addr;
        self.set_regs(&regs)?;
        self.resume(libc::PTRACE_CONT)?;
        let mut new_tid = None;
        loop {
            match self.wait()? {
                Stop::Event(libc::PTRACE_EVENT_CLONE) => {
                    let mut msg: libc::c_ulong = 0;
                    // SAFETY: we are stopped at a clone event; msg receives the new tid.
                    if unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, self.pid, 0, &mut msg) } != 0 {
                        return Err(Error::last("PTRACE_GETEVENTMSG"));
                    }
                    new_tid = Some(msg as i32);
                    self.resume(libc::PTRACE_CONT)?;
                }
                Stop::Signal(libc::SIGTRAP) => break,
                Stop::Signal(_) | Stop::Syscall | Stop::Event(_) => self.resume(libc::PTRACE_CONT)?,
            }
        }
        let result = self.get_regs()?.rax as i64;
        let tid = match new_tid {
            Some(tid) if result > 0 => tid,
            _ => {
                return Err(Error::Injected {
                    syscall: "clone",
                    errno: (-result) as i32,
                })
            }
        };
        self.park_new_thread(tid)?;
        self.shared.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(ThreadSeed {
            tid,
            tgid: self.tgid,
            memory_file: self.memory_file,
            shared: self.shared.clone(),
            systrap: None,
        })
    }

    fn map(&mut self, addr: u64, len: u64, prot: i32, file_offset: u64) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let args = [addr, len, prot as u64, flags, self.memory_file as u64, file_offset];
        self.inject_checked("mmap", libc::SYS_mmap, args)
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<()> {
        self.inject_checked("munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0])
    }

    fn protect(&mut self, addr: u64, len: u64, prot: i32) -> Result<()> {
        self.inject_checked("mprotect", libc::SYS_mprotect, [addr, len, prot as u64, 0, 0, 0])
    }

    fn get_fp_state(&mut self, buf: &mut [u8; 512]) -> Result<()> {
        // SAFETY: pid is a stopped tracee; PTRACE_GETFPREGS writes exactly
        // 512 bytes (user_fpregs_struct) into buf.
        if unsafe { libc::ptrace(libc::PTRACE_GETFPREGS, self.pid, 0, buf.as_mut_ptr()) } != 0 {
            return Err(Error::last("PTRACE_GETFPREGS"));
        }
        Ok(())
    }

    fn set_fp_state(&mut self, buf: &[u8; 512]) -> Result<()> {
        // SAFETY: pid is a stopped tracee; the kernel reads 512 bytes and
        // sanitizes MXCSR itself.
        if unsafe { libc::ptrace(libc::PTRACE_SETFPREGS, self.pid, 0, buf.as_ptr()) } != 0 {
            return Err(Error::last("PTRACE_SETFPREGS"));
        }
        Ok(())
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.kicker.clone()
    }

    fn max_user_address(&self) -> u64 {
        self.stub.addr
    }

    fn host_pid(&self) -> Option<i32> {
        Some(self.tgid)
    }
}

impl Drop for PtraceContext {
    fn drop(&mut self) {
        let dead = !self.kicker.alive.load(std::sync::atomic::Ordering::SeqCst);
        self.kicker.retire();
        let others = self.shared.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) - 1;
        if dead {
            // Already reaped: signalling its pid could hit another process.
            return;
        }
        if others > 0 {
            // Other guest threads still run in this stub process.
            self.exit_thread();
            return;
        }
        // SAFETY: the last context of the stub process kills it and reaps
        // the thread it traces, so no zombie is left.
        unsafe {
            libc::kill(self.tgid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, libc::__WALL);
        }
    }
}

fn zeroed_regs() -> Regs {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// Runs in the freshly forked stub child. Only raw syscalls: the child is a
/// copy of a multi-threaded process and must not take locks.
fn child_main(stub: &StubPage, memory_file: RawFd) -> ! {
    // SAFETY: raw syscalls in the child; none touches shared state. The final
    // jump enters the stub code, which never returns.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Leave the Sentry's session so terminal signals do not reach stubs,
        // and drop any signal mask inherited from the Sentry thread.
        libc::setsid();
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            libc::_exit(120);
        }
        unregister_rseq();
        // Keep only the memory file.
        let fd = memory_file as libc::c_uint;
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, fd - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, u32::MAX, 0u32);
        let entry: extern "C" fn(u64, u64, u64) -> ! = std::mem::transmute(stub.addr as usize);
        entry(stub.addr, stub.addr + stub.len, TASK_SIZE)
    }
}

extern "C" {
    /// Offset of this thread's rseq area from the thread pointer (glibc >= 2.35).
    static __rseq_offset: isize;
    /// Size of the rseq area glibc registered, 0 when it registered none.
    static __rseq_size: u32;
}

/// glibc registers an rseq area for every thread and fork keeps the
/// registration. Once the stub unmaps its inherited memory, the kernel would
/// fault (SIGSEGV, SI_KERNEL) updating the area on the next preemption, so
/// the child unregisters it first. The kernel insists on the registered
/// length, which glibc versions choose differently: try the known ones.
///
/// # Safety
/// Call only in a freshly forked, single-threaded child.
pub(crate) unsafe fn unregister_rseq() {
    const RSEQ_FLAG_UNREGISTER: i32 = 1;
    const RSEQ_SIG: u32 = 0x5305_3053;
    let fs_base: u64;
    // SAFETY: reading the thread pointer (fs:0 holds its own address on x86-64 glibc).
    unsafe { std::arch::asm!("mov {}, fs:0", out(reg) fs_base) };
    // SAFETY: plain reads of two glibc-exported constants.
    let (offset, size) = unsafe { (__rseq_offset, __rseq_size) };
    if size == 0 {
        return;
    }
    let area = fs_base.wrapping_add_signed(offset as i64);
    for len in [32u32, size, 64, 128, 256] {
        // SAFETY: rseq unregistration only affects this (child) thread.
        let r = unsafe { libc::syscall(libc::SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) };
        if r == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memfd(len: u64) -> RawFd {
        // SAFETY: plain syscalls creating and sizing a new memfd.
        unsafe {
            let fd = libc::memfd_create(c"test".as_ptr(), 0);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, len as i64), 0);
            fd
        }
    }

    /// Writes `code` at the start of the memfd.
    fn write_code(fd: RawFd, code: &[u8]) {
        // SAFETY: writing a byte buffer to an fd we own.
        let n = unsafe { libc::pwrite(fd, code.as_ptr().cast(), code.len(), 0) };
        assert_eq!(n, code.len() as isize);
    }

    #[test]
    fn syscall_is_intercepted_and_emulated() {
        let fd = memfd(1 << 20);
        // mov eax, 39 (getpid); syscall; mov rdi, rax; mov eax, 60; syscall
        let code = [
            0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
        ];
        write_code(fd, &code);
        let mut ctx = PtraceContext::spawn(fd).expect("spawn");
        let base = 0x40_0000;
        ctx.map(base, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
        let mut regs = zeroed_regs();
        regs.rip = base;
        assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
        assert_eq!(regs.orig_rax, 39);
        regs.rax = 4242;
        assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
        assert_eq!(regs.orig_rax, 60);
        assert_eq!(regs.rdi, 4242, "guest saw the emulated getpid result");
    }

    #[test]
    fn thread_runs_in_the_same_address_space_on_another_tracer() {
        let fd = memfd(1 << 20);
        // mov eax, 39; syscall (getpid), twice.
        write_code(fd, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        let mut main = PtraceContext::spawn(fd).expect("spawn");
        main.map(0x40_0000, 4096, libc::PROT_READ | libc::PROT_EXEC, 0)
            .expect("map");
        let seed = main.spawn_thread().expect("spawn thread");
        let handle = std::thread::spawn(move || {
            let mut ctx = PtraceContext::adopt(seed).expect("adopt");
            let mut regs = zeroed_regs();
            regs.rip = 0x40_0000;
            let event = ctx.switch(&mut regs).expect("switch");
            (event, regs.orig_rax)
        });
        assert_eq!(handle.join().expect("thread"), (Event::Syscall, 39));
        // The main thread still runs guest code after its sibling exited.
        let mut regs = zeroed_regs();
        regs.rip = 0x40_0000;
        assert_eq!(main.switch(&mut regs).expect("switch"), Event::Syscall);
    }

    #[test]
    fn fault_on_unmapped_memory_is_reported() {
        let fd = memfd(1 << 20);
        // mov rax, [0x1000]
        let code = [0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00];
        write_code(fd, &code);
        let mut ctx = PtraceContext::spawn(fd).expect("spawn");
        ctx.map(0x40_0000, 4096, libc::PROT_READ | libc::PROT_EXEC, 0)
            .expect("map");
        let mut regs = zeroed_regs();
        regs.rip = 0x40_0000;
        match ctx.switch(&mut regs).expect("switch") {
            Event::Fault { signo, addr, .. } => {
                assert_eq!(signo, libc::SIGSEGV);
                assert_eq!(addr, 0x1000);
            }
            other => panic!("expected a fault, got {other:?}"),
        }
    }
}
