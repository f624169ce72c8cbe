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

/// Writes `bytes` at `offset` of the memfd.
fn write_at(fd: RawFd, offset: i64, bytes: &[u8]) {
    // SAFETY: writing a byte buffer to an fd we own.
    let n = unsafe { libc::pwrite(fd, bytes.as_ptr().cast(), bytes.len(), offset) };
    assert_eq!(n, bytes.len() as isize);
}

fn zeroed_regs() -> Regs {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

const BASE: u64 = 0x40_0000;
const SEGV_MAPERR: i32 = 1;
const SEGV_ACCERR: i32 = 2;

/// A context with `code` mapped executable at BASE.
fn context_with_code(code: &[u8]) -> SystrapContext {
    let fd = memfd(1 << 20);
    write_at(fd, 0, code);
    let mut ctx = SystrapContext::spawn(fd).expect("spawn");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    ctx
}

fn regs_at(rip: u64) -> Regs {
    let mut regs = zeroed_regs();
    regs.rip = rip;
    regs
}

#[test]
fn syscall_is_intercepted_and_emulated() {
    // mov eax, 39 (getpid); syscall; mov rdi, rax; mov eax, 60; syscall
    let mut ctx = context_with_code(&[
        0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
    ]);
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 39);
    assert_eq!(regs.rip, BASE + 7, "rip points past the syscall");
    regs.rax = 4242;
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 60);
    assert_eq!(regs.rdi, 4242, "guest saw the emulated getpid result");
}

