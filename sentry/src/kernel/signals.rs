//! Signal delivery (signal(7)): the per-process pending queue, default
//! actions, and the x86-64 rt_sigframe that glibc's and musl's
//! `__restore_rt` hand back to rt_sigreturn.

use super::task::{SigAction, Task};
use crate::errno::{Errno, Result};
use crate::mm::{UserMemory, UserMemoryExt};
use crate::sandbox::ExitStatus;
use platform::Interrupter;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_RESTART: u64 = 0x1000_0000;

pub fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// What a signal does when its action is SIG_DFL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    CoreDump,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: i32) -> DefaultAction {
    use DefaultAction::*;
    match sig {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => Ignore,
        libc::SIGCONT => Continue,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Stop,
        libc::SIGQUIT
        | libc::SIGILL
        | libc::SIGABRT
        | libc::SIGFPE
        | libc::SIGSEGV
        | libc::SIGBUS
        | libc::SIGSYS
        | libc::SIGTRAP
        | libc::SIGXCPU
        | libc::SIGXFSZ => CoreDump,
        _ => Terminate,
    }
}

/// The siginfo a signal carries (the fields this kernel fills).
#[derive(Debug, Clone, Copy, Default)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    /// si_pid for kill, si_addr for faults.
    pub pid_or_addr: u64,
    pub uid: u32,
    /// For SIGCHLD: si_status.
    pub status: i32,
    pub is_fault: bool,
    /// A siginfo supplied by the sender (rt_sigqueueinfo), passed on as is.
    pub raw: Option<[u8; 128]>,
}

impl SigInfo {
    /// The SIGCHLD a parent gets about `event` of child `pid`.
    pub fn child(pid: i32, event: super::process::WaitEvent) -> SigInfo {
        let (code, status) = event.sigchld_code();
        SigInfo {
            signo: libc::SIGCHLD,
            code,
            pid_or_addr: pid as u64,
            status,
            ..Default::default()
        }
    }

    /// The 128-byte siginfo_t.
    pub fn encode(&self) -> [u8; 128] {
        if let Some(mut raw) = self.raw {
            raw[0..4].copy_from_slice(&self.signo.to_le_bytes());
            return raw;
        }
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        if self.is_fault {
            b[16..24].copy_from_slice(&self.pid_or_addr.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&(self.pid_or_addr as i32).to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            b[24..28].copy_from_slice(&self.status.to_le_bytes());
        }
        b
    }
}

/// Signals sent to a process and not yet delivered. Other threads post
/// here; the owning task takes them between guest runs.
pub struct SignalQueue {
    pending: Mutex<Vec<SigInfo>>,
    /// Mirror of the task's blocked mask.
    blocked: std::sync::atomic::AtomicU64,
    /// Signals whose action is to ignore them: discarded when posted
    /// unless blocked (signal(7)).
    ignored: std::sync::atomic::AtomicU64,
    /// Signals whose action is the default one and kills (terminate or
    /// core dump).
    fatal: std::sync::atomic::AtomicU64,
    posted: Condvar,
    interrupter: Mutex<Option<Arc<dyn Interrupter>>>,
}

impl SignalQueue {
    pub fn new(interrupter: Arc<dyn Interrupter>) -> Arc<SignalQueue> {
        Arc::new(SignalQueue {
            pending: Mutex::new(Vec::new()),
            blocked: Default::default(),
            ignored: Default::default(),
            fatal: Default::default(),
            posted: Condvar::new(),
            interrupter: Mutex::new(Some(interrupter)),
        })
    }

    /// Kicks the task out of the guest without posting anything.
    pub fn kick(&self) {
        self.posted.notify_all();
        if let Ok(i) = self.interrupter.lock() {
            if let Some(i) = i.as_ref() {
                i.interrupt();
            }
        }
    }

    /// A new address space brings a new stub to kick.
    pub fn set_interrupter(&self, interrupter: Arc<dyn Interrupter>) {
        if let Ok(mut i) = self.interrupter.lock() {
            *i = Some(interrupter);
        }
    }

