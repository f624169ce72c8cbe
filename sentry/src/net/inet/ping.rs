//! ICMP echo ("ping") sockets: SOCK_DGRAM with IPPROTO_ICMP or
//! IPPROTO_ICMPV6 (icmp(7) "ping sockets"). The port of a ping socket's
//! address is its echo identifier: the socket sends echo requests with it
//! and receives the replies carrying it. The sandbox allows every group
//! (as net.ipv4.ping_group_range = "0 2147483647").

use super::addr::{self, Family};
use super::options::InetOptions;
use super::ports::{Binding, Proto};
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::net::socket::{family_of, Received, RecvFlags, SendArgs, Socket};
use crate::net::{SocketInode, Wait};
use crate::vfs::readiness::WakeHint;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::icmp;
use smoltcp::wire::IpAddress;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const ICMP_ECHO: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
/// The ICMP header: type, code, checksum, identifier, sequence.
const ICMP_HEADER: usize = 8;
const MAX_MESSAGE: usize = 65_507;
const SIOCINQ: u64 = 0x541b;
const IPPROTO_ICMPV6: u8 = 58;

pub struct PingEntry {
    pub opts: InetOptions,
    /// The echo identifier and the bound address.
    local: Option<SocketAddr>,
    handle: Option<SocketHandle>,
    peer: Option<IpAddr>,
    /// The next reply, taken out of the smoltcp socket (MSG_PEEK, FIONREAD).
    next: Option<(Vec<u8>, IpAddr)>,
    taken_total: u64,
}

impl PingEntry {
    /// Moves the next echo reply into `next`, dropping the socket's own
    /// requests (the identifier matches them too).
    fn fetch(&mut self, inner: &mut StackInner, family: Family) {
        let Some(h) = self.handle else { return };
        let socket = inner.sockets.get_mut::<icmp::Socket>(h);
        while self.next.is_none() {
            let Ok((message, from)) = socket.recv() else { return };
            let request = if family == Family::V4 {
                ICMP_ECHO
            } else {
                ICMPV6_ECHO_REQUEST
            };
            if message.len() >= ICMP_HEADER && message[0] != request {
                self.next = Some((message.to_vec(), IpAddr::from(from)));
            }
        }
    }
}

/// The Internet checksum (RFC 1071) of `parts`, as one byte string.
pub(super) fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fills in the checksum of an ICMP (v4) or ICMPv6 message between `src`
/// and `dst`.
pub(super) fn fill_checksum(message: &mut [u8], src: IpAddr, dst: IpAddr) {
    message[2] = 0;
    message[3] = 0;
    let sum = match (src, dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = (message.len() as u32).to_be_bytes();
            let next = [0, 0, 0, IPPROTO_ICMPV6];
            checksum(&[&s.octets(), &d.octets(), &len, &next, message])
        }
        _ => checksum(&[message]),
    };
    message[2..4].copy_from_slice(&sum.to_be_bytes());
}

pub struct PingSocket {
    stack: Arc<Stack>,
    id: u64,
    family: Family,
    inode: Arc<SocketInode>,
}

