//! netdevice(7) ioctls on a socket of any family: the interface list,
//! flags, index, name, MTU and hardware address of the sandbox's
//! interfaces (Linux's dev_ioctl and dev_ifconf), and, on AF_INET
//! sockets only, the IPv4 address, netmask and broadcast address
//! (devinet_ioctl). Nothing can be changed: a SIOCS* ioctl is EPERM
//! without CAP_NET_ADMIN, as Linux, and EOPNOTSUPP with it.

use super::inet::iface::{IfAddr, Interface, Network, IFF_LOOPBACK};
use super::netlink::route::broadcast_of;
use super::netlink::tables::prefix_mask_v4;
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use std::net::{IpAddr, Ipv4Addr};

const SIOCGIFNAME: u32 = 0x8910;
const SIOCGIFCONF: u32 = 0x8912;
const SIOCGIFFLAGS: u32 = 0x8913;
const SIOCGIFADDR: u32 = 0x8915;
const SIOCGIFDSTADDR: u32 = 0x8917;
const SIOCGIFBRDADDR: u32 = 0x8919;
const SIOCGIFNETMASK: u32 = 0x891b;
const SIOCGIFMETRIC: u32 = 0x891d;
const SIOCGIFMTU: u32 = 0x8921;
const SIOCGIFHWADDR: u32 = 0x8927;
const SIOCGIFINDEX: u32 = 0x8933;
const SIOCGIFTXQLEN: u32 = 0x8942;
/// The interface-changing ioctls: SIOCSIFLINK..SIOCSIFHWADDR's range
/// (flags, addresses, MTU, hardware address, name, ...) and the
/// route ioctls SIOCADDRT/SIOCDELRT.
const SET_IOCTLS: [u32; 14] = [
    0x890b, 0x890c, 0x8914, 0x8916, 0x8918, 0x891a, 0x891c, 0x891e, 0x8922, 0x8923, 0x8924, 0x8936, 0x8943, 0x8911,
];

/// sizeof(struct ifreq) and its name field (IFNAMSIZ).
const IFREQ_LEN: usize = 40;
const IFNAMSIZ: usize = 16;
/// sizeof(struct ifconf).
const IFCONF_LEN: usize = 16;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const CAP_NET_ADMIN: u32 = 12;
/// The transmit queue length of the sandbox's interfaces (as netlink's
/// IFLA_TXQLEN).
const TXQLEN: i32 = 1000;

/// The address ioctls only inet_ioctl knows: other families fall
/// through to dev_ioctl, which does not (ENOTTY).
const INET_ONLY: [u32; 4] = [SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK];
/// The ifreq ioctls that read an interface's state.
const GET_IOCTLS: [u32; 11] = [
    SIOCGIFNAME,
    SIOCGIFFLAGS,
    SIOCGIFADDR,
    SIOCGIFDSTADDR,
    SIOCGIFBRDADDR,
    SIOCGIFNETMASK,
    SIOCGIFMETRIC,
    SIOCGIFMTU,
    SIOCGIFHWADDR,
    SIOCGIFINDEX,
    SIOCGIFTXQLEN,
];

/// True for the commands [`ioctl`] serves.
pub fn is_netdevice(cmd: u32) -> bool {
    cmd == SIOCGIFCONF || GET_IOCTLS.contains(&cmd) || SET_IOCTLS.contains(&cmd)
}

/// A netdevice ioctl on a socket of `family`.
pub fn ioctl(task: &Task, family: i32, cmd: u32, arg: u64) -> Result<u64> {
    let net = &task.kernel.network;
    match cmd {
        SIOCGIFCONF => ifconf(task, net, arg),
        _ if SET_IOCTLS.contains(&cmd) => Err(if task.creds.capable(CAP_NET_ADMIN) {
            Errno::EOPNOTSUPP
        } else {
            Errno::EPERM
        }),
        _ if INET_ONLY.contains(&cmd) && family != libc::AF_INET => Err(Errno::ENOTTY),
        _ => ifreq(task.mm.as_ref(), net, cmd, arg),
    }
}

