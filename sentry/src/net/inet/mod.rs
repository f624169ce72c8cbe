//! The Internet families (ip(7), ipv6(7)): TCP and UDP served by a
//! userspace TCP/IP stack (smoltcp) inside the Sentry, over a loopback
//! device. Nothing here reaches the host network. See docs/networking.md.
//!
//! - `iface`: the interfaces, addresses and routes, as plain data;
//! - `addr`: sockaddr_in/sockaddr_in6 and v4-mapped addresses;
//! - `ports`: bound ports and the bind(2) conflict rules;
//! - `device`: the loopback device;
//! - `ndp`: IPv6 neighbour solicitations and advertisements for `nic`;
//! - `nic`: Ethernet, ARP and NDP over the packet sockets of taken-over
//!   interfaces (`--network=sandbox`);
//! - `stack`: the interface, every socket's state, polling and timers;
//! - `backlog`: the listen backlog;
//! - `options`: IP, IPv6 and TCP socket options;
//! - `entry`: a socket as a handle on its entry in the stack's tables;
//! - `datagram`: what the datagram sockets share;
//! - `icmp`: what ping and raw sockets share, and ICMP checksums;
//! - `tcp`, `udp`, `ping`, `raw`: the sockets (ping: ICMP echo
//!   datagrams; raw: SOCK_RAW ICMP).

pub mod addr;
pub mod backlog;
pub mod datagram;
pub mod device;
pub mod entry;
pub mod icmp;
pub mod iface;
pub mod ndp;
pub mod nic;
pub mod options;
pub mod ping;
pub mod ports;
pub mod raw;
pub mod stack;
pub mod tcp;
pub mod udp;

use crate::errno::{Errno, Result};
use crate::net::socket::Socket;
use crate::net::SocketInode;
use addr::Family;
use stack::Stack;
use std::sync::Arc;

/// socket(2) for AF_INET and AF_INET6 (inet_create's protocol rules:
/// ESOCKTNOSUPPORT for a type the family lacks, EPROTONOSUPPORT for a
/// protocol its type lacks).
pub fn create(domain: i32, ty: i32, protocol: i32, inode: Arc<SocketInode>) -> Result<Arc<dyn Socket>> {
    let family = Family::from_domain(domain).ok_or(Errno::EAFNOSUPPORT)?;
    let stack = Stack::global()?;
    match (ty, protocol) {
        (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => Ok(tcp::TcpSocket::new(stack, family, inode)?),
        (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => Ok(udp::UdpSocket::new(stack, family, inode)?),
        (libc::SOCK_DGRAM, libc::IPPROTO_ICMP) if family == Family::V4 => {
            Ok(ping::PingSocket::new(stack, family, inode)?)
        }
        (libc::SOCK_DGRAM, libc::IPPROTO_ICMPV6) if family == Family::V6 => {
            Ok(ping::PingSocket::new(stack, family, inode)?)
        }
        (libc::SOCK_RAW, libc::IPPROTO_ICMP) if family == Family::V4 => Ok(raw::RawSocket::new(stack, family, inode)?),
        (libc::SOCK_RAW, libc::IPPROTO_ICMPV6) if family == Family::V6 => {
            Ok(raw::RawSocket::new(stack, family, inode)?)
        }
        // Raw sockets of other protocols are not there yet.
        (libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_RAW, _) => Err(Errno::EPROTONOSUPPORT),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}
