//! procfs: the sandbox's own /proc, generated from kernel state.
//!
//! Files are rendered when opened (like seq_file), links when read. What
//! a pid directory shows comes from a [`ProcSource`], implemented by the
//! kernel, so this module does not depend on kernel internals.

use crate::errno::{Errno, Result};
use crate::vfs::{DirEntry, FileOps, Inode, Stat, Timespec};
use std::sync::Arc;

/// What procfs needs to know about processes.
pub trait ProcSource: Send + Sync {
    /// Pids of live processes.
    fn pids(&self) -> Vec<i32>;
    /// The pid of the calling task's process (for /proc/self).
    fn current_pid(&self) -> i32;
    fn exe(&self, pid: i32) -> Option<Vec<u8>>;
    fn cwd(&self, pid: i32) -> Option<Vec<u8>>;
    /// argv joined with NULs (each followed by a NUL).
    fn cmdline(&self, pid: i32) -> Option<Vec<u8>>;
    fn environ(&self, pid: i32) -> Option<Vec<u8>>;
    /// Open fds and what they point to.
    fn fds(&self, pid: i32) -> Option<Vec<(i32, Vec<u8>)>>;
    /// /proc/pid/maps text.
    fn maps(&self, pid: i32) -> Option<String>;
    /// /proc/pid/status text.
    fn status(&self, pid: i32) -> Option<String>;
    /// /proc/pid/stat text.
    fn stat(&self, pid: i32) -> Option<String>;
    /// /proc/mounts text.
    fn mounts(&self) -> String;
    /// Seconds since the sandbox started.
    fn uptime(&self) -> f64;
}

const PROC_MAGIC: u64 = 0x9fa0;

type Render = Arc<dyn Fn() -> Result<Vec<u8>> + Send + Sync>;
type List = Arc<dyn Fn() -> Result<Vec<(Vec<u8>, Arc<dyn Inode>)>> + Send + Sync>;

fn base_stat(ino: u64, mode: u32) -> Stat {
    let now = Timespec::now();
    Stat {
        dev: 0x16,
        ino,
        mode,
        nlink: 1,
        blksize: 4096,
        atime: now,
        mtime: now,
        ctime: now,
        ..Stat::default()
    }
}

/// Inode numbers derived from a name, stable across lookups.
fn ino_of(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(b"/") {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h | 1
}

/// A file whose content is rendered at open.
struct SynthFile {
    ino: u64,
    render: Render,
}

struct Rendered(Vec<u8>);

impl FileOps for Rendered {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = (offset as usize).min(self.0.len());
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EACCES)
    }
    fn size(&self) -> Result<u64> {
        Ok(self.0.len() as u64)
    }
}

