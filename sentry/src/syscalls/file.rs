//! File and path syscalls: open/close, read/write, stat, directories,
//! links, fd table operations.

use super::{locks, Args};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::resolve::FsContext;
use crate::vfs::{CreateAttr, Dentry, FileOps, OpenFile, Stat};
use std::sync::Arc;

const PATH_MAX: usize = 4096;
/// Largest single read or write (Linux's MAX_RW_COUNT).
pub(super) const MAX_RW: usize = 0x7fff_f000;
/// Bytes moved per step of a large read or write.
const CHUNK: usize = 1 << 20;
const IOV_MAX: usize = 1024;
/// writev gathers at most this much into one write.
const ATOMIC_GATHER: usize = 64 << 10;

pub(super) fn path_arg(task: &Task, addr: u64) -> Result<Vec<u8>> {
    task.mm.read_cstring(addr, PATH_MAX - 1)
}

pub(super) fn file_of(task: &Task, fd: i32) -> Result<Arc<OpenFile>> {
    task.fds.get(fd)
}

/// The open file at `fd` for an operation on the file itself: an O_PATH
/// fd is EBADF (open(2) O_PATH: only fd-level operations work).
pub(super) fn io_file_of(task: &Task, fd: i32) -> Result<Arc<OpenFile>> {
    let file = task.fds.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(file)
}

/// The directory a relative path starts from: the cwd for AT_FDCWD, else
/// the directory open at `dirfd`.
pub(super) fn start_dir(task: &Task, dirfd: i32, path: &[u8]) -> Result<Arc<Dentry>> {
    if path.first() == Some(&b'/') {
        return Ok(task.fs().root.clone());
    }
    if dirfd == libc::AT_FDCWD {
        return Ok(task.fs().cwd.clone());
    }
    let dir = file_of(task, dirfd)?.dentry.clone();
    if !dir.inode.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(dir)
}

/// The directory open at `dirfd` (the cwd for AT_FDCWD), whatever the path.
pub(super) fn dirfd_dir(task: &Task, dirfd: i32) -> Result<Arc<Dentry>> {
    start_dir(task, dirfd, b".")
}

/// Resolves (dirfd, path) honouring AT_EMPTY_PATH and AT_SYMLINK_NOFOLLOW.
pub(super) fn resolve_at(task: &Task, dirfd: i32, path: &[u8], flags: i32) -> Result<Arc<Dentry>> {
    if path.is_empty() {
        if flags & libc::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd == libc::AT_FDCWD {
            return Ok(task.fs().cwd.clone());
        }
        return Ok(file_of(task, dirfd)?.dentry.clone());
    }
    let start = start_dir(task, dirfd, path)?;
    task.fs().resolve(&start, path, flags & libc::AT_SYMLINK_NOFOLLOW == 0)
}