impl PingSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<PingSocket>> {
        let mut inner = stack.lock()?;
        let id = inner.new_id();
        inner.ping.insert(
            id,
            PingEntry {
                opts: InetOptions::new(false),
                local: None,
                handle: None,
                peer: None,
                next: None,
                taken_total: 0,
            },
        );
        Ok(Arc::new(PingSocket {
            stack: stack.clone(),
            id,
            family,
            inode,
        }))
    }

    fn with<T>(&self, f: impl FnOnce(&mut PingEntry, &mut StackInner) -> Result<T>) -> Result<T> {
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, f)
    }

    fn with_locked<T>(
        &self,
        inner: &mut StackInner,
        f: impl FnOnce(&mut PingEntry, &mut StackInner) -> Result<T>,
    ) -> Result<T> {
        let mut entry = inner.ping.remove(&self.id).ok_or(Errno::EBADF)?;
        entry.fetch(inner, self.family);
        let result = f(&mut entry, inner);
        inner.ping.insert(self.id, entry);
        result
    }

    /// An address of this family on this host (EADDRNOTAVAIL otherwise;
    /// ping sockets take no v4-mapped addresses).
    fn local_ip(&self, ip: IpAddr) -> Result<IpAddr> {
        if addr::unmap(ip) != ip {
            return Err(Errno::EINVAL);
        }
        if !ip.is_unspecified() && !self.stack.is_local(ip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        Ok(ip)
    }

    fn bind_locked(&self, entry: &mut PingEntry, inner: &mut StackInner, want: SocketAddr) -> Result<()> {
        if entry.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let binding = Binding {
            owner: self.id,
            addr: want.ip(),
            v6only: self.family == Family::V6,
            reuseaddr: false,
            reuseport: false,
            listening: false,
        };
        let ident = inner.ports.bind(Proto::Icmp, want.port(), binding)?;
        let mut socket = icmp::Socket::new(
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0; 256 << 10]),
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 16], vec![0; 192 << 10]),
        );
        socket.bind(icmp::Endpoint::Ident(ident)).map_err(|_| Errno::EINVAL)?;
        entry.handle = Some(inner.sockets.add(socket));
        entry.local = Some(SocketAddr::new(want.ip(), ident));
        Ok(())
    }

    fn send_echo(&self, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        let request = if self.family == Family::V4 {
            ICMP_ECHO
        } else {
            ICMPV6_ECHO_REQUEST
        };
        // ping_common_sendmsg: an echo request header, code 0.
        if data.len() < ICMP_HEADER || data[0] != request || data[1] != 0 {
            return Err(Errno::EINVAL);
        }
        if data.len() > MAX_MESSAGE {
            return Err(Errno::EMSGSIZE);
        }
        let mut inner = self.stack.lock()?;
        let (dest, handle, message) = self.with_locked(&mut inner, |entry, inner| {
            let dest = match to {
                Some(to) => to.ip(),
                None => entry.peer.ok_or(Errno::EDESTADDRREQ)?,
            };
            let dest = match dest {
                IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                d => d,
            };
            if !self.stack.reachable(dest) {
                return Err(Errno::ENETUNREACH);
            }
            if entry.local.is_none() {
                self.bind_locked(entry, inner, SocketAddr::new(self.family.any(), 0))?;
            }
            let (Some(local), Some(handle)) = (entry.local, entry.handle) else {
                return Err(Errno::EINVAL);
            };
            let mut message = data.to_vec();
            message[4..6].copy_from_slice(&local.port().to_be_bytes());
            fill_checksum(&mut message, dest, dest);
            Ok((dest, handle, message))
        })?;
        loop {
            let socket = inner.sockets.get_mut::<icmp::Socket>(handle);
            match socket.send_slice(&message, IpAddress::from(dest)) {
                Ok(()) => {
                    self.stack.update(&mut inner);
                    return Ok(data.len());
                }
                Err(icmp::SendError::Unaddressable) => return Err(Errno::ENETUNREACH),
                Err(icmp::SendError::BufferFull) => {
                    self.stack.update(&mut inner);
                    inner = wait.block(&self.stack.changed, inner)?;
                }
            }
        }
    }

    fn recv_reply(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let mut inner = self.stack.lock()?;
        loop {
            let got = self.with_locked(&mut inner, |entry, _| {
                let taken = if flags.peek {
                    entry.next.clone()
                } else {
                    entry.next.take()
                };
                let Some((mut message, from)) = taken else {
                    return Ok(None);
                };
                entry.taken_total += u64::from(!flags.peek);
                fill_checksum(&mut message, from, from);
                let n = want.min(message.len());
                Ok(Some(Received {
                    full_len: message.len(),
                    truncated: n < message.len(),
                    data: message[..n].to_vec(),
                    from: Some(addr::to_sockaddr(SocketAddr::new(from, 0), self.family)),
                    ..Received::default()
                }))
            })?;
            if let Some(got) = got {
                return Ok(got);
            }
            inner = wait.block(&self.stack.changed, inner)?;
        }
    }
}

impl Socket for PingSocket {
    fn family(&self) -> i32 {
        self.family.domain()
    }
    fn sock_type(&self) -> i32 {
        libc::SOCK_DGRAM
    }
    fn protocol(&self) -> i32 {
        match self.family {
            Family::V4 => libc::IPPROTO_ICMP,
            Family::V6 => libc::IPPROTO_ICMPV6,
        }
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, _task: &Task, raw: &[u8]) -> Result<()> {
        let want = addr::parse(raw, self.family)?;
        let ip = self.local_ip(want.ip())?;
        self.with(|entry, inner| self.bind_locked(entry, inner, SocketAddr::new(ip, want.port())))
    }

