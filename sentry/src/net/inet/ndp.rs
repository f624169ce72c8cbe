//! IPv6 neighbour discovery messages (RFC 4861 section 4.3 and 4.4) for
//! the taken-over interfaces: parsing solicitations and advertisements,
//! and building the ones `nic` sends.

use super::nic::{checksum, pseudo_v6};
use std::net::Ipv6Addr;

const IPV6_HDR: usize = 40;
const NEXT_ICMPV6: u8 = 58;
/// Neighbour discovery messages travel with the largest hop limit, and a
/// receiver drops those that do not (they came through a router).
const ND_HOP_LIMIT: u8 = 255;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
const OPT_SOURCE_LL: u8 = 1;
const OPT_TARGET_LL: u8 = 2;
/// Advertisement flags: a reply to a solicitation, overriding the cache.
const NA_SOLICITED: u8 = 0x40;
const NA_OVERRIDE: u8 = 0x20;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A neighbour discovery message received.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Solicitation {
        src: Ipv6Addr,
        target: Ipv6Addr,
        src_mac: Option<[u8; 6]>,
    },
    Advertisement {
        target: Ipv6Addr,
        target_mac: Option<[u8; 6]>,
    },
}

/// The IPv6 packet of a frame's payload, without Ethernet padding.
pub fn ipv6_packet(payload: &[u8]) -> Option<Vec<u8>> {
    if payload.first()? >> 4 != 6 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*payload.get(4)?, *payload.get(5)?]));
    Some(payload.get(..IPV6_HDR + len)?.to_vec())
}

fn addr_at(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    Some(Ipv6Addr::from(<[u8; 16]>::try_from(b.get(at..at + 16)?).ok()?))
}

/// The link-layer address option of type `kind` among `options`.
fn link_option(mut options: &[u8], kind: u8) -> Option<[u8; 6]> {
    while options.len() >= 8 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if options[0] == kind && len >= 8 {
            return options[2..8].try_into().ok();
        }
        options = &options[len..];
    }
    None
}

/// The neighbour discovery message `packet` carries, if it is one.
pub fn parse(packet: &[u8]) -> Option<Message> {
    if *packet.get(6)? != NEXT_ICMPV6 || *packet.get(7)? != ND_HOP_LIMIT {
        return None;
    }
    let icmp = packet.get(IPV6_HDR..)?;
    if *icmp.get(1)? != 0 {
        return None;
    }
    let target = addr_at(icmp, 8)?;
    let options = icmp.get(24..)?;
    match *icmp.first()? {
        NEIGHBOR_SOLICITATION => Some(Message::Solicitation {
            src: addr_at(packet, 8)?,
            target,
            src_mac: link_option(options, OPT_SOURCE_LL),
        }),
        NEIGHBOR_ADVERTISEMENT => Some(Message::Advertisement {
            target,
            target_mac: link_option(options, OPT_TARGET_LL),
        }),
        _ => None,
    }
}

/// An ICMPv6 neighbour discovery packet from `src` to `dst` with its
/// checksum.
fn icmpv6(src: Ipv6Addr, dst: Ipv6Addr, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(body.len() as u16).to_be_bytes());
    p.extend_from_slice(&[NEXT_ICMPV6, ND_HOP_LIMIT]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(body);
    let sum = checksum(
        pseudo_v6(&p[8..24], &p[24..40], NEXT_ICMPV6, body.len()),
        &p[IPV6_HDR..],
    );
    p[IPV6_HDR + 2..IPV6_HDR + 4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The multicast MAC of an IPv6 multicast address (RFC 2464).
fn multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// A solicitation for `target` from `src` (our MAC `mac`), to the
/// target's solicited-node group: the packet and the frame's destination.
pub fn solicitation(src: Ipv6Addr, target: Ipv6Addr, mac: [u8; 6]) -> (Vec<u8>, [u8; 6]) {
    let t = target.octets();
    let group = Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]]);
    let mut body = vec![NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&t);
    body.extend_from_slice(&[OPT_SOURCE_LL, 1]);
    body.extend_from_slice(&mac);
    (icmpv6(src, group, &body), multicast_mac(group))
}

/// The advertisement of our `target` at `mac` answering a solicitation
/// from `to` (at `to_mac`); to all nodes when `to` is unspecified (a
/// duplicate address check).
pub fn advertisement(target: Ipv6Addr, to: Ipv6Addr, mac: [u8; 6], to_mac: [u8; 6]) -> (Vec<u8>, [u8; 6]) {
    let (dst, dst_mac, flags) = if to.is_unspecified() {
        (ALL_NODES, multicast_mac(ALL_NODES), NA_OVERRIDE)
    } else {
        (to, to_mac, NA_SOLICITED | NA_OVERRIDE)
    };
    let mut body = vec![NEIGHBOR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    body.extend_from_slice(&[OPT_TARGET_LL, 1]);
    body.extend_from_slice(&mac);
    (icmpv6(target, dst, &body), dst_mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicitation_round_trip() {
        let src: Ipv6Addr = "fd00::2".parse().unwrap();
        let target: Ipv6Addr = "fd00::1".parse().unwrap();
        let (p, mac) = solicitation(src, target, [2, 0, 0, 0, 0, 9]);
        assert_eq!(mac, [0x33, 0x33, 0xff, 0, 0, 1]);
        assert_eq!(
            parse(&p),
            Some(Message::Solicitation {
                src,
                target,
                src_mac: Some([2, 0, 0, 0, 0, 9])
            })
        );
        // The checksum verifies.
        assert_eq!(
            checksum(pseudo_v6(&p[8..24], &p[24..40], 58, p.len() - 40), &p[40..]),
            0
        );
        assert_eq!(ipv6_packet(&[p.clone(), vec![0; 6]].concat()), Some(p));
    }

    #[test]
    fn advertisement_parses() {
        let target: Ipv6Addr = "fd00::2".parse().unwrap();
        let (p, mac) = advertisement(target, "fd00::1".parse().unwrap(), [2; 6], [4; 6]);
        assert_eq!(mac, [4; 6]);
        assert_eq!(
            parse(&p),
            Some(Message::Advertisement {
                target,
                target_mac: Some([2; 6])
            })
        );
        let (_, mac) = advertisement(target, Ipv6Addr::UNSPECIFIED, [2; 6], [4; 6]);
        assert_eq!(mac, [0x33, 0x33, 0, 0, 0, 1]);
    }
}
