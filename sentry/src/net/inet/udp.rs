//! UDP sockets (udp(7)) on the stack. A socket bound to a wildcard
//! address is one smoltcp UDP socket per local address it covers, so an
//! AF_INET socket never hears IPv6 and IPV6_V6ONLY is kept.

use super::addr::{self, Family};
use super::datagram::{Datagram, SendTry};
use super::entry::{Entry, InetSocket};
use super::options::InetOptions;
use super::ports::{Binding, Proto};
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::net::socket::{Received, RecvFlags};
use crate::net::{SocketInode, Wait};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{icmp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// udp(7): the largest IPv4 datagram payload (65535 - 20 - 8).
pub const MAX_V4_PAYLOAD: usize = 65_507;
/// The largest IPv6 payload the 64 KiB loopback MTU carries (65535 - 40 - 8).
pub const MAX_V6_PAYLOAD: usize = 65_487;
/// Receive and send buffers of each smoltcp socket.
const RX_BYTES: usize = 256 << 10;
const RX_PACKETS: usize = 512;
const TX_BYTES: usize = 192 << 10;
const TX_PACKETS: usize = 64;

pub struct UdpEntry {
    pub opts: InetOptions,
    /// The bound address (IPv4 unmapped) and port.
    local: Option<SocketAddr>,
    /// One smoltcp socket per local address the binding covers.
    handles: Vec<(IpAddr, SocketHandle)>,
    /// connect(2)'s default destination and only source.
    peer: Option<SocketAddr>,
    /// An ICMP socket hearing the errors about datagrams sent from the
    /// port (port unreachable), and the error they left for a connected
    /// socket (SO_ERROR).
    errors: Option<SocketHandle>,
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    /// Datagrams taken and sent: with what is queued, the epoll event counter.
    taken_total: u64,
    sent_total: u64,
}

fn new_socket() -> udp::Socket<'static> {
    udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; RX_PACKETS], vec![0; RX_BYTES]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; TX_PACKETS], vec![0; TX_BYTES]),
    )
}

/// An ICMP socket for the errors about datagrams from `port`.
fn error_socket(port: u16) -> Option<icmp::Socket<'static>> {
    let mut socket = icmp::Socket::new(
        icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 8], vec![0; 4096]),
        icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 1], vec![0; 64]),
    );
    let endpoint = IpListenEndpoint { addr: None, port };
    socket.bind(icmp::Endpoint::Udp(endpoint)).ok()?;
    Some(socket)
}

/// ICMP "port unreachable" (ICMPv4 type 3 code 3, ICMPv6 type 1 code 4).
fn is_port_unreachable(message: &[u8]) -> bool {
    matches!(message, [3, 3, ..] | [1, 4, ..])
}

impl UdpEntry {
    fn new() -> UdpEntry {
        UdpEntry {
            opts: InetOptions::new(false),
            local: None,
            handles: Vec::new(),
            peer: None,
            errors: None,
            error: None,
            shut_rd: false,
            shut_wr: false,
            taken_total: 0,
            sent_total: 0,
        }
    }

    /// udp(7): an ICMP error about a datagram of a connected socket is
    /// reported by its next send, receive or SO_ERROR (ECONNREFUSED for
    /// port unreachable); unconnected sockets do not hear them.
    fn take_icmp_errors(&mut self, inner: &mut StackInner) {
        let Some(h) = self.errors else { return };
        let socket = inner.sockets.get_mut::<icmp::Socket>(h);
        while let Ok((message, _)) = socket.recv() {
            if self.peer.is_some() && is_port_unreachable(message) {
                self.error = Some(Errno::ECONNREFUSED);
            }
        }
    }
}

pub type UdpSocket = InetSocket<UdpEntry>;

