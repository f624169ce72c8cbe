//! The taken-over interfaces (`--network=sandbox`): each is a packet
//! socket (AF_PACKET, SOCK_RAW, bound to one host interface) that carries
//! Ethernet frames. The stack's interface has IP medium; the device
//! ([`super::device::Loopback`]) hands here every packet whose destination
//! is not local, and takes in the IP packets that arrive for us.
//!
//! This module does the Ethernet part: framing, neighbour discovery —
//! ARP (RFC 826) for IPv4, NDP neighbour solicitations and advertisements
//! (RFC 4861) for IPv6: answering for our addresses, resolving next hops,
//! holding a few packets per next hop until the answer — the checksums
//! the stack leaves out, and the choice of the outgoing interface and
//! next hop from the routes.

use super::iface::{Counters, IfAddr, Network, NicFd};
use super::ndp;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

const ETH_HDR: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ARP_LEN: usize = 28;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
const BROADCAST: [u8; 6] = [0xff; 6];
/// Packets held per unresolved next hop (Linux's unres_qlen is larger;
/// the sender retransmits).
const PENDING_PER_HOP: usize = 8;
/// Next hops with packets waiting, and addresses in the ARP cache, at most
/// (Linux's gc_thresh3 is 1024): traffic to ever new addresses cannot
/// grow the Sentry.
const MAX_PENDING_HOPS: usize = 256;
const MAX_ARP_ENTRIES: usize = 1024;
/// Frames read from one packet socket per drain.
const DRAIN_BUDGET: usize = 256;
/// The largest frame read (an MTU of 65535 and the Ethernet header).
const FRAME_MAX: usize = 65535 + ETH_HDR;

/// One taken-over interface.
pub struct Nic {
    fd: NicFd,
    mac: [u8; 6],
    /// Its addresses with prefix lengths.
    addrs: Vec<IfAddr>,
    /// Next hop -> MAC (the ARP and neighbour caches).
    neighbors: HashMap<IpAddr, [u8; 6]>,
    /// Packets waiting for a next hop's MAC.
    pending: HashMap<IpAddr, VecDeque<Vec<u8>>>,
    counters: Counters,
}

/// A route out of a taken-over interface.
struct NicRoute {
    dest: IfAddr,
    gateway: Option<IpAddr>,
    /// Index into `Nics::nics`.
    slot: usize,
}

/// Every taken-over interface, with the routes out of them.
#[derive(Default)]
pub struct Nics {
    nics: Vec<Nic>,
    /// Longest prefix first.
    routes: Vec<NicRoute>,
    /// IP packets received for the stack.
    pub rx: VecDeque<Vec<u8>>,
}

impl Nics {
    /// The interfaces of `network` that have a packet socket in `fds`.
    pub fn new(network: &Network, fds: Vec<NicFd>) -> Nics {
        let mut nics = Nics::default();
        for fd in fds {
            let Some(iface) = network.by_index(fd.ifindex) else {
                continue;
            };
            let slot = nics.nics.len();
            for r in network.routes.iter().filter(|r| r.ifindex == fd.ifindex) {
                nics.routes.push(NicRoute {
                    dest: r.dest,
                    gateway: r.gateway,
                    slot,
                });
            }
            nics.nics.push(Nic {
                mac: iface.mac,
                addrs: iface.addrs.clone(),
                fd,
                neighbors: HashMap::new(),
                pending: HashMap::new(),
                counters: Counters::default(),
            });
        }
        nics.routes.sort_by_key(|r| std::cmp::Reverse(r.dest.prefix));
        nics
    }

    pub fn is_empty(&self) -> bool {
        self.nics.is_empty()
    }

    /// (interface index, address, MAC) of every resolved neighbour.
    pub fn neighbors(&self) -> Vec<(u32, IpAddr, [u8; 6])> {
        let mut out: Vec<_> = self
            .nics
            .iter()
            .flat_map(|n| n.neighbors.iter().map(|(ip, mac)| (n.fd.ifindex, *ip, *mac)))
            .collect();
        out.sort();
        out
    }

    /// (interface index, counters) of each taken-over interface.
    pub fn counters(&self) -> Vec<(u32, Counters)> {
        self.nics.iter().map(|n| (n.fd.ifindex, n.counters)).collect()
    }

    /// The packet sockets' fds, for the thread that waits on them.
    pub fn raw_fds(&self) -> Vec<i32> {
        self.nics.iter().map(|n| n.fd.fd.as_raw_fd()).collect()
    }

