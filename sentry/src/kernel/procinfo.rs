//! What the kernel shows through /proc: a registry of processes and
//! threads, published by tasks when they start, exec or change what /proc
//! shows, and the [`ProcSource`] that procfs reads it through. The text of
//! the per-process files is in [`super::procrender`].

use super::procrender;
use super::signals::SignalQueue;
use super::task::{Credentials, Rlimits, SigActions};
use super::thread_group::ThreadGroup;
use super::Kernel;
use crate::errno::{Errno, Result};
use crate::fs::proc::{PidLink, ProcSource};
use crate::mm::MemoryManager;
use crate::vfs::resolve::FsContext;
use crate::vfs::FdTable;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Clock ticks per second of /proc times (AT_CLKTCK, sysconf(_SC_CLK_TCK)).
pub const CLK_TCK: u64 = 100;

/// A thread's name (PR_SET_NAME, /proc/PID/task/TID/comm): up to 15 bytes,
/// NUL-padded. Shared between the task and procfs so that a write to
/// /proc/self/comm is what prctl(PR_GET_NAME) then reads.
#[derive(Clone, Default)]
pub struct Comm(Arc<Mutex<[u8; 16]>>);

impl Comm {
    pub fn new(name: [u8; 16]) -> Comm {
        Comm(Arc::new(Mutex::new(name)))
    }

    pub fn get(&self) -> [u8; 16] {
        match self.0.lock() {
            Ok(c) => *c,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    pub fn set(&self, name: [u8; 16]) {
        match self.0.lock() {
            Ok(mut c) => *c = name,
            Err(poisoned) => *poisoned.into_inner() = name,
        }
    }

    /// The name up to its first NUL.
    pub fn text(&self) -> String {
        let raw = self.get();
        let len = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..len]).into_owned()
    }
}

/// A comm from the first 15 bytes of `bytes`, cut at a NUL (what a write
/// to /proc/PID/comm sets: fs/proc/base.c comm_write, set_task_comm).
pub fn comm_from_bytes(bytes: &[u8]) -> [u8; 16] {
    let mut comm = [0u8; 16];
    for (slot, &b) in comm.iter_mut().zip(bytes.iter().take(15).take_while(|&&b| b != 0)) {
        *slot = b;
    }
    comm
}

/// What survives exec and republishing: fixed at process creation or
/// changed only through /proc.
pub struct ProcLive {
    /// When the process started, in [`CLK_TCK`] ticks since the sandbox
    /// booted (field 22 of /proc/PID/stat).
    pub start_ticks: u64,
    /// /proc/PID/oom_score_adj (-1000..=1000), inherited at fork.
    pub oom_score_adj: AtomicI32,
}

/// A snapshot of one process for /proc; the Arcs are live.
#[derive(Clone)]
pub struct ProcEntry {
    pub ppid: i32,
    pub exe: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// The auxiliary vector the loader built, as words (pairs, AT_NULL last).
    pub auxv: Arc<[u64]>,
    pub fds: Arc<FdTable>,
    /// None once the process is a zombie.
    pub mm: Option<Arc<MemoryManager>>,
    /// Root, cwd and umask (live).
    pub fs: Arc<Mutex<FsContext>>,
    pub creds: Credentials,
    pub rlimits: Rlimits,
    pub actions: SigActions,
    pub group: Arc<ThreadGroup>,
    pub no_new_privs: bool,
    pub live: Arc<ProcLive>,
    /// Exited and not yet reaped: /proc still shows it, as state Z.
    pub zombie: bool,
}

/// One thread for /proc/PID/task/TID.
#[derive(Clone)]
pub struct ThreadEntry {
    pub tgid: i32,
    pub comm: Comm,
    pub queue: Arc<SignalQueue>,
}

#[derive(Default)]
pub struct RegistryState {
    procs: BTreeMap<i32, ProcEntry>,
    threads: BTreeMap<i32, ThreadEntry>,
}

