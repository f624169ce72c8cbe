//! /proc/net files (proc(5)) rendered from the sandbox's interface data
//! and its open sockets, in the kernel's formats: dev (dev_seq_show),
//! if_inet6 (if6_seq_show), route (fib_route_seq_show), ipv6_route
//! (ipv6_route_native_seq_show), unix (unix_seq_show), and tcp, tcp6,
//! udp, udp6 (tcp4_seq_show, udp4_format_sock) with their headers.
//!
//! The dev counters are the stack's packets and bytes per interface
//! (zero until the first inet socket builds the stack); errors, drops and
//! the rest are not counted.

use super::inet::iface::{IfAddr, Network};
use super::netlink::tables::{self, RouteEntry, RTN_LOCAL};
use super::socket::Socket;
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;

/// The files of /proc/net (and /proc/PID/net).
pub const FILES: [&str; 9] = [
    "dev",
    "if_inet6",
    "route",
    "ipv6_route",
    "unix",
    "tcp",
    "tcp6",
    "udp",
    "udp6",
];

/// Renders /proc/net/`name`; None for a name not in [`FILES`].
pub fn render(name: &str, net: &Network, sockets: &[Arc<dyn Socket>]) -> Option<String> {
    Some(match name {
        "dev" => dev(net),
        "if_inet6" => if_inet6(net),
        "route" => route(net),
        "ipv6_route" => ipv6_route(net),
        "unix" => unix(sockets),
        "tcp" | "udp" | "tcp6" | "udp6" => inet(name, sockets),
        _ => return None,
    })
}

/// The header lines of /proc/net/tcp, tcp6, udp and udp6, padded as
/// the kernel pads them.
fn inet_header(name: &str) -> String {
    const TCP: &str =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    const UDP: &str =
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
    const V6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    match name {
        "tcp" => format!("{TCP:<149}\n"),
        "udp" => format!("{UDP:<127}\n"),
        "tcp6" => format!("{V6}\n"),
        _ => format!("{V6} ref pointer drops\n"),
    }
}

/// TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 0x01;
const TCP_CLOSE: u8 = 0x07;
const TCP_LISTEN: u8 = 0x0a;

/// (address, port) of an inet sockaddr.
fn inet_endpoint(raw: &[u8]) -> Option<(IpAddr, u16)> {
    let port = u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]);
    let ip = match super::socket::family_of(raw) {
        libc::AF_INET => IpAddr::from(<[u8; 4]>::try_from(raw.get(4..8)?).ok()?),
        libc::AF_INET6 => IpAddr::from(<[u8; 16]>::try_from(raw.get(8..24)?).ok()?),
        _ => return None,
    };
    Some((ip, port))
}

/// An address as the inet files print it: each 32-bit word of the
/// in-memory address read as a little-endian number, in hex.
fn hex_words(ip: IpAddr) -> String {
    let bytes = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    bytes
        .chunks_exact(4)
        .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .collect()
}

