//! The kernel proper: global sandbox state, tasks and their run loop, execve.

pub mod cputime;
pub mod futex;
pub mod interrupt;
pub mod loader;
pub mod preserved;
pub mod process;
pub mod procinfo;
pub mod procrender;
pub mod signals;
pub mod stdio;
pub mod task;
pub mod thread_group;
pub mod timers;

pub use task::Task;

use crate::mm::MemoryFile;
use crate::vfs::MountTable;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What every task of a sandbox shares.
pub struct Kernel {
    pub memfile: Arc<MemoryFile>,
    pub platform: Box<dyn platform::Platform>,
    pub mounts: Arc<MountTable>,
    pub hostname: Mutex<Vec<u8>>,
    pub domainname: Mutex<Vec<u8>>,
    pub strace: bool,
    pub boot_time: Instant,
    next_pid: AtomicI32,
    /// Futex wait queues.
    pub futexes: futex::Futexes,
    /// Told the init process's exit status when it exits.
    pub init_exit: Mutex<Option<std::sync::mpsc::Sender<crate::sandbox::ExitStatus>>>,
    /// Parents, children and zombies.
    pub processes: process::ProcessTable,
    /// Thread groups by tgid, for SIGCONT and stops.
    pub groups: Mutex<std::collections::HashMap<i32, std::sync::Weak<thread_group::ThreadGroup>>>,
    /// Pending-signal queues by pid, for kill(2).
    pub signal_queues: Mutex<std::collections::HashMap<i32, Arc<signals::SignalQueue>>>,
    /// Processes, for /proc.
    pub procs: procinfo::Registry,
    /// alarm, setitimer and POSIX timers, and the thread that fires them.
    pub timers: timers::Timers,
    /// Nice values, scheduling policies, prctl state kept per process.
    pub proc_attrs: timers::ProcessAttrTable,
    /// The pipes behind named FIFOs that are open.
    pub fifos: crate::fs::fifo::FifoTable,
    /// Controlling terminals of sessions.
    pub ttys: crate::fs::tty::ctty::Sessions,
    /// Names of bound Unix domain sockets (paths and abstract names).
    pub unix_names: Arc<crate::net::addr::Names>,
    /// The sandbox's network interfaces and routes.
    pub network: Arc<crate::net::inet::iface::Network>,
    /// `--network=host`: inet sockets are host sockets.
    pub host_network: bool,
    /// Bound netlink port ids.
    pub netlink_ports: Arc<crate::net::netlink::Ports>,
    /// Syscall numbers already reported as unimplemented.
    reported_missing: Mutex<HashSet<u64>>,
}

impl Kernel {
    pub fn new(
        platform: Box<dyn platform::Platform>,
        memfile: Arc<MemoryFile>,
        mounts: Arc<MountTable>,
        hostname: &str,
        strace: bool,
    ) -> Kernel {
        Kernel {
            memfile,
            platform,
            mounts,
            hostname: Mutex::new(hostname.as_bytes().to_vec()),
            domainname: Mutex::new(b"(none)".to_vec()),
            strace,
            boot_time: Instant::now(),
            next_pid: AtomicI32::new(1),
            procs: Default::default(),
            processes: Default::default(),
            futexes: Default::default(),
            init_exit: Mutex::new(None),
            signal_queues: Default::default(),
            groups: Default::default(),
            fifos: Default::default(),
            unix_names: Default::default(),
            network: Arc::new(crate::net::inet::iface::Network::loopback_only()),
            netlink_ports: Default::default(),
            host_network: false,
            reported_missing: Mutex::new(HashSet::new()),
            timers: Default::default(),
            proc_attrs: Default::default(),
            ttys: Default::default(),
        }
    }