/// Processes and threads, for /proc.
#[derive(Default)]
pub struct Registry(Mutex<RegistryState>);

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records thread `tid` of process `tgid`, and the process as `make`
    /// builds it from its [`ProcLive`] (kept from an earlier publication,
    /// or new: started at `now_ticks`, with the parent's oom_score_adj).
    pub fn publish(
        &self,
        tid: i32,
        thread: ThreadEntry,
        now_ticks: u64,
        make: impl FnOnce(Arc<ProcLive>) -> ProcEntry,
    ) {
        let mut state = self.lock();
        let tgid = thread.tgid;
        let existing = state.procs.get(&tgid).map(|p| p.live.clone());
        let is_new = existing.is_none();
        let live = existing.unwrap_or_else(|| {
            Arc::new(ProcLive {
                start_ticks: now_ticks,
                oom_score_adj: AtomicI32::new(0),
            })
        });
        let entry = make(live.clone());
        if is_new {
            // fork(2): the child inherits oom_score_adj.
            if let Some(parent) = state.procs.get(&entry.ppid) {
                let adj = parent.live.oom_score_adj.load(Ordering::Relaxed);
                live.oom_score_adj.store(adj, Ordering::Relaxed);
            }
        }
        state.procs.insert(tgid, entry);
        state.threads.insert(tid, thread);
    }

    /// Thread `tid` has exited.
    pub fn remove_thread(&self, tid: i32) {
        self.lock().threads.remove(&tid);
    }

    /// Process `tgid` has exited: until it is reaped /proc shows it as a
    /// zombie, with `leader` as its one thread and nothing of its memory,
    /// files or arguments (which are released now).
    pub fn mark_zombie(&self, tgid: i32, leader: ThreadEntry) {
        let mut state = self.lock();
        state.threads.retain(|_, t| t.tgid != tgid);
        let Some(entry) = state.procs.get_mut(&tgid) else {
            return;
        };
        entry.zombie = true;
        entry.mm = None;
        entry.fds = Arc::new(FdTable::default());
        entry.argv.clear();
        entry.envp.clear();
        entry.auxv = Arc::from(Vec::new());
        state.threads.insert(tgid, leader);
    }

    /// Drops the zombies that have been reaped (`exists` is false for
    /// them): wait(2) is what removes a process from /proc.
    pub fn prune_reaped(&self, exists: impl Fn(i32) -> bool) {
        let mut state = self.lock();
        let before = state.procs.len();
        state.procs.retain(|&pid, e| !e.zombie || exists(pid));
        if state.procs.len() != before {
            let RegistryState { procs, threads } = &mut *state;
            threads.retain(|_, t| procs.contains_key(&t.tgid));
        }
    }

    /// Every live process (not the zombies), by pid.
    pub fn snapshot(&self) -> Vec<(i32, ProcEntry)> {
        self.lock()
            .procs
            .iter()
            .filter(|(_, e)| !e.zombie)
            .map(|(&pid, e)| (pid, e.clone()))
            .collect()
    }

    /// The credentials process `pid` last published.
    pub fn creds_of(&self, pid: i32) -> Option<Credentials> {
        self.lock().procs.get(&pid).map(|e| e.creds.clone())
    }

    /// The resource limits `pid` last published.
    pub fn rlimits_of(&self, pid: i32) -> Option<super::task::Rlimits> {
        self.lock().procs.get(&pid).map(|e| e.rlimits)
    }

    fn process(&self, pid: i32) -> Option<ProcEntry> {
        self.lock().procs.get(&pid).cloned()
    }

    /// Thread `tid` of `pid`; for the process itself (tid == pid) after
    /// its leader exited, any of its threads.
    fn thread(&self, pid: i32, tid: i32) -> Option<ThreadEntry> {
        let state = self.lock();
        if let Some(t) = state.threads.get(&tid).filter(|t| t.tgid == pid) {
            return Some(t.clone());
        }
        if tid != pid {
            return None;
        }
        state.threads.values().find(|t| t.tgid == pid).cloned()
    }

    fn pids(&self) -> Vec<i32> {
        self.lock().procs.keys().copied().collect()
    }

    /// Number of threads in the sandbox.
    pub fn thread_count(&self) -> usize {
        self.lock().threads.len()
    }
}

