//! The systrap stub: position-independent code copied onto one page (the
//! stub page) of the Sentry before any stub process is forked.
//!
//! A stub process has the stub page at address `X` and, right above it at
//! `X + 4096`, the control region: a memfd shared with the Sentry, cut into
//! [`SLOT_SIZE`]-aligned slots, one per stub thread. A slot starts with the
//! mailbox words and the saved registers (layout: the `OFF_*` constants) and
//! ends with the thread's signal stack, so the signal handler finds its slot
//! by rounding its stack pointer down to the slot size.
//!
//! Guest code runs under a seccomp filter that traps every syscall it makes
//! (SIGSYS); faults raise SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP and the
//! Sentry kicks a running thread with [`INTERRUPT_SIGNAL`]. All of them run
//! `runsc_systrap_handler`, which saves the guest registers of the signal
//! frame into the slot, posts the event to the Sentry, and serves the
//! Sentry's commands (run a syscall, read or write the FP state) until told
//! to resume, when it copies the registers back into the frame and returns
//! through rt_sigreturn.
//!
//! Mailboxes are u32 words: 0 empty, 1 full, 2 empty with a sleeping
//! reader. The poster swaps in 1 and wakes the futex when it saw 2; the
//! reader parks with FUTEX_WAIT on 2.

use std::arch::global_asm;

/// Size (and alignment) of one thread's slot in the control region.
pub(crate) const SLOT_SIZE: usize = 64 * 1024;
/// Start of the signal stack inside a slot.
pub(crate) const ALTSTACK_OFFSET: usize = 4096;

pub(crate) const OFF_TO_SENTRY: usize = 0;
pub(crate) const OFF_TO_STUB: usize = 4;
/// The stub thread's tid, cleared by the kernel when it exits
/// (CLONE_CHILD_CLEARTID).
pub(crate) const OFF_TID: usize = 8;
pub(crate) const OFF_CMD: usize = 16;
pub(crate) const OFF_SIGNO: usize = 24;
pub(crate) const OFF_CODE: usize = 32;
pub(crate) const OFF_ADDR: usize = 40;
pub(crate) const OFF_NR: usize = 48;
pub(crate) const OFF_ARGS: usize = 56;
pub(crate) const OFF_RET: usize = 104;
pub(crate) const OFF_FS_BASE: usize = 112;
pub(crate) const OFF_GS_BASE: usize = 120;
/// Bit 0 ([`FLAG_FSGSBASE`]): the CPU and kernel allow rdfsbase/wrfsbase in
/// user mode. Bit 1 ([`FLAG_YIELD`]): poll the mailbox with sched_yield.
pub(crate) const OFF_FLAGS: usize = 128;
pub(crate) const FLAG_FSGSBASE: u64 = 1;
pub(crate) const FLAG_YIELD: u64 = 2;
/// Without FSGSBASE: the bases the stub last set with arch_prctl.
pub(crate) const OFF_CUR_FS: usize = 136;
pub(crate) const OFF_CUR_GS: usize = 144;
/// Qwords of FP state the last GET_FP copied (64: FXSAVE only, 72: with the
/// XSAVE header).
pub(crate) const OFF_FP_LEN: usize = 152;
/// How many times the stub looks at its mailbox before it sleeps (see
/// `handoff.rs`); with [`FLAG_YIELD`] it calls sched_yield between looks,
/// else `pause`.
pub(crate) const OFF_POLLS: usize = 160;
/// The 23 general registers of the signal frame's mcontext.
pub(crate) const OFF_GREGS: usize = 256;
/// FXSAVE image followed by the XSAVE header (576 bytes).
pub(crate) const OFF_FP: usize = 512;

pub(crate) const CMD_RESUME: u64 = 0;
pub(crate) const CMD_SYSCALL: u64 = 1;
pub(crate) const CMD_GET_FP: u64 = 2;
pub(crate) const CMD_SET_FP: u64 = 3;
pub(crate) const CMD_INIT_FP: u64 = 4;

