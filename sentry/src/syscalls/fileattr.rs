//! Syscalls that change names and attributes of files: rename, link,
//! symlink, mknod, chmod, chown, utimensat, truncate, creat, statfs, and
//! the positioned vector I/O calls (preadv, pwritev and their v2 forms).
//!
//! Permission checks follow the effective ids, as the rest of the file
//! syscalls do; uid 0 stands for the capabilities (CAP_CHOWN, CAP_FOWNER,
//! CAP_MKNOD, CAP_DAC_READ_SEARCH) Linux would ask for.

use super::creds::{CAP_CHOWN, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_MKNOD};
use super::file::{
    check_sticky, do_open, file_of, may_access, may_modify_dir, path_arg, read_into, read_iovecs, readv, resolve_at,
    sigpipe_on_epipe, start_dir, write_from, writev,
};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::{CreateAttr, Dentry, OpenFile, SetAttr, Stat, Timespec};
use std::sync::Arc;

const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;
const RENAME_WHITEOUT: u32 = 4;

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

const RWF_HIPRI: i32 = 0x1;
const RWF_DSYNC: i32 = 0x2;
const RWF_SYNC: i32 = 0x4;
const RWF_NOWAIT: i32 = 0x8;

/// inode_owner_or_capable(): the caller's filesystem uid owns the file, or
/// it has CAP_FOWNER.
fn owner_or_capable(task: &Task, st: &Stat) -> bool {
    st.uid == task.creds.fsuid || task.creds.capable(CAP_FOWNER)
}

fn in_group(task: &Task, gid: u32) -> bool {
    task.creds.fsgid == gid || task.creds.groups.contains(&gid)
}