    /// Queues a signal and kicks the task out of the guest. Standard
    /// signals are not queued twice (signal(7)); real-time ones are.
    pub fn post(&self, info: SigInfo) {
        use std::sync::atomic::Ordering::Relaxed;
        let b = bit(info.signo);
        if self.ignored.load(Relaxed) & b != 0 && self.blocked.load(Relaxed) & b == 0 {
            return;
        }
        if let Ok(mut p) = self.pending.lock() {
            if info.signo >= libc::SIGRTMIN() || !p.iter().any(|s| s.signo == info.signo) {
                p.push(info);
            }
        }
        self.posted.notify_all();
        if let Ok(i) = self.interrupter.lock() {
            if let Some(i) = i.as_ref() {
                i.interrupt();
            }
        }
    }

    /// Takes the lowest-numbered pending signal not in `blocked`.
    pub fn take(&self, blocked: u64) -> Option<SigInfo> {
        self.take_in(!blocked)
    }

    /// Drops every pending instance of `sig`.
    pub fn discard(&self, sig: i32) {
        if let Ok(mut p) = self.pending.lock() {
            p.retain(|s| s.signo != sig);
        }
    }

    /// Takes the lowest-numbered pending signal that is in `set`; queued
    /// instances of one real-time signal leave in the order they came.
    /// Linux dequeues by signal number, not arrival (signal(7) "Real-time
    /// signals": lowest-numbered first; standard signals are lower).
    pub fn take_in(&self, set: u64) -> Option<SigInfo> {
        let mut p = self.pending.lock().ok()?;
        let lowest = p.iter().map(|s| s.signo).filter(|&sig| set & bit(sig) != 0).min()?;
        let idx = p.iter().position(|s| s.signo == lowest)?;
        Some(p.remove(idx))
    }

    /// The set of pending signals (rt_sigpending).
    pub fn pending_set(&self) -> u64 {
        self.pending
            .lock()
            .map(|p| p.iter().fold(0, |acc, s| acc | bit(s.signo)))
            .unwrap_or(0)
    }

    /// Records the task's blocked mask, ignored set and fatal set.
    pub fn set_masks(&self, blocked: u64, ignored: u64, fatal: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.blocked.store(blocked, Relaxed);
        self.ignored.store(ignored, Relaxed);
        self.fatal.store(fatal, Relaxed);
    }

    /// True when `sig` kills the task the moment it is sent: its action is
    /// the default one, which terminates, and the task does not block it.
    pub fn kills_when_sent(&self, sig: i32) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let b = bit(sig);
        self.fatal.load(Relaxed) & b != 0 && self.blocked.load(Relaxed) & b == 0
    }

