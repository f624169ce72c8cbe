//! procfs: the sandbox's own /proc, generated from kernel state.
//!
//! Files are rendered when opened (like seq_file), links when read. What
//! a pid directory shows comes from a [`ProcSource`], implemented by the
//! kernel, so this module does not depend on kernel internals; what comes
//! from the host (cpuinfo, meminfo, sysctl constants) is in [`super::proc_sys`].
//!
//! Like Linux, nothing can be created in /proc (the lookup of a missing
//! name fails first: ENOENT) and entries cannot be removed or changed
//! (EPERM).

use super::proc_sys;
use crate::errno::{Errno, Result};
use crate::vfs::{CreateAttr, DirEntry, FileOps, Inode, Stat, Timespec};
use std::sync::Arc;

/// The symlinks of a pid directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidLink {
    Exe,
    Cwd,
    Root,
}

/// What procfs needs to know about processes.
pub trait ProcSource: Send + Sync {
    /// Pids of live processes.
    fn pids(&self) -> Vec<i32>;
    /// The pid of the calling task's process (for /proc/self).
    fn current_pid(&self) -> i32;
    /// The tid of the calling task (for /proc/thread-self).
    fn current_tid(&self) -> i32;
    /// The process thread `tid` belongs to.
    fn tgid_of(&self, tid: i32) -> Option<i32>;
    /// Thread ids of process `pid`.
    fn tids(&self, pid: i32) -> Option<Vec<i32>>;
    /// Where a pid directory's `exe`, `cwd` or `root` points.
    fn link(&self, pid: i32, which: PidLink) -> Option<Vec<u8>>;
    /// Open fds of process `pid`: (fd, what the link names, O_ACCMODE).
    fn fds(&self, pid: i32) -> Option<Vec<(i32, Vec<u8>, i32)>>;
    /// The dentry of process `pid`'s fd `fd`, where its magic link leads.
    fn fd_dentry(&self, pid: i32, fd: i32) -> Option<Arc<crate::vfs::Dentry>>;
    /// /proc/PID/fdinfo/FD text.
    fn fdinfo(&self, pid: i32, fd: i32) -> Option<Vec<u8>>;
    /// The content of file `name` (one of [`PID_FILES`]) of thread `tid`
    /// of process `pid`; None once the process is gone.
    fn pid_file(&self, pid: i32, tid: i32, name: &str) -> Option<Vec<u8>>;
    /// A write to a writable file of [`PID_FILES`].
    fn write_pid_file(&self, pid: i32, tid: i32, name: &str, data: &[u8]) -> Result<usize>;
    /// The (euid, egid) that owns process `pid`'s /proc entries.
    fn owner(&self, pid: i32) -> Option<(u32, u32)>;
    /// A system-wide file rendered from kernel state: "stat", "loadavg",
    /// "uptime", "sys/kernel/hostname", "sys/kernel/domainname".
    fn kernel_file(&self, name: &str) -> Option<Vec<u8>>;
}

/// How a file of a pid directory may be used: its mode, and whether a
/// write reaches [`ProcSource::write_pid_file`].
pub struct PidFile {
    pub name: &'static str,
    pub mode: u32,
    pub writable: bool,
}

const fn ro(name: &'static str, mode: u32) -> PidFile {
    PidFile {
        name,
        mode,
        writable: false,
    }
}

/// The regular files of /proc/PID and /proc/PID/task/TID (modes as Linux).
pub const PID_FILES: &[PidFile] = &[
    ro("auxv", 0o400),
    ro("cgroup", 0o444),
    ro("cmdline", 0o444),
    PidFile {
        name: "comm",
        mode: 0o644,
        writable: true,
    },
    ro("environ", 0o400),
    ro("limits", 0o444),
    ro("loginuid", 0o644),
    ro("maps", 0o444),
    ro("mountinfo", 0o444),
    ro("mounts", 0o444),
    ro("oom_score", 0o444),
    PidFile {
        name: "oom_score_adj",
        mode: 0o644,
        writable: true,
    },
    ro("sessionid", 0o444),
    ro("smaps", 0o444),
    ro("stat", 0o444),
    ro("statm", 0o444),
    ro("status", 0o444),
    ro("wchan", 0o444),
];