impl UdpSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<UdpSocket>> {
        Self::create(stack, family, inode, UdpEntry::new())
    }

    /// Address checks shared by bind, connect and sendto: v4-mapped
    /// addresses are IPv4 unless the socket is v6-only (`mapped_err`).
    fn unmapped(&self, ip: IpAddr, v6only: bool, mapped_err: Errno) -> Result<IpAddr> {
        let unmapped = addr::unmap(ip);
        if unmapped != ip && v6only {
            return Err(mapped_err);
        }
        Ok(unmapped)
    }

    /// bind(2) to a parsed address.
    pub fn bind_addr(&self, want: SocketAddr) -> Result<()> {
        let stack = self.stack.clone();
        self.with(|entry, inner| {
            if entry.local.is_some() {
                return Err(Errno::EINVAL);
            }
            let ip = self.unmapped(want.ip(), entry.opts.v6only, Errno::EINVAL)?;
            if !ip.is_unspecified() && !stack.is_local(ip) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            self.bind_locked(entry, inner, SocketAddr::new(ip, want.port()))
        })
    }

    fn bind_locked(&self, entry: &mut UdpEntry, inner: &mut StackInner, want: SocketAddr) -> Result<()> {
        let binding = Binding {
            owner: self.id,
            addr: want.ip(),
            v6only: entry.opts.v6only,
            reuseaddr: entry.opts.flag(libc::SO_REUSEADDR),
            reuseport: entry.opts.flag(libc::SO_REUSEPORT),
            listening: false,
        };
        let port = inner.ports.bind(Proto::Udp, want.port(), binding)?;
        let addrs = if want.ip().is_unspecified() {
            let v6 = self.family == Family::V6;
            self.stack.local_addrs(!(v6 && entry.opts.v6only), v6)
        } else {
            vec![want.ip()]
        };
        for a in addrs {
            let mut socket = new_socket();
            let endpoint = IpListenEndpoint {
                addr: Some(IpAddress::from(a)),
                port,
            };
            if socket.bind(endpoint).is_ok() {
                socket.set_hop_limit(u8::try_from(entry.opts.ttl).ok());
                entry.handles.push((a, inner.sockets.add(socket)));
            }
        }
        entry.local = Some(SocketAddr::new(want.ip(), port));
        entry.errors = error_socket(port).map(|s| inner.sockets.add(s));
        Ok(())
    }

    fn autobind(&self, entry: &mut UdpEntry, inner: &mut StackInner) -> Result<()> {
        if entry.local.is_none() {
            self.bind_locked(entry, inner, SocketAddr::new(self.family.any(), 0))?;
        }
        Ok(())
    }

    /// The stack's address for a destination (ENETUNREACH off this host).
    fn destination(&self, entry: &UdpEntry, to: SocketAddr) -> Result<SocketAddr> {
        let ip = addr::loopback_of(self.unmapped(to.ip(), entry.opts.v6only, Errno::ENETUNREACH)?);
        if !self.stack.reachable(ip) {
            return Err(Errno::ENETUNREACH);
        }
        Ok(SocketAddr::new(ip, to.port()))
    }

    fn connect_addr(&self, to: SocketAddr) -> Result<()> {
        self.with(|entry, inner| {
            let dest = self.destination(entry, to)?;
            self.autobind(entry, inner)?;
            entry.peer = Some(dest);
            Ok(())
        })
    }

    /// sendto(2): one datagram.
    pub fn send_to(&self, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        let mut inner = self.stack.lock()?;
        let (dest, handle) = self.with_locked(&mut inner, |entry, inner| {
            let dest = match to {
                Some(to) => self.destination(entry, to)?,
                None => entry.peer.ok_or(Errno::EDESTADDRREQ)?,
            };
            let max = if dest.is_ipv4() { MAX_V4_PAYLOAD } else { MAX_V6_PAYLOAD };
            if data.len() > max {
                return Err(Errno::EMSGSIZE);
            }
            if dest.port() == 0 {
                return Err(Errno::EINVAL);
            }
            if let Some(e) = entry.error.take() {
                return Err(e);
            }
            if entry.shut_wr {
                return Err(Errno::EPIPE);
            }
            self.autobind(entry, inner)?;
            let handle = entry
                .handles
                .iter()
                .find(|(a, _)| a.is_ipv4() == dest.is_ipv4())
                .map(|&(_, h)| h)
                .ok_or(Errno::ENETUNREACH)?;
            Ok((dest, handle))
        })?;
        let endpoint = IpEndpoint::new(IpAddress::from(dest.ip()), dest.port());
        self.send_when_room(inner, wait, |inner| {
            match inner.sockets.get_mut::<udp::Socket>(handle).send_slice(data, endpoint) {
                Ok(()) => {
                    if let Some(entry) = inner.udp.get_mut(&self.id) {
                        entry.sent_total += 1;
                    }
                    Ok(SendTry::Sent)
                }
                Err(udp::SendError::Unaddressable) => Err(Errno::ENETUNREACH),
                Err(udp::SendError::BufferFull) => Ok(SendTry::Full),
            }
        })?;
        Ok(data.len())
    }

    /// recvfrom(2): the next datagram (from the peer, when connected).
    pub fn recv_from(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        self.wait_for(wait, |entry, inner| self.recv_step(entry, inner, want, flags, wait))
    }

    /// One look at the receive queues: None when there is nothing yet.
    fn recv_step(
        &self,
        entry: &mut UdpEntry,
        inner: &mut StackInner,
        want: usize,
        flags: RecvFlags,
        wait: &Wait,
    ) -> Result<Option<Received>> {
        // A pending ICMP error comes before queued datagrams
        // (__skb_try_recv_datagram checks sock_error first).
        if let Some(e) = entry.error.take() {
            return Err(e);
        }
        for &(_, h) in &entry.handles {
            let socket = inner.sockets.get_mut::<udp::Socket>(h);
            while let Some(got) = take_datagram(socket, want, flags, entry.peer, self.family) {
                match got {
                    Some(got) => {
                        entry.taken_total += u64::from(!flags.peek);
                        return Ok(Some(got));
                    }
                    None => continue, // not from the connected peer: dropped
                }
            }
        }
        // A read after SHUT_RD ends at once, but a non-blocking one
        // still says EAGAIN (__skb_wait_for_more_packets).
        if entry.shut_rd {
            return if wait.nonblock {
                Err(Errno::EAGAIN)
            } else {
                Ok(Some(Received::default()))
            };
        }
        Ok(None)
    }
}

