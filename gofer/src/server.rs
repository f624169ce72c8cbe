//! [`LocalServer`]: a [`FileServer`] over a directory of the host.
//!
//! Confinement rests on three rules:
//!
//! * Every held file (fid) is an `O_PATH` fd, obtained by resolving exactly
//!   one plain name (never empty, ".", ".." nor containing '/') relative to
//!   another held fd with `O_NOFOLLOW`. A symlink is therefore held *as* a
//!   symlink and never followed, and a held fd keeps naming the same inode
//!   even if the host renames things around it.
//! * Opening a held file for I/O never goes through `/proc/self/fd`. A
//!   directory re-opens itself with `openat(own_fd, ".")`, which cannot leave
//!   the inode; any other file re-opens with
//!   `openat(parent_fd, name, flags | O_NOFOLLOW)` and the result must be the
//!   same inode (dev, ino) that was walked, or the open fails with ESTALE.
//! * The map of fids is guarded by a mutex that is never held across a
//!   blocking system call, and a poisoned mutex is reported as EIO.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{DirEntry, Errno, Fid, FileServer, Result, SetAttr, Stat, ROOT_FID};

/// Flags a client may pass to [`FileServer::open`]; `O_CLOEXEC` and
/// `O_NOFOLLOW` are always added by the server.
const ALLOWED_OPEN_FLAGS: libc::c_int = libc::O_ACCMODE
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_DIRECTORY
    | libc::O_NONBLOCK
    | libc::O_LARGEFILE
    | libc::O_NOATIME;

/// Size of the buffer handed to getdents64.
const DIRENT_BUF_LEN: usize = 32 * 1024;

/// Upper bound for a symlink target we are willing to read.
const MAX_LINK_LEN: usize = 64 * 1024;

/// One held file.
#[derive(Clone)]
struct Node {
    /// `O_PATH | O_CLOEXEC` fd of the file itself.
    fd: Arc<OwnedFd>,
    /// `O_PATH` fd of the directory `name` was walked in; for the root, the
    /// root itself (and `name` is ".").
    parent: Arc<OwnedFd>,
    /// The single component this node was walked by.
    name: CString,
    /// `st_mode & S_IFMT` at walk time (an inode never changes type).
    kind: libc::mode_t,
    /// Identity of the inode at walk time.
    dev: u64,
    ino: u64,
}

impl Node {
    fn from_fd(fd: Arc<OwnedFd>, parent: Arc<OwnedFd>, name: CString) -> Result<(Node, Stat)> {
        let st = fstat_nofollow(fd.as_fd())?;
        let stat = to_stat(&st);
        let node = Node {
            fd,
            parent,
            name,
            kind: st.st_mode & libc::S_IFMT,
            dev: stat.dev,
            ino: stat.ino,
        };
        Ok((node, stat))
    }

    fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR
    }

    fn is_symlink(&self) -> bool {
        self.kind == libc::S_IFLNK
    }

    /// Opens the file this node holds for I/O with `flags` (already
    /// validated), without following any symlink and without going through
    /// /proc magic links.
    fn reopen(&self, flags: libc::c_int) -> Result<OwnedFd> {
        if self.is_symlink() {
            return Err(Errno(libc::ELOOP));
        }
        let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        if self.is_dir() {
            // "." relative to the directory's own fd is that very inode,
            // whatever happened to its name since it was walked.
            return openat(self.fd.as_fd(), c".", flags);
        }
        let fd = openat(self.parent.as_fd(), &self.name, flags)?;
        // The name may have been replaced since the walk; only hand out the
        // inode the client actually holds.
        let st = to_stat(&fstat_nofollow(fd.as_fd())?);
        if st.dev != self.dev || st.ino != self.ino {
            return Err(Errno(libc::ESTALE));
        }
        Ok(fd)
    }
}

struct State {
    next_fid: u64,
    nodes: HashMap<u64, Node>,
}

/// A [`FileServer`] serving the host directory tree below `root`.
pub struct LocalServer {
    state: Mutex<State>,
    read_only: bool,
}

