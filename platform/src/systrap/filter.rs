//! The seccomp filter of a stub process.
//!
//! Every syscall made outside the stub page traps (SIGSYS, handled by the
//! stub and reported to the Sentry). From the stub page only the syscalls
//! the stub itself makes are allowed, with the arguments it uses where a
//! single compare can check them; anything else from the stub page means
//! guest code jumped into the stub with its own registers, and kills the
//! stub process. Syscalls of any other ABI (int 0x80) kill it too.

pub(super) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(super) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(super) const RET_TRAP: u32 = 0x0003_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

pub(super) const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
pub(super) const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
/// arch_prctl(2) codes (asm/prctl.h).
const ARCH_SET_GS: u32 = 0x1001;
const ARCH_SET_FS: u32 = 0x1002;

pub(super) const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

// Offsets in struct seccomp_data.
const DATA_NR: u32 = 0;
pub(super) const DATA_ARCH: u32 = 4;
const DATA_IP_LO: u32 = 8;
const DATA_IP_HI: u32 = 12;
fn data_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

/// A syscall the stub may make, with the values allowed for the low 32
/// bits of one argument (empty: any arguments).
pub(super) struct Rule {
    pub(super) nr: i64,
    pub(super) arg: u32,
    pub(super) values: Vec<u32>,
}

fn any(nr: i64) -> Rule {
    Rule {
        nr,
        arg: 0,
        values: Vec::new(),
    }
}

fn only(nr: i64, arg: u32, values: &[u32]) -> Rule {
    Rule {
        nr,
        arg,
        values: values.to_vec(),
    }
}

pub(super) fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

pub(super) fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The program for a stub whose code lies in `[code_start, code_end]`
/// (the address after a syscall instruction may equal `code_end`).
pub(crate) fn program(code_start: u64, code_end: u64, memory_file: i32, clone_flags: u32) -> Vec<libc::sock_filter> {
    // A page never straddles a 4 GiB boundary, so the high halves agree.
    debug_assert_eq!(code_start >> 32, (code_end - 1) >> 32);
    let mut prog = vec![
        stmt(LD_ABS_W, DATA_ARCH),
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, RET_KILL_PROCESS),
        stmt(LD_ABS_W, DATA_IP_HI),
        jump(JEQ, (code_start >> 32) as u32, 1, 0),
        stmt(RET, RET_TRAP),
        stmt(LD_ABS_W, DATA_IP_LO),
        jump(JGE, code_start as u32, 1, 0),
        stmt(RET, RET_TRAP),
        jump(JGT, code_end as u32, 0, 1),
        stmt(RET, RET_TRAP),
    ];
    let futex_ops = [libc::FUTEX_WAIT as u32, libc::FUTEX_WAKE as u32];
    let rules = [
        any(libc::SYS_rt_sigreturn),
        only(libc::SYS_futex, 1, &futex_ops),
        only(libc::SYS_mmap, 4, &[memory_file as u32]),
        any(libc::SYS_munmap),
        any(libc::SYS_mprotect),
        only(libc::SYS_clone, 0, &[clone_flags]),
        any(libc::SYS_exit),
        only(libc::SYS_arch_prctl, 0, &[ARCH_SET_GS, ARCH_SET_FS]),
        any(libc::SYS_sigaltstack),
        only(libc::SYS_rt_sigprocmask, 0, &[libc::SIG_SETMASK as u32]),
        any(libc::SYS_sched_yield),
    ];
    for rule in &rules {
        push_rule(&mut prog, rule, RET_KILL_PROCESS);
    }
    prog.push(stmt(RET, RET_KILL_PROCESS));
    prog
}

/// Appends: if nr matches, check the argument and allow or return
/// `mismatch`; else fall through to the next rule. Expects the syscall
/// number in A on entry and leaves it there when falling through.
pub(super) fn push_rule(prog: &mut Vec<libc::sock_filter>, rule: &Rule, mismatch: u32) {
    prog.push(stmt(LD_ABS_W, DATA_NR));
    if rule.values.is_empty() {
        prog.push(jump(JEQ, rule.nr as u32, 0, 1));
        prog.push(stmt(RET, RET_ALLOW));
        return;
    }
    // Body: load the argument, one JEQ per value to the ALLOW, else KILL.
    let n = rule.values.len();
    let body = 1 + n + 2;
    prog.push(jump(JEQ, rule.nr as u32, 0, body as u8));
    prog.push(stmt(LD_ABS_W, data_arg_lo(rule.arg)));
    for (i, value) in rule.values.iter().enumerate() {
        // Jump to the ALLOW that follows the KILL.
        prog.push(jump(JEQ, *value, (n - i) as u8, 0));
    }
    prog.push(stmt(RET, mismatch));
    prog.push(stmt(RET, RET_ALLOW));
}
