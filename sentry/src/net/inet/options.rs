//! Options of Internet sockets: socket(7) options stored as for every
//! family, plus ip(7) IP_TOS/IP_TTL, ipv6(7) IPV6_V6ONLY and tcp(7)
//! TCP_NODELAY and the keepalive timers.

use super::addr::Family;
use crate::errno::{Errno, Result};
use crate::net::options::Options;
use std::time::Duration;

/// tcp_rmem[1] and tcp_wmem[1]: what SO_RCVBUF/SO_SNDBUF report on a new
/// TCP socket.
pub const TCP_DEFAULT_RCVBUF: usize = 131_072;
pub const TCP_DEFAULT_SNDBUF: usize = 16_384;
/// tcp(7) defaults: tcp_keepalive_time, _intvl, _probes.
const KEEPIDLE_DEFAULT: i32 = 7200;
const KEEPINTVL_DEFAULT: i32 = 75;
const KEEPCNT_DEFAULT: i32 = 9;
/// MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT.
const KEEPIDLE_MAX: i32 = 32767;
const KEEPCNT_MAX: i32 = 127;
/// IPV6_TCLASS and IP_TOS keep only these bits on TCP (the ECN bits are the stack's).
const TOS_MASK: i32 = 0xfc;

pub struct InetOptions {
    pub sock: Options,
    pub v6only: bool,
    pub tos: i32,
    /// IP_TTL / IPV6_UNICAST_HOPS; -1 is the default (64).
    pub ttl: i32,
    pub nodelay: bool,
    pub keepidle: i32,
    pub keepintvl: i32,
    pub keepcnt: i32,
}

