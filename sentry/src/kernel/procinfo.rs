//! What the kernel shows through /proc: a registry of processes, updated by
//! tasks when they exec, change directory or exit.

use super::Kernel;
use crate::fs::proc::ProcSource;
use crate::mm::{MemoryManager, VmaName};
use crate::vfs::FdTable;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Weak};

/// A snapshot of one process for /proc.
#[derive(Clone)]
pub struct ProcEntry {
    pub ppid: i32,
    pub exe: Vec<u8>,
    pub cwd: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub fds: Arc<FdTable>,
    pub mm: Arc<MemoryManager>,
    pub uid: u32,
    pub gid: u32,
}

pub type Registry = std::sync::Mutex<BTreeMap<i32, ProcEntry>>;

thread_local! {
    /// The pid of the task running on this host thread.
    static CURRENT_PID: Cell<i32> = const { Cell::new(1) };
}

pub fn set_current_pid(pid: i32) {
    CURRENT_PID.with(|c| c.set(pid));
}

/// The kernel as procfs sees it.
pub struct KernelProc(pub Weak<Kernel>);

impl ProcEntry {
    /// The executable's file name (what /proc shows as the process name).
    fn name(&self) -> String {
        let base = self.exe.rsplit(|&c| c == b'/').next().unwrap_or_default();
        String::from_utf8_lossy(base).into_owned()
    }
}

impl KernelProc {
    fn entry(&self, pid: i32) -> Option<ProcEntry> {
        self.0.upgrade()?.procs.lock().ok()?.get(&pid).cloned()
    }
}

fn nul_joined(items: &[Vec<u8>]) -> Vec<u8> {
    items.iter().flat_map(|a| a.iter().copied().chain([0])).collect()
}

fn prot_string(prot: i32, shared: bool) -> String {
    let bit = |b: i32, c: char| if prot & b != 0 { c } else { '-' };
    format!(
        "{}{}{}{}",
        bit(libc::PROT_READ, 'r'),
        bit(libc::PROT_WRITE, 'w'),
        bit(libc::PROT_EXEC, 'x'),
        if shared { 's' } else { 'p' }
    )
}

impl ProcSource for KernelProc {
    fn pids(&self) -> Vec<i32> {
        self.0
            .upgrade()
            .and_then(|k| k.procs.lock().ok().map(|p| p.keys().copied().collect()))
            .unwrap_or_default()
    }
    fn current_pid(&self) -> i32 {
        CURRENT_PID.with(|c| c.get())
    }
    fn exe(&self, pid: i32) -> Option<Vec<u8>> {
        self.entry(pid).map(|e| e.exe)
    }
    fn cwd(&self, pid: i32) -> Option<Vec<u8>> {
        self.entry(pid).map(|e| e.cwd)
    }
    fn cmdline(&self, pid: i32) -> Option<Vec<u8>> {
        self.entry(pid).map(|e| nul_joined(&e.argv))
    }
    fn environ(&self, pid: i32) -> Option<Vec<u8>> {
        self.entry(pid).map(|e| nul_joined(&e.envp))
    }
    fn fds(&self, pid: i32) -> Option<Vec<(i32, Vec<u8>)>> {
        let e = self.entry(pid)?;
        Some(
            e.fds
                .fds()
                .into_iter()
                .filter_map(|fd| Some((fd, e.fds.get(fd).ok()?.dentry.path.clone())))
                .collect(),
        )
    }
    fn maps(&self, pid: i32) -> Option<String> {
        let e = self.entry(pid)?;
        let mut out = String::new();
        for (start, end, prot, shared, name) in e.mm.maps() {
            let (offset, dev, ino, label) = match name {
                VmaName::Anonymous => (0, 0, 0, String::new()),
                VmaName::Heap => (0, 0, 0, "[heap]".into()),
                VmaName::Stack => (0, 0, 0, "[stack]".into()),
                VmaName::File { path, offset, dev, ino } => {
                    (offset, dev, ino, String::from_utf8_lossy(&path).into_owned())
                }
            };
            let (major, minor) = (crate::fs::major(dev), crate::fs::minor(dev));
            let _ = writeln!(
                out,
                "{start:08x}-{end:08x} {} {offset:08x} {major:02x}:{minor:02x} {ino:<10} {label}",
                prot_string(prot, shared)
            );
        }
        Some(out)
    }
    fn status(&self, pid: i32) -> Option<String> {
        let e = self.entry(pid)?;
        let name = e.name();
        Some(format!(
            "Name:\t{name}\nState:\tR (running)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\nGid:\t{g}\t{g}\t{g}\t{g}\nThreads:\t1\n",
            e.ppid,
            u = e.uid,
            g = e.gid
        ))
    }
    fn stat(&self, pid: i32) -> Option<String> {
        let e = self.entry(pid)?;
        let name = e.name();
        let mut fields = vec!["0".to_string(); 49];
        fields[0] = e.ppid.to_string();
        fields[1] = pid.to_string();
        fields[2] = pid.to_string();
        fields[16] = "1".into();
        Some(format!("{pid} ({name}) R {}\n", fields.join(" ")))
    }
    fn mounts(&self) -> String {
        let Some(k) = self.0.upgrade() else {
            return String::new();
        };
        let mut out = String::new();
        for (path, m) in k.mounts.list() {
            let _ = writeln!(
                out,
                "{} {} {} {} 0 0",
                m.fs_type,
                String::from_utf8_lossy(&path),
                m.fs_type,
                if m.read_only { "ro" } else { "rw" }
            );
        }
        out
    }
    fn uptime(&self) -> f64 {
        self.0
            .upgrade()
            .map(|k| k.boot_time.elapsed().as_secs_f64())
            .unwrap_or(0.0)
    }
}