/// The next datagram of `socket`: None when there is none, Some(None)
/// when one was dropped for not coming from the connected `peer`.
fn take_datagram(
    socket: &mut udp::Socket<'static>,
    want: usize,
    flags: RecvFlags,
    peer: Option<SocketAddr>,
    family: Family,
) -> Option<Option<Received>> {
    let (data, meta) = socket.peek().ok()?;
    let from = SocketAddr::new(IpAddr::from(meta.endpoint.addr), meta.endpoint.port);
    if peer.is_some_and(|p| p != from) {
        let _ = socket.recv();
        return Some(None);
    }
    let n = want.min(data.len());
    let got = Received {
        data: data[..n].to_vec(),
        full_len: data.len(),
        truncated: n < data.len(),
        from: Some(addr::to_sockaddr(from, family)),
        ..Received::default()
    };
    if !flags.peek {
        let _ = socket.recv();
    }
    Some(Some(got))
}

impl Entry for UdpEntry {
    fn table(inner: &mut StackInner) -> &mut HashMap<u64, Self> {
        &mut inner.udp
    }

    fn refresh(&mut self, inner: &mut StackInner, _family: Family) {
        self.take_icmp_errors(inner);
    }

    fn opts(&self) -> &InetOptions {
        &self.opts
    }

    fn free(self, inner: &mut StackInner, id: u64) {
        if let Some(local) = self.local {
            inner.ports.release(Proto::Udp, local.port(), id);
        }
        for h in self.handles.into_iter().map(|(_, h)| h).chain(self.errors) {
            inner.sockets.remove(h);
        }
    }
}

impl Datagram for UdpEntry {
    const SOCK_TYPE: i32 = libc::SOCK_DGRAM;
    const MAX_MESSAGE: usize = MAX_V4_PAYLOAD;
    const HAS_SEND_QUEUE: bool = true;

