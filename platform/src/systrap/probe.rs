//! Whether this kernel can run the systrap platform: a forked child installs
//! a seccomp filter returning SECCOMP_RET_TRAP for one syscall and makes it;
//! the kernel must kill it with SIGSYS (the default action, no handler).
//! That also proves what a stub needs before its first trap: no_new_privs,
//! seccomp filters, and no filter of ours that outranks the trap (a stacked
//! SECCOMP_RET_KILL_* or a refused seccomp(2) makes the child exit
//! instead). The parent also needs pidfd_open (Linux 5.3) for its stubs,
//! and stubs need close_range (5.9) and memfd mappings.

/// Runs the probe; false on any failure.
pub fn supported() -> bool {
    // SAFETY: a raw fork (clone with only SIGCHLD); the child makes only
    // raw syscalls on its stack and exits.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid < 0 {
        return false;
    }
    if pid == 0 {
        child();
    }
    let pid = pid as i32;
    // SAFETY: pidfd_open on our own unreaped child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd >= 0 {
        // SAFETY: closing the fd just opened.
        unsafe { libc::close(pidfd as i32) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid out pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    waited == pid && pidfd >= 0 && libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS
}

/// The probe child: exits 1..4 on a failed step; killed by SIGSYS when the
/// trap works.
fn child() -> ! {
    const RET_TRAP: u32 = 0x0003_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let program = [
        libc::sock_filter {
            code: ld,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: jeq,
            jt: 0,
            jf: 1,
            k: libc::SYS_getppid as u32,
        },
        libc::sock_filter {
            code: ret,
            jt: 0,
            jf: 0,
            k: RET_TRAP,
        },
        libc::sock_filter {
            code: ret,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        },
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let default_action = [0u64; 4];
    let empty_mask = 0u64;
    // SAFETY: raw syscalls on the child's own state with pointers to live
    // stack values; every path ends in exit_group or the SIGSYS kill.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGSYS,
            default_action.as_ptr(),
            0usize,
            8usize,
        );
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &empty_mask, 0usize, 8usize);
        if libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            libc::syscall(libc::SYS_exit_group, 1);
        }
        if libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0 {
            libc::syscall(libc::SYS_exit_group, 2);
        }
        if libc::syscall(libc::SYS_close_range, 1000u32, 1001u32, 0u32) != 0 {
            libc::syscall(libc::SYS_exit_group, 3);
        }
        libc::syscall(libc::SYS_getppid);
        libc::syscall(libc::SYS_exit_group, 4);
    }
    unreachable!("exit_group returned")
}
