//! The loopback device the stack sends through: every packet sent is
//! received back in order, but packets routed out of a taken-over
//! interface, which go to [`super::nic::Nics`] (and what those receive
//! comes in after the looped-back packets). It also holds back SYNs for listeners whose
//! accept queue is full, so the client retransmits them later (as Linux
//! drops them, tcp_conn_request) instead of being refused.

use super::iface::Counters;
use super::nic::Nics;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest IP packet: an IPv4 total length is 16 bits.
pub const MTU: usize = 65535;
const IPPROTO_TCP: u8 = 6;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

#[derive(Default)]
pub struct Loopback {
    queue: VecDeque<Vec<u8>>,
    /// Packets one `Interface::poll` may still take in: the stack refills
    /// its listeners between polls.
    pub budget: usize,
    /// Listening endpoints that take no new connection now.
    pub full: HashSet<(IpAddr, u16)>,
    /// The taken-over interfaces (none with `--network=none`).
    pub nics: Nics,
    /// The loopback interface's counters (each packet is sent and received).
    pub lo: Counters,
}

impl Loopback {
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.nics.rx.is_empty()
    }

    /// The next packet to take in, dropping SYNs to full listeners.
    fn next_packet(&mut self) -> Option<Vec<u8>> {
        while let Some(packet) = self.queue.pop_front().or_else(|| self.nics.rx.pop_front()) {
            match syn_destination(&packet) {
                Some(dest) if self.full.contains(&dest) => continue,
                _ => return Some(packet),
            }
        }
        None
    }
}

/// The destination of a TCP SYN (without ACK), if `packet` is one.
fn syn_destination(packet: &[u8]) -> Option<(IpAddr, u16)> {
    let (ip, tcp): (IpAddr, &[u8]) = match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0xf) * 4;
            if *packet.get(9)? != IPPROTO_TCP {
                return None;
            }
            let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            (IpAddr::V4(Ipv4Addr::from(dst)), packet.get(ihl..)?)
        }
        6 => {
            if *packet.get(6)? != IPPROTO_TCP {
                return None;
            }
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            (IpAddr::V6(Ipv6Addr::from(dst)), packet.get(40..)?)
        }
        _ => return None,
    };
    let flags = *tcp.get(13)?;
    if flags & TCP_SYN == 0 || flags & TCP_ACK != 0 {
        return None;
    }
    Some((ip, u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?])))
}

impl Device for Loopback {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MTU;
        caps.medium = Medium::Ip;
        caps.checksum = phy::ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        if self.budget == 0 {
            return None;
        }
        let packet = self.next_packet()?;
        self.budget -= 1;
        Some((
            RxToken(packet),
            TxToken {
                queue: &mut self.queue,
                nics: &mut self.nics,
                lo: &mut self.lo,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            queue: &mut self.queue,
            nics: &mut self.nics,
            lo: &mut self.lo,
        })
    }
}

pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

pub struct TxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    nics: &'a mut Nics,
    lo: &'a mut Counters,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        if let Err(local) = self.nics.try_send(packet) {
            self.lo.count_tx(local.len());
            self.lo.count_rx(local.len());
            self.queue.push_back(local);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_syns() {
        let mut v4 = vec![0u8; 40];
        v4[0] = 0x45;
        v4[9] = IPPROTO_TCP;
        v4[16..20].copy_from_slice(&[127, 0, 0, 1]);
        v4[22..24].copy_from_slice(&80u16.to_be_bytes());
        v4[33] = TCP_SYN;
        assert_eq!(syn_destination(&v4), Some(("127.0.0.1".parse().unwrap(), 80)));
        v4[33] = TCP_SYN | TCP_ACK;
        assert_eq!(syn_destination(&v4), None);
        assert_eq!(syn_destination(&v4[..10]), None);
        assert_eq!(syn_destination(&[]), None);
    }
}