impl LocalServer {
    /// Serves the directory `root` (which must be a directory; it may be
    /// reached through symlinks on the host side, nothing below it is).
    pub fn new(root: &Path, read_only: bool) -> std::io::Result<LocalServer> {
        // O_PATH ignores the access mode; std adds O_CLOEXEC itself.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(root)?;
        let root_fd = Arc::new(OwnedFd::from(file));
        let (node, _) = Node::from_fd(Arc::clone(&root_fd), root_fd, c".".to_owned())
            .map_err(|e| std::io::Error::from_raw_os_error(e.0))?;
        let mut nodes = HashMap::new();
        nodes.insert(ROOT_FID.0, node);
        Ok(LocalServer {
            state: Mutex::new(State {
                next_fid: ROOT_FID.0 + 1,
                nodes,
            }),
            read_only,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno(libc::EIO))
    }

    /// A copy of the node for `fid`, so no system call runs under the lock.
    fn node(&self, fid: Fid) -> Result<Node> {
        self.lock()?.nodes.get(&fid.0).cloned().ok_or(Errno(libc::EBADF))
    }
}

/// One plain component: not empty, ".", "..", and without '/' or NUL.
fn component(name: &[u8]) -> Result<CString> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno(libc::EINVAL));
    }
    CString::new(name).map_err(|_| Errno(libc::EINVAL))
}

/// Maps a libc return value to the errno of the call.
fn check(r: libc::c_int) -> Result<()> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

impl LocalServer {
    /// The directory node a change happens in, refusing changes when
    /// read-only.
    fn writable_dir(&self, dir: Fid) -> Result<Node> {
        if self.read_only {
            return Err(Errno(libc::EROFS));
        }
        let node = self.node(dir)?;
        if !node.is_dir() {
            return Err(Errno(libc::ENOTDIR));
        }
        Ok(node)
    }