/// EROFS when `d` lies on a read-only mount.
pub(super) fn check_writable_mount(task: &Task, d: &Dentry) -> Result<()> {
    if task.fs().mounts.mount_of(&d.path).is_some_and(|m| m.read_only) {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// EXDEV when `a` and `b` lie on different mounts: rename(2) and link(2)
/// never cross a mount point, even within one filesystem.
fn same_mount(task: &Task, a: &Dentry, b: &Dentry) -> Result<()> {
    let mounts = &task.fs().mounts;
    let root_of = |d: &Dentry| mounts.mount_of(&d.path).map(|m| Arc::as_ptr(&m.root) as *const ());
    if root_of(a) != root_of(b) {
        return Err(Errno::EXDEV);
    }
    Ok(())
}

/// The file open at `fd`, refusing O_PATH descriptors as fchmod(2),
/// fchown(2) and futimens(3) do.
fn real_file(task: &Task, fd: i32) -> Result<Arc<OpenFile>> {
    let file = file_of(task, fd)?;
    if file.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(file)
}

/// Resolves the parent of a path that names a new entry (link, symlink,
/// mknod): EEXIST when the name exists (or is "." / ".."), ENOENT for a
/// missing name written with a trailing slash.
pub(super) fn new_entry_parent(task: &Task, dirfd: i32, path: &[u8]) -> Result<(Arc<Dentry>, Vec<u8>)> {
    let start = start_dir(task, dirfd, path)?;
    let (parent, name) = task.fs().resolve_parent(&start, path)?;
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    match task.fs().lookup_child(&parent, &name) {
        Ok(_) => return Err(Errno::EEXIST),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if path.last() == Some(&b'/') {
        return Err(Errno::ENOENT);
    }
    may_modify_dir(task, &parent)?;
    check_writable_mount(task, &parent)?;
    Ok((parent, name))
}

// ---- rename ----

fn do_rename(task: &Task, olddirfd: i32, oldpath: &[u8], newdirfd: i32, newpath: &[u8], flags: u32) -> Result<u64> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_NOREPLACE != 0 && flags & (RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        // No filesystem here makes whiteouts for the guest; say so the way
        // a filesystem without them does.
        return Err(Errno::EINVAL);
    }
    let fs = task.fs();
    let old_start = start_dir(task, olddirfd, oldpath)?;
    let (old_parent, old_name) = fs.resolve_parent(&old_start, oldpath)?;
    let new_start = start_dir(task, newdirfd, newpath)?;
    let (new_parent, new_name) = fs.resolve_parent(&new_start, newpath)?;
    same_mount(task, &old_parent, &new_parent)?;
    // Linux: a last component of "." or ".." (or the root) is busy.
    if matches!(old_name.as_slice(), b"." | b"..") {
        return Err(Errno::EBUSY);
    }
    if matches!(new_name.as_slice(), b"." | b"..") {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    let src = fs.lookup_child(&old_parent, &old_name)?;
    let src_st = src.inode.stat()?;
    // A trailing slash asks for a directory; with RENAME_EXCHANGE each
    // path's slash is checked against its own entry (below for the target).
    let trailing = oldpath.last() == Some(&b'/') || (newpath.last() == Some(&b'/') && flags & RENAME_EXCHANGE == 0);
    if trailing && !src_st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let dst = match fs.lookup_child(&new_parent, &new_name) {
        Ok(d) => Some(d),
        Err(Errno::ENOENT) if flags & RENAME_EXCHANGE == 0 => None,
        Err(e) => return Err(e),
    };
    if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
        return Err(Errno::EEXIST);
    }
    if fs.mounts.at(&src.path).is_some() || dst.as_ref().is_some_and(|d| fs.mounts.at(&d.path).is_some()) {
        return Err(Errno::EBUSY);
    }
    may_modify_dir(task, &old_parent)?;
    may_modify_dir(task, &new_parent)?;
    check_sticky(task, &old_parent, &src)?;
    if let Some(d) = &dst {
        check_sticky(task, &new_parent, d)?;
    }
    // Moving a directory to another parent rewrites its "..": that needs
    // write permission on the directory itself.
    let moves_parent = old_parent.path != new_parent.path;
    if src_st.is_dir() && moves_parent {
        may_access(task, &src_st, 2, false)?;
    }
    check_writable_mount(task, &old_parent)?;
    check_writable_mount(task, &new_parent)?;
    match &dst {
        // RENAME_EXCHANGE moves the target the other way, with the same
        // rule for a directory (renameat2(2)).
        Some(d) if flags & RENAME_EXCHANGE != 0 => {
            let dst_st = d.inode.stat()?;
            if newpath.last() == Some(&b'/') && !dst_st.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if dst_st.is_dir() && moves_parent {
                may_access(task, &dst_st, 2, false)?;
            }
            old_parent.inode.exchange(&old_name, &new_parent.inode, &new_name)?;
        }
        _ => old_parent.inode.rename(&old_name, &new_parent.inode, &new_name)?,
    }
    Ok(0)
}

pub fn rename(task: &mut Task, a: Args) -> Result<u64> {
    let old = path_arg(task, a.u64(0))?;
    let new = path_arg(task, a.u64(1))?;
    do_rename(task, libc::AT_FDCWD, &old, libc::AT_FDCWD, &new, 0)
}

pub fn renameat(task: &mut Task, a: Args) -> Result<u64> {
    let old = path_arg(task, a.u64(1))?;
    let new = path_arg(task, a.u64(3))?;
    do_rename(task, a.fd(0), &old, a.fd(2), &new, 0)
}

pub fn renameat2(task: &mut Task, a: Args) -> Result<u64> {
    let old = path_arg(task, a.u64(1))?;
    let new = path_arg(task, a.u64(3))?;
    do_rename(task, a.fd(0), &old, a.fd(2), &new, a.u32(4))
}

// ---- link / symlink / mknod ----

/// fs.protected_hardlinks (on by default): someone who does not own the
/// file may link it only if it is a regular file without set-id bits that
/// they can read and write.
fn may_link(task: &Task, st: &Stat) -> Result<()> {
    if owner_or_capable(task, st) {
        return Ok(());
    }
    let setid =
        st.mode & libc::S_ISUID != 0 || st.mode & (libc::S_ISGID | libc::S_IXGRP) == (libc::S_ISGID | libc::S_IXGRP);
    if !st.is_regular() || setid || may_access(task, st, 4 | 2, false).is_err() {
        return Err(Errno::EPERM);
    }
    Ok(())
}

fn do_link(task: &Task, olddirfd: i32, oldpath: &[u8], newdirfd: i32, newpath: &[u8], flags: i32) -> Result<u64> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it Linux says ENOENT.
    if flags & libc::AT_EMPTY_PATH != 0 && oldpath.is_empty() && !task.creds.capable(CAP_DAC_READ_SEARCH) {
        return Err(Errno::ENOENT);
    }
    let mut rflags = flags & libc::AT_EMPTY_PATH;
    if flags & libc::AT_SYMLINK_FOLLOW == 0 {
        rflags |= libc::AT_SYMLINK_NOFOLLOW;
    }
    let old = resolve_at(task, olddirfd, oldpath, rflags)?;
    let st = old.inode.stat()?;
    if st.is_dir() {
        return Err(Errno::EPERM);
    }
    let (parent, name) = new_entry_parent(task, newdirfd, newpath)?;
    same_mount(task, &old, &parent)?;
    may_link(task, &st)?;
    parent.inode.link(&name, &old.inode)?;
    Ok(0)
}

pub fn link(task: &mut Task, a: Args) -> Result<u64> {
    let old = path_arg(task, a.u64(0))?;
    let new = path_arg(task, a.u64(1))?;
    do_link(task, libc::AT_FDCWD, &old, libc::AT_FDCWD, &new, 0)
}

pub fn linkat(task: &mut Task, a: Args) -> Result<u64> {
    let old = path_arg(task, a.u64(1))?;
    let new = path_arg(task, a.u64(3))?;
    do_link(task, a.fd(0), &old, a.fd(2), &new, a.i32(4))
}

fn do_symlink(task: &Task, target: &[u8], dirfd: i32, path: &[u8]) -> Result<u64> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (parent, name) = new_entry_parent(task, dirfd, path)?;
    let attr = CreateAttr {
        mode: 0o777,
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    };
    parent.inode.symlink(&name, target, attr)?;
    Ok(0)
}

