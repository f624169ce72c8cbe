//! Socket syscalls (socket(2)). Sockets of every family are `dyn Socket`
//! (`crate::net::socket`); this module moves addresses, iovecs and control
//! messages between the guest and the socket.

use super::file::{file_of, read_iovecs, sigpipe_on_epipe};
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::net::socket::{self as sock, Received, RecvFlags, SendArgs, Socket, SocketFile};
use crate::net::unix::Control;
use crate::net::{Ucred, Wait};
use crate::vfs::{Dentry, OpenFile};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// sizeof(struct sockaddr_storage): the longest address move_addr_to_kernel takes.
const SOCKADDR_STORAGE_LEN: usize = 128;
/// Most fds one SCM_RIGHTS message may carry (SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;
/// Largest message count of sendmmsg/recvmmsg and iovec count of a
/// msghdr (UIO_MAXIOV).
const MMSG_MAX: usize = 1024;
const CMSG_HDR: usize = 16;
const MSGHDR_LEN: u64 = 56;
const MMSGHDR_LEN: u64 = 64;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// Bytes a stream send copies from the guest at a time.
const SEND_PIECE: usize = 1 << 20;

/// VFS lookups the unix(7) family needs for path names.
pub(crate) mod sockaddr_lookup {
    use crate::errno::Result;
    use crate::kernel::Task;
    use crate::vfs::{Dentry, Stat};
    use std::sync::Arc;

    /// stat of the file at `path` (relative to the cwd, following links).
    pub fn stat_path(task: &Task, path: &[u8]) -> Result<Stat> {
        super::super::file::resolve_at(task, libc::AT_FDCWD, path, 0)?
            .inode
            .stat()
    }

    /// EACCES unless the caller may write the file `st` describes.
    pub fn may_write(task: &Task, st: &Stat) -> Result<()> {
        super::super::file::may_access(task, st, 2, false)
    }

    /// The parent directory and last component of a new entry at `path`.
    pub fn new_entry_parent(task: &Task, path: &[u8]) -> Result<(Arc<Dentry>, Vec<u8>)> {
        super::super::fileattr::new_entry_parent(task, libc::AT_FDCWD, path)
    }
}

// ---- helpers ----

/// The socket open at `fd` (ENOTSOCK for other files).
fn socket_file(task: &Task, fd: i32) -> Result<(Arc<OpenFile>, Arc<dyn Socket>)> {
    let file = file_of(task, fd)?;
    let sock = socket_of(&file)?;
    Ok((file, sock))
}

fn socket_of(file: &OpenFile) -> Result<Arc<dyn Socket>> {
    file.ops.socket().ok_or(Errno::ENOTSOCK)
}

/// Runs `f` on the socket open at `fd` (ENOTSOCK for other files).
fn with_socket<T>(task: &Task, fd: i32, f: impl FnOnce(&dyn Socket, &OpenFile) -> Result<T>) -> Result<T> {
    let (file, sock) = socket_file(task, fd)?;
    f(&*sock, &file)
}

fn nonblocking(file: &OpenFile, msg_flags: i32) -> bool {
    file.flags() & libc::O_NONBLOCK != 0 || msg_flags & libc::MSG_DONTWAIT != 0
}

/// Reads a sockaddr of `len` bytes (move_addr_to_kernel: EINVAL for a
/// length outside 0..=sizeof(sockaddr_storage)).
fn read_sockaddr(task: &Task, addr: u64, len: u64) -> Result<Vec<u8>> {
    let len = len as u32 as i32;
    if len < 0 || len as usize > SOCKADDR_STORAGE_LEN {
        return Err(Errno::EINVAL);
    }
    task.mm.read_vec(addr, len as usize)
}

