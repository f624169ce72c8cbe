//! UDP sockets (udp(7)) on the stack. A socket bound to a wildcard
//! address is one smoltcp UDP socket per local address it covers, so an
//! AF_INET socket never hears IPv6 and IPV6_V6ONLY is kept.

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
use smoltcp::socket::{icmp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// udp(7): the largest IPv4 datagram payload (65535 - 20 - 8).
pub const MAX_V4_PAYLOAD: usize = 65_507;
/// The largest IPv6 payload the 64 KiB loopback MTU carries (65535 - 40 - 8).
pub const MAX_V6_PAYLOAD: usize = 65_487;
/// Receive and send buffers of each smoltcp socket.
const RX_BYTES: usize = 256 << 10;
const RX_PACKETS: usize = 512;
const TX_BYTES: usize = 192 << 10;
const TX_PACKETS: usize = 64;
const SIOCOUTQ: u64 = 0x5411;
const SIOCINQ: u64 = 0x541b;

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

fn loopback_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

pub struct UdpSocket {
    stack: Arc<Stack>,
    id: u64,
    family: Family,
    inode: Arc<SocketInode>,
}

impl UdpSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<UdpSocket>> {
        let mut inner = stack.lock()?;
        let id = inner.new_id();
        inner.udp.insert(
            id,
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
            },
        );
        Ok(Arc::new(UdpSocket {
            stack: stack.clone(),
            id,
            family,
            inode,
        }))
    }

    fn with<T>(&self, f: impl FnOnce(&mut UdpEntry, &mut StackInner) -> Result<T>) -> Result<T> {
        let mut inner = self.stack.lock()?;
        Self::with_locked(self.id, &mut inner, f)
    }

    fn with_locked<T>(
        id: u64,
        inner: &mut StackInner,
        f: impl FnOnce(&mut UdpEntry, &mut StackInner) -> Result<T>,
    ) -> Result<T> {
        let mut entry = inner.udp.remove(&id).ok_or(Errno::EBADF)?;
        entry.take_icmp_errors(inner);
        let result = f(&mut entry, inner);
        inner.udp.insert(id, entry);
        result
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
        let ip = loopback_of(self.unmapped(to.ip(), entry.opts.v6only, Errno::ENETUNREACH)?);
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
        let id = self.id;
        let (dest, handle) = Self::with_locked(id, &mut inner, |entry, inner| {
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
        loop {
            let sent = inner.sockets.get_mut::<udp::Socket>(handle).send_slice(data, endpoint);
            match sent {
                Ok(()) => {
                    if let Some(entry) = inner.udp.get_mut(&id) {
                        entry.sent_total += 1;
                    }
                    self.stack.update(&mut inner);
                    return Ok(data.len());
                }
                Err(udp::SendError::Unaddressable) => return Err(Errno::ENETUNREACH),
                Err(udp::SendError::BufferFull) => {
                    self.stack.update(&mut inner);
                    inner = wait.block(&self.stack.changed, inner)?;
                }
            }
        }
    }

    /// recvfrom(2): the next datagram (from the peer, when connected).
    pub fn recv_from(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let mut inner = self.stack.lock()?;
        loop {
            let got = Self::with_locked(self.id, &mut inner, |entry, inner| {
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
            })?;
            if let Some(got) = got {
                return Ok(got);
            }
            inner = wait.block(&self.stack.changed, inner)?;
        }
    }

    fn local_addr(&self) -> Result<SocketAddr> {
        self.with(|entry, _| {
            let local = entry.local.unwrap_or(SocketAddr::new(self.family.any(), 0));
            // A connected socket reports the source address its route uses.
            Ok(match entry.peer {
                Some(peer) if local.ip().is_unspecified() => {
                    let ip = if peer.is_ipv4() {
                        IpAddr::V4(Ipv4Addr::LOCALHOST)
                    } else {
                        IpAddr::V6(Ipv6Addr::LOCALHOST)
                    };
                    SocketAddr::new(ip, local.port())
                }
                _ => local,
            })
        })
    }

    fn poll_mask(&self) -> i16 {
        let mask = self.with(|entry, inner| {
            let mut mask = if entry.error.is_some() { libc::POLLERR } else { 0 };
            let readable = entry
                .handles
                .iter()
                .any(|&(_, h)| inner.sockets.get::<udp::Socket>(h).can_recv());
            if readable {
                mask |= libc::POLLIN | libc::POLLRDNORM;
            }
            if entry.shut_rd {
                mask |= libc::POLLIN | libc::POLLRDNORM | libc::POLLRDHUP;
            }
            if entry.shut_rd && entry.shut_wr {
                mask |= libc::POLLHUP;
            }
            let writable = entry
                .handles
                .iter()
                .all(|&(_, h)| inner.sockets.get::<udp::Socket>(h).can_send());
            if writable {
                mask |= libc::POLLOUT | libc::POLLWRNORM;
            }
            Ok(mask)
        });
        mask.unwrap_or(libc::POLLERR)
    }

    fn queue_sizes(&self) -> Result<(usize, usize)> {
        self.with(|entry, inner| {
            let mut next = 0;
            let mut out = 0;
            for &(_, h) in &entry.handles {
                let socket = inner.sockets.get_mut::<udp::Socket>(h);
                out += socket.send_queue();
                if next == 0 {
                    next = socket.peek().map_or(0, |(data, _)| data.len());
                }
            }
            Ok((next, out))
        })
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

impl Socket for UdpSocket {
    fn family(&self) -> i32 {
        self.family.domain()
    }
    fn sock_type(&self) -> i32 {
        libc::SOCK_DGRAM
    }
    fn protocol(&self) -> i32 {
        libc::IPPROTO_UDP
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, _task: &Task, raw: &[u8]) -> Result<()> {
        self.bind_addr(addr::parse(raw, self.family)?)
    }

    fn listen(&self, _task: &Task, _backlog: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, _task: &Task, raw: &[u8], _wait: &Wait) -> Result<()> {
        // connect(2): AF_UNSPEC dissolves the association.
        if family_of(raw) == libc::AF_UNSPEC && raw.len() >= 2 {
            return self.with(|entry, _| {
                entry.peer = None;
                Ok(())
            });
        }
        self.connect_addr(addr::parse(raw, self.family)?)
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
        self.send_to(data, to, &args.wait)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        self.recv_from(want, flags, wait)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let connected = self.with(|entry, _| {
            entry.shut_rd |= rd;
            entry.shut_wr |= wr;
            Ok(entry.peer.is_some())
        })?;
        if let Ok(mut inner) = self.stack.lock() {
            self.stack.update(&mut inner);
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
        Ok(addr::to_sockaddr(self.local_addr()?, self.family))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let peer = self.with(|entry, _| entry.peer.ok_or(Errno::ENOTCONN))?;
        Ok(addr::to_sockaddr(peer, self.family))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        self.with(|entry, _| match (level, name) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(libc::SOCK_DGRAM)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(self.family.domain())),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(libc::IPPROTO_UDP)),
            (libc::SOL_SOCKET, libc::SO_ERROR) => Ok(int(entry.error.take().map_or(0, |e| e.0))),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => Ok(int(0)),
            (libc::SOL_SOCKET, _) => entry.opts.sock.get(name).ok_or(Errno::ENOPROTOOPT),
            _ => entry.opts.get(level, name, self.family, false),
        })
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        self.with(|entry, inner| {
            if level == libc::SOL_SOCKET {
                return entry.opts.sock.set(name, val);
            }
            let bound = entry.local.is_some();
            entry.opts.set(level, name, val, self.family, false, bound)?;
            let ttl = u8::try_from(entry.opts.ttl).ok();
            for &(_, h) in &entry.handles {
                inner.sockets.get_mut::<udp::Socket>(h).set_hop_limit(ttl);
            }
            Ok(())
        })
    }

    fn readiness(&self, events: i16) -> i16 {
        let mask = self.poll_mask();
        (mask & events) | (mask & (libc::POLLERR | libc::POLLHUP))
    }

    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }

    fn event_count(&self) -> u64 {
        self.with(|entry, inner| {
            // Not monotonic, but it changes at every event, which is what
            // epoll compares.
            let queued: usize = entry
                .handles
                .iter()
                .map(|&(_, h)| {
                    let s = inner.sockets.get::<udp::Socket>(h);
                    s.recv_queue() + s.send_queue()
                })
                .sum();
            let moved = entry.taken_total.wrapping_mul(1 << 32) ^ entry.sent_total.wrapping_mul(1 << 16);
            Ok(moved.wrapping_add(queued as u64) + u64::from(entry.shut_rd))
        })
        .unwrap_or(0)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        let n = match u64::from(cmd) {
            SIOCINQ => self.queue_sizes()?.0,
            SIOCOUTQ => self.queue_sizes()?.1,
            _ => return Err(Errno::ENOTTY),
        };
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
        MAX_V4_PAYLOAD
    }

    fn release(&self) {
        let Ok(mut inner) = self.stack.lock() else { return };
        let Some(entry) = inner.udp.remove(&self.id) else {
            return;
        };
        if let Some(local) = entry.local {
            inner.ports.release(Proto::Udp, local.port(), self.id);
        }
        for h in entry.handles.into_iter().map(|(_, h)| h).chain(entry.errors) {
            inner.sockets.remove(h);
        }
        self.stack.update(&mut inner);
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.release();
    }
}
