//! NETLINK_ROUTE (rtnetlink(7)) requests answered from the sandbox's
//! interface data: links, addresses and routes, dumped or got one at a
//! time. The sandbox's network cannot be changed: a change request is
//! EPERM without CAP_NET_ADMIN (as rtnetlink_rcv_msg checks first) and
//! EOPNOTSUPP with it, the answer Linux gives for a message type that
//! has no handler.

use super::msg::{self, Builder, Request, NLM_F_DUMP, NLM_F_MULTI};
use super::tables::{self, RouteEntry};
use crate::errno::{Errno, Result};
use crate::net::inet::iface::{IfAddr, Interface, Network, IFF_LOOPBACK};
use std::net::IpAddr;

/// Message types (linux/rtnetlink.h).
pub const RTM_BASE: u16 = 16;
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_GETNEIGH: u16 = 30;
/// The highest rtnetlink message type (Linux 6.1).
const RTM_MAX: u16 = 123;

/// Link attributes (IFLA_*).
const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;
const IFLA_MIN_MTU: u16 = 50;
const IFLA_MAX_MTU: u16 = 51;
const IFLA_ALT_IFNAME: u16 = 53;
/// Address attributes (IFA_*).
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
/// Route attributes (RTA_*).
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
/// rtm_flags of a route lookup's answer.
const RTM_F_CLONED: u32 = 0x200;

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
/// RFC 2863 operational states (IFLA_OPERSTATE).
const IF_OPER_UNKNOWN: u8 = 0;
const IF_OPER_UP: u8 = 6;
/// The transmit queue length Linux gives loopback and veth devices.
const TXQLEN: u32 = 1000;
/// sizeof(struct rtnl_link_stats) and sizeof(struct rtnl_link_stats64).
const STATS_LEN: usize = 25 * 4;
const STATS64_LEN: usize = 25 * 8;
/// Lifetime of a permanent address (ifa_cacheinfo).
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// sizeof(struct ifinfomsg), sizeof(struct ifaddrmsg), sizeof(struct rtmsg).
const IFINFOMSG_LEN: usize = 16;
const RTMSG_LEN: usize = 12;

/// How a request is answered.
pub enum Answer {
    /// Nothing but the ack, when asked for.
    Ack,
    /// One reply message, then the ack when asked for.
    Reply(Vec<u8>),
    /// The messages of a dump; NLMSG_DONE follows and there is no ack.
    Dump(Vec<Vec<u8>>),
}

/// Who asks: the requesting socket's port id (replies carry it) and
/// whether it holds CAP_NET_ADMIN.
pub struct Asker {
    pub portid: u32,
    pub net_admin: bool,
}