/// Linux's generic_permission(): the owner, group or other bits for the
/// caller's filesystem ids (`want`: 4 read, 2 write, 1 execute/search);
/// failing those, CAP_DAC_READ_SEARCH reads any file and reads or searches
/// any directory, and CAP_DAC_OVERRIDE does anything but execute a file
/// without an x bit (capabilities(7)). access(2) checks the real ids
/// (`use_real_ids`), with the capabilities root would have there: the
/// permitted set for real uid 0, none otherwise.
pub(super) fn may_access(task: &Task, st: &Stat, want: u32, use_real_ids: bool) -> Result<()> {
    use super::creds::{CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH};
    let c = &task.creds;
    let (uid, gid) = if use_real_ids {
        (c.uid, c.gid)
    } else {
        (c.fsuid, c.fsgid)
    };
    let bits = if st.uid == uid {
        (st.mode >> 6) & 7
    } else if st.gid == gid || c.groups.binary_search(&st.gid).is_ok() {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    if bits & want == want {
        return Ok(());
    }
    let capable = |cap: u32| {
        if use_real_ids {
            c.uid == 0 && c.cap_permitted & (1 << cap) != 0
        } else {
            c.capable(cap)
        }
    };
    let read_or_search = if st.is_dir() { want & 2 == 0 } else { want == 4 };
    if read_or_search && capable(CAP_DAC_READ_SEARCH) {
        return Ok(());
    }
    let executable = st.is_dir() || want & 1 == 0 || st.mode & 0o111 != 0;
    if executable && capable(CAP_DAC_OVERRIDE) {
        return Ok(());
    }
    Err(Errno::EACCES)
}

/// Adding or removing a directory entry needs write and search permission
/// on the directory (path_resolution(7)).
/// On a read-only mount that is EROFS first, as mnt_want_write comes
/// before the permission check.
pub(super) fn may_modify_dir(task: &Task, dir: &Dentry) -> Result<()> {
    if task.fs().mounts.mount_of(&dir.path).is_some_and(|m| m.read_only) {
        return Err(Errno::EROFS);
    }
    may_access(task, &dir.inode.stat()?, 2 | 1, false)
}

/// What the mount of `d` forbids for an open with `flags` of a file with
/// stat `st` (open(2) EROFS and EACCES): writing a file that is not a
/// device, FIFO or socket on a read-only mount, and any device on a
/// `nodev` mount.
fn check_mount_for_open(task: &Task, d: &Dentry, st: &crate::vfs::Stat, flags: i32) -> Result<()> {
    let Some(mount) = task.fs().mounts.mount_of(&d.path) else {
        return Ok(());
    };
    let kind = st.file_type();
    let special = matches!(kind, libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK);
    let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
    if mount.read_only && writes && !special {
        return Err(Errno::EROFS);
    }
    if mount.nodev && matches!(kind, libc::S_IFCHR | libc::S_IFBLK) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// In a sticky directory only the owner of the entry or of the directory
/// (or CAP_FOWNER) may remove or rename it (inode(7), S_ISVTX).
pub(super) fn check_sticky(task: &Task, dir: &Dentry, victim: &Dentry) -> Result<()> {
    let dir_st = dir.inode.stat()?;
    if dir_st.mode & libc::S_ISVTX == 0 || task.creds.capable(super::creds::CAP_FOWNER) {
        return Ok(());
    }
    let victim_st = victim.inode.stat()?;
    if victim_st.uid == task.creds.fsuid || dir_st.uid == task.creds.fsuid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// An O_PATH file: only fd-level operations work.
struct PathOnly;

impl FileOps for PathOnly {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EBADF)
    }
}

/// O_LARGEFILE as the kernel spells it on x86-64 (libc defines it as 0).
const O_LARGEFILE: i32 = 0o100000;

/// The flags open(2) knows (Linux's VALID_OPEN_FLAGS).
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE;

/// The flags an open file keeps: unknown bits are dropped, a 64-bit
/// kernel adds O_LARGEFILE, and O_PATH keeps only O_PATH, O_CLOEXEC,
/// O_DIRECTORY and O_NOFOLLOW (open(2); Linux's build_open_flags).
fn effective_open_flags(flags: i32) -> i32 {
    if flags & libc::O_PATH != 0 {
        return flags & (libc::O_PATH | libc::O_CLOEXEC | libc::O_DIRECTORY | libc::O_NOFOLLOW);
    }
    (flags & VALID_OPEN_FLAGS) | O_LARGEFILE
}

/// openat(2). Unknown flags are ignored, as open(2) does (only openat2
/// rejects them).
pub(super) fn do_open(task: &Task, dirfd: i32, path: &[u8], flags: i32, mode: u32) -> Result<u64> {
    do_open_limited(task, dirfd, path, flags, mode, |_, fs| Ok(fs))
}

/// do_open with the path walk's view adjusted by `limit` (given the
/// dirfd's directory): openat2's RESOLVE_* flags.
pub(super) fn do_open_limited(
    task: &Task,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
    limit: impl FnOnce(Option<Arc<Dentry>>, FsContext) -> Result<FsContext>,
) -> Result<u64> {
    // O_CREAT|O_DIRECTORY is refused outright (Linux 6.4 and later).
    if flags & (libc::O_CREAT | libc::O_DIRECTORY) == libc::O_CREAT | libc::O_DIRECTORY {
        return Err(Errno::EINVAL);
    }
    let flags = effective_open_flags(flags);
    let start = start_dir(task, dirfd, path)?;
    let dir = if path.first() == Some(&b'/') {
        dirfd_dir(task, dirfd).ok()
    } else {
        Some(start.clone())
    };
    let fs = limit(dir, task.fs())?;
    if flags & libc::O_TMPFILE == libc::O_TMPFILE {
        return super::tmpfile::open_tmpfile(task, &fs, &start, path, flags, mode);
    }
    let follow = flags & libc::O_NOFOLLOW == 0;
    let dentry = if flags & libc::O_CREAT != 0 {
        open_creat(task, &fs, &start, path, flags, mode)?
    } else {
        fs.resolve(&start, path, follow)?
    };
    let st = dentry.inode.stat()?;
    let ops: Arc<dyn FileOps> = if flags & libc::O_PATH != 0 {
        if flags & libc::O_DIRECTORY != 0 && !st.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Arc::new(PathOnly)
    } else {
        if st.is_symlink() {
            return Err(Errno::ELOOP);
        }
        if flags & libc::O_DIRECTORY != 0 && !st.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let acc = flags & libc::O_ACCMODE;
        let writing = acc == libc::O_WRONLY || acc == libc::O_RDWR;
        if st.is_dir() && (writing || flags & libc::O_TRUNC != 0) {
            return Err(Errno::EISDIR);
        }
        let want = match acc {
            libc::O_RDONLY => 4,
            libc::O_WRONLY => 2,
            _ => 6,
        };
        may_access(task, &st, want, false)?;
        // O_NOATIME only for the file's owner or CAP_FOWNER (open(2) EPERM).
        if flags & libc::O_NOATIME != 0 && st.uid != task.creds.fsuid && !task.creds.capable(super::creds::CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
        check_mount_for_open(task, &dentry, &st, flags)?;
        let ops = open_inode(task, &dentry, &st, flags)?;
        if flags & libc::O_TRUNC != 0 && st.is_regular() {
            crate::mm::pagecache::file_truncated((st.dev, st.ino), 0);
        }
        ops
    };
    crate::fs::tty::ctty::acquire_on_open(task, &ops, flags);
    let file = OpenFile::new(dentry, ops, flags);
    let fd = task.fds.insert(file, flags & libc::O_CLOEXEC != 0)?;
    Ok(fd as u64)
}

/// Opens a resolved file. The terminal devices that depend on the caller
/// are opened here: /dev/tty (its controlling terminal) and ptmx (a new
/// master in the devpts next to it, owned by the caller).
fn open_inode(task: &Task, dentry: &Arc<Dentry>, st: &Stat, flags: i32) -> Result<Arc<dyn FileOps>> {
    use crate::fs::devpts;
    if st.is_fifo() && !dentry.inode.is_anonymous_pipe() {
        return crate::fs::fifo::open(&task.kernel.fifos, st, flags);
    }
    if st.file_type() != libc::S_IFCHR {
        return dentry.inode.open(flags);
    }
    match st.rdev {
        // The sandbox has one console, the container's terminal, which is
        // the controlling terminal of the init's session; like /dev/tty,
        // ENXIO for a caller without one.
        devpts::TTY_RDEV | devpts::CONSOLE_RDEV => crate::fs::tty::ctty::open_dev_tty(task),
        devpts::PTMX_RDEV => {
            let fs = devpts::of_ptmx(&dentry.inode).or_else(|| {
                let pts = dentry.parent.as_ref().map(|p| p.child_path(b"pts"))?;
                devpts::of_root(&task.fs().mounts.at(&pts)?.root)
            });
            let fs = fs.ok_or(Errno::ENXIO)?;
            Ok(fs.open_master(task.creds.fsuid, task.creds.fsgid)?)
        }
        _ => dentry.inode.open(flags),
    }
}

/// The O_CREAT half of open: create the last component if it is missing.
fn open_creat(
    task: &Task,
    fs: &FsContext,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Arc<Dentry>> {
    open_creat_following(task, fs, start, path, flags, mode, 0)
}

/// open_creat after `links` symlinks: a last component that is a dangling
/// symlink is followed and its target created (open(2) O_CREAT), up to
/// Linux's 40 links (ELOOP).
fn open_creat_following(
    task: &Task,
    fs: &FsContext,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
    links: u32,
) -> Result<Arc<Dentry>> {
    const MAX_SYMLINKS: u32 = 40;
    if path.last() == Some(&b'/') {
        return Err(Errno::EISDIR);
    }
    let (parent, name) = fs.resolve_parent(start, path)?;
    if name == b"." || name == b".." {
        return Err(Errno::EISDIR);
    }
    match fs.lookup_child(&parent, &name) {
        Ok(child) => {
            if flags & libc::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if child.inode.stat()?.is_symlink() {
                if flags & libc::O_NOFOLLOW != 0 {
                    return Err(Errno::ELOOP);
                }
                return match fs.resolve(start, path, true) {
                    Err(Errno::ENOENT) if links < MAX_SYMLINKS => {
                        let target = child.inode.readlink()?;
                        if target.is_empty() {
                            return Err(Errno::ENOENT);
                        }
                        open_creat_following(task, fs, &parent, &target, flags, mode, links + 1)
                    }
                    Err(Errno::ENOENT) => Err(Errno::ELOOP),
                    found => found,
                };
            }
            Ok(child)
        }
        Err(Errno::ENOENT) => {
            let attr = CreateAttr {
                mode: mode & 0o7777 & !fs.umask,
                uid: task.creds.fsuid,
                gid: task.creds.fsgid,
            };
            may_modify_dir(task, &parent)?;
            let inode = parent.inode.create(&name, attr)?;
            Ok(Arc::new(Dentry {
                path: parent.child_path(&name),
                parent: Some(parent.clone()),
                inode,
            }))
        }
        Err(e) => Err(e),
    }
}

pub fn open(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_open(task, libc::AT_FDCWD, &path, a.i32(1), a.u32(2))
}

pub fn openat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_open(task, a.fd(0), &path, a.i32(2), a.u32(3))
}

pub fn close(task: &mut Task, a: Args) -> Result<u64> {
    task.fds.remove(a.fd(0))?;
    Ok(0)
}

/// Moves up to `count` bytes from `file` into guest memory at `addr`.
pub(super) fn read_into(
    task: &Task,
    file: &OpenFile,
    addr: u64,
    count: usize,
    mut read: impl FnMut(&mut [u8], u64) -> Result<usize>,
) -> Result<usize> {
    let count = count.min(MAX_RW);
    let mut done = 0;
    let mut buf = vec![0u8; count.min(CHUNK)];
    while done < count {
        let want = (count - done).min(CHUNK);
        let n = match read(&mut buf[..want], done as u64) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        task.mm.write(addr + done as u64, &buf[..n])?;
        done += n;
        if n < want || !file.ops.seekable() {
            break;
        }
    }
    Ok(done)
}

/// Moves up to `count` bytes from guest memory at `addr` into `file`.
pub(super) fn write_from(
    task: &Task,
    addr: u64,
    count: usize,
    mut write: impl FnMut(&[u8], u64) -> Result<usize>,
) -> Result<usize> {
    let count = count.min(MAX_RW);
    let mut done = 0;
    while done < count {
        let want = (count - done).min(CHUNK);
        let buf = match task.mm.read_vec(addr + done as u64, want) {
            Ok(b) => b,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let n = match write(&buf, done as u64) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done)
}

pub fn read(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    crate::fs::tty::jobctl::check_read(task, &file)?;
    if file.dentry.inode.stat()?.is_dir() {
        return Err(Errno::EISDIR);
    }
    let (addr, count) = (a.u64(1), a.usize(2).min(MAX_RW));
    let mut done = 0;
    while done < count {
        let want = (count - done).min(CHUNK);
        // The offset only moves by what reached the guest (EFAULT leaves it).
        let n = match file.read_and_consume(want, &mut |data| task.mm.write(addr + done as u64, data)) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += n;
        if n < want || !file.ops.seekable() {
            break;
        }
    }
    Ok(done as u64)
}

/// A set-user-ID bit, or a set-group-ID bit with group execute, that a
/// write or chown must clear from a regular file (Linux's
/// should_remove_suid); None when there is nothing to clear.
pub(super) fn mode_without_setid(st: &Stat) -> Option<u32> {
    let mut kill = st.mode & libc::S_ISUID;
    if st.mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP {
        kill |= libc::S_ISGID;
    }
    (kill != 0 && st.is_regular()).then_some(st.mode & 0o7777 & !kill)
}

/// A write by a caller without CAP_FSETID clears the file's set-id bits
/// (write(2); Linux's file_remove_privs). `count` 0 writes nothing.
pub(super) fn remove_privs_for_write(task: &Task, file: &OpenFile, count: usize) {
    if count == 0 || task.creds.capable(super::creds::CAP_FSETID) {
        return;
    }
    let Ok(st) = file.dentry.inode.stat() else { return };
    if let Some(mode) = mode_without_setid(&st) {
        let _ = file.dentry.inode.setattr(crate::vfs::SetAttr {
            mode: Some(mode),
            ..Default::default()
        });
    }
}

/// The caller's RLIMIT_FSIZE soft limit (u64::MAX for none).
pub(super) fn fsize_limit(task: &Task) -> u64 {
    task.rlimits[libc::RLIMIT_FSIZE as usize].0
}

/// EPIPE also raises SIGPIPE in the writer (pipe(7), write(2)); EFBIG
/// under an RLIMIT_FSIZE raises SIGXFSZ (setrlimit(2)). (The limit stops a
/// write long before a filesystem's own maximum, whose EFBIG has no signal.)
pub(super) fn sigpipe_on_epipe(task: &Task, e: Errno) -> Errno {
    let signo = match e {
        Errno::EPIPE => libc::SIGPIPE,
        Errno::EFBIG if fsize_limit(task) != u64::MAX => libc::SIGXFSZ,
        _ => return e,
    };
    let info = crate::kernel::signals::SigInfo {
        signo,
        pid_or_addr: task.tgid as u64,
        uid: task.creds.uid,
        ..Default::default()
    };
    let _ = task.kernel.post_signal(task.tid, info);
    e
}

pub fn write(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    if file.ops.socket().is_some() {
        return Ok(super::socket::writev_socket(task, &file, &[(a.u64(1), a.usize(2))])? as u64);
    }
    crate::fs::tty::jobctl::check_write(task, &file)?;
    remove_privs_for_write(task, &file, a.usize(2));
    let limit = fsize_limit(task);
    let n = write_from(task, a.u64(1), a.usize(2), |buf, _| file.write_capped(buf, limit))
        .map_err(|e| sigpipe_on_epipe(task, e))?;
    Ok(n as u64)
}

pub fn pread64(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    let offset = a.u64(3) as i64;
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    if file.dentry.inode.stat()?.is_dir() {
        return Err(Errno::EISDIR);
    }
    let n = read_into(task, &file, a.u64(1), a.usize(2), |buf, done| {
        file.pread(buf, offset as u64 + done)
    })?;
    Ok(n as u64)
}

pub fn pwrite64(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    let offset = a.u64(3) as i64;
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    remove_privs_for_write(task, &file, a.usize(2));
    let limit = fsize_limit(task);
    let n = write_from(task, a.u64(1), a.usize(2), |buf, done| {
        file.pwrite_capped(buf, offset as u64 + done, limit)
    })
    .map_err(|e| sigpipe_on_epipe(task, e))?;
    Ok(n as u64)
}

/// Reads a struct iovec array.
pub(super) fn read_iovecs(task: &Task, addr: u64, count: usize) -> Result<Vec<(u64, usize)>> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = task.mm.read_vec(addr, count * 16)?;
    let mut total: usize = 0;
    let mut iovs = Vec::with_capacity(count);
    for iov in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(iov[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(iov[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total.checked_add(len as usize).ok_or(Errno::EINVAL)?;
        iovs.push((base, len as usize));
    }
    if total > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    Ok(iovs)
}

pub fn readv(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    crate::fs::tty::jobctl::check_read(task, &file)?;
    let iovs = read_iovecs(task, a.u64(1), a.usize(2))?;
    if file.ops.socket().is_some() {
        return Ok(super::socket::readv_socket(task, &file, &iovs)? as u64);
    }
    let mut total = 0;
    for (base, len) in iovs {
        let n = match read_into(task, &file, base, len, |buf, _| file.read(buf)) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total as u64)
}

pub fn writev(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    crate::fs::tty::jobctl::check_write(task, &file)?;
    let iovs = read_iovecs(task, a.u64(1), a.usize(2))?;
    if file.ops.socket().is_some() {
        return Ok(super::socket::writev_socket(task, &file, &iovs)? as u64);
    }
    let total: usize = iovs.iter().map(|&(_, len)| len).sum();
    remove_privs_for_write(task, &file, total);
    if total <= ATOMIC_GATHER {
        // Small vectors become one write, so a writev to a pipe or an
        // O_APPEND file is as atomic as Linux makes it.
        let mut data = Vec::with_capacity(total);
        for (base, len) in iovs {
            match task.mm.read_vec(base, len) {
                Ok(b) => data.extend_from_slice(&b),
                Err(e) if data.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        return if data.is_empty() {
            Ok(0)
        } else {
            Ok(file
                .write_capped(&data, fsize_limit(task))
                .map_err(|e| sigpipe_on_epipe(task, e))? as u64)
        };
    }
    let mut done = 0;
    for (base, len) in iovs {
        let n = match write_from(task, base, len, |buf, _| file.write_capped(buf, fsize_limit(task))) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(sigpipe_on_epipe(task, e)),
            Err(_) => break,
        };
        done += n;
        if n < len {
            break;
        }
    }
    Ok(done as u64)
}

pub fn lseek(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    file.seek(a.u64(1) as i64, a.i32(2))
}

/// Fills a struct stat (x86-64 layout, 144 bytes).
pub(super) fn encode_stat(st: &Stat) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, st.dev);
    put(8, st.ino);
    put(16, st.nlink);
    put(40, st.rdev);
    put(48, st.size);
    put(56, st.blksize);
    put(64, st.blocks);
    put(72, st.atime.sec as u64);
    put(80, st.atime.nsec as u64);
    put(88, st.mtime.sec as u64);
    put(96, st.mtime.nsec as u64);
    put(104, st.ctime.sec as u64);
    put(112, st.ctime.nsec as u64);
    b[24..28].copy_from_slice(&st.mode.to_le_bytes());
    b[28..32].copy_from_slice(&st.uid.to_le_bytes());
    b[32..36].copy_from_slice(&st.gid.to_le_bytes());
    b
}

fn write_stat(task: &Task, addr: u64, st: &Stat) -> Result<u64> {
    task.mm.write(addr, &encode_stat(st))?;
    Ok(0)
}

pub fn stat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    write_stat(task, a.u64(1), &d.inode.stat()?)
}

pub fn lstat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, libc::AT_SYMLINK_NOFOLLOW)?;
    write_stat(task, a.u64(1), &d.inode.stat()?)
}

pub fn fstat(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    write_stat(task, a.u64(1), &file.dentry.inode.stat()?)
}

pub fn newfstatat(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(3);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    let d = resolve_at(task, a.fd(0), &path, flags)?;
    write_stat(task, a.u64(2), &d.inode.stat()?)
}

fn dev_major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

fn dev_minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// Fills a struct statx (256 bytes) with the basic stats.
fn encode_statx(st: &Stat) -> [u8; 256] {
    const STATX_BASIC_STATS: u32 = 0x7ff;
    let mut b = [0u8; 256];
    let mut put32 = |off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put32(0, STATX_BASIC_STATS);
    put32(4, st.blksize as u32);
    put32(16, st.nlink as u32);
    put32(20, st.uid);
    put32(24, st.gid);
    put32(128, dev_major(st.rdev));
    put32(132, dev_minor(st.rdev));
    put32(136, dev_major(st.dev));
    put32(140, dev_minor(st.dev));
    b[28..30].copy_from_slice(&(st.mode as u16).to_le_bytes());
    let mut put64 = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put64(32, st.ino);
    put64(40, st.size);
    put64(48, st.blocks);
    for (off, ts) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put64(off, ts.sec as u64);
        put64(off + 8, ts.nsec as u32 as u64);
    }
    b
}

