//! The gofer: the only part of runsc that touches the host filesystem.
//!
//! The Sentry talks to it through the narrow [`FileServer`] interface: walk
//! one path component at a time, stat, open (the gofer donates a host fd),
//! read a directory, read a symlink. The Sentry resolves paths itself
//! (symlinks, `..`, mount points); the server only ever resolves one plain
//! name inside a directory it already holds, never following a symlink, so
//! no request can reach a host file outside the root it was given.

pub mod protocol;
pub mod remote;
pub mod server;

pub use remote::{serve, RemoteServer};
pub use server::LocalServer;

use std::os::fd::OwnedFd;

/// A handle to a file or directory held by the server (like a 9P fid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fid(pub u64);

/// The root of the tree a server serves; always valid.
pub const ROOT_FID: Fid = Fid(0);

/// A bind mount of a single file is exported as a directory holding only
/// that file, under this name.
pub const SINGLE_FILE_NAME: &str = "file";

/// File metadata, as the host's stat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// DT_* type.
    pub kind: u8,
}

/// Errors carry the errno the guest should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("errno {0}")]
pub struct Errno(pub i32);

pub type Result<T> = std::result::Result<T, Errno>;

/// The operations the Sentry needs from a file server.
pub trait FileServer: Send + Sync {
    /// Looks up one component `name` in directory `dir` without following
    /// symlinks. `name` is never empty, ".", ".." and never contains '/'
    /// (EINVAL otherwise). Returns a new fid and the file's stat.
    fn walk(&self, dir: Fid, name: &[u8]) -> Result<(Fid, Stat)>;
    /// Stat of a held file.
    fn stat(&self, fid: Fid) -> Result<Stat>;
    /// Opens a held file with O_* `flags` (O_ACCMODE, O_TRUNC, O_APPEND,
    /// O_DIRECTORY; O_CREAT is refused with EINVAL: use create) and donates a
    /// host fd. Write access on a read-only server fails with EROFS.
    fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd>;
    /// All entries of a held directory, without "." and "..".
    fn readdir(&self, fid: Fid) -> Result<Vec<DirEntry>>;
    /// The target of a held symlink.
    fn readlink(&self, fid: Fid) -> Result<Vec<u8>>;
    /// Forgets a fid. Clunking ROOT_FID or an unknown fid does nothing.
    fn clunk(&self, fid: Fid);
    /// True when the server refuses every modification (EROFS).
    fn read_only(&self) -> bool;

    /// Creates the regular file `name` in `dir` (EEXIST if the name exists)
    /// owned by `uid:gid`, and returns it as if walked.
    fn create(&self, _dir: Fid, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<(Fid, Stat)> {
        Err(Errno(libc::EROFS))
    }
    fn mkdir(&self, _dir: Fid, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    fn symlink(&self, _dir: Fid, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// mknod(2) of a regular file, FIFO or socket (`mode` carries the type);
    /// device nodes are never made on the host (EPERM).
    fn mknod(&self, _dir: Fid, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// A new name `dir/name` for the held non-directory `target` (link(2)).
    fn link(&self, _target: Fid, _dir: Fid, _name: &[u8]) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// Removes `name` from `dir`: an empty directory when `is_dir`
    /// (rmdir), else a non-directory (unlink).
    fn unlink(&self, _dir: Fid, _name: &[u8], _is_dir: bool) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// Moves `dir/name` to `new_dir/new_name` (rename(2) rules).
    fn rename(&self, _dir: Fid, _name: &[u8], _new_dir: Fid, _new_name: &[u8]) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// Swaps `dir/name` and `new_dir/new_name`, which must both exist
    /// (renameat2(2) RENAME_EXCHANGE).
    fn exchange(&self, _dir: Fid, _name: &[u8], _new_dir: Fid, _new_name: &[u8]) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
    /// chmod, chown, truncate and utimes of a held file.
    fn setattr(&self, _fid: Fid, _attr: &SetAttr) -> Result<()> {
        Err(Errno(libc::EROFS))
    }
}

/// Attribute changes for [`FileServer::setattr`]; None leaves a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// (seconds, nanoseconds).
    pub atime: Option<(i64, i64)>,
    pub mtime: Option<(i64, i64)>,
}
