//! Extended attributes. No filesystem of the sandbox stores any yet, so
//! reads find nothing (ENODATA), lists are empty and writes are refused
//! with EOPNOTSUPP, as on a filesystem without xattr support; the path or
//! fd is still resolved first so that its errors come out as Linux's.

use super::file::{io_file_of, path_arg, resolve_at};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;

/// Resolves (path, follow) for the path variants.
fn check_path(task: &Task, addr: u64, follow: bool) -> Result<()> {
    let path = path_arg(task, addr)?;
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    resolve_at(task, libc::AT_FDCWD, &path, flags)?;
    Ok(())
}

/// XATTR_NAME_MAX and the empty-name rule of getxattr(2).
fn check_name(task: &Task, addr: u64) -> Result<Vec<u8>> {
    let name = path_arg(task, addr)?;
    if name.is_empty() || name.len() > 255 {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// A name outside the namespaces a filesystem handles ("user.",
/// "trusted.", "security.", "system.") is EOPNOTSUPP (xattr(7)).
fn check_namespace(name: &[u8]) -> Result<()> {
    const NAMESPACES: [&[u8]; 4] = [b"user.", b"trusted.", b"security.", b"system."];
    if NAMESPACES.iter().any(|ns| name.starts_with(ns)) {
        Ok(())
    } else {
        Err(Errno::EOPNOTSUPP)
    }
}

/// Reads a name that must exist for get/remove: ENODATA, since nothing is
/// stored, unless the name itself is wrong.
fn absent_name(task: &Task, addr: u64) -> Result<u64> {
    check_namespace(&check_name(task, addr)?)?;
    Err(Errno::ENODATA)
}

/// The argument checks of setxattr(2) (flags, name, value size and
/// pointer), then EOPNOTSUPP: no filesystem stores attributes.
fn refuse_set(task: &Task, name: u64, value: u64, size: usize, flags: i32) -> Result<u64> {
    /// XATTR_SIZE_MAX.
    const SIZE_MAX: usize = 65536;
    if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    check_name(task, name)?;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    if size > 0 {
        task.mm.read_vec(value, size)?;
    }
    Err(Errno::EOPNOTSUPP)
}

pub fn getxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    absent_name(task, a.u64(1))
}

pub fn lgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    absent_name(task, a.u64(1))
}

pub fn fgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    io_file_of(task, a.fd(0))?;
    absent_name(task, a.u64(1))
}

pub fn listxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    Ok(0)
}

pub fn llistxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    Ok(0)
}

pub fn flistxattr(task: &mut Task, a: Args) -> Result<u64> {
    io_file_of(task, a.fd(0))?;
    Ok(0)
}

pub fn setxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    refuse_set(task, a.u64(1), a.u64(2), a.usize(3), a.i32(4))
}

pub fn lsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    refuse_set(task, a.u64(1), a.u64(2), a.usize(3), a.i32(4))
}

pub fn fsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    io_file_of(task, a.fd(0))?;
    refuse_set(task, a.u64(1), a.u64(2), a.usize(3), a.i32(4))
}

pub fn removexattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    absent_name(task, a.u64(1))
}

pub fn lremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    absent_name(task, a.u64(1))
}

pub fn fremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    io_file_of(task, a.fd(0))?;
    absent_name(task, a.u64(1))
}
