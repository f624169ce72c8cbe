//! The routing tables as rtnetlink and /proc/net show them, derived from
//! the interface data: the main table holds the network's routes; the
//! local table holds one local route per address (and, for loopback
//! IPv4, the whole subnet), as Linux adds when an address is configured.

use crate::net::inet::iface::{IfAddr, Interface, Network, IFF_LOOPBACK};
use std::net::IpAddr;

/// Route table ids (rtnetlink(7) rtm_table).
pub const RT_TABLE_MAIN: u8 = 254;
pub const RT_TABLE_LOCAL: u8 = 255;
/// Route types (rtm_type).
pub const RTN_UNICAST: u8 = 1;
pub const RTN_LOCAL: u8 = 2;
/// Scopes (rtm_scope, ifa_scope).
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
/// Who made a route (rtm_protocol).
pub const RTPROT_KERNEL: u8 = 2;
pub const RTPROT_BOOT: u8 = 3;
/// The metric the kernel gives its IPv6 routes, and an IPv6 route added
/// without one.
const IP6_RT_PRIO_KERN: u32 = 256;
const IP6_RT_PRIO_USER: u32 = 1024;

/// One route as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub dest: IfAddr,
    pub gateway: Option<IpAddr>,
    pub oif: u32,
    pub table: u8,
    pub rtype: u8,
    pub scope: u8,
    pub protocol: u8,
    pub prefsrc: Option<IpAddr>,
    /// RTA_PRIORITY (IPv6 routes carry one).
    pub priority: Option<u32>,
}

impl RouteEntry {
    pub fn is_v4(&self) -> bool {
        self.dest.addr.is_ipv4()
    }
}

/// The scope of an address (ifa_scope): host for loopback, link for
/// IPv6 link-local, universe otherwise.
pub fn addr_scope(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(a) if a.is_loopback() => RT_SCOPE_HOST,
        IpAddr::V6(a) if a.is_loopback() => RT_SCOPE_HOST,
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => RT_SCOPE_LINK,
        _ => RT_SCOPE_UNIVERSE,
    }
}

