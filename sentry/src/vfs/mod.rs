//! The virtual filesystem: inodes and open files as traits that each
//! filesystem implements, dentries with their absolute paths, path
//! resolution, and per-process fd tables.
//!
//! A filesystem implements [`Inode`] for its files and directories and
//! [`FileOps`] for what `open` returns. Everything else (symlink following,
//! `..`, mount points, fd numbers, offsets) lives here once.

pub mod dentry;
pub mod fdtable;
pub mod file;
pub mod lock;
pub mod readiness;
pub mod resolve;

pub use dentry::{Dentry, MountTable};
pub use fdtable::FdTable;
pub use file::OpenFile;

use crate::errno::{Errno, Result};
use crate::mm::UserMemory;
use std::any::Any;
use std::sync::Arc;

/// Seconds and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub fn now() -> Timespec {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timespec {
            sec: d.as_secs() as i64,
            nsec: d.subsec_nanos() as i64,
        }
    }
}

/// A filesystem's size and use in bytes, as statfs(2) reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsSpace {
    pub total: u64,
    pub used: u64,
}

/// File metadata, as stat(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits (S_IF* | 0o7777).
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }
    pub fn is_fifo(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFIFO
    }
    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }
    pub fn is_regular(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }
}

impl From<gofer::Stat> for Stat {
    fn from(s: gofer::Stat) -> Self {
        let ts = |(sec, nsec): (i64, i64)| Timespec { sec, nsec };
        Stat {
            dev: s.dev,
            ino: s.ino,
            mode: s.mode,
            nlink: s.nlink,
            uid: s.uid,
            gid: s.gid,
            rdev: s.rdev,
            size: s.size,
            blksize: s.blksize,
            blocks: s.blocks,
            atime: ts(s.atime),
            mtime: ts(s.mtime),
            ctime: ts(s.ctime),
        }
    }
}

/// One directory entry (without "." and "..").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// DT_* type.
    pub kind: u8,
}

/// DT_* value for an S_IF* mode.
pub fn dtype_of(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_UNKNOWN,
    }
}

/// Attribute changes for chmod, chown, truncate and utimensat. `None`
/// leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
}

/// Who is creating a file, and with which permission bits (already masked
/// by the umask).
#[derive(Debug, Clone, Copy)]
pub struct CreateAttr {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A file, directory, symlink or device in some filesystem.
///
/// Directory operations take a single path component (never empty, ".",
/// "..", never containing '/'); the VFS resolves paths. Defaults return the
/// errno Linux gives when an operation does not apply.
pub trait Inode: Send + Sync + Any {
    fn stat(&self) -> Result<Stat>;

    /// (st_dev, st_ino), which never change for an inode; layers that
    /// remember them answer without a round trip (the page cache looks
    /// files up by them on every read and write).
    fn identity(&self) -> Result<(u64, u64)> {
        let st = self.stat()?;
        Ok((st.dev, st.ino))
    }