pub fn symlink(task: &mut Task, a: Args) -> Result<u64> {
    let target = path_arg(task, a.u64(0))?;
    let path = path_arg(task, a.u64(1))?;
    do_symlink(task, &target, libc::AT_FDCWD, &path)
}

pub fn symlinkat(task: &mut Task, a: Args) -> Result<u64> {
    let target = path_arg(task, a.u64(0))?;
    let path = path_arg(task, a.u64(2))?;
    do_symlink(task, &target, a.fd(1), &path)
}

fn do_mknod(task: &Task, dirfd: i32, path: &[u8], mode: u32, dev: u32) -> Result<u64> {
    let kind = mode & libc::S_IFMT;
    match kind {
        0 | libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK => {}
        libc::S_IFCHR | libc::S_IFBLK => {
            if !task.creds.capable(CAP_MKNOD) {
                return Err(Errno::EPERM);
            }
        }
        libc::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let (parent, name) = new_entry_parent(task, dirfd, path)?;
    let attr = CreateAttr {
        mode: kind | (mode & 0o7777 & !task.fs().umask),
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    };
    parent.inode.mknod(&name, attr, u64::from(dev))?;
    Ok(0)
}

pub fn mknod(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_mknod(task, libc::AT_FDCWD, &path, a.u32(1), a.u32(2))
}

pub fn mknodat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    do_mknod(task, a.fd(0), &path, a.u32(2), a.u32(3))
}

// ---- chmod / chown ----