/// Writes `bytes` to a (sockaddr, socklen_t *) pair: at most *len bytes
/// are copied and *len becomes the full length.
fn write_sockaddr(task: &Task, addr: u64, len_addr: u64, bytes: &[u8]) -> Result<()> {
    if addr == 0 {
        return Ok(());
    }
    let cap: i32 = task.mm.read_val(len_addr)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = bytes.len().min(cap as usize);
    task.mm.write(addr, &bytes[..n])?;
    task.mm.write_val(len_addr, &(bytes.len() as u32))
}

/// Installs a socket as a new fd with SOCK_NONBLOCK/SOCK_CLOEXEC `flags`.
fn install(task: &Task, sock: Arc<dyn Socket>, flags: i32) -> Result<i32> {
    let inode = sock.inode().clone();
    let dentry = Arc::new(Dentry {
        path: format!("socket:[{}]", inode.ino).into_bytes(),
        parent: None,
        inode,
    });
    let status = libc::O_RDWR
        | if flags & libc::SOCK_NONBLOCK != 0 {
            libc::O_NONBLOCK
        } else {
            0
        };
    let file = OpenFile::new(dentry, Arc::new(SocketFile(sock)), status);
    task.fds.insert(file, flags & libc::SOCK_CLOEXEC != 0)
}