    /// True when `packet` (an IP packet from the stack) leaves through a
    /// taken-over interface; it has then been sent or queued.
    pub fn try_send(&mut self, packet: Vec<u8>) -> Result<(), Vec<u8>> {
        let Some(dst) = ip_destination(&packet) else {
            return Err(packet);
        };
        if dst.is_loopback() || self.nics.iter().any(|n| n.owns(dst)) {
            return Err(packet);
        }
        let Some(route) = self.routes.iter().find(|r| r.dest.covers(dst)) else {
            return Err(packet);
        };
        let (hop, slot) = (route.gateway.unwrap_or(dst), route.slot);
        let mut packet = packet;
        // The stack computes no checksums (its loopback does not need them).
        fill_checksums(&mut packet);
        self.nics[slot].send_ip(hop, packet);
        Ok(())
    }

    /// Reads what arrived on every packet socket: IP packets for us go to
    /// `rx`, ARP is answered. True if anything was read.
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        for nic in &mut self.nics {
            for _ in 0..DRAIN_BUDGET {
                let Some(frame) = nic.read_frame() else { break };
                any = true;
                if let Some(packet) = nic.take_frame(&frame) {
                    self.rx.push_back(packet);
                }
            }
        }
        any
    }
}

/// The Internet checksum (RFC 1071) of `data`, folded from `sum`.
pub(super) fn checksum(mut sum: u32, data: &[u8]) -> u16 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// The pseudo-header sum of TCP, UDP and ICMPv6 over IPv6.
pub(super) fn pseudo_v6(src: &[u8], dst: &[u8], next: u8, len: usize) -> u32 {
    let mut sum = 0u32;
    for w in src.chunks_exact(2).chain(dst.chunks_exact(2)) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    sum + u32::from(next) + (len as u32 >> 16) + (len as u32 & 0xffff)
}

const IPPROTO_ICMPV6: u8 = 58;

/// Fills in the checksums of an IP packet (see the two versions).
fn fill_checksums(p: &mut [u8]) {
    match p.first().map(|b| b >> 4) {
        Some(4) => fill_checksums_v4(p),
        Some(6) => fill_checksums_v6(p),
        _ => {}
    }
}

/// The TCP, UDP or ICMPv6 checksum of an IPv6 packet without extension
/// headers.
fn fill_checksums_v6(p: &mut [u8]) {
    if p.len() < 40 {
        return;
    }
    let len = usize::from(u16::from_be_bytes([p[4], p[5]]));
    let next = p[6];
    if 40 + len > p.len() {
        return;
    }
    let at = match next {
        IPPROTO_TCP => 16,
        IPPROTO_UDP => 6,
        IPPROTO_ICMPV6 => 2,
        _ => return,
    };
    let (head, rest) = p.split_at_mut(40);
    let body = &mut rest[..len];
    if body.len() < at + 2 {
        return;
    }
    body[at..at + 2].fill(0);
    let mut sum = checksum(pseudo_v6(&head[8..24], &head[24..40], next, len), body);
    if next == IPPROTO_UDP && sum == 0 {
        sum = 0xffff;
    }
    body[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// Fills in the IPv4 header checksum and the TCP, UDP or ICMP checksum of
/// an unfragmented packet.
fn fill_checksums_v4(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0xf) * 4;
    let total = p.get(2..4).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    if ihl < 20 || p.len() < ihl || total < ihl || total > p.len() {
        return;
    }
    p[10..12].fill(0);
    let header = checksum(0, &p[..ihl]);
    p[10..12].copy_from_slice(&header.to_be_bytes());
    let proto = p[9];
    let (head, body) = p[..total].split_at_mut(ihl);
    let at = match proto {
        IPPROTO_TCP => 16,
        IPPROTO_UDP => 6,
        IPPROTO_ICMP => 2,
        _ => return,
    };
    if body.len() < at + 2 {
        return;
    }
    body[at..at + 2].fill(0);
    let pseudo = if proto == IPPROTO_ICMP {
        0
    } else {
        let mut sum = 0u32;
        for w in head[12..20].chunks_exact(2) {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        sum + u32::from(proto) + body.len() as u32
    };
    let mut sum = checksum(pseudo, body);
    if proto == IPPROTO_UDP && sum == 0 {
        sum = 0xffff;
    }
    body[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// The destination of an IP packet.
fn ip_destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(packet.get(16..20)?).ok()?)),
        6 => Some(IpAddr::from(<[u8; 16]>::try_from(packet.get(24..40)?).ok()?)),
        _ => None,
    }
}

