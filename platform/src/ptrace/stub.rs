//! The stub: the few instructions a ptrace stub process runs.
//!
//! The bytes between `runsc_stub_start` and `runsc_stub_end` are copied onto
//! one page of the Sentry (the stub page) before any stub is forked. A freshly
//! forked child jumps to the copy, which unmaps every other mapping it
//! inherited from the Sentry, stops itself, and from then on only ever
//! executes `syscall; int3` at `STUB_SYSCALL_OFFSET` when the tracer injects a
//! system call. Guest code runs in the same process under PTRACE_SYSEMU, so
//! every syscall instruction the guest executes is stopped and emulated.

use std::arch::global_asm;

// Entry: rdi = stub page start, rsi = stub page end, rdx = top of the user
// address space. Uses no stack, since the stack is unmapped on the way.
global_asm!(
    ".pushsection .text.runsc_stub,\"ax\",@progbits",
    ".globl runsc_stub_start",
    ".globl runsc_stub_syscall",
    ".globl runsc_stub_park",
    ".globl runsc_stub_end",
    ".p2align 12",
    "runsc_stub_start:",
    "    mov r12, rdi",
    "    mov r13, rsi",
    "    mov r14, rdx",
    // munmap(0, start)
    "    mov eax, 11",
    "    xor edi, edi",
    "    mov rsi, r12",
    "    syscall",
    // munmap(end, top - end)
    "    mov eax, 11",
    "    mov rdi, r13",
    "    mov rsi, r14",
    "    sub rsi, r13",
    "    syscall",
    // kill(getpid(), SIGSTOP): the tracer takes over from here.
    "    mov eax, 39",
    "    syscall",
    "    mov edi, eax",
    "    mov esi, 19",
    "    mov eax, 62",
    "    syscall",
    "runsc_stub_syscall:",
    "    syscall",
    "    int3",
    "    jmp runsc_stub_syscall",
    // A new stub thread waits here, untraced, until its own tracer seizes it.
    "runsc_stub_park:",
    "    mov eax, 34",
    "    syscall",
    "    jmp runsc_stub_park",
    "runsc_stub_end:",
    ".popsection",
);

extern "C" {
    static runsc_stub_start: u8;
    static runsc_stub_syscall: u8;
    static runsc_stub_park: u8;
    static runsc_stub_end: u8;
}

/// The stub's machine code.
pub(crate) fn code() -> &'static [u8] {
    // SAFETY: the three symbols are labels of the global_asm! block above, in
    // one section, in this order; the bytes between start and end are
    // immutable code that lives for the whole program.
    unsafe {
        let start = std::ptr::addr_of!(runsc_stub_start);
        let end = std::ptr::addr_of!(runsc_stub_end);
        std::slice::from_raw_parts(start, end as usize - start as usize)
    }
}

/// Offset of the `syscall; int3` pair inside the stub code.
pub(crate) fn syscall_offset() -> usize {
    std::ptr::addr_of!(runsc_stub_syscall) as usize - std::ptr::addr_of!(runsc_stub_start) as usize
}

/// Offset of the park loop (pause forever) inside the stub code.
pub(crate) fn park_offset() -> usize {
    std::ptr::addr_of!(runsc_stub_park) as usize - std::ptr::addr_of!(runsc_stub_start) as usize
}
