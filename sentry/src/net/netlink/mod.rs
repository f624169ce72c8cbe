//! AF_NETLINK sockets (netlink(7)). NETLINK_ROUTE is answered from the
//! sandbox's interface data (`route`); other protocols are not served
//! (EPROTONOSUPPORT, what Linux says for a protocol it has no kernel
//! socket for).
//!
//! - `msg`: message and attribute framing, acks and NLMSG_DONE;
//! - `route`: rtnetlink requests;
//! - `tables`: the routing tables derived from the interfaces, shared
//!   with /proc/net.
//!
//! A socket's port id (nl_pid) is assigned at bind or on first send
//! (the process's tgid when free, else a negative number, as
//! netlink_autobind). Messages addressed to another socket's port are
//! delivered to it; the kernel's port is 0. The network never changes,
//! so multicast groups (route notifications) can be joined but carry
//! nothing.

pub mod msg;
pub mod route;
pub mod tables;

use super::options::Options;
use super::socket::{Received, RecvFlags, SendArgs, Socket};
use super::{SocketInode, Wait};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::net::inet::iface::Network;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

pub const NETLINK_ROUTE: i32 = 0;
/// Number of netlink protocols (MAX_LINKS).
const MAX_LINKS: i32 = 32;
/// sizeof(struct sockaddr_nl).
pub const SOCKADDR_NL_LEN: usize = 12;
/// SOL_NETLINK options (linux/netlink.h).
const SOL_NETLINK: i32 = 270;
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_DROP_MEMBERSHIP: i32 = 2;
const NETLINK_LIST_MEMBERSHIPS: i32 = 9;
const NETLINK_CAP_ACK: i32 = 10;
/// Boolean SOL_NETLINK options that are recorded and reported back:
/// PKTINFO, BROADCAST_ERROR, NO_ENOBUFS, LISTEN_ALL_NSID, CAP_ACK,
/// EXT_ACK, GET_STRICT_CHK.
const FLAG_OPTIONS: [i32; 7] = [3, 4, 5, 8, NETLINK_CAP_ACK, 11, 12];
/// rtnetlink's multicast groups (RTNLGRP_MAX).
const ROUTE_GROUPS: u32 = 36;
/// What one dump datagram holds at most (NLMSG_GOODSIZE with 4 KiB pages).
const DUMP_BUDGET: usize = 3776;
const CAP_NET_ADMIN: u32 = 12;
/// Bytes a send may carry (sk_sndbuf less the skb overhead netlink allows).
const SEND_OVERHEAD: usize = 32;

/// The bound port ids of the sandbox's netlink sockets.
#[derive(Default)]
pub struct Ports {
    bound: Mutex<HashMap<u32, Weak<NetlinkSocket>>>,
    /// The next port id tried when the tgid is taken (counts down from
    /// -4097, as netlink_autobind's rover).
    rover: Mutex<i32>,
}

impl Ports {
    fn lock(&self) -> Result<MutexGuard<'_, HashMap<u32, Weak<NetlinkSocket>>>> {
        self.bound.lock().map_err(|_| Errno::EIO)
    }

    fn find(&self, port: u32) -> Option<Arc<NetlinkSocket>> {
        self.lock().ok()?.get(&port)?.upgrade()
    }

    /// A free port: `preferred` (the tgid) when free, else the rover's next.
    fn pick(&self, taken: &HashMap<u32, Weak<NetlinkSocket>>, preferred: Option<i32>) -> u32 {
        if let Some(p) = preferred.filter(|&p| p > 0 && !taken.contains_key(&(p as u32))) {
            return p as u32;
        }
        let mut rover = self.rover.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *rover >= -4096 {
                *rover = -4097;
            }
            let port = *rover as u32;
            *rover = rover.wrapping_sub(1);
            if !taken.contains_key(&port) {
                return port;
            }
        }
    }
}

/// A datagram waiting to be read: who sent it and its bytes.
struct Datagram {
    from_port: u32,
    data: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// Our port id; 0 until bound.
    port: u32,
    /// Multicast groups joined (bit n-1 for group n).
    groups: u64,
    /// connect(2)'s destination.
    dst_port: u32,
    dst_groups: u32,
    rx: VecDeque<Datagram>,
    /// Bytes queued in `rx`, held to SO_RCVBUF.
    rx_bytes: usize,
    /// A reply was dropped for want of room: the next receive fails with
    /// ENOBUFS (netlink(7)), once.
    overrun: bool,
    opts: Options,
    /// FLAG_OPTIONS that are on.
    nl_flags: Vec<i32>,
}

