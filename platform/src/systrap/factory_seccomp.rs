//! The stub factory's seccomp allow-list, as data (docs/security.md lists
//! it; a runsc test fails when that page is stale).
//!
//! The factory ([`super::factory`]) installs it on itself before it serves
//! its first request, and every stub it forks inherits it under the stub's
//! own filter ([`super::filter`]). So it covers three kinds of caller: the
//! factory's loop, a forked child until it jumps into the stub page, and the
//! stub page itself (whose syscalls the stub's filter already restricts).
//!
//! Anything else returns SECCOMP_RET_TRAP, not a kill: guest syscalls meet
//! this filter too, and a stacked filter's kill would win over the stub's
//! trap (seccomp(2): the action of highest precedence wins), killing every
//! guest at its first syscall. For the factory itself the trap is a kill as
//! well: its signals are blocked and it has no SIGSYS handler, so the
//! kernel's forced SIGSYS takes its default action (core dump). Guest
//! syscalls trap either way.

use super::filter::{
    jump, push_rule, stmt, Rule, AUDIT_ARCH_X86_64, DATA_ARCH, JEQ, LD_ABS_W, RET, RET_KILL_PROCESS, RET_TRAP,
};

/// One syscall the factory, its children or the stub page may make.
#[derive(Debug, Clone, Copy)]
pub struct FactorySyscall {
    pub nr: i64,
    pub name: &'static str,
    /// Who needs it and why.
    pub why: &'static str,
    /// The argument `values` constrains (its low 32 bits).
    pub arg: u32,
    /// The allowed values of that argument (empty: any arguments).
    pub values: &'static [u32],
}

const fn any(nr: i64, name: &'static str, why: &'static str) -> FactorySyscall {
    FactorySyscall {
        nr,
        name,
        why,
        arg: 0,
        values: &[],
    }
}

const fn only(nr: i64, name: &'static str, why: &'static str, arg: u32, values: &'static [u32]) -> FactorySyscall {
    FactorySyscall {
        nr,
        name,
        why,
        arg,
        values,
    }
}

/// prctl(2) options (linux/prctl.h).
const PR_SET_PDEATHSIG: u32 = 1;
const PR_SET_NO_NEW_PRIVS: u32 = 38;
const SECCOMP_SET_MODE_FILTER: u32 = 1;
/// arch_prctl(2) codes (asm/prctl.h).
const ARCH_SET_GS: u32 = 0x1001;
const ARCH_SET_FS: u32 = 0x1002;

/// The allow-list.
pub const FACTORY_SECCOMP: &[FactorySyscall] = &[
    // The factory's loop.
    any(
        libc::SYS_recvmsg,
        "recvmsg",
        "factory: requests, with the memory file and control file (SCM_RIGHTS)",
    ),
    any(
        libc::SYS_sendmsg,
        "sendmsg",
        "factory: answers, with a new stub's pidfd",
    ),
    only(
        libc::SYS_clone,
        "clone",
        "factory: fork a stub (SIGCHLD only); stub page: a guest thread",
        0,
        &[libc::SIGCHLD as u32, super::process::THREAD_CLONE_FLAGS as u32],
    ),
    any(libc::SYS_pidfd_open, "pidfd_open", "factory: a pidfd for each new stub"),
    any(libc::SYS_close, "close", "factory: the fds of a request"),
    any(libc::SYS_wait4, "wait4", "factory: reap stubs the Sentry is done with"),
    only(
        libc::SYS_kill,
        "kill",
        "factory: kill a stub before reaping it (SIGKILL only)",
        1,
        &[libc::SIGKILL as u32],
    ),
    any(
        libc::SYS_exit_group,
        "exit_group",
        "factory: exit once the Sentry is gone; child: a failed set-up step",
    ),
    // A forked child, until it jumps into the stub page.
    only(
        libc::SYS_prctl,
        "prctl",
        "child: PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS",
        0,
        &[PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS],
    ),
    any(libc::SYS_setsid, "setsid", "child: leave the Sentry's session"),
    any(
        libc::SYS_rseq,
        "rseq",
        "child: unregister the rseq area inherited from the Sentry",
    ),
    any(
        libc::SYS_rt_sigaction,
        "rt_sigaction",
        "child: the stub's signal handlers",
    ),
    any(libc::SYS_dup2, "dup2", "child: the memory file as fd 3"),
    any(
        libc::SYS_close_range,
        "close_range",
        "child: every fd but the memory file",
    ),
    only(
        libc::SYS_seccomp,
        "seccomp",
        "child: the stub's own filter",
        0,
        &[SECCOMP_SET_MODE_FILTER],
    ),
    // The stub page (the stub's filter allows these only from there).
    any(
        libc::SYS_mmap,
        "mmap",
        "child: the control region; stub page: guest memory (the memory file only)",
    ),
    any(
        libc::SYS_munmap,
        "munmap",
        "stub page: drop the inherited address space, guest unmaps",
    ),
    any(libc::SYS_mprotect, "mprotect", "stub page: guest protection changes"),
    only(
        libc::SYS_rt_sigprocmask,
        "rt_sigprocmask",
        "factory and child: block signals; stub page: unblock them",
        0,
        &[libc::SIG_SETMASK as u32],
    ),
    any(libc::SYS_rt_sigreturn, "rt_sigreturn", "stub page: back to the guest"),
    only(
        libc::SYS_futex,
        "futex",
        "stub page: the mailboxes shared with the Sentry",
        1,
        &[libc::FUTEX_WAIT as u32, libc::FUTEX_WAKE as u32],
    ),
    any(
        libc::SYS_sched_yield,
        "sched_yield",
        "stub page: polling a mailbox on a CPU shared with the Sentry",
    ),
    any(
        libc::SYS_sigaltstack,
        "sigaltstack",
        "stub page: each thread's signal stack",
    ),
    only(
        libc::SYS_arch_prctl,
        "arch_prctl",
        "stub page: the guest's FS/GS bases without FSGSBASE",
        0,
        &[ARCH_SET_GS, ARCH_SET_FS],
    ),
    any(libc::SYS_exit, "exit", "stub page: a guest thread's exit"),
];

/// The BPF program of [`FACTORY_SECCOMP`]: other ABIs are killed, listed
/// syscalls with allowed arguments pass, everything else traps.
pub(super) fn program() -> Vec<libc::sock_filter> {
    let mut prog = vec![
        stmt(LD_ABS_W, DATA_ARCH),
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, RET_KILL_PROCESS),
    ];
    for entry in FACTORY_SECCOMP {
        let rule = Rule {
            nr: entry.nr,
            arg: entry.arg,
            values: entry.values.to_vec(),
        };
        push_rule(&mut prog, &rule, RET_TRAP);
    }
    prog.push(stmt(RET, RET_TRAP));
    prog
}
