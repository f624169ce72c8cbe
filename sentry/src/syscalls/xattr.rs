//! Extended attributes. No filesystem of the sandbox stores any yet, so
//! reads find nothing (ENODATA), lists are empty and writes are refused
//! with EOPNOTSUPP, as on a filesystem without xattr support; the path or
//! fd is still resolved first so that its errors come out as Linux's.

use super::file::{file_of, path_arg, resolve_at};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;

/// Resolves (path, follow) for the path variants.
fn check_path(task: &Task, addr: u64, follow: bool) -> Result<()> {
    let path = path_arg(task, addr)?;
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    resolve_at(task, libc::AT_FDCWD, &path, flags)?;
    Ok(())
}

/// XATTR_NAME_MAX and the empty-name rule of getxattr(2).
fn check_name(task: &Task, addr: u64) -> Result<()> {
    let name = path_arg(task, addr)?;
    if name.is_empty() || name.len() > 255 {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

pub fn getxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    check_name(task, a.u64(1))?;
    Err(Errno::ENODATA)
}

pub fn lgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    check_name(task, a.u64(1))?;
    Err(Errno::ENODATA)
}

pub fn fgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    file_of(task, a.fd(0))?;
    check_name(task, a.u64(1))?;
    Err(Errno::ENODATA)
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
    file_of(task, a.fd(0))?;
    Ok(0)
}

pub fn setxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    Err(Errno::EOPNOTSUPP)
}

pub fn lsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    Err(Errno::EOPNOTSUPP)
}

pub fn fsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    file_of(task, a.fd(0))?;
    Err(Errno::EOPNOTSUPP)
}

pub fn removexattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), true)?;
    Err(Errno::ENODATA)
}

pub fn lremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    check_path(task, a.u64(0), false)?;
    Err(Errno::ENODATA)
}

pub fn fremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    file_of(task, a.fd(0))?;
    Err(Errno::ENODATA)
}
