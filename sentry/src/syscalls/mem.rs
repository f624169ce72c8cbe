//! Memory syscalls: mmap, munmap, mprotect, brk, mremap, madvise, msync,
//! mincore and the mlock family.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{page_down, page_up, Advice, Backing, FileBacking, UserMemory, VmaName, PAGE_SIZE};

/// Flags MAP_SHARED_VALIDATE accepts for every file (Linux's
/// LEGACY_MAP_MASK); others, MAP_SYNC (no file here is DAX) and, as on
/// Linux, MAP_FIXED_NOREPLACE among them, are EOPNOTSUPP (mmap(2)).
const VALIDATED_MAP_FLAGS: i32 = libc::MAP_SHARED
    | libc::MAP_PRIVATE
    | libc::MAP_FIXED
    | libc::MAP_ANONYMOUS
    | libc::MAP_DENYWRITE
    | libc::MAP_EXECUTABLE
    | 0x400_0000 // MAP_UNINITIALIZED
    | libc::MAP_GROWSDOWN
    | libc::MAP_LOCKED
    | libc::MAP_NORESERVE
    | libc::MAP_POPULATE
    | libc::MAP_NONBLOCK
    | libc::MAP_STACK
    | libc::MAP_HUGETLB
    | libc::MAP_32BIT
    | (0x3f << 26); // MAP_HUGE_MASK

/// /dev/zero: mapping it gives anonymous memory (shared or private).
const DEV_ZERO: u64 = crate::fs::makedev(1, 5);

pub fn mmap(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, prot, flags, fd, offset) = (a.u64(0), a.u64(1), a.i32(2), a.i32(3), a.fd(4), a.u64(5));
    let kind = flags & libc::MAP_TYPE;
    if kind != libc::MAP_PRIVATE && kind != libc::MAP_SHARED && kind != libc::MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if len == 0 || offset % PAGE_SIZE != 0 || page_up(len).is_none() {
        return Err(Errno::EINVAL);
    }
    if prot & !(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC | libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    check_address_space_limit(task, len)?;
    let shared = kind != libc::MAP_PRIVATE;
    let fixed = flags & libc::MAP_FIXED != 0;
    let noreplace = flags & libc::MAP_FIXED_NOREPLACE != 0;
    let prot = prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    let mm = task.mm.clone();
    let backing = if flags & libc::MAP_ANONYMOUS != 0 {
        if kind == libc::MAP_SHARED_VALIDATE {
            return Err(Errno::EINVAL);
        }
        Backing::Anonymous
    } else {
        file_backing(task, fd, flags, prot, offset, len)?
    };
    let map_locked = flags & libc::MAP_LOCKED != 0;
    let page_len = page_up(len).ok_or(Errno::ENOMEM)?;
    // mmap(2) EAGAIN: "too much memory has been locked".
    if !mm.may_lock_new(page_len, map_locked, memlock_limit(task))? {
        return Err(Errno::EAGAIN);
    }
    let start = mm.mmap(task.ctx.as_mut(), addr, len, prot, shared, fixed, noreplace, backing)?;
    if map_locked {
        mm.set_locked(start, page_len, true, None)?;
    }
    Ok(start)
}