impl Inode for SynthFile {
    fn stat(&self) -> Result<Stat> {
        Ok(base_stat(self.ino, libc::S_IFREG | 0o444))
    }
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EACCES);
        }
        Ok(Arc::new(Rendered((self.render)()?)))
    }
    fn setattr(&self, _attr: crate::vfs::SetAttr) -> Result<()> {
        Err(Errno::EPERM)
    }
    fn fs_magic(&self) -> u64 {
        PROC_MAGIC
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A symlink whose target is computed when read.
struct SynthLink {
    ino: u64,
    target: Render,
}

impl Inode for SynthLink {
    fn stat(&self) -> Result<Stat> {
        Ok(base_stat(self.ino, libc::S_IFLNK | 0o777))
    }
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Err(Errno::ELOOP)
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        (self.target)()
    }
    fn fs_magic(&self) -> u64 {
        PROC_MAGIC
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A directory whose entries are computed on each lookup.
struct SynthDir {
    ino: u64,
    list: List,
}

impl Inode for SynthDir {
    fn stat(&self) -> Result<Stat> {
        let mut st = base_stat(self.ino, libc::S_IFDIR | 0o555);
        st.nlink = 2;
        Ok(st)
    }
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        match super::open_dir_or_path(flags, true)? {
            Some(ops) => Ok(ops),
            None => Err(Errno::EISDIR),
        }
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        (self.list)()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i)
            .ok_or(Errno::ENOENT)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        (self.list)()?
            .into_iter()
            .map(|(name, inode)| {
                let st = inode.stat()?;
                Ok(DirEntry {
                    name,
                    ino: st.ino,
                    kind: crate::vfs::dtype_of(st.mode),
                })
            })
            .collect()
    }
    fn fs_magic(&self) -> u64 {
        PROC_MAGIC
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn file(parts: &[&[u8]], render: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static) -> Arc<dyn Inode> {
    Arc::new(SynthFile {
        ino: ino_of(parts),
        render: Arc::new(render),
    })
}

fn link(parts: &[&[u8]], target: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static) -> Arc<dyn Inode> {
    Arc::new(SynthLink {
        ino: ino_of(parts),
        target: Arc::new(target),
    })
}

fn dir(
    parts: &[&[u8]],
    list: impl Fn() -> Result<Vec<(Vec<u8>, Arc<dyn Inode>)>> + Send + Sync + 'static,
) -> Arc<dyn Inode> {
    Arc::new(SynthDir {
        ino: ino_of(parts),
        list: Arc::new(list),
    })
}

/// The root of a procfs over `src`.
pub fn new(src: Arc<dyn ProcSource>) -> Arc<dyn Inode> {
    dir(&[b"proc"], move || Ok(root_entries(&src)))
}

fn root_entries(src: &Arc<dyn ProcSource>) -> Vec<(Vec<u8>, Arc<dyn Inode>)> {
    let mut out: Vec<(Vec<u8>, Arc<dyn Inode>)> = Vec::new();
    for pid in src.pids() {
        let name = pid.to_string().into_bytes();
        out.push((name, pid_dir(src.clone(), pid)));
    }
    let s = src.clone();
    out.push((
        b"self".to_vec(),
        link(&[b"self"], move || Ok(s.current_pid().to_string().into_bytes())),
    ));
    let s = src.clone();
    out.push((
        b"uptime".to_vec(),
        file(&[b"uptime"], move || {
            Ok(format!("{:.2} {:.2}\n", s.uptime(), s.uptime()).into_bytes())
        }),
    ));
    let s = src.clone();
    out.push((
        b"mounts".to_vec(),
        file(&[b"mounts"], move || Ok(s.mounts().into_bytes())),
    ));
    out.push((b"version".to_vec(), file(&[b"version"], || Ok(version().into_bytes()))));
    out.push((
        b"loadavg".to_vec(),
        file(&[b"loadavg"], || Ok(b"0.00 0.00 0.00 1/1 1\n".to_vec())),
    ));
    out.push((b"meminfo".to_vec(), file(&[b"meminfo"], || Ok(meminfo().into_bytes()))));
    out.push((
        b"filesystems".to_vec(),
        file(&[b"filesystems"], || {
            Ok(b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevpts\nnodev\toverlay\n".to_vec())
        }),
    ));
    out
}

fn version() -> String {
    format!(
        "Linux version {} (runsc-rs) {}\n",
        crate::syscalls::KERNEL_RELEASE,
        crate::syscalls::KERNEL_VERSION
    )
}

fn meminfo() -> String {
    // SAFETY: all-zero is a valid struct sysinfo; the host fills it.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::sysinfo(&mut si) };
    let kb = |v: u64| v * si.mem_unit as u64 / 1024;
    format!(
        "MemTotal:       {:>8} kB\nMemFree:        {:>8} kB\nMemAvailable:   {:>8} kB\nBuffers:        {:>8} kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
        kb(si.totalram),
        kb(si.freeram),
        kb(si.freeram),
        kb(si.bufferram)
    )
}

fn pid_dir(src: Arc<dyn ProcSource>, pid: i32) -> Arc<dyn Inode> {
    let p = pid.to_string().into_bytes();
    let key = p.clone();
    dir(&[&key], move || {
        let pid_name: &[u8] = &p;
        let entry = |name: &'static str| -> Vec<&[u8]> { vec![pid_name, name.as_bytes()] };
        let mut out: Vec<(Vec<u8>, Arc<dyn Inode>)> = Vec::new();
        let s = src.clone();
        out.push((
            b"exe".to_vec(),
            link(&entry("exe"), move || s.exe(pid).ok_or(Errno::ENOENT)),
        ));
        let s = src.clone();
        out.push((
            b"cwd".to_vec(),
            link(&entry("cwd"), move || s.cwd(pid).ok_or(Errno::ENOENT)),
        ));
        out.push((b"root".to_vec(), link(&entry("root"), || Ok(b"/".to_vec()))));
        let s = src.clone();
        out.push((
            b"cmdline".to_vec(),
            file(&entry("cmdline"), move || s.cmdline(pid).ok_or(Errno::ESRCH)),
        ));
        let s = src.clone();
        out.push((
            b"environ".to_vec(),
            file(&entry("environ"), move || s.environ(pid).ok_or(Errno::ESRCH)),
        ));
        let s = src.clone();
        out.push((
            b"maps".to_vec(),
            file(&entry("maps"), move || {
                s.maps(pid).map(String::into_bytes).ok_or(Errno::ESRCH)
            }),
        ));
        let s = src.clone();
        out.push((
            b"status".to_vec(),
            file(&entry("status"), move || {
                s.status(pid).map(String::into_bytes).ok_or(Errno::ESRCH)
            }),
        ));
        let s = src.clone();
        out.push((
            b"stat".to_vec(),
            file(&entry("stat"), move || {
                s.stat(pid).map(String::into_bytes).ok_or(Errno::ESRCH)
            }),
        ));
        let s = src.clone();
        let fd_key = entry("fd").concat();
        out.push((
            b"fd".to_vec(),
            dir(&entry("fd"), move || {
                let fds = s.fds(pid).ok_or(Errno::ESRCH)?;
                Ok(fds
                    .into_iter()
                    .map(|(fd, target)| {
                        let name = fd.to_string().into_bytes();
                        let inode = link(&[&fd_key, &name], move || Ok(target.clone()));
                        (name, inode)
                    })
                    .collect())
            }),
        ));
        Ok(out)
    })
}