/// Answers one rtnetlink message (rtnetlink_rcv_msg).
pub fn answer(net: &Network, req: &Request, who: &Asker) -> Result<Answer> {
    let ty = req.hdr.ty;
    if ty > RTM_MAX {
        return Err(Errno::EOPNOTSUPP);
    }
    // "All the messages must have at least 1 byte length" (the family).
    let Some(&family) = req.body.first() else {
        return Ok(Answer::Ack);
    };
    let Some(kind) = ty.checked_sub(RTM_BASE).map(|t| t & 3) else {
        // netlink's own control messages: only acknowledged.
        return Ok(Answer::Ack);
    };
    if kind != 2 && !who.net_admin {
        return Err(Errno::EPERM);
    }
    let dump = req.hdr.flags & NLM_F_DUMP != 0;
    let seq = req.hdr.seq;
    let reply = |ty: u16, flags: u16| Builder::new(ty, flags, seq, who.portid);
    match (ty, dump) {
        (RTM_GETLINK, true) => Ok(Answer::Dump(
            net.interfaces
                .iter()
                .map(|i| link_message(reply(RTM_NEWLINK, NLM_F_MULTI), i))
                .collect(),
        )),
        (RTM_GETLINK, false) => {
            let iface = link_of_request(net, req.body)?;
            Ok(Answer::Reply(link_message(reply(RTM_NEWLINK, 0), iface)))
        }
        (RTM_GETADDR, true) => Ok(Answer::Dump(
            addresses(net, family)
                .map(|(iface, a)| addr_message(reply(RTM_NEWADDR, NLM_F_MULTI), iface, a))
                .collect(),
        )),
        (RTM_GETROUTE, true) => Ok(Answer::Dump(
            tables::all_routes(net)
                .iter()
                .filter(|r| family_matches(family, r.dest.addr))
                .map(|r| route_message(reply(RTM_NEWROUTE, NLM_F_MULTI), r, 0))
                .collect(),
        )),
        (RTM_GETNEIGH, true) => Ok(Answer::Dump(
            crate::net::inet::stack::neighbors()
                .into_iter()
                .filter(|(_, ip, _)| family_matches(family, *ip))
                .map(|(index, ip, mac)| neigh_message(reply(RTM_NEWNEIGH, NLM_F_MULTI), index, ip, mac))
                .collect(),
        )),
        (RTM_GETROUTE, false) => {
            let entry = route_of_request(net, family, req.body)?;
            Ok(Answer::Reply(route_message(
                reply(RTM_NEWROUTE, 0),
                &entry,
                RTM_F_CLONED,
            )))
        }
        // Everything else, including changes by a privileged caller:
        // the sandbox's network is fixed (no handler: EOPNOTSUPP).
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// True when a dump for `family` includes `addr` (AF_UNSPEC and families
/// without a handler of their own dump every family).
fn family_matches(family: u8, addr: IpAddr) -> bool {
    match i32::from(family) {
        libc::AF_INET => addr.is_ipv4(),
        libc::AF_INET6 => addr.is_ipv6(),
        _ => true,
    }
}

/// Every address with its interface, IPv4 before IPv6.
fn addresses(net: &Network, family: u8) -> impl Iterator<Item = (&Interface, &IfAddr)> {
    let all = || net.interfaces.iter().flat_map(|i| i.addrs.iter().map(move |a| (i, a)));
    all()
        .filter(|(_, a)| a.addr.is_ipv4())
        .chain(all().filter(|(_, a)| a.addr.is_ipv6()))
        .filter(move |(_, a)| family_matches(family, a.addr))
}

/// The interface a non-dump RTM_GETLINK names: by ifi_index, else by
/// IFLA_IFNAME (rtnl_getlink: EINVAL when neither, ENODEV when unknown).
fn link_of_request<'n>(net: &'n Network, body: &[u8]) -> Result<&'n Interface> {
    let index = body
        .get(4..8)
        .map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if index > 0 {
        return net.by_index(index as u32).ok_or(Errno::ENODEV);
    }
    let name = msg::attrs(body, IFINFOMSG_LEN)
        .into_iter()
        .find(|(ty, _)| *ty == IFLA_IFNAME || *ty == IFLA_ALT_IFNAME)
        .map(|(_, v)| String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or_default()).into_owned());
    match name {
        Some(name) => net.by_name(&name).ok_or(Errno::ENODEV),
        None => Err(Errno::EINVAL),
    }
}