pub struct NetlinkSocket {
    me: Weak<NetlinkSocket>,
    inode: Arc<SocketInode>,
    sock_type: i32,
    protocol: i32,
    network: Arc<Network>,
    ports: Arc<Ports>,
    /// The opener held CAP_NET_ADMIN (netlink_net_capable checks the
    /// socket's opener as well as the sender).
    opener_net_admin: bool,
    state: Mutex<State>,
    changed: Condvar,
}

/// socket(AF_NETLINK, ...): SOCK_RAW or SOCK_DGRAM; NETLINK_ROUTE only.
pub fn create(task: &Task, ty: i32, protocol: i32, inode: Arc<SocketInode>) -> Result<Arc<dyn Socket>> {
    if ty != libc::SOCK_RAW && ty != libc::SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if !(0..MAX_LINKS).contains(&protocol) || protocol != NETLINK_ROUTE {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(Arc::new_cyclic(|me| NetlinkSocket {
        me: me.clone(),
        inode,
        sock_type: ty,
        protocol,
        network: task.kernel.network.clone(),
        ports: task.kernel.netlink_ports.clone(),
        opener_net_admin: task.creds.capable(CAP_NET_ADMIN),
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    }))
}

/// A struct sockaddr_nl.
fn sockaddr_nl(port: u32, groups: u32) -> Vec<u8> {
    let mut b = vec![0u8; SOCKADDR_NL_LEN];
    b[..2].copy_from_slice(&(libc::AF_NETLINK as u16).to_le_bytes());
    b[4..8].copy_from_slice(&port.to_le_bytes());
    b[8..12].copy_from_slice(&groups.to_le_bytes());
    b
}

/// (nl_pid, nl_groups) of a sockaddr_nl: EINVAL when short or not
/// AF_NETLINK.
fn parse_sockaddr_nl(raw: &[u8]) -> Result<(u32, u32)> {
    if raw.len() < SOCKADDR_NL_LEN || super::socket::family_of(raw) != libc::AF_NETLINK {
        return Err(Errno::EINVAL);
    }
    let word = |i: usize| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
    Ok((word(4), word(8)))
}

impl NetlinkSocket {
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Binds to `port` (0: pick one); EINVAL if already bound to another
    /// port, EADDRINUSE if the port is taken.
    fn bind_port(&self, st: &mut State, port: u32, tgid: Option<i32>) -> Result<()> {
        if st.port != 0 {
            return if port == 0 || port == st.port {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            };
        }
        let mut bound = self.ports.lock()?;
        bound.retain(|_, w| w.strong_count() > 0);
        let port = if port == 0 {
            self.ports.pick(&bound, tgid)
        } else if bound.contains_key(&port) {
            return Err(Errno::EADDRINUSE);
        } else {
            port
        };
        bound.insert(port, self.me.clone());
        st.port = port;
        Ok(())
    }

    fn net_admin(&self, task: Option<&Task>) -> bool {
        self.opener_net_admin && task.is_none_or(|t| t.creds.capable(CAP_NET_ADMIN))
    }

    /// Queues a datagram; one that does not fit in the receive buffer is
    /// dropped and reported as ENOBUFS, as Linux does.
    fn deliver(&self, from_port: u32, data: Vec<u8>) -> Result<()> {
        let mut st = self.lock()?;
        if st.rx_bytes + data.len() > st.opts.rcvbuf {
            st.overrun = true;
        } else {
            st.rx_bytes += data.len();
            st.rx.push_back(Datagram { from_port, data });
        }
        drop(st);
        self.changed.notify_all();
        Ok(())
    }

    /// Answers every message of a send to the kernel (netlink_rcv_skb):
    /// the replies are queued on this socket.
    fn to_kernel(&self, data: &[u8], task: Option<&Task>) -> Result<()> {
        let (port, cap_ack) = {
            let st = self.lock()?;
            (st.port, st.nl_flags.contains(&NETLINK_CAP_ACK))
        };
        let who = route::Asker {
            portid: port,
            net_admin: self.net_admin(task),
        };
        let mut replies = Vec::new();
        for req in msg::split(data) {
            let wants_ack = req.hdr.flags & msg::NLM_F_ACK != 0;
            // Messages that are not requests, and netlink's control
            // messages, are only acknowledged.
            let result = if req.hdr.flags & msg::NLM_F_REQUEST == 0 || req.hdr.ty < msg::NLMSG_MIN_TYPE {
                Ok(route::Answer::Ack)
            } else {
                route::answer(&self.network, &req, &who)
            };
            match result {
                Ok(route::Answer::Dump(messages)) => {
                    replies.extend(pack(messages));
                    replies.push(msg::done(req.hdr.seq, port, 0));
                }
                Ok(route::Answer::Reply(m)) => {
                    replies.push(m);
                    if wants_ack {
                        replies.push(msg::error_reply(&req, 0, port, cap_ack));
                    }
                }
                Ok(route::Answer::Ack) if wants_ack => replies.push(msg::error_reply(&req, 0, port, cap_ack)),
                Ok(route::Answer::Ack) => {}
                Err(e) => replies.push(msg::error_reply(&req, e.0, port, cap_ack)),
            }
        }
        for r in replies {
            self.deliver(0, r)?;
        }
        Ok(())
    }

    fn get_netlink_option(&self, name: i32) -> Result<Vec<u8>> {
        let st = self.lock()?;
        let int = |v: i32| v.to_le_bytes().to_vec();
        match name {
            NETLINK_LIST_MEMBERSHIPS => Ok(st.groups.to_le_bytes()[..4].to_vec()),
            n if FLAG_OPTIONS.contains(&n) => Ok(int(st.nl_flags.contains(&n) as i32)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn set_netlink_option(&self, name: i32, val: &[u8]) -> Result<()> {
        // netlink_setsockopt reads an int only when optlen holds one.
        let v = val.get(..4).map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut st = self.lock()?;
        match name {
            NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP => {
                if v <= 0 || v as u32 > ROUTE_GROUPS {
                    return Err(Errno::EINVAL);
                }
                let bit = 1u64 << (v - 1);
                if name == NETLINK_ADD_MEMBERSHIP {
                    st.groups |= bit;
                } else {
                    st.groups &= !bit;
                }
            }
            n if FLAG_OPTIONS.contains(&n) => {
                st.nl_flags.retain(|&f| f != n);
                if v != 0 {
                    st.nl_flags.push(n);
                }
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }
}

/// Packs dump messages into datagrams of at most DUMP_BUDGET bytes (a
/// larger message goes alone), as netlink_dump fills one skb at a time.
fn pack(messages: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for m in messages {
        match out.last_mut() {
            Some(last) if last.len() + m.len() <= DUMP_BUDGET => last.extend_from_slice(&m),
            _ => out.push(m),
        }
    }
    out
}

impl Socket for NetlinkSocket {
    fn family(&self) -> i32 {
        libc::AF_NETLINK
    }
    fn sock_type(&self) -> i32 {
        self.sock_type
    }
    fn protocol(&self) -> i32 {
        self.protocol
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, task: &Task, raw: &[u8]) -> Result<()> {
        let (port, groups) = parse_sockaddr_nl(raw)?;
        let mut st = self.lock()?;
        self.bind_port(&mut st, port, Some(task.tgid))?;
        // rtnetlink's groups may be joined without privilege
        // (NL_CFG_F_NONROOT_RECV); bind sets the first 32.
        st.groups = (st.groups & !u64::from(u32::MAX)) | u64::from(groups);
        Ok(())
    }

    fn listen(&self, _task: &Task, _backlog: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    /// netlink_connect: AF_UNSPEC disconnects; sending to a group needs
    /// CAP_NET_ADMIN (rtnetlink has no NL_CFG_F_NONROOT_SEND).
    fn connect(&self, task: &Task, raw: &[u8], _wait: &Wait) -> Result<()> {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.lock()?;
        if super::socket::family_of(raw) == libc::AF_UNSPEC {
            st.dst_port = 0;
            st.dst_groups = 0;
            return Ok(());
        }
        let (port, groups) = parse_sockaddr_nl(raw)?;
        if groups != 0 && !self.net_admin(Some(task)) {
            return Err(Errno::EPERM);
        }
        self.bind_port(&mut st, 0, Some(task.tgid))?;
        st.dst_port = port;
        st.dst_groups = groups;
        Ok(())
    }

    fn accept(&self, _wait: &Wait) -> Result<Arc<dyn Socket>> {
        Err(Errno::EOPNOTSUPP)
    }

    fn send(&self, task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        if args.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let (dst_port, dst_groups) = match args.to {
            Some(raw) => parse_sockaddr_nl(raw)?,
            None => {
                let st = self.lock()?;
                (st.dst_port, st.dst_groups)
            }
        };
        if args.to.is_some() && (dst_port != 0 || dst_groups != 0) && !self.net_admin(task) {
            return Err(Errno::EPERM);
        }
        {
            let mut st = self.lock()?;
            if data.len() > st.opts.sndbuf.saturating_sub(SEND_OVERHEAD) {
                return Err(Errno::EMSGSIZE);
            }
            self.bind_port(&mut st, 0, task.map(|t| t.tgid))?;
        }
        if dst_port != 0 {
            let from = self.lock()?.port;
            let peer = self.ports.find(dst_port).ok_or(Errno::ECONNREFUSED)?;
            peer.deliver(from, data.to_vec())?;
        } else {
            // To the kernel; a copy to multicast groups would reach no
            // one: nothing in the sandbox listens for route changes.
            self.to_kernel(data, task)?;
        }
        Ok(data.len())
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let mut st = self.lock()?;
        if std::mem::take(&mut st.overrun) {
            return Err(Errno::ENOBUFS);
        }
        while st.rx.is_empty() {
            st = wait.block(&self.changed, st)?;
        }
        let dgram = if flags.peek {
            st.rx.front().map(|d| (d.from_port, d.data.clone()))
        } else {
            st.rx.pop_front().map(|d| (d.from_port, d.data))
        };
        if !flags.peek {
            st.rx_bytes = st.rx_bytes.saturating_sub(dgram.as_ref().map_or(0, |d| d.1.len()));
        }
        let (from_port, mut data) = dgram.ok_or(Errno::EAGAIN)?;
        let full_len = data.len();
        data.truncate(want);
        Ok(Received {
            truncated: data.len() < full_len,
            data,
            full_len,
            from: Some(sockaddr_nl(from_port, 0)),
            ..Received::default()
        })
    }

    fn shutdown(&self, _how: i32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        let st = self.lock()?;
        Ok(sockaddr_nl(st.port, st.groups as u32))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let st = self.lock()?;
        Ok(sockaddr_nl(st.dst_port, st.dst_groups))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        match (level, name) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(self.sock_type)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(libc::AF_NETLINK)),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(self.protocol)),
            (libc::SOL_SOCKET, libc::SO_ERROR) => Ok(int(0)),
            (libc::SOL_SOCKET, name) => self.lock()?.opts.get(name).ok_or(Errno::ENOPROTOOPT),
            (SOL_NETLINK, name) => self.get_netlink_option(name),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        match level {
            libc::SOL_SOCKET => self.lock()?.opts.set(name, val),
            SOL_NETLINK => self.set_netlink_option(name, val),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn readiness(&self, events: i16) -> i16 {
        let readable = self.lock().is_ok_and(|st| !st.rx.is_empty());
        let mut ready = libc::POLLOUT | libc::POLLWRNORM;
        if readable {
            ready |= libc::POLLIN | libc::POLLRDNORM;
        }
        ready & (events | libc::POLLERR | libc::POLLHUP)
    }

    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &dyn UserMemory) -> Result<u64> {
        Err(Errno::ENOTTY)
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        self.lock().ok()?.opts.rcvtimeo
    }

    fn sndtimeo(&self) -> Option<Duration> {
        self.lock().ok()?.opts.sndtimeo
    }

    fn max_message(&self) -> usize {
        self.lock().map_or(0, |st| st.opts.sndbuf)
    }

    fn release(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.rx.clear();
            st.rx_bytes = 0;
            if st.port != 0 {
                if let Ok(mut bound) = self.ports.lock() {
                    bound.remove(&st.port);
                }
            }
        }
        self.changed.notify_all();
    }
}
