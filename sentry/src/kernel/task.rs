//! A task: one guest thread, with its registers, address space, files and
//! credentials, and the loop that runs it.

use super::loader;
use super::Kernel;
use crate::errno::{Errno, Result};
use crate::mm::{FaultOutcome, MemoryManager, UserMemoryExt};
use crate::sandbox::ExitStatus;
use crate::syscalls;
use crate::vfs::resolve::FsContext;
use crate::vfs::{Dentry, FdTable};
use platform::{Context, Event, Regs};
use std::sync::Arc;

/// si_code of SIGBUS for an access to a nonexistent physical address
/// (here: a file page past EOF).
const BUS_ADRERR: i32 = 2;

/// User and group ids (credentials(7)) and capability sets
/// (capabilities(7)); the rules are in syscalls/creds.rs.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    /// Supplementary groups, sorted.
    pub groups: Vec<u32>,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_inheritable: u64,
    pub cap_bounding: u64,
    /// PR_SET_KEEPCAPS.
    pub keep_caps: bool,
}

/// Resource limits as (soft, hard), indexed by RLIMIT_*.
pub type Rlimits = [(u64, u64); 16];

pub fn default_rlimits() -> Rlimits {
    let inf = u64::MAX;
    let mut r = [(inf, inf); 16];
    r[libc::RLIMIT_STACK as usize] = (loader::STACK_SIZE, inf);
    r[libc::RLIMIT_NOFILE as usize] = (1024, 1024 * 1024);
    r[libc::RLIMIT_CORE as usize] = (0, inf);
    r[libc::RLIMIT_NPROC as usize] = (65536, 65536);
    r[libc::RLIMIT_MEMLOCK as usize] = (8 << 20, 8 << 20);
    r[libc::RLIMIT_SIGPENDING as usize] = (65536, 65536);
    r[libc::RLIMIT_MSGQUEUE as usize] = (819200, 819200);
    // Linux's defaults: no raising of nice or real-time priority without
    // privilege.
    r[libc::RLIMIT_NICE as usize] = (0, 0);
    r[libc::RLIMIT_RTPRIO as usize] = (0, 0);
    r
}

/// One rt_sigaction(2) entry (the kernel's struct sigaction).
#[derive(Debug, Clone, Copy, Default)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// Signal state recorded for the guest; delivery comes with the signals work.
#[derive(Debug, Clone)]
pub struct SignalState {
    /// Shared by the threads of a process (CLONE_SIGHAND).
    pub actions: SigActions,
    pub mask: u64,
    /// sigaltstack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, i32, u64),
}

/// The signal actions of a process, indexed by signal number - 1.
#[derive(Debug, Clone)]
pub struct SigActions(Arc<std::sync::Mutex<[SigAction; 64]>>);

impl Default for SigActions {
    fn default() -> Self {
        SigActions(Arc::new(std::sync::Mutex::new([SigAction::default(); 64])))
    }
}

impl SigActions {
    fn with<R>(&self, f: impl FnOnce(&mut [SigAction; 64]) -> R) -> R {
        match self.0.lock() {
            Ok(mut a) => f(&mut a),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The action for `sig` (1..=64).
    pub fn get(&self, sig: i32) -> SigAction {
        self.with(|a| a.get((sig - 1) as usize).copied().unwrap_or_default())
    }

    pub fn set(&self, sig: i32, action: SigAction) {
        self.with(|a| {
            if let Some(slot) = a.get_mut((sig - 1) as usize) {
                *slot = action;
            }
        })
    }

    pub fn snapshot(&self) -> [SigAction; 64] {
        self.with(|a| *a)
    }

    /// An independent copy (fork without CLONE_SIGHAND, exec).
    pub fn unshared(&self) -> SigActions {
        SigActions(Arc::new(std::sync::Mutex::new(self.snapshot())))
    }

    /// execve(2): caught signals revert to the default action.
    pub fn reset_handlers(&self) {
        self.with(|a| {
            for action in a.iter_mut() {
                if action.handler != libc::SIG_IGN as u64 {
                    *action = SigAction::default();
                }
            }
        })
    }
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: SigActions::default(),
            mask: 0,
            altstack: (0, libc::SS_DISABLE, 0),
        }
    }
}

