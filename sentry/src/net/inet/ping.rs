//! ICMP echo ("ping") sockets: SOCK_DGRAM with IPPROTO_ICMP or
//! IPPROTO_ICMPV6 (icmp(7) "ping sockets"). The port of a ping socket's
//! address is its echo identifier: the socket sends echo requests with it
//! and receives the replies carrying it. The sandbox allows every group
//! (as net.ipv4.ping_group_range = "0 2147483647").

use super::addr::{self, Family};
use super::datagram::SendTry;
use super::entry::{Entry, InetSocket};
use super::icmp::{fill_checksum, Icmp, IcmpShared};
use super::options::InetOptions;
use super::ports::{Binding, Proto};
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::net::{SocketInode, Wait};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::icmp;
use smoltcp::wire::IpAddress;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

const ICMP_ECHO: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
/// The ICMP header: type, code, checksum, identifier, sequence.
const ICMP_HEADER: usize = 8;
const MAX_MESSAGE: usize = 65_507;

pub struct PingEntry {
    /// Options, peer, and the next reply taken out of the smoltcp socket.
    shared: IcmpShared,
    /// The echo identifier and the bound address.
    local: Option<SocketAddr>,
    handle: Option<SocketHandle>,
}

/// The echo request type of `family`.
fn echo_request(family: Family) -> u8 {
    match family {
        Family::V4 => ICMP_ECHO,
        Family::V6 => ICMPV6_ECHO_REQUEST,
    }
}

impl PingEntry {
    fn new() -> PingEntry {
        PingEntry {
            shared: IcmpShared::default(),
            local: None,
            handle: None,
        }
    }
}

impl Entry for PingEntry {
    fn table(inner: &mut StackInner) -> &mut HashMap<u64, Self> {
        &mut inner.ping
    }

    /// Moves the next echo reply into the queue, dropping the socket's
    /// own requests (the identifier matches them too).
    fn refresh(&mut self, inner: &mut StackInner, family: Family) {
        let Some(h) = self.handle else { return };
        let socket = inner.sockets.get_mut::<icmp::Socket>(h);
        while self.shared.queue.is_empty() {
            let Ok((message, from)) = socket.recv() else { return };
            if message.len() >= ICMP_HEADER && message[0] != echo_request(family) {
                self.shared.queue.put(message.to_vec(), IpAddr::from(from));
            }
        }
    }

    fn opts(&self) -> &InetOptions {
        &self.shared.opts
    }

    fn free(self, inner: &mut StackInner, id: u64) {
        if let Some(local) = self.local {
            inner.ports.release(Proto::Icmp, local.port(), id);
        }
        if let Some(h) = self.handle {
            inner.sockets.remove(h);
        }
    }
}

pub type PingSocket = InetSocket<PingEntry>;

impl PingSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<PingSocket>> {
        Self::create(stack, family, inode, PingEntry::new())
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
        // ping_common_sendmsg: an echo request header, code 0.
        if data.len() < ICMP_HEADER || data[0] != echo_request(self.family) || data[1] != 0 {
            return Err(Errno::EINVAL);
        }
        if data.len() > MAX_MESSAGE {
            return Err(Errno::EMSGSIZE);
        }
        let mut inner = self.stack.lock()?;
        let (dest, handle, message) = self.with_locked(&mut inner, |entry, inner| {
            let dest = match to {
                Some(to) => addr::loopback_of(to.ip()),
                None => addr::loopback_of(entry.shared.peer.ok_or(Errno::EDESTADDRREQ)?),
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
        self.send_when_room(inner, wait, |inner| {
            let socket = inner.sockets.get_mut::<icmp::Socket>(handle);
            match socket.send_slice(&message, IpAddress::from(dest)) {
                Ok(()) => Ok(SendTry::Sent),
                Err(icmp::SendError::Unaddressable) => Err(Errno::ENETUNREACH),
                Err(icmp::SendError::BufferFull) => Ok(SendTry::Full),
            }
        })?;
        Ok(data.len())
    }
}

impl Icmp for PingEntry {
    const SOCK_TYPE: i32 = libc::SOCK_DGRAM;
    const MAX_MESSAGE: usize = MAX_MESSAGE;

    fn shared(&self) -> &IcmpShared {
        &self.shared
    }

    fn shared_mut(&mut self) -> &mut IcmpShared {
        &mut self.shared
    }

    fn v6only_fixed(&self) -> bool {
        self.local.is_some()
    }

    fn local_addr(&self, family: Family) -> SocketAddr {
        self.local.unwrap_or(SocketAddr::new(family.any(), 0))
    }

    fn bind(sock: &PingSocket, want: SocketAddr) -> Result<()> {
        let ip = sock.local_ip(want.ip())?;
        sock.with(|entry, inner| sock.bind_locked(entry, inner, SocketAddr::new(ip, want.port())))
    }

    fn send(sock: &PingSocket, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        sock.send_echo(data, to, wait)
    }

    /// Replies come with their checksum filled in, as Linux delivers them.
    fn finish(message: &mut Vec<u8>, from: IpAddr) {
        fill_checksum(message, from, from);
    }
}