    fn listen(&self, _task: &Task, _backlog: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, _task: &Task, raw: &[u8], _wait: &Wait) -> Result<()> {
        if family_of(raw) == libc::AF_UNSPEC && raw.len() >= 2 {
            return self.with(|entry, _| {
                entry.peer = None;
                Ok(())
            });
        }
        let to = addr::parse(raw, self.family)?;
        self.with(|entry, _| {
            entry.peer = Some(to.ip());
            Ok(())
        })
    }

    fn accept(&self, _wait: &Wait) -> Result<Arc<dyn Socket>> {
        Err(Errno::EOPNOTSUPP)
    }

    fn send(&self, _task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        if args.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let to = match args.to {
            Some(raw) => Some(addr::parse(raw, self.family)?),
            None => None,
        };
        self.send_echo(data, to, &args.wait)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        self.recv_reply(want, flags, wait)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        if !(libc::SHUT_RD..=libc::SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let connected = self.with(|entry, _| Ok(entry.peer.is_some()))?;
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        let local = self.with(|entry, _| Ok(entry.local))?;
        Ok(addr::to_sockaddr(
            local.unwrap_or(SocketAddr::new(self.family.any(), 0)),
            self.family,
        ))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let peer = self.with(|entry, _| entry.peer.ok_or(Errno::ENOTCONN))?;
        Ok(addr::to_sockaddr(SocketAddr::new(peer, 0), self.family))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        self.with(|entry, _| match (level, name) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(libc::SOCK_DGRAM)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(self.family.domain())),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(self.protocol())),
            (libc::SOL_SOCKET, libc::SO_ERROR | libc::SO_ACCEPTCONN) => Ok(int(0)),
            (libc::SOL_SOCKET, _) => entry.opts.sock.get(name).ok_or(Errno::ENOPROTOOPT),
            _ => entry.opts.get(level, name, self.family, false),
        })
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        self.with(|entry, _| {
            if level == libc::SOL_SOCKET {
                return entry.opts.sock.set(name, val);
            }
            let bound = entry.local.is_some();
            entry.opts.set(level, name, val, self.family, false, bound)
        })
    }

    fn readiness(&self, events: i16) -> i16 {
        let mask = self
            .with(|entry, _| {
                let mut mask = libc::POLLOUT | libc::POLLWRNORM;
                if entry.next.is_some() {
                    mask |= libc::POLLIN | libc::POLLRDNORM;
                }
                Ok(mask)
            })
            .unwrap_or(libc::POLLERR);
        (mask & events) | (mask & (libc::POLLERR | libc::POLLHUP))
    }

    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }

    fn event_count(&self) -> u64 {
        self.with(|entry, _| Ok(entry.taken_total * 2 + u64::from(entry.next.is_some())))
            .unwrap_or(0)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        if u64::from(cmd) != SIOCINQ {
            return Err(Errno::ENOTTY);
        }
        let n = self.with(|entry, _| Ok(entry.next.as_ref().map_or(0, |(m, _)| m.len())))?;
        mem.write(arg, &(n as i32).to_le_bytes())?;
        Ok(0)
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        self.with(|entry, _| Ok(entry.opts.sock.rcvtimeo)).ok().flatten()
    }

    fn sndtimeo(&self) -> Option<Duration> {
        self.with(|entry, _| Ok(entry.opts.sock.sndtimeo)).ok().flatten()
    }

    fn max_message(&self) -> usize {
        MAX_MESSAGE
    }

    fn release(&self) {
        let Ok(mut inner) = self.stack.lock() else { return };
        let Some(entry) = inner.ping.remove(&self.id) else {
            return;
        };
        if let Some(local) = entry.local {
            inner.ports.release(Proto::Icmp, local.port(), self.id);
        }
        if let Some(h) = entry.handle {
            inner.sockets.remove(h);
        }
        self.stack.update(&mut inner);
    }
}

impl Drop for PingSocket {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request() {
        // type 8, code 0, id 1, seq 1, data "ab": sum computed by hand.
        let mut m = vec![8, 0, 0, 0, 0, 1, 0, 1, b'a', b'b'];
        fill_checksum(&mut m, IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(checksum(&[&m]), 0);
        assert_eq!(&m[2..4], &[0x96, 0x9b]);
    }
}