    /// Opens the inode. `flags` are the guest's O_* flags (O_CREAT, O_EXCL
    /// already handled by the VFS). O_TRUNC is handled here.
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>>;

    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }
    /// True for the "magic links" of /proc (PID/fd/N, exe, cwd, root),
    /// which openat2(2) RESOLVE_NO_MAGICLINKS refuses to follow.
    fn is_magic_link(&self) -> bool {
        false
    }
    /// For a magic link that stands for an open file (/proc/PID/fd/N): the
    /// file's dentry, which a path walk jumps to instead of resolving the
    /// link's text, so that a pipe, a deleted file or a memfd can be opened
    /// again through it (proc(5)). None resolves the text.
    fn magic_target(&self) -> Option<Result<Arc<Dentry>>> {
        None
    }
    /// A FIFO that is not a named pipe of a file system (a pipe(2) pipe, or
    /// a host pipe the container was given): opening it (through
    /// /proc/PID/fd/N) is the inode's own `open`, not the sandbox's FIFO
    /// table's.
    fn is_anonymous_pipe(&self) -> bool {
        false
    }
    /// Creates a regular file `name` in this directory (EEXIST if present).
    fn create(&self, _name: &[u8], _attr: CreateAttr) -> Result<Arc<dyn Inode>> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// O_TMPFILE (open(2)): a regular file with no name (nlink 0) on this
    /// directory's filesystem. Only a `linkable` one may later get a name
    /// by linkat(2), once. EOPNOTSUPP where the filesystem cannot.
    fn create_tmpfile(&self, _attr: CreateAttr, _linkable: bool) -> Result<Arc<dyn Inode>> {
        Err(self.not_dir_or(Errno::EOPNOTSUPP))
    }
    fn mkdir(&self, _name: &[u8], _attr: CreateAttr) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// Creates a FIFO or device node.
    fn mknod(&self, _name: &[u8], _attr: CreateAttr, _rdev: u64) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    fn symlink(&self, _name: &[u8], _target: &[u8], _attr: CreateAttr) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// Adds a hard link `name` to `target` (an inode of the same filesystem).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// Removes a non-directory entry.
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// Removes an empty directory entry (ENOTEMPTY otherwise).
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// Moves `name` from this directory to `new_dir`/`new_name` (same
    /// filesystem; EXDEV otherwise), replacing a compatible target as
    /// rename(2) does.
    fn rename(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> Result<()> {
        Err(self.not_dir_or(Errno::EROFS))
    }
    /// renameat2(2) RENAME_EXCHANGE: atomically swaps the entry `name` here
    /// with `new_dir`/`new_name` (both must exist; same filesystem).
    /// EINVAL where the filesystem cannot.
    fn exchange(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> Result<()> {
        Err(self.not_dir_or(Errno::EINVAL))
    }
    fn setattr(&self, _attr: SetAttr) -> Result<()> {
        Err(Errno::EROFS)
    }
    /// Extended attributes the filesystem stores (xattr(7)); the caller has
    /// made the VFS's namespace and permission checks. By default none are
    /// stored (ENODATA) and none can be (EOPNOTSUPP).
    fn getxattr(&self, _name: &[u8]) -> Result<Vec<u8>> {
        Err(Errno::ENODATA)
    }
    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
    /// XATTR_CREATE: EEXIST if present; XATTR_REPLACE: ENODATA if absent.
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// ENODATA if absent.
    fn removexattr(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// statfs(2) f_type of the filesystem.
    fn fs_magic(&self) -> u64 {
        0x0102_1994 // TMPFS_MAGIC
    }
    /// statfs(2) space figures, where the filesystem keeps them; None gives
    /// nominal ones.
    fn fs_space(&self) -> Option<FsSpace> {
        None
    }

    fn as_any(&self) -> &dyn Any;

    /// ENOTDIR for non-directories, else `e`.
    fn not_dir_or(&self, e: Errno) -> Errno {
        match self.stat() {
            Ok(st) if !st.is_dir() => Errno::ENOTDIR,
            _ => e,
        }
    }
}

/// What an open file does. Offsets are kept by the VFS ([`OpenFile`]);
/// seekable files get the offset, streams (pipes, ttys) ignore it.
pub trait FileOps: Send + Sync {
    /// Reads at `offset` into `buf`; returns the byte count (0 at EOF).
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize>;
    /// Writes `buf` at `offset`; returns the byte count.
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize>;
    /// read() with the description's status flags (O_NONBLOCK matters to
    /// pipes, sockets and ttys).
    fn read_with_flags(&self, buf: &mut [u8], offset: u64, _flags: i32) -> Result<usize> {
        self.read(buf, offset)
    }
    /// write() with the description's status flags.
    fn write_with_flags(&self, buf: &[u8], offset: u64, _flags: i32) -> Result<usize> {
        self.write(buf, offset)
    }
    /// Readiness for poll(2): the subset of `events` (POLLIN, POLLOUT, ...)
    /// that would not block now, plus POLLHUP/POLLERR. Regular files are
    /// always ready.
    fn poll(&self, events: i16) -> i16 {
        events & (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM)
    }
    /// How a waiter learns that `poll` may answer differently (see
    /// [`readiness`]). Files that call `readiness::changed()` on every
    /// change say `Notified`; the default makes waiters re-check.
    fn wake_hint(&self) -> readiness::WakeHint {
        readiness::WakeHint::Poll
    }
    /// A counter of the events that concern `events` (new data for
    /// POLLIN, room freed for POLLOUT, hang-ups): an edge-triggered epoll
    /// reports a ready file again when it moved. Files without one report
    /// only rising readiness to EPOLLET.
    fn event_count(&self, _events: i16) -> u64 {
        0
    }
    /// True for regular files and block devices: the VFS keeps an offset and
    /// lseek works; false for streams (lseek gives ESPIPE).
    fn seekable(&self) -> bool {
        true
    }
    /// True for streams whose llseek is Linux's noop_llseek (eventfd,
    /// timerfd, epoll): lseek succeeds and leaves the offset at 0 where
    /// other streams give ESPIPE. pread and pwrite still give ESPIPE.
    fn seek_is_noop(&self) -> bool {
        false
    }
    /// True for devices whose every lseek lands at offset 0 whatever was
    /// asked (null(4), zero(4), full(4)).
    fn seeks_to_zero(&self) -> bool {
        false
    }
    /// Current size, for SEEK_END and O_APPEND.
    fn size(&self) -> Result<u64> {
        Ok(0)
    }
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &dyn UserMemory) -> Result<u64> {
        Err(Errno::ENOTTY)
    }
    fn fsync(&self) -> Result<()> {
        Ok(())
    }
    /// F_GETPIPE_SZ (`resize` None) or F_SETPIPE_SZ: the pipe's capacity
    /// in bytes after the call. `privileged` is CAP_SYS_RESOURCE (may go
    /// above /proc/sys/fs/pipe-max-size). EBADF for anything not a pipe.
    fn pipe_capacity(&self, _resize: Option<u64>, _privileged: bool) -> Result<u64> {
        Err(Errno::EBADF)
    }
    /// The host fd behind this file, if any (regular host files donated by
    /// the gofer, host ttys): mmap of such files copies from it.
    fn host_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
    /// The terminal this file is a side of (pty masters and slaves), whose
    /// ioctls need the calling task.
    fn tty(&self) -> Option<crate::fs::tty::TtyHandle> {
        None
    }
    /// The socket behind this file, if it is one (the socket syscalls
    /// give ENOTSOCK otherwise).
    fn socket(&self) -> Option<std::sync::Arc<dyn crate::net::socket::Socket>> {
        None
    }
    /// The pipe end behind this file, if it is one (splice(2) and tee(2)
    /// need one side to be a pipe).
    fn pipe_end(&self) -> Option<&crate::fs::pipe::PipeEnd> {
        None
    }
    /// fallocate(2) on a regular file, after the VFS checks (mode bits
    /// known, `len` > 0, file writable). Filesystems without it give
    /// EOPNOTSUPP.
    fn fallocate(&self, _mode: i32, _offset: u64, _len: u64) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
}