    /// The task's blocked mask as last recorded (SigBlk of /proc status).
    pub fn blocked(&self) -> u64 {
        self.blocked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when a pending signal is not blocked (it will be acted on).
    pub fn has_actionable(&self) -> bool {
        self.has_unblocked(self.blocked.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// True when a signal outside `blocked` is pending.
    pub fn has_unblocked(&self, blocked: u64) -> bool {
        self.pending_set() & !blocked != 0
    }

    /// Wakes a task blocked in [`wait_for`](Self::wait_for) so that it
    /// re-checks its condition.
    pub fn notify(&self) {
        // Taking the lock orders this after a waiter's check of `done`.
        drop(self.pending.lock());
        self.posted.notify_all();
    }

    /// Blocks until `done` (shown the pending signals, under the queue lock) holds (Ok(true)), the deadline passes
    /// (Ok(false)) or a signal outside `blocked` is pending (EINTR).
    pub fn wait_for(
        &self,
        deadline: Option<std::time::Instant>,
        blocked: u64,
        done: &dyn Fn(&[SigInfo]) -> bool,
    ) -> Result<bool> {
        let mut p = self.pending.lock().map_err(|_| Errno::EIO)?;
        loop {
            if done(&p) {
                return Ok(true);
            }
            if p.iter().any(|s| blocked & bit(s.signo) == 0) {
                return Err(Errno::EINTR);
            }
            p = match deadline {
                None => self.posted.wait(p).map_err(|_| Errno::EIO)?,
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        return Ok(false);
                    }
                    self.posted.wait_timeout(p, deadline - now).map_err(|_| Errno::EIO)?.0
                }
            };
        }
    }

    /// Sleeps for `dur` unless an unblocked signal arrives first (then EINTR).
    pub fn sleep(&self, dur: Duration, blocked: u64) -> Result<()> {
        self.wait_for(Some(std::time::Instant::now() + dur), blocked, &|_| false)
            .map(|_| ())
    }
}

/// Layout of the frame (all offsets from the frame start).
const UC_OFFSET: u64 = 8;
const MCONTEXT_OFFSET: u64 = UC_OFFSET + 40;
const SIGMASK_OFFSET: u64 = MCONTEXT_OFFSET + 256;
const INFO_OFFSET: u64 = SIGMASK_OFFSET + 8;
const FRAME_SIZE: u64 = INFO_OFFSET + 128;
const FPSTATE_SIZE: u64 = 512;
/// Flags the guest may change through sigreturn (the kernel's FIX_EFLAGS).
const FIX_EFLAGS: u64 = 0x50dd5;

/// What happened to a signal the task took.
pub enum Outcome {
    Handled,
    Ignored,
    Exit(ExitStatus),
}

impl Task {
    /// Delivers pending unblocked signals. Returns the exit status if one
    /// of them killed the process. A syscall interrupted with ERESTARTSYS
    /// is restarted unless a handler without SA_RESTART ran.
    pub fn deliver_pending(&mut self) -> Option<ExitStatus> {
        while let Some(info) = self.signal_queue.take(self.signals.mask) {
            match self.deliver(info) {
                Outcome::Exit(status) => return Some(status),
                Outcome::Handled => break,
                Outcome::Ignored => {}
            }
        }
        if self.restart_syscall {
            self.restart_syscall = false;
            self.rewind_syscall();
        }
        self.sync_signal_masks();
        None
    }

    /// Stops every thread of the process (signal(7) "Stop") and tells the
    /// parent: SIGCHLD with CLD_STOPPED, and a wait(WUNTRACED) event.
    fn stop_process(&self, sig: i32) {
        if !self.group.stop() {
            return;
        }
        if let Some(parent) = self
            .kernel
            .processes
            .job_control(self.tgid, super::process::WaitEvent::Stopped(sig))
        {
            let info = SigInfo::child(self.tgid, super::process::WaitEvent::Stopped(sig));
            let _ = self.kernel.post_signal(parent, info);
        }
    }

    /// Makes the guest execute the interrupted syscall again.
    pub(super) fn rewind_syscall(&mut self) {
        self.regs.rip -= 2; // the length of `syscall`
        self.regs.rax = self.regs.orig_rax;
    }

    /// Mirrors the blocked mask and the ignored set into the queue, which
    /// filters and wakes with them.
    pub fn sync_signal_masks(&self) {
        let (mut ignored, mut fatal) = (0, 0);
        for (i, action) in self.signals.actions.snapshot().iter().enumerate() {
            let sig = i as i32 + 1;
            let default = action.handler == libc::SIG_DFL as u64;
            if action.handler == libc::SIG_IGN as u64 || (default && default_action(sig) == DefaultAction::Ignore) {
                ignored |= bit(sig);
            }
            if default && matches!(default_action(sig), DefaultAction::Terminate | DefaultAction::CoreDump) {
                fatal |= bit(sig);
            }
        }
        self.signal_queue.set_masks(self.signals.mask, ignored, fatal);
        const SA_NOCLDWAIT: u64 = 2;
        let chld = self.signals.actions.get(libc::SIGCHLD);
        let reaps = chld.handler == libc::SIG_IGN as u64 || chld.flags & SA_NOCLDWAIT != 0;
        self.group
            .reaps_children
            .store(reaps, std::sync::atomic::Ordering::Relaxed);
    }