    fn protocol(_family: Family) -> i32 {
        libc::IPPROTO_UDP
    }

    fn opts_mut(&mut self) -> &mut InetOptions {
        &mut self.opts
    }

    fn v6only_fixed(&self) -> bool {
        self.local.is_some()
    }

    /// IP_TTL and IPV6_UNICAST_HOPS live in the smoltcp sockets.
    fn apply_options(&mut self, inner: &mut StackInner) {
        let ttl = u8::try_from(self.opts.ttl).ok();
        for &(_, h) in &self.handles {
            inner.sockets.get_mut::<udp::Socket>(h).set_hop_limit(ttl);
        }
    }

    fn take_error(&mut self) -> Option<Errno> {
        self.error.take()
    }

    fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    fn local_addr(&self, family: Family) -> SocketAddr {
        let local = self.local.unwrap_or(SocketAddr::new(family.any(), 0));
        // A connected socket reports the source address its route uses.
        match self.peer {
            Some(peer) if local.ip().is_unspecified() => {
                let ip = if peer.is_ipv4() {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                };
                SocketAddr::new(ip, local.port())
            }
            _ => local,
        }
    }

    fn shut_down(&mut self, rd: bool, wr: bool) -> bool {
        self.shut_rd |= rd;
        self.shut_wr |= wr;
        true
    }

    fn poll_mask(&self, inner: &StackInner) -> i16 {
        let mut mask = if self.error.is_some() { libc::POLLERR } else { 0 };
        let readable = self
            .handles
            .iter()
            .any(|&(_, h)| inner.sockets.get::<udp::Socket>(h).can_recv());
        if readable {
            mask |= libc::POLLIN | libc::POLLRDNORM;
        }
        if self.shut_rd {
            mask |= libc::POLLIN | libc::POLLRDNORM | libc::POLLRDHUP;
        }
        if self.shut_rd && self.shut_wr {
            mask |= libc::POLLHUP;
        }
        let writable = self
            .handles
            .iter()
            .all(|&(_, h)| inner.sockets.get::<udp::Socket>(h).can_send());
        if writable {
            mask |= libc::POLLOUT | libc::POLLWRNORM;
        }
        mask
    }

    fn event_count(&self, inner: &StackInner) -> u64 {
        // Not monotonic, but it changes at every event, which is what
        // epoll compares.
        let queued: usize = self
            .handles
            .iter()
            .map(|&(_, h)| {
                let s = inner.sockets.get::<udp::Socket>(h);
                s.recv_queue() + s.send_queue()
            })
            .sum();
        let moved = self.taken_total.wrapping_mul(1 << 32) ^ self.sent_total.wrapping_mul(1 << 16);
        moved.wrapping_add(queued as u64) + u64::from(self.shut_rd)
    }

    /// The first datagram of the first of the smoltcp sockets holding one.
    fn next_len(&mut self, inner: &mut StackInner) -> usize {
        self.handles
            .iter()
            .map(|&(_, h)| {
                inner
                    .sockets
                    .get_mut::<udp::Socket>(h)
                    .peek()
                    .map_or(0, |(data, _)| data.len())
            })
            .find(|&len| len > 0)
            .unwrap_or(0)
    }

    fn send_queue_len(&self, inner: &StackInner) -> usize {
        self.handles
            .iter()
            .map(|&(_, h)| inner.sockets.get::<udp::Socket>(h).send_queue())
            .sum()
    }

    fn bind(sock: &UdpSocket, want: SocketAddr) -> Result<()> {
        sock.bind_addr(want)
    }

    fn connect(sock: &UdpSocket, to: Option<SocketAddr>) -> Result<()> {
        match to {
            Some(to) => sock.connect_addr(to),
            None => sock.with(|entry, _| {
                entry.peer = None;
                Ok(())
            }),
        }
    }

    fn send(sock: &UdpSocket, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        sock.send_to(data, to, wait)
    }

    fn recv(sock: &UdpSocket, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        sock.recv_from(want, flags, wait)
    }
}