impl Nic {
    fn owns(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.addr == ip)
    }

    /// Our address of `peer`'s family on its subnet, else our first of
    /// that family.
    fn source_for(&self, peer: IpAddr) -> Option<IpAddr> {
        let same = |a: &&IfAddr| a.addr.is_ipv4() == peer.is_ipv4();
        self.addrs
            .iter()
            .filter(same)
            .find(|a| a.covers(peer))
            .or_else(|| self.addrs.iter().find(same))
            .map(|a| a.addr)
    }

    fn send_ip(&mut self, hop: IpAddr, packet: Vec<u8>) {
        let ethertype = if hop.is_ipv4() { ETHERTYPE_IPV4 } else { ETHERTYPE_IPV6 };
        if let Some(mac) = self.neighbors.get(&hop).copied() {
            self.write_frame(mac, ethertype, &packet);
            return;
        }
        if !self.pending.contains_key(&hop) && self.pending.len() >= MAX_PENDING_HOPS {
            // Some other resolution is given up.
            if let Some(&other) = self.pending.keys().next() {
                self.pending.remove(&other);
            }
        }
        let queue = self.pending.entry(hop).or_default();
        if queue.len() == PENDING_PER_HOP {
            queue.pop_front();
        }
        queue.push_back(packet);
        self.solicit(hop);
    }

    /// Asks for the MAC of `hop`: an ARP request, or a neighbour
    /// solicitation to its solicited-node multicast group.
    fn solicit(&mut self, hop: IpAddr) {
        match (hop, self.source_for(hop)) {
            (IpAddr::V4(hop), Some(IpAddr::V4(src))) => {
                let request = arp_packet(ARP_REQUEST, self.mac, src, [0; 6], hop);
                self.write_frame(BROADCAST, ETHERTYPE_ARP, &request);
            }
            (IpAddr::V6(hop), Some(IpAddr::V6(src))) => {
                let (packet, mac) = ndp::solicitation(src, hop, self.mac);
                self.write_frame(mac, ETHERTYPE_IPV6, &packet);
            }
            _ => {}
        }
    }

    /// Records `ip` at `mac` and sends what waited for it.
    fn learn(&mut self, ip: IpAddr, mac: [u8; 6]) {
        if !self.neighbors.contains_key(&ip) && self.neighbors.len() >= MAX_ARP_ENTRIES {
            self.neighbors.clear();
        }
        self.neighbors.insert(ip, mac);
        let ethertype = if ip.is_ipv4() { ETHERTYPE_IPV4 } else { ETHERTYPE_IPV6 };
        if let Some(waiting) = self.pending.remove(&ip) {
            for packet in waiting {
                self.write_frame(mac, ethertype, &packet);
            }
        }
    }

    fn write_frame(&mut self, dst: [u8; 6], ethertype: u16, payload: &[u8]) {
        let mut frame = Vec::with_capacity(ETH_HDR + payload.len());
        frame.extend_from_slice(&dst);
        frame.extend_from_slice(&self.mac);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        // A frame the host cannot take now is lost, as on a busy link.
        // SAFETY: writes `frame.len()` bytes from a live buffer to our fd.
        let n = unsafe { libc::write(self.fd.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if n > 0 {
            self.counters.count_tx(frame.len());
        }
    }

    fn read_frame(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; FRAME_MAX];
        // SAFETY: reads at most `buf.len()` bytes into a live buffer.
        let n = unsafe { libc::read(self.fd.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(usize::try_from(n).ok()?);
        Some(buf)
    }

    /// Handles one received frame; returns the IP packet it carries for
    /// the stack, if any.
    fn take_frame(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let dst: [u8; 6] = frame.get(..6)?.try_into().ok()?;
        let multicast = dst[..2] == [0x33, 0x33];
        if dst != self.mac && dst != BROADCAST && !multicast {
            return None;
        }
        self.counters.count_rx(frame.len());
        let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
        let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
        let payload = frame.get(ETH_HDR..)?;
        match ethertype {
            ETHERTYPE_IPV4 => {
                let to = ip_destination(payload)?;
                self.owns(to).then(|| ip_packet(payload))
            }
            ETHERTYPE_ARP => {
                self.take_arp(payload);
                None
            }
            ETHERTYPE_IPV6 => {
                let packet = ndp::ipv6_packet(payload)?;
                if let Some(nd) = ndp::parse(&packet) {
                    self.take_nd(nd, src);
                    return None;
                }
                self.owns(ip_destination(&packet)?).then_some(packet)
            }
            _ => None,
        }
    }

    /// Answers a solicitation for one of our addresses; learns the
    /// sender of solicitations and advertisements.
    fn take_nd(&mut self, nd: ndp::Message, frame_src: [u8; 6]) {
        match nd {
            ndp::Message::Solicitation { src, target, src_mac } => {
                if !self.owns(IpAddr::V6(target)) {
                    return;
                }
                let mac = src_mac.unwrap_or(frame_src);
                if !src.is_unspecified() {
                    self.learn(IpAddr::V6(src), mac);
                }
                let (packet, dst_mac) = ndp::advertisement(target, src, self.mac, mac);
                self.write_frame(dst_mac, ETHERTYPE_IPV6, &packet);
            }
            ndp::Message::Advertisement { target, target_mac } => {
                let known =
                    self.pending.contains_key(&IpAddr::V6(target)) || self.neighbors.contains_key(&IpAddr::V6(target));
                if known {
                    self.learn(IpAddr::V6(target), target_mac.unwrap_or(frame_src));
                }
            }
        }
    }

    /// Learns the sender of any ARP packet for us; answers requests for
    /// our addresses.
    fn take_arp(&mut self, arp: &[u8]) {
        let Some((oper, sha, spa, tpa)) = parse_arp(arp) else {
            return;
        };
        if !self.owns(IpAddr::V4(tpa)) {
            return;
        }
        self.learn(IpAddr::V4(spa), sha);
        if oper == ARP_REQUEST {
            let reply = arp_packet(ARP_REPLY, self.mac, tpa, sha, spa);
            self.write_frame(sha, ETHERTYPE_ARP, &reply);
        }
    }
}

/// The IP packet of a frame's payload, without Ethernet padding (the IPv4
/// total length says where it ends).
fn ip_packet(payload: &[u8]) -> Vec<u8> {
    let total = payload
        .get(2..4)
        .map_or(payload.len(), |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    payload[..total.clamp(20.min(payload.len()), payload.len())].to_vec()
}

/// An Ethernet/IPv4 ARP packet.
fn arp_packet(oper: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = Vec::with_capacity(ARP_LEN);
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    p.extend_from_slice(&[6, 4]);
    p.extend_from_slice(&oper.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa.octets());
    p
}

/// (operation, sender MAC, sender IP, target IP) of an Ethernet/IPv4 ARP
/// packet.
fn parse_arp(p: &[u8]) -> Option<(u16, [u8; 6], Ipv4Addr, Ipv4Addr)> {
    if p.len() < ARP_LEN || p[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let oper = u16::from_be_bytes([p[6], p[7]]);
    let sha: [u8; 6] = p[8..14].try_into().ok()?;
    let spa: [u8; 4] = p[14..18].try_into().ok()?;
    let tpa: [u8; 4] = p[24..28].try_into().ok()?;
    Some((oper, sha, Ipv4Addr::from(spa), Ipv4Addr::from(tpa)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_round_trip() {
        let p = arp_packet(
            ARP_REQUEST,
            [1, 2, 3, 4, 5, 6],
            "10.0.0.2".parse().unwrap(),
            [0; 6],
            "10.0.0.1".parse().unwrap(),
        );
        let (oper, sha, spa, tpa) = parse_arp(&p).unwrap();
        assert_eq!(oper, ARP_REQUEST);
        assert_eq!(sha, [1, 2, 3, 4, 5, 6]);
        assert_eq!(spa.to_string(), "10.0.0.2");
        assert_eq!(tpa.to_string(), "10.0.0.1");
        assert!(parse_arp(&p[..10]).is_none());
    }

    #[test]
    fn ip_packet_drops_padding() {
        let mut frame_payload = vec![0x45, 0, 0, 20];
        frame_payload.resize(46, 0);
        assert_eq!(ip_packet(&frame_payload).len(), 20);
    }

    #[test]
    fn checksums_verify() {
        // A UDP packet 10.0.0.2:1 -> 10.0.0.1:2 with 2 bytes of data.
        let mut p = vec![
            0x45,
            0,
            0,
            30,
            0,
            0,
            0,
            0,
            64,
            IPPROTO_UDP,
            0,
            0,
            10,
            0,
            0,
            2,
            10,
            0,
            0,
            1,
        ];
        p.extend_from_slice(&[0, 1, 0, 2, 0, 10, 0, 0, b'h', b'i']);
        fill_checksums(&mut p);
        assert_eq!(checksum(0, &p[..20]), 0);
        let mut sum = 0u32;
        for w in p[12..20].chunks_exact(2) {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        assert_eq!(checksum(sum + 17 + 10, &p[20..]), 0);
    }

    #[test]
    fn destinations() {
        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, IPPROTO_TCP, 64];
        v6.resize(40, 0);
        v6[39] = 1;
        assert_eq!(ip_destination(&v6), Some("::1".parse().unwrap()));
        assert_eq!(ip_destination(&[0x45]), None);
    }
}