    /// A synchronous fault: delivered at once; if blocked or ignored the
    /// process dies, as force_sig does in Linux.
    pub fn deliver_fault(&mut self, info: SigInfo) -> Option<ExitStatus> {
        let action = self.signals.actions.get(info.signo);
        let blocked = self.signals.mask & bit(info.signo) != 0;
        if blocked || action.handler == libc::SIG_IGN as u64 {
            self.signals.actions.set(info.signo, SigAction::default());
            self.signals.mask &= !bit(info.signo);
        }
        match self.deliver(info) {
            Outcome::Exit(status) => Some(status),
            _ => None,
        }
    }

    fn deliver(&mut self, info: SigInfo) -> Outcome {
        let sig = info.signo;
        let action = self.signals.actions.get(sig);
        // The container's init ignores signals from inside its pid
        // namespace that it has no handler for (pid_namespaces(7)).
        let from_inside = !info.is_fault && info.pid_or_addr != 0;
        if self.tgid == super::process::INIT_PID && from_inside && action.handler == libc::SIG_DFL as u64 {
            return Outcome::Ignored;
        }
        if sig == libc::SIGKILL {
            self.killed_by_group = info.code == super::thread_group::SI_KERNEL;
            return Outcome::Exit(ExitStatus::Signaled(sig));
        }
        match action.handler {
            h if h == libc::SIG_IGN as u64 => Outcome::Ignored,
            h if h == libc::SIG_DFL as u64 => match default_action(sig) {
                DefaultAction::Terminate | DefaultAction::CoreDump => Outcome::Exit(ExitStatus::Signaled(sig)),
                DefaultAction::Stop => {
                    self.stop_process(sig);
                    Outcome::Ignored
                }
                DefaultAction::Ignore | DefaultAction::Continue => Outcome::Ignored,
            },
            _ => match self.push_frame(&info, action) {
                Ok(()) => Outcome::Handled,
                // Linux kills with SIGSEGV when the frame cannot be written.
                Err(_) => Outcome::Exit(ExitStatus::Signaled(libc::SIGSEGV)),
            },
        }
    }

