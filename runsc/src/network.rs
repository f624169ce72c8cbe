//! `--network`: what the sandbox's network is made of, decided before the
//! Sentry confines itself into a new, empty network namespace.
//!
//! - `none`: loopback only.
//! - `sandbox` (the default): loopback, plus the interfaces of the network
//!   namespace the spec names by path (`linux.namespaces`, type
//!   `network`, as a CNI plugin leaves it for a pod). Boot enters that
//!   namespace, reads each interface's MAC, MTU, addresses and routes
//!   (an rtnetlink dump), opens a packet socket (AF_PACKET, SOCK_RAW,
//!   ETH_P_ALL) bound to it, and removes its IP addresses so that the host
//!   kernel no longer answers for them: from then on the Sentry owns them.
//!   Without a path (or without a network namespace entry) the container
//!   gets a new, empty namespace: loopback only. The host's own
//!   interfaces are never taken.
//! - `host`: AF_INET/AF_INET6 sockets are host sockets in the host's
//!   network namespace (the Sentry does not unshare it, and its seccomp
//!   list gains the socket calls): weaker isolation. The guest's netlink,
//!   ioctls and /proc/net describe the host's interfaces, as read here.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::Context;
use sentry::net::inet::iface::{IfAddr, Interface, Network, NicFd, Route, IFF_LOOPBACK};
use sentry::net::netlink::msg::{self, Builder};
use std::net::IpAddr;

use crate::cli::NetworkMode;

/// The network the Sentry gets.
pub struct Taken {
    pub network: Network,
    pub nics: Vec<NicFd>,
    /// `--network=host`: keep the host's network namespace.
    pub host: bool,
}

/// Builds the sandbox's network for `mode`; `netns` is the path of the
/// spec's network namespace, if it names one.
pub fn prepare(mode: NetworkMode, netns: Option<&Path>) -> anyhow::Result<Taken> {
    let loopback = || Taken {
        network: Network::loopback_only(),
        nics: Vec::new(),
        host: false,
    };
    match (mode, netns) {
        (NetworkMode::Host, _) => Ok(Taken {
            network: host_network().context("reading the host's interfaces")?,
            nics: Vec::new(),
            host: true,
        }),
        (NetworkMode::None, _) | (NetworkMode::Sandbox, None) => Ok(loopback()),
        (NetworkMode::Sandbox, Some(path)) => {
            enter(path)?;
            take_over().with_context(|| format!("taking over the interfaces of {}", path.display()))
        }
    }
}

/// Joins the network namespace at `path` (setns(2)).
fn enter(path: &Path) -> anyhow::Result<()> {
    let ns = std::fs::File::open(path).with_context(|| format!("opening network namespace {}", path.display()))?;
    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("entering network namespace {}", path.display()))
}

const RTM_GETLINK: u16 = 18;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_GETROUTE: u16 = 26;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_TABLE: u16 = 15;
const RT_TABLE_MAIN: u32 = 254;
const RTN_UNICAST: u8 = 1;
const ARPHRD_ETHER: u16 = 1;
const ETH_P_ALL: u16 = 0x0003;

/// The current namespace's interfaces, addresses and main-table routes,
/// as they are.
fn host_network() -> anyhow::Result<Network> {
    let mut rtnl = Rtnl::open()?;
    let links = rtnl.dump(RTM_GETLINK, 16)?;
    let addrs: Vec<(u32, IfAddr)> = rtnl
        .dump(RTM_GETADDR, 8)?
        .iter()
        .filter_map(|m| parse_addr(m))
        .collect();
    let routes = rtnl.dump(RTM_GETROUTE, 12)?;
    let interfaces = links
        .iter()
        .filter_map(|m| parse_link(m))
        .map(|link| Interface {
            addrs: addrs
                .iter()
                .filter(|(i, _)| *i == link.index)
                .map(|(_, a)| *a)
                .collect(),
            name: link.name,
            index: link.index,
            flags: link.flags,
            mtu: link.mtu,
            mac: link.mac,
        })
        .collect();
    Ok(Network {
        interfaces,
        routes: routes.iter().filter_map(|m| parse_route(m)).collect(),
    })
}