/// Reads the struct ifreq at `arg`, answers `cmd` into its union, writes
/// it back.
fn ifreq(mem: &dyn UserMemory, net: &Network, cmd: u32, arg: u64) -> Result<u64> {
    let mut req: [u8; IFREQ_LEN] = mem.read_vec(arg, IFREQ_LEN)?.try_into().map_err(|_| Errno::EFAULT)?;
    if cmd == SIOCGIFNAME {
        let index = i32::from_le_bytes([req[16], req[17], req[18], req[19]]);
        let iface = u32::try_from(index)
            .ok()
            .and_then(|i| net.by_index(i))
            .ok_or(Errno::ENODEV)?;
        req[..IFNAMSIZ].fill(0);
        let n = iface.name.len().min(IFNAMSIZ - 1);
        req[..n].copy_from_slice(&iface.name.as_bytes()[..n]);
        mem.write(arg, &req)?;
        return Ok(0);
    }
    // dev_ioctl terminates the name at IFNAMSIZ - 1.
    let name_bytes = &req[..IFNAMSIZ - 1];
    let name_len = name_bytes.iter().position(|&b| b == 0).unwrap_or(name_bytes.len());
    let name = std::str::from_utf8(&name_bytes[..name_len]).map_err(|_| Errno::ENODEV)?;
    let iface = net.by_name(name).ok_or(Errno::ENODEV)?;
    let value = answer(iface, cmd)?;
    req[IFNAMSIZ..].fill(0);
    req[IFNAMSIZ..IFNAMSIZ + value.len()].copy_from_slice(&value);
    mem.write(arg, &req)?;
    Ok(0)
}

/// The bytes of the ifreq union `cmd` asks for about `iface`.
fn answer(iface: &Interface, cmd: u32) -> Result<Vec<u8>> {
    let int = |v: i32| v.to_le_bytes().to_vec();
    Ok(match cmd {
        // ifr_flags is a short: the flags above 0xffff (IFF_LOWER_UP...) are
        // only seen through netlink.
        SIOCGIFFLAGS => (iface.flags as u16).to_le_bytes().to_vec(),
        SIOCGIFINDEX => int(iface.index as i32),
        SIOCGIFMTU => int(iface.mtu as i32),
        SIOCGIFMETRIC => int(0),
        SIOCGIFTXQLEN => int(TXQLEN),
        SIOCGIFHWADDR => {
            let ty = if iface.flags & IFF_LOOPBACK != 0 {
                ARPHRD_LOOPBACK
            } else {
                ARPHRD_ETHER
            };
            let mut sa = ty.to_le_bytes().to_vec();
            sa.extend_from_slice(&iface.mac);
            sa.resize(16, 0);
            sa
        }
        _ => {
            let a = first_v4(iface).ok_or(Errno::EADDRNOTAVAIL)?;
            let ip = match cmd {
                SIOCGIFNETMASK => Ipv4Addr::from(prefix_mask_v4(a.prefix)),
                SIOCGIFBRDADDR => match broadcast_of(iface, &a) {
                    Some(IpAddr::V4(b)) => b,
                    _ => Ipv4Addr::UNSPECIFIED,
                },
                _ => v4_of(&a),
            };
            sockaddr_in(ip)
        }
    })
}

fn first_v4(iface: &Interface) -> Option<IfAddr> {
    iface.addrs.iter().copied().find(|a| a.addr.is_ipv4())
}

fn v4_of(a: &IfAddr) -> Ipv4Addr {
    match a.addr {
        IpAddr::V4(v) => v,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

/// A struct sockaddr_in (16 bytes) for `ip`, port 0.
fn sockaddr_in(ip: Ipv4Addr) -> Vec<u8> {
    let mut sa = (libc::AF_INET as u16).to_le_bytes().to_vec();
    sa.extend_from_slice(&[0, 0]);
    sa.extend_from_slice(&ip.octets());
    sa.resize(16, 0);
    sa
}

/// SIOCGIFCONF (netdevice(7)): one struct ifreq per IPv4 address, named
/// by its interface. A NULL ifc_req asks only for the length needed;
/// otherwise as many whole entries as fit, and ifc_len becomes the bytes
/// written.
fn ifconf(task: &Task, net: &Network, arg: u64) -> Result<u64> {
    let conf: [u8; IFCONF_LEN] = task.mm.read_val(arg)?;
    let len = i32::from_le_bytes([conf[0], conf[1], conf[2], conf[3]]);
    let buf = u64::from_le_bytes(conf[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    let mut entries = Vec::new();
    for iface in &net.interfaces {
        for a in iface.addrs.iter().filter(|a| a.addr.is_ipv4()) {
            let mut req = [0u8; IFREQ_LEN];
            let n = iface.name.len().min(IFNAMSIZ - 1);
            req[..n].copy_from_slice(&iface.name.as_bytes()[..n]);
            req[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(v4_of(a)));
            entries.push(req);
        }
    }
    let written = if buf == 0 {
        entries.len() * IFREQ_LEN
    } else {
        let fit = usize::try_from(len).unwrap_or(0) / IFREQ_LEN;
        let out: Vec<u8> = entries.iter().take(fit).flatten().copied().collect();
        task.mm.write(buf, &out)?;
        out.len()
    };
    task.mm.write_val(arg, &(written as i32))?;
    Ok(0)
}