const PROC_MAGIC: u64 = 0x9fa0;

type Render = Arc<dyn Fn() -> Result<Vec<u8>> + Send + Sync>;
type Writer = Arc<dyn Fn(&[u8]) -> Result<usize> + Send + Sync>;
/// Who owns an entry: root, or the process a pid directory shows.
type Owner = Option<Arc<dyn Fn() -> (u32, u32) + Send + Sync>>;
type List = Arc<dyn Fn() -> Result<Vec<(Vec<u8>, Arc<dyn Inode>)>> + Send + Sync>;

fn base_stat(ino: u64, mode: u32, owner: &Owner) -> Stat {
    let now = Timespec::now();
    let (uid, gid) = owner.as_ref().map(|f| f()).unwrap_or((0, 0));
    Stat {
        dev: 0x16,
        ino,
        mode,
        uid,
        gid,
        nlink: 1,
        blksize: 1024,
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

/// What a write to a file does.
#[derive(Clone)]
enum WritePolicy {
    /// The data goes to this function.
    Accept(Writer),
    /// Opening for writing works for whoever passes the mode check (root),
    /// but write(2) fails with this errno: EINVAL for seq_file entries of
    /// a pid directory, EIO for the other /proc files.
    FailWrite(Errno),
    /// sysctl entries check their own mode even for root: EACCES at open.
    DenyOpen,
}

/// A file whose content is rendered at open.
struct SynthFile {
    ino: u64,
    owner: Owner,
    mode: u32,
    render: Render,
    write: WritePolicy,
}

/// An open /proc file: the text rendered at open, and where writes go.
struct Rendered {
    text: Vec<u8>,
    write: WritePolicy,
}

impl FileOps for Rendered {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len());
        let n = buf.len().min(self.text.len() - start);
        buf[..n].copy_from_slice(&self.text[start..start + n]);
        Ok(n)
    }
    fn write(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        match &self.write {
            WritePolicy::Accept(w) => w(buf),
            WritePolicy::FailWrite(e) => Err(*e),
            WritePolicy::DenyOpen => Err(Errno::EACCES),
        }
    }
    fn size(&self) -> Result<u64> {
        Ok(self.text.len() as u64)
    }
}

fn wants_write(flags: i32) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
}

impl Inode for SynthFile {
    fn stat(&self) -> Result<Stat> {
        // Like Linux, /proc files report size 0: readers must read to EOF.
        Ok(base_stat(self.ino, libc::S_IFREG | self.mode, &self.owner))
    }
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = super::open_dir_or_path(flags, false)? {
            return Ok(ops);
        }
        if wants_write(flags) && matches!(self.write, WritePolicy::DenyOpen) {
            return Err(Errno::EACCES);
        }
        // A write-only open of a writable file needs no rendering.
        let text = if flags & libc::O_ACCMODE == libc::O_WRONLY {
            Vec::new()
        } else {
            (self.render)()?
        };
        Ok(Arc::new(Rendered {
            text,
            write: self.write.clone(),
        }))
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
    owner: Owner,
    /// Permission bits: 0777, or for /proc/PID/fd/N the fd's access mode.
    perms: u32,
    target: Render,
    /// A magic link (openat2(2) RESOLVE_NO_MAGICLINKS).
    magic: bool,
    /// Where a walk through it jumps (/proc/PID/fd/N), if anywhere.
    jump: Option<Jump>,
}

/// The dentry a /proc/PID/fd/N link leads to, looked up when followed.
type Jump = Arc<dyn Fn() -> Result<Arc<crate::vfs::Dentry>> + Send + Sync>;