/// One row of /proc/net/tcp* or udp* for `sock`, numbered `slot`.
fn inet_row(slot: usize, sock: &Arc<dyn Socket>, tcp: bool, v6: bool) -> String {
    let unspecified = if v6 { IpAddr::V6(0.into()) } else { IpAddr::V4(0.into()) };
    let local = sock
        .local_name()
        .ok()
        .and_then(|n| inet_endpoint(&n))
        .unwrap_or((unspecified, 0));
    let peer = sock.peer_name().ok().and_then(|n| inet_endpoint(&n));
    let listening = sock
        .get_option(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
        .is_ok_and(|v| v.first().is_some_and(|&b| b != 0));
    let state = match (listening, peer) {
        (true, _) => TCP_LISTEN,
        (false, Some(_)) => TCP_ESTABLISHED,
        (false, None) => TCP_CLOSE,
    };
    let remote = peer.unwrap_or((unspecified, 0));
    let mut row = format!(
        "{:>width$}: {}:{:04X} {}:{:04X} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:>5} {:>8} {}",
        slot,
        hex_words(local.0),
        local.1,
        hex_words(remote.0),
        remote.1,
        state,
        0,
        0,
        sock.inode().uid,
        0,
        sock.inode().ino,
        width = if tcp { 4 } else { 5 },
    );
    // The socket's address is hidden (%pK); the reference count, timers
    // and congestion state are not tracked: what an idle socket shows.
    if tcp {
        row.push_str(" 1 0000000000000000 100 0 0 10 0");
    } else {
        row.push_str(" 2 0000000000000000 0");
    }
    match (tcp, v6) {
        (true, false) => format!("{row:<149}\n"),
        (false, false) => format!("{row:<127}\n"),
        _ => format!("{row}\n"),
    }
}

/// /proc/net/tcp, tcp6, udp or udp6: the header, then the sandbox's
/// sockets of that protocol and family.
fn inet(name: &str, sockets: &[Arc<dyn Socket>]) -> String {
    let tcp = name.starts_with("tcp");
    let v6 = name.ends_with('6');
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let ty = if tcp { libc::SOCK_STREAM } else { libc::SOCK_DGRAM };
    let mut out = inet_header(name);
    // Ping sockets are datagram sockets too, but /proc/net/icmp's.
    let protocol = if tcp { libc::IPPROTO_TCP } else { libc::IPPROTO_UDP };
    let rows = sockets
        .iter()
        .filter(|s| s.family() == family && s.sock_type() == ty && [0, protocol].contains(&s.protocol()));
    for (slot, sock) in rows.enumerate() {
        out.push_str(&inet_row(slot, sock, tcp, v6));
    }
    out
}

fn dev(net: &Network) -> String {
    let mut out = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for iface in &net.interfaces {
        let c = super::inet::stack::counters_of(iface.index);
        let values = [
            c.rx_bytes,
            c.rx_packets,
            0,
            0,
            0,
            0,
            0,
            0,
            c.tx_bytes,
            c.tx_packets,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let _ = write!(out, "{:>6}:", iface.name);
        for (value, width) in values.iter().zip([7, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10]) {
            let _ = write!(out, " {value:>width$}");
        }
        out.push('\n');
    }
    out
}

/// An IPv6 address as 32 hex digits (%pi6 without colons).
fn hex6(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(a) => a.octets().iter().map(|b| format!("{b:02x}")).collect(),
        IpAddr::V4(_) => "0".repeat(32),
    }
}

/// The IPV6_ADDR_* scope class if_inet6 prints.
fn inet6_scope(ip: IpAddr) -> u8 {
    match tables::addr_scope(ip) {
        tables::RT_SCOPE_HOST => 0x10,
        tables::RT_SCOPE_LINK => 0x20,
        _ => 0,
    }
}

fn if_inet6(net: &Network) -> String {
    let mut out = String::new();
    for iface in &net.interfaces {
        for a in iface.addrs.iter().filter(|a| a.addr.is_ipv6()) {
            // IFA_F_PERMANENT: every address is configured, none learnt.
            let _ = writeln!(
                out,
                "{} {:02x} {:02x} {:02x} {:02x} {:>8}",
                hex6(a.addr),
                iface.index,
                a.prefix,
                inet6_scope(a.addr),
                0x80,
                iface.name
            );
        }
    }
    out
}

/// An IPv4 address as /proc/net/route prints a __be32: the in-memory
/// bytes read as a little-endian word, in hex.
fn hex4(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(a)) => format!("{:08X}", u32::from_le_bytes(a.octets())),
        _ => "00000000".into(),
    }
}

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;
/// Route lines of /proc/net/route are padded to this width.
const ROUTE_LINE: usize = 127;

fn route(net: &Network) -> String {
    let mut out = format!(
        "{:<ROUTE_LINE$}\n",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    );
    for r in tables::main_routes(net, true) {
        let name = net.by_index(r.oif).map_or("*", |i| i.name.as_str());
        let flags = RTF_UP | if r.gateway.is_some() { RTF_GATEWAY } else { 0 };
        let mask = IpAddr::V4(tables::prefix_mask_v4(r.dest.prefix).into());
        let line = format!(
            "{}\t{}\t{}\t{:04X}\t0\t0\t{}\t{}\t0\t0\t0",
            name,
            hex4(Some(r.dest.addr)),
            hex4(r.gateway),
            flags,
            r.priority.unwrap_or(0),
            hex4(Some(mask)),
        );
        let _ = writeln!(out, "{line:<ROUTE_LINE$}");
    }
    out
}