/// What mmap(2) of `fd` maps: /dev/zero gives anonymous memory, a regular
/// file its contents (a private copy, or its shared page cache).
fn file_backing(task: &Task, fd: i32, flags: i32, prot: i32, offset: u64, len: u64) -> Result<Backing<'static>> {
    let file = task.fds.get(fd)?;
    if flags & libc::MAP_TYPE == libc::MAP_SHARED_VALIDATE && flags & !VALIDATED_MAP_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let shared = flags & libc::MAP_TYPE != libc::MAP_PRIVATE;
    // mmap(2): the fd must be open for reading; a shared writable mapping
    // also needs write access.
    if !file.readable() || (shared && prot & libc::PROT_WRITE != 0 && !file.writable()) {
        return Err(Errno::EACCES);
    }
    crate::fs::memfd::check_mmap(&file, shared, prot)?;
    let st = file.dentry.inode.stat()?;
    if st.file_type() == libc::S_IFCHR && st.rdev == DEV_ZERO {
        return Ok(Backing::Anonymous);
    }
    if !st.is_regular() {
        return Err(Errno::ENODEV);
    }
    // mmap(2) EOVERFLOW: the mapping would end past the largest file
    // size (Linux's MAX_LFS_FILESIZE, i64::MAX).
    let end = offset.checked_add(page_up(len).ok_or(Errno::ENOMEM)?);
    if end.is_none_or(|end| end > i64::MAX as u64) {
        return Err(Errno::EOVERFLOW);
    }
    let name = VmaName::File {
        path: file.dentry.path.clone(),
        offset,
        dev: st.dev,
        ino: st.ino,
    };
    Ok(Backing::File(FileBacking {
        ops: crate::fs::memfd::mapping_ops(&file)?,
        key: (st.dev, st.ino),
        offset,
        name,
        writable: crate::fs::memfd::may_write_shared(&file)?,
    }))
}

/// RLIMIT_AS: a mapping that would take the address space past the limit
/// fails with ENOMEM (getrlimit(2)).
fn check_address_space_limit(task: &Task, extra: u64) -> Result<()> {
    let limit = task.rlimits[libc::RLIMIT_AS as usize].0;
    if limit != u64::MAX && task.mm.mapped_bytes().saturating_add(extra) > limit {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

pub fn munmap(task: &mut Task, a: Args) -> Result<u64> {
    let mm = task.mm.clone();
    mm.munmap(task.ctx.as_mut(), a.u64(0), a.u64(1)).map(|_| 0)
}

pub fn mprotect(task: &mut Task, a: Args) -> Result<u64> {
    let mm = task.mm.clone();
    let prot = a.i32(2) & !(libc::PROT_GROWSDOWN | libc::PROT_GROWSUP);
    mm.mprotect(task.ctx.as_mut(), a.u64(0), a.u64(1), prot).map(|_| 0)
}

pub fn brk(task: &mut Task, a: Args) -> Result<u64> {
    let mm = task.mm.clone();
    let current = mm.brk(task.ctx.as_mut(), 0)?;
    if a.u64(0) > current && check_address_space_limit(task, a.u64(0) - current).is_err() {
        return Ok(current);
    }
    mm.brk(task.ctx.as_mut(), a.u64(0))
}

pub fn mremap(task: &mut Task, a: Args) -> Result<u64> {
    let mm = task.mm.clone();
    mm.mremap(task.ctx.as_mut(), a.u64(0), a.u64(1), a.u64(2), a.i32(3), a.u64(4))
}

/// madvise(2).
pub fn madvise(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, advice) = (a.u64(0), a.u64(1), a.i32(2));
    let advice = match advice {
        libc::MADV_DONTNEED => Advice::DontNeed,
        libc::MADV_FREE => Advice::Free,
        libc::MADV_REMOVE => Advice::Remove,
        libc::MADV_DONTFORK => Advice::DontFork,
        libc::MADV_DOFORK => Advice::DoFork,
        MADV_WIPEONFORK => Advice::WipeOnFork,
        MADV_KEEPONFORK => Advice::KeepOnFork,
        libc::MADV_NORMAL
        | libc::MADV_RANDOM
        | libc::MADV_SEQUENTIAL
        | libc::MADV_WILLNEED
        | libc::MADV_MERGEABLE
        | libc::MADV_UNMERGEABLE
        | libc::MADV_HUGEPAGE
        | libc::MADV_NOHUGEPAGE
        | libc::MADV_DONTDUMP
        | libc::MADV_DODUMP
        | MADV_COLD
        | MADV_PAGEOUT
        | MADV_POPULATE_READ
        | MADV_POPULATE_WRITE => Advice::Ignored,
        _ => return Err(Errno::EINVAL),
    };
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::EINVAL)?;
    task.mm.madvise(addr, len, advice)?;
    Ok(0)
}

