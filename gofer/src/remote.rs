//! The gofer across a socket: [`serve`] answers requests with a local
//! [`FileServer`]; [`RemoteServer`] is the Sentry's side and implements
//! [`FileServer`] by asking.

use crate::protocol::{self, Reader, Writer, MAX_FRAME};
use crate::{DirEntry, Errno, Fid, FileServer, Result, SetAttr, Stat};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

/// Space for one SCM_RIGHTS fd.
const CMSG_SPACE: usize = 24;

/// Sends one frame; `fd`, if any, rides on its first byte (SCM_RIGHTS).
fn send_frame(conn: &mut UnixStream, code: u8, payload: &[u8], fd: Option<RawFd>) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.extend_from_slice(&((payload.len() + 1) as u32).to_le_bytes());
    frame.push(code);
    frame.extend_from_slice(payload);
    let Some(fd) = fd else { return conn.write_all(&frame) };
    let mut iov = libc::iovec {
        iov_base: frame.as_mut_ptr().cast(),
        iov_len: frame.len(),
    };
    let mut cmsg = [0u8; CMSG_SPACE];
    // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE;
    // SAFETY: msg_control points at a buffer of CMSG_SPACE bytes, enough for
    // one header and one int; CMSG_FIRSTHDR/DATA stay inside it.
    let sent = unsafe {
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        (*hdr).cmsg_level = libc::SOL_SOCKET;
        (*hdr).cmsg_type = libc::SCM_RIGHTS;
        (*hdr).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(hdr).cast::<RawFd>(), fd);
        libc::sendmsg(conn.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    conn.write_all(&frame[sent as usize..])
}

/// Receives one frame: (code, payload, donated fd).
fn recv_frame(conn: &mut UnixStream) -> std::io::Result<(u8, Vec<u8>, Option<OwnedFd>)> {
    let mut header = [0u8; 4];
    let mut iov = libc::iovec {
        iov_base: header.as_mut_ptr().cast(),
        iov_len: 4,
    };
    let mut cmsg = [0u8; CMSG_SPACE];
    // SAFETY: msghdr is plain data; the pointers set below outlive recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE;
    // SAFETY: receiving into our own buffers; MSG_CMSG_CLOEXEC marks a donated fd.
    let got = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_WAITALL | libc::MSG_CMSG_CLOEXEC) };
    if got < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if got == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut fd = None;
    // SAFETY: the kernel filled msg_control; CMSG_FIRSTHDR returns null when
    // there is no header, and SCM_RIGHTS data is an int fd we now own.
    unsafe {
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        if !hdr.is_null() && (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(hdr).cast::<RawFd>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
    }
    if (got as usize) < 4 {
        conn.read_exact(&mut header[got as usize..])?;
    }
    let len = u32::from_le_bytes(header) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad frame length"));
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)?;
    Ok((body[0], body[1..].to_vec(), fd))
}