fn int(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// The int an option takes (EINVAL when shorter than an int; a
/// shorter value is read as one byte for the IP options, as ip(7) allows).
fn as_int(val: &[u8]) -> Result<i32> {
    let b: [u8; 4] = val.get(..4).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?;
    Ok(i32::from_le_bytes(b))
}

fn ip_int(val: &[u8]) -> Result<i32> {
    match val.len() {
        0 => Err(Errno::EINVAL),
        1..=3 => Ok(i32::from(val[0])),
        _ => as_int(val),
    }
}

impl InetOptions {
    pub fn new(stream: bool) -> InetOptions {
        let mut sock = Options::default();
        if stream {
            sock.rcvbuf = TCP_DEFAULT_RCVBUF;
            sock.sndbuf = TCP_DEFAULT_SNDBUF;
        }
        InetOptions {
            sock,
            v6only: false,
            tos: 0,
            ttl: -1,
            nodelay: false,
            keepidle: KEEPIDLE_DEFAULT,
            keepintvl: KEEPINTVL_DEFAULT,
            keepcnt: KEEPCNT_DEFAULT,
        }
    }

    /// A copy for an accepted connection (it inherits the listener's options).
    pub fn inherit(&self) -> InetOptions {
        let mut sock = Options::default();
        for name in [
            libc::SO_RCVBUF,
            libc::SO_SNDBUF,
            libc::SO_KEEPALIVE,
            libc::SO_REUSEADDR,
            libc::SO_LINGER,
        ] {
            if let Some(v) = self.sock.get(name) {
                let _ = sock.set(name, &v);
            }
        }
        sock.rcvbuf = self.sock.rcvbuf;
        sock.sndbuf = self.sock.sndbuf;
        sock.rcvbuf_set = self.sock.rcvbuf_set;
        sock.sndbuf_set = self.sock.sndbuf_set;
        sock.rcvtimeo = self.sock.rcvtimeo;
        sock.sndtimeo = self.sock.sndtimeo;
        InetOptions {
            sock,
            v6only: self.v6only,
            tos: self.tos,
            ttl: self.ttl,
            nodelay: self.nodelay,
            keepidle: self.keepidle,
            keepintvl: self.keepintvl,
            keepcnt: self.keepcnt,
        }
    }

    pub fn flag(&self, name: i32) -> bool {
        self.sock.get(name).is_some_and(|v| v.iter().any(|&b| b != 0))
    }

    /// TCP keepalive when SO_KEEPALIVE is on: smoltcp probes after one
    /// idle interval and then at the same interval, so TCP_KEEPIDLE is
    /// used for both (TCP_KEEPINTVL and TCP_KEEPCNT are only recorded).
    pub fn keepalive(&self) -> Option<Duration> {
        self.flag(libc::SO_KEEPALIVE)
            .then(|| Duration::from_secs(self.keepidle.max(1) as u64))
    }

    /// getsockopt at an IP, IPv6 or TCP level (SOL_SOCKET is the socket's).
    pub fn get(&self, level: i32, name: i32, family: Family, tcp: bool) -> Result<Vec<u8>> {
        match (level, name) {
            (libc::IPPROTO_IP, libc::IP_TOS) => Ok(int(self.tos)),
            (libc::IPPROTO_IP, libc::IP_TTL) => Ok(int(if self.ttl < 0 { 64 } else { self.ttl })),
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if family == Family::V6 => Ok(int(self.v6only as i32)),
            (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS) if family == Family::V6 => {
                Ok(int(if self.ttl < 0 { 64 } else { self.ttl }))
            }
            (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) if family == Family::V6 => Ok(int(self.tos)),
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) if tcp => Ok(int(self.nodelay as i32)),
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) if tcp => Ok(int(self.keepidle)),
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) if tcp => Ok(int(self.keepintvl)),
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) if tcp => Ok(int(self.keepcnt)),
            // A level the socket lacks is EOPNOTSUPP for getsockopt
            // (ip_getsockopt), an unknown option of its levels ENOPROTOOPT.
            _ if Self::has_level(level, family, tcp) => Err(Errno::ENOPROTOOPT),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    fn has_level(level: i32, family: Family, tcp: bool) -> bool {
        match level {
            libc::IPPROTO_IP => true,
            libc::IPPROTO_IPV6 => family == Family::V6,
            libc::IPPROTO_TCP => tcp,
            libc::IPPROTO_UDP => !tcp,
            _ => false,
        }
    }

    /// setsockopt at an IP, IPv6 or TCP level. `bound` forbids changing
    /// IPV6_V6ONLY (ipv6(7): EINVAL once bound).
    pub fn set(&mut self, level: i32, name: i32, val: &[u8], family: Family, tcp: bool, bound: bool) -> Result<()> {
        match (level, name) {
            (libc::IPPROTO_IP, libc::IP_TOS) => {
                let v = ip_int(val)?;
                self.tos = if tcp { v & TOS_MASK } else { v & 0xff };
            }
            (libc::IPPROTO_IP, libc::IP_TTL) => {
                let v = ip_int(val)?;
                if !(-1..=255).contains(&v) || v == 0 {
                    return Err(Errno::EINVAL);
                }
                self.ttl = v;
            }
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if family == Family::V6 => {
                let v = as_int(val)?;
                if bound {
                    return Err(Errno::EINVAL);
                }
                self.v6only = v != 0;
            }
            (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS) if family == Family::V6 => {
                let v = as_int(val)?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.ttl = v;
            }
            (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) if family == Family::V6 => {
                let v = as_int(val)?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.tos = v.max(0);
            }
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) if tcp => self.nodelay = as_int(val)? != 0,
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) if tcp => self.keepidle = keep_value(val, KEEPIDLE_MAX)?,
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) if tcp => self.keepintvl = keep_value(val, KEEPIDLE_MAX)?,
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) if tcp => self.keepcnt = keep_value(val, KEEPCNT_MAX)?,
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }
}

/// tcp(7): the keepalive values run from 1 to their maximum (EINVAL).
fn keep_value(val: &[u8], max: i32) -> Result<i32> {
    let v = as_int(val)?;
    if !(1..=max).contains(&v) {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}