impl Inode for SynthLink {
    fn stat(&self) -> Result<Stat> {
        let mut st = base_stat(self.ino, libc::S_IFLNK | self.perms, &self.owner);
        if self.perms != 0o777 {
            // proc_fd_link's inodes report 64 bytes whatever the target.
            st.size = 64;
        }
        Ok(st)
    }
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Err(Errno::ELOOP)
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        (self.target)()
    }
    fn is_magic_link(&self) -> bool {
        self.magic
    }
    fn magic_target(&self) -> Option<Result<Arc<crate::vfs::Dentry>>> {
        self.jump.as_ref().map(|jump| jump())
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

/// A directory whose entries are computed on each lookup.
struct SynthDir {
    ino: u64,
    owner: Owner,
    mode: u32,
    list: List,
    /// Names that lookup finds but readdir does not list.
    hidden: Option<Hidden>,
}

type Hidden = Arc<dyn Fn(&[u8]) -> Option<Arc<dyn Inode>> + Send + Sync>;

impl SynthDir {
    fn find(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        let listed = (self.list)()?.into_iter().find(|(n, _)| n == name).map(|(_, i)| i);
        listed
            .or_else(|| self.hidden.as_ref().and_then(|h| h(name)))
            .ok_or(Errno::ENOENT)
    }

    /// The errno of creating `name`: EEXIST when it exists, else ENOENT
    /// (procfs lookups of missing names fail; there is no negative dentry
    /// to create).
    fn create_errno(&self, name: &[u8]) -> Errno {
        match self.find(name) {
            Ok(_) => Errno::EEXIST,
            Err(_) => Errno::ENOENT,
        }
    }

    /// The errno of removing `name`: EPERM when it exists, else ENOENT.
    fn remove_errno(&self, name: &[u8]) -> Errno {
        match self.find(name) {
            Ok(_) => Errno::EPERM,
            Err(_) => Errno::ENOENT,
        }
    }
}

impl Inode for SynthDir {
    fn stat(&self) -> Result<Stat> {
        let mut st = base_stat(self.ino, libc::S_IFDIR | self.mode, &self.owner);
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
        self.find(name)
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
    fn create(&self, name: &[u8], _attr: CreateAttr) -> Result<Arc<dyn Inode>> {
        Err(self.create_errno(name))
    }
    fn mkdir(&self, name: &[u8], _attr: CreateAttr) -> Result<()> {
        Err(self.create_errno(name))
    }
    fn mknod(&self, name: &[u8], _attr: CreateAttr, _rdev: u64) -> Result<()> {
        Err(self.create_errno(name))
    }
    fn symlink(&self, name: &[u8], _target: &[u8], _attr: CreateAttr) -> Result<()> {
        Err(self.create_errno(name))
    }
    fn link(&self, name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        Err(self.create_errno(name))
    }
    fn unlink(&self, name: &[u8]) -> Result<()> {
        Err(self.remove_errno(name))
    }
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        Err(self.remove_errno(name))
    }
    fn rename(&self, name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> Result<()> {
        Err(self.remove_errno(name))
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

type Entries = Vec<(Vec<u8>, Arc<dyn Inode>)>;

fn file_with(
    parts: &[&[u8]],
    owner: &Owner,
    mode: u32,
    write: WritePolicy,
    render: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static,
) -> Arc<dyn Inode> {
    Arc::new(SynthFile {
        ino: ino_of(parts),
        owner: owner.clone(),
        mode,
        render: Arc::new(render),
        write,
    })
}

/// A read-only system-wide file (0444; write(2) is EIO).
fn file(parts: &[&[u8]], render: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static) -> Arc<dyn Inode> {
    file_with(parts, &None, 0o444, WritePolicy::FailWrite(Errno::EIO), render)
}

fn link(parts: &[&[u8]], target: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static) -> Arc<dyn Inode> {
    Arc::new(SynthLink {
        ino: ino_of(parts),
        owner: None,
        perms: 0o777,
        target: Arc::new(target),
        magic: false,
        jump: None,
    })
}

/// /proc/PID/{exe,cwd,root}: magic links owned by the process.
fn owned_link(
    parts: &[&[u8]],
    owner: &Owner,
    target: impl Fn() -> Result<Vec<u8>> + Send + Sync + 'static,
) -> Arc<dyn Inode> {
    Arc::new(SynthLink {
        ino: ino_of(parts),
        owner: owner.clone(),
        perms: 0o777,
        target: Arc::new(target),
        magic: true,
        jump: None,
    })
}

/// /proc/PID/fd/N: owner read/write/search bits after the fd's access mode
/// (lr-x for O_RDONLY, l-wx for O_WRONLY, lrwx for O_RDWR); following it
/// leads to the open file itself (`jump`).
fn fd_link(parts: &[&[u8]], owner: &Owner, access: i32, target: Vec<u8>, jump: Jump) -> Arc<dyn Inode> {
    let perms = match access {
        libc::O_RDONLY => 0o500,
        libc::O_WRONLY => 0o300,
        _ => 0o700,
    };
    Arc::new(SynthLink {
        ino: ino_of(parts),
        owner: owner.clone(),
        perms,
        target: Arc::new(move || Ok(target.clone())),
        magic: true,
        jump: Some(jump),
    })
}

fn dir_with_mode(
    parts: &[&[u8]],
    owner: &Owner,
    mode: u32,
    list: impl Fn() -> Result<Entries> + Send + Sync + 'static,
) -> Arc<dyn Inode> {
    Arc::new(SynthDir {
        ino: ino_of(parts),
        owner: owner.clone(),
        mode,
        list: Arc::new(list),
        hidden: None,
    })
}

fn dir(parts: &[&[u8]], list: impl Fn() -> Result<Entries> + Send + Sync + 'static) -> Arc<dyn Inode> {
    dir_with_mode(parts, &None, 0o555, list)
}

/// The root of a procfs over `src`.
pub fn new(src: Arc<dyn ProcSource>) -> Arc<dyn Inode> {
    let threads = src.clone();
    Arc::new(SynthDir {
        ino: ino_of(&[b"proc"]),
        owner: None,
        mode: 0o555,
        list: Arc::new(move || Ok(root_entries(&src))),
        hidden: Some(Arc::new(move |name| thread_as_process_dir(&threads, name))),
    })
}

/// /proc/TID for a thread that does not lead its process: not listed, but
/// found, and showing the process from that thread's side (proc(5)).
fn thread_as_process_dir(src: &Arc<dyn ProcSource>, name: &[u8]) -> Option<Arc<dyn Inode>> {
    let text = std::str::from_utf8(name).ok()?;
    if text.starts_with('0') || text.starts_with('+') {
        return None;
    }
    let tid: i32 = text.parse().ok()?;
    let pid = src.tgid_of(tid)?;
    Some(pid_dir_of_thread(src.clone(), pid, tid))
}

fn root_entries(src: &Arc<dyn ProcSource>) -> Entries {
    let mut out: Entries = Vec::new();
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
        b"thread-self".to_vec(),
        link(&[b"thread-self"], move || {
            Ok(format!("{}/task/{}", s.current_pid(), s.current_tid()).into_bytes())
        }),
    ));
    // Linux: /proc/mounts and /proc/net are links into self.
    out.push((b"mounts".to_vec(), link(&[b"mounts"], || Ok(b"self/mounts".to_vec()))));
    out.push((b"net".to_vec(), link(&[b"net"], || Ok(b"self/net".to_vec()))));
    for name in ["stat", "loadavg", "uptime"] {
        let s = src.clone();
        out.push((
            name.as_bytes().to_vec(),
            file(&[name.as_bytes()], move || s.kernel_file(name).ok_or(Errno::EIO)),
        ));
    }
    for (name, render) in proc_sys::HOST_FILES {
        out.push((name.as_bytes().to_vec(), file(&[name.as_bytes()], move || Ok(render()))));
    }
    out.push((b"sys".to_vec(), sys_dir(src.clone())));
    out
}

/// /proc/sys: a few sysctls, read-only except hostname and domainname,
/// which are shown from the UTS namespace.
fn sys_dir(src: Arc<dyn ProcSource>) -> Arc<dyn Inode> {
    dir(&[b"sys"], move || {
        let mut subdirs: std::collections::BTreeMap<&'static str, Vec<(&'static str, proc_sys::SysValue)>> =
            Default::default();
        for (path, value) in proc_sys::sysctls() {
            if let Some((sub, leaf)) = path.split_once('/') {
                subdirs.entry(sub).or_default().push((leaf, value));
            }
        }
        Ok(subdirs
            .into_iter()
            .map(|(sub, leaves)| (sub.as_bytes().to_vec(), sysctl_dir(&src, sub, leaves)))
            .collect())
    })
}

/// A directory of sysctls; `leaves` are paths below it ("random/uuid").
fn sysctl_dir(
    src: &Arc<dyn ProcSource>,
    path: &str,
    leaves: Vec<(&'static str, proc_sys::SysValue)>,
) -> Arc<dyn Inode> {
    let src = src.clone();
    let key = format!("sys/{path}");
    let path = path.to_string();
    dir(&[key.as_bytes()], move || {
        let mut files: Entries = Vec::new();
        let mut subdirs: std::collections::BTreeMap<&'static str, Vec<(&'static str, proc_sys::SysValue)>> =
            Default::default();
        for (leaf, value) in &leaves {
            match leaf.split_once('/') {
                Some((sub, rest)) => subdirs.entry(sub).or_default().push((rest, *value)),
                None => files.push((leaf.as_bytes().to_vec(), sysctl_file(&src, &path, leaf, *value))),
            }
        }
        for (sub, rest) in subdirs {
            let child = format!("{path}/{sub}");
            files.push((sub.as_bytes().to_vec(), sysctl_dir(&src, &child, rest)));
        }
        Ok(files)
    })
}

fn sysctl_file(src: &Arc<dyn ProcSource>, dir_path: &str, leaf: &str, value: proc_sys::SysValue) -> Arc<dyn Inode> {
    let full = format!("sys/{dir_path}/{leaf}");
    let (mode, write) = if value.writable {
        // Writable sysctls exist, but the sandbox does not change them.
        (0o644, WritePolicy::FailWrite(Errno::EPERM))
    } else {
        (0o444, WritePolicy::DenyOpen)
    };
    let src = src.clone();
    let name = full.clone();
    file_with(&[full.as_bytes()], &None, mode, write, move || match value.render {
        proc_sys::SysRender::Host(f) => Ok(f()),
        proc_sys::SysRender::Kernel => src.kernel_file(&name).ok_or(Errno::EIO),
    })
}

/// The owner of process `pid`'s entries: its effective ids.
fn process_owner(src: &Arc<dyn ProcSource>, pid: i32) -> Owner {
    let s = src.clone();
    Some(Arc::new(move || s.owner(pid).unwrap_or((0, 0))))
}

/// The part of a pid directory shared with task/TID directories.
fn process_files(src: &Arc<dyn ProcSource>, pid: i32, tid: i32, key: &[u8]) -> Entries {
    let owner = process_owner(src, pid);
    let mut out: Entries = Vec::new();
    for spec in PID_FILES {
        let (s, name) = (src.clone(), spec.name);
        let write = if spec.writable {
            let w = src.clone();
            WritePolicy::Accept(Arc::new(move |data: &[u8]| w.write_pid_file(pid, tid, name, data)))
        } else {
            WritePolicy::FailWrite(Errno::EINVAL)
        };
        let inode = file_with(&[key, name.as_bytes()], &owner, spec.mode, write, move || {
            s.pid_file(pid, tid, name).ok_or(Errno::ESRCH)
        });
        out.push((name.as_bytes().to_vec(), inode));
    }
    for (name, which) in [("exe", PidLink::Exe), ("cwd", PidLink::Cwd), ("root", PidLink::Root)] {
        let s = src.clone();
        out.push((
            name.as_bytes().to_vec(),
            owned_link(&[key, name.as_bytes()], &owner, move || {
                s.link(pid, which).ok_or(Errno::ENOENT)
            }),
        ));
    }
    out.push((b"fd".to_vec(), fd_dir(src.clone(), pid, key, &owner)));
    out.push((b"fdinfo".to_vec(), fdinfo_dir(src.clone(), pid, key, &owner)));
    out.push((b"net".to_vec(), net_dir(src, key, &owner)));
    out
}

/// /proc/PID/net: the sandbox's network (one network namespace), as
/// [`ProcSource::kernel_file`] renders "net/NAME".
fn net_dir(src: &Arc<dyn ProcSource>, key: &[u8], owner: &Owner) -> Arc<dyn Inode> {
    let src = src.clone();
    let dir_key = [key, b"/net"].concat();
    dir_with_mode(&[&dir_key.clone()], owner, 0o555, move || {
        Ok(crate::net::procnet::FILES
            .iter()
            .map(|&name| {
                let s = src.clone();
                let path = format!("net/{name}");
                let inode = file(&[&dir_key, name.as_bytes()], move || {
                    s.kernel_file(&path).ok_or(Errno::EIO)
                });
                (name.as_bytes().to_vec(), inode)
            })
            .collect())
    })
}

fn pid_dir(src: Arc<dyn ProcSource>, pid: i32) -> Arc<dyn Inode> {
    pid_dir_of_thread(src, pid, pid)
}

/// A /proc/PID directory seen from thread `tid` of process `pid`.
fn pid_dir_of_thread(src: Arc<dyn ProcSource>, pid: i32, tid: i32) -> Arc<dyn Inode> {
    let key = tid.to_string().into_bytes();
    let owner = process_owner(&src, pid);
    dir_with_mode(&[&key.clone()], &owner, 0o555, move || {
        let mut out = process_files(&src, pid, tid, &key);
        out.push((b"task".to_vec(), task_dir(src.clone(), pid, &key)));
        Ok(out)
    })
}

fn task_dir(src: Arc<dyn ProcSource>, pid: i32, pid_key: &[u8]) -> Arc<dyn Inode> {
    let key = [pid_key, b"/task"].concat();
    let owner = process_owner(&src, pid);
    dir_with_mode(&[&key.clone()], &owner.clone(), 0o555, move || {
        let tids = src.tids(pid).ok_or(Errno::ESRCH)?;
        Ok(tids
            .into_iter()
            .map(|tid| {
                let name = tid.to_string().into_bytes();
                let tkey = [&key[..], b"/", &name].concat();
                let s = src.clone();
                let inode = dir_with_mode(&[&tkey.clone()], &owner, 0o555, move || {
                    Ok(process_files(&s, pid, tid, &tkey))
                });
                (name, inode)
            })
            .collect())
    })
}

fn fd_dir(src: Arc<dyn ProcSource>, pid: i32, pid_key: &[u8], owner: &Owner) -> Arc<dyn Inode> {
    let key = [pid_key, b"/fd"].concat();
    let link_owner = owner.clone();
    dir_with_mode(&[&key.clone()], owner, 0o500, move || {
        let fds = src.fds(pid).ok_or(Errno::ESRCH)?;
        Ok(fds
            .into_iter()
            .map(|(fd, target, access)| {
                let name = fd.to_string().into_bytes();
                let s = src.clone();
                let jump: Jump = Arc::new(move || s.fd_dentry(pid, fd).ok_or(Errno::ENOENT));
                let inode = fd_link(&[&key, &name], &link_owner, access, target, jump);
                (name, inode)
            })
            .collect())
    })
}

fn fdinfo_dir(src: Arc<dyn ProcSource>, pid: i32, pid_key: &[u8], owner: &Owner) -> Arc<dyn Inode> {
    let key = [pid_key, b"/fdinfo"].concat();
    let file_owner = owner.clone();
    dir_with_mode(&[&key.clone()], owner, 0o500, move || {
        let fds = src.fds(pid).ok_or(Errno::ESRCH)?;
        Ok(fds
            .into_iter()
            .map(|(fd, _, _)| {
                let name = fd.to_string().into_bytes();
                let s = src.clone();
                let inode = file_with(
                    &[&key, &name],
                    &file_owner,
                    0o444,
                    WritePolicy::FailWrite(Errno::EINVAL),
                    move || s.fdinfo(pid, fd).ok_or(Errno::ENOENT),
                );
                (name, inode)
            })
            .collect())
    })
}