pub struct Task {
    pub kernel: Arc<Kernel>,
    pub tid: i32,
    pub tgid: i32,
    pub ppid: i32,
    pub ctx: Box<dyn Context>,
    pub regs: Regs,
    pub mm: Arc<MemoryManager>,
    pub fds: Arc<FdTable>,
    /// Root, cwd and umask; shared by the threads of a process (CLONE_FS).
    pub fs_shared: Arc<std::sync::Mutex<FsContext>>,
    pub creds: Credentials,
    pub rlimits: Rlimits,
    /// The executable, for /proc/self/exe.
    pub exe: Option<Arc<Dentry>>,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// set_tid_address(2).
    pub clear_child_tid: u64,
    /// set_robust_list(2): (head, len).
    pub robust_list: (u64, u64),
    pub signals: SignalState,
    pub pgid: i32,
    pub sid: i32,
    /// Set by exit/exit_group: the loop stops after the current syscall.
    pub exit_status: Option<ExitStatus>,
    /// Set by execve: registers were replaced, do not store a return value.
    pub regs_replaced: bool,
    /// The process this thread belongs to.
    pub group: Arc<super::thread_group::ThreadGroup>,
    /// exit(2) ends only this thread; anything else ends the process.
    pub thread_exit_only: bool,
    /// Killed by its own thread group (exit_group or exec elsewhere).
    pub killed_by_group: bool,
    /// Signals posted to this thread and not yet delivered.
    pub signal_queue: Arc<super::signals::SignalQueue>,
    /// The last syscall returned ERESTARTSYS: restart or EINTR once the
    /// signal is delivered.
    pub restart_syscall: bool,
    /// rt_sigsuspend: the mask to restore after the handler runs.
    pub saved_mask: Option<u64>,
    /// For a vfork child: dropped at exec or exit, which resumes the parent.
    pub vfork_done: Option<std::sync::mpsc::Sender<()>>,
    /// PR_SET_NAME: the thread's name, NUL-padded (set at exec); shared
    /// with /proc/PID/task/TID/comm.
    pub comm: super::procinfo::Comm,
    /// The auxiliary vector of the last exec, for /proc/PID/auxv.
    pub auxv: Arc<[u64]>,
    /// PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
}

/// What clone(2) asked for, as far as a new process is concerned.
pub struct CloneRequest {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

impl Task {
    /// Builds the first task of a sandbox with an empty address space bound
    /// to the calling thread.
    pub fn new_init(kernel: Arc<Kernel>, fs: FsContext, fds: FdTable, creds: Credentials) -> Result<Task> {
        let ctx = kernel.platform.new_context(kernel.memfile.fd()).map_err(|e| {
            tracing::error!("cannot create a guest context: {e}");
            Errno::ENOMEM
        })?;
        let pid = kernel.alloc_pid();
        let mm = Arc::new(MemoryManager::new(kernel.memfile.clone(), ctx.max_user_address(), pid));
        kernel.processes.add(pid, 0, pid, creds.uid)?;
        let host_pid = ctx.host_pid().unwrap_or(0);
        kernel.proc_attrs.update(pid, |a| a.host_pid = host_pid);
        let signal_queue = super::signals::SignalQueue::new(ctx.interrupter());
        if let Ok(mut q) = kernel.signal_queues.lock() {
            q.insert(pid, signal_queue.clone());
        }
        let group = super::thread_group::ThreadGroup::new(pid, signal_queue.clone());
        if let Ok(mut g) = kernel.groups.lock() {
            g.insert(pid, Arc::downgrade(&group));
        }
        Ok(Task {
            group,
            thread_exit_only: false,
            killed_by_group: false,
            signal_queue,
            restart_syscall: false,
            saved_mask: None,
            kernel,
            tid: pid,
            tgid: pid,
            ppid: 0,
            ctx,
            // SAFETY: user_regs_struct is plain integers; zero is valid.
            regs: unsafe { std::mem::zeroed() },
            mm,
            fds: Arc::new(fds),
            fs_shared: Arc::new(std::sync::Mutex::new(fs)),
            creds,
            rlimits: default_rlimits(),
            exe: None,
            argv: Vec::new(),
            envp: Vec::new(),
            clear_child_tid: 0,
            robust_list: (0, 0),
            signals: SignalState::default(),
            pgid: pid,
            sid: pid,
            exit_status: None,
            regs_replaced: false,
            vfork_done: None,
            comm: Default::default(),
            auxv: Arc::from(Vec::new()),
            no_new_privs: false,
        })
    }