thread_local! {
    /// The pid and tid of the task running on this host thread.
    static CURRENT: Cell<(i32, i32)> = const { Cell::new((1, 1)) };
}

pub fn set_current(tgid: i32, tid: i32) {
    CURRENT.with(|c| c.set((tgid, tid)));
}

/// The kernel as procfs sees it.
pub struct KernelProc(pub Weak<Kernel>);

/// Everything the per-process files are rendered from.
pub struct View<'a> {
    pub kernel: &'a Kernel,
    pub pid: i32,
    pub tid: i32,
    pub proc: &'a ProcEntry,
    pub thread: &'a ThreadEntry,
    /// The reader is this process (its state shows as running).
    pub is_current: bool,
}

impl KernelProc {
    /// The kernel, with reaped zombies already gone from the registry.
    fn kernel(&self) -> Option<Arc<Kernel>> {
        let kernel = self.0.upgrade()?;
        kernel.procs.prune_reaped(|pid| kernel.processes.exists(pid));
        Some(kernel)
    }

    fn entry(&self, pid: i32) -> Option<ProcEntry> {
        self.kernel()?.procs.process(pid)
    }

    fn with_view<R>(&self, pid: i32, tid: i32, f: impl FnOnce(&View) -> R) -> Option<R> {
        let kernel = self.kernel()?;
        let proc = kernel.current_parent(kernel.procs.process(pid)?, pid);
        let thread = kernel.procs.thread(pid, tid)?;
        let view = View {
            kernel: &kernel,
            pid,
            tid,
            proc: &proc,
            thread: &thread,
            is_current: self.current_pid() == pid,
        };
        Some(f(&view))
    }
}

fn nul_joined(items: &[Vec<u8>]) -> Vec<u8> {
    items.iter().flat_map(|a| a.iter().copied().chain([0])).collect()
}

