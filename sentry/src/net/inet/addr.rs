//! sockaddr_in and sockaddr_in6 (ip(7), ipv6(7)) and the conversions
//! between the guest's view and the stack's: an AF_INET6 socket sees IPv4
//! peers as v4-mapped addresses (::ffff:a.b.c.d).

use crate::errno::{Errno, Result};
use crate::net::socket::family_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// sizeof(struct sockaddr_in).
pub const SOCKADDR_IN_LEN: usize = 16;
/// sizeof(struct sockaddr_in6).
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The shorter RFC 2133 sockaddr_in6 (without sin6_scope_id), which
/// Linux still accepts.
const SIN6_LEN_RFC2133: usize = 24;

/// AF_INET or AF_INET6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn from_domain(domain: i32) -> Option<Family> {
        match domain {
            libc::AF_INET => Some(Family::V4),
            libc::AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }

    pub fn domain(self) -> i32 {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }

    /// The wildcard address of the family (INADDR_ANY, in6addr_any).
    pub fn any(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// Where a packet to `ip` goes: the loopback address for a wildcard
/// (ip(7): sending or connecting to INADDR_ANY reaches the local host).
pub fn loopback_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// A v4-mapped IPv6 address as the IPv4 address it maps; others as given.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Parses the sockaddr a socket of `family` was given. For AF_INET6
/// sockets v4-mapped addresses stay mapped (the caller decides).
/// EINVAL when too short, EAFNOSUPPORT for another family (bind(2) on
/// an AF_INET socket accepts AF_UNSPEC with INADDR_ANY, as Linux does).
pub fn parse(raw: &[u8], family: Family) -> Result<SocketAddr> {
    match family {
        Family::V4 => parse_v4(raw),
        Family::V6 => parse_v6(raw),
    }
}

fn parse_v4(raw: &[u8]) -> Result<SocketAddr> {
    if raw.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    let fam = family_of(raw);
    let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
    // inet_bind_sk: AF_UNSPEC is accepted only with INADDR_ANY.
    if fam != libc::AF_INET && !(fam == libc::AF_UNSPEC && ip.is_unspecified()) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

fn parse_v6(raw: &[u8]) -> Result<SocketAddr> {
    if raw.len() < SIN6_LEN_RFC2133 {
        return Err(Errno::EINVAL);
    }
    if family_of(raw) != libc::AF_INET6 {
        return Err(Errno::EAFNOSUPPORT);
    }
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&raw[8..24]);
    Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
}

/// The sockaddr a socket of `family` reports for `addr`: IPv4 addresses
/// on AF_INET6 sockets appear v4-mapped.
pub fn to_sockaddr(addr: SocketAddr, family: Family) -> Vec<u8> {
    match family {
        Family::V4 => {
            let ip = match unmap(addr.ip()) {
                IpAddr::V4(v4) => v4,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            let mut out = vec![0u8; SOCKADDR_IN_LEN];
            out[..2].copy_from_slice(&(libc::AF_INET as u16).to_le_bytes());
            out[2..4].copy_from_slice(&addr.port().to_be_bytes());
            out[4..8].copy_from_slice(&ip.octets());
            out
        }
        Family::V6 => {
            let ip = match addr.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut out = vec![0u8; SOCKADDR_IN6_LEN];
            out[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_le_bytes());
            out[2..4].copy_from_slice(&addr.port().to_be_bytes());
            out[8..24].copy_from_slice(&ip.octets());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_round_trip_and_mapping() {
        let a: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let raw = to_sockaddr(a, Family::V4);
        assert_eq!(parse(&raw, Family::V4), Ok(a));
        let mapped = to_sockaddr(a, Family::V6);
        let back = parse(&mapped, Family::V6).unwrap();
        assert_eq!(back.ip(), "::ffff:127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(unmap(back.ip()), a.ip());
        assert_eq!(parse(&raw[..8], Family::V4), Err(Errno::EINVAL));
        assert_eq!(parse(&raw, Family::V6), Err(Errno::EINVAL));
        assert_eq!(parse(&mapped, Family::V4), Err(Errno::EAFNOSUPPORT));
    }
}