    /// execve(2): loads `path` into a brand-new address space and, on
    /// success, replaces the current one. On failure the task is unchanged.
    pub fn exec(&mut self, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<()> {
        if self.group.thread_count() > 1 {
            // execve(2): all other threads are destroyed.
            self.group
                .kill_others_and_wait(self.tid, std::time::Duration::from_secs(2));
        }
        let mut ctx = self
            .kernel
            .platform
            .new_context(self.kernel.memfile.fd())
            .map_err(|e| {
                tracing::error!("cannot create a guest context: {e}");
                Errno::ENOMEM
            })?;
        let mm = Arc::new(MemoryManager::new(
            self.kernel.memfile.clone(),
            ctx.max_user_address(),
            self.tgid,
        ));
        let loaded = loader::load(
            &mm,
            ctx.as_mut(),
            &self.fs(),
            path,
            argv,
            &envp,
            (self.creds.euid, self.creds.egid),
        )?;
        // Point of no return.
        self.mm.detach(self.tgid);
        self.signal_queue.set_interrupter(ctx.interrupter());
        self.carry_cpu_time_to(ctx.host_pid().unwrap_or(0));
        self.ctx = ctx;
        self.mm = mm;
        self.fds.close_on_exec()?;
        // SAFETY: plain integers; zero is valid.
        self.regs = unsafe { std::mem::zeroed() };
        self.regs.rip = loaded.entry;
        self.regs.rsp = loaded.stack_pointer;
        self.exe = Some(loaded.exe);
        self.argv = loaded.argv;
        self.auxv = loaded.auxv;
        self.envp = envp;
        self.clear_child_tid = 0;
        self.robust_list = (0, 0);
        self.reset_signal_handlers_for_exec();
        self.regs_replaced = true;
        self.vfork_done = None;
        self.kernel.processes.mark_execed(self.tgid);
        self.on_exec(path);
        self.publish();
        Ok(())
    }

    /// execve(2): caught signals revert to the default action; ignored
    /// ones stay ignored; the mask and pending signals are kept; the
    /// alternate stack is cleared.
    fn reset_signal_handlers_for_exec(&mut self) {
        // The other threads are gone: the table stops being shared.
        self.signals.actions = self.signals.actions.unshared();
        self.signals.actions.reset_handlers();
        self.signals.altstack = (0, libc::SS_DISABLE, 0);
    }

    /// clone(2) of a new process (not a thread): fork, vfork, or a
    /// CLONE_VM|CLONE_VFORK child as posix_spawn makes. The child runs on
    /// its own host thread, which becomes its tracer. Returns the child pid.
    pub fn clone_process(&mut self, req: CloneRequest) -> Result<i32> {
        let share_vm = req.flags & libc::CLONE_VM as u64 != 0;
        let vfork = req.flags & libc::CLONE_VFORK as u64 != 0;
        let pid = self.kernel.alloc_pid();
        // RLIMIT_NPROC counts the real uid's processes; root is exempt, as
        // with CAP_SYS_RESOURCE on Linux (fork(2) EAGAIN).
        let limit = if self.creds.euid == 0 {
            u64::MAX
        } else {
            self.rlimits[libc::RLIMIT_NPROC as usize].0
        };
        self.kernel
            .processes
            .add_limited(pid, self.tgid, self.pgid, self.creds.uid, limit)?;
        self.kernel.processes.set_session(pid, self.sid);
        self.kernel
            .processes
            .set_exit_signal(pid, (req.flags & libc::CSIGNAL as u64) as i32);
        self.on_fork(pid);
        let mut child = ChildTemplate::from_parent(self, pid, &req);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let (vfork_tx, vfork_rx) = std::sync::mpsc::channel::<()>();
        if vfork {
            child.vfork_done = Some(vfork_tx);
        }
        let space = if share_vm {
            Space::Share(self.mm.clone())
        } else {
            Space::Fork(self.mm.clone())
        };
        let started = spawn_task(child, space, ready_tx).and_then(|_| ready_rx.recv().unwrap_or(Err(Errno::EAGAIN)));
        if let Err(e) = started {
            self.kernel
                .processes
                .exit(pid, ExitStatus::Exited(0), &|_| false, &|_| false);
            let _ = self
                .kernel
                .processes
                .wait(self.tgid, super::process::WaitTarget::Pid(pid), true);
            return Err(e);
        }
        if req.flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
            self.mm.write_val(req.parent_tid, &pid)?;
        }
        if vfork {
            // Returns when the child execs or exits (its sender is dropped).
            let _ = vfork_rx.recv();
        }
        Ok(pid)
    }

