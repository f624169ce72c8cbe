//! File-data syscalls that move or shape data inside the kernel:
//! sendfile, splice, tee, copy_file_range, fallocate, memfd_create and its
//! seals, and the sync family.
//!
//! Copies go through [`OpenFile`]'s read/write helpers, chunk by chunk, so
//! the page-cache coherence of read(2)/write(2) (flush before read, update
//! after write), seals and O_APPEND rules apply; a copy interrupted by a
//! signal or a failing write after some progress returns that progress.

use super::file::{io_file_of, MAX_RW};
use super::Args;
use crate::errno::{Errno, Result};
use crate::fs::memfd::{self, MemfdInode};
use crate::fs::pipe::PipeEnd;
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use crate::vfs::{Dentry, OpenFile};
use std::sync::Arc;

/// Bytes moved per step of a copy.
const CHUNK: usize = 1 << 20;
/// splice(2) flags: SPLICE_F_MOVE | NONBLOCK | MORE | GIFT.
const SPLICE_F_ALL: u32 = 0xf;
const SPLICE_F_NONBLOCK: u32 = 0x2;

/// Moves up to `count` bytes: `read(buf, done)` fills a chunk, `write`
/// takes it. Stops at EOF, after one read of a stream source (`stream`),
/// at a short write, or on a signal once something moved. Errors after
/// progress end the copy with the progress.
fn pump(
    count: usize,
    stream: bool,
    mut read: impl FnMut(&mut [u8], u64) -> Result<usize>,
    mut write: impl FnMut(&[u8]) -> Result<usize>,
) -> Result<usize> {
    let mut done = 0;
    let mut buf = vec![0u8; count.min(CHUNK)];
    while done < count {
        if done > 0 && crate::kernel::interrupt::check().is_err() {
            break;
        }
        let want = (count - done).min(CHUNK);
        let got = match read(&mut buf[..want], done as u64) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let mut written = 0;
        while written < got {
            match write(&buf[written..got]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if done + written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        done += written;
        if written < got || got < want || stream {
            break;
        }
    }
    Ok(done)
}

fn is_dir(file: &OpenFile) -> Result<bool> {
    Ok(file.dentry.inode.stat()?.is_dir())
}

/// The description's offset (the VFS keeps it; SEEK_CUR reads it).
fn current_offset(file: &OpenFile) -> Result<u64> {
    file.seek(0, libc::SEEK_CUR)
}

fn set_offset(file: &OpenFile, offset: u64) -> Result<()> {
    file.seek(offset as i64, libc::SEEK_SET).map(|_| ())
}

/// Reads a loff_t offset argument; EFAULT on a bad pointer.
fn read_offset(task: &Task, addr: u64) -> Result<Option<i64>> {
    if addr == 0 {
        return Ok(None);
    }
    Ok(Some(task.mm.read_val::<i64>(addr)?))
}

/// Writes `count` bytes of `input` from `offset` into the pipe behind
/// `output`: at most what fits (splice_file_to_pipe), waiting for a free
/// page unless `nonblock`.
fn file_to_pipe(
    input: &OpenFile,
    offset: u64,
    output: &OpenFile,
    pipe: &PipeEnd,
    count: usize,
    nonblock: bool,
) -> Result<usize> {
    pipe.wait_for_room(nonblock)?;
    let count = count.min(pipe.room()?.max(crate::fs::pipe::PIPE_BUF));
    pump(
        count,
        false,
        |buf, done| input.pread(buf, offset + done),
        |buf| output.write(buf),
    )
}

// ---- sendfile ----

/// sendfile(2): from a seekable `in_fd` to any `out_fd`, at `*offset`
/// (left in the description) or at the description's offset.
pub fn sendfile(task: &mut Task, a: Args) -> Result<u64> {
    let (out_fd, in_fd, offset_addr) = (a.fd(0), a.fd(1), a.u64(2));
    let count = a.usize(3).min(MAX_RW);
    let offset = read_offset(task, offset_addr)?;
    let input = io_file_of(task, in_fd)?;
    if !input.readable() {
        return Err(Errno::EBADF);
    }
    if offset.is_some() && !input.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if offset.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let output = io_file_of(task, out_fd)?;
    if !output.writable() {
        return Err(Errno::EBADF);
    }
    // Only files with a splice_read method can be the source: regular
    // files and devices, not streams or directories.
    if !input.ops.seekable() || is_dir(&input)? {
        return Err(Errno::EINVAL);
    }
    let out_pipe = output.ops.pipe_end();
    if out_pipe.is_none() && output.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let start = match offset {
        Some(o) => o as u64,
        None => current_offset(&input)?,
    };
    let done = if count == 0 {
        Ok(0)
    } else if let Some(pipe) = out_pipe {
        let nonblock = output.flags() & libc::O_NONBLOCK != 0;
        file_to_pipe(&input, start, &output, pipe, count, nonblock)
    } else {
        pump(
            count,
            false,
            |buf, done| input.pread(buf, start + done),
            |buf| output.write(buf),
        )
    }
    .map_err(|e| super::file::sigpipe_on_epipe(task, e))?;
    match offset {
        Some(_) => task.mm.write_val(offset_addr, &((start + done as u64) as i64))?,
        None => set_offset(&input, start + done as u64)?,
    }
    Ok(done as u64)
}

// ---- splice and tee ----

/// splice(2): one side must be a pipe; an offset pointer only for the
/// other side.
pub fn splice(task: &mut Task, a: Args) -> Result<u64> {
    let (in_fd, in_off_addr, out_fd, out_off_addr) = (a.fd(0), a.u64(1), a.fd(2), a.u64(3));
    let (len, flags) = (a.usize(4).min(MAX_RW), a.u32(5));
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = io_file_of(task, in_fd)?;
    let output = io_file_of(task, out_fd)?;
    let (in_pipe, out_pipe) = (input.ops.pipe_end(), output.ops.pipe_end());
    if (in_pipe.is_some() && in_off_addr != 0) || (out_pipe.is_some() && out_off_addr != 0) {
        return Err(Errno::ESPIPE);
    }
    let in_offset = read_offset(task, in_off_addr)?;
    let out_offset = read_offset(task, out_off_addr)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let done = match (in_pipe, out_pipe) {
        (Some(from), Some(to)) => {
            if from.same_pipe(to) {
                return Err(Errno::EINVAL);
            }
            pipe_to_pipe(&input, &output, to, len, nonblock)
        }
        (None, Some(to)) => splice_file_to_pipe(task, &input, in_offset, in_off_addr, &output, to, len, nonblock),
        (Some(_), None) => splice_pipe_to_file(task, &input, &output, out_offset, out_off_addr, len, nonblock),
        (None, None) => Err(Errno::EINVAL),
    };
    done.map(|n| n as u64)
        .map_err(|e| super::file::sigpipe_on_epipe(task, e))
}

/// Reads a pipe once (waiting for data unless `nonblock`).
fn read_pipe(input: &OpenFile, buf: &mut [u8], nonblock: bool) -> Result<usize> {
    let mut flags = input.flags();
    if nonblock {
        flags |= libc::O_NONBLOCK;
    }
    input.ops.read_with_flags(buf, 0, flags)
}

fn pipe_to_pipe(input: &OpenFile, output: &OpenFile, to: &PipeEnd, len: usize, nonblock: bool) -> Result<usize> {
    let nonblock_out = nonblock || output.flags() & libc::O_NONBLOCK != 0;
    to.wait_for_room(nonblock_out)?;
    let count = len.min(to.room()?.max(crate::fs::pipe::PIPE_BUF));
    let nonblock_in = nonblock || input.flags() & libc::O_NONBLOCK != 0;
    pump(
        count,
        true,
        |buf, _| read_pipe(input, buf, nonblock_in),
        |buf| output.write(buf),
    )
}

#[allow(clippy::too_many_arguments)]
fn splice_file_to_pipe(
    task: &Task,
    input: &OpenFile,
    offset: Option<i64>,
    offset_addr: u64,
    output: &OpenFile,
    to: &PipeEnd,
    len: usize,
    nonblock: bool,
) -> Result<usize> {
    if offset.is_some() && !input.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if offset.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    if input.ops.socket().is_some() {
        return socket_to_pipe(input, output, to, len, nonblock);
    }
    if !input.ops.seekable() || is_dir(input)? {
        return Err(Errno::EINVAL);
    }
    let nonblock = nonblock || output.flags() & libc::O_NONBLOCK != 0;
    let start = match offset {
        Some(o) => o as u64,
        None => current_offset(input)?,
    };
    let done = file_to_pipe(input, start, output, to, len, nonblock)?;
    match offset {
        Some(_) => task.mm.write_val(offset_addr, &((start + done as u64) as i64))?,
        None => set_offset(input, start + done as u64)?,
    }
    Ok(done)
}

/// A socket's splice_read: one receive of what fits in the pipe
/// (SPLICE_F_NONBLOCK or O_NONBLOCK on the socket make it not wait).
fn socket_to_pipe(input: &OpenFile, output: &OpenFile, to: &PipeEnd, len: usize, nonblock: bool) -> Result<usize> {
    to.wait_for_room(nonblock || output.flags() & libc::O_NONBLOCK != 0)?;
    let count = len.min(to.room()?.max(crate::fs::pipe::PIPE_BUF));
    pump(
        count,
        true,
        |buf, _| read_pipe(input, buf, nonblock),
        |buf| output.write(buf),
    )
}

fn splice_pipe_to_file(
    task: &Task,
    input: &OpenFile,
    output: &OpenFile,
    offset: Option<i64>,
    offset_addr: u64,
    len: usize,
    nonblock: bool,
) -> Result<usize> {
    if offset.is_some() && !output.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if output.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    if offset.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    if is_dir(output)? {
        return Err(Errno::EBADF);
    }
    let nonblock = nonblock || input.flags() & libc::O_NONBLOCK != 0;
    let Some(start) = offset else {
        return pump(
            len,
            true,
            |buf, _| read_pipe(input, buf, nonblock),
            |buf| output.write(buf),
        );
    };
    let mut at = start as u64;
    let done = pump(
        len,
        true,
        |buf, _| read_pipe(input, buf, nonblock),
        |buf| {
            let n = output.pwrite(buf, at)?;
            at += n as u64;
            Ok(n)
        },
    )?;
    task.mm.write_val(offset_addr, &(at as i64))?;
    Ok(done)
}

/// tee(2): copies up to `len` bytes from one pipe to another without
/// consuming them.
pub fn tee(task: &mut Task, a: Args) -> Result<u64> {
    let (in_fd, out_fd, len, flags) = (a.fd(0), a.fd(1), a.usize(2).min(MAX_RW), a.u32(3));
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let input = io_file_of(task, in_fd)?;
    let output = io_file_of(task, out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let (Some(from), Some(to)) = (input.ops.pipe_end(), output.ops.pipe_end()) else {
        return Err(Errno::EINVAL);
    };
    if from.same_pipe(to) {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    to.wait_for_room(nonblock || output.flags() & libc::O_NONBLOCK != 0)
        .map_err(|e| super::file::sigpipe_on_epipe(task, e))?;
    let count = len.min(to.room()?.max(crate::fs::pipe::PIPE_BUF));
    let mut buf = vec![0u8; count];
    let got = from.peek(&mut buf, nonblock || input.flags() & libc::O_NONBLOCK != 0)?;
    if got == 0 {
        return Ok(0);
    }
    Ok(output
        .write(&buf[..got])
        .map_err(|e| super::file::sigpipe_on_epipe(task, e))? as u64)
}

// ---- copy_file_range ----

/// copy_file_range(2) between regular files of one filesystem.
pub fn copy_file_range(task: &mut Task, a: Args) -> Result<u64> {
    let (in_fd, in_off_addr, out_fd, out_off_addr) = (a.fd(0), a.u64(1), a.fd(2), a.u64(3));
    let (len, flags) = (a.usize(4), a.u32(5));
    let input = io_file_of(task, in_fd)?;
    let output = io_file_of(task, out_fd)?;
    let in_offset = read_offset(task, in_off_addr)?;
    let out_offset = read_offset(task, out_off_addr)?;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (in_st, out_st) = (input.dentry.inode.stat()?, output.dentry.inode.stat()?);
    if in_st.is_dir() || out_st.is_dir() {
        return Err(Errno::EISDIR);
    }
    // A regular file the Sentry serves as a stream (a host file given as
    // stdio) has no offset to copy at: EINVAL, which callers such as
    // cat(1) take as "fall back to read and write".
    if !in_st.is_regular() || !out_st.is_regular() || !input.ops.seekable() || !output.ops.seekable() {
        return Err(Errno::EINVAL);
    }
    if !input.readable() || !output.writable() || output.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    // Without a filesystem copy method Linux copies only within one
    // superblock (copy_file_range(2) EXDEV, since 5.19).
    if in_st.dev != out_st.dev {
        return Err(Errno::EXDEV);
    }
    let pos_in = match in_offset {
        Some(o) => o,
        None => current_offset(&input)? as i64,
    };
    let pos_out = match out_offset {
        Some(o) => o,
        None => current_offset(&output)? as i64,
    };
    // Linux adds in unsigned arithmetic: a negative offset with a
    // nonzero length wraps and is EOVERFLOW, not EINVAL.
    let wraps = |pos: i64| (pos as u64).checked_add(len as u64).is_none();
    if wraps(pos_in) || wraps(pos_out) {
        return Err(Errno::EOVERFLOW);
    }
    if pos_in < 0 || pos_out < 0 {
        return Err(Errno::EINVAL);
    }
    // Shortened to the input's end first, then checked for overlap.
    let count = (len as u64).min(in_st.size.saturating_sub(pos_in as u64)) as usize;
    let (pos_in, pos_out) = (pos_in as u64, pos_out as u64);
    let same = in_st.ino == out_st.ino;
    if same && pos_out + (count as u64) > pos_in && pos_in + (count as u64) > pos_out {
        return Err(Errno::EINVAL);
    }
    let count = count.min(MAX_RW);
    let done = if count == 0 {
        0
    } else {
        let mut at = pos_out;
        pump(
            count,
            false,
            |buf, done| input.pread(buf, pos_in + done),
            |buf| {
                let n = output.pwrite(buf, at)?;
                at += n as u64;
                Ok(n)
            },
        )?
    } as u64;
    match in_offset {
        Some(_) => task.mm.write_val(in_off_addr, &((pos_in + done) as i64))?,
        None => set_offset(&input, pos_in + done)?,
    }
    match out_offset {
        Some(_) => task.mm.write_val(out_off_addr, &((pos_out + done) as i64))?,
        None => set_offset(&output, pos_out + done)?,
    }
    Ok(done)
}

// ---- fallocate ----

/// FALLOC_FL_* modes fallocate(2) knows.
const FALLOC_FL_KEEP_SIZE: i32 = 0x01;
const FALLOC_FL_PUNCH_HOLE: i32 = 0x02;
const FALLOC_FL_NO_HIDE_STALE: i32 = 0x04;
const FALLOC_FL_COLLAPSE_RANGE: i32 = 0x08;
const FALLOC_FL_ZERO_RANGE: i32 = 0x10;
const FALLOC_FL_INSERT_RANGE: i32 = 0x20;
const FALLOC_FL_UNSHARE_RANGE: i32 = 0x40;
const FALLOC_FL_WRITE_ZEROES: i32 = 0x80;
const FALLOC_MODE_MASK: i32 = FALLOC_FL_PUNCH_HOLE
    | FALLOC_FL_COLLAPSE_RANGE
    | FALLOC_FL_ZERO_RANGE
    | FALLOC_FL_INSERT_RANGE
    | FALLOC_FL_UNSHARE_RANGE
    | FALLOC_FL_WRITE_ZEROES;

/// vfs_fallocate's checks of the mode bits alone.
fn check_fallocate_mode(mode: i32) -> Result<()> {
    if mode & !(FALLOC_MODE_MASK | FALLOC_FL_KEEP_SIZE | FALLOC_FL_NO_HIDE_STALE) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    match mode & FALLOC_MODE_MASK {
        0 | FALLOC_FL_ZERO_RANGE | FALLOC_FL_UNSHARE_RANGE => Ok(()),
        // A hole is only punched inside the file (fallocate(2)).
        FALLOC_FL_PUNCH_HOLE if mode & FALLOC_FL_KEEP_SIZE != 0 => Ok(()),
        FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_WRITE_ZEROES
            if mode & FALLOC_FL_KEEP_SIZE == 0 =>
        {
            Ok(())
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

pub fn fallocate(task: &mut Task, a: Args) -> Result<u64> {
    let (fd, mode, offset, len) = (a.fd(0), a.i32(1), a.u64(2) as i64, a.u64(3) as i64);
    let file = io_file_of(task, fd)?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    check_fallocate_mode(mode)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let st = file.dentry.inode.stat()?;
    match st.file_type() {
        libc::S_IFIFO => return Err(Errno::ESPIPE),
        libc::S_IFDIR => return Err(Errno::EISDIR),
        libc::S_IFREG => {}
        _ => return Err(Errno::ENODEV),
    }
    if offset.checked_add(len).is_none() {
        return Err(Errno::EFBIG);
    }
    file.flush_mapped()?;
    file.ops.fallocate(mode, offset as u64, len as u64)?;
    notify_mappings(&file, mode, offset as u64, len as u64)?;
    Ok(0)
}

/// Mappings of the file see a punched or zeroed range, or the new size.
fn notify_mappings(file: &OpenFile, mode: i32, offset: u64, len: u64) -> Result<()> {
    if !crate::mm::pagecache::any_live() {
        return Ok(());
    }
    let Ok(key) = file.dentry.inode.identity() else {
        return Ok(());
    };
    let size = file.ops.size()?;
    if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 && offset < size {
        let end = offset.saturating_add(len).min(size);
        let zeros = vec![0u8; (end - offset).min(CHUNK as u64) as usize];
        let mut at = offset;
        while at < end {
            let n = ((end - at) as usize).min(zeros.len());
            crate::mm::pagecache::file_written(key, &zeros[..n], at);
            at += n as u64;
        }
    }
    Ok(())
}

// ---- memfd ----

const MFD_CLOEXEC: u32 = 0x1;
const MFD_ALLOW_SEALING: u32 = 0x2;
const MFD_HUGETLB: u32 = 0x4;
const MFD_NOEXEC_SEAL: u32 = 0x8;
const MFD_EXEC: u32 = 0x10;
/// The huge page size bits that may come with MFD_HUGETLB.
const MFD_HUGE_MASK: u32 = 0x3f << 26;
/// NAME_MAX less "memfd:".
const MFD_NAME_MAX: usize = 249;

/// memfd_create(2): an anonymous tmpfs file, named "memfd:NAME" in
/// /proc/PID/fd.
pub fn memfd_create(task: &mut Task, a: Args) -> Result<u64> {
    let flags = a.u32(1);
    let known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
    if flags & MFD_HUGETLB == 0 && flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_HUGETLB != 0 && flags & !(known | MFD_HUGE_MASK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_NOEXEC_SEAL != 0 && flags & MFD_EXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let name = task.mm.read_cstring(a.u64(0), MFD_NAME_MAX).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    if flags & MFD_HUGETLB != 0 {
        // No hugetlbfs: what Linux built without CONFIG_HUGETLBFS gives.
        return Err(Errno::ENOSYS);
    }
    let (mode, seals) = if flags & MFD_NOEXEC_SEAL != 0 {
        (0o666, memfd::F_SEAL_EXEC)
    } else if flags & MFD_ALLOW_SEALING != 0 {
        (0o777, 0)
    } else {
        (0o777, memfd::F_SEAL_SEAL)
    };
    let inode = MemfdInode::new(mode, task.creds.fsuid, task.creds.fsgid, seals)?;
    let ops = crate::vfs::Inode::open(inode.as_ref(), libc::O_RDWR)?;
    // /proc/PID/fd adds " (deleted)": the file has no name (nlink 0).
    let mut path = b"/memfd:".to_vec();
    path.extend_from_slice(&name);
    let dentry = Arc::new(Dentry {
        path,
        parent: None,
        inode,
    });
    let file = OpenFile::new(dentry, ops, libc::O_RDWR | libc::O_LARGEFILE);
    Ok(task.fds.insert(file, flags & MFD_CLOEXEC != 0)? as u64)
}

/// fcntl(F_ADD_SEALS) (fcntl(2) "File Sealing").
pub fn add_seals(file: &OpenFile, seals: u64) -> Result<u64> {
    if !file.writable() {
        return Err(Errno::EPERM);
    }
    if seals > u32::MAX as u64 || seals as u32 & !memfd::ALL_SEALS != 0 {
        return Err(Errno::EINVAL);
    }
    let memfd = memfd::memfd_of(file).ok_or(Errno::EINVAL)?;
    memfd.add_seals(seals as u32)?;
    Ok(0)
}

/// fcntl(F_GET_SEALS): EINVAL for files without seals.
pub fn get_seals(file: &OpenFile) -> Result<u64> {
    let memfd = memfd::memfd_of(file).ok_or(Errno::EINVAL)?;
    Ok(memfd.seals()? as u64)
}

// ---- sync ----

/// sync(2): the shared mappings of every file are written back. Files
/// write through to the host (or live in memory), so that is all; sync
/// never fails.
pub fn sync(_task: &mut Task, _a: Args) -> Result<u64> {
    let _ = crate::mm::pagecache::flush_all();
    Ok(0)
}

/// syncfs(2): any fd names a filesystem. Every shared mapping is written
/// back, and the file itself synced (its filesystem's other files write
/// through already).
pub fn syncfs(task: &mut Task, a: Args) -> Result<u64> {
    let file = io_file_of(task, a.fd(0))?;
    crate::mm::pagecache::flush_all()?;
    if file.ops.seekable() {
        file.ops.fsync()?;
    }
    Ok(0)
}

const SYNC_FILE_RANGE_VALID: u32 = 0x1 | 0x2 | 0x4;

/// sync_file_range(2): flags and range checked; the file's mappings are
/// written back.
pub fn sync_file_range(task: &mut Task, a: Args) -> Result<u64> {
    let file = io_file_of(task, a.fd(0))?;
    let (offset, nbytes, flags) = (a.u64(1) as i64, a.u64(2) as i64, a.u32(3));
    if flags & !SYNC_FILE_RANGE_VALID != 0 {
        return Err(Errno::EINVAL);
    }
    let end = offset.checked_add(nbytes);
    if offset < 0 || end.is_none_or(|e| e < 0) || nbytes < 0 {
        return Err(Errno::EINVAL);
    }
    let kind = file.dentry.inode.stat()?.file_type();
    if !matches!(kind, libc::S_IFREG | libc::S_IFBLK | libc::S_IFDIR | libc::S_IFLNK) {
        return Err(Errno::ESPIPE);
    }
    if flags != 0 {
        file.flush_mapped()?;
    }
    Ok(0)
}

// ---- ioctl ----

/// FIOQSIZE (asm-generic/ioctls.h).
pub const FIOQSIZE: u64 = 0x5460;

/// The ioctls every regular file, directory and symlink answers in
/// do_vfs_ioctl; None for other commands and files.
pub fn file_ioctl(task: &Task, file: &OpenFile, cmd: u64, arg: u64) -> Option<Result<u64>> {
    let st = match file.dentry.inode.stat() {
        Ok(st) => st,
        Err(e) => return Some(Err(e)),
    };
    match cmd {
        // The bytes from the offset to the end, as an int (may be
        // negative past the end, as on Linux).
        libc::FIONREAD if st.is_regular() => Some((|| {
            let pos = current_offset(file)?;
            let rest = st.size.wrapping_sub(pos) as i32;
            task.mm.write_val(arg, &rest)?;
            Ok(0)
        })()),
        // The bytes in use: st_blocks in bytes (inode_get_bytes).
        FIOQSIZE if st.is_regular() || st.is_dir() || st.is_symlink() => {
            Some(task.mm.write_val(arg, &((st.blocks * 512) as i64)).map(|_| 0))
        }
        FIOQSIZE => Some(Err(Errno::ENOTTY)),
        _ => None,
    }
}