fn do_chmod(task: &Task, d: &Dentry, mode: u32) -> Result<u64> {
    let st = d.inode.stat()?;
    if !owner_or_capable(task, &st) {
        return Err(Errno::EPERM);
    }
    check_writable_mount(task, d)?;
    let mut mode = mode & 0o7777;
    // chmod(2): a caller outside the file's group without CAP_FSETID loses
    // S_ISGID silently.
    if !task.creds.capable(CAP_FSETID) && !in_group(task, st.gid) {
        mode &= !libc::S_ISGID;
    }
    d.inode.setattr(SetAttr {
        mode: Some(mode),
        ..Default::default()
    })?;
    Ok(0)
}

pub fn chmod(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    do_chmod(task, &d, a.u32(1))
}

pub fn fchmod(task: &mut Task, a: Args) -> Result<u64> {
    let file = real_file(task, a.fd(0))?;
    do_chmod(task, &file.dentry, a.u32(1))
}

pub fn fchmodat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    let d = resolve_at(task, a.fd(0), &path, 0)?;
    do_chmod(task, &d, a.u32(2))
}

/// fchmodat2(2): fchmodat with flags. Linux cannot change a symlink's own
/// mode, so AT_SYMLINK_NOFOLLOW on a symlink is EOPNOTSUPP.
pub fn fchmodat2(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(3);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    let d = resolve_at(task, a.fd(0), &path, flags)?;
    if flags & libc::AT_SYMLINK_NOFOLLOW != 0 && d.inode.stat()?.is_symlink() {
        return Err(Errno::EOPNOTSUPP);
    }
    do_chmod(task, &d, a.u32(2))
}

/// chown(2): root may set anything; the owner may only set the group to
/// one of its groups (and "change" the owner to itself). -1 keeps a field.
fn do_chown(task: &Task, d: &Dentry, uid: u32, gid: u32) -> Result<u64> {
    let st = d.inode.stat()?;
    let uid = (uid != u32::MAX).then_some(uid);
    let gid = (gid != u32::MAX).then_some(gid);
    // chown_ok()/chgrp_ok(): CAP_CHOWN may set anything.
    if !task.creds.capable(CAP_CHOWN) {
        let owner = st.uid == task.creds.fsuid;
        if uid.is_some_and(|u| u != st.uid || !owner) {
            return Err(Errno::EPERM);
        }
        if gid.is_some_and(|g| !owner || (g != st.gid && !in_group(task, g))) {
            return Err(Errno::EPERM);
        }
    }
    check_writable_mount(task, d)?;
    d.inode.setattr(SetAttr {
        uid,
        gid,
        ..Default::default()
    })?;
    // Every chown of a regular file clears its set-id bits, also one that
    // changes no id (Linux's chown_common: ATTR_KILL_SUID|ATTR_KILL_SGID).
    if let Some(mode) = super::file::mode_without_setid(&d.inode.stat()?) {
        d.inode.setattr(SetAttr {
            mode: Some(mode),
            ..Default::default()
        })?;
    }
    Ok(0)
}

pub fn chown(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    do_chown(task, &d, a.u32(1), a.u32(2))
}

pub fn lchown(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, libc::AT_SYMLINK_NOFOLLOW)?;
    do_chown(task, &d, a.u32(1), a.u32(2))
}

pub fn fchown(task: &mut Task, a: Args) -> Result<u64> {
    let file = real_file(task, a.fd(0))?;
    do_chown(task, &file.dentry, a.u32(1), a.u32(2))
}

pub fn fchownat(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(4);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    let d = resolve_at(task, a.fd(0), &path, flags)?;
    do_chown(task, &d, a.u32(2), a.u32(3))
}

// ---- timestamps ----

/// A requested time: set to now, leave alone, or set to a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TimeReq {
    Now,
    Omit,
    At(Timespec),
}