#[test]
fn fault_on_unmapped_memory_is_reported() {
    // mov rax, [0x1000]
    let mut ctx = context_with_code(&[0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00]);
    let mut regs = regs_at(BASE);
    match ctx.switch(&mut regs).expect("switch") {
        Event::Fault { signo, code, addr } => {
            assert_eq!(signo, libc::SIGSEGV);
            assert_eq!(code, SEGV_MAPERR);
            assert_eq!(addr, 0x1000);
            assert_eq!(regs.rip, BASE, "rip at the faulting instruction");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn mapping_and_protection_changes_reach_the_guest() {
    let fd = memfd(1 << 20);
    // mov rax, [BASE + 0x1000]; mov rdi, rax; mov eax, 39; syscall
    write_at(
        fd,
        0,
        &[
            0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x40, 0x00, 0x48, 0x89, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
        ],
    );
    write_at(fd, 0x1000, &0x1122_3344_5566_7788u64.to_le_bytes());
    let mut ctx = SystrapContext::spawn(fd).expect("spawn");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    ctx.map(BASE + 0x1000, 4096, libc::PROT_NONE, 0x1000).expect("map data");
    let mut regs = regs_at(BASE);
    assert!(matches!(
        ctx.switch(&mut regs).expect("switch"),
        Event::Fault {
            signo: libc::SIGSEGV,
            code: SEGV_ACCERR,
            ..
        }
    ));
    ctx.protect(BASE + 0x1000, 4096, libc::PROT_READ).expect("protect");
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.rdi, 0x1122_3344_5566_7788);
    ctx.unmap(BASE + 0x1000, 4096).expect("unmap");
    let mut regs = regs_at(BASE);
    assert!(matches!(
        ctx.switch(&mut regs).expect("switch"),
        Event::Fault {
            signo: libc::SIGSEGV,
            code: SEGV_MAPERR,
            ..
        }
    ));
}

#[test]
fn thread_runs_in_the_same_address_space_on_another_host_thread() {
    // mov eax, 39; syscall (getpid), twice.
    let mut main = context_with_code(&[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
    let seed = main.spawn_thread().expect("spawn thread");
    let handle = std::thread::spawn(move || {
        let mut ctx = SystrapContext::adopt(seed).expect("adopt");
        let mut regs = regs_at(BASE);
        let event = ctx.switch(&mut regs).expect("switch");
        (event, regs.orig_rax)
    });
    assert_eq!(handle.join().expect("thread"), (Event::Syscall, 39));
    // The main thread still runs guest code after its sibling exited, and
    // a new thread can take the freed slot.
    let mut regs = regs_at(BASE);
    assert_eq!(main.switch(&mut regs).expect("switch"), Event::Syscall);
    let seed = main.spawn_thread().expect("spawn another thread");
    let handle = std::thread::spawn(move || {
        let mut ctx = SystrapContext::adopt(seed).expect("adopt");
        let mut regs = regs_at(BASE + 7);
        ctx.switch(&mut regs).expect("switch")
    });
    assert_eq!(handle.join().expect("thread"), Event::Syscall);
}

#[test]
fn interrupt_stops_a_spinning_guest() {
    // jmp $
    let mut ctx = context_with_code(&[0xeb, 0xfe]);
    let kicker = ctx.interrupter();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        kicker.interrupt();
    });
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Interrupted);
    assert_eq!(regs.rip, BASE);
    handle.join().expect("kicker");
}

#[test]
fn fp_state_round_trips() {
    // movq rdi, xmm0; mov eax, 39; syscall
    let mut ctx = context_with_code(&[0x66, 0x48, 0x0f, 0x7e, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
    let mut fp = [0u8; 512];
    ctx.get_fp_state(&mut fp).expect("get fp");
    assert_eq!(u16::from_le_bytes([fp[0], fp[1]]), 0x37f, "initial FCW");
    fp[160..168].copy_from_slice(&0xdead_beef_cafe_f00du64.to_le_bytes());
    ctx.set_fp_state(&fp).expect("set fp");
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.rdi, 0xdead_beef_cafe_f00d);
    let mut back = [0u8; 512];
    ctx.get_fp_state(&mut back).expect("get fp");
    assert_eq!(back[160..168], fp[160..168]);
}

#[test]
fn fs_base_is_the_guests() {
    let fd = memfd(1 << 20);
    // mov rax, fs:[0]; mov rdi, rax; mov eax, 39; syscall
    write_at(
        fd,
        0,
        &[
            0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x89, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
        ],
    );
    write_at(fd, 0x1008, &77u64.to_le_bytes());
    let mut ctx = SystrapContext::spawn(fd).expect("spawn");
    ctx.map(BASE, 0x2000, libc::PROT_READ | libc::PROT_EXEC, 0)
        .expect("map");
    let mut regs = regs_at(BASE);
    regs.fs_base = BASE + 0x1008;
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.rdi, 77);
    assert_eq!(regs.fs_base, BASE + 0x1008);
}

#[test]
fn guest_jumping_into_the_stub_cannot_make_host_syscalls() {
    let mut ctx = context_with_code(&[0xeb, 0xfe]);
    // The syscall instruction of the restorer (after `mov eax, 15`), with
    // getpid in rax: not one of the stub's syscalls.
    let mut regs = regs_at(ctx.stub.area.code + stub::restorer_offset() as u64 + 5);
    regs.rax = libc::SYS_getpid as u64;
    match ctx.switch(&mut regs) {
        Err(Error::StubDied { .. }) => {}
        other => panic!("expected the stub to be killed, got {other:?}"),
    }
}

/// The platform's share of a guest syscall: `cargo test -p platform
/// --release -- --ignored --nocapture round_trip`.
#[test]
#[ignore]
fn round_trip_cost() {
    // mov eax, 39; syscall; jmp back
    let mut ctx = context_with_code(&[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7]);
    let mut regs = regs_at(BASE);
    let calls = 200_000;
    let start = std::time::Instant::now();
    for _ in 0..calls {
        assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    println!("systrap round trip: {ns:.0} ns");
    let fd = memfd(1 << 20);
    write_at(fd, 0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7]);
    let platform = crate::ptrace::PtracePlatform::new().expect("ptrace");
    let mut ctx = platform.new_context(fd).expect("spawn");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    let mut regs = regs_at(BASE);
    let start = std::time::Instant::now();
    for _ in 0..calls {
        assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    println!("ptrace round trip: {ns:.0} ns");
}

#[test]
fn thread_outlives_the_host_thread_that_made_the_address_space() {
    // mov eax, 39; syscall (getpid), twice.
    let code = [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xb8, 39, 0, 0, 0, 0x0f, 0x05];
    let seed = std::thread::spawn(move || {
        let mut main = context_with_code(&code);
        main.spawn_thread().expect("spawn thread")
        // `main` is dropped and its host thread ends here.
    })
    .join()
    .expect("creator");
    let mut ctx = SystrapContext::adopt(seed).expect("adopt");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
}

#[test]
fn new_address_space_starts_with_clean_vector_registers() {
    // movq rdi, xmm0; mov eax, 39; syscall
    let mut ctx = context_with_code(&[0x66, 0x48, 0x0f, 0x7e, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
    let mut fp = [0u8; 512];
    ctx.get_fp_state(&mut fp).expect("get fp");
    assert_eq!(u32::from_le_bytes([fp[24], fp[25], fp[26], fp[27]]), 0x1f80, "MXCSR");
    assert!(fp[160..416].iter().all(|&b| b == 0), "xmm registers are zero");
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.rdi, 0);
}

#[test]
fn guest_that_hijacks_the_stub_to_ignore_interrupts_is_killed() {
    let fd = memfd(1 << 20);
    let mut ctx = SystrapContext::spawn(fd).expect("spawn");
    let fake_slot = 0x41_0000;
    ctx.map(fake_slot, 0x2000, libc::PROT_READ | libc::PROT_WRITE, 0)
        .expect("map");
    write_at(fd, 0x1000, &(1u64 << (INTERRUPT_SIGNAL - 1)).to_le_bytes());
    // rt_sigprocmask(SIG_SETMASK, {INTERRUPT_SIGNAL}) through the stub's
    // command syscall, which then parks on a mailbox in guest memory.
    let mut regs = regs_at(ctx.stub.area.code + stub::cmd_syscall_offset() as u64);
    regs.rax = libc::SYS_rt_sigprocmask as u64;
    regs.rdi = libc::SIG_SETMASK as u64;
    regs.rsi = fake_slot + 0x1000;
    regs.rdx = 0;
    regs.r10 = 8;
    regs.r12 = fake_slot;
    regs.rsp = fake_slot + 0x800;
    let kicker = ctx.interrupter();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        kicker.interrupt();
    });
    let start = std::time::Instant::now();
    match ctx.switch(&mut regs) {
        Err(Error::StubDied { .. }) => {}
        other => panic!("expected the stub to be killed, got {other:?}"),
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    handle.join().expect("kicker");
}

/// Runs the stub's command syscall instruction with guest registers.
fn stub_syscall_from_guest(ctx: &mut SystrapContext, nr: i64, args: [u64; 6]) -> Result<Event> {
    let mut regs = regs_at(ctx.stub.area.code + stub::cmd_syscall_offset() as u64);
    regs.rax = nr as u64;
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
    ctx.switch(&mut regs)
}

#[test]
fn stub_syscalls_are_checked_against_their_arguments() {
    // mmap of fd 0 rather than the memory file.
    let mut ctx = context_with_code(&[0xeb, 0xfe]);
    let mmap_other_fd = [0x10_0000, 4096, libc::PROT_READ as u64, libc::MAP_SHARED as u64, 0, 0];
    assert!(matches!(
        stub_syscall_from_guest(&mut ctx, libc::SYS_mmap, mmap_other_fd),
        Err(Error::StubDied { .. })
    ));
    // A clone with other flags than the stub's thread clone.
    let mut ctx = context_with_code(&[0xeb, 0xfe]);
    let fork_flags = [libc::SIGCHLD as u64, 0, 0, 0, 0, 0];
    assert!(matches!(
        stub_syscall_from_guest(&mut ctx, libc::SYS_clone, fork_flags),
        Err(Error::StubDied { .. })
    ));
}

#[test]
fn legacy_int80_syscalls_kill_the_stub() {
    // mov eax, 20 (getpid in the i386 table); int 0x80
    let mut ctx = context_with_code(&[0xb8, 20, 0, 0, 0, 0xcd, 0x80]);
    let mut regs = regs_at(BASE);
    assert!(matches!(ctx.switch(&mut regs), Err(Error::StubDied { .. })));
}

/// A stub factory process of this test binary's own (tests of other
/// modules keep forking stubs from a thread).
fn test_factory() -> &'static Factory {
    static FACTORY: std::sync::OnceLock<Factory> = std::sync::OnceLock::new();
    FACTORY.get_or_init(|| {
        // The factory dies with the thread that forked it
        // (PR_SET_PDEATHSIG), so a thread that outlives every test forks it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let area = stub_area().expect("stub area");
            let _ = tx.send(Factory::start(area, &process::stub_filter(area).fprog).expect("factory"));
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("factory thread")
    })
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn stubs_from_the_factory_process_run_guests_and_are_reaped() {
    let fd = memfd(1 << 20);
    // mov eax, 39 (getpid); syscall; mov rdi, rax; mov eax, 60; syscall
    write_at(
        fd,
        0,
        &[
            0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
        ],
    );
    let mut ctx = SystrapContext::spawn_from(fd, Some(test_factory())).expect("spawn");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    let pid = ctx.stub.pid;
    let parent = parent_of(pid).expect("stub stat");
    assert_ne!(
        parent,
        std::process::id() as i32,
        "the factory, not the test, forked the stub"
    );
    assert_eq!(
        parent_of(parent),
        Some(std::process::id() as i32),
        "the factory is our child"
    );

    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 39);
    regs.rax = 4242;
    // A second thread in the same stub process.
    let seed = ctx.spawn_thread().expect("spawn thread");
    let thread = std::thread::spawn(move || SystrapContext::adopt(seed).map(drop));
    thread.join().expect("join").expect("adopt");
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 60);
    assert_eq!(regs.rdi, 4242);
    drop(ctx);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while parent_of(pid) == Some(parent) {
        assert!(std::time::Instant::now() < deadline, "the factory reaps the stub");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: closing the memfd made above.
    unsafe { libc::close(fd) };
}

fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(|v| v.trim().to_string()))
}

