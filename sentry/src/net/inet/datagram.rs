//! What the datagram sockets (UDP, ping, raw ICMP) share: one `Socket`
//! implementation over [`Datagram`], which each family implements for
//! what differs (its smoltcp sockets, its addresses, its headers), and
//! the send loop.

use super::addr::{self, Family};
use super::entry::{reported, Entry, InetSocket};
use super::options::InetOptions;
use super::stack::StackInner;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::net::socket::{family_of, Received, RecvFlags, SendArgs, Socket};
use crate::net::{SocketInode, Wait};
use crate::vfs::readiness::WakeHint;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

/// SIOCOUTQ (TIOCOUTQ) and SIOCINQ (FIONREAD).
const SIOCOUTQ: u64 = 0x5411;
const SIOCINQ: u64 = 0x541b;

/// A datagram family: its entry and the operations that differ.
pub trait Datagram: Entry {
    /// SOCK_DGRAM or SOCK_RAW.
    const SOCK_TYPE: i32;
    /// The largest message one send takes (`Socket::max_message`).
    const MAX_MESSAGE: usize;
    /// True when the family answers SIOCOUTQ (ENOTTY otherwise).
    const HAS_SEND_QUEUE: bool = false;

    /// SO_PROTOCOL of a socket of `family`.
    fn protocol(family: Family) -> i32;
    fn opts_mut(&mut self) -> &mut InetOptions;
    /// True when IPV6_V6ONLY can no longer change (ipv6(7): once bound).
    fn v6only_fixed(&self) -> bool;
    /// Applies the IP options that live in the smoltcp sockets.
    fn apply_options(&mut self, _inner: &mut StackInner) {}
    /// SO_ERROR: the pending error, taken.
    fn take_error(&mut self) -> Option<Errno> {
        None
    }
    /// connect(2)'s destination.
    fn peer(&self) -> Option<SocketAddr>;
    /// getsockname(2)'s address.
    fn local_addr(&self, family: Family) -> SocketAddr;
    /// Records shutdown(2); true when waiters must look again.
    fn shut_down(&mut self, _rd: bool, _wr: bool) -> bool {
        false
    }
    /// poll(2) readiness, before the caller's events are applied.
    fn poll_mask(&self, inner: &StackInner) -> i16;
    /// A counter that moves with every event, for edge-triggered epoll.
    fn event_count(&self, inner: &StackInner) -> u64;
    /// SIOCINQ: the length of the next datagram.
    fn next_len(&mut self, inner: &mut StackInner) -> usize;
    /// SIOCOUTQ, when `HAS_SEND_QUEUE`: bytes waiting to go out.
    fn send_queue_len(&self, _inner: &StackInner) -> usize {
        0
    }

