//! What the socket syscalls need from a socket of any family, and the
//! one place that maps socket(2)'s domain to a family.
//!
//! The syscall layer (`crate::syscalls::socket`) moves raw sockaddrs,
//! iovecs and control messages between the guest and a `dyn Socket`; each
//! family parses its own addresses. To add a family, implement [`Socket`]
//! for it and add an arm to [`create`] (and to [`pair`] if it pairs).

use super::unix::{Control, Kind, UnixSocket};
use super::{SocketInode, Ucred, Wait};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::vfs::readiness::WakeHint;
use crate::vfs::{FileOps, OpenFile};
use std::sync::Arc;
use std::time::Duration;

/// What one receive returns.
#[derive(Default)]
pub struct Received {
    pub data: Vec<u8>,
    /// The message's full length (datagrams; MSG_TRUNC returns it).
    pub full_len: usize,
    pub truncated: bool,
    /// The sender's sockaddr, when the family reports one.
    pub from: Option<Vec<u8>>,
    pub creds: Option<Ucred>,
    pub files: Vec<Arc<OpenFile>>,
}

/// recv(2) flags the socket itself looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecvFlags {
    pub peek: bool,
    pub waitall: bool,
}

/// One send: the destination name (sendto, msg_name), ancillary data and
/// the send(2) flags.
pub struct SendArgs<'a> {
    pub to: Option<&'a [u8]>,
    pub ctl: Control,
    pub flags: i32,
    pub wait: Wait,
}

/// A socket of some family, as an open file holds it.
pub trait Socket: Send + Sync {
    /// AF_UNIX, AF_INET, ...
    fn family(&self) -> i32;
    /// SOCK_STREAM, SOCK_DGRAM, ... (without flags).
    fn sock_type(&self) -> i32;
    /// SO_PROTOCOL.
    fn protocol(&self) -> i32;
    fn inode(&self) -> &Arc<SocketInode>;