/// RTF_* flags of an IPv6 route: up, gateway, local (RTF_LOCAL), and
/// RTF_NONEXTHOP for on-link routes.
fn ipv6_route_flags(r: &RouteEntry) -> u32 {
    const RTF_NONEXTHOP: u32 = 0x0020_0000;
    const RTF_LOCAL: u32 = 0x8000_0000;
    let mut flags = RTF_UP;
    if r.gateway.is_some() {
        flags |= RTF_GATEWAY;
    } else {
        flags |= RTF_NONEXTHOP;
    }
    if r.rtype == RTN_LOCAL {
        flags |= RTF_LOCAL;
    }
    flags
}

fn ipv6_route(net: &Network) -> String {
    let mut out = String::new();
    let zero = IfAddr {
        addr: IpAddr::V6(0.into()),
        prefix: 0,
    };
    for r in tables::all_routes(net).iter().filter(|r| !r.is_v4()) {
        let name = net.by_index(r.oif).map_or("*", |i| i.name.as_str());
        let _ = writeln!(
            out,
            "{} {:02x} {} {:02x} {} {:08x} {:08x} {:08x} {:08x} {:>8}",
            hex6(r.dest.addr),
            r.dest.prefix,
            hex6(zero.addr),
            0,
            hex6(r.gateway.unwrap_or(zero.addr)),
            r.priority.unwrap_or(0),
            1,
            0,
            ipv6_route_flags(r),
            name
        );
    }
    out
}

/// __SO_ACCEPTCON: the Flags of a listening socket.
const SO_ACCEPTCON: u32 = 1 << 16;
/// socket states (SS_*).
const SS_UNCONNECTED: u8 = 1;
const SS_CONNECTED: u8 = 3;

/// The path column of a unix socket: the path, or "@" and the abstract
/// name with its NULs shown as "@"; empty when unbound.
fn unix_path(name: &[u8]) -> String {
    let path = name.get(2..).unwrap_or_default();
    match path.split_first() {
        None => String::new(),
        Some((0, rest)) => {
            let shown: Vec<u8> = rest.iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
            format!("@{}", String::from_utf8_lossy(&shown))
        }
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            String::from_utf8_lossy(&path[..end]).into_owned()
        }
    }
}

fn unix(sockets: &[Arc<dyn Socket>]) -> String {
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in sockets.iter().filter(|s| s.family() == libc::AF_UNIX) {
        let listening = s
            .get_option(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
            .is_ok_and(|v| v.first().is_some_and(|&b| b != 0));
        let connected = s.peer_name().is_ok();
        let state = if connected && !listening {
            SS_CONNECTED
        } else {
            SS_UNCONNECTED
        };
        let flags = if listening { SO_ACCEPTCON } else { 0 };
        let path = s.local_name().map(|n| unix_path(&n)).unwrap_or_default();
        // The socket's address is hidden (%pK) and its reference count
        // is not tracked: 2 is what an open, unshared socket shows.
        let _ = write!(
            out,
            "0000000000000000: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}",
            2,
            0,
            flags,
            s.sock_type(),
            state,
            s.inode().ino
        );
        if !path.is_empty() {
            let _ = write!(out, " {path}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_files() {
        let net = Network::loopback_only();
        let dev = dev(&net);
        assert!(dev.lines().nth(2).unwrap().starts_with("    lo:       0"));
        assert_eq!(
            if_inet6(&net),
            "00000000000000000000000000000001 01 80 10 80       lo\n"
        );
        // No IPv4 route in main: the header alone, 127 wide.
        let route = route(&net);
        assert_eq!(route.lines().count(), 1);
        assert_eq!(route.len(), 128);
        let v6 = ipv6_route(&net);
        assert!(v6.starts_with("00000000000000000000000000000001 80 "));
        assert_eq!(v6.lines().count(), 2);
    }

    #[test]
    fn hex4_is_the_be32_in_memory_order() {
        assert_eq!(hex4(Some("10.0.0.1".parse().unwrap())), "0100000A");
    }

    #[test]
    fn unix_paths() {
        assert_eq!(unix_path(&[1, 0, b'/', b'a', 0]), "/a");
        assert_eq!(unix_path(&[1, 0, 0, b'x', 0]), "@x@");
        assert_eq!(unix_path(&[1, 0]), "");
    }
}
