//! O_TMPFILE (open(2)): an unnamed regular file on the filesystem of a
//! directory, which linkat(2) with AT_EMPTY_PATH may later give a name
//! unless it was opened with O_EXCL.

use super::file::may_modify_dir;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::vfs::resolve::FsContext;
use crate::vfs::{CreateAttr, Dentry, OpenFile};
use std::sync::Arc;

/// Opens a new unnamed file in the directory at (`start`, `path`).
/// `flags` are the effective open flags (O_TMPFILE includes O_DIRECTORY).
pub(super) fn open_tmpfile(
    task: &Task,
    fs: &FsContext,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<u64> {
    // open(2) EINVAL: O_TMPFILE needs O_WRONLY or O_RDWR.
    if !matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR) {
        return Err(Errno::EINVAL);
    }
    let dir = fs.resolve(start, path, flags & libc::O_NOFOLLOW == 0)?;
    if !dir.inode.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    may_modify_dir(task, &dir)?;
    let attr = CreateAttr {
        mode: mode & 0o7777 & !fs.umask,
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    };
    let linkable = flags & libc::O_EXCL == 0;
    let inode = dir.inode.create_tmpfile(attr, linkable)?;
    let ino = inode.stat()?.ino;
    // The name /proc shows for it: "#INO" in the directory, as Linux's
    // shmem and ext4 do.
    let name = format!("#{ino}");
    let dentry = Arc::new(Dentry {
        path: dir.child_path(name.as_bytes()),
        parent: Some(dir.clone()),
        inode,
    });
    let open_flags = flags & !(libc::O_DIRECTORY | libc::O_EXCL | O_TMPFILE_ONLY);
    let ops = dentry.inode.open(open_flags)?;
    let file = OpenFile::new(dentry, ops, open_flags);
    let fd = task.fds.insert(file, flags & libc::O_CLOEXEC != 0)?;
    Ok(fd as u64)
}

/// The bit of O_TMPFILE besides O_DIRECTORY (Linux's __O_TMPFILE).
const O_TMPFILE_ONLY: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;