    /// clone(2) with CLONE_THREAD: a new thread of this process, in the
    /// same stub process, run by a new host thread. Returns its tid.
    pub fn clone_thread(&mut self, req: CloneRequest) -> Result<i32> {
        let seed = self.ctx.spawn_thread().map_err(|e| {
            tracing::warn!("cannot create a guest thread: {e}");
            Errno::EAGAIN
        })?;
        let tid = self.kernel.alloc_pid();
        let mut child = ChildTemplate::from_parent(self, tid, &req);
        child.tgid = self.tgid;
        child.ppid = self.ppid;
        child.group = Some(self.group.clone());
        // Written before the thread can run, as Linux does: a thread that
        // exits at once clears this word (CLONE_CHILD_CLEARTID), and a
        // later write would undo that and hang pthread_join.
        if req.flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
            self.mm.write_val(req.parent_tid, &tid)?;
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        spawn_task(child, Space::Thread(seed, self.mm.clone()), ready_tx)?;
        ready_rx.recv().unwrap_or(Err(Errno::EAGAIN))?;
        Ok(tid)
    }

    /// A snapshot of the task's filesystem view (cheap: a few Arcs),
    /// resolving paths with this task's credentials.
    pub fn fs(&self) -> FsContext {
        let mut fs = match self.fs_shared.lock() {
            Ok(fs) => fs.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        fs.searcher = self.path_searcher();
        fs
    }

    /// Whose search permission path walks check: none with
    /// CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH (capabilities(7)).
    fn path_searcher(&self) -> Option<Arc<crate::vfs::resolve::Searcher>> {
        const CAP_DAC_OVERRIDE: u32 = 1;
        const CAP_DAC_READ_SEARCH: u32 = 2;
        if self.creds.capable(CAP_DAC_OVERRIDE) || self.creds.capable(CAP_DAC_READ_SEARCH) {
            return None;
        }
        Some(Arc::new(crate::vfs::resolve::Searcher {
            uid: self.creds.euid,
            gid: self.creds.egid,
            groups: self.creds.groups.clone(),
        }))
    }

    /// Takes resource limits another process set with prlimit(2).
    fn take_remote_rlimits(&mut self) {
        let Ok(mut update) = self.group.rlimit_update.lock() else {
            return;
        };
        if let Some(limits) = update.take() {
            self.rlimits = limits;
            self.fds.set_limit(limits[libc::RLIMIT_NOFILE as usize].0);
            // Published before the update is gone, so that readers never
            // see the old limits.
            self.publish();
        }
    }

    /// Changes the working directory of every thread sharing it.
    pub fn set_cwd(&self, cwd: Arc<Dentry>) {
        if let Ok(mut fs) = self.fs_shared.lock() {
            fs.cwd = cwd;
        }
    }

    /// chroot(2): the new root, shared like the cwd.
    pub fn set_root(&self, root: Arc<Dentry>) {
        if let Ok(mut fs) = self.fs_shared.lock() {
            fs.root = root;
        }
    }

    /// umask(2): returns the old mask.
    pub fn swap_umask(&self, mask: u32) -> u32 {
        match self.fs_shared.lock() {
            Ok(mut fs) => std::mem::replace(&mut fs.umask, mask),
            Err(_) => 0o022,
        }
    }

    /// Publishes what /proc shows about this process.
    pub fn publish(&self) {
        let thread = super::procinfo::ThreadEntry {
            tgid: self.tgid,
            comm: self.comm.clone(),
            queue: self.signal_queue.clone(),
        };
        let now_ticks = self.kernel.uptime().as_millis() as u64 * super::procinfo::CLK_TCK / 1000;
        self.kernel
            .procs
            .publish(self.tid, thread, now_ticks, |live| super::procinfo::ProcEntry {
                ppid: self.ppid,
                exe: self.exe.as_ref().map(|d| d.path.clone()).unwrap_or_default(),
                argv: self.argv.clone(),
                envp: self.envp.clone(),
                auxv: self.auxv.clone(),
                fds: self.fds.clone(),
                mm: Some(self.mm.clone()),
                fs: self.fs_shared.clone(),
                creds: self.creds.clone(),
                rlimits: self.rlimits,
                actions: self.signals.actions.clone(),
                group: self.group.clone(),
                no_new_privs: self.no_new_privs,
                live,
                zombie: false,
            });
    }

    /// The process has exited: /proc shows a zombie until it is reaped.
    pub fn unpublish(&self) {
        let leader = super::procinfo::ThreadEntry {
            tgid: self.tgid,
            comm: self.comm.clone(),
            queue: self.signal_queue.clone(),
        };
        // Each exit also forgets the zombies reaped since the last one, so
        // the registry stays bounded even when nobody reads /proc.
        let kernel = &self.kernel;
        kernel.procs.prune_reaped(|pid| kernel.processes.exists(pid));
        kernel.procs.mark_zombie(self.tgid, leader);
    }

    /// Runs the task until it exits.
    pub fn run(&mut self) {
        super::procinfo::set_current(self.tgid, self.tid);
        let status = self.run_loop().unwrap_or_else(|e| {
            tracing::warn!("task {}: platform failure: {e}", self.tid);
            ExitStatus::Signaled(libc::SIGKILL)
        });
        self.finish(status);
    }

    /// execve(2) keeps the process's CPU time: the old stub's clock is read
    /// before it goes, and the new stub's counts from here.
    fn carry_cpu_time_to(&self, new_host_pid: i32) {
        let old = self.ctx.host_pid().unwrap_or(0);
        let used = super::cputime::host_process(old);
        self.kernel.proc_attrs.update(self.tgid, |a| {
            a.cpu_carried.user += used;
            a.host_pid = new_host_pid;
        });
    }

    /// The end of a thread: wakes its joiner (CLONE_CHILD_CLEARTID), and if
    /// it was the process's last thread, makes the process a zombie and
    /// tells its parent.
    fn finish(&mut self, status: ExitStatus) {
        let served = super::cputime::this_thread();
        self.kernel
            .proc_attrs
            .update(self.tgid, |a| a.cpu_carried.system += served);
        if !self.thread_exit_only && !self.killed_by_group {
            self.group.begin_group_exit(status, self.tid);
        }
        self.release_robust_futexes();
        if self.clear_child_tid != 0 {
            let addr = self.clear_child_tid;
            if self.mm.write_val(addr, &0u32).is_ok() {
                // Linux wakes a shared futex here (kernel/fork.c); for a
                // private mapping that is the same key as a private one.
                let _ = self.kernel.futexes.wake(&self.mm, false, addr, 1, u32::MAX);
            }
        }
        self.vfork_done = None;
        // Before the parent hears of the exit: the last user of the fd
        // table closes it, releasing the process's locks.
        self.fds.remove_user();
        if let Ok(mut q) = self.kernel.signal_queues.lock() {
            q.remove(&self.tid);
            if self.tid == self.tgid {
                if let Some(next) = self.group.main_queue().filter(|_| self.group.thread_count() > 1) {
                    q.insert(self.tgid, next);
                }
            }
        }
        self.kernel.procs.remove_thread(self.tid);
        if let Some(final_status) = self.group.thread_exited(self.tid, status) {
            self.process_exited(final_status);
        }
    }

    /// At thread exit, every robust futex the thread still holds gets
    /// FUTEX_OWNER_DIED and one waiter is woken (set_robust_list(2),
    /// Documentation/locking/robust-futex-ABI).
    fn release_robust_futexes(&self) {
        const FUTEX_WAITERS: u32 = 0x8000_0000;
        const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
        const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
        const MAX_ENTRIES: usize = 2048;
        let head = self.robust_list.0;
        if head == 0 {
            return;
        }
        let Ok([first, offset, pending]) = self.mm.read_val::<[u64; 3]>(head) else {
            return;
        };
        let release = |entry: u64| {
            let word_addr = entry.wrapping_add(offset);
            let Ok(word) = self.mm.read_val::<u32>(word_addr) else {
                return;
            };
            if word & FUTEX_TID_MASK != self.tid as u32 {
                return;
            }
            let new = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            if self.mm.write_val(word_addr, &new).is_ok() && word & FUTEX_WAITERS != 0 {
                let _ = self.kernel.futexes.wake(&self.mm, false, word_addr, 1, u32::MAX);
            }
        };
        let mut entry = first;
        for _ in 0..MAX_ENTRIES {
            if entry == head || entry == 0 {
                break;
            }
            let Ok(next) = self.mm.read_val::<u64>(entry) else {
                break;
            };
            if entry != pending {
                release(entry);
            }
            entry = next;
        }
        if pending != 0 {
            release(pending);
        }
    }

    fn process_exited(&self, status: ExitStatus) {
        self.on_process_exit();
        if self.sid == self.tgid {
            crate::fs::tty::ctty::session_leader_exited(&self.kernel, self.sid);
        }
        if let Ok(mut g) = self.kernel.groups.lock() {
            g.remove(&self.tgid);
        }
        self.mm.flush_shared_files();
        self.mm.detach(self.tgid);
        self.unpublish();
        if let Ok(mut q) = self.kernel.signal_queues.lock() {
            q.remove(&self.tgid);
        }
        let exit_signal = self.kernel.processes.exit_signal(self.tgid);
        // A parent that set SIGCHLD to SIG_IGN (or SA_NOCLDWAIT) gets no
        // zombie to wait for (wait(2) NOTES); only children that report with
        // SIGCHLD are reaped so.
        let reap_now = |parent: i32| exit_signal == libc::SIGCHLD && self.kernel.parent_ignores_children(parent);
        let parent = self.kernel.processes.exit(
            self.tgid,
            status,
            &|pid| self.kernel.proc_attrs.get(pid).child_subreaper,
            &reap_now,
        );
        if !self.kernel.processes.exists(self.tgid) {
            // Reaped at once: nobody will ask for its CPU time.
            self.kernel.proc_attrs.take_exited_cpu(self.tgid);
        }
        if let Some(parent) = parent {
            // The exit signal chosen at clone(2); 0 sends nothing.
            if exit_signal != 0 {
                let mut info = super::signals::SigInfo::child(self.tgid, super::process::WaitEvent::Exited(status));
                info.signo = exit_signal;
                let _ = self.kernel.post_signal(parent, info);
            }
        }
        if self.tgid == super::process::INIT_PID {
            if let Some(tx) = self.kernel.init_exit.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(status);
            }
        }
    }