impl ProcSource for KernelProc {
    fn pids(&self) -> Vec<i32> {
        self.kernel().map(|k| k.procs.pids()).unwrap_or_default()
    }
    fn current_pid(&self) -> i32 {
        CURRENT.with(|c| c.get().0)
    }
    fn current_tid(&self) -> i32 {
        CURRENT.with(|c| c.get().1)
    }
    fn tgid_of(&self, tid: i32) -> Option<i32> {
        let kernel = self.kernel()?;
        let state = kernel.procs.lock();
        state.threads.get(&tid).map(|t| t.tgid)
    }
    fn tids(&self, pid: i32) -> Option<Vec<i32>> {
        Some(self.entry(pid)?.group.tids())
    }
    fn link(&self, pid: i32, which: PidLink) -> Option<Vec<u8>> {
        let e = self.entry(pid).filter(|e| !e.zombie)?;
        let fs = e.fs.lock().ok()?;
        Some(match which {
            PidLink::Exe => e.exe.clone(),
            PidLink::Cwd => fs.cwd.path.clone(),
            PidLink::Root => fs.root.path.clone(),
        })
    }
    fn fds(&self, pid: i32) -> Option<Vec<(i32, Vec<u8>, i32)>> {
        let e = self.entry(pid)?;
        Some(
            e.fds
                .fds()
                .into_iter()
                .filter_map(|fd| {
                    let file = e.fds.get(fd).ok()?;
                    Some((fd, fd_link_text(&file.dentry), file.flags() & libc::O_ACCMODE))
                })
                .collect(),
        )
    }
    fn fd_dentry(&self, pid: i32, fd: i32) -> Option<Arc<crate::vfs::Dentry>> {
        let e = self.entry(pid)?;
        let file = e.fds.get(fd).ok()?;
        Some(file.dentry.clone())
    }
    fn fdinfo(&self, pid: i32, fd: i32) -> Option<Vec<u8>> {
        let kernel = self.kernel()?;
        let e = kernel.procs.process(pid)?;
        let entry = e.fds.entry(fd).ok()?;
        // The mount ids of the process's own container.
        let mounts =
            e.fs.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .mounts
                .clone();
        Some(procrender::fdinfo(&mounts, &entry).into_bytes())
    }
    fn pid_file(&self, pid: i32, tid: i32, name: &str) -> Option<Vec<u8>> {
        self.with_view(pid, tid, |v| match name {
            "cmdline" => nul_joined(&v.proc.argv),
            "environ" => nul_joined(&v.proc.envp),
            "auxv" => v.proc.auxv.iter().flat_map(|w| w.to_le_bytes()).collect(),
            _ => procrender::text(v, name).into_bytes(),
        })
    }
    fn write_pid_file(&self, pid: i32, tid: i32, name: &str, data: &[u8]) -> Result<usize> {
        let current = self.current_pid();
        let creds = self.entry(current).map(|e| e.creds).unwrap_or_default();
        self.with_view(pid, tid, |v| match name {
            // comm_write: only threads of the writer's own process.
            "comm" if pid == current => {
                v.thread.comm.set(comm_from_bytes(data));
                Ok(data.len())
            }
            "comm" => Err(Errno::EINVAL),
            "oom_score_adj" => procrender::write_oom_score_adj(v, &creds, data),
            _ => Err(Errno::EINVAL),
        })
        .unwrap_or(Err(Errno::ESRCH))
    }
    /// proc(5): a process's entries belong to its effective ids, or to
    /// root while it is not dumpable (PR_SET_DUMPABLE, credential changes).
    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        let kernel = self.kernel()?;
        let c = kernel.procs.creds_of(pid)?;
        if kernel.proc_attrs.get(pid).dumpable == 0 {
            return Some((0, 0));
        }
        Some((c.euid, c.egid))
    }
    fn kernel_file(&self, name: &str) -> Option<Vec<u8>> {
        let kernel = self.kernel()?;
        let text = match name {
            "stat" => procrender::system_stat(&kernel),
            "loadavg" => procrender::loadavg(&kernel),
            "uptime" => procrender::uptime(&kernel),
            "sys/kernel/hostname" => line_of(&kernel.hostname),
            "sys/kernel/domainname" => line_of(&kernel.domainname),
            _ => {
                let net_file = name.strip_prefix("net/")?;
                crate::net::procnet::render(net_file, &kernel.network, &open_sockets(&kernel))?
            }
        };
        Some(text.into_bytes())
    }
}

/// Every socket open in some process of the sandbox, once each.
fn open_sockets(kernel: &Kernel) -> Vec<Arc<dyn crate::net::socket::Socket>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (_, e) in kernel.procs.snapshot() {
        for fd in e.fds.fds() {
            let Some(sock) = e.fds.get(fd).ok().and_then(|f| f.ops.socket()) else {
                continue;
            };
            if seen.insert(sock.inode().ino) {
                out.push(sock);
            }
        }
    }
    out.sort_by_key(|s| s.inode().ino);
    out
}

fn line_of(value: &Mutex<Vec<u8>>) -> String {
    let v = value.lock().map(|v| v.clone()).unwrap_or_default();
    format!("{}\n", String::from_utf8_lossy(&v))
}

/// What /proc/PID/fd/N reads as: the path, with " (deleted)" once a
/// regular file has no name left (proc(5)), as an O_TMPFILE file never had.
fn fd_link_text(dentry: &crate::vfs::Dentry) -> Vec<u8> {
    let mut text = dentry.path.clone();
    if dentry.inode.stat().is_ok_and(|st| st.is_regular() && st.nlink == 0) {
        text.extend_from_slice(b" (deleted)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_write_cuts_at_15_bytes_and_nul() {
        assert_eq!(
            &comm_from_bytes(b"abcdefghijklmnopqrstuvwxyz")[..16],
            b"abcdefghijklmno\0"
        );
        assert_eq!(&comm_from_bytes(b"ab\0cd")[..3], b"ab\0");
        let c = Comm::new(comm_from_bytes(b"hello\n"));
        assert_eq!(c.text(), "hello\n");
    }
}