/// The base type and SOCK_NONBLOCK/SOCK_CLOEXEC flags of a socket(2) type.
fn split_type(ty: i32) -> Result<(i32, i32)> {
    let flags = ty & (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    let base = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    if base & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((base, flags))
}

// ---- socket, socketpair, bind, listen, connect, accept ----

pub fn socket(task: &mut Task, a: Args) -> Result<u64> {
    let (base, flags) = split_type(a.i32(1))?;
    let sock = sock::create(task, a.i32(0), base, a.i32(2))?;
    Ok(install(task, sock, flags)? as u64)
}

pub fn socketpair(task: &mut Task, a: Args) -> Result<u64> {
    let (base, flags) = split_type(a.i32(1)).map_err(|e| {
        if sock::unpairable(a.i32(0)) {
            Errno::EOPNOTSUPP
        } else {
            e
        }
    })?;
    let (one, two) = sock::pair(task, a.i32(0), base, a.i32(2))?;
    let fd1 = install(task, one, flags)?;
    let fd2 = match install(task, two, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.fds.remove(fd1);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_val(a.u64(3), &[fd1, fd2]) {
        let _ = task.fds.remove(fd1);
        let _ = task.fds.remove(fd2);
        return Err(e);
    }
    Ok(0)
}

pub fn bind(task: &mut Task, a: Args) -> Result<u64> {
    let raw = read_sockaddr(task, a.u64(1), a.u64(2))?;
    with_socket(task, a.fd(0), |sock, _| sock.bind(task, &raw).map(|_| 0))
}

pub fn listen(task: &mut Task, a: Args) -> Result<u64> {
    with_socket(task, a.fd(0), |sock, _| sock.listen(task, a.i32(1)).map(|_| 0))
}

pub fn connect(task: &mut Task, a: Args) -> Result<u64> {
    let raw = read_sockaddr(task, a.u64(1), a.u64(2))?;
    with_socket(task, a.fd(0), |sock, file| {
        let wait = Wait::new(nonblocking(file, 0), sock.sndtimeo());
        sock.connect(task, &raw, &wait).map(|_| 0)
    })
}

fn do_accept(task: &Task, fd: i32, addr: u64, len_addr: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let server = with_socket(task, fd, |sock, file| {
        let wait = Wait::new(nonblocking(file, 0), sock.rcvtimeo());
        sock.accept(&wait)
    })?;
    let peer = server
        .peer_name()
        .unwrap_or_else(|_| (server.family() as u16).to_le_bytes().to_vec());
    let newfd = install(task, server, flags)?;
    if let Err(e) = write_sockaddr(task, addr, len_addr, &peer) {
        let _ = task.fds.remove(newfd);
        return Err(e);
    }
    Ok(newfd as u64)
}

pub fn accept(task: &mut Task, a: Args) -> Result<u64> {
    do_accept(task, a.fd(0), a.u64(1), a.u64(2), 0)
}

pub fn accept4(task: &mut Task, a: Args) -> Result<u64> {
    do_accept(task, a.fd(0), a.u64(1), a.u64(2), a.i32(3))
}

pub fn getsockname(task: &mut Task, a: Args) -> Result<u64> {
    let name = with_socket(task, a.fd(0), |sock, _| sock.local_name())?;
    write_sockaddr(task, a.u64(1), a.u64(2), &name)?;
    Ok(0)
}

pub fn getpeername(task: &mut Task, a: Args) -> Result<u64> {
    let name = with_socket(task, a.fd(0), |sock, _| sock.peer_name())?;
    write_sockaddr(task, a.u64(1), a.u64(2), &name)?;
    Ok(0)
}

pub fn shutdown(task: &mut Task, a: Args) -> Result<u64> {
    with_socket(task, a.fd(0), |sock, _| sock.shutdown(a.i32(1)).map(|_| 0))
}

// ---- options ----

pub fn getsockopt(task: &mut Task, a: Args) -> Result<u64> {
    let (level, name, val, len_addr) = (a.i32(1), a.i32(2), a.u64(3), a.u64(4));
    let bytes = with_socket(task, a.fd(0), |sock, _| sock.get_option(level, name))?;
    let cap: i32 = task.mm.read_val(len_addr)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = bytes.len().min(cap as usize);
    task.mm.write(val, &bytes[..n])?;
    task.mm.write_val(len_addr, &(n as u32))?;
    Ok(0)
}

pub fn setsockopt(task: &mut Task, a: Args) -> Result<u64> {
    let (level, name, val, len) = (a.i32(1), a.i32(2), a.u64(3), a.u32(4) as i32);
    with_socket(task, a.fd(0), |sock, _| {
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let bytes = task.mm.read_vec(val, (len as usize).min(256))?;
        sock.set_option(level, name, &bytes).map(|_| 0)
    })
}

// ---- sending ----

/// struct msghdr fields.
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: usize,
    control: u64,
    controllen: usize,
}

fn read_msghdr(task: &Task, addr: u64) -> Result<MsgHdr> {
    let raw = task.mm.read_vec(addr, MSGHDR_LEN as usize)?;
    let word = |i: usize| u64::from_le_bytes(raw[i..i + 8].try_into().unwrap_or([0; 8]));
    Ok(MsgHdr {
        name: word(0),
        namelen: word(8) as u32,
        iov: word(16),
        iovlen: word(24) as usize,
        control: word(32),
        controllen: word(40) as usize,
    })
}

/// Parses SCM_RIGHTS and SCM_CREDENTIALS control messages (cmsg(3)).
fn read_control(task: &Task, addr: u64, len: usize) -> Result<Control> {
    let mut ctl = Control::default();
    if len == 0 {
        return Ok(ctl);
    }
    if len > 1 << 16 {
        return Err(Errno::ENOBUFS);
    }
    let raw = task.mm.read_vec(addr, len)?;
    let mut off = 0;
    while off + CMSG_HDR <= raw.len() {
        let cmsg_len = u64::from_le_bytes(raw[off..off + 8].try_into().unwrap_or([0; 8])) as usize;
        let level = i32::from_le_bytes(raw[off + 8..off + 12].try_into().unwrap_or([0; 4]));
        let ty = i32::from_le_bytes(raw[off + 12..off + 16].try_into().unwrap_or([0; 4]));
        if cmsg_len < CMSG_HDR || cmsg_len > raw.len() - off {
            return Err(Errno::EINVAL);
        }
        let data = &raw[off + CMSG_HDR..off + cmsg_len];
        if level == libc::SOL_SOCKET {
            match ty {
                SCM_RIGHTS => add_rights(task, &mut ctl, data)?,
                SCM_CREDENTIALS => ctl.creds = Some(check_creds(task, data)?),
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_len.next_multiple_of(8);
    }
    Ok(ctl)
}

fn add_rights(task: &Task, ctl: &mut Control, data: &[u8]) -> Result<()> {
    let fds: Vec<i32> = data
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if fds.is_empty() || ctl.files.len() + fds.len() > SCM_MAX_FD {
        return Err(Errno::EINVAL);
    }
    for fd in fds {
        // O_PATH descriptions may be passed too (scm_fp_copy uses fget_raw).
        ctl.files.push(file_of(task, fd)?);
    }
    Ok(())
}

/// SCM_CREDENTIALS a sender may claim (unix(7)): its own pid, and ids it
/// holds, unless privileged.
fn check_creds(task: &Task, data: &[u8]) -> Result<Ucred> {
    if data.len() != 12 {
        return Err(Errno::EINVAL);
    }
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let cred = Ucred {
        pid: word(0) as i32,
        uid: word(4),
        gid: word(8),
    };
    let c = &task.creds;
    // scm_check_creds(): another pid needs CAP_SYS_ADMIN, another uid
    // CAP_SETUID, another gid CAP_SETGID.
    use crate::syscalls::creds::{CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN};
    let pid_ok = cred.pid == task.tgid || c.capable(CAP_SYS_ADMIN);
    let uid_ok = [c.uid, c.euid, c.suid].contains(&cred.uid) || c.capable(CAP_SETUID);
    let gid_ok = [c.gid, c.egid, c.sgid].contains(&cred.gid) || c.capable(CAP_SETGID);
    if pid_ok && uid_ok && gid_ok {
        Ok(cred)
    } else {
        Err(Errno::EPERM)
    }
}

const SEND_FLAGS: i32 = libc::MSG_DONTWAIT
    | libc::MSG_NOSIGNAL
    | libc::MSG_EOR
    | libc::MSG_MORE
    | libc::MSG_CONFIRM
    | libc::MSG_DONTROUTE
    | libc::MSG_WAITALL;

/// One send on the socket open as `file`: `to` is a raw destination
/// sockaddr (sendto, msg_name).
fn send_on(task: &Task, file: &OpenFile, data: &[u8], ctl: Control, to: Option<&[u8]>, flags: i32) -> Result<usize> {
    let sock = socket_of(file)?;
    let args = SendArgs {
        to,
        ctl,
        flags,
        wait: Wait::new(nonblocking(file, flags), sock.sndtimeo()),
    };
    let result = sock.send(Some(task), data, args);
    let stream = sock.is_stream();
    result.map_err(|e| {
        if flags & libc::MSG_NOSIGNAL == 0 {
            sigpipe_for(task, stream, e)
        } else {
            e
        }
    })
}

/// Reads up to `max` bytes of the iovecs, starting `start` bytes in.
fn gather_range(task: &Task, iovs: &[(u64, usize)], start: usize, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut skip = start;
    for &(base, len) in iovs {
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = (len - skip).min(max - out.len());
        out.extend_from_slice(&task.mm.read_vec(base + skip as u64, n)?);
        skip = 0;
        if out.len() == max {
            break;
        }
    }
    Ok(out)
}

/// Sends the bytes of `iovs`. A message socket sends them as one message
/// (EMSGSIZE before reading memory when no send buffer could hold it); a
/// stream socket sends them a piece at a time, so a large write never
/// needs a copy of all of it, and returns what was sent before a failure.
fn send_iovs(
    task: &Task,
    file: &OpenFile,
    iovs: &[(u64, usize)],
    ctl: Control,
    to: Option<&[u8]>,
    flags: i32,
) -> Result<usize> {
    let sock = socket_of(file)?;
    let total = iovs.iter().map(|&(_, len)| len).sum::<usize>().min(super::file::MAX_RW);
    if !sock.is_stream() {
        if total > sock.max_message() {
            return Err(Errno::EMSGSIZE);
        }
        let data = gather_range(task, iovs, 0, total)?;
        return send_on(task, file, &data, ctl, to, flags);
    }
    let mut ctl = Some(ctl);
    let mut sent = 0;
    loop {
        let piece = match gather_range(task, iovs, sent, (total - sent).min(SEND_PIECE)) {
            Ok(p) => p,
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        };
        // Only a send that moved nothing raises SIGPIPE (unix_stream_sendmsg).
        let piece_flags = if sent > 0 { flags | libc::MSG_NOSIGNAL } else { flags };
        let n = match send_on(task, file, &piece, ctl.take().unwrap_or_default(), to, piece_flags) {
            Ok(n) => n,
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        };
        sent += n;
        if n < piece.len() || sent >= total {
            break;
        }
    }
    Ok(sent)
}

/// EPIPE raises SIGPIPE on stream sockets only (unix_stream_sendmsg; the
/// datagram path of SOCK_DGRAM and SOCK_SEQPACKET sends none).
fn sigpipe_for(task: &Task, stream: bool, e: Errno) -> Errno {
    if stream {
        sigpipe_on_epipe(task, e)
    } else {
        e
    }
}

fn optional_name(task: &Task, addr: u64, len: u32) -> Result<Option<Vec<u8>>> {
    if addr == 0 || len == 0 {
        return Ok(None);
    }
    read_sockaddr(task, addr, u64::from(len)).map(Some)
}

pub fn sendto(task: &mut Task, a: Args) -> Result<u64> {
    let (fd, buf, len, flags) = (a.fd(0), a.u64(1), a.usize(2), a.i32(3));
    let (file, _) = socket_file(task, fd)?;
    let to = optional_name(task, a.u64(4), a.u32(5))?;
    let n = send_iovs(
        task,
        &file,
        &[(buf, len)],
        Control::default(),
        to.as_deref(),
        flags & SEND_FLAGS,
    )?;
    Ok(n as u64)
}

fn do_sendmsg(task: &Task, fd: i32, msg_addr: u64, flags: i32) -> Result<usize> {
    let (file, _) = socket_file(task, fd)?;
    let msg = read_msghdr(task, msg_addr)?;
    if msg.iovlen > MMSG_MAX {
        return Err(Errno::EMSGSIZE);
    }
    let to = optional_name(task, msg.name, msg.namelen)?;
    let iovs = read_iovecs(task, msg.iov, msg.iovlen)?;
    let ctl = read_control(task, msg.control, msg.controllen)?;
    send_iovs(task, &file, &iovs, ctl, to.as_deref(), flags & SEND_FLAGS)
}

pub fn sendmsg(task: &mut Task, a: Args) -> Result<u64> {
    Ok(do_sendmsg(task, a.fd(0), a.u64(1), a.i32(2))? as u64)
}

pub fn sendmmsg(task: &mut Task, a: Args) -> Result<u64> {
    let (fd, vec, vlen, flags) = (a.fd(0), a.u64(1), a.usize(2).min(MMSG_MAX), a.i32(3));
    socket_file(task, fd)?;
    let mut done = 0;
    while done < vlen {
        let entry = vec + done as u64 * MMSGHDR_LEN;
        match do_sendmsg(task, fd, entry, flags) {
            Ok(n) => task.mm.write_val(entry + MSGHDR_LEN, &(n as u32))?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
    }
    Ok(done as u64)
}

/// write(2) and writev(2) on a socket: a send without flags (so the
/// message carries the writer's credentials); writev makes one message.
pub(super) fn writev_socket(task: &Task, file: &OpenFile, iovs: &[(u64, usize)]) -> Result<usize> {
    send_iovs(task, file, iovs, Control::default(), None, 0)
}

/// readv(2) on a socket: one receive scattered over the vectors.
pub(super) fn readv_socket(task: &Task, file: &OpenFile, iovs: &[(u64, usize)]) -> Result<usize> {
    let sock = socket_of(file)?;
    let want = iovs.iter().map(|&(_, len)| len).sum::<usize>();
    let wait = Wait::new(nonblocking(file, 0), sock.rcvtimeo());
    let got = sock.recv(want, RecvFlags::default(), &wait)?;
    scatter(task, iovs, &got.data)?;
    Ok(got.data.len())
}

// ---- receiving ----

fn scatter(task: &Task, iovs: &[(u64, usize)], data: &[u8]) -> Result<()> {
    let mut off = 0;
    for &(base, len) in iovs {
        if off >= data.len() {
            break;
        }
        let n = len.min(data.len() - off);
        task.mm.write(base, &data[off..off + n])?;
        off += n;
    }
    Ok(())
}

const RECV_FLAGS: i32 = libc::MSG_PEEK
    | libc::MSG_DONTWAIT
    | libc::MSG_WAITALL
    | libc::MSG_TRUNC
    | libc::MSG_CMSG_CLOEXEC
    | libc::MSG_WAITFORONE;

/// One receive of up to `want` bytes, with the deadline of recvmmsg.
fn recv_one(task: &Task, fd: i32, want: usize, flags: i32, deadline: Option<Instant>) -> Result<Received> {
    if flags & libc::MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & libc::MSG_ERRQUEUE != 0 {
        return Err(Errno::EAGAIN);
    }
    with_socket(task, fd, |sock, file| {
        let mut wait = Wait::new(nonblocking(file, flags), sock.rcvtimeo());
        if let Some(d) = deadline {
            wait.deadline = Some(wait.deadline.map_or(d, |w| w.min(d)));
        }
        let rf = RecvFlags {
            peek: flags & libc::MSG_PEEK != 0,
            waitall: flags & libc::MSG_WAITALL != 0,
        };
        sock.recv(want, rf, &wait)
    })
}

/// What recv returns: the bytes copied, or with MSG_TRUNC on a message
/// socket the message's real length (recv(2)).
fn recv_result(task: &Task, fd: i32, got: &Received, flags: i32) -> Result<usize> {
    let by_message = with_socket(task, fd, |sock, _| Ok(!sock.is_stream()))?;
    Ok(if by_message && flags & libc::MSG_TRUNC != 0 {
        got.full_len
    } else {
        got.data.len()
    })
}

pub fn recvfrom(task: &mut Task, a: Args) -> Result<u64> {
    let (fd, buf, len, flags) = (a.fd(0), a.u64(1), a.usize(2), a.i32(3));
    socket_file(task, fd)?;
    let flags = flags & RECV_FLAGS;
    let got = recv_one(task, fd, len.min(super::file::MAX_RW), flags, None)?;
    task.mm.write(buf, &got.data)?;
    if let (true, Some(from)) = (a.u64(4) != 0, &got.from) {
        write_sockaddr(task, a.u64(4), a.u64(5), from)?;
    } else if a.u64(4) != 0 {
        task.mm.write_val(a.u64(5), &0u32)?;
    }
    Ok(recv_result(task, fd, &got, flags)? as u64)
}

/// Builds the control messages of a receive into at most `cap` bytes:
/// credentials first, then as many fds as fit (the rest are closed).
/// Returns the bytes and whether anything was cut (MSG_CTRUNC).
fn build_control(task: &Task, got: Received, cap: usize, cloexec: bool) -> Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut truncated = false;
    if let Some(cred) = got.creds {
        truncated |= put_cmsg(&mut out, cap, SCM_CREDENTIALS, &cred.to_bytes());
    }
    if !got.files.is_empty() {
        let room = cap.saturating_sub(out.len());
        let fit = if room > CMSG_HDR { (room - CMSG_HDR) / 4 } else { 0 };
        truncated |= got.files.len() > fit;
        let mut fds = Vec::new();
        // Files that do not fit are dropped here, which closes them.
        for file in got.files.into_iter().take(fit) {
            fds.extend_from_slice(&task.fds.insert(file, cloexec)?.to_le_bytes());
        }
        if !fds.is_empty() {
            put_cmsg(&mut out, cap, SCM_RIGHTS, &fds);
        }
    }
    Ok((out, truncated))
}

/// Appends one cmsg (put_cmsg): cut to what is left of `cap`, padded to
/// CMSG_SPACE when room remains. True if it was cut.
fn put_cmsg(out: &mut Vec<u8>, cap: usize, ty: i32, data: &[u8]) -> bool {
    let room = cap.saturating_sub(out.len());
    if room < CMSG_HDR {
        return true;
    }
    let full = CMSG_HDR + data.len();
    let len = full.min(room);
    let mut cmsg = Vec::with_capacity(full);
    cmsg.extend_from_slice(&(len as u64).to_le_bytes());
    cmsg.extend_from_slice(&libc::SOL_SOCKET.to_le_bytes());
    cmsg.extend_from_slice(&ty.to_le_bytes());
    cmsg.extend_from_slice(data);
    cmsg.truncate(len);
    out.extend_from_slice(&cmsg);
    let padded = full.next_multiple_of(8).min(room);
    out.resize(out.len() + padded - len, 0);
    len < full
}

/// One recvmsg into the msghdr at `msg_addr`; returns recv's value.
fn do_recvmsg(task: &Task, fd: i32, msg_addr: u64, flags: i32, deadline: Option<Instant>) -> Result<usize> {
    socket_file(task, fd)?;
    let flags = flags & RECV_FLAGS;
    let msg = read_msghdr(task, msg_addr)?;
    if msg.iovlen > MMSG_MAX {
        return Err(Errno::EMSGSIZE);
    }
    let iovs = read_iovecs(task, msg.iov, msg.iovlen)?;
    let want = iovs.iter().map(|&(_, len)| len).sum::<usize>();
    let got = recv_one(task, fd, want, flags, deadline)?;
    scatter(task, &iovs, &got.data)?;
    let ret = recv_result(task, fd, &got, flags)?;
    let mut out_flags = if got.truncated { libc::MSG_TRUNC } else { 0 };
    let name = got.from.clone().unwrap_or_default();
    if msg.name != 0 {
        let n = name.len().min(msg.namelen as usize);
        task.mm.write(msg.name, &name[..n])?;
    }
    task.mm.write_val(msg_addr + 8, &(name.len() as u32))?;
    let cap = if msg.control == 0 { 0 } else { msg.controllen };
    let (control, ctrunc) = build_control(task, got, cap, flags & libc::MSG_CMSG_CLOEXEC != 0)?;
    if ctrunc {
        out_flags |= libc::MSG_CTRUNC;
    }
    if !control.is_empty() {
        task.mm.write(msg.control, &control)?;
    }
    task.mm.write_val(msg_addr + 40, &(control.len() as u64))?;
    task.mm.write_val(msg_addr + 48, &out_flags)?;
    Ok(ret)
}

pub fn recvmsg(task: &mut Task, a: Args) -> Result<u64> {
    Ok(do_recvmsg(task, a.fd(0), a.u64(1), a.i32(2), None)? as u64)
}

/// recvmmsg(2): up to `vlen` messages; MSG_WAITFORONE makes every receive
/// after the first non-blocking; the timeout bounds the whole call.
pub fn recvmmsg(task: &mut Task, a: Args) -> Result<u64> {
    let (fd, vec, vlen, mut flags, timeout) = (a.fd(0), a.u64(1), a.usize(2).min(MMSG_MAX), a.i32(3), a.u64(4));
    socket_file(task, fd)?;
    let deadline = if timeout == 0 {
        None
    } else {
        let ts: [i64; 2] = task.mm.read_val(timeout)?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts[0] as u64, ts[1] as u32))
    };
    let mut done = 0;
    while done < vlen {
        let entry = vec + done as u64 * MMSGHDR_LEN;
        match do_recvmsg(task, fd, entry, flags, deadline) {
            Ok(n) => task.mm.write_val(entry + MSGHDR_LEN, &(n as u32))?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
        if flags & libc::MSG_WAITFORONE != 0 {
            flags |= libc::MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(done as u64)
}