/// The network address of `a` (host bits cleared).
pub fn network_of(a: IfAddr) -> IpAddr {
    match a.addr {
        IpAddr::V4(v4) => {
            let mask = prefix_mask_v4(a.prefix);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u32::from(a.prefix.min(128));
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// The IPv4 netmask of a prefix length, as a host-order integer.
pub fn prefix_mask_v4(prefix: u8) -> u32 {
    let bits = u32::from(prefix.min(32));
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

/// The address of `iface` a route out of it takes as its source: the
/// first one of the same family inside `dest`, else the first of the
/// family.
pub fn source_for(iface: &Interface, dest: IpAddr) -> Option<IpAddr> {
    let same_family = |a: &&IfAddr| a.addr.is_ipv4() == dest.is_ipv4();
    iface
        .addrs
        .iter()
        .filter(same_family)
        .find(|a| a.covers(dest))
        .or_else(|| iface.addrs.iter().find(same_family))
        .map(|a| a.addr)
}

fn is_loopback(net: &Network, index: u32) -> bool {
    net.by_index(index).is_some_and(|i| i.flags & IFF_LOOPBACK != 0)
}

/// The main table: the network's routes, but a loopback interface's
/// IPv4 subnet, which Linux keeps in the local table.
fn main_table(net: &Network) -> Vec<RouteEntry> {
    net.routes
        .iter()
        .filter(|r| !(r.dest.addr.is_ipv4() && is_loopback(net, r.ifindex)))
        .map(|r| {
            let dest = IfAddr {
                addr: network_of(r.dest),
                prefix: r.dest.prefix,
            };
            let on_link = r.gateway.is_none();
            let prefsrc = match (dest.addr, net.by_index(r.ifindex)) {
                (IpAddr::V4(_), Some(iface)) if on_link => source_for(iface, dest.addr),
                _ => None,
            };
            RouteEntry {
                dest,
                gateway: r.gateway,
                oif: r.ifindex,
                table: RT_TABLE_MAIN,
                rtype: RTN_UNICAST,
                scope: if on_link && dest.addr.is_ipv4() {
                    RT_SCOPE_LINK
                } else {
                    RT_SCOPE_UNIVERSE
                },
                protocol: if on_link { RTPROT_KERNEL } else { RTPROT_BOOT },
                prefsrc,
                priority: match (dest.addr.is_ipv6(), on_link) {
                    (false, _) => None,
                    (true, true) => Some(IP6_RT_PRIO_KERN),
                    (true, false) => Some(IP6_RT_PRIO_USER),
                },
            }
        })
        .collect()
}

/// The local table: each address as a local route, and a loopback
/// interface's IPv4 subnets.
fn local_table(net: &Network) -> Vec<RouteEntry> {
    let mut out = Vec::new();
    for iface in &net.interfaces {
        for a in &iface.addrs {
            let loopback = iface.flags & IFF_LOOPBACK != 0;
            let full = if a.addr.is_ipv4() { 32 } else { 128 };
            let mut dests = vec![IfAddr {
                addr: a.addr,
                prefix: full,
            }];
            if loopback && a.addr.is_ipv4() && a.prefix < 32 {
                dests.insert(
                    0,
                    IfAddr {
                        addr: network_of(*a),
                        prefix: a.prefix,
                    },
                );
            }
            for dest in dests {
                out.push(RouteEntry {
                    dest,
                    gateway: None,
                    oif: iface.index,
                    table: RT_TABLE_LOCAL,
                    rtype: RTN_LOCAL,
                    scope: RT_SCOPE_HOST,
                    protocol: RTPROT_KERNEL,
                    prefsrc: a.addr.is_ipv4().then_some(a.addr),
                    priority: a.addr.is_ipv6().then_some(0),
                });
            }
        }
    }
    out
}

/// Every route of every table: main first, then local (table order),
/// IPv4 before IPv6 (the order of rtnl_dump_all's families).
pub fn all_routes(net: &Network) -> Vec<RouteEntry> {
    let mut all = main_table(net);
    all.extend(local_table(net));
    all.sort_by_key(|r| r.is_v4() as u8 ^ 1);
    all
}

/// The main table's routes of one family.
pub fn main_routes(net: &Network, v4: bool) -> Vec<RouteEntry> {
    main_table(net).into_iter().filter(|r| r.is_v4() == v4).collect()
}

/// The route a packet to `dst` takes (ip route get): a local address is
/// delivered locally; otherwise the longest matching main-table route.
pub fn lookup(net: &Network, dst: IpAddr) -> Option<RouteEntry> {
    if net.is_local(dst) {
        let lo = net
            .interfaces
            .iter()
            .find(|i| i.flags & IFF_LOOPBACK != 0)
            .map_or(0, |i| i.index);
        return Some(RouteEntry {
            dest: IfAddr {
                addr: dst,
                prefix: if dst.is_ipv4() { 32 } else { 128 },
            },
            gateway: None,
            oif: lo,
            // Without policy rules Linux merges the local table into main
            // for lookups, so an answer names main.
            table: RT_TABLE_MAIN,
            rtype: RTN_LOCAL,
            scope: RT_SCOPE_HOST,
            protocol: RTPROT_KERNEL,
            prefsrc: Some(dst),
            priority: dst.is_ipv6().then_some(0),
        });
    }
    let best = main_routes(net, dst.is_ipv4())
        .into_iter()
        .filter(|r| r.dest.covers(dst))
        .max_by_key(|r| r.dest.prefix)?;
    let prefsrc = net.by_index(best.oif).and_then(|i| source_for(i, dst));
    Some(RouteEntry {
        dest: IfAddr {
            addr: dst,
            prefix: if dst.is_ipv4() { 32 } else { 128 },
        },
        prefsrc,
        ..best
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_tables_are_as_linux() {
        let net = Network::loopback_only();
        // A fresh network namespace: no IPv4 route in main, ::1 in main.
        assert!(main_routes(&net, true).is_empty());
        let v6 = main_routes(&net, false);
        assert_eq!(v6.len(), 1);
        assert_eq!(v6[0].priority, Some(256));
        let all = all_routes(&net);
        let local_v4: Vec<_> = all
            .iter()
            .filter(|r| r.is_v4() && r.table == RT_TABLE_LOCAL)
            .map(|r| (r.dest.addr.to_string(), r.dest.prefix))
            .collect();
        assert_eq!(local_v4, vec![("127.0.0.0".into(), 8), ("127.0.0.1".into(), 32)]);
    }

    #[test]
    fn lookup_prefers_local_then_longest_prefix() {
        let net = Network::loopback_only();
        let r = lookup(&net, "127.0.0.5".parse().unwrap()).unwrap();
        assert_eq!((r.rtype, r.oif), (RTN_LOCAL, 1));
        assert!(lookup(&net, "192.0.2.1".parse().unwrap()).is_none());
    }
}
