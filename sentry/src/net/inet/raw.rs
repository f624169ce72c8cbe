//! Raw ICMP sockets (raw(7)): SOCK_RAW with IPPROTO_ICMP (IPv4) or
//! IPPROTO_ICMPV6. They see every ICMP packet reaching the host, their
//! own echo requests on loopback included, as Linux's do. IPv4: a send is
//! the ICMP message (its checksum is the sender's business), the stack
//! adds the IP header, a receive returns the whole IP packet. ICMPv6: the
//! stack computes the checksum, and receives return the ICMPv6 message
//! without the IPv6 header. IP_HDRINCL and ICMP_FILTER are not there.

use super::addr::{self, Family};
use super::datagram::SendTry;
use super::entry::{Entry, InetSocket};
use super::icmp::{checksum, fill_checksum, Icmp, IcmpShared};
use super::options::InetOptions;
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::net::{SocketInode, Wait};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::raw;
use smoltcp::wire::{IpProtocol, IpVersion};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const MAX_MESSAGE: usize = 65_535 - IPV6_HEADER;
const DEFAULT_TTL: u8 = 64;

pub struct RawEntry {
    /// Options, peer, and the next packet as the guest will see it.
    shared: IcmpShared,
    handle: SocketHandle,
    local: Option<IpAddr>,
}

impl Entry for RawEntry {
    fn table(inner: &mut StackInner) -> &mut HashMap<u64, Self> {
        &mut inner.raw
    }

    fn refresh(&mut self, inner: &mut StackInner, family: Family) {
        if !self.shared.queue.is_empty() {
            return;
        }
        let socket = inner.sockets.get_mut::<raw::Socket>(self.handle);
        if let Some((packet, from)) = socket.recv().ok().and_then(|p| guest_view(p, family)) {
            self.shared.queue.put(packet, from);
        }
    }

    fn opts(&self) -> &InetOptions {
        &self.shared.opts
    }

    fn free(self, inner: &mut StackInner, _id: u64) {
        inner.sockets.remove(self.handle);
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
            let sum = checksum(&[&out[..ihl]]);
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

pub type RawSocket = InetSocket<RawEntry>;

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
        let entry = RawEntry {
            shared: IcmpShared::default(),
            handle: inner.sockets.add(socket),
            local: None,
        };
        Ok(Self::insert(stack, &mut inner, family, inode, entry))
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
            let dest = match to.map(|t| t.ip()).or(entry.shared.peer) {
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
            let ttl = u8::try_from(entry.shared.opts.ttl).unwrap_or(DEFAULT_TTL);
            let tos = u8::try_from(entry.shared.opts.tos).unwrap_or(0);
            Ok((entry.handle, ip_packet(data, src, dest, ttl, tos)))
        })?;
        self.send_when_room(inner, wait, |inner| {
            let sent = inner.sockets.get_mut::<raw::Socket>(handle).send_slice(&packet);
            Ok(if sent.is_ok() { SendTry::Sent } else { SendTry::Full })
        })?;
        Ok(data.len())
    }
}

impl Icmp for RawEntry {
    const SOCK_TYPE: i32 = libc::SOCK_RAW;
    const MAX_MESSAGE: usize = MAX_MESSAGE;

    fn shared(&self) -> &IcmpShared {
        &self.shared
    }

    fn shared_mut(&mut self) -> &mut IcmpShared {
        &mut self.shared
    }

    fn v6only_fixed(&self) -> bool {
        false
    }

    fn local_addr(&self, family: Family) -> SocketAddr {
        SocketAddr::new(self.local.unwrap_or(family.any()), 0)
    }

    /// raw(7): bind sets the source address; the port means nothing.
    fn bind(sock: &RawSocket, want: SocketAddr) -> Result<()> {
        let ip = want.ip();
        if !ip.is_unspecified() && (addr::unmap(ip) != ip || !sock.stack.is_local(ip)) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        sock.with(|entry, _| {
            entry.local = Some(ip);
            Ok(())
        })
    }

    fn send(sock: &RawSocket, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        sock.send_message(data, to, wait)
    }
}