    fn run_loop(&mut self) -> std::result::Result<ExitStatus, platform::Error> {
        super::interrupt::set_current(self.signal_queue.clone());
        self.sync_signal_masks();
        // The (address, rip) of the last fault another thread had already
        // resolved: the same fault twice in a row is delivered.
        let mut last_resolved_fault: Option<(u64, u64)> = None;
        loop {
            self.group.wait_while_stopped(&self.signal_queue);
            if let Some(status) = self.deliver_pending() {
                return Ok(status);
            }
            self.mm.apply_remaps(self.tgid, self.ctx.as_mut());
            match self.ctx.switch(&mut self.regs)? {
                Event::Syscall => {
                    last_resolved_fault = None;
                    self.regs_replaced = false;
                    self.take_remote_rlimits();
                    let result = syscalls::dispatch(self);
                    if let Some(status) = self.exit_status {
                        return Ok(status);
                    }
                    if !self.regs_replaced {
                        self.regs.rax = match result {
                            Ok(v) => v,
                            Err(super::interrupt::ERESTARTSYS) => {
                                self.restart_syscall = true;
                                (-libc::EINTR as i64) as u64
                            }
                            // Made again after the signal, handler or not.
                            Err(super::interrupt::ERESTARTNOINTR) => {
                                self.rewind_syscall();
                                self.regs.rax
                            }
                            Err(e) => (-(e.0 as i64)) as u64,
                        };
                    }
                }
                Event::Fault { signo, code, addr } => {
                    let (signo, code) = match self.mm.handle_fault(self.ctx.as_mut(), self.tgid, signo, code, addr) {
                        FaultOutcome::Retry => continue,
                        FaultOutcome::AlreadyResolved if last_resolved_fault != Some((addr, self.regs.rip)) => {
                            last_resolved_fault = Some((addr, self.regs.rip));
                            continue;
                        }
                        FaultOutcome::AlreadyResolved => (signo, code),
                        // mmap(2): a touch of a file page past EOF.
                        FaultOutcome::PastEof => (libc::SIGBUS, BUS_ADRERR),
                        FaultOutcome::Deliver => (signo, code),
                    };
                    tracing::debug!("guest fault: signal {signo} at {addr:#x}, rip {:#x}", self.regs.rip);
                    let info = super::signals::SigInfo {
                        signo,
                        code,
                        pid_or_addr: addr,
                        is_fault: true,
                        ..Default::default()
                    };
                    if let Some(status) = self.deliver_fault(info) {
                        return Ok(status);
                    }
                }
                Event::Interrupted => {}
            }
            if let Some(status) = self.deliver_pending() {
                return Ok(status);
            }
        }
    }
}

/// Everything a clone child inherits, sent to the child's thread.
struct ChildTemplate {
    kernel: Arc<Kernel>,
    pid: i32,
    tgid: i32,
    group: Option<Arc<super::thread_group::ThreadGroup>>,
    ppid: i32,
    regs: Regs,
    fds: Arc<FdTable>,
    /// CLONE_FILES: `fds` is the parent's table, which gains a user once
    /// the child exists.
    shares_fds: bool,
    fs: Arc<std::sync::Mutex<FsContext>>,
    creds: Credentials,
    rlimits: Rlimits,
    exe: Option<Arc<Dentry>>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    signals: SignalState,
    pgid: i32,
    sid: i32,
    set_child_tid: Option<u64>,
    clear_child_tid: u64,
    vfork_done: Option<std::sync::mpsc::Sender<()>>,
    fp_state: Option<[u8; 512]>,
    comm: [u8; 16],
    auxv: Arc<[u64]>,
    no_new_privs: bool,
}

impl ChildTemplate {
    fn from_parent(parent: &mut Task, pid: i32, req: &CloneRequest) -> ChildTemplate {
        let mut fp = [0u8; 512];
        let fp_state = parent.ctx.get_fp_state(&mut fp).ok().map(|_| fp);
        let mut regs = parent.regs;
        regs.rax = 0;
        if req.stack != 0 {
            regs.rsp = req.stack;
        }
        if req.flags & libc::CLONE_SETTLS as u64 != 0 {
            regs.fs_base = req.tls;
        }
        let fds = if req.flags & libc::CLONE_FILES as u64 != 0 {
            parent.fds.clone()
        } else {
            Arc::new(parent.fds.fork().unwrap_or_default())
        };
        let has = |flag: i32| req.flags & flag as u64 != 0;
        ChildTemplate {
            kernel: parent.kernel.clone(),
            pid,
            tgid: pid,
            group: None,
            ppid: parent.tgid,
            regs,
            fds,
            shares_fds: has(libc::CLONE_FILES),
            fs: if has(libc::CLONE_FS) {
                parent.fs_shared.clone()
            } else {
                Arc::new(std::sync::Mutex::new(parent.fs()))
            },
            creds: parent.creds.clone(),
            rlimits: parent.rlimits,
            exe: parent.exe.clone(),
            argv: parent.argv.clone(),
            envp: parent.envp.clone(),
            signals: SignalState {
                actions: if has(libc::CLONE_SIGHAND) {
                    parent.signals.actions.clone()
                } else {
                    parent.signals.actions.unshared()
                },
                mask: parent.signals.mask,
                altstack: if has(libc::CLONE_VM) && !has(libc::CLONE_VFORK) {
                    (0, libc::SS_DISABLE, 0)
                } else {
                    parent.signals.altstack
                },
            },
            pgid: parent.pgid,
            sid: parent.sid,
            set_child_tid: has(libc::CLONE_CHILD_SETTID).then_some(req.child_tid),
            clear_child_tid: if has(libc::CLONE_CHILD_CLEARTID) {
                req.child_tid
            } else {
                0
            },
            vfork_done: None,
            fp_state,
            comm: parent.comm.get(),
            auxv: parent.auxv.clone(),
            no_new_privs: parent.no_new_privs,
        }
    }

