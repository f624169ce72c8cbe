//! Extended attributes (xattr(7)). The checks here are the VFS's: argument
//! sizes, the namespace of the name, and xattr_permission(); the storage is
//! the filesystem's ([`crate::vfs::Inode::getxattr`] and friends): tmpfs
//! keeps attributes, overlay keeps them in its upper layer (copying a lower
//! file up first), and a filesystem without storage has none (ENODATA)
//! and takes none (EOPNOTSUPP).

use super::file::{io_file_of, may_access, path_arg, resolve_at};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::Dentry;
use std::sync::Arc;

/// XATTR_NAME_MAX, XATTR_SIZE_MAX and XATTR_LIST_MAX.
const NAME_MAX: usize = 255;
const SIZE_MAX: usize = 65536;
const LIST_MAX: usize = 65536;
const CAP_SYS_ADMIN: u32 = super::creds::CAP_SYS_ADMIN;
const CAP_FOWNER: u32 = super::creds::CAP_FOWNER;

/// The file an xattr call names: a path (followed or not) or an fd.
enum Target {
    Path { addr: u64, follow: bool },
    Fd(i32),
}

impl Target {
    fn path(addr: u64, follow: bool) -> Target {
        Target::Path { addr, follow }
    }

    fn resolve(&self, task: &Task) -> Result<Arc<Dentry>> {
        match *self {
            Target::Path { addr, follow } => {
                let path = path_arg(task, addr)?;
                let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
                resolve_at(task, libc::AT_FDCWD, &path, flags)
            }
            Target::Fd(fd) => Ok(io_file_of(task, fd)?.dentry.clone()),
        }
    }
}

