//! Raw ICMP sockets (raw(7)): SOCK_RAW with IPPROTO_ICMP (IPv4) or
//! IPPROTO_ICMPV6. They see every ICMP packet reaching the host, their
//! own echo requests on loopback included, as Linux's do. IPv4: a send is
//! the ICMP message (its checksum is the sender's business), the stack
//! adds the IP header, a receive returns the whole IP packet. ICMPv6: the
//! stack computes the checksum, and receives return the ICMPv6 message
//! without the IPv6 header. IP_HDRINCL and ICMP_FILTER are not there.

use super::addr::{self, Family};
use super::options::InetOptions;
use super::ping::fill_checksum;
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::net::socket::{family_of, Received, RecvFlags, SendArgs, Socket};
use crate::net::{SocketInode, Wait};
use crate::vfs::readiness::WakeHint;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::raw;
use smoltcp::wire::{IpProtocol, IpVersion};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const MAX_MESSAGE: usize = 65_535 - IPV6_HEADER;
const SIOCINQ: u64 = 0x541b;
const DEFAULT_TTL: u8 = 64;

pub struct RawEntry {
    pub opts: InetOptions,
    handle: SocketHandle,
    local: Option<IpAddr>,
    peer: Option<IpAddr>,
    /// The next packet, as the guest will see it, and its source.
    next: Option<(Vec<u8>, IpAddr)>,
    taken_total: u64,
}

impl RawEntry {
    fn fetch(&mut self, inner: &mut StackInner, family: Family) {
        if self.next.is_some() {
            return;
        }
        let socket = inner.sockets.get_mut::<raw::Socket>(self.handle);
        if let Ok(packet) = socket.recv() {
            self.next = guest_view(packet, family);
        }
    }
}

/// What the guest receives of an IP packet, and its source address.
fn guest_view(packet: &[u8], family: Family) -> Option<(Vec<u8>, IpAddr)> {
    match family {
        Family::V4 => {
            let ihl = usize::from(*packet.first()? & 0xf) * 4;
            let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let mut out = packet.to_vec();
            if out.len() < ihl.max(IPV4_HEADER) {
                return None;
            }
            // The loopback device carries no checksums; the guest sees them.
            out[10] = 0;
            out[11] = 0;
            let sum = super::ping::checksum(&[&out[..ihl]]);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
            let src = IpAddr::V4(Ipv4Addr::from(src));
            if out.len() >= ihl + 4 {
                fill_checksum(&mut out[ihl..], src, src);
            }
            Some((out, src))
        }
        Family::V6 => {
            let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            let mut out = packet.get(IPV6_HEADER..)?.to_vec();
            let (src, dst) = (IpAddr::V6(Ipv6Addr::from(src)), IpAddr::V6(Ipv6Addr::from(dst)));
            if out.len() >= 4 {
                fill_checksum(&mut out, src, dst);
            }
            Some((out, src))
        }
    }
}

/// The IP packet carrying `message` from `src` to `dst`.
fn ip_packet(message: &[u8], src: IpAddr, dst: IpAddr, ttl: u8, tos: u8) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = vec![0u8; IPV6_HEADER];
            p[0] = 0x60 | (tos >> 4);
            p[1] = tos << 4;
            p[4..6].copy_from_slice(&(message.len() as u16).to_be_bytes());
            p[6] = 58;
            p[7] = ttl;
            p[8..24].copy_from_slice(&s.octets());
            p[24..40].copy_from_slice(&d.octets());
            let mut body = message.to_vec();
            if body.len() >= 4 {
                // ipv6(7)/raw(7): the kernel computes ICMPv6 checksums.
                fill_checksum(&mut body, src, dst);
            }
            p.extend_from_slice(&body);
            p
        }
        (s, d) => {
            let (IpAddr::V4(s), IpAddr::V4(d)) = (s, d) else {
                return Vec::new();
            };
            let mut p = vec![0u8; IPV4_HEADER];
            p[0] = 0x45;
            p[1] = tos;
            p[2..4].copy_from_slice(&((IPV4_HEADER + message.len()) as u16).to_be_bytes());
            p[8] = ttl;
            p[9] = 1;
            p[12..16].copy_from_slice(&s.octets());
            p[16..20].copy_from_slice(&d.octets());
            p.extend_from_slice(message);
            p
        }
    }
}

pub struct RawSocket {
    stack: Arc<Stack>,
    id: u64,
    family: Family,
    inode: Arc<SocketInode>,
}