pub fn statx(task: &mut Task, a: Args) -> Result<u64> {
    const AT_STATX_SYNC_TYPE: i32 = 0x6000;
    const STATX_RESERVED: u32 = 0x8000_0000;
    let flags = a.i32(2);
    let valid = libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
    if flags & !valid != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE || a.u32(3) & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    let d = resolve_at(task, a.fd(0), &path, flags)?;
    task.mm.write(a.u64(4), &encode_statx(&d.inode.stat()?))?;
    Ok(0)
}

pub fn getdents64(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.dentry.inode.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let cap = a.usize(2).min(CHUNK);
    let mut out = Vec::with_capacity(cap);
    let mut too_small = false;
    file.next_dirents(&mut |entries| {
        let mut taken = 0;
        for (i, e) in entries.iter().enumerate() {
            let reclen = (19 + e.name.len() + 1).div_ceil(8) * 8;
            if out.len() + reclen > cap {
                too_small = out.is_empty();
                break;
            }
            out.extend_from_slice(&e.ino.to_le_bytes());
            // d_off: the offset of the next entry, as an index.
            out.extend_from_slice(&((i + 1) as i64).to_le_bytes());
            out.extend_from_slice(&(reclen as u16).to_le_bytes());
            out.push(e.kind);
            out.extend_from_slice(&e.name);
            out.resize(out.len() + reclen - 19 - e.name.len(), 0);
            taken += 1;
        }
        Ok(taken)
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    task.mm.write(a.u64(1), &out)?;
    Ok(out.len() as u64)
}

/// ioctl(2) requests of every file: FIOASYNC (0x5452) and FIGETBSZ (_IO(0, 2)).
const FIOASYNC: u64 = 0x5452;
const FIGETBSZ: u64 = 2;

/// FIONBIO and FIOASYNC: the int at `arg` turns status flag `flag` on or off.
fn set_flag_from_ioctl(task: &Task, file: &OpenFile, arg: u64, flag: i32) -> Result<u64> {
    let on: i32 = task.mm.read_val(arg)?;
    let flags = file.flags();
    file.set_status_flags(if on != 0 { flags | flag } else { flags & !flag });
    Ok(0)
}

/// Whether Linux's file would have a fasync method: pipes and FIFOs,
/// sockets and terminals.
fn has_fasync(file: &OpenFile) -> Result<bool> {
    if file.ops.socket().is_some() || file.ops.tty().is_some() {
        return Ok(true);
    }
    Ok(file.dentry.inode.stat()?.file_type() == libc::S_IFIFO)
}

pub fn ioctl(task: &mut Task, a: Args) -> Result<u64> {
    let fd = a.fd(0);
    let file = io_file_of(task, fd)?;
    match a.u64(1) {
        libc::FIOCLEX => task.fds.set_cloexec(fd, true).map(|_| 0),
        libc::FIONCLEX => task.fds.set_cloexec(fd, false).map(|_| 0),
        libc::FIONBIO => set_flag_from_ioctl(task, &file, a.u64(2), libc::O_NONBLOCK),
        // ioctl_fioasync(): only files with a fasync method (pipes, sockets,
        // terminals) take O_ASYNC this way; others are ENOTTY. As with
        // F_SETFL, the flag is recorded: no SIGIO is sent.
        FIOASYNC => {
            if !has_fasync(&file)? {
                return Err(Errno::ENOTTY);
            }
            set_flag_from_ioctl(task, &file, a.u64(2), libc::O_ASYNC)
        }
        // FIGETBSZ: the filesystem's block size, for any file.
        FIGETBSZ => {
            let blksize = i32::try_from(file.dentry.inode.stat()?.blksize).map_err(|_| Errno::EINVAL)?;
            task.mm.write_val(a.u64(2), &blksize)?;
            Ok(0)
        }
        cmd if file.ops.socket().is_some() && crate::net::netdevice::is_netdevice(cmd as u32) => {
            let family = file.ops.socket().map_or(0, |s| s.family());
            crate::net::netdevice::ioctl(task, family, cmd as u32, a.u64(2))
        }
        cmd => match file.ops.tty() {
            Some(handle) => crate::fs::tty::ioctl::ioctl(task, &handle, cmd as u32, a.u64(2)),
            None => match super::xfer::file_ioctl(task, &file, cmd, a.u64(2)) {
                Some(result) => result,
                None => file.ops.ioctl(cmd as u32, a.u64(2), task.mm.as_ref()),
            },
        },
    }
}

/// fcntl commands that work on an O_PATH fd (open(2) O_PATH).
fn fcntl_allowed_on_path(cmd: i32) -> bool {
    matches!(
        cmd,
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_GETFD | libc::F_SETFD | libc::F_GETFL
    )
}

pub fn fcntl(task: &mut Task, a: Args) -> Result<u64> {
    let fd = a.fd(0);
    let entry = task.fds.entry(fd)?;
    let cmd = a.i32(1);
    if entry.file.is_path_only() && !fcntl_allowed_on_path(cmd) {
        return Err(Errno::EBADF);
    }
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = a.i32(2);
            if min < 0 || min as u64 >= task.fds.limit() {
                return Err(Errno::EINVAL);
            }
            let cloexec = a.i32(1) == libc::F_DUPFD_CLOEXEC;
            Ok(task.fds.insert_from(min, entry.file, cloexec)? as u64)
        }
        libc::F_GETFD => Ok(if entry.cloexec { libc::FD_CLOEXEC as u64 } else { 0 }),
        libc::F_SETFD => task.fds.set_cloexec(fd, a.i32(2) & libc::FD_CLOEXEC != 0).map(|_| 0),
        libc::F_GETFL => Ok(entry.file.flags() as u64),
        libc::F_SETFL => {
            // setfl(): O_ASYNC changes only on a file with a fasync method;
            // elsewhere it is ignored.
            let mut flags = a.i32(2);
            if !has_fasync(&entry.file)? {
                flags = (flags & !libc::O_ASYNC) | (entry.file.flags() & libc::O_ASYNC);
            }
            entry.file.set_status_flags(flags);
            Ok(0)
        }
        libc::F_GETLK | libc::F_OFD_GETLK => locks::get_lock(task, &entry.file, a.u64(2), cmd == libc::F_OFD_GETLK),
        libc::F_SETLK | libc::F_SETLKW => locks::set_lock(task, &entry.file, a.u64(2), false, cmd == libc::F_SETLKW),
        libc::F_OFD_SETLK | libc::F_OFD_SETLKW => {
            locks::set_lock(task, &entry.file, a.u64(2), true, cmd == libc::F_OFD_SETLKW)
        }
        libc::F_GETPIPE_SZ => entry.file.ops.pipe_capacity(None, true),
        libc::F_ADD_SEALS => super::xfer::add_seals(&entry.file, a.u64(2)),
        libc::F_GET_SEALS => super::xfer::get_seals(&entry.file),
        libc::F_SETPIPE_SZ => {
            let privileged = task.creds.capable(super::creds::CAP_SYS_RESOURCE);
            entry.file.ops.pipe_capacity(Some(a.u64(2)), privileged)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// close_range(2).
pub fn close_range(task: &mut Task, a: Args) -> Result<u64> {
    const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
    let (first, last, flags) = (a.u32(0), a.u32(1), a.u32(2));
    if flags & !(CLOSE_RANGE_UNSHARE | libc::CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 && task.fds.is_shared() {
        // Like unshare(CLONE_FILES): this task gets a private copy first.
        let private = Arc::new(task.fds.fork()?);
        let shared = std::mem::replace(&mut task.fds, private);
        shared.remove_user();
        task.publish();
    }
    if flags & libc::CLOSE_RANGE_CLOEXEC != 0 {
        task.fds.set_cloexec_range(first, last)?;
    } else {
        task.fds.close_range(first, last)?;
    }
    Ok(0)
}

pub fn dup(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    Ok(task.fds.insert(file, false)? as u64)
}

pub fn dup2(task: &mut Task, a: Args) -> Result<u64> {
    let (old, new) = (a.fd(0), a.fd(1));
    let file = file_of(task, old)?;
    if old == new {
        return Ok(new as u64);
    }
    task.fds.insert_at(new, file, false)?;
    Ok(new as u64)
}

pub fn dup3(task: &mut Task, a: Args) -> Result<u64> {
    let (old, new, flags) = (a.fd(0), a.fd(1), a.i32(2));
    if flags & !libc::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let file = file_of(task, old)?;
    task.fds.insert_at(new, file, flags & libc::O_CLOEXEC != 0)?;
    Ok(new as u64)
}

/// fsync(2)/fdatasync(2): EINVAL for files with nothing to sync (pipes,
/// sockets, character devices such as /dev/null have no fsync method).
pub fn fsync(task: &mut Task, a: Args) -> Result<u64> {
    let file = io_file_of(task, a.fd(0))?;
    let kind = file.dentry.inode.stat()?.file_type();
    if matches!(kind, libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFCHR) {
        return Err(Errno::EINVAL);
    }
    file.flush_mapped()?;
    file.ops.fsync()?;
    Ok(0)
}

pub fn fadvise64(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if a.u64(3) > 5 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `path` as seen from `root` (a chroot(2)): the part below it, or, for a
/// path outside it, "(unreachable)" before the full path as Linux's
/// getcwd(2) writes it.
fn path_from_root(root: &[u8], path: &[u8]) -> Vec<u8> {
    if root == b"/" {
        return path.to_vec();
    }
    match path.strip_prefix(root) {
        Some([]) => b"/".to_vec(),
        Some(rest) if rest.first() == Some(&b'/') => rest.to_vec(),
        _ => [&b"(unreachable)"[..], path].concat(),
    }
}

pub fn getcwd(task: &mut Task, a: Args) -> Result<u64> {
    let fs = task.fs();
    let cwd = fs.cwd.clone();
    // A working directory that was removed has no path (getcwd(3) ENOENT).
    if cwd.inode.stat()?.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let mut path = path_from_root(&fs.root.path, &cwd.path);
    path.push(0);
    if a.usize(1) < path.len() {
        return Err(Errno::ERANGE);
    }
    task.mm.write(a.u64(0), &path)?;
    Ok(path.len() as u64)
}

fn set_cwd(task: &mut Task, dir: Arc<Dentry>) -> Result<u64> {
    let st = dir.inode.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    may_access(task, &st, 1, false)?;
    task.set_cwd(dir);
    task.publish();
    Ok(0)
}

pub fn chdir(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let dir = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    set_cwd(task, dir)
}

pub fn fchdir(task: &mut Task, a: Args) -> Result<u64> {
    let dir = file_of(task, a.fd(0))?.dentry.clone();
    set_cwd(task, dir)
}

fn do_mkdir(task: &Task, dirfd: i32, path: &[u8], mode: u32) -> Result<u64> {
    let start = start_dir(task, dirfd, path)?;
    let (parent, name) = task.fs().resolve_parent(&start, path)?;
    if name == b"." || name == b".." || task.fs().lookup_child(&parent, &name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let attr = CreateAttr {
        mode: mode & 0o7777 & !task.fs().umask,
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    };
    may_modify_dir(task, &parent)?;
    parent.inode.mkdir(&name, attr)?;
    Ok(0)
}

pub fn mkdir(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_mkdir(task, libc::AT_FDCWD, &path, a.u32(1))
}

pub fn mkdirat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_mkdir(task, a.fd(0), &path, a.u32(2))
}

fn do_unlink(task: &Task, dirfd: i32, path: &[u8], remove_dir: bool) -> Result<u64> {
    let start = start_dir(task, dirfd, path)?;
    let (parent, name) = task.fs().resolve_parent(&start, path)?;
    if remove_dir {
        match name.as_slice() {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let child = task.fs().lookup_child(&parent, &name)?;
        if task.fs().mounts.at(&child.path).is_some() {
            return Err(Errno::EBUSY);
        }
        may_modify_dir(task, &parent)?;
        check_sticky(task, &parent, &child)?;
        parent.inode.rmdir(&name)?;
    } else {
        if path.last() == Some(&b'/') {
            let child = task.fs().lookup_child(&parent, &name)?;
            return Err(if child.inode.stat()?.is_dir() {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        let child = task.fs().lookup_child(&parent, &name)?;
        may_modify_dir(task, &parent)?;
        check_sticky(task, &parent, &child)?;
        parent.inode.unlink(&name)?;
    }
    Ok(0)
}

pub fn unlink(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_unlink(task, libc::AT_FDCWD, &path, false)
}

pub fn rmdir(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_unlink(task, libc::AT_FDCWD, &path, true)
}

pub fn unlinkat(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(2);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    do_unlink(task, a.fd(0), &path, flags & libc::AT_REMOVEDIR != 0)
}

fn do_readlink(task: &Task, dirfd: i32, path: &[u8], buf: u64, size: i32) -> Result<u64> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let d = resolve_at(task, dirfd, path, libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH)?;
    let target = d.inode.readlink()?;
    let n = target.len().min(size as usize);
    task.mm.write(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn readlink(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_readlink(task, libc::AT_FDCWD, &path, a.u64(1), a.i32(2))
}

pub fn readlinkat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_readlink(task, a.fd(0), &path, a.u64(2), a.i32(3))
}

fn do_access(task: &Task, dirfd: i32, path: &[u8], mode: i32, flags: i32) -> Result<u64> {
    if mode & !(libc::F_OK | libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let d = resolve_at(task, dirfd, path, flags)?;
    let st = d.inode.stat()?;
    if mode & libc::W_OK != 0 && task.fs().mounts.mount_of(&d.path).is_some_and(|m| m.read_only) {
        return Err(Errno::EROFS);
    }
    may_access(task, &st, mode as u32 & 7, flags & libc::AT_EACCESS == 0)?;
    Ok(0)
}

pub fn access(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_access(task, libc::AT_FDCWD, &path, a.i32(1), 0)
}

pub fn faccessat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_access(task, a.fd(0), &path, a.i32(2), 0)
}

pub fn faccessat2(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_access(task, a.fd(0), &path, a.i32(2), a.i32(3))
}

pub fn umask(task: &mut Task, a: Args) -> Result<u64> {
    Ok(task.swap_umask(a.u32(0) & 0o777) as u64)
}

fn do_pipe(task: &Task, addr: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (inode, reader, writer) = crate::fs::pipe::new_pipe();
    let ino = inode.stat()?.ino;
    let dentry = Arc::new(Dentry {
        path: format!("pipe:[{ino}]").into_bytes(),
        parent: None,
        inode,
    });
    let status = flags & (libc::O_NONBLOCK | libc::O_DIRECT);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let rfd = task
        .fds
        .insert(OpenFile::new(dentry.clone(), reader, libc::O_RDONLY | status), cloexec)?;
    let wfd = match task
        .fds
        .insert(OpenFile::new(dentry, writer, libc::O_WRONLY | status), cloexec)
    {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.fds.remove(rfd);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_val(addr, &[rfd, wfd]) {
        let _ = task.fds.remove(rfd);
        let _ = task.fds.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn pipe(task: &mut Task, a: Args) -> Result<u64> {
    do_pipe(task, a.u64(0), 0)
}

pub fn pipe2(task: &mut Task, a: Args) -> Result<u64> {
    do_pipe(task, a.u64(0), a.i32(1))
}