/// The factory runs under its own allow-list, its stubs under that and
/// their own filter; guest syscalls the factory's list allows (sched_yield,
/// clone of a child) still trap to the Sentry rather than run.
#[test]
fn factory_is_confined_and_its_filter_does_not_let_guest_syscalls_through() {
    let fd = memfd(1 << 20);
    // mov eax, 24 (sched_yield); syscall; mov eax, 56 (clone); mov edi, 0x11 (SIGCHLD); syscall
    write_at(
        fd,
        0,
        &[
            0xb8, 24, 0, 0, 0, 0x0f, 0x05, 0xb8, 56, 0, 0, 0, 0xbf, 0x11, 0, 0, 0, 0x0f, 0x05,
        ],
    );
    let mut ctx = SystrapContext::spawn_from(fd, Some(test_factory())).expect("spawn");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    let factory = parent_of(ctx.stub.pid).expect("stub stat");
    assert_eq!(
        status_field(factory, "Seccomp").as_deref(),
        Some("2"),
        "factory in filter mode"
    );
    let factory_filters: u32 = status_field(factory, "Seccomp_filters")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stub_filters: u32 = status_field(ctx.stub.pid, "Seccomp_filters")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        factory_filters >= 1 && stub_filters == factory_filters + 1,
        "{factory_filters} {stub_filters}"
    );
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 24);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 56);
    assert!(parent_of(ctx.stub.pid).is_some(), "the stub is alive");
    drop(ctx);
    // SAFETY: closing the memfd made above.
    unsafe { libc::close(fd) };
}