/// Answers requests on `conn` with `server` until the other side closes.
pub fn serve(mut conn: UnixStream, server: &dyn FileServer) -> std::io::Result<()> {
    loop {
        let (code, payload, _) = match recv_frame(&mut conn) {
            Ok(frame) => frame,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        // A clunk is one-way: the client does not wait for it.
        if code == protocol::CLUNK {
            if let Ok(fid) = Reader(&payload).fid() {
                server.clunk(fid);
            }
            continue;
        }
        let (reply, fd) = match answer(server, code, &payload) {
            Ok((w, fd)) => ((0u8, w.0), fd),
            Err(Errno(e)) => ((e.clamp(1, 255) as u8, Vec::new()), None),
        };
        send_frame(&mut conn, reply.0, &reply.1, fd.as_ref().map(|f| f.as_raw_fd()))?;
    }
}

fn answer(server: &dyn FileServer, code: u8, payload: &[u8]) -> Result<(Writer, Option<OwnedFd>)> {
    let mut r = Reader(payload);
    let mut w = Writer::default();
    match code {
        protocol::WALK => {
            let (fid, stat) = server.walk(r.fid()?, &r.bytes()?)?;
            w.u64(fid.0).stat(&stat);
        }
        protocol::STAT => {
            w.stat(&server.stat(r.fid()?)?);
        }
        protocol::OPEN => {
            let fid = r.fid()?;
            let fd = server.open(fid, r.u32()? as i32)?;
            return Ok((w, Some(fd)));
        }
        protocol::READDIR => protocol::write_dirents(&mut w, &server.readdir(r.fid()?)?),
        protocol::READLINK => {
            w.bytes(&server.readlink(r.fid()?)?);
        }
        protocol::READ_ONLY => {
            w.u8(server.read_only() as u8);
        }
        protocol::CREATE => {
            let (dir, name) = (r.fid()?, r.bytes()?);
            let (mode, uid, gid) = (r.u32()?, r.u32()?, r.u32()?);
            let (fid, stat) = server.create(dir, &name, mode, uid, gid)?;
            w.u64(fid.0).stat(&stat);
        }
        protocol::MKDIR => {
            let (dir, name) = (r.fid()?, r.bytes()?);
            server.mkdir(dir, &name, r.u32()?, r.u32()?, r.u32()?)?;
        }
        protocol::SYMLINK => {
            let (dir, name, target) = (r.fid()?, r.bytes()?, r.bytes()?);
            server.symlink(dir, &name, &target, r.u32()?, r.u32()?)?;
        }
        protocol::MKNOD => {
            let (dir, name) = (r.fid()?, r.bytes()?);
            server.mknod(dir, &name, r.u32()?, r.u32()?, r.u32()?)?;
        }
        protocol::LINK => {
            let (target, dir, name) = (r.fid()?, r.fid()?, r.bytes()?);
            server.link(target, dir, &name)?;
        }
        protocol::UNLINK => {
            let (dir, name) = (r.fid()?, r.bytes()?);
            server.unlink(dir, &name, r.u8()? != 0)?;
        }
        protocol::RENAME => {
            let (dir, name, new_dir, new_name) = (r.fid()?, r.bytes()?, r.fid()?, r.bytes()?);
            server.rename(dir, &name, new_dir, &new_name)?;
        }
        protocol::EXCHANGE => {
            let (dir, name, new_dir, new_name) = (r.fid()?, r.bytes()?, r.fid()?, r.bytes()?);
            server.exchange(dir, &name, new_dir, &new_name)?;
        }
        protocol::SETATTR => {
            let fid = r.fid()?;
            server.setattr(fid, &r.setattr()?)?;
        }
        _ => return Err(Errno(libc::ENOSYS)),
    }
    Ok((w, None))
}

/// The Sentry's end: a [`FileServer`] in another process.
pub struct RemoteServer {
    conn: Mutex<UnixStream>,
    read_only: bool,
}

impl RemoteServer {
    pub fn new(conn: UnixStream) -> Result<RemoteServer> {
        let server = RemoteServer {
            conn: Mutex::new(conn),
            read_only: true,
        };
        let (reply, _) = server.call(protocol::READ_ONLY, &[])?;
        let read_only = Reader(&reply).u8()? != 0;
        Ok(RemoteServer { read_only, ..server })
    }

    fn call(&self, code: u8, payload: &[u8]) -> Result<(Vec<u8>, Option<OwnedFd>)> {
        let mut conn = self.conn.lock().map_err(|_| Errno(libc::EIO))?;
        send_frame(&mut conn, code, payload, None).map_err(|_| Errno(libc::EIO))?;
        let (status, reply, fd) = recv_frame(&mut conn).map_err(|_| Errno(libc::EIO))?;
        if status != 0 {
            return Err(Errno(status as i32));
        }
        Ok((reply, fd))
    }
}

impl FileServer for RemoteServer {
    fn walk(&self, dir: Fid, name: &[u8]) -> Result<(Fid, Stat)> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name);
        let (reply, _) = self.call(protocol::WALK, &w.0)?;
        let mut r = Reader(&reply);
        Ok((r.fid()?, r.stat()?))
    }
    fn stat(&self, fid: Fid) -> Result<Stat> {
        let (reply, _) = self.call(protocol::STAT, &fid.0.to_le_bytes())?;
        Reader(&reply).stat()
    }
    fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd> {
        let mut w = Writer::default();
        w.u64(fid.0).u32(flags as u32);
        let (_, fd) = self.call(protocol::OPEN, &w.0)?;
        fd.ok_or(Errno(libc::EPROTO))
    }
    fn readdir(&self, fid: Fid) -> Result<Vec<DirEntry>> {
        let (reply, _) = self.call(protocol::READDIR, &fid.0.to_le_bytes())?;
        Reader(&reply).dirents()
    }
    fn readlink(&self, fid: Fid) -> Result<Vec<u8>> {
        let (reply, _) = self.call(protocol::READLINK, &fid.0.to_le_bytes())?;
        Reader(&reply).bytes()
    }
    /// One-way: no reply comes, so dropping an inode costs no round trip
    /// (requests stay in order on the connection).
    fn clunk(&self, fid: Fid) {
        if let Ok(mut conn) = self.conn.lock() {
            let _ = send_frame(&mut conn, protocol::CLUNK, &fid.0.to_le_bytes(), None);
        }
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn create(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<(Fid, Stat)> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u32(mode).u32(uid).u32(gid);
        let (reply, _) = self.call(protocol::CREATE, &w.0)?;
        let mut r = Reader(&reply);
        Ok((r.fid()?, r.stat()?))
    }
    fn mkdir(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u32(mode).u32(uid).u32(gid);
        self.call(protocol::MKDIR, &w.0).map(|_| ())
    }
    fn symlink(&self, dir: Fid, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).bytes(target).u32(uid).u32(gid);
        self.call(protocol::SYMLINK, &w.0).map(|_| ())
    }
    fn mknod(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u32(mode).u32(uid).u32(gid);
        self.call(protocol::MKNOD, &w.0).map(|_| ())
    }
    fn link(&self, target: Fid, dir: Fid, name: &[u8]) -> Result<()> {
        let mut w = Writer::default();
        w.u64(target.0).u64(dir.0).bytes(name);
        self.call(protocol::LINK, &w.0).map(|_| ())
    }
    fn unlink(&self, dir: Fid, name: &[u8], is_dir: bool) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u8(u8::from(is_dir));
        self.call(protocol::UNLINK, &w.0).map(|_| ())
    }
    fn rename(&self, dir: Fid, name: &[u8], new_dir: Fid, new_name: &[u8]) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u64(new_dir.0).bytes(new_name);
        self.call(protocol::RENAME, &w.0).map(|_| ())
    }
    fn exchange(&self, dir: Fid, name: &[u8], new_dir: Fid, new_name: &[u8]) -> Result<()> {
        let mut w = Writer::default();
        w.u64(dir.0).bytes(name).u64(new_dir.0).bytes(new_name);
        self.call(protocol::EXCHANGE, &w.0).map(|_| ())
    }
    fn setattr(&self, fid: Fid, attr: &SetAttr) -> Result<()> {
        let mut w = Writer::default();
        w.u64(fid.0);
        protocol::write_setattr(&mut w, attr);
        self.call(protocol::SETATTR, &w.0).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalServer, ROOT_FID};

    #[test]
    fn remote_server_walks_reads_and_confines_over_a_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), b"hello").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("escape")).expect("symlink");
        let local = LocalServer::new(dir.path(), true).expect("server");
        let (a, b) = UnixStream::pair().expect("socketpair");
        let gofer = std::thread::spawn(move || serve(b, &local));
        let remote = RemoteServer::new(a).expect("remote");
        assert!(remote.read_only());
        let (fid, stat) = remote.walk(ROOT_FID, b"f").expect("walk");
        assert_eq!(stat.size, 5);
        let mut text = String::new();
        std::fs::File::from(remote.open(fid, libc::O_RDONLY).expect("open"))
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(text, "hello");
        assert_eq!(remote.open(fid, libc::O_WRONLY).err(), Some(Errno(libc::EROFS)));
        let (link, _) = remote.walk(ROOT_FID, b"escape").expect("walk symlink");
        assert_eq!(remote.open(link, libc::O_RDONLY).err(), Some(Errno(libc::ELOOP)));
        assert_eq!(remote.readlink(link), Ok(b"/etc/passwd".to_vec()));
        assert_eq!(remote.walk(ROOT_FID, b"..").err(), Some(Errno(libc::EINVAL)));
        let names: Vec<Vec<u8>> = remote
            .readdir(ROOT_FID)
            .expect("readdir")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(names.contains(&b"f".to_vec()) && names.contains(&b"escape".to_vec()));
        drop(remote);
        assert!(gofer.join().expect("gofer thread").is_ok(), "serve ends cleanly at EOF");
    }

    #[test]
    fn remote_changes_stay_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).expect("symlink");
        let local = LocalServer::new(dir.path(), false).expect("server");
        let (a, b) = UnixStream::pair().expect("socketpair");
        std::thread::spawn(move || serve(b, &local));
        let remote = RemoteServer::new(a).expect("remote");
        let (fid, _) = remote.create(ROOT_FID, b"new", 0o640, 0, 0).expect("create");
        assert_eq!(
            remote.create(ROOT_FID, b"new", 0o640, 0, 0).err(),
            Some(Errno(libc::EEXIST))
        );
        remote
            .setattr(
                fid,
                &SetAttr {
                    mode: Some(0o600),
                    size: Some(3),
                    ..SetAttr::default()
                },
            )
            .expect("setattr");
        let meta = std::fs::metadata(dir.path().join("new")).expect("created on the host");
        assert_eq!(
            (
                meta.len(),
                std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777
            ),
            (3, 0o600)
        );
        remote.mkdir(ROOT_FID, b"d", 0o755, 0, 0).expect("mkdir");
        remote.rename(ROOT_FID, b"new", ROOT_FID, b"renamed").expect("rename");
        remote.exchange(ROOT_FID, b"renamed", ROOT_FID, b"d").expect("exchange");
        assert!(dir.path().join("renamed").is_dir() && dir.path().join("d").is_file());
        assert_eq!(
            remote.exchange(ROOT_FID, b"d", ROOT_FID, b"none").err(),
            Some(Errno(libc::ENOENT))
        );
        remote
            .exchange(ROOT_FID, b"renamed", ROOT_FID, b"d")
            .expect("exchange back");
        remote.symlink(ROOT_FID, b"l", b"/etc/passwd", 0, 0).expect("symlink");
        remote.unlink(ROOT_FID, b"d", true).expect("rmdir");
        // A symlink out of the root is an entry, never a way out.
        assert_eq!(
            remote.create(ROOT_FID, b"out/x", 0o644, 0, 0).err(),
            Some(Errno(libc::EINVAL))
        );
        let (link, _) = remote.walk(ROOT_FID, b"out").expect("walk the link");
        assert_eq!(
            remote
                .setattr(
                    link,
                    &SetAttr {
                        mode: Some(0o777),
                        ..SetAttr::default()
                    }
                )
                .err(),
            Some(Errno(libc::EOPNOTSUPP))
        );
        assert!(
            std::fs::read_dir(outside.path()).expect("outside").next().is_none(),
            "nothing written outside"
        );
        assert!(dir.path().join("renamed").exists() && dir.path().join("l").symlink_metadata().is_ok());
    }
}