    /// Runs on the child's thread: creates its context and address space.
    fn build(self, space: Space) -> Result<Task> {
        let platform = &self.kernel.platform;
        let new_context = || {
            platform.new_context(self.kernel.memfile.fd()).map_err(|e| {
                tracing::error!("cannot create a guest context: {e}");
                Errno::EAGAIN
            })
        };
        let (mut ctx, mm) = match space {
            Space::Fork(parent_mm) => {
                let mut ctx = new_context()?;
                let mm = Arc::new(parent_mm.fork(ctx.as_mut(), self.tgid)?);
                (ctx, mm)
            }
            Space::Share(parent_mm) => {
                let mut ctx = new_context()?;
                parent_mm.attach(ctx.as_mut(), self.tgid)?;
                (ctx, parent_mm)
            }
            Space::Thread(seed, parent_mm) => {
                let ctx = platform.adopt_thread(seed).map_err(|e| {
                    tracing::error!("cannot adopt a guest thread: {e}");
                    Errno::EAGAIN
                })?;
                (ctx, parent_mm)
            }
        };
        if self.group.is_none() {
            let host_pid = ctx.host_pid().unwrap_or(0);
            self.kernel.proc_attrs.update(self.tgid, |a| a.host_pid = host_pid);
        }
        if let Some(addr) = self.set_child_tid {
            mm.write_val(addr, &self.pid)?;
        }
        if let Some(fp) = &self.fp_state {
            ctx.set_fp_state(fp).map_err(|e| {
                tracing::warn!("setting a new task's FP state: {e}");
                Errno::EAGAIN
            })?;
        }
        let signal_queue = super::signals::SignalQueue::new(ctx.interrupter());
        let group = match self.group {
            Some(group) => {
                group.add(self.pid, signal_queue.clone())?;
                group
            }
            None => {
                let group = super::thread_group::ThreadGroup::new(self.pid, signal_queue.clone());
                if let Ok(mut g) = self.kernel.groups.lock() {
                    g.insert(self.pid, Arc::downgrade(&group));
                }
                group
            }
        };
        if self.shares_fds {
            self.fds.add_user();
        }
        let task = Task {
            kernel: self.kernel,
            tid: self.pid,
            tgid: self.tgid,
            group,
            thread_exit_only: false,
            killed_by_group: false,
            ppid: self.ppid,
            ctx,
            regs: self.regs,
            mm,
            fds: self.fds,
            fs_shared: self.fs,
            creds: self.creds,
            rlimits: self.rlimits,
            exe: self.exe,
            argv: self.argv,
            envp: self.envp,
            clear_child_tid: self.clear_child_tid,
            robust_list: (0, 0),
            signals: self.signals,
            pgid: self.pgid,
            sid: self.sid,
            exit_status: None,
            regs_replaced: false,
            vfork_done: self.vfork_done,
            signal_queue,
            restart_syscall: false,
            saved_mask: None,
            comm: super::procinfo::Comm::new(self.comm),
            auxv: self.auxv,
            no_new_privs: self.no_new_privs,
        };
        if let Ok(mut q) = task.kernel.signal_queues.lock() {
            // By tid: a thread's own queue (the leader's tid is the tgid).
            q.insert(task.tid, task.signal_queue.clone());
        }
        task.publish();
        Ok(task)
    }
}

/// Where a clone child's address space comes from.
enum Space {
    /// fork: a copy.
    Fork(Arc<MemoryManager>),
    /// CLONE_VM|CLONE_VFORK: the same pages, in a new stub process.
    Share(Arc<MemoryManager>),
    /// CLONE_THREAD: the same stub process.
    Thread(platform::ThreadSeed, Arc<MemoryManager>),
}

/// Starts a clone child on its own host thread; it reports on `ready`
/// once its context exists.
fn spawn_task(child: ChildTemplate, space: Space, ready: std::sync::mpsc::Sender<Result<()>>) -> Result<()> {
    let name = format!("task-{}", child.pid);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let mut task = match child.build(space) {
                Ok(task) => task,
                Err(e) => {
                    tracing::warn!("starting a cloned task failed: {e}");
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            task.run();
        })
        .map(|_| ())
        .map_err(|_| Errno::EAGAIN)
}