    /// Time since boot on CLOCK_BOOTTIME, the clock the guest reads
    /// directly: sysinfo(2), /proc/uptime and process start times agree
    /// with it, as on Linux.
    pub fn uptime(&self) -> std::time::Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out pointer.
        if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
            return self.boot_time.elapsed();
        }
        std::time::Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
    }

    /// A fresh pid in the sandbox's pid namespace (the first is 1).
    pub fn alloc_pid(&self) -> i32 {
        self.next_pid.fetch_add(1, Ordering::Relaxed)
    }

    /// The most recently allocated pid (/proc/loadavg, "processes" of
    /// /proc/stat: pids are never reused, so this counts forks too).
    pub fn last_pid(&self) -> i32 {
        self.next_pid.load(Ordering::Relaxed) - 1
    }

    /// Posts a signal to process `pid`; ESRCH if it does not exist.
    pub fn post_signal(&self, pid: i32, info: signals::SigInfo) -> crate::errno::Result<()> {
        let queue = self
            .signal_queues
            .lock()
            .ok()
            .and_then(|q| q.get(&pid).cloned())
            .ok_or(crate::errno::Errno::ESRCH)?;
        if info.signo == libc::SIGCONT {
            self.continue_process(pid);
        }
        if info.signo != 0 {
            queue.post(info);
            self.short_circuit_fatal(pid, &queue, info);
        }
        Ok(())
    }

    /// A signal whose default action kills a process that does not block
    /// it ends the process when it is sent, not when a thread gets round
    /// to it (kernel/signal.c complete_signal): its status is fixed now, so
    /// a SIGKILL that overtakes it (a container torn down) cannot change
    /// it. The init of the pid namespace is exempt for signals from inside
    /// (pid_namespaces(7)).
    fn short_circuit_fatal(&self, pid: i32, queue: &signals::SignalQueue, info: signals::SigInfo) {
        let sig = info.signo;
        if sig == libc::SIGKILL || !queue.kills_when_sent(sig) {
            return;
        }
        if pid == process::INIT_PID && info.pid_or_addr != 0 {
            return;
        }
        let group = self
            .groups
            .lock()
            .ok()
            .and_then(|g| g.get(&pid).and_then(|w| w.upgrade()));
        if let Some(group) = group {
            group.begin_group_exit(crate::ExitStatus::Signaled(sig), 0);
        }
    }

    /// `entry` with its parent as it is now: the registry records the
    /// parent at fork, but orphans are reparented when it exits (exit(2)).
    pub fn current_parent(&self, mut entry: procinfo::ProcEntry, pid: i32) -> procinfo::ProcEntry {
        if let Some((ppid, _)) = self.processes.parent_and_group(pid) {
            entry.ppid = ppid;
        }
        entry
    }

    /// True when process `pid` has SIGCHLD ignored (or SA_NOCLDWAIT).
    pub fn parent_ignores_children(&self, pid: i32) -> bool {
        let group = self
            .groups
            .lock()
            .ok()
            .and_then(|g| g.get(&pid).and_then(|w| w.upgrade()));
        group.is_some_and(|g| g.reaps_children.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// True when thread `tid` belongs to process `tgid`.
    /// The thread group (process) thread `tid` belongs to.
    pub fn tgid_of_thread(&self, tid: i32) -> Option<i32> {
        let groups = self.groups.lock().ok()?;
        groups
            .iter()
            .find(|(_, w)| w.upgrade().is_some_and(|g| g.has_thread(tid)))
            .map(|(&tgid, _)| tgid)
    }

    pub fn thread_in_group(&self, tgid: i32, tid: i32) -> bool {
        let group = self
            .groups
            .lock()
            .ok()
            .and_then(|g| g.get(&tgid).and_then(|w| w.upgrade()));
        group.is_some_and(|g| g.has_thread(tid))
    }

    /// SIGCONT resumes a stopped process when it is sent, not when it is
    /// delivered (signal(7)); the parent hears CLD_CONTINUED.
    fn continue_process(&self, pid: i32) {
        let group = self
            .groups
            .lock()
            .ok()
            .and_then(|g| g.get(&pid).and_then(|w| w.upgrade()));
        let Some(group) = group else { return };
        if !group.resume() {
            return;
        }
        if let Some(parent) = self.processes.job_control(group.tgid, process::WaitEvent::Continued) {
            let _ = self.post_signal(
                parent,
                signals::SigInfo::child(group.tgid, process::WaitEvent::Continued),
            );
        }
    }

    /// True the first time `nr` is reported, so each missing syscall is
    /// logged once.
    pub fn first_report(&self, nr: u64) -> bool {
        self.reported_missing.lock().map(|mut s| s.insert(nr)).unwrap_or(false)
    }
}