    /// Builds an rt_sigframe on the user (or alternate) stack and points
    /// the registers at the handler.
    fn push_frame(&mut self, info: &SigInfo, action: SigAction) -> Result<()> {
        if self.restart_syscall {
            self.restart_syscall = false;
            if action.flags & SA_RESTART != 0 {
                self.rewind_syscall();
            } else {
                self.regs.rax = (-libc::EINTR as i64) as u64;
            }
        }
        let regs = self.regs;
        let (alt_sp, alt_flags, alt_size) = self.signals.altstack;
        let on_alt = alt_flags & libc::SS_DISABLE == 0 && regs.rsp > alt_sp && regs.rsp <= alt_sp + alt_size;
        let mut sp = if action.flags & SA_ONSTACK != 0 && alt_flags & libc::SS_DISABLE == 0 && !on_alt {
            alt_sp + alt_size
        } else {
            regs.rsp - 128 // the System V red zone
        };
        let mut fp = [0u8; 512];
        self.ctx.get_fp_state(&mut fp).map_err(|_| Errno::EFAULT)?;
        sp = (sp - FPSTATE_SIZE) & !63;
        let fp_addr = sp;
        self.mm.write(fp_addr, &fp)?;
        // After the handler's `ret` pops the restorer, rsp+8 is 16-aligned.
        sp = ((sp - FRAME_SIZE) & !15) - 8;
        let frame = sp;
        let mut f = vec![0u8; FRAME_SIZE as usize];
        put(&mut f, 0, action.restorer);
        put(&mut f, UC_OFFSET + 16, alt_sp);
        put(
            &mut f,
            UC_OFFSET + 24,
            if on_alt {
                libc::SS_ONSTACK as u64
            } else {
                alt_flags as u64
            },
        );
        put(&mut f, UC_OFFSET + 32, alt_size);
        let gp = [
            regs.r8,
            regs.r9,
            regs.r10,
            regs.r11,
            regs.r12,
            regs.r13,
            regs.r14,
            regs.r15,
            regs.rdi,
            regs.rsi,
            regs.rbp,
            regs.rbx,
            regs.rdx,
            regs.rax,
            regs.rcx,
            regs.rsp,
            regs.rip,
            regs.eflags,
        ];
        for (i, v) in gp.iter().enumerate() {
            put(&mut f, MCONTEXT_OFFSET + 8 * i as u64, *v);
        }
        let selectors = (regs.cs & 0xffff) | ((regs.ss & 0xffff) << 48);
        put(&mut f, MCONTEXT_OFFSET + 144, selectors);
        put(&mut f, MCONTEXT_OFFSET + 176, self.signals.mask);
        if info.is_fault {
            put(&mut f, MCONTEXT_OFFSET + 184, info.pid_or_addr);
        }
        put(&mut f, MCONTEXT_OFFSET + 192, fp_addr);
        put(
            &mut f,
            SIGMASK_OFFSET,
            self.saved_mask.take().unwrap_or(self.signals.mask),
        );
        f[INFO_OFFSET as usize..].copy_from_slice(&info.encode());
        self.mm.write(frame, &f)?;

        let sig = info.signo;
        if action.flags & SA_RESETHAND != 0 {
            self.signals.actions.set(sig, SigAction::default());
        }
        let mut mask = self.signals.mask | action.mask;
        if action.flags & SA_NODEFER == 0 {
            mask |= bit(sig);
        }
        self.signals.mask = mask & !(bit(libc::SIGKILL) | bit(libc::SIGSTOP));
        self.regs.rsp = frame;
        self.regs.rip = action.handler;
        self.regs.rdi = sig as u64;
        self.regs.rsi = frame + INFO_OFFSET;
        self.regs.rdx = frame + UC_OFFSET;
        self.regs.rax = 0;
        // The direction flag is clear on handler entry (ABI).
        self.regs.eflags &= !0x400;
        Ok(())
    }

    /// rt_sigreturn(2): restores what push_frame saved. rsp points just
    /// past the popped return address, at the ucontext.
    pub fn sigreturn(&mut self) -> Result<()> {
        let frame = self.regs.rsp.wrapping_sub(8);
        let f = self.mm.read_vec(frame, FRAME_SIZE as usize)?;
        let get = |off: u64| u64::from_le_bytes(f[off as usize..off as usize + 8].try_into().unwrap_or([0; 8]));
        let m = |i: u64| get(MCONTEXT_OFFSET + 8 * i);
        let r = &mut self.regs;
        (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) = (m(0), m(1), m(2), m(3), m(4), m(5), m(6), m(7));
        (r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip) =
            (m(8), m(9), m(10), m(11), m(12), m(13), m(14), m(15), m(16));
        r.eflags = (r.eflags & !FIX_EFLAGS) | (m(17) & FIX_EFLAGS);
        r.orig_rax = u64::MAX;
        let fp_addr = get(MCONTEXT_OFFSET + 192);
        if fp_addr != 0 {
            let mut fp = [0u8; 512];
            self.mm.read(fp_addr, &mut fp)?;
            self.ctx.set_fp_state(&fp).map_err(|_| Errno::EFAULT)?;
        }
        self.signals.mask = get(SIGMASK_OFFSET) & !(bit(libc::SIGKILL) | bit(libc::SIGSTOP));
        self.regs_replaced = true;
        Ok(())
    }
}

fn put(buf: &mut [u8], off: u64, v: u64) {
    buf[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
}