impl RawSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<RawSocket>> {
        let mut inner = stack.lock()?;
        let (version, protocol) = match family {
            Family::V4 => (IpVersion::Ipv4, IpProtocol::Icmp),
            Family::V6 => (IpVersion::Ipv6, IpProtocol::Icmpv6),
        };
        let socket = raw::Socket::new(
            Some(version),
            Some(protocol),
            raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 64], vec![0; 256 << 10]),
            raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 16], vec![0; 192 << 10]),
        );
        let handle = inner.sockets.add(socket);
        let id = inner.new_id();
        inner.raw.insert(
            id,
            RawEntry {
                opts: InetOptions::new(false),
                handle,
                local: None,
                peer: None,
                next: None,
                taken_total: 0,
            },
        );
        Ok(Arc::new(RawSocket {
            stack: stack.clone(),
            id,
            family,
            inode,
        }))
    }

    fn with<T>(&self, f: impl FnOnce(&mut RawEntry, &mut StackInner) -> Result<T>) -> Result<T> {
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, f)
    }

    fn with_locked<T>(
        &self,
        inner: &mut StackInner,
        f: impl FnOnce(&mut RawEntry, &mut StackInner) -> Result<T>,
    ) -> Result<T> {
        let mut entry = inner.raw.remove(&self.id).ok_or(Errno::EBADF)?;
        entry.fetch(inner, self.family);
        let result = f(&mut entry, inner);
        inner.raw.insert(self.id, entry);
        result
    }

    fn loopback(&self) -> IpAddr {
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    fn send_message(&self, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        if data.len() > MAX_MESSAGE {
            return Err(Errno::EMSGSIZE);
        }
        let mut inner = self.stack.lock()?;
        let (handle, packet) = self.with_locked(&mut inner, |entry, _| {
            let dest = match to.map(|t| t.ip()).or(entry.peer) {
                Some(d) if d.is_unspecified() => self.loopback(),
                Some(d) => d,
                None => return Err(Errno::EDESTADDRREQ),
            };
            if addr::unmap(dest) != dest || !self.stack.is_local(dest) {
                return Err(Errno::ENETUNREACH);
            }
            let src = entry
                .local
                .filter(|l| !l.is_unspecified())
                .unwrap_or_else(|| self.loopback());
            let ttl = u8::try_from(entry.opts.ttl).unwrap_or(DEFAULT_TTL);
            let tos = u8::try_from(entry.opts.tos).unwrap_or(0);
            Ok((entry.handle, ip_packet(data, src, dest, ttl, tos)))
        })?;
        loop {
            match inner.sockets.get_mut::<raw::Socket>(handle).send_slice(&packet) {
                Ok(()) => {
                    self.stack.update(&mut inner);
                    return Ok(data.len());
                }
                Err(_) => {
                    self.stack.update(&mut inner);
                    inner = wait.block(&self.stack.changed, inner)?;
                }
            }
        }
    }

    fn recv_packet(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let mut inner = self.stack.lock()?;
        loop {
            let got = self.with_locked(&mut inner, |entry, _| {
                let taken = if flags.peek {
                    entry.next.clone()
                } else {
                    entry.next.take()
                };
                let Some((packet, from)) = taken else { return Ok(None) };
                entry.taken_total += u64::from(!flags.peek);
                let n = want.min(packet.len());
                Ok(Some(Received {
                    full_len: packet.len(),
                    truncated: n < packet.len(),
                    data: packet[..n].to_vec(),
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

impl Socket for RawSocket {
    fn family(&self) -> i32 {
        self.family.domain()
    }
    fn sock_type(&self) -> i32 {
        libc::SOCK_RAW
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

    /// raw(7): bind sets the source address; the port means nothing.
    fn bind(&self, _task: &Task, raw_addr: &[u8]) -> Result<()> {
        let ip = addr::parse(raw_addr, self.family)?.ip();
        if !ip.is_unspecified() && (addr::unmap(ip) != ip || !self.stack.is_local(ip)) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        self.with(|entry, _| {
            entry.local = Some(ip);
            Ok(())
        })
    }

    fn listen(&self, _task: &Task, _backlog: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, _task: &Task, raw_addr: &[u8], _wait: &Wait) -> Result<()> {
        let peer = if family_of(raw_addr) == libc::AF_UNSPEC && raw_addr.len() >= 2 {
            None
        } else {
            Some(addr::parse(raw_addr, self.family)?.ip())
        };
        self.with(|entry, _| {
            entry.peer = peer;
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
            Some(raw_addr) => Some(addr::parse(raw_addr, self.family)?),
            None => None,
        };
        self.send_message(data, to, &args.wait)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        self.recv_packet(want, flags, wait)
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
        let ip = local.unwrap_or(self.family.any());
        Ok(addr::to_sockaddr(SocketAddr::new(ip, 0), self.family))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let peer = self.with(|entry, _| entry.peer.ok_or(Errno::ENOTCONN))?;
        Ok(addr::to_sockaddr(SocketAddr::new(peer, 0), self.family))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        self.with(|entry, _| match (level, name) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(libc::SOCK_RAW)),
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
            entry.opts.set(level, name, val, self.family, false, false)
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
        let Some(entry) = inner.raw.remove(&self.id) else {
            return;
        };
        inner.sockets.remove(entry.handle);
        self.stack.update(&mut inner);
    }
}

impl Drop for RawSocket {
    fn drop(&mut self) {
        self.release();
    }
}