/// The factory's program itself, in a forked child: listed syscalls run,
/// anything else traps, which with no handler kills by SIGSYS.
#[test]
fn a_syscall_outside_the_factory_table_kills_the_factory() {
    let program = factory_seccomp::program();
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let run = |nr: i64, args: [u64; 2]| {
        // SAFETY: a raw fork; the child makes only raw syscalls and exits.
        let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) } as i32;
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: raw syscalls in the child; it ends in exit_group.
            unsafe {
                libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog) != 0 {
                    libc::syscall(libc::SYS_exit_group, 2);
                }
                libc::syscall(nr, args[0], args[1], 0, 0, 0, 0);
                libc::syscall(libc::SYS_exit_group, 0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        status
    };
    // kill(2) of a pid that cannot exist (ESRCH): SIGKILL is listed.
    let no_such_pid = i32::MAX as u64;
    let listed = [
        (libc::SYS_sched_yield, [0, 0]),
        (libc::SYS_kill, [no_such_pid, libc::SIGKILL as u64]),
    ];
    for (nr, args) in listed {
        let status = run(nr, args);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "syscall {nr}: {status:#x}"
        );
    }
    let refused = [
        (libc::SYS_socket, [0, 0]),
        (libc::SYS_getpid, [0, 0]),
        (libc::SYS_openat, [0, 0]),
        (libc::SYS_execve, [0, 0]),
        (libc::SYS_kill, [no_such_pid, libc::SIGTERM as u64]),
    ];
    for (nr, args) in refused {
        let status = run(nr, args);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
            "syscall {nr}: {status:#x}"
        );
    }
}

