//! Stub processes: the address-space reservation every stub shares, the
//! fork of a stub (by the stub factory process when one was started, see
//! [`super::factory`], else by a factory thread of the Sentry), and what the
//! child does before it jumps into the stub page.

use super::factory::Factory;
use super::filter;
use super::slot::Slot;
use super::stub::{self, INTERRUPT_SIGNAL, OFF_TID, SLOT_SIZE};
use crate::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

const PAGE_SIZE: usize = 4096;
/// Top of the x86-64 user address space with 4-level paging.
pub(super) const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Stub threads per stub process.
const SLOTS: usize = 1024;
const CONTROL_SIZE: usize = SLOTS * SLOT_SIZE;
/// The stub's only fd: the memory file, whatever its number in the Sentry.
pub(super) const STUB_MEMORY_FD: RawFd = 3;

pub(super) const THREAD_CLONE_FLAGS: libc::c_int = libc::CLONE_VM
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
pub(super) struct StubArea {
    /// The stub page.
    pub(super) code: u64,
    /// The control region, `SLOT_SIZE`-aligned, right above the stub page.
    pub(super) control: u64,
}

pub(super) fn stub_area() -> Result<&'static StubArea> {
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

/// The stub's seccomp program, the same for every stub.
pub(super) struct StubFilter {
    _program: Vec<libc::sock_filter>,
    pub(super) fprog: libc::sock_fprog,
}

// SAFETY: `fprog` points into `_program`, which is never modified or freed
// (the filter lives in a static), so sharing it between threads is sound.
unsafe impl Sync for StubFilter {}
// SAFETY: as above.
unsafe impl Send for StubFilter {}

pub(super) fn stub_filter(area: &StubArea) -> &'static StubFilter {
    static FILTER: OnceLock<StubFilter> = OnceLock::new();
    FILTER.get_or_init(|| {
        let program = filter::program(
            area.code,
            area.code + PAGE_SIZE as u64,
            STUB_MEMORY_FD,
            THREAD_CLONE_FLAGS as u32,
        );
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        StubFilter {
            _program: program,
            fprog,
        }
    })
}

static PREPARED_FACTORY: OnceLock<Factory> = OnceLock::new();

/// Starts the stub factory process that every later stub of this process
/// comes from (see [`super::prepare`]). Idempotent.
pub(super) fn prepare_factory() -> Result<()> {
    if PREPARED_FACTORY.get().is_some() {
        return Ok(());
    }
    let area = stub_area()?;
    let factory = Factory::start(area, &stub_filter(area).fprog)?;
    let _ = PREPARED_FACTORY.set(factory);
    Ok(())
}

/// The stub factory process, if one was started.
pub(super) fn prepared_factory() -> Option<&'static Factory> {
    PREPARED_FACTORY.get()
}

/// One stub process: a guest address space.
pub(super) struct StubProcess {
    pub(super) pid: i32,
    pub(super) pidfd: OwnedFd,
    /// The Sentry's mapping of the control region (CONTROL_SIZE bytes).
    pub(super) control: *mut u8,
    pub(super) area: &'static StubArea,
    pub(super) memory_file: RawFd,
    /// The factory process that forked it and reaps it (None: a child of
    /// this process).
    factory: Option<&'static Factory>,
    /// Slots handed to a context (a slot is reused only once its thread's
    /// tid word is cleared too).
    pub(super) slots_in_use: Mutex<Vec<bool>>,
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
    /// Forks a stub process whose first thread runs in slot 0, from
    /// `factory` if given, else from a thread of this process.
    pub(super) fn start(memory_file: RawFd, factory: Option<&'static Factory>) -> Result<Arc<StubProcess>> {
        let area = stub_area()?;
        let control_fd = create_control_file()?;
        let control = map_control(&control_fd)?;
        let first = Slot { base: control };
        first.init(0, u64::MAX, u64::MAX);
        let forked = match factory {
            Some(factory) => factory.fork_stub(memory_file, control_fd.as_raw_fd()),
            None => {
                let request = ForkRequest {
                    area,
                    memory_file,
                    control_fd: control_fd.as_raw_fd(),
                    fprog: &stub_filter(area).fprog,
                };
                fork_stub(request).and_then(|pid| Ok((pid, open_pidfd(pid)?)))
            }
        };
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
            factory,
            slots_in_use: Mutex::new(slots_in_use),
        }))
    }

    pub(super) fn slot(&self, index: usize) -> Slot {
        debug_assert!(index < SLOTS);
        // SAFETY: index < SLOTS, so the slot lies inside the control mapping.
        let base = unsafe { self.control.add(index * SLOT_SIZE) };
        Slot { base }
    }

    /// Address of a slot in the stub process.
    pub(super) fn stub_addr(&self, index: usize) -> u64 {
        self.area.control + (index * SLOT_SIZE) as u64
    }

    pub(super) fn alloc_slot(&self) -> Option<usize> {
        let mut used = self.slots_in_use.lock().unwrap_or_else(|e| e.into_inner());
        let index = (1..SLOTS).find(|&i| !used[i] && self.slot(i).word(OFF_TID).load(Ordering::SeqCst) == 0)?;
        used[index] = true;
        Some(index)
    }

    pub(super) fn free_slot(&self, index: usize) {
        let mut used = self.slots_in_use.lock().unwrap_or_else(|e| e.into_inner());
        used[index] = false;
    }

    /// Whether the stub process has not exited.
    pub(super) fn alive(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd with no timeout.
        unsafe { libc::poll(&mut pfd, 1, 0) == 0 }
    }

    pub(super) fn thread_alive(&self, tid: i32) -> bool {
        // SAFETY: signal 0 only checks that the thread exists; the process
        // is not reaped while `self` lives, so its ids are not reused.
        self.alive() && unsafe { libc::syscall(libc::SYS_tgkill, self.pid, tid, 0) } == 0
    }
}

impl Drop for StubProcess {
    fn drop(&mut self) {
        // SAFETY: our own or the factory's child, not yet reaped (only this
        // drop has it reaped); the control mapping is not used after this.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::munmap(self.control.cast(), CONTROL_SIZE);
        }
        match self.factory {
            Some(factory) => factory.reap(self.pid),
            None => {
                let mut status = 0;
                // SAFETY: our own child, killed above.
                unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            }
        }
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

/// asm/signal.h: the handler returns through `restorer`.
const SA_RESTORER: libc::c_int = 0x0400_0000;

/// What the stub factory needs to fork one stub process.
struct ForkRequest {
    area: &'static StubArea,
    memory_file: RawFd,
    control_fd: RawFd,
    fprog: &'static libc::sock_fprog,
}

// SAFETY: `fprog` is the static stub filter, never modified.
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
        child_main(request.area, request.memory_file, request.control_fd, request.fprog);
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
pub(super) fn child_main(area: &StubArea, memory_file: RawFd, control_fd: RawFd, fprog: &libc::sock_fprog) -> ! {
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
        // Keep only the memory file, as STUB_MEMORY_FD.
        if memory_file != STUB_MEMORY_FD && libc::dup2(memory_file, STUB_MEMORY_FD) != STUB_MEMORY_FD {
            libc::_exit(125);
        }
        let fd = STUB_MEMORY_FD as libc::c_uint;
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, fd - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, u32::MAX, 0u32);
        let entry: extern "C" fn(*const libc::sock_fprog, u64, u64, u64) -> ! = std::mem::transmute(area.code as usize);
        entry(fprog, area.code, area.control + CONTROL_SIZE as u64, TASK_SIZE)
    }
}
