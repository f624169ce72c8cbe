//! Memory syscalls: mmap, munmap, mprotect, brk, mremap, madvise.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{page_up, Backing, FileSource, VmaName, PAGE_SIZE};
use std::sync::Arc;

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
    if flags & libc::MAP_ANONYMOUS != 0 {
        return mm.mmap(
            task.ctx.as_mut(),
            addr,
            len,
            prot,
            shared,
            fixed,
            noreplace,
            Backing::Anonymous,
        );
    }
    let file = task.fds.get(fd)?;
    // MAP_SHARED_VALIDATE refuses flags it does not know, and MAP_SYNC on
    // a file that is not DAX (mmap(2) EOPNOTSUPP).
    if kind == libc::MAP_SHARED_VALIDATE && flags & !SHARED_VALIDATE_FLAGS != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // mmap(2): the fd must be open for reading; a shared writable mapping
    // also needs write access.
    if !file.readable() || (shared && prot & libc::PROT_WRITE != 0 && !file.writable()) {
        return Err(Errno::EACCES);
    }
    let st = file.dentry.inode.stat()?;
    if st.is_dir() || !(st.is_regular() || st.file_type() == libc::S_IFCHR) {
        return Err(Errno::ENODEV);
    }
    if shared && prot & libc::PROT_WRITE != 0 {
        // Writes would not reach the file: refuse rather than lose data.
        return Err(Errno::ENODEV);
    }
    let ops = file.ops.clone();
    let read_at = move |buf: &mut [u8], off: u64| ops.read(buf, off);
    let name = VmaName::File {
        path: file.dentry.path.clone(),
        offset,
        dev: st.dev,
        ino: st.ino,
    };
    let writable = file.writable();
    let start = mm.mmap(
        task.ctx.as_mut(),
        addr,
        len,
        prot,
        shared,
        fixed,
        noreplace,
        Backing::File {
            read_at: &read_at,
            offset,
            name,
        },
    )?;
    if shared && !writable {
        mm.deny_write(start, len)?;
    }
    // Pages wholly past the end of a regular file are not backed by it.
    if st.is_regular() {
        let end = start.saturating_add(page_up(len).unwrap_or(len));
        let backed = page_up(st.size).unwrap_or(u64::MAX).saturating_sub(offset);
        if let Some(eof_page) = start.checked_add(backed).filter(|&e| e < end) {
            mm.mark_beyond_eof(task.ctx.as_mut(), eof_page, end)?;
        }
    }
    if !shared {
        let source: FileSource = Arc::downgrade(&file.ops);
        mm.set_file_source(start, len, source)?;
    }
    Ok(start)
}

/// The flags MAP_SHARED_VALIDATE accepts for a file (Linux's
/// LEGACY_MAP_MASK; no file here supports MAP_SYNC).
const SHARED_VALIDATE_FLAGS: i32 = libc::MAP_TYPE
    | libc::MAP_FIXED
    | libc::MAP_FIXED_NOREPLACE
    | libc::MAP_ANONYMOUS
    | libc::MAP_DENYWRITE
    | libc::MAP_EXECUTABLE
    | libc::MAP_GROWSDOWN
    | libc::MAP_LOCKED
    | libc::MAP_NORESERVE
    | libc::MAP_POPULATE
    | libc::MAP_NONBLOCK
    | libc::MAP_STACK
    | libc::MAP_HUGETLB
    | libc::MAP_32BIT
    | (0x3f << libc::MAP_HUGE_SHIFT)
    | 0x400_0000; // MAP_UNINITIALIZED

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

pub fn madvise(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, advice) = (a.u64(0), a.u64(1), a.i32(2));
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    // The advice applies to what is mapped; a hole in the range is
    // reported afterwards (madvise(2) ENOMEM).
    let holes = || match task.mm.is_mapped(addr, end) {
        Ok(true) => Ok(0),
        Ok(false) => Err(Errno::ENOMEM),
        Err(e) => Err(e),
    };
    match advice {
        libc::MADV_DONTNEED | libc::MADV_FREE => {
            // Private anonymous pages read back as zeros afterwards.
            task.mm.discard(addr, end)?;
            holes()
        }
        libc::MADV_NORMAL
        | libc::MADV_RANDOM
        | libc::MADV_SEQUENTIAL
        | libc::MADV_WILLNEED
        | libc::MADV_DONTFORK
        | libc::MADV_DOFORK
        | libc::MADV_MERGEABLE
        | libc::MADV_UNMERGEABLE
        | libc::MADV_HUGEPAGE
        | libc::MADV_NOHUGEPAGE
        | libc::MADV_DONTDUMP
        | libc::MADV_DODUMP => holes(),
        _ => Err(Errno::EINVAL),
    }
}