/// The route a non-dump RTM_GETROUTE asks for (RTA_DST, or the
/// unspecified address): ENETUNREACH when none matches; EOPNOTSUPP for
/// families without a lookup (AF_UNSPEC has no doit).
fn route_of_request(net: &Network, family: u8, body: &[u8]) -> Result<RouteEntry> {
    let dst = msg::attrs(body, RTMSG_LEN)
        .into_iter()
        .find(|(ty, _)| *ty == RTA_DST)
        .map(|(_, v)| v);
    let addr: IpAddr = match (i32::from(family), dst) {
        (libc::AF_INET, None) => IpAddr::V4(0.into()),
        (libc::AF_INET, Some(v)) => IpAddr::V4(<[u8; 4]>::try_from(v).map_err(|_| Errno::EINVAL)?.into()),
        (libc::AF_INET6, None) => IpAddr::V6(0.into()),
        (libc::AF_INET6, Some(v)) => IpAddr::V6(<[u8; 16]>::try_from(v).map_err(|_| Errno::EINVAL)?.into()),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    tables::lookup(net, addr).ok_or(Errno::ENETUNREACH)
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn family_of(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        libc::AF_INET as u8
    } else {
        libc::AF_INET6 as u8
    }
}

/// RTM_NEWLINK for `iface`: struct ifinfomsg, then its attributes in the
/// order rtnl_fill_ifinfo writes them.
fn link_message(b: Builder, iface: &Interface) -> Vec<u8> {
    let loopback = iface.flags & IFF_LOOPBACK != 0;
    let mut info = [0u8; IFINFOMSG_LEN];
    let arphrd = if loopback { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
    info[2..4].copy_from_slice(&arphrd.to_le_bytes());
    info[4..8].copy_from_slice(&iface.index.to_le_bytes());
    info[8..12].copy_from_slice(&iface.flags.to_le_bytes());
    let broadcast = if loopback { [0u8; 6] } else { [0xff; 6] };
    // Loopback's state is "unknown" on Linux (it has no carrier to report).
    let operstate = if loopback { IF_OPER_UNKNOWN } else { IF_OPER_UP };
    let (min_mtu, max_mtu) = if loopback { (0, 0) } else { (68, 65535) };
    b.payload(&info)
        .attr_str(IFLA_IFNAME, &iface.name)
        .attr_u32(IFLA_TXQLEN, TXQLEN)
        .attr_u8(IFLA_OPERSTATE, operstate)
        .attr_u8(IFLA_LINKMODE, 0)
        .attr_u32(IFLA_MTU, iface.mtu)
        .attr_u32(IFLA_MIN_MTU, min_mtu)
        .attr_u32(IFLA_MAX_MTU, max_mtu)
        .attr_u32(IFLA_GROUP, 0)
        .attr_u32(IFLA_PROMISCUITY, 0)
        .attr_u32(IFLA_NUM_TX_QUEUES, 1)
        .attr_u32(IFLA_NUM_RX_QUEUES, 1)
        .attr_u8(IFLA_CARRIER, 1)
        .attr_str(IFLA_QDISC, "noqueue")
        .attr(IFLA_ADDRESS, &iface.mac)
        .attr(IFLA_BROADCAST, &broadcast)
        .attr(IFLA_STATS64, &link_stats(iface.index, 8))
        .attr(IFLA_STATS, &link_stats(iface.index, 4))
        .finish()
}

/// struct rtnl_link_stats (`width` 4) or rtnl_link_stats64 (8): the
/// packet and byte counters first, the error counters zero.
fn link_stats(index: u32, width: usize) -> Vec<u8> {
    let c = crate::net::inet::stack::counters_of(index);
    let mut out = Vec::with_capacity(if width == 4 { STATS_LEN } else { STATS64_LEN });
    for v in [c.rx_packets, c.tx_packets, c.rx_bytes, c.tx_bytes] {
        if width == 4 {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.resize(if width == 4 { STATS_LEN } else { STATS64_LEN }, 0);
    out
}

/// The broadcast address an IPv4 address gets on a broadcast interface
/// (the subnet's last address; none for /31, /32 or loopback).
pub fn broadcast_of(iface: &Interface, a: &IfAddr) -> Option<IpAddr> {
    match a.addr {
        IpAddr::V4(v4) if iface.flags & IFF_LOOPBACK == 0 && a.prefix < 31 => {
            let host_bits = !tables::prefix_mask_v4(a.prefix);
            Some(IpAddr::V4((u32::from(v4) | host_bits).into()))
        }
        _ => None,
    }
}

/// RTM_NEWADDR for address `a` of `iface`: struct ifaddrmsg, then the
/// attributes of inet_fill_ifaddr / inet6_fill_ifaddr.
fn addr_message(b: Builder, iface: &Interface, a: &IfAddr) -> Vec<u8> {
    let head = [
        family_of(a.addr),
        a.prefix,
        IFA_F_PERMANENT as u8,
        tables::addr_scope(a.addr),
    ];
    let mut payload = head.to_vec();
    payload.extend_from_slice(&iface.index.to_le_bytes());
    let bytes = ip_bytes(a.addr);
    let mut b = b.payload(&payload).attr(IFA_ADDRESS, &bytes);
    if a.addr.is_ipv4() {
        b = b.attr(IFA_LOCAL, &bytes);
        if let Some(brd) = broadcast_of(iface, a) {
            b = b.attr(IFA_BROADCAST, &ip_bytes(brd));
        }
        b = b.attr_str(IFA_LABEL, &iface.name);
    }
    let cache = [INFINITY_LIFE_TIME, INFINITY_LIFE_TIME, 0, 0];
    let cache: Vec<u8> = cache.iter().flat_map(|v| v.to_le_bytes()).collect();
    b.attr_u32(IFA_FLAGS, IFA_F_PERMANENT)
        .attr(IFA_CACHEINFO, &cache)
        .finish()
}

/// RTM_NEWNEIGH: struct ndmsg (family, index, NUD_REACHABLE, type
/// unicast), NDA_DST and NDA_LLADDR.
fn neigh_message(b: Builder, index: u32, ip: IpAddr, mac: [u8; 6]) -> Vec<u8> {
    const NUD_REACHABLE: u16 = 0x02;
    const NDA_DST: u16 = 1;
    const NDA_LLADDR: u16 = 2;
    let mut head = vec![family_of(ip), 0, 0, 0];
    head.extend_from_slice(&index.to_le_bytes());
    head.extend_from_slice(&NUD_REACHABLE.to_le_bytes());
    head.extend_from_slice(&[0, RTN_UNICAST_TYPE]);
    b.payload(&head)
        .attr(NDA_DST, &ip_bytes(ip))
        .attr(NDA_LLADDR, &mac)
        .finish()
}

/// rtm_type/ndm_type of a unicast entry.
const RTN_UNICAST_TYPE: u8 = 1;

/// RTM_NEWROUTE for `r`: struct rtmsg, then its attributes.
fn route_message(b: Builder, r: &RouteEntry, flags: u32) -> Vec<u8> {
    let mut head = vec![
        family_of(r.dest.addr),
        r.dest.prefix,
        0,
        0,
        r.table,
        r.protocol,
        r.scope,
        r.rtype,
    ];
    head.extend_from_slice(&flags.to_le_bytes());
    let mut b = b.payload(&head).attr_u32(RTA_TABLE, u32::from(r.table));
    if r.dest.prefix > 0 {
        b = b.attr(RTA_DST, &ip_bytes(r.dest.addr));
    }
    if let Some(p) = r.priority {
        b = b.attr_u32(RTA_PRIORITY, p);
    }
    if let Some(src) = r.prefsrc {
        b = b.attr(RTA_PREFSRC, &ip_bytes(src));
    }
    if let Some(gw) = r.gateway {
        b = b.attr(RTA_GATEWAY, &ip_bytes(gw));
    }
    b.attr_u32(RTA_OIF, r.oif).finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::netlink::msg::{split, NLM_F_REQUEST};

    fn ask(ty: u16, flags: u16, body: &[u8], admin: bool) -> Result<Answer> {
        let raw = Builder::new(ty, NLM_F_REQUEST | flags, 1, 0).payload(body).finish();
        let req = &split(&raw)[0];
        let who = Asker {
            portid: 77,
            net_admin: admin,
        };
        answer(&Network::loopback_only(), req, &who)
    }

    #[test]
    fn dumps_list_lo() {
        let Ok(Answer::Dump(links)) = ask(RTM_GETLINK, NLM_F_DUMP, &[0; 16], false) else {
            panic!("no link dump");
        };
        assert_eq!(links.len(), 1);
        let m = &split(&links[0])[0];
        assert_eq!((m.hdr.ty, m.hdr.pid), (RTM_NEWLINK, 77));
        let name = msg::attrs(m.body, IFINFOMSG_LEN)
            .into_iter()
            .find(|(t, _)| *t == IFLA_IFNAME)
            .map(|(_, v)| v.to_vec());
        assert_eq!(name, Some(b"lo\0".to_vec()));
        let Ok(Answer::Dump(addrs)) = ask(
            RTM_GETADDR,
            NLM_F_DUMP,
            &[libc::AF_INET as u8, 0, 0, 0, 0, 0, 0, 0],
            false,
        ) else {
            panic!("no addr dump");
        };
        assert_eq!(addrs.len(), 1);
    }

    #[test]
    fn changes_are_refused() {
        assert!(matches!(ask(RTM_NEWADDR, 0, &[2; 8], false), Err(Errno::EPERM)));
        assert!(matches!(ask(RTM_NEWADDR, 0, &[2; 8], true), Err(Errno::EOPNOTSUPP)));
        assert!(matches!(ask(200, 0, &[2; 8], true), Err(Errno::EOPNOTSUPP)));
        assert!(matches!(ask(RTM_GETLINK, 0, &[], false), Ok(Answer::Ack)));
    }

    #[test]
    fn get_link_by_index_or_name() {
        let mut body = [0u8; 16];
        body[4] = 1;
        assert!(matches!(ask(RTM_GETLINK, 0, &body, false), Ok(Answer::Reply(_))));
        body[4] = 9;
        assert!(matches!(ask(RTM_GETLINK, 0, &body, false), Err(Errno::ENODEV)));
        assert!(matches!(ask(RTM_GETLINK, 0, &[0; 16], false), Err(Errno::EINVAL)));
    }
}