/// Applies atime/mtime changes. Explicit times need ownership (EPERM);
/// "now" needs ownership or write permission (EACCES).
fn set_times(task: &Task, d: &Dentry, atime: TimeReq, mtime: TimeReq) -> Result<u64> {
    let st = d.inode.stat()?;
    if atime == TimeReq::Omit && mtime == TimeReq::Omit {
        return Ok(0);
    }
    let owner = owner_or_capable(task, &st);
    let explicit = matches!(atime, TimeReq::At(_)) || matches!(mtime, TimeReq::At(_));
    if !owner {
        if explicit {
            return Err(Errno::EPERM);
        }
        may_access(task, &st, 2, false)?;
    }
    check_writable_mount(task, d)?;
    let now = Timespec::now();
    let pick = |r: TimeReq| match r {
        TimeReq::Now => Some(now),
        TimeReq::Omit => None,
        TimeReq::At(t) => Some(t),
    };
    d.inode.setattr(SetAttr {
        atime: pick(atime),
        mtime: pick(mtime),
        ..Default::default()
    })?;
    Ok(0)
}

fn read_i64_pair(task: &Task, addr: u64, count: usize) -> Result<Vec<i64>> {
    let raw = task.mm.read_vec(addr, count * 8)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            i64::from_le_bytes(b)
        })
        .collect())
}

/// Decodes a struct timespec[2] of utimensat(2); NULL means both now.
fn utimens_times(task: &Task, addr: u64) -> Result<(TimeReq, TimeReq)> {
    if addr == 0 {
        return Ok((TimeReq::Now, TimeReq::Now));
    }
    let v = read_i64_pair(task, addr, 4)?;
    let one = |sec: i64, nsec: i64| match nsec {
        UTIME_NOW => Ok(TimeReq::Now),
        UTIME_OMIT => Ok(TimeReq::Omit),
        0..=999_999_999 => Ok(TimeReq::At(Timespec { sec, nsec })),
        _ => Err(Errno::EINVAL),
    };
    match v.as_slice() {
        [s0, n0, s1, n1] => Ok((one(*s0, *n0)?, one(*s1, *n1)?)),
        _ => Err(Errno::EFAULT),
    }
}

pub fn utimensat(task: &mut Task, a: Args) -> Result<u64> {
    let (dirfd, path_addr, flags) = (a.fd(0), a.u64(1), a.i32(3));
    let (atime, mtime) = utimens_times(task, a.u64(2))?;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if path_addr == 0 && dirfd != libc::AT_FDCWD {
        // futimens(3).
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let file = real_file(task, dirfd)?;
        return set_times(task, &file.dentry, atime, mtime);
    }
    let path = path_arg(task, path_addr)?;
    let d = resolve_at(task, dirfd, &path, flags)?;
    set_times(task, &d, atime, mtime)
}

/// Decodes a struct timeval[2] of utimes(2); NULL means both now.
fn timeval_times(task: &Task, addr: u64) -> Result<(TimeReq, TimeReq)> {
    if addr == 0 {
        return Ok((TimeReq::Now, TimeReq::Now));
    }
    let v = read_i64_pair(task, addr, 4)?;
    let one = |sec: i64, usec: i64| {
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(TimeReq::At(Timespec { sec, nsec: usec * 1000 }))
    };
    match v.as_slice() {
        [s0, u0, s1, u1] => Ok((one(*s0, *u0)?, one(*s1, *u1)?)),
        _ => Err(Errno::EFAULT),
    }
}

/// utimes(2): struct timeval[2]; NULL means now.
pub fn utimes(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let (atime, mtime) = timeval_times(task, a.u64(1))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    set_times(task, &d, atime, mtime)
}

/// futimesat(2): utimes relative to a directory fd.
pub fn futimesat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(1))?;
    let (atime, mtime) = timeval_times(task, a.u64(2))?;
    let d = resolve_at(task, a.fd(0), &path, 0)?;
    set_times(task, &d, atime, mtime)
}