    /// bind(2) to the raw sockaddr `addr`.
    fn bind(&self, task: &Task, addr: &[u8]) -> Result<()>;
    fn listen(&self, task: &Task, backlog: i32) -> Result<()>;
    fn connect(&self, task: &Task, addr: &[u8], wait: &Wait) -> Result<()>;
    /// accept(2): the new connection's socket.
    fn accept(&self, wait: &Wait) -> Result<Arc<dyn Socket>>;
    /// send(2) and friends; `task` is None for write(2) paths that reach
    /// the socket through `FileOps` without the caller.
    fn send(&self, task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize>;
    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received>;
    fn shutdown(&self, how: i32) -> Result<()>;
    /// getsockname(2): the sockaddr bytes.
    fn local_name(&self) -> Result<Vec<u8>>;
    /// getpeername(2): the sockaddr bytes (ENOTCONN without a peer).
    fn peer_name(&self) -> Result<Vec<u8>>;
    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>>;
    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()>;
    /// poll(2) readiness, as `FileOps::poll`.
    fn readiness(&self, events: i16) -> i16;
    /// How waiters learn that `readiness` changed.
    fn wake_hint(&self) -> WakeHint {
        WakeHint::Poll
    }
    /// A counter that moves with every event (data in, room freed,
    /// hang-up, connection queued), for edge-triggered epoll; 0 when the
    /// family has none.
    fn event_count(&self) -> u64 {
        0
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64>;
    fn rcvtimeo(&self) -> Option<Duration>;
    fn sndtimeo(&self) -> Option<Duration>;
    /// The largest message one send may carry before any memory is read
    /// (EMSGSIZE); streams are sent a piece at a time instead.
    fn max_message(&self) -> usize;
    /// close(2) of the last open file description.
    fn release(&self);

    fn is_stream(&self) -> bool {
        self.sock_type() == libc::SOCK_STREAM
    }
}

/// socket(2): a new socket of `domain`, base type `ty` (flags removed)
/// and `protocol`. This match is where families plug in.
pub fn create(task: &Task, domain: i32, ty: i32, protocol: i32) -> Result<Arc<dyn Socket>> {
    let inode = SocketInode::new(task.creds.fsuid, task.creds.fsgid);
    match domain {
        libc::AF_UNIX => {
            let kind = unix_kind(ty, protocol)?;
            Ok(UnixSocket::new(kind, task.kernel.unix_names.clone(), inode))
        }
        libc::AF_INET | libc::AF_INET6 if task.kernel.host_network => {
            super::hostinet::create(domain, ty, protocol, inode)
        }
        libc::AF_INET | libc::AF_INET6 => super::inet::create(domain, ty, protocol, inode),
        libc::AF_NETLINK => super::netlink::create(task, ty, protocol, inode),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Families Linux creates sockets of but cannot pair (socketpair(2) EOPNOTSUPP).
const UNPAIRABLE_FAMILIES: [i32; 4] = [libc::AF_INET, libc::AF_INET6, libc::AF_NETLINK, libc::AF_PACKET];

/// True for families socketpair(2) refuses with EOPNOTSUPP.
pub fn unpairable(domain: i32) -> bool {
    UNPAIRABLE_FAMILIES.contains(&domain)
}

/// socketpair(2): two connected sockets of `domain`.
pub fn pair(task: &Task, domain: i32, ty: i32, protocol: i32) -> Result<(Arc<dyn Socket>, Arc<dyn Socket>)> {
    if unpairable(domain) {
        return Err(Errno::EOPNOTSUPP);
    }
    match domain {
        libc::AF_UNIX => {
            let kind = unix_kind(ty, protocol)?;
            let cred = Ucred {
                pid: task.tgid,
                uid: task.creds.fsuid,
                gid: task.creds.fsgid,
            };
            let (a, b) = UnixSocket::pair(kind, &task.kernel.unix_names, cred);
            Ok((a as Arc<dyn Socket>, b as Arc<dyn Socket>))
        }
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

fn unix_kind(ty: i32, protocol: i32) -> Result<Kind> {
    if protocol != 0 && protocol != libc::PF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    // unix(7): SOCK_RAW is taken as SOCK_DGRAM.
    let ty = if ty == libc::SOCK_RAW { libc::SOCK_DGRAM } else { ty };
    Kind::from_type(ty).ok_or(Errno::ESOCKTNOSUPPORT)
}

/// An open socket: what an fd holds. Dropping the last description
/// releases the socket even while a blocked call still holds it.
pub struct SocketFile(pub Arc<dyn Socket>);

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The file operations of an open socket: read and write are recv and
/// send without flags.
impl FileOps for SocketFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        let wait = Wait::new(flags & libc::O_NONBLOCK != 0, self.0.rcvtimeo());
        let got = self.0.recv(buf.len(), RecvFlags::default(), &wait)?;
        let n = got.data.len().min(buf.len());
        buf[..n].copy_from_slice(&got.data[..n]);
        Ok(n)
    }
    fn write_with_flags(&self, buf: &[u8], _offset: u64, flags: i32) -> Result<usize> {
        let args = SendArgs {
            to: None,
            ctl: Control::default(),
            flags: 0,
            wait: Wait::new(flags & libc::O_NONBLOCK != 0, self.0.sndtimeo()),
        };
        self.0.send(None, buf, args)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        self.0.readiness(events)
    }
    fn wake_hint(&self) -> WakeHint {
        self.0.wake_hint()
    }
    fn event_count(&self, _events: i16) -> u64 {
        self.0.event_count()
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        self.0.ioctl(cmd, arg, mem)
    }
    fn socket(&self) -> Option<Arc<dyn Socket>> {
        Some(self.0.clone())
    }
}

/// sa_family of a raw sockaddr (-1 when too short to hold one).
pub fn family_of(raw: &[u8]) -> i32 {
    match raw {
        [a, b, ..] => i32::from(u16::from_le_bytes([*a, *b])),
        _ => -1,
    }
}