/// Reads the current namespace's interfaces, opens a packet socket on
/// each Ethernet one and removes its addresses.
fn take_over() -> anyhow::Result<Taken> {
    let mut rtnl = Rtnl::open()?;
    let links = rtnl.dump(RTM_GETLINK, 16)?;
    let addrs = rtnl.dump(RTM_GETADDR, 8)?;
    let routes = rtnl.dump(RTM_GETROUTE, 12)?;
    let mut network = Network::loopback_only();
    let mut nics = Vec::new();
    for link in links.iter().filter_map(|m| parse_link(m)) {
        if link.flags & IFF_LOOPBACK != 0 {
            continue;
        }
        if link.arphrd != ARPHRD_ETHER {
            tracing::warn!(name = %link.name, "not taking over a non-Ethernet interface");
            continue;
        }
        let mut iface = Interface {
            name: link.name,
            index: link.index,
            flags: link.flags,
            mtu: link.mtu,
            mac: link.mac,
            addrs: Vec::new(),
        };
        iface.addrs = addrs
            .iter()
            .filter_map(|m| parse_addr(m))
            .filter(|(index, _)| *index == iface.index)
            .map(|(_, a)| a)
            .collect();
        nics.push(NicFd {
            ifindex: iface.index,
            fd: packet_socket(iface.index).with_context(|| format!("packet socket on {}", iface.name))?,
        });
        network.interfaces.push(iface);
    }
    let taken = |index: u32| {
        network
            .interfaces
            .iter()
            .any(|i| i.index == index && i.flags & IFF_LOOPBACK == 0)
    };
    let new_routes: Vec<Route> = routes
        .iter()
        .filter_map(|m| parse_route(m))
        .filter(|r| taken(r.ifindex))
        .collect();
    network.routes.extend(new_routes);
    for iface in network.interfaces.iter().filter(|i| i.flags & IFF_LOOPBACK == 0) {
        for a in &iface.addrs {
            rtnl.delete_addr(iface.index, a)
                .with_context(|| format!("removing {}/{} from {}", a.addr, a.prefix, iface.name))?;
        }
        tracing::debug!(name = %iface.name, addrs = ?iface.addrs, "took over the interface");
    }
    tracing::debug!(routes = ?network.routes, "the sandbox's routes");
    Ok(Taken {
        network,
        nics,
        host: false,
    })
}

/// A link of the dump.
struct Link {
    name: String,
    index: u32,
    flags: u32,
    arphrd: u16,
    mtu: u32,
    mac: [u8; 6],
}

fn u32_of(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

fn parse_link(m: &[u8]) -> Option<Link> {
    let req = msg::split(m).into_iter().next()?;
    let body = req.body;
    let mut link = Link {
        name: String::new(),
        index: u32_of(body.get(4..8)?)?,
        flags: u32_of(body.get(8..12)?)?,
        arphrd: u16::from_le_bytes([*body.get(2)?, *body.get(3)?]),
        mtu: 1500,
        mac: [0; 6],
    };
    for (ty, v) in msg::attrs(body, 16) {
        match ty {
            IFLA_IFNAME => {
                link.name = String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
            }
            IFLA_MTU => link.mtu = u32_of(v)?,
            IFLA_ADDRESS if v.len() == 6 => link.mac.copy_from_slice(v),
            _ => {}
        }
    }
    Some(link)
}

fn ip_of(family: u8, v: &[u8]) -> Option<IpAddr> {
    match i32::from(family) {
        libc::AF_INET => Some(IpAddr::from(<[u8; 4]>::try_from(v).ok()?)),
        libc::AF_INET6 => Some(IpAddr::from(<[u8; 16]>::try_from(v).ok()?)),
        _ => None,
    }
}

/// (interface index, address) of an RTM_NEWADDR.
fn parse_addr(m: &[u8]) -> Option<(u32, IfAddr)> {
    let req = msg::split(m).into_iter().next()?;
    let body = req.body;
    let (family, prefix) = (*body.first()?, *body.get(1)?);
    let index = u32_of(body.get(4..8)?)?;
    let attrs = msg::attrs(body, 8);
    // IFA_LOCAL is the address itself; IFA_ADDRESS the peer's on a
    // point-to-point link.
    let find = |t: u16| attrs.iter().find(|(ty, _)| *ty == t).map(|(_, v)| *v);
    let raw = find(IFA_LOCAL).or_else(|| find(IFA_ADDRESS))?;
    Some((
        index,
        IfAddr {
            addr: ip_of(family, raw)?,
            prefix,
        },
    ))
}

/// A main-table unicast route of an RTM_NEWROUTE.
fn parse_route(m: &[u8]) -> Option<Route> {
    let req = msg::split(m).into_iter().next()?;
    let body = req.body;
    let (family, dst_len) = (*body.first()?, *body.get(1)?);
    let mut table = u32::from(*body.get(4)?);
    if *body.get(7)? != RTN_UNICAST {
        return None;
    }
    let unspecified = ip_of(
        family,
        &vec![0; if i32::from(family) == libc::AF_INET { 4 } else { 16 }],
    )?;
    let mut route = Route {
        dest: IfAddr {
            addr: unspecified,
            prefix: dst_len,
        },
        gateway: None,
        ifindex: 0,
    };
    for (ty, v) in msg::attrs(body, 12) {
        match ty {
            RTA_DST => route.dest.addr = ip_of(family, v)?,
            RTA_GATEWAY => route.gateway = ip_of(family, v),
            RTA_OIF => route.ifindex = u32_of(v)?,
            RTA_TABLE => table = u32_of(v)?,
            _ => {}
        }
    }
    (table == RT_TABLE_MAIN).then_some(route)
}

/// A packet socket receiving and sending every frame of interface `index`.
#[allow(unsafe_code)]
fn packet_socket(index: u32) -> anyhow::Result<OwnedFd> {
    let proto = ETH_P_ALL.to_be();
    // SAFETY: socket(2) with integer arguments.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            i32::from(proto),
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(AF_PACKET)");
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto;
    sa.sll_ifindex = index as i32;
    // SAFETY: a valid sockaddr_ll and its size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sa as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("binding the packet socket");
    }
    Ok(fd)
}

