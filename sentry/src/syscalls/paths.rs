//! The path syscalls that change how a walk goes: openat2(2) with its
//! RESOLVE_* restrictions, and chroot(2).

use super::file::{do_open_limited, path_arg, resolve_at};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use crate::vfs::resolve::{FsContext, ResolveLimits};
use crate::vfs::Dentry;
use std::sync::Arc;

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;
const RESOLVE_ALL: u64 =
    RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;

/// sizeof(struct open_how) in its first version (OPEN_HOW_SIZE_VER0).
const OPEN_HOW_SIZE_VER0: usize = 24;
/// Linux refuses structs larger than a page (E2BIG).
const OPEN_HOW_SIZE_MAX: usize = 4096;

/// Flags openat2 accepts (Linux's VALID_OPEN_FLAGS; O_LARGEFILE is
/// 0o100000 on x86-64).
const VALID_OPEN_FLAGS: u64 = (libc::O_ACCMODE
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
    | 0o100000
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE) as u64;

/// The flags O_PATH may come with in openat2 (others are EINVAL there,
/// silently dropped by open).
const O_PATH_FLAGS: u64 = (libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC) as u64;

/// struct open_how.
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Reads struct open_how of `size` bytes: smaller than the first version
/// is EINVAL, larger than a page E2BIG, and bytes past the fields this
/// kernel knows must be zero (E2BIG otherwise), as for every extensible
/// struct (openat2(2) "Extensibility").
fn read_open_how(task: &Task, addr: u64, size: usize) -> Result<OpenHow> {
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > OPEN_HOW_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let raw = task.mm.read_vec(addr, size)?;
    if raw[OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    Ok(OpenHow {
        flags: field(0),
        mode: field(1),
        resolve: field(2),
    })
}

/// The checks of openat2(2) ERRORS on flags, mode and resolve.
fn check_open_how(how: &OpenHow) -> Result<()> {
    if how.flags & !VALID_OPEN_FLAGS != 0 || how.resolve & !RESOLVE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let creating =
        how.flags & libc::O_CREAT as u64 != 0 || how.flags & libc::O_TMPFILE as u64 == libc::O_TMPFILE as u64;
    if (creating && how.mode & !0o7777 != 0) || (!creating && how.mode != 0) {
        return Err(Errno::EINVAL);
    }
    if how.flags & libc::O_PATH as u64 != 0 && how.flags & !O_PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    if how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) == RESOLVE_BENEATH | RESOLVE_IN_ROOT {
        return Err(Errno::EINVAL);
    }
    // RESOLVE_CACHED cannot create or truncate: that needs I/O.
    let writes = (libc::O_CREAT | libc::O_TRUNC | libc::O_TMPFILE) as u64;
    if how.resolve & RESOLVE_CACHED != 0 && how.flags & writes != 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// The walk `fs` restricted by RESOLVE_* flags, scoped at `dir` (the
/// dirfd's directory) for RESOLVE_BENEATH and RESOLVE_IN_ROOT.
fn limited_fs(resolve: u64, dir: Option<Arc<Dentry>>, mut fs: FsContext) -> Result<FsContext> {
    let scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    let scope = match (scoped, dir) {
        (true, Some(d)) => Some(d),
        (true, None) => return Err(Errno::EBADF),
        (false, _) => None,
    };
    if resolve & RESOLVE_IN_ROOT != 0 {
        if let Some(root) = &scope {
            fs.root = root.clone();
        }
    }
    fs.limits = ResolveLimits {
        no_xdev: resolve & RESOLVE_NO_XDEV != 0,
        no_magiclinks: resolve & RESOLVE_NO_MAGICLINKS != 0,
        no_symlinks: resolve & RESOLVE_NO_SYMLINKS != 0,
        beneath: if resolve & RESOLVE_BENEATH != 0 { scope } else { None },
        scoped,
    };
    Ok(fs)
}

/// openat2(2). RESOLVE_CACHED lookups are always served (the Sentry's
/// lookups never block on the disk in a way a caller could avoid).
pub fn openat2(task: &mut Task, a: Args) -> Result<u64> {
    let how = read_open_how(task, a.u64(2), a.usize(3))?;
    check_open_how(&how)?;
    let path = path_arg(task, a.u64(1))?;
    let resolve = how.resolve;
    do_open_limited(task, a.fd(0), &path, how.flags as i32, how.mode as u32, |dir, fs| {
        limited_fs(resolve, dir, fs)
    })
}

/// CAP_SYS_CHROOT (capabilities(7)).
const CAP_SYS_CHROOT: u32 = 18;

/// chroot(2): the directory becomes the process's root for absolute
/// paths, symlinks and "..". The cwd stays where it is (possibly outside).
pub fn chroot(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let dir = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    let st = dir.inode.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    super::file::may_access(task, &st, 1, false)?;
    if !task.creds.capable(CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    task.set_root(dir);
    task.publish();
    Ok(0)
}