/// The host signal the Sentry sends a stub thread to stop the guest.
pub(crate) const INTERRUPT_SIGNAL: i32 = libc::SIGUSR2;

// Entry of the first stub thread (called from the forked child):
// rdi = &sock_fprog, rsi = stub page address, rdx = end of the control
// region, rcx = top of the user address space.
global_asm!(
    ".pushsection .text.runsc_systrap_stub,\"ax\",@progbits",
    ".globl runsc_systrap_start",
    ".globl runsc_systrap_handler",
    ".globl runsc_systrap_restorer",
    ".globl runsc_systrap_cmd_syscall",
    ".globl runsc_systrap_end",
    ".p2align 12",
    "runsc_systrap_start:",
    "    mov rbx, rdi",
    "    mov r13, rsi",
    "    mov r14, rdx",
    "    mov r15, rcx",
    "    lea r12, [rip + runsc_systrap_start]",
    "    add r12, 4096",
    "    lea rsp, [r12 + {slot} - 64]",
    // seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)
    "    mov eax, 317",
    "    mov edi, 1",
    "    xor esi, esi",
    "    mov rdx, rbx",
    "    syscall",
    "    test rax, rax",
    "    jnz 9f",
    // munmap(0, stub page), munmap(control end, top - control end)
    "    mov eax, 11",
    "    xor edi, edi",
    "    mov rsi, r13",
    "    syscall",
    "    mov eax, 11",
    "    mov rdi, r14",
    "    mov rsi, r15",
    "    sub rsi, r14",
    "    syscall",
    "    jmp 70f",
    "9:",
    "    mov edi, 121",
    "    mov eax, 231",
    "    syscall",
    "    ud2",
    // Every stub thread: rsp is near the top of its own slot. Install the
    // slot's signal stack, unblock signals, and trap once so that the
    // handler reports the thread ready.
    "70:",
    "    mov r12, rsp",
    "    and r12, -{slot}",
    "    sub rsp, 32",
    "    lea rax, [r12 + {altstack}]",
    "    mov [rsp], rax",
    "    mov qword ptr [rsp + 8], 0",
    "    mov qword ptr [rsp + 16], {slot} - {altstack}",
    "    mov rdi, rsp",
    "    xor esi, esi",
    "    mov eax, 131",
    "    syscall",
    "    mov qword ptr [rsp], 0",
    "    mov edi, 2",
    "    mov rsi, rsp",
    "    xor edx, edx",
    "    mov r10d, 8",
    "    mov eax, 14",
    "    syscall",
    "    int3",
    "    ud2",
    // The signal handler: rdi = signo, rsi = siginfo, rdx = ucontext.
    "runsc_systrap_handler:",
    "    mov r12, rsp",
    "    and r12, -{slot}",
    "    mov r13, rdx",
    "    mov [r12 + {signo}], rdi",
    "    movsxd rax, dword ptr [rsi + 8]",
    "    mov [r12 + {code}], rax",
    "    mov rax, [rsi + 16]",
    "    mov [r12 + {addr}], rax",
    "    lea rsi, [r13 + 40]",
    "    lea rdi, [r12 + {gregs}]",
    "    mov ecx, 23",
    "    rep movsq",
    "    test qword ptr [r12 + {flags}], 1",
    "    jz 71f",
    "    rdfsbase rax",
    "    mov [r12 + {fs}], rax",
    "    rdgsbase rax",
    "    mov [r12 + {gs}], rax",
    "    jmp 20f",
    "71:",
    "    mov rax, [r12 + {cur_fs}]",
    "    mov [r12 + {fs}], rax",
    "    mov rax, [r12 + {cur_gs}]",
    "    mov [r12 + {gs}], rax",
    // Post to the Sentry.
    "20:",
    "    mov eax, 1",
    "    xchg dword ptr [r12 + {to_sentry}], eax",
    "    cmp eax, 2",
    "    jne 21f",
    "    lea rdi, [r12 + {to_sentry}]",
    "    mov esi, 1",
    "    mov edx, 1",
    "    mov eax, 202",
    "    syscall",
    // Wait for a command: look at the mailbox up to [polls] times (pause
    // or sched_yield between looks, see handoff.rs), then sleep on it.
    "21:",
    "    mov r14, [r12 + {polls}]",
    "22:",
    "    cmp dword ptr [r12 + {to_stub}], 1",
    "    je 25f",
    "    test r14, r14",
    "    jz 24f",
    "    dec r14",
    "    test qword ptr [r12 + {flags}], 2",
    "    jnz 26f",
    "    pause",
    "    jmp 22b",
    "26:",
    "    mov eax, 24",
    "    syscall",
    "    jmp 22b",
    "24:",
    "    xor eax, eax",
    "    mov edx, 2",
    "    lock cmpxchg dword ptr [r12 + {to_stub}], edx",
    "    jne 25f",
    "23:",
    "    lea rdi, [r12 + {to_stub}]",
    "    xor esi, esi",
    "    mov edx, 2",
    "    xor r10d, r10d",
    "    mov eax, 202",
    "    syscall",
    "    cmp dword ptr [r12 + {to_stub}], 1",
    "    jne 23b",
    "25:",
    "    mov dword ptr [r12 + {to_stub}], 0",
    "    mov rax, [r12 + {cmd}]",
    "    cmp rax, 1",
    "    je 30f",
    "    cmp rax, 2",
    "    je 40f",
    "    cmp rax, 3",
    "    je 50f",
    "    cmp rax, 4",
    "    je 50f",
    "    jmp 60f",
    // CMD_SYSCALL. A clone child comes back on another slot's stack and
    // starts as a new stub thread.
    "30:",
    "    mov rax, [r12 + {nr}]",
    "    mov rdi, [r12 + {args}]",
    "    mov rsi, [r12 + {args} + 8]",
    "    mov rdx, [r12 + {args} + 16]",
    "    mov r10, [r12 + {args} + 24]",
    "    mov r8, [r12 + {args} + 32]",
    "    mov r9, [r12 + {args} + 40]",
    "runsc_systrap_cmd_syscall:",
    "    syscall",
    "    test rax, rax",
    "    jnz 31f",
    "    mov rcx, rsp",
    "    and rcx, -{slot}",
    "    cmp rcx, r12",
    "    jne 70b",
    "31:",
    "    mov [r12 + {ret}], rax",
    "    jmp 20b",
    // CMD_GET_FP: copy the frame's FXSAVE image (and XSAVE header).
    "40:",
    "    mov qword ptr [r12 + {fp_len}], 0",
    "    mov rsi, [r13 + 224]",
    "    test rsi, rsi",
    "    jz 20b",
    "    mov ecx, 64",
    "    cmp dword ptr [rsi + 464], 0x46505853",
    "    jne 41f",
    "    mov ecx, 72",
    "41:",
    "    mov [r12 + {fp_len}], rcx",
    "    lea rdi, [r12 + {fp}]",
    "    rep movsq",
    "    jmp 20b",
    // CMD_SET_FP: the first 464 bytes (464.. describe the frame format);
    // mark x87 and SSE state as present in the XSAVE header. CMD_INIT_FP
    // also marks every other component (AVX, AVX-512, ...) absent, so that
    // rt_sigreturn puts it in its initial state.
    "50:",
    "    mov rdi, [r13 + 224]",
    "    test rdi, rdi",
    "    jz 20b",
    "    lea rsi, [r12 + {fp}]",
    "    mov ecx, 58",
    "    rep movsq",
    "    mov rdi, [r13 + 224]",
    "    cmp dword ptr [rdi + 464], 0x46505853",
    "    jne 20b",
    "    cmp rax, 4",
    "    je 51f",
    "    or qword ptr [rdi + 512], 3",
    "    jmp 20b",
    "51:",
    "    mov qword ptr [rdi + 512], 3",
    "    jmp 20b",
    // CMD_RESUME: registers back into the frame, nothing blocked in guest
    // code, FS/GS bases, and return into rt_sigreturn.
    "60:",
    "    lea rsi, [r12 + {gregs}]",
    "    lea rdi, [r13 + 40]",
    "    mov ecx, 18",
    "    rep movsq",
    "    mov qword ptr [r13 + 296], 0",
    "    mov rax, [r12 + {fs}]",
    "    test qword ptr [r12 + {flags}], 1",
    "    jz 61f",
    "    wrfsbase rax",
    "    mov rax, [r12 + {gs}]",
    "    wrgsbase rax",
    "    ret",
    "61:",
    "    cmp rax, [r12 + {cur_fs}]",
    "    je 62f",
    "    mov [r12 + {cur_fs}], rax",
    "    mov rsi, rax",
    "    mov edi, 0x1002",
    "    mov eax, 158",
    "    syscall",
    "62:",
    "    mov rax, [r12 + {gs}]",
    "    cmp rax, [r12 + {cur_gs}]",
    "    je 63f",
    "    mov [r12 + {cur_gs}], rax",
    "    mov rsi, rax",
    "    mov edi, 0x1001",
    "    mov eax, 158",
    "    syscall",
    "63:",
    "    ret",
    "runsc_systrap_restorer:",
    "    mov eax, 15",
    "    syscall",
    "    ud2",
    "runsc_systrap_end:",
    ".popsection",
    slot = const SLOT_SIZE,
    altstack = const ALTSTACK_OFFSET,
    signo = const OFF_SIGNO,
    code = const OFF_CODE,
    addr = const OFF_ADDR,
    gregs = const OFF_GREGS,
    flags = const OFF_FLAGS,
    fs = const OFF_FS_BASE,
    gs = const OFF_GS_BASE,
    cur_fs = const OFF_CUR_FS,
    cur_gs = const OFF_CUR_GS,
    to_sentry = const OFF_TO_SENTRY,
    to_stub = const OFF_TO_STUB,
    cmd = const OFF_CMD,
    nr = const OFF_NR,
    args = const OFF_ARGS,
    ret = const OFF_RET,
    fp_len = const OFF_FP_LEN,
    fp = const OFF_FP,
    polls = const OFF_POLLS,
);

