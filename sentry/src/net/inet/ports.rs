//! Port ownership: who is bound to which (protocol, address, port), the
//! bind(2) conflict rules of ip(7) and socket(7) (SO_REUSEADDR,
//! SO_REUSEPORT, IPV6_V6ONLY) and ephemeral port choice
//! (/proc/sys/net/ipv4/ip_local_port_range).

use crate::errno::{Errno, Result};
use std::collections::HashMap;
use std::net::IpAddr;

/// ip_local_port_range's default.
pub const EPHEMERAL_FIRST: u16 = 32768;
pub const EPHEMERAL_LAST: u16 = 60999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    /// Ping sockets: the "port" is the echo identifier.
    Icmp,
}

/// One bound socket's claim on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// Which socket holds it.
    pub owner: u64,
    /// The bound address (unmapped: a v4-mapped bind is an IPv4 bind);
    /// a wildcard of either family.
    pub addr: IpAddr,
    /// An IPv6 wildcard that does not cover IPv4 (IPV6_V6ONLY).
    pub v6only: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// A TCP listener: SO_REUSEADDR does not share a port with it.
    pub listening: bool,
}

impl Binding {
    /// True when the two bindings may receive the same packets.
    fn overlaps(&self, other: &Binding) -> bool {
        self.covers(other.addr, other.v6only) || other.covers(self.addr, self.v6only)
    }

    /// True when this binding covers `addr` (bound with `v6only`).
    fn covers(&self, addr: IpAddr, v6only: bool) -> bool {
        if self.addr == addr {
            return true;
        }
        if !self.addr.is_unspecified() {
            return false;
        }
        match (self.addr, addr) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => true,
            // A dual-stack IPv6 wildcard covers IPv4 addresses.
            (IpAddr::V6(_), IpAddr::V4(_)) => !self.v6only,
            // An IPv4 wildcard meets a dual-stack IPv6 wildcard.
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.is_unspecified() && !v6only,
        }
    }

    /// True when `self` may be bound next to `other` (inet_csk_bind_conflict
    /// and udp_lib_lport_inuse, without the uid checks: one user owns the
    /// sandbox's sockets).
    fn may_share(&self, other: &Binding, proto: Proto) -> bool {
        if !self.overlaps(other) {
            return true;
        }
        if self.reuseport && other.reuseport {
            return true;
        }
        match proto {
            Proto::Tcp => self.reuseaddr && other.reuseaddr && !other.listening,
            Proto::Udp | Proto::Icmp => self.reuseaddr && other.reuseaddr,
        }
    }
}

/// Every bound port of the stack.
#[derive(Default)]
pub struct PortTable {
    bound: HashMap<(Proto, u16), Vec<Binding>>,
    /// Where the next ephemeral search starts.
    next_ephemeral: u16,
}

impl PortTable {
    /// Binds `binding` to `port`, or to an ephemeral port when `port` is 0.
    /// Returns the port.
    pub fn bind(&mut self, proto: Proto, port: u16, binding: Binding) -> Result<u16> {
        if port != 0 {
            if !self.is_free(proto, port, &binding) {
                return Err(Errno::EADDRINUSE);
            }
            self.bound.entry((proto, port)).or_default().push(binding);
            return Ok(port);
        }
        let port = self.ephemeral(proto)?;
        self.bound.entry((proto, port)).or_default().push(binding);
        Ok(port)
    }

    fn is_free(&self, proto: Proto, port: u16, binding: &Binding) -> bool {
        self.bound.get(&(proto, port)).is_none_or(|all| {
            all.iter()
                .all(|b| b.owner == binding.owner || binding.may_share(b, proto))
        })
    }