/// The name argument: ERANGE when empty or longer than XATTR_NAME_MAX.
fn read_name(task: &Task, addr: u64) -> Result<Vec<u8>> {
    let name = path_arg(task, addr)?;
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// A name outside the namespaces filesystems handle ("user.", "trusted.",
/// "security.", "system.") is EOPNOTSUPP.
fn check_namespace(name: &[u8]) -> Result<()> {
    const NAMESPACES: [&[u8]; 4] = [b"user.", b"trusted.", b"security.", b"system."];
    if NAMESPACES.iter().any(|ns| name.starts_with(ns)) {
        Ok(())
    } else {
        Err(Errno::EOPNOTSUPP)
    }
}

/// Linux's xattr_permission(): trusted.* is for CAP_SYS_ADMIN only; user.*
/// exists only on regular files and directories, and on a sticky directory
/// only its owner may write it; then the file's own read or write
/// permission. Refusals of a read are ENODATA, of a write EPERM.
fn xattr_permission(task: &Task, d: &Dentry, name: &[u8], write: bool) -> Result<()> {
    let refused = if write { Errno::EPERM } else { Errno::ENODATA };
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    let st = d.inode.stat()?;
    if name.starts_with(b"trusted.") {
        return if task.creds.capable(CAP_SYS_ADMIN) {
            Ok(())
        } else {
            Err(refused)
        };
    }
    if name.starts_with(b"user.") {
        if !st.is_regular() && !st.is_dir() {
            return Err(refused);
        }
        let sticky_dir = st.is_dir() && st.mode & libc::S_ISVTX != 0;
        if write && sticky_dir && st.uid != task.creds.fsuid && !task.creds.capable(CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
    }
    may_access(task, &st, if write { 2 } else { 4 }, false)
}

fn get(task: &Task, target: Target, name: u64, value: u64, size: usize) -> Result<u64> {
    let d = target.resolve(task)?;
    let name = read_name(task, name)?;
    xattr_permission(task, &d, &name, false)?;
    check_namespace(&name)?;
    let stored = d.inode.getxattr(&name)?;
    if size == 0 {
        return Ok(stored.len() as u64);
    }
    if stored.len() > size.min(SIZE_MAX) {
        return Err(Errno::ERANGE);
    }
    task.mm.write(value, &stored)?;
    Ok(stored.len() as u64)
}

/// listxattr(2): the names, each NUL-terminated; trusted.* ones only for
/// CAP_SYS_ADMIN (simple_xattr_list).
fn list(task: &Task, target: Target, buf: u64, size: usize) -> Result<u64> {
    let d = target.resolve(task)?;
    let trusted = task.creds.capable(CAP_SYS_ADMIN);
    let mut out = Vec::new();
    for name in d.inode.listxattr()? {
        if name.starts_with(b"trusted.") && !trusted {
            continue;
        }
        out.extend_from_slice(&name);
        out.push(0);
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if out.len() > size.min(LIST_MAX) {
        return Err(Errno::ERANGE);
    }
    task.mm.write(buf, &out)?;
    Ok(out.len() as u64)
}

/// setxattr(2): the flags, name and value are checked (EINVAL, ERANGE,
/// E2BIG, EFAULT) before a path is looked up, as setxattr_copy() does
/// (fsetxattr looks at its fd first).
fn set(task: &Task, target: Target, a: &Args) -> Result<u64> {
    let (name, value, size, flags) = (a.u64(1), a.u64(2), a.usize(3), a.i32(4));
    let by_fd = match target {
        Target::Fd(_) => Some(target.resolve(task)?),
        Target::Path { .. } => None,
    };
    if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(task, name)?;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = if size > 0 {
        task.mm.read_vec(value, size)?
    } else {
        Vec::new()
    };
    let d = match by_fd {
        Some(d) => d,
        None => target.resolve(task)?,
    };
    super::fileattr::check_writable_mount(task, &d)?;
    xattr_permission(task, &d, &name, true)?;
    check_namespace(&name)?;
    d.inode.setxattr(&name, &value, flags)?;
    Ok(0)
}

fn remove(task: &Task, target: Target, name: u64) -> Result<u64> {
    let d = target.resolve(task)?;
    let name = read_name(task, name)?;
    super::fileattr::check_writable_mount(task, &d)?;
    xattr_permission(task, &d, &name, true)?;
    check_namespace(&name)?;
    d.inode.removexattr(&name)?;
    Ok(0)
}

pub fn getxattr(task: &mut Task, a: Args) -> Result<u64> {
    get(task, Target::path(a.u64(0), true), a.u64(1), a.u64(2), a.usize(3))
}

pub fn lgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    get(task, Target::path(a.u64(0), false), a.u64(1), a.u64(2), a.usize(3))
}

pub fn fgetxattr(task: &mut Task, a: Args) -> Result<u64> {
    get(task, Target::Fd(a.fd(0)), a.u64(1), a.u64(2), a.usize(3))
}

pub fn listxattr(task: &mut Task, a: Args) -> Result<u64> {
    list(task, Target::path(a.u64(0), true), a.u64(1), a.usize(2))
}

pub fn llistxattr(task: &mut Task, a: Args) -> Result<u64> {
    list(task, Target::path(a.u64(0), false), a.u64(1), a.usize(2))
}

pub fn flistxattr(task: &mut Task, a: Args) -> Result<u64> {
    list(task, Target::Fd(a.fd(0)), a.u64(1), a.usize(2))
}

pub fn setxattr(task: &mut Task, a: Args) -> Result<u64> {
    set(task, Target::path(a.u64(0), true), &a)
}

pub fn lsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    set(task, Target::path(a.u64(0), false), &a)
}

pub fn fsetxattr(task: &mut Task, a: Args) -> Result<u64> {
    set(task, Target::Fd(a.fd(0)), &a)
}

pub fn removexattr(task: &mut Task, a: Args) -> Result<u64> {
    remove(task, Target::path(a.u64(0), true), a.u64(1))
}

pub fn lremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    remove(task, Target::path(a.u64(0), false), a.u64(1))
}

pub fn fremovexattr(task: &mut Task, a: Args) -> Result<u64> {
    remove(task, Target::Fd(a.fd(0)), a.u64(1))
}