extern "C" {
    static runsc_systrap_start: u8;
    static runsc_systrap_handler: u8;
    static runsc_systrap_restorer: u8;
    #[cfg(test)]
    static runsc_systrap_cmd_syscall: u8;
    static runsc_systrap_end: u8;
}

fn offset_of(label: *const u8) -> usize {
    label as usize - std::ptr::addr_of!(runsc_systrap_start) as usize
}

/// The stub's machine code (shorter than a page).
pub(crate) fn code() -> &'static [u8] {
    // SAFETY: start and end label the global_asm! block above, in one
    // section, in this order; the bytes between are immutable code that
    // lives for the whole program.
    unsafe {
        let start = std::ptr::addr_of!(runsc_systrap_start);
        let end = std::ptr::addr_of!(runsc_systrap_end);
        std::slice::from_raw_parts(start, end as usize - start as usize)
    }
}

/// Offset of the signal handler in the stub code.
pub(crate) fn handler_offset() -> usize {
    offset_of(std::ptr::addr_of!(runsc_systrap_handler))
}

/// Offset of the sa_restorer (rt_sigreturn) in the stub code.
pub(crate) fn restorer_offset() -> usize {
    offset_of(std::ptr::addr_of!(runsc_systrap_restorer))
}

/// Offset of the syscall instruction that runs the Sentry's commands.
#[cfg(test)]
pub(crate) fn cmd_syscall_offset() -> usize {
    offset_of(std::ptr::addr_of!(runsc_systrap_cmd_syscall))
}