    /// An ephemeral port nobody holds (a port 0 bind never shares, even
    /// with SO_REUSEADDR, as inet_csk_find_open_port prefers free ports).
    fn ephemeral(&mut self, proto: Proto) -> Result<u16> {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        if self.next_ephemeral < EPHEMERAL_FIRST || self.next_ephemeral > EPHEMERAL_LAST {
            // Start somewhere that differs between sandboxes, as Linux does.
            let seed = std::process::id().wrapping_mul(2_654_435_761);
            self.next_ephemeral = EPHEMERAL_FIRST + (seed % span) as u16;
        }
        let start = u32::from(self.next_ephemeral - EPHEMERAL_FIRST);
        for step in 0..span {
            let port = EPHEMERAL_FIRST + ((start + step) % span) as u16;
            let unused = self.bound.get(&(proto, port)).is_none_or(|v| v.is_empty());
            if unused {
                self.next_ephemeral = if port == EPHEMERAL_LAST {
                    EPHEMERAL_FIRST
                } else {
                    port + 1
                };
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// Marks `owner`'s binding on `port` as listening (or not); EADDRINUSE
    /// if another socket on the port forbids it (a second listener needs
    /// SO_REUSEPORT on both).
    pub fn set_listening(&mut self, proto: Proto, port: u16, owner: u64) -> Result<()> {
        let Some(all) = self.bound.get_mut(&(proto, port)) else {
            return Err(Errno::EINVAL);
        };
        let Some(mine) = all.iter().find(|b| b.owner == owner).copied() else {
            return Err(Errno::EINVAL);
        };
        let clash = all
            .iter()
            .any(|b| b.owner != owner && b.listening && mine.overlaps(b) && !(mine.reuseport && b.reuseport));
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        for b in all.iter_mut().filter(|b| b.owner == owner) {
            b.listening = true;
        }
        Ok(())
    }

    /// Drops `owner`'s binding of `port`.
    pub fn release(&mut self, proto: Proto, port: u16, owner: u64) {
        if let Some(all) = self.bound.get_mut(&(proto, port)) {
            all.retain(|b| b.owner != owner);
            if all.is_empty() {
                self.bound.remove(&(proto, port));
            }
        }
    }

    /// The bindings on a port (for delivery decisions and tests).
    pub fn bindings(&self, proto: Proto, port: u16) -> &[Binding] {
        self.bound.get(&(proto, port)).map_or(&[], |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(owner: u64, addr: &str) -> Binding {
        Binding {
            owner,
            addr: addr.parse().unwrap(),
            v6only: false,
            reuseaddr: false,
            reuseport: false,
            listening: false,
        }
    }

    #[test]
    fn same_port_conflicts_unless_addresses_differ() {
        let mut t = PortTable::default();
        assert_eq!(t.bind(Proto::Tcp, 80, b(1, "127.0.0.1")), Ok(80));
        assert_eq!(t.bind(Proto::Tcp, 80, b(2, "127.0.0.1")), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind(Proto::Tcp, 80, b(2, "127.0.0.2")), Ok(80));
        assert_eq!(t.bind(Proto::Tcp, 80, b(3, "0.0.0.0")), Err(Errno::EADDRINUSE));
        // Another protocol has its own ports.
        assert_eq!(t.bind(Proto::Udp, 80, b(3, "0.0.0.0")), Ok(80));
        t.release(Proto::Tcp, 80, 1);
        t.release(Proto::Tcp, 80, 2);
        assert_eq!(t.bind(Proto::Tcp, 80, b(3, "0.0.0.0")), Ok(80));
    }

    #[test]
    fn v6only_separates_the_families() {
        let mut t = PortTable::default();
        assert_eq!(t.bind(Proto::Tcp, 90, b(1, "0.0.0.0")), Ok(90));
        assert_eq!(t.bind(Proto::Tcp, 90, b(2, "::")), Err(Errno::EADDRINUSE));
        let v6only = Binding {
            v6only: true,
            ..b(2, "::")
        };
        assert_eq!(t.bind(Proto::Tcp, 90, v6only), Ok(90));
        assert_eq!(t.bind(Proto::Tcp, 90, b(3, "::1")), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind(Proto::Tcp, 91, b(4, "::")), Ok(91));
        assert_eq!(t.bind(Proto::Tcp, 91, b(5, "127.0.0.1")), Err(Errno::EADDRINUSE));
    }

    #[test]
    fn reuseaddr_and_reuseport_rules() {
        let mut t = PortTable::default();
        let ra = |o| Binding {
            reuseaddr: true,
            ..b(o, "127.0.0.1")
        };
        let rp = |o| Binding {
            reuseport: true,
            ..b(o, "127.0.0.1")
        };
        assert_eq!(t.bind(Proto::Tcp, 100, ra(1)), Ok(100));
        assert_eq!(t.bind(Proto::Tcp, 100, ra(2)), Ok(100));
        assert_eq!(t.set_listening(Proto::Tcp, 100, 1), Ok(()));
        // SO_REUSEADDR does not share with a listener.
        assert_eq!(t.bind(Proto::Tcp, 100, ra(3)), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind(Proto::Tcp, 101, rp(1)), Ok(101));
        assert_eq!(t.set_listening(Proto::Tcp, 101, 1), Ok(()));
        assert_eq!(t.bind(Proto::Tcp, 101, rp(2)), Ok(101));
        assert_eq!(t.set_listening(Proto::Tcp, 101, 2), Ok(()));
        assert_eq!(t.bind(Proto::Udp, 102, ra(1)), Ok(102));
        assert_eq!(t.bind(Proto::Udp, 102, ra(2)), Ok(102));
    }

    #[test]
    fn ephemeral_ports_are_in_range_and_distinct() {
        let mut t = PortTable::default();
        let mut seen = std::collections::HashSet::new();
        for owner in 0..1000 {
            let port = t.bind(Proto::Tcp, 0, b(owner, "0.0.0.0")).unwrap();
            assert!((EPHEMERAL_FIRST..=EPHEMERAL_LAST).contains(&port));
            assert!(seen.insert(port));
        }
    }

    #[test]
    fn ephemeral_ports_run_out() {
        let mut t = PortTable::default();
        let span = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for owner in 0..span {
            assert!(t.bind(Proto::Udp, 0, b(owner, "0.0.0.0")).is_ok());
        }
        assert_eq!(t.bind(Proto::Udp, 0, b(span, "0.0.0.0")), Err(Errno::EADDRINUSE));
    }
}