const MADV_WIPEONFORK: i32 = 18;
const MADV_KEEPONFORK: i32 = 19;
const MADV_COLD: i32 = 20;
const MADV_PAGEOUT: i32 = 21;
const MADV_POPULATE_READ: i32 = 22;
const MADV_POPULATE_WRITE: i32 = 23;

/// msync(2): EINVAL for unknown flags, MS_ASYNC with MS_SYNC, or an
/// unaligned address.
pub fn msync(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, flags) = (a.u64(0), a.u64(1), a.i32(2));
    let async_and_sync = flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0;
    if flags & !(libc::MS_ASYNC | libc::MS_INVALIDATE | libc::MS_SYNC) != 0 || addr % PAGE_SIZE != 0 || async_and_sync {
        return Err(Errno::EINVAL);
    }
    task.mm.msync(addr, len, flags)?;
    Ok(0)
}

/// mincore(2): EINVAL for an unaligned address, ENOMEM when the range is
/// not all mapped, EFAULT for a bad vector.
pub fn mincore(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, vec) = (a.u64(0), a.u64(1), a.u64(2));
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    if addr.checked_add(len).is_none_or(|end| end > task.mm.max_addr()) {
        return Err(Errno::ENOMEM);
    }
    if len == 0 {
        return Ok(0);
    }
    let resident = task.mm.mincore(addr, len)?;
    task.mm.write(vec, &resident)?;
    Ok(0)
}

const CAP_IPC_LOCK: u32 = 14;
const MLOCK_ONFAULT: i32 = 1;

/// RLIMIT_MEMLOCK for a task without CAP_IPC_LOCK (which has no limit).
fn memlock_limit(task: &Task) -> Option<u64> {
    if task.creds.capable(CAP_IPC_LOCK) {
        return None;
    }
    Some(task.rlimits[libc::RLIMIT_MEMLOCK as usize].0)
}

/// mlock(2) EPERM: "the caller is not privileged ... and its
/// RLIMIT_MEMLOCK soft resource limit is 0".
fn check_can_lock(task: &Task) -> Result<()> {
    if memlock_limit(task) == Some(0) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The page range mlock(2)/munlock(2) act on: `addr` is rounded down,
/// EINVAL when addr+len wraps.
fn lock_range(addr: u64, len: u64) -> Result<(u64, u64)> {
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    let start = page_down(addr);
    let end = page_up(end).ok_or(Errno::EINVAL)?;
    Ok((start, end - start))
}

fn lock_pages(task: &mut Task, addr: u64, len: u64) -> Result<u64> {
    let (start, len) = lock_range(addr, len)?;
    check_can_lock(task)?;
    task.mm.set_locked(start, len, true, memlock_limit(task))?;
    Ok(0)
}

pub fn mlock(task: &mut Task, a: Args) -> Result<u64> {
    lock_pages(task, a.u64(0), a.u64(1))
}

/// mlock2(2): only MLOCK_ONFAULT is a valid flag (pages count as locked
/// either way).
pub fn mlock2(task: &mut Task, a: Args) -> Result<u64> {
    if a.i32(2) & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock_pages(task, a.u64(0), a.u64(1))
}

pub fn munlock(task: &mut Task, a: Args) -> Result<u64> {
    let (start, len) = lock_range(a.u64(0), a.u64(1))?;
    task.mm.set_locked(start, len, false, None)?;
    Ok(0)
}

/// mlockall(2): EINVAL for no flag, unknown flags or MCL_ONFAULT alone.
pub fn mlockall(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.i32(0);
    let known = libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT;
    if flags == 0 || flags & !known != 0 || flags == libc::MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    check_can_lock(task)?;
    task.mm.mlockall(flags, memlock_limit(task))?;
    Ok(0)
}

pub fn munlockall(task: &mut Task, _a: Args) -> Result<u64> {
    task.mm.munlockall()?;
    Ok(0)
}