/// utime(2): struct utimbuf { actime, modtime }; NULL means now.
pub fn utime(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let (atime, mtime) = if a.u64(1) == 0 {
        (TimeReq::Now, TimeReq::Now)
    } else {
        match read_i64_pair(task, a.u64(1), 2)?.as_slice() {
            [at, mt] => (
                TimeReq::At(Timespec { sec: *at, nsec: 0 }),
                TimeReq::At(Timespec { sec: *mt, nsec: 0 }),
            ),
            _ => return Err(Errno::EFAULT),
        }
    };
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    set_times(task, &d, atime, mtime)
}

// ---- truncate / creat ----

fn set_size(task: &Task, d: &Dentry, len: u64) -> Result<u64> {
    check_writable_mount(task, d)?;
    // truncate(2): growing past RLIMIT_FSIZE is EFBIG with SIGXFSZ.
    if len > super::file::fsize_limit(task) && len > d.inode.stat()?.size {
        return Err(sigpipe_on_epipe(task, Errno::EFBIG));
    }
    let key = d.inode.identity()?;
    // What shared mappings changed below the new size must reach the file.
    crate::mm::pagecache::flush_file(key)?;
    d.inode.setattr(SetAttr {
        size: Some(len),
        ..Default::default()
    })?;
    crate::mm::pagecache::file_truncated(key, len);
    Ok(0)
}

pub fn truncate(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let len = a.u64(1) as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    let st = d.inode.stat()?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !st.is_regular() {
        return Err(Errno::EINVAL);
    }
    may_access(task, &st, 2, false)?;
    set_size(task, &d, len as u64)
}

/// ftruncate(2): EINVAL unless the fd is a regular file open for writing.
pub fn ftruncate(task: &mut Task, a: Args) -> Result<u64> {
    let file = real_file(task, a.fd(0))?;
    let len = a.u64(1) as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() || !file.dentry.inode.stat()?.is_regular() {
        return Err(Errno::EINVAL);
    }
    set_size(task, &file.dentry, len as u64)
}

pub fn creat(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    do_open(
        task,
        libc::AT_FDCWD,
        &path,
        libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
        a.u32(1),
    )
}

// ---- statfs ----

/// Fills a struct statfs (x86-64 layout, 120 bytes). Block counts come
/// from the filesystem where it keeps them (tmpfs: its `size=` and the
/// content held); elsewhere, and for inode counts, they are nominal.
fn encode_statfs(task: &Task, d: &Dentry) -> Result<[u8; 120]> {
    const BSIZE: u64 = 4096;
    const NOMINAL_BLOCKS: u64 = 1 << 20;
    const FILES: u64 = 1 << 20;
    const ST_RDONLY: u64 = 1;
    const ST_VALID: u64 = 0x20;
    let magic = d.inode.fs_magic();
    let st = d.inode.stat()?;
    const ST_NOSUID: u64 = 2;
    const ST_NODEV: u64 = 4;
    const ST_NOEXEC: u64 = 8;
    let mount = task.fs().mounts.mount_of(&d.path);
    let flag = |on: bool, bit: u64| if on { bit } else { 0 };
    let mount_flags = mount.map_or(0, |m| {
        flag(m.read_only, ST_RDONLY) | flag(m.nosuid, ST_NOSUID) | flag(m.nodev, ST_NODEV) | flag(m.noexec, ST_NOEXEC)
    });
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, magic);
    put(8, BSIZE);
    let (blocks, free) = match d.inode.fs_space() {
        Some(space) => {
            let blocks = space.total / BSIZE;
            (blocks, blocks.saturating_sub(space.used.div_ceil(BSIZE)))
        }
        None => (NOMINAL_BLOCKS, NOMINAL_BLOCKS),
    };
    put(16, blocks);
    put(24, free);
    put(32, free);
    put(40, FILES);
    put(48, FILES);
    // f_fsid: the device number.
    put(56, st.dev);
    put(64, 255);
    put(72, BSIZE);
    put(80, ST_VALID | mount_flags);
    Ok(b)
}