    /// bind(2) to a parsed address.
    fn bind(sock: &InetSocket<Self>, want: SocketAddr) -> Result<()>;
    /// connect(2) to a parsed address; None dissolves the association.
    fn connect(sock: &InetSocket<Self>, to: Option<SocketAddr>) -> Result<()>;
    /// sendto(2): one datagram, to `to` or the peer.
    fn send(sock: &InetSocket<Self>, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize>;
    /// recvfrom(2): the next datagram.
    fn recv(sock: &InetSocket<Self>, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received>;
}

fn int(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

impl<E: Datagram> InetSocket<E> {
    fn parse(&self, raw: &[u8]) -> Result<SocketAddr> {
        addr::parse(raw, self.family)
    }
}

impl<E: Datagram> Socket for InetSocket<E> {
    fn family(&self) -> i32 {
        self.family.domain()
    }
    fn sock_type(&self) -> i32 {
        E::SOCK_TYPE
    }
    fn protocol(&self) -> i32 {
        E::protocol(self.family)
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, _task: &Task, raw: &[u8]) -> Result<()> {
        E::bind(self, self.parse(raw)?)
    }

    fn listen(&self, _task: &Task, _backlog: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, _task: &Task, raw: &[u8], _wait: &Wait) -> Result<()> {
        // connect(2): AF_UNSPEC dissolves the association.
        if family_of(raw) == libc::AF_UNSPEC && raw.len() >= 2 {
            return E::connect(self, None);
        }
        E::connect(self, Some(self.parse(raw)?))
    }

    fn accept(&self, _wait: &Wait) -> Result<Arc<dyn Socket>> {
        Err(Errno::EOPNOTSUPP)
    }

    fn send(&self, _task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        if args.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let to = match args.to {
            Some(raw) => Some(self.parse(raw)?),
            None => None,
        };
        E::send(self, data, to, &args.wait)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        E::recv(self, want, flags, wait)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let (connected, wake) = self.with(|entry, _| {
            let wake = entry.shut_down(rd, wr);
            Ok((entry.peer().is_some(), wake))
        })?;
        if wake {
            if let Ok(mut inner) = self.stack.lock() {
                self.stack.update(&mut inner);
            }
        }
        // inet_shutdown: an unconnected socket is shut down all the same,
        // and says ENOTCONN.
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        let local = self.with(|entry, _| Ok(entry.local_addr(self.family)))?;
        Ok(addr::to_sockaddr(local, self.family))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let peer = self.with(|entry, _| entry.peer().ok_or(Errno::ENOTCONN))?;
        Ok(addr::to_sockaddr(peer, self.family))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        self.with(|entry, _| match (level, name) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(E::SOCK_TYPE)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(self.family.domain())),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(E::protocol(self.family))),
            (libc::SOL_SOCKET, libc::SO_ERROR) => Ok(int(entry.take_error().map_or(0, |e| e.0))),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => Ok(int(0)),
            (libc::SOL_SOCKET, _) => entry.opts().sock.get(name).ok_or(Errno::ENOPROTOOPT),
            _ => entry.opts().get(level, name, self.family, false),
        })
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        self.with(|entry, inner| {
            if level == libc::SOL_SOCKET {
                return entry.opts_mut().sock.set(name, val);
            }
            let bound = entry.v6only_fixed();
            entry.opts_mut().set(level, name, val, self.family, false, bound)?;
            entry.apply_options(inner);
            Ok(())
        })
    }

    fn readiness(&self, events: i16) -> i16 {
        let mask = self.with(|entry, inner| Ok(entry.poll_mask(inner)));
        reported(mask.unwrap_or(libc::POLLERR), events)
    }

    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }

    fn event_count(&self) -> u64 {
        self.with(|entry, inner| Ok(entry.event_count(inner))).unwrap_or(0)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        let n = match u64::from(cmd) {
            SIOCINQ => self.with(|entry, inner| Ok(entry.next_len(inner)))?,
            SIOCOUTQ if E::HAS_SEND_QUEUE => self.with(|entry, inner| Ok(entry.send_queue_len(inner)))?,
            _ => return Err(Errno::ENOTTY),
        };
        mem.write(arg, &(n as i32).to_le_bytes())?;
        Ok(0)
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        self.recv_timeout()
    }

    fn sndtimeo(&self) -> Option<Duration> {
        self.send_timeout()
    }

    fn max_message(&self) -> usize {
        E::MAX_MESSAGE
    }

    fn release(&self) {
        self.release_entry();
    }
}

/// How one try to queue a datagram in a smoltcp socket went.
pub enum SendTry {
    Sent,
    /// The socket's send buffer is full: wait for room.
    Full,
}

impl<E: Entry> InetSocket<E> {
    /// Tries `try_send` until the datagram is queued, pumping the stack
    /// after each try and blocking while the send buffer is full.
    pub fn send_when_room(
        &self,
        mut inner: MutexGuard<'_, StackInner>,
        wait: &Wait,
        mut try_send: impl FnMut(&mut StackInner) -> Result<SendTry>,
    ) -> Result<()> {
        loop {
            let tried = try_send(&mut inner)?;
            self.stack.update(&mut inner);
            match tried {
                SendTry::Sent => return Ok(()),
                SendTry::Full => inner = wait.block(&self.stack.changed, inner)?,
            }
        }
    }
}