    fn chown_entry(dir: &Node, name: &CStr, uid: u32, gid: u32) -> Result<()> {
        // SAFETY: a single validated name inside a directory fd we hold;
        // AT_SYMLINK_NOFOLLOW changes the entry itself, never a target.
        check(unsafe { libc::fchownat(dir.fd.as_raw_fd(), name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
    }
}

impl FileServer for LocalServer {
    fn create(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<(Fid, Stat)> {
        let cname = component(name)?;
        let parent = self.writable_dir(dir)?;
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: openat on a directory fd we hold with a single validated
        // name; O_EXCL|O_NOFOLLOW never follows an existing symlink.
        let raw = unsafe { libc::openat(parent.fd.as_raw_fd(), cname.as_ptr(), flags, mode & 0o7777) };
        if raw < 0 {
            return Err(last_errno());
        }
        // SAFETY: openat just returned this fd; we own it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: fchown on the fd we just created.
        check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })?;
        drop(fd);
        self.walk(dir, name)
    }

    fn mkdir(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let cname = component(name)?;
        let parent = self.writable_dir(dir)?;
        // SAFETY: mkdirat in a directory fd we hold with a validated name.
        check(unsafe { libc::mkdirat(parent.fd.as_raw_fd(), cname.as_ptr(), mode & 0o7777) })?;
        Self::chown_entry(&parent, &cname, uid, gid)
    }

    fn symlink(&self, dir: Fid, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<()> {
        let cname = component(name)?;
        let ctarget = CString::new(target).map_err(|_| Errno(libc::EINVAL))?;
        let parent = self.writable_dir(dir)?;
        // SAFETY: symlinkat writes a link entry; the target is stored as
        // text and only the Sentry ever resolves it, inside the sandbox.
        check(unsafe { libc::symlinkat(ctarget.as_ptr(), parent.fd.as_raw_fd(), cname.as_ptr()) })?;
        Self::chown_entry(&parent, &cname, uid, gid)
    }

    fn mknod(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let cname = component(name)?;
        let kind = mode & libc::S_IFMT;
        if ![0, libc::S_IFREG, libc::S_IFIFO, libc::S_IFSOCK].contains(&kind) {
            // Never a device node on the host, whatever the guest's capabilities.
            return Err(Errno(libc::EPERM));
        }
        let parent = self.writable_dir(dir)?;
        let kind = if kind == 0 { libc::S_IFREG } else { kind };
        // SAFETY: mknodat of a validated name in a directory fd we hold; no
        // device number is passed for these types.
        check(unsafe { libc::mknodat(parent.fd.as_raw_fd(), cname.as_ptr(), kind | (mode & 0o7777), 0) })?;
        Self::chown_entry(&parent, &cname, uid, gid)
    }

    fn link(&self, target: Fid, dir: Fid, name: &[u8]) -> Result<()> {
        let cname = component(name)?;
        let parent = self.writable_dir(dir)?;
        let node = self.node(target)?;
        if node.is_dir() {
            return Err(Errno(libc::EPERM));
        }
        // SAFETY: linkat from the held inode's own O_PATH fd (AT_EMPTY_PATH
        // names exactly the walked file, never a path) into a directory fd
        // we hold with a validated name.
        check(unsafe {
            libc::linkat(
                node.fd.as_raw_fd(),
                c"".as_ptr(),
                parent.fd.as_raw_fd(),
                cname.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        })
    }

    fn unlink(&self, dir: Fid, name: &[u8], is_dir: bool) -> Result<()> {
        let cname = component(name)?;
        let parent = self.writable_dir(dir)?;
        let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: unlinkat removes one validated entry of a directory we hold.
        check(unsafe { libc::unlinkat(parent.fd.as_raw_fd(), cname.as_ptr(), flags) })
    }

    fn rename(&self, dir: Fid, name: &[u8], new_dir: Fid, new_name: &[u8]) -> Result<()> {
        let (from, to) = (component(name)?, component(new_name)?);
        let (old, new) = (self.writable_dir(dir)?, self.writable_dir(new_dir)?);
        // SAFETY: renameat between two directory fds we hold, single names.
        check(unsafe { libc::renameat(old.fd.as_raw_fd(), from.as_ptr(), new.fd.as_raw_fd(), to.as_ptr()) })
    }

    fn exchange(&self, dir: Fid, name: &[u8], new_dir: Fid, new_name: &[u8]) -> Result<()> {
        let (a, b) = (component(name)?, component(new_name)?);
        let (old, new) = (self.writable_dir(dir)?, self.writable_dir(new_dir)?);
        // SAFETY: renameat2 between two directory fds we hold, single names;
        // RENAME_EXCHANGE only swaps the two entries.
        check(unsafe {
            libc::renameat2(
                old.fd.as_raw_fd(),
                a.as_ptr(),
                new.fd.as_raw_fd(),
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        })
    }

    fn setattr(&self, fid: Fid, attr: &SetAttr) -> Result<()> {
        if self.read_only {
            return Err(Errno(libc::EROFS));
        }
        let node = self.node(fid)?;
        if node.is_symlink() {
            // Only ownership applies to a link itself (lchown).
            if attr.mode.is_some() || attr.size.is_some() {
                return Err(Errno(libc::EOPNOTSUPP));
            }
            return match (attr.uid, attr.gid) {
                (None, None) => Ok(()),
                (uid, gid) => {
                    let dir = Node {
                        fd: Arc::clone(&node.parent),
                        ..node.clone()
                    };
                    Self::chown_entry(&dir, &node.name, uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX))
                }
            };
        }
        // Everything else goes through a re-opened fd of the very inode the
        // client holds (O_NOFOLLOW and an identity check), so a name
        // swapped for a symlink cannot redirect the change.
        let writing = attr.size.is_some();
        if writing && node.is_dir() {
            return Err(Errno(libc::EISDIR));
        }
        let fd = node.reopen(if writing { libc::O_WRONLY } else { libc::O_RDONLY })?;
        let raw = fd.as_raw_fd();
        if let Some(mode) = attr.mode {
            // SAFETY: fchmod on an fd we own.
            check(unsafe { libc::fchmod(raw, mode & 0o7777) })?;
        }
        if attr.uid.is_some() || attr.gid.is_some() {
            // SAFETY: fchown on an fd we own; -1 keeps a field.
            check(unsafe { libc::fchown(raw, attr.uid.unwrap_or(u32::MAX), attr.gid.unwrap_or(u32::MAX)) })?;
        }
        if let Some(size) = attr.size {
            // SAFETY: ftruncate on an fd we own, opened for writing.
            check(unsafe { libc::ftruncate(raw, i64::try_from(size).map_err(|_| Errno(libc::EFBIG))?) })?;
        }
        if attr.atime.is_some() || attr.mtime.is_some() {
            let ts = |t: Option<(i64, i64)>| match t {
                Some((sec, nsec)) => libc::timespec {
                    tv_sec: sec,
                    tv_nsec: nsec,
                },
                None => libc::timespec {
                    tv_sec: 0,
                    tv_nsec: libc::UTIME_OMIT,
                },
            };
            let times = [ts(attr.atime), ts(attr.mtime)];
            // SAFETY: futimens on an fd we own with two valid timespecs.
            check(unsafe { libc::futimens(raw, times.as_ptr()) })?;
        }
        Ok(())
    }

    fn walk(&self, dir: Fid, name: &[u8]) -> Result<(Fid, Stat)> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(Errno(libc::EINVAL));
        }
        let cname = CString::new(name).map_err(|_| Errno(libc::EINVAL))?;
        let parent = self.node(dir)?;
        if !parent.is_dir() {
            return Err(Errno(libc::ENOTDIR));
        }
        let fd = openat(
            parent.fd.as_fd(),
            &cname,
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )?;
        let (node, stat) = Node::from_fd(Arc::new(fd), Arc::clone(&parent.fd), cname)?;
        let mut state = self.lock()?;
        let fid = state.next_fid;
        state.next_fid = fid.checked_add(1).ok_or(Errno(libc::ENFILE))?;
        state.nodes.insert(fid, node);
        Ok((Fid(fid), stat))
    }

    fn stat(&self, fid: Fid) -> Result<Stat> {
        let node = self.node(fid)?;
        Ok(to_stat(&fstat_nofollow(node.fd.as_fd())?))
    }

    fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd> {
        if flags & libc::O_CREAT != 0 || flags & !ALLOWED_OPEN_FLAGS != 0 {
            return Err(Errno(libc::EINVAL));
        }
        let access = flags & libc::O_ACCMODE;
        if access != libc::O_RDONLY && access != libc::O_WRONLY && access != libc::O_RDWR {
            return Err(Errno(libc::EINVAL));
        }
        let node = self.node(fid)?;
        if node.is_symlink() {
            return Err(Errno(libc::ELOOP));
        }
        if self.read_only && (access != libc::O_RDONLY || flags & libc::O_TRUNC != 0) {
            return Err(Errno(libc::EROFS));
        }
        node.reopen(flags)
    }

    fn readdir(&self, fid: Fid) -> Result<Vec<DirEntry>> {
        let node = self.node(fid)?;
        if !node.is_dir() {
            return Err(Errno(libc::ENOTDIR));
        }
        let dir = node.reopen(libc::O_RDONLY | libc::O_DIRECTORY)?;
        read_all_entries(dir.as_fd())
    }

    fn readlink(&self, fid: Fid) -> Result<Vec<u8>> {
        let node = self.node(fid)?;
        if !node.is_symlink() {
            return Err(Errno(libc::EINVAL));
        }
        readlink_empty(node.fd.as_fd())
    }

    fn clunk(&self, fid: Fid) {
        if fid == ROOT_FID {
            return;
        }
        // A poisoned lock leaves the fid in place; nothing else to do.
        let removed = match self.state.lock() {
            Ok(mut state) => state.nodes.remove(&fid.0),
            Err(_) => None,
        };
        // Close the fds after the lock is released.
        drop(removed);
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

fn last_errno() -> Errno {
    Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

/// `openat(dir, name, flags)`, retried on EINTR.
fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> Result<OwnedFd> {
    loop {
        // SAFETY: `dir` is a live fd for the duration of the call, `name` is
        // a NUL-terminated string that outlives it, and no O_CREAT/O_TMPFILE
        // is ever passed so the mode argument is unused.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, 0) };
        if fd >= 0 {
            // SAFETY: openat just returned this fd and nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let err = last_errno();
        if err.0 != libc::EINTR {
            return Err(err);
        }
    }
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW [| AT_EMPTY_PATH])`.
fn fstatat_nofollow(dir: BorrowedFd<'_>, name: &CStr) -> Result<libc::stat> {
    let mut flags = libc::AT_SYMLINK_NOFOLLOW;
    if name.is_empty() {
        flags |= libc::AT_EMPTY_PATH;
    }
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is live, `name` is NUL-terminated, and `st` points to
    // writable memory of the right size for the kernel to fill.
    let ret = unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) };
    if ret != 0 {
        return Err(last_errno());
    }
    // SAFETY: fstatat succeeded, so it initialised the whole struct.
    Ok(unsafe { st.assume_init() })
}

/// Stat of the file `fd` refers to itself (a symlink is not followed).
fn fstat_nofollow(fd: BorrowedFd<'_>) -> Result<libc::stat> {
    fstatat_nofollow(fd, c"")
}

// The libc field types differ between architectures, so some casts are
// no-ops on a given target.
#[allow(clippy::unnecessary_cast)]
fn to_stat(st: &libc::stat) -> Stat {
    Stat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        mode: st.st_mode as u32,
        nlink: st.st_nlink as u64,
        uid: st.st_uid as u32,
        gid: st.st_gid as u32,
        rdev: st.st_rdev as u64,
        size: st.st_size as u64,
        blksize: st.st_blksize as u64,
        blocks: st.st_blocks as u64,
        atime: (st.st_atime as i64, st.st_atime_nsec as i64),
        mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
        ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
    }
}

/// `readlinkat(fd, "")` on an `O_PATH` fd of a symlink.
fn readlink_empty(fd: BorrowedFd<'_>) -> Result<Vec<u8>> {
    let mut len = 256;
    loop {
        let mut buf = vec![0u8; len];
        // SAFETY: `fd` is live, the path is an empty NUL-terminated string,
        // and `buf` is writable for `buf.len()` bytes.
        let n = unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                buf.as_mut_ptr().cast::<libc::c_char>(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).map_err(|_| last_errno())?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        // Possibly truncated: retry with a bigger buffer.
        if len >= MAX_LINK_LEN {
            return Err(Errno(libc::ENAMETOOLONG));
        }
        len *= 2;
    }
}

/// `getdents64(fd, buf)`, retried on EINTR; returns the bytes filled.
fn getdents64(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: `fd` is a live directory fd and `buf` is writable for
        // `buf.len()` bytes, which is what the kernel is told.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let err = last_errno();
        if err.0 != libc::EINTR {
            return Err(err);
        }
    }
}

/// Maps `st_mode` to the DT_* value getdents would report.
fn mode_to_dtype(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_UNKNOWN,
    }
}

/// Reads every entry of the open directory `dir`, except "." and "..".
fn read_all_entries(dir: BorrowedFd<'_>) -> Result<Vec<DirEntry>> {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen;
    //                         u8 d_type; char d_name[]; }
    const NAME_OFFSET: usize = 19;
    let mut buf = vec![0u8; DIRENT_BUF_LEN];
    let mut entries = Vec::new();
    loop {
        let filled = getdents64(dir, &mut buf)?;
        if filled == 0 {
            return Ok(entries);
        }
        let mut data = buf.get(..filled).ok_or(Errno(libc::EIO))?;
        while !data.is_empty() {
            let header = data.get(..NAME_OFFSET).ok_or(Errno(libc::EIO))?;
            let mut ino = [0u8; 8];
            ino.copy_from_slice(&header[0..8]);
            let reclen = usize::from(u16::from_ne_bytes([header[16], header[17]]));
            let mut kind = header[18];
            if reclen < NAME_OFFSET {
                return Err(Errno(libc::EIO));
            }
            let record = data.get(..reclen).ok_or(Errno(libc::EIO))?;
            let name_field = &record[NAME_OFFSET..];
            let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(name_field.len());
            let name = &name_field[..name_len];
            data = &data[reclen..];
            if name == b"." || name == b".." {
                continue;
            }
            if kind == libc::DT_UNKNOWN {
                // Some filesystems leave d_type empty; ask lstat instead.
                if let Ok(cname) = CString::new(name) {
                    if let Ok(st) = fstatat_nofollow(dir, &cname) {
                        kind = mode_to_dtype(st.st_mode);
                    }
                }
            }
            entries.push(DirEntry {
                name: name.to_vec(),
                ino: u64::from_ne_bytes(ino),
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, LocalServer) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("file"), b"hello gofer").unwrap();
        fs::create_dir(root.join("dir")).unwrap();
        fs::write(root.join("dir/inner"), b"inner").unwrap();
        symlink("/etc/passwd", root.join("passwd")).unwrap();
        symlink("../../../../etc", root.join("up")).unwrap();
        let server = LocalServer::new(&root, false).unwrap();
        (tmp, server)
    }

    fn read_fd(fd: OwnedFd) -> Vec<u8> {
        let mut out = Vec::new();
        fs::File::from(fd).read_to_end(&mut out).unwrap();
        out
    }

    fn is_type(stat: &Stat, kind: libc::mode_t) -> bool {
        stat.mode & libc::S_IFMT == kind
    }

    #[test]
    fn walk_and_stat_file_and_dir() {
        let (tmp, s) = setup();
        let (f, st) = s.walk(ROOT_FID, b"file").unwrap();
        assert!(is_type(&st, libc::S_IFREG));
        assert_eq!(st.size, 11);
        assert_eq!(s.stat(f).unwrap(), st);
        let meta = fs::symlink_metadata(tmp.path().join("root/file")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(st.ino, meta.ino());
        assert_eq!(st.dev, meta.dev());

        let (d, st) = s.walk(ROOT_FID, b"dir").unwrap();
        assert!(is_type(&st, libc::S_IFDIR));
        let (_, st) = s.walk(d, b"inner").unwrap();
        assert!(is_type(&st, libc::S_IFREG));
        assert_eq!(st.size, 5);
        assert!(is_type(&s.stat(ROOT_FID).unwrap(), libc::S_IFDIR));
        assert_ne!(f, d);
        assert_ne!(f, ROOT_FID);
    }

    #[test]
    fn walk_missing_is_enoent() {
        let (_tmp, s) = setup();
        assert_eq!(s.walk(ROOT_FID, b"nope"), Err(Errno(libc::ENOENT)));
    }

    #[test]
    fn readdir_lists_names_with_kinds() {
        let (_tmp, s) = setup();
        let mut entries = s.readdir(ROOT_FID).unwrap();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let got: Vec<(&[u8], u8)> = entries.iter().map(|e| (e.name.as_slice(), e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (&b"dir"[..], libc::DT_DIR),
                (&b"file"[..], libc::DT_REG),
                (&b"passwd"[..], libc::DT_LNK),
                (&b"up"[..], libc::DT_LNK),
            ]
        );
        let (f, st) = s.walk(ROOT_FID, b"file").unwrap();
        let file_entry = entries.iter().find(|e| e.name == b"file").unwrap();
        assert_eq!(file_entry.ino, st.ino);

        let (d, _) = s.walk(ROOT_FID, b"dir").unwrap();
        let entries = s.readdir(d).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, b"inner");
        assert_eq!(s.readdir(f), Err(Errno(libc::ENOTDIR)));
    }

    #[test]
    fn readdir_many_entries() {
        let (tmp, s) = setup();
        let big = tmp.path().join("root/big");
        fs::create_dir(&big).unwrap();
        for i in 0..2000 {
            fs::write(big.join(format!("entry-with-a-longish-name-{i:05}")), b"").unwrap();
        }
        let (d, _) = s.walk(ROOT_FID, b"big").unwrap();
        let entries = s.readdir(d).unwrap();
        assert_eq!(entries.len(), 2000);
        assert!(entries.iter().all(|e| e.kind == libc::DT_REG));
    }

    #[test]
    fn open_and_read_file() {
        let (_tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        let fd = s.open(f, libc::O_RDONLY).unwrap();
        assert_eq!(read_fd(fd), b"hello gofer");
        // The donated fd is close-on-exec.
        let fd = s.open(f, libc::O_RDONLY).unwrap();
        // SAFETY: fcntl(F_GETFD) on a live fd has no memory effects.
        let fdflags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(fdflags & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn open_write_on_writable_server() {
        let (tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        let fd = s.open(f, libc::O_WRONLY | libc::O_TRUNC).unwrap();
        fs::File::from(fd).write_all(b"new").unwrap();
        assert_eq!(fs::read(tmp.path().join("root/file")).unwrap(), b"new");
    }

    #[test]
    fn open_directory_and_root() {
        let (_tmp, s) = setup();
        let fd = s.open(ROOT_FID, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
        let st = fstat_nofollow(fd.as_fd()).unwrap();
        assert_eq!(to_stat(&st).ino, s.stat(ROOT_FID).unwrap().ino);
        let (d, _) = s.walk(ROOT_FID, b"dir").unwrap();
        assert!(s.open(d, libc::O_RDONLY | libc::O_DIRECTORY).is_ok());
        assert_eq!(s.open(d, libc::O_RDWR).err(), Some(Errno(libc::EISDIR)));
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        assert_eq!(
            s.open(f, libc::O_RDONLY | libc::O_DIRECTORY).err(),
            Some(Errno(libc::ENOTDIR))
        );
    }

    #[test]
    fn open_rejects_bad_flags() {
        let (_tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        for flags in [
            libc::O_RDONLY | libc::O_CREAT,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            libc::O_RDONLY | libc::O_PATH,
            libc::O_RDONLY | libc::O_TMPFILE,
            libc::O_ACCMODE,
        ] {
            assert_eq!(s.open(f, flags).err(), Some(Errno(libc::EINVAL)), "{flags:#o}");
        }
        assert!(s.open(f, libc::O_RDONLY | libc::O_NONBLOCK).is_ok());
    }

    #[test]
    fn absolute_symlink_is_not_followed() {
        let (_tmp, s) = setup();
        let (l, st) = s.walk(ROOT_FID, b"passwd").unwrap();
        assert!(is_type(&st, libc::S_IFLNK));
        assert!(is_type(&s.stat(l).unwrap(), libc::S_IFLNK));
        assert_eq!(s.readlink(l).unwrap(), b"/etc/passwd");
        assert_eq!(s.open(l, libc::O_RDONLY).err(), Some(Errno(libc::ELOOP)));
        assert_eq!(s.readdir(l), Err(Errno(libc::ENOTDIR)));
        assert_eq!(s.walk(l, b"x"), Err(Errno(libc::ENOTDIR)));
    }

    #[test]
    fn relative_escaping_symlink_is_not_followed() {
        let (_tmp, s) = setup();
        let (l, st) = s.walk(ROOT_FID, b"up").unwrap();
        assert!(is_type(&st, libc::S_IFLNK));
        assert_eq!(s.readlink(l).unwrap(), b"../../../../etc");
        assert_eq!(s.open(l, libc::O_RDONLY).err(), Some(Errno(libc::ELOOP)));
        assert_eq!(
            s.open(l, libc::O_RDONLY | libc::O_DIRECTORY).err(),
            Some(Errno(libc::ELOOP))
        );
        assert_eq!(s.walk(l, b"passwd"), Err(Errno(libc::ENOTDIR)));
        assert_eq!(s.readdir(l), Err(Errno(libc::ENOTDIR)));
    }

    #[test]
    fn readlink_of_non_symlink_is_einval() {
        let (_tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        assert_eq!(s.readlink(f), Err(Errno(libc::EINVAL)));
        assert_eq!(s.readlink(ROOT_FID), Err(Errno(libc::EINVAL)));
    }

    #[test]
    fn long_symlink_target() {
        let (tmp, s) = setup();
        let target = "x/".repeat(1500) + "end";
        symlink(&target, tmp.path().join("root/long")).unwrap();
        let (l, _) = s.walk(ROOT_FID, b"long").unwrap();
        assert_eq!(s.readlink(l).unwrap(), target.as_bytes());
    }

    #[test]
    fn bad_names_are_einval() {
        let (_tmp, s) = setup();
        let (d, _) = s.walk(ROOT_FID, b"dir").unwrap();
        for name in [&b".."[..], b".", b"a/b", b"", b"/", b"dir/", b"/etc", b"a\0b"] {
            assert_eq!(s.walk(ROOT_FID, name), Err(Errno(libc::EINVAL)));
            assert_eq!(s.walk(d, name), Err(Errno(libc::EINVAL)));
        }
    }

    #[test]
    fn read_only_server_refuses_writes() {
        let (tmp, _) = setup();
        let s = LocalServer::new(&tmp.path().join("root"), true).unwrap();
        assert!(s.read_only());
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        for flags in [
            libc::O_WRONLY,
            libc::O_RDWR,
            libc::O_RDONLY | libc::O_TRUNC,
            libc::O_WRONLY | libc::O_APPEND,
        ] {
            assert_eq!(s.open(f, flags).err(), Some(Errno(libc::EROFS)), "{flags:#o}");
        }
        assert_eq!(read_fd(s.open(f, libc::O_RDONLY).unwrap()), b"hello gofer");
        assert_eq!(fs::read(tmp.path().join("root/file")).unwrap(), b"hello gofer");
        assert!(!setup().1.read_only());
    }

    #[test]
    fn walk_from_file_is_enotdir() {
        let (_tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        assert_eq!(s.walk(f, b"x"), Err(Errno(libc::ENOTDIR)));
    }

    #[test]
    fn unknown_fid_is_ebadf() {
        let (_tmp, s) = setup();
        let bad = Fid(12345);
        assert_eq!(s.walk(bad, b"file"), Err(Errno(libc::EBADF)));
        assert_eq!(s.stat(bad), Err(Errno(libc::EBADF)));
        assert_eq!(s.open(bad, libc::O_RDONLY).err(), Some(Errno(libc::EBADF)));
        assert_eq!(s.readdir(bad), Err(Errno(libc::EBADF)));
        assert_eq!(s.readlink(bad), Err(Errno(libc::EBADF)));
        s.clunk(bad);
    }

    #[test]
    fn clunk_forgets_fid_but_not_root() {
        let (_tmp, s) = setup();
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();
        s.clunk(f);
        assert_eq!(s.stat(f), Err(Errno(libc::EBADF)));
        s.clunk(ROOT_FID);
        assert!(s.stat(ROOT_FID).is_ok());
        // Fid numbers are never reused.
        let (g, _) = s.walk(ROOT_FID, b"file").unwrap();
        assert!(g.0 > f.0);
    }

    #[test]
    fn dir_swapped_for_symlink_does_not_escape() {
        let (tmp, s) = setup();
        let root = tmp.path().join("root");
        let (d, before) = s.walk(ROOT_FID, b"dir").unwrap();
        let (inner, _) = s.walk(d, b"inner").unwrap();

        fs::rename(root.join("dir"), root.join("moved")).unwrap();
        symlink("/", root.join("dir")).unwrap();

        // The old fid still names the original directory inode.
        assert_eq!(s.stat(d).unwrap().ino, before.ino);
        assert_eq!(s.walk(d, b"etc"), Err(Errno(libc::ENOENT)));
        let (i2, st) = s.walk(d, b"inner").unwrap();
        assert!(is_type(&st, libc::S_IFREG));
        assert_eq!(read_fd(s.open(i2, libc::O_RDONLY).unwrap()), b"inner");
        let names: Vec<Vec<u8>> = s.readdir(d).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec![b"inner".to_vec()]);
        let fd = s.open(d, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
        assert_eq!(to_stat(&fstat_nofollow(fd.as_fd()).unwrap()).ino, before.ino);
        // A fid walked before the swap still opens its own file.
        assert_eq!(read_fd(s.open(inner, libc::O_RDONLY).unwrap()), b"inner");

        // A fresh walk sees the symlink, not its target.
        let (l, st) = s.walk(ROOT_FID, b"dir").unwrap();
        assert!(is_type(&st, libc::S_IFLNK));
        assert_eq!(s.readlink(l).unwrap(), b"/");
        assert_eq!(s.walk(l, b"etc"), Err(Errno(libc::ENOTDIR)));
        assert_eq!(s.open(l, libc::O_RDONLY).err(), Some(Errno(libc::ELOOP)));
        assert_eq!(s.readdir(l), Err(Errno(libc::ENOTDIR)));
    }

    #[test]
    fn file_swapped_after_walk_is_never_opened() {
        let (tmp, s) = setup();
        let root = tmp.path().join("root");
        let (f, _) = s.walk(ROOT_FID, b"file").unwrap();

        // Replaced by a symlink to a host file: O_NOFOLLOW refuses it.
        fs::rename(root.join("file"), root.join("old")).unwrap();
        symlink("/etc/passwd", root.join("file")).unwrap();
        assert_eq!(s.open(f, libc::O_RDONLY).err(), Some(Errno(libc::ELOOP)));

        // Replaced by another regular file: not the inode that was walked.
        fs::remove_file(root.join("file")).unwrap();
        fs::write(root.join("file"), b"other").unwrap();
        assert_eq!(s.open(f, libc::O_RDONLY).err(), Some(Errno(libc::ESTALE)));

        // The original inode, via its own (unchanged) name, still works.
        let (o, _) = s.walk(ROOT_FID, b"old").unwrap();
        assert_eq!(read_fd(s.open(o, libc::O_RDONLY).unwrap()), b"hello gofer");
    }

    #[test]
    fn poisoned_lock_is_eio_not_panic() {
        let (_tmp, s) = setup();
        let s = Arc::new(s);
        let s2 = Arc::clone(&s);
        let _ = std::thread::spawn(move || {
            let _guard = s2.state.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert_eq!(s.stat(ROOT_FID), Err(Errno(libc::EIO)));
        assert_eq!(s.walk(ROOT_FID, b"file"), Err(Errno(libc::EIO)));
        s.clunk(Fid(1));
    }

    #[test]
    fn concurrent_walks_get_distinct_fids() {
        let (_tmp, s) = setup();
        let s = Arc::new(s);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    (0..100)
                        .map(|_| s.walk(ROOT_FID, b"file").unwrap().0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Fid> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 400);
    }

    #[test]
    fn new_rejects_non_directory() {
        let (tmp, _) = setup();
        assert!(LocalServer::new(&tmp.path().join("root/file"), false).is_err());
        assert!(LocalServer::new(&tmp.path().join("missing"), false).is_err());
    }
}
