//! What the ICMP sockets (ping and raw) share: options, the connected
//! peer and a one-datagram receive queue, and the `Datagram` operations
//! built on them. Each implements [`Icmp`] for the rest: its address,
//! bind, send, and what the guest sees of a received datagram.

use super::addr::{self, Family};
use super::datagram::Datagram;
use super::entry::{Entry, InetSocket};
use super::options::InetOptions;
use super::stack::StackInner;
use crate::errno::Result;
use crate::net::socket::{Received, RecvFlags};
use crate::net::Wait;
use std::net::{IpAddr, SocketAddr};

const IPPROTO_ICMPV6: u8 = 58;

/// An ICMP socket family: what differs between ping and raw.
pub trait Icmp: Entry {
    /// SOCK_DGRAM (ping) or SOCK_RAW.
    const SOCK_TYPE: i32;
    const MAX_MESSAGE: usize;
    fn shared(&self) -> &IcmpShared;
    fn shared_mut(&mut self) -> &mut IcmpShared;
    /// True when IPV6_V6ONLY can no longer change.
    fn v6only_fixed(&self) -> bool;
    /// getsockname(2)'s address.
    fn local_addr(&self, family: Family) -> SocketAddr;
    /// bind(2) to a parsed address.
    fn bind(sock: &InetSocket<Self>, want: SocketAddr) -> Result<()>;
    /// sendto(2): one message, to `to` or the peer.
    fn send(sock: &InetSocket<Self>, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize>;
    /// What the guest receives of `datagram` (checksums filled in).
    fn finish(_datagram: &mut Vec<u8>, _from: IpAddr) {}
}

/// What ping and raw sockets hold alike.
pub struct IcmpShared {
    pub opts: InetOptions,
    /// connect(2)'s default destination.
    pub peer: Option<IpAddr>,
    pub queue: RecvQueue,
}

impl Default for IcmpShared {
    fn default() -> IcmpShared {
        IcmpShared {
            opts: InetOptions::new(false),
            peer: None,
            queue: RecvQueue::default(),
        }
    }
}

impl<E: Icmp> Datagram for E {
    const SOCK_TYPE: i32 = <E as Icmp>::SOCK_TYPE;
    const MAX_MESSAGE: usize = <E as Icmp>::MAX_MESSAGE;

    fn protocol(family: Family) -> i32 {
        match family {
            Family::V4 => libc::IPPROTO_ICMP,
            Family::V6 => libc::IPPROTO_ICMPV6,
        }
    }

    fn opts_mut(&mut self) -> &mut InetOptions {
        &mut self.shared_mut().opts
    }

    fn v6only_fixed(&self) -> bool {
        <E as Icmp>::v6only_fixed(self)
    }

    fn peer(&self) -> Option<SocketAddr> {
        self.shared().peer.map(|ip| SocketAddr::new(ip, 0))
    }

    fn local_addr(&self, family: Family) -> SocketAddr {
        <E as Icmp>::local_addr(self, family)
    }

    fn poll_mask(&self, _inner: &StackInner) -> i16 {
        self.shared().queue.poll_mask()
    }

    fn event_count(&self, _inner: &StackInner) -> u64 {
        self.shared().queue.event_count()
    }

    fn next_len(&mut self, _inner: &mut StackInner) -> usize {
        self.shared().queue.next_len()
    }

    fn bind(sock: &InetSocket<E>, want: SocketAddr) -> Result<()> {
        <E as Icmp>::bind(sock, want)
    }

    fn connect(sock: &InetSocket<E>, to: Option<SocketAddr>) -> Result<()> {
        sock.with(|entry, _| {
            entry.shared_mut().peer = to.map(|to| to.ip());
            Ok(())
        })
    }

    fn send(sock: &InetSocket<E>, data: &[u8], to: Option<SocketAddr>, wait: &Wait) -> Result<usize> {
        <E as Icmp>::send(sock, data, to, wait)
    }

    /// The queued datagram, as `finish` makes it, cut to `want`; blocks
    /// until there is one.
    fn recv(sock: &InetSocket<E>, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        sock.wait_for(wait, |entry, _| {
            let Some((mut datagram, from)) = entry.shared_mut().queue.take(flags.peek) else {
                return Ok(None);
            };
            E::finish(&mut datagram, from);
            let n = want.min(datagram.len());
            Ok(Some(Received {
                full_len: datagram.len(),
                truncated: n < datagram.len(),
                data: datagram[..n].to_vec(),
                from: Some(addr::to_sockaddr(SocketAddr::new(from, 0), sock.family)),
                ..Received::default()
            }))
        })
    }
}

/// The next datagram of an ICMP socket, taken out of its smoltcp socket
/// ahead of the guest's read (MSG_PEEK, FIONREAD, poll), and its source.
#[derive(Default)]
pub struct RecvQueue {
    next: Option<(Vec<u8>, IpAddr)>,
    /// Datagrams read: with `next`, the epoll event counter.
    taken_total: u64,
}

impl RecvQueue {
    pub fn is_empty(&self) -> bool {
        self.next.is_none()
    }

    pub fn put(&mut self, datagram: Vec<u8>, from: IpAddr) {
        self.next = Some((datagram, from));
    }

    /// The next datagram: a copy under MSG_PEEK, else taken.
    fn take(&mut self, peek: bool) -> Option<(Vec<u8>, IpAddr)> {
        let taken = if peek { self.next.clone() } else { self.next.take() };
        if taken.is_some() {
            self.taken_total += u64::from(!peek);
        }
        taken
    }

    /// Always writable; readable with a datagram waiting.
    fn poll_mask(&self) -> i16 {
        let mut mask = libc::POLLOUT | libc::POLLWRNORM;
        if self.next.is_some() {
            mask |= libc::POLLIN | libc::POLLRDNORM;
        }
        mask
    }

    fn event_count(&self) -> u64 {
        self.taken_total * 2 + u64::from(self.next.is_some())
    }

    fn next_len(&self) -> usize {
        self.next.as_ref().map_or(0, |(m, _)| m.len())
    }
}

/// The Internet checksum (RFC 1071) of `parts`, as one byte string.
pub fn checksum(parts: &[&[u8]]) -> u16 {
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
pub fn fill_checksum(message: &mut [u8], src: IpAddr, dst: IpAddr) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn checksum_of_an_echo_request() {
        // type 8, code 0, id 1, seq 1, data "ab": sum computed by hand.
        let mut m = vec![8, 0, 0, 0, 0, 1, 0, 1, b'a', b'b'];
        fill_checksum(&mut m, IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(checksum(&[&m]), 0);
        assert_eq!(&m[2..4], &[0x96, 0x9b]);
    }
}
