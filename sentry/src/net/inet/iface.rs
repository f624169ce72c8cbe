//! The sandbox's network interfaces as plain data: what the stack is built
//! from, and what anything describing the network (ioctls, netlink,
//! /proc/net) reads. Only the loopback interface exists for now.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IFF_* flags of netdevice(7).
pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 0x10000;

/// An address on an interface, with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IfAddr {
    /// True when `ip` is inside this address's subnet.
    pub fn covers(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = usize::from(prefix).min(a.len() * 8);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// A route: packets to `dest` go out of interface `ifindex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dest: IfAddr,
    pub gateway: Option<IpAddr>,
    pub ifindex: u32,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub flags: u32,
    pub mtu: u32,
    pub mac: [u8; 6],
    pub addrs: Vec<IfAddr>,
}

/// The sandbox's interfaces and routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
}

/// Traffic counters of one interface (what `ip -s link` and
/// /proc/net/dev show): frames and their bytes, Ethernet header included.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

impl Counters {
    pub fn count_rx(&mut self, len: usize) {
        self.rx_packets += 1;
        self.rx_bytes += len as u64;
    }

    pub fn count_tx(&mut self, len: usize) {
        self.tx_packets += 1;
        self.tx_bytes += len as u64;
    }
}

/// The host side of a non-loopback interface: a packet socket bound to
/// the host interface the sandbox took over, which sends and receives
/// its Ethernet frames.
#[derive(Debug)]
pub struct NicFd {
    /// The interface's index in [`Network`].
    pub ifindex: u32,
    pub fd: std::os::fd::OwnedFd,
}

/// The loopback MTU Linux gives "lo".
pub const LOOPBACK_MTU: u32 = 65536;

impl Network {
    /// The network of a sandbox without external interfaces: "lo" with
    /// 127.0.0.1/8 and ::1/128.
    pub fn loopback_only() -> Network {
        let v4 = IfAddr {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix: 8,
        };
        let v6 = IfAddr {
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            prefix: 128,
        };
        Network {
            interfaces: vec![Interface {
                name: "lo".into(),
                index: 1,
                flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
                mtu: LOOPBACK_MTU,
                mac: [0; 6],
                addrs: vec![v4, v6],
            }],
            routes: vec![
                Route {
                    dest: v4,
                    gateway: None,
                    ifindex: 1,
                },
                Route {
                    dest: v6,
                    gateway: None,
                    ifindex: 1,
                },
            ],
        }
    }

    /// True when some interface owns `ip` as a local address: for
    /// loopback, any address of a loopback subnet (127.0.0.0/8 is all
    /// local on Linux); otherwise the exact address.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().any(|i| {
            i.addrs.iter().any(|a| {
                if i.flags & IFF_LOOPBACK != 0 {
                    a.covers(ip)
                } else {
                    a.addr == ip
                }
            })
        })
    }

    pub fn by_index(&self, index: u32) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.index == index)
    }

    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_owns_its_subnets() {
        let net = Network::loopback_only();
        assert!(net.is_local("127.0.0.1".parse().unwrap()));
        assert!(net.is_local("127.1.2.3".parse().unwrap()));
        assert!(net.is_local("::1".parse().unwrap()));
        assert!(!net.is_local("10.0.0.1".parse().unwrap()));
        assert!(!net.is_local("::2".parse().unwrap()));
        assert_eq!(net.by_name("lo").map(|i| i.index), Some(1));
    }
}