pub fn statfs(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let d = resolve_at(task, libc::AT_FDCWD, &path, 0)?;
    let buf = encode_statfs(task, &d)?;
    task.mm.write(a.u64(1), &buf)?;
    Ok(0)
}

pub fn fstatfs(task: &mut Task, a: Args) -> Result<u64> {
    let file = file_of(task, a.fd(0))?;
    let buf = encode_statfs(task, &file.dentry)?;
    task.mm.write(a.u64(1), &buf)?;
    Ok(0)
}

// ---- positioned vector I/O ----

/// RWF_HIPRI is a hint, RWF_DSYNC / RWF_SYNC are honoured with an fsync;
/// RWF_NOWAIT is accepted for seekable files, which never block here.
/// Anything else (RWF_APPEND included) is EOPNOTSUPP.
fn rwf_check(task: &Task, fd: i32, flags: i32) -> Result<()> {
    if flags & !(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & RWF_NOWAIT != 0 && !file_of(task, fd)?.ops.seekable() {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

fn do_preadv(task: &Task, fd: i32, iov: u64, count: usize, offset: i64) -> Result<u64> {
    let file = file_of(task, fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if file.dentry.inode.stat()?.is_dir() {
        return Err(Errno::EISDIR);
    }
    let iovs = read_iovecs(task, iov, count)?;
    let mut total: u64 = 0;
    for (base, len) in iovs {
        let at = offset as u64 + total;
        let n = match read_into(task, &file, base, len, |buf, done| file.pread(buf, at + done)) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n as u64;
        if n < len {
            break;
        }
    }
    Ok(total)
}

fn do_pwritev(task: &Task, fd: i32, iov: u64, count: usize, offset: i64) -> Result<u64> {
    let file = file_of(task, fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let iovs = read_iovecs(task, iov, count)?;
    super::file::remove_privs_for_write(task, &file, iovs.iter().map(|&(_, len)| len).sum());
    let mut total: u64 = 0;
    for (base, len) in iovs {
        let at = offset as u64 + total;
        let n = match write_from(task, base, len, |buf, done| {
            file.pwrite_capped(buf, at + done, super::file::fsize_limit(task))
        }) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(sigpipe_on_epipe(task, e)),
            Err(_) => break,
        };
        total += n as u64;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn preadv(task: &mut Task, a: Args) -> Result<u64> {
    do_preadv(task, a.fd(0), a.u64(1), a.usize(2), a.u64(3) as i64)
}

pub fn pwritev(task: &mut Task, a: Args) -> Result<u64> {
    do_pwritev(task, a.fd(0), a.u64(1), a.usize(2), a.u64(3) as i64)
}

/// fsync after a write with RWF_DSYNC / RWF_SYNC.
fn sync_if_asked(task: &Task, fd: i32, flags: i32, n: u64) -> Result<u64> {
    if flags & (RWF_DSYNC | RWF_SYNC) != 0 && n > 0 {
        let file = file_of(task, fd)?;
        file.flush_mapped()?;
        file.ops.fsync()?;
    }
    Ok(n)
}

/// preadv2(2): an offset of -1 reads at (and moves) the file offset.
pub fn preadv2(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(5);
    rwf_check(task, a.fd(0), flags)?;
    let offset = a.u64(3) as i64;
    if offset == -1 {
        return readv(task, Args([a.u64(0), a.u64(1), a.u64(2), 0, 0, 0]));
    }
    do_preadv(task, a.fd(0), a.u64(1), a.usize(2), offset)
}

/// pwritev2(2): an offset of -1 writes at (and moves) the file offset.
pub fn pwritev2(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(5);
    rwf_check(task, a.fd(0), flags)?;
    let offset = a.u64(3) as i64;
    let n = if offset == -1 {
        writev(task, Args([a.u64(0), a.u64(1), a.u64(2), 0, 0, 0]))?
    } else {
        do_pwritev(task, a.fd(0), a.u64(1), a.usize(2), offset)?
    };
    sync_if_asked(task, a.fd(0), flags, n)
}