/// A NETLINK_ROUTE socket to the host kernel (of the current namespace).
struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

impl Rtnl {
    #[allow(unsafe_code)]
    fn open() -> anyhow::Result<Rtnl> {
        // SAFETY: socket(2) with integer arguments.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error()).context("socket(AF_NETLINK)");
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Rtnl { fd, seq: 0 })
    }

    /// Sends one request and collects the replies: every message up to
    /// NLMSG_DONE (a dump) or the NLMSG_ERROR ack.
    fn request(&mut self, message: Vec<u8>) -> anyhow::Result<Vec<Vec<u8>>> {
        nix::sys::socket::send(self.fd.as_raw_fd(), &message, nix::sys::socket::MsgFlags::empty())
            .context("sending a netlink request")?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = nix::sys::socket::recv(self.fd.as_raw_fd(), &mut buf, nix::sys::socket::MsgFlags::empty())
                .context("receiving a netlink reply")?;
            for reply in msg::split(&buf[..n]) {
                if reply.hdr.seq != self.seq {
                    continue;
                }
                match reply.hdr.ty {
                    msg::NLMSG_DONE => return Ok(out),
                    msg::NLMSG_ERROR => {
                        let err = reply.body.get(..4).and_then(u32_of).unwrap_or(0) as i32;
                        if err == 0 {
                            return Ok(out);
                        }
                        return Err(std::io::Error::from_raw_os_error(-err)).context("netlink request");
                    }
                    _ => out.push(reply.raw.to_vec()),
                }
            }
        }
    }

    /// Every object of a dump of `ty`, with a zeroed header of `head` bytes.
    fn dump(&mut self, ty: u16, head: usize) -> anyhow::Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let m = Builder::new(ty, msg::NLM_F_REQUEST | msg::NLM_F_DUMP, self.seq, 0)
            .payload(&vec![0u8; head])
            .finish();
        self.request(m)
    }

    /// Removes address `a` from interface `index` (RTM_DELADDR).
    fn delete_addr(&mut self, index: u32, a: &IfAddr) -> anyhow::Result<()> {
        self.seq += 1;
        let (family, bytes) = match a.addr {
            IpAddr::V4(v) => (libc::AF_INET as u8, v.octets().to_vec()),
            IpAddr::V6(v) => (libc::AF_INET6 as u8, v.octets().to_vec()),
        };
        let mut head = vec![family, a.prefix, 0, 0];
        head.extend_from_slice(&index.to_le_bytes());
        let mut b = Builder::new(RTM_DELADDR, msg::NLM_F_REQUEST | msg::NLM_F_ACK, self.seq, 0).payload(&head);
        if a.addr.is_ipv4() {
            b = b.attr(IFA_LOCAL, &bytes);
        }
        let m = b.attr(IFA_ADDRESS, &bytes).finish();
        self.request(m).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_pathless_sandbox_are_loopback_only() {
        for mode in [NetworkMode::None, NetworkMode::Sandbox] {
            let taken = prepare(mode, None).unwrap();
            assert_eq!(taken.network, Network::loopback_only());
            assert!(taken.nics.is_empty());
        }
        let host = prepare(NetworkMode::Host, None).unwrap();
        assert!(host.host && host.nics.is_empty());
        assert!(host.network.interfaces.iter().any(|i| i.flags & IFF_LOOPBACK != 0));
    }

    #[test]
    fn parses_a_default_route() {
        let mut head = vec![libc::AF_INET as u8, 0, 0, 0, 254, 3, 0, RTN_UNICAST];
        head.extend_from_slice(&0u32.to_le_bytes());
        let m = Builder::new(24, 0, 1, 0)
            .payload(&head)
            .attr(RTA_GATEWAY, &[10, 0, 0, 1])
            .attr_u32(RTA_OIF, 3)
            .finish();
        let r = parse_route(&m).unwrap();
        assert_eq!(r.dest.prefix, 0);
        assert_eq!(r.gateway, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(r.ifindex, 3);
    }
}