/// The probe agrees with what the other tests here need: this kernel runs
/// stubs, so it must report systrap as supported.
#[test]
fn probe_reports_systrap_supported_where_stubs_run() {
    assert!(SystrapContext::spawn(memfd(1 << 20)).is_ok());
    assert!(supported());
    assert_eq!(crate::default_kind(), crate::PlatformKind::Systrap);
}

/// What a new address space costs the platform (a stub process, ready to
/// run): `cargo test -p platform --release -- --ignored --nocapture spawn_cost`.
#[test]
#[ignore]
fn spawn_cost() {
    let fd = memfd(1 << 20);
    let rounds = 200;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        drop(SystrapContext::spawn_from(fd, Some(test_factory())).expect("spawn"));
    }
    println!("systrap spawn (factory): {:?}", start.elapsed() / rounds);
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        drop(SystrapContext::spawn_from(fd, None).expect("spawn"));
    }
    println!("systrap spawn (thread of this process): {:?}", start.elapsed() / rounds);
    let platform = crate::ptrace::PtracePlatform::new().expect("ptrace");
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        drop(platform.new_context(fd).expect("spawn"));
    }
    println!("ptrace spawn: {:?}", start.elapsed() / rounds);
}

/// A spare stub is made in the background after the first request, runs
/// guest code like any other, and is not handed out for another memory file.
#[test]
fn spare_stub_is_made_ahead_and_runs_guest_code() {
    let fd = memfd(1 << 20);
    // mov eax, 39 (getpid); syscall
    write_at(fd, 0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
    let _ = spare::take(fd, test_factory());
    let start = std::time::Instant::now();
    while !spare::ready_for(fd) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no spare stub was made"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stub = spare::take(fd, test_factory()).expect("the spare");
    let mut ctx = SystrapContext::from_stub(stub).expect("context from the spare");
    ctx.map(BASE, 4096, libc::PROT_READ | libc::PROT_EXEC, 0).expect("map");
    let mut regs = regs_at(BASE);
    assert_eq!(ctx.switch(&mut regs).expect("switch"), Event::Syscall);
    assert_eq!(regs.orig_rax, 39);
    // The refill for `fd` is under way or done; it is not given to another file.
    let other = memfd(1 << 20);
    assert!(spare::take(other, test_factory()).is_none());
}
