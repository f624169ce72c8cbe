//! TCP sockets (tcp(7)) on the stack: the guest-visible state of each
//! socket lives in the stack's table (under the stack lock), keyed by the
//! socket's id; the connection itself is a smoltcp TCP socket.

use super::addr::{self, Family};
use super::backlog::{Listener, SocketTemplate};
use super::entry::{reported, Entry, InetSocket};
use super::options::InetOptions;
use super::ports::{Binding, Proto};
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::net::socket::{family_of, Received, RecvFlags, SendArgs, Socket};
use crate::net::{SocketInode, Ucred, Wait};
use crate::vfs::readiness::WakeHint;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

/// /proc/sys/net/core/somaxconn: the largest listen backlog.
const SOMAXCONN: usize = 4096;
/// The smoltcp buffers of a connection whose program did not size them.
const RX_BUFFER: usize = 256 << 10;
const TX_BUFFER: usize = 256 << 10;
/// sizeof(struct tcp_info) in Linux 6.x.
const TCP_INFO_LEN: usize = 232;
/// SIOCOUTQ (TIOCOUTQ) and SIOCINQ (FIONREAD).
const SIOCOUTQ: u64 = 0x5411;
const SIOCINQ: u64 = 0x541b;
/// SIOCOUTQNSD: bytes not sent yet.
const SIOCOUTQNSD: u64 = 0x894b;

/// Where the connection is.
pub enum Conn {
    /// Never connected, or disconnected.
    Idle,
    Listening(Listener),
    Connecting(SocketHandle),
    Connected(SocketHandle),
    /// Refused or reset: the error is in `TcpEntry::error` until taken.
    Dead,
}

/// A TCP socket's state, in the stack's table.
pub struct TcpEntry {
    pub opts: InetOptions,
    /// The bound address (IPv4 addresses unmapped).
    local: Option<SocketAddr>,
    /// The port table holds `local`'s port for this socket.
    holds_port: bool,
    conn: Conn,
    /// SO_ERROR: a failed connect or a reset, reported once.
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    /// Bytes the application read and wrote, and connections it
    /// accepted: with what is queued they make the epoll event counter.
    read_total: u64,
    written_total: u64,
    accepted_total: u64,
}

impl TcpEntry {
    fn new() -> TcpEntry {
        TcpEntry {
            opts: InetOptions::new(true),
            local: None,
            holds_port: false,
            conn: Conn::Idle,
            error: None,
            shut_rd: false,
            shut_wr: false,
            read_total: 0,
            written_total: 0,
            accepted_total: 0,
        }
    }

    /// Moves whenever data arrives, room frees up, the peer hangs up, an
    /// error comes or a connection is queued (edge-triggered epoll).
    fn event_count(&self, sockets: &SocketSet<'static>) -> u64 {
        let base = u64::from(self.error.is_some()) + self.accepted_total;
        match &self.conn {
            Conn::Listening(l) => base + l.ready_count() as u64,
            Conn::Connecting(h) | Conn::Connected(h) => {
                let s = sockets.get::<tcp::Socket>(*h);
                let arrived = self.read_total + s.recv_queue() as u64;
                let freed = self.written_total.saturating_sub(s.send_queue() as u64);
                base + arrived
                    + freed
                    + u64::from(peer_closed(s.state()))
                    + 2 * u64::from(matches!(self.conn, Conn::Connected(_)))
            }
            Conn::Idle | Conn::Dead => base + 7,
        }
    }

    pub fn listener_mut(&mut self) -> Option<&mut Listener> {
        match &mut self.conn {
            Conn::Listening(l) => Some(l),
            _ => None,
        }
    }

    /// The buffers come from SO_RCVBUF/SO_SNDBUF when the program set them
    /// before connect or listen; as in Linux, half of the doubled value holds
    /// data (tcp(7) on tcp_adv_win_scale). A smoltcp socket cannot resize its
    /// buffers, so a size set after that changes only what getsockopt reports.
    fn template(&self) -> SocketTemplate {
        let sock = &self.opts.sock;
        SocketTemplate {
            rcvbuf: if sock.rcvbuf_set { sock.rcvbuf / 2 } else { RX_BUFFER },
            sndbuf: if sock.sndbuf_set { sock.sndbuf / 2 } else { TX_BUFFER },
            nodelay: self.opts.nodelay,
            keepalive: self.opts.keepalive(),
        }
    }

    /// Follows the connection: a connect that completed or failed, a
    /// connection that was reset.
    fn sync(&mut self, sockets: &mut SocketSet<'static>) {
        match self.conn {
            Conn::Connecting(h) => match sockets.get::<tcp::Socket>(h).state() {
                tcp::State::SynSent | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    sockets.remove(h);
                    self.conn = Conn::Dead;
                    self.error = Some(Errno::ECONNREFUSED);
                }
                _ => self.conn = Conn::Connected(h),
            },
            Conn::Connected(h) => {
                let state = sockets.get::<tcp::Socket>(h).state();
                // Closed without our FIN: the peer reset it (or it timed out).
                if state == tcp::State::Closed && !self.shut_wr && self.error.is_none() {
                    self.error = Some(Errno::ECONNRESET);
                    self.shut_wr = true;
                }
            }
            _ => {}
        }
    }
}

impl Entry for TcpEntry {
    fn table(inner: &mut StackInner) -> &mut HashMap<u64, Self> {
        &mut inner.tcp
    }

    fn refresh(&mut self, inner: &mut StackInner, _family: Family) {
        self.sync(&mut inner.sockets);
    }

    fn opts(&self) -> &InetOptions {
        &self.opts
    }

    fn free(self, inner: &mut StackInner, id: u64) {
        if let (true, Some(local)) = (self.holds_port, self.local) {
            inner.ports.release(Proto::Tcp, local.port(), id);
        }
        let linger_zero = self.opts.sock.linger == (1, 0);
        match self.conn {
            Conn::Listening(l) => inner.drop_listener(l),
            Conn::Connecting(h) => {
                inner.sockets.get_mut::<tcp::Socket>(h).abort();
                inner.orphan(h);
            }
            Conn::Connected(h) => {
                let socket = inner.sockets.get_mut::<tcp::Socket>(h);
                // tcp_close: unread data or SO_LINGER with a zero time
                // resets the connection instead of closing it.
                if linger_zero || socket.recv_queue() > 0 {
                    socket.abort();
                } else {
                    socket.close();
                }
                inner.orphan(h);
            }
            Conn::Idle | Conn::Dead => {}
        }
    }
}

/// A new smoltcp socket with the template's buffers and options.
fn make_socket(t: &SocketTemplate) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; t.rcvbuf]),
        tcp::SocketBuffer::new(vec![0; t.sndbuf]),
    );
    apply_template(&mut s, t);
    s
}

fn apply_template(s: &mut tcp::Socket<'static>, t: &SocketTemplate) {
    s.set_nagle_enabled(!t.nodelay);
    s.set_keep_alive(t.keepalive.map(to_smol));
    // Loopback has no wire to save: acknowledge at once.
    s.set_ack_delay(None);
}

fn to_smol(d: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(d.as_micros() as u64)
}

fn to_std(ep: IpEndpoint) -> SocketAddr {
    SocketAddr::new(IpAddr::from(ep.addr), ep.port)
}

/// The remote half has sent its FIN (or the connection is gone).
fn peer_closed(state: tcp::State) -> bool {
    matches!(
        state,
        tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing | tcp::State::TimeWait | tcp::State::Closed
    )
}

/// tcp_info's tcpi_state numbering (include/net/tcp_states.h).
fn linux_state(conn: &Conn, sockets: &SocketSet<'static>) -> u8 {
    let state = match conn {
        Conn::Idle | Conn::Dead => return 7,
        Conn::Listening(_) => return 10,
        Conn::Connecting(h) | Conn::Connected(h) => sockets.get::<tcp::Socket>(*h).state(),
    };
    match state {
        tcp::State::Established => 1,
        tcp::State::SynSent => 2,
        tcp::State::SynReceived => 3,
        tcp::State::FinWait1 => 4,
        tcp::State::FinWait2 => 5,
        tcp::State::TimeWait => 6,
        tcp::State::Closed => 7,
        tcp::State::CloseWait => 8,
        tcp::State::LastAck => 9,
        tcp::State::Listen => 10,
        tcp::State::Closing => 11,
    }
}

pub type TcpSocket = InetSocket<TcpEntry>;

type Guard<'a> = MutexGuard<'a, StackInner>;

impl TcpSocket {
    pub fn new(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>) -> Result<Arc<TcpSocket>> {
        Self::create(stack, family, inode, TcpEntry::new())
    }

    /// Blocks until the stack changes (or the wait ends).
    fn block<'a>(&'a self, wait: &Wait, guard: Guard<'a>) -> Result<Guard<'a>> {
        wait.block(&self.stack.changed, guard)
    }

    /// bind(2) to a parsed address.
    pub fn bind_addr(&self, want: SocketAddr) -> Result<()> {
        let ip = self.local_ip(want.ip())?;
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, |entry, inner| {
            if entry.local.is_some() {
                return Err(Errno::EINVAL);
            }
            let binding = self.binding(entry, ip);
            let port = inner.ports.bind(Proto::Tcp, want.port(), binding)?;
            entry.local = Some(SocketAddr::new(ip, port));
            entry.holds_port = true;
            Ok(())
        })
    }

    /// The address a bind to `ip` binds (EADDRNOTAVAIL if not local).
    fn local_ip(&self, ip: IpAddr) -> Result<IpAddr> {
        let unmapped = addr::unmap(ip);
        if self.family == Family::V6 && unmapped != ip && self.v6only() {
            // ipv6(7): a v6-only socket cannot bind an IPv4 address.
            return Err(Errno::EINVAL);
        }
        if !unmapped.is_unspecified() && !self.stack.is_local(unmapped) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        Ok(unmapped)
    }

    fn v6only(&self) -> bool {
        self.stack
            .lock()
            .ok()
            .and_then(|i| i.tcp.get(&self.id).map(|e| e.opts.v6only))
            .unwrap_or(false)
    }

    fn binding(&self, entry: &TcpEntry, ip: IpAddr) -> Binding {
        Binding {
            owner: self.id,
            addr: ip,
            v6only: entry.opts.v6only,
            reuseaddr: entry.opts.flag(libc::SO_REUSEADDR),
            reuseport: entry.opts.flag(libc::SO_REUSEPORT),
            listening: false,
        }
    }

    /// Binds an unbound socket to an ephemeral port (listen, connect).
    fn autobind(&self, entry: &mut TcpEntry, inner: &mut StackInner) -> Result<SocketAddr> {
        if let Some(local) = entry.local {
            return Ok(local);
        }
        let any = self.family.any();
        let port = inner.ports.bind(Proto::Tcp, 0, self.binding(entry, any))?;
        let local = SocketAddr::new(any, port);
        entry.local = Some(local);
        entry.holds_port = true;
        Ok(local)
    }

    /// listen(2).
    pub fn listen_backlog(&self, backlog: i32) -> Result<()> {
        // listen(2): a backlog above somaxconn is silently truncated.
        let backlog = if backlog < 0 {
            SOMAXCONN
        } else {
            (backlog as usize).min(SOMAXCONN)
        };
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, |entry, inner| {
            match &mut entry.conn {
                Conn::Listening(l) => {
                    l.set_backlog(backlog);
                    return Ok(());
                }
                Conn::Idle | Conn::Dead => {}
                _ => return Err(Errno::EINVAL),
            }
            let local = self.autobind(entry, inner)?;
            inner.ports.set_listening(Proto::Tcp, local.port(), self.id)?;
            let addrs = if local.ip().is_unspecified() {
                let v6 = self.family == Family::V6;
                self.stack.local_addrs(!(v6 && entry.opts.v6only), v6)
            } else {
                vec![local.ip()]
            };
            entry.conn = Conn::Listening(Listener::new(
                &addrs,
                local.port(),
                backlog,
                entry.template(),
                make_socket,
            ));
            entry.shut_rd = false;
            entry.shut_wr = false;
            Ok(())
        })?;
        self.stack.update(&mut inner);
        Ok(())
    }

    /// connect(2) to a parsed address.
    pub fn connect_addr(&self, dest: SocketAddr, wait: &Wait) -> Result<()> {
        let remote = self.remote_ip(dest.ip())?;
        let mut inner = self.stack.lock()?;
        let started = self.with_locked(&mut inner, |entry, inner| {
            self.start_connect(entry, inner, remote, dest.port())
        })?;
        self.stack.update(&mut inner);
        if wait.nonblock {
            return Err(if started { Errno::EINPROGRESS } else { Errno::EALREADY });
        }
        loop {
            let done = self.with_locked(&mut inner, |entry, _| match entry.conn {
                Conn::Connected(_) => Ok(true),
                Conn::Connecting(_) => Ok(false),
                _ => Err(entry.error.take().unwrap_or(Errno::ECONNREFUSED)),
            })?;
            if done {
                return Ok(());
            }
            inner = self.block(wait, inner)?;
        }
    }

    /// The stack's address for a connect to `ip`: IPv4 for a v4-mapped
    /// address, loopback for a wildcard (ip(7): connecting to INADDR_ANY
    /// reaches the local host).
    fn remote_ip(&self, ip: IpAddr) -> Result<IpAddr> {
        let unmapped = addr::unmap(ip);
        if self.family == Family::V6 && unmapped != ip && self.v6only() {
            return Err(Errno::ENETUNREACH);
        }
        let ip = addr::loopback_of(unmapped);
        if !self.stack.reachable(ip) {
            return Err(Errno::ENETUNREACH);
        }
        Ok(ip)
    }

    /// Starts the handshake; false if one is already under way.
    fn start_connect(&self, entry: &mut TcpEntry, inner: &mut StackInner, remote: IpAddr, port: u16) -> Result<bool> {
        match entry.conn {
            Conn::Connected(_) | Conn::Listening(_) => return Err(Errno::EISCONN),
            Conn::Connecting(_) => return Ok(false),
            Conn::Idle | Conn::Dead => {}
        }
        if port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let local = self.autobind(entry, inner)?;
        if !local.ip().is_unspecified() && local.ip().is_ipv4() != remote.is_ipv4() {
            return Err(Errno::ENETUNREACH);
        }
        let local_ep = IpListenEndpoint {
            addr: (!local.ip().is_unspecified()).then(|| IpAddress::from(local.ip())),
            port: local.port(),
        };
        let mut socket = make_socket(&entry.template());
        let remote_ep = IpEndpoint::new(IpAddress::from(remote), port);
        socket
            .connect(inner.iface_context(), remote_ep, local_ep)
            .map_err(|_| Errno::ENETUNREACH)?;
        entry.conn = Conn::Connecting(inner.sockets.add(socket));
        entry.error = None;
        entry.shut_rd = false;
        entry.shut_wr = false;
        Ok(true)
    }

    /// connect(2) to AF_UNSPEC: drops the connection (tcp_disconnect).
    fn disconnect(&self) -> Result<()> {
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, |entry, inner| {
            match std::mem::replace(&mut entry.conn, Conn::Idle) {
                Conn::Connecting(h) | Conn::Connected(h) => {
                    inner.sockets.get_mut::<tcp::Socket>(h).abort();
                    inner.orphan(h);
                }
                Conn::Listening(l) => inner.drop_listener(l),
                Conn::Idle | Conn::Dead => {}
            }
            Ok(())
        })?;
        self.stack.update(&mut inner);
        Ok(())
    }

    /// accept(2): the next established connection.
    pub fn accept_conn(&self, wait: &Wait) -> Result<Arc<TcpSocket>> {
        let mut inner = self.stack.lock()?;
        loop {
            let taken = self.with_locked(&mut inner, |entry, _| match &mut entry.conn {
                Conn::Listening(l) => {
                    let taken = l.take();
                    entry.accepted_total += u64::from(taken.is_some());
                    Ok(taken.map(|h| (h, entry.opts.inherit())))
                }
                _ => Err(Errno::EINVAL),
            })?;
            if let Some((handle, opts)) = taken {
                let sock = self.adopt(&mut inner, handle, opts);
                self.stack.update(&mut inner);
                return Ok(sock);
            }
            inner = self.block(wait, inner)?;
        }
    }

    /// A socket for an accepted connection.
    fn adopt(&self, inner: &mut StackInner, handle: SocketHandle, opts: InetOptions) -> Arc<TcpSocket> {
        let local = inner.sockets.get::<tcp::Socket>(handle).local_endpoint().map(to_std);
        let mut entry = TcpEntry::new();
        entry.opts = opts;
        entry.local = local;
        entry.conn = Conn::Connected(handle);
        let inode = SocketInode::new(self.inode.uid, self.inode.gid);
        Self::insert(&self.stack, inner, self.family, inode, entry)
    }

    /// send(2): all of `data` unless non-blocking, interrupted or timed out.
    pub fn send_bytes(&self, data: &[u8], wait: &Wait) -> Result<usize> {
        let mut inner = self.stack.lock()?;
        let mut sent = 0;
        loop {
            let step = self.with_locked(&mut inner, |entry, inner| {
                if let Some(e) = entry.error.take() {
                    return Err(e);
                }
                let h = match entry.conn {
                    Conn::Connected(h) => h,
                    Conn::Connecting(_) => return Ok(None),
                    // tcp_sendmsg: sk_stream_wait_connect gives EPIPE.
                    _ => return Err(Errno::EPIPE),
                };
                let socket = inner.sockets.get_mut::<tcp::Socket>(h);
                if entry.shut_wr || !socket.may_send() {
                    return Err(Errno::EPIPE);
                }
                let n = socket.send_slice(&data[sent..]).map_err(|_| Errno::EPIPE)?;
                entry.written_total += n as u64;
                Ok(Some(n))
            });
            let n = match step {
                Ok(n) => n,
                Err(_) if sent > 0 => return Ok(sent),
                Err(e) => return Err(e),
            };
            if let Some(n) = n {
                sent += n;
                if n > 0 {
                    self.stack.update(&mut inner);
                }
            }
            if sent == data.len() {
                return Ok(sent);
            }
            inner = match self.block(wait, inner) {
                Ok(g) => g,
                Err(_) if sent > 0 => return Ok(sent),
                Err(e) => return Err(e),
            };
        }
    }

    /// recv(2): up to `want` bytes; MSG_WAITALL waits for all of them.
    pub fn recv_bytes(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Vec<u8>> {
        let mut inner = self.stack.lock()?;
        let mut got = Vec::new();
        if want == 0 {
            return Ok(got);
        }
        loop {
            let before = got.len();
            let step = self.with_locked(&mut inner, |entry, inner| {
                self.recv_step(entry, inner, want, flags, &mut got)
            });
            if got.len() > before && !flags.peek {
                // Freed window space goes out to the sender.
                self.stack.update(&mut inner);
            }
            match step {
                Ok(true) => return Ok(got),
                Ok(false) => {}
                Err(_) if !got.is_empty() => return Ok(got),
                Err(e) => return Err(e),
            }
            inner = match self.block(wait, inner) {
                Ok(g) => g,
                Err(_) if !got.is_empty() => return Ok(got),
                Err(e) => return Err(e),
            };
        }
    }

    /// One look at the receive queue: true when the read is over.
    fn recv_step(
        &self,
        entry: &mut TcpEntry,
        inner: &mut StackInner,
        want: usize,
        flags: RecvFlags,
        got: &mut Vec<u8>,
    ) -> Result<bool> {
        let h = match entry.conn {
            Conn::Connected(h) => h,
            Conn::Connecting(_) => return Ok(false),
            Conn::Idle | Conn::Listening(_) => return Err(Errno::ENOTCONN),
            Conn::Dead => return entry.error.take().map_or(Ok(true), Err),
        };
        let socket = inner.sockets.get_mut::<tcp::Socket>(h);
        let queued = socket.recv_queue();
        if queued > 0 {
            let start = got.len();
            // Never more than is queued: `want` comes from the guest.
            got.resize(want.min(start + queued), 0);
            let n = if flags.peek {
                socket.peek_slice(&mut got[start..])
            } else {
                socket.recv_slice(&mut got[start..])
            };
            got.truncate(start + n.unwrap_or(0));
            if !flags.peek {
                entry.read_total += (got.len() - start) as u64;
            }
            return Ok(!flags.waitall || flags.peek || got.len() == want);
        }
        if let Some(e) = entry.error.take() {
            return if got.is_empty() { Err(e) } else { Ok(true) };
        }
        Ok(entry.shut_rd || peer_closed(socket.state()))
    }

    /// shutdown(2).
    pub fn shutdown_how(&self, how: i32) -> Result<()> {
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let mut inner = self.stack.lock()?;
        let result = self.with_locked(&mut inner, |entry, inner| match &entry.conn {
            Conn::Idle | Conn::Dead => Err(Errno::ENOTCONN),
            Conn::Listening(_) if rd => {
                if let Conn::Listening(l) = std::mem::replace(&mut entry.conn, Conn::Idle) {
                    inner.drop_listener(l);
                }
                Ok(())
            }
            Conn::Listening(_) => Ok(()),
            Conn::Connecting(h) => {
                let h = *h;
                inner.sockets.get_mut::<tcp::Socket>(h).abort();
                inner.orphan(h);
                entry.conn = Conn::Idle;
                Ok(())
            }
            Conn::Connected(h) => {
                let h = *h;
                if rd {
                    entry.shut_rd = true;
                }
                if wr && !entry.shut_wr {
                    inner.sockets.get_mut::<tcp::Socket>(h).close();
                    entry.shut_wr = true;
                }
                Ok(())
            }
        });
        self.stack.update(&mut inner);
        result
    }

    fn local_addr(&self) -> Result<SocketAddr> {
        self.with(|entry, inner| {
            let connected = match entry.conn {
                Conn::Connecting(h) | Conn::Connected(h) => inner.sockets.get::<tcp::Socket>(h).local_endpoint(),
                _ => None,
            };
            Ok(connected
                .map(to_std)
                .or(entry.local)
                .unwrap_or(SocketAddr::new(self.family.any(), 0)))
        })
    }

    fn peer_addr(&self) -> Result<SocketAddr> {
        self.with(|entry, inner| match entry.conn {
            Conn::Connected(h) => {
                let socket = inner.sockets.get::<tcp::Socket>(h);
                if socket.state() == tcp::State::Closed {
                    return Err(Errno::ENOTCONN);
                }
                socket.remote_endpoint().map(to_std).ok_or(Errno::ENOTCONN)
            }
            _ => Err(Errno::ENOTCONN),
        })
    }

    /// poll(2) readiness (tcp_poll).
    fn poll_mask(&self) -> i16 {
        let result = self.with(|entry, inner| {
            let mut mask = 0;
            if entry.error.is_some() {
                mask |= libc::POLLERR;
            }
            let readable = libc::POLLIN | libc::POLLRDNORM;
            let writable = libc::POLLOUT | libc::POLLWRNORM;
            match &entry.conn {
                Conn::Idle | Conn::Dead => mask |= libc::POLLOUT | libc::POLLWRNORM | libc::POLLHUP,
                Conn::Listening(l) => {
                    if l.ready_count() > 0 {
                        mask |= readable;
                    }
                }
                Conn::Connecting(_) => {}
                Conn::Connected(h) => {
                    let socket = inner.sockets.get::<tcp::Socket>(*h);
                    let state = socket.state();
                    let fin = peer_closed(state);
                    if socket.recv_queue() > 0 || fin || entry.shut_rd {
                        mask |= readable;
                    }
                    if fin {
                        mask |= libc::POLLRDHUP;
                    }
                    if entry.shut_wr || (socket.may_send() && socket.can_send()) || state == tcp::State::Closed {
                        mask |= writable;
                    }
                    if (fin && entry.shut_wr) || state == tcp::State::Closed {
                        mask |= libc::POLLHUP;
                    }
                }
            }
            Ok(mask)
        });
        result.unwrap_or(libc::POLLERR)
    }

    fn get_socket_option(&self, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        self.with(|entry, _| {
            Ok(match name {
                libc::SO_TYPE => int(libc::SOCK_STREAM),
                libc::SO_DOMAIN => int(self.family.domain()),
                libc::SO_PROTOCOL => int(libc::IPPROTO_TCP),
                libc::SO_ERROR => int(entry.error.take().map_or(0, |e| e.0)),
                libc::SO_ACCEPTCONN => int(matches!(entry.conn, Conn::Listening(_)) as i32),
                libc::SO_PEERCRED => Ucred::NONE.to_bytes().to_vec(),
                _ => return entry.opts.sock.get(name).ok_or(Errno::ENOPROTOOPT),
            })
        })
    }

    fn tcp_info(&self) -> Result<Vec<u8>> {
        self.with(|entry, inner| {
            let mut info = vec![0u8; TCP_INFO_LEN];
            info[0] = linux_state(&entry.conn, &inner.sockets);
            Ok(info)
        })
    }

    /// Applies the options that live in the smoltcp socket.
    fn apply_options(&self) -> Result<()> {
        self.with(|entry, inner| {
            let template = entry.template();
            match &mut entry.conn {
                Conn::Connecting(h) | Conn::Connected(h) => {
                    apply_template(inner.sockets.get_mut::<tcp::Socket>(*h), &template)
                }
                Conn::Listening(l) => l.set_template(template),
                _ => {}
            }
            Ok(())
        })
    }

    fn queue_sizes(&self) -> Result<(usize, usize)> {
        self.with(|entry, inner| match entry.conn {
            Conn::Listening(_) => Err(Errno::EINVAL),
            Conn::Connected(h) | Conn::Connecting(h) => {
                let s = inner.sockets.get::<tcp::Socket>(h);
                Ok((s.recv_queue(), s.send_queue()))
            }
            _ => Ok((0, 0)),
        })
    }
}

impl Socket for TcpSocket {
    fn family(&self) -> i32 {
        self.family.domain()
    }
    fn sock_type(&self) -> i32 {
        libc::SOCK_STREAM
    }
    fn protocol(&self) -> i32 {
        libc::IPPROTO_TCP
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, _task: &Task, raw: &[u8]) -> Result<()> {
        self.bind_addr(addr::parse(raw, self.family)?)
    }

    fn listen(&self, _task: &Task, backlog: i32) -> Result<()> {
        self.listen_backlog(backlog)
    }

    fn connect(&self, _task: &Task, raw: &[u8], wait: &Wait) -> Result<()> {
        if family_of(raw) == libc::AF_UNSPEC && raw.len() >= 2 {
            return self.disconnect();
        }
        self.connect_addr(addr::parse(raw, self.family)?, wait)
    }

    fn accept(&self, wait: &Wait) -> Result<Arc<dyn Socket>> {
        Ok(self.accept_conn(wait)?)
    }

    fn send(&self, _task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        if args.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        // tcp(7): a destination name is ignored on a connected socket;
        // on one not connected it is EPIPE like any send there.
        self.send_bytes(data, &args.wait)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let data = self.recv_bytes(want, flags, wait)?;
        Ok(Received {
            full_len: data.len(),
            data,
            ..Received::default()
        })
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        self.shutdown_how(how)
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        Ok(addr::to_sockaddr(self.local_addr()?, self.family))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        Ok(addr::to_sockaddr(self.peer_addr()?, self.family))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        match (level, name) {
            (libc::SOL_SOCKET, _) => self.get_socket_option(name),
            (libc::IPPROTO_TCP, libc::TCP_INFO) => self.tcp_info(),
            _ => self.with(|entry, _| entry.opts.get(level, name, self.family, true)),
        }
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        self.with(|entry, _| {
            if level == libc::SOL_SOCKET {
                entry.opts.sock.set(name, val)
            } else {
                let bound = entry.local.is_some();
                entry.opts.set(level, name, val, self.family, true, bound)
            }
        })?;
        self.apply_options()
    }

    fn readiness(&self, events: i16) -> i16 {
        reported(self.poll_mask(), events)
    }

    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }

    fn event_count(&self) -> u64 {
        self.with(|entry, inner| Ok(entry.event_count(&inner.sockets)))
            .unwrap_or(0)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        let n = match u64::from(cmd) {
            SIOCINQ => self.queue_sizes()?.0,
            SIOCOUTQ | SIOCOUTQNSD => self.queue_sizes()?.1,
            _ => return Err(Errno::ENOTTY),
        };
        mem.write(arg, &(n as i32).to_le_bytes())?;
        Ok(0)
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        self.recv_timeout()
    }

    fn sndtimeo(&self) -> Option<Duration> {
        self.send_timeout()
    }

    fn max_message(&self) -> usize {
        usize::MAX
    }

    fn release(&self) {
        self.release_entry();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::inet::iface::Network;

    fn stack() -> Arc<Stack> {
        Stack::new(Network::loopback_only())
    }

    fn socket(stack: &Arc<Stack>, family: Family) -> Arc<TcpSocket> {
        TcpSocket::new(stack, family, SocketInode::new(0, 0)).unwrap()
    }

    fn nonblock() -> Wait {
        Wait::new(true, None)
    }

    fn listener(stack: &Arc<Stack>, backlog: i32) -> (Arc<TcpSocket>, SocketAddr) {
        let l = socket(stack, Family::V4);
        l.bind_addr("127.0.0.1:0".parse().unwrap()).unwrap();
        l.listen_backlog(backlog).unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }

    #[test]
    fn two_hundred_connections_to_one_listener() {
        let stack = stack();
        let (l, addr) = listener(&stack, 256);
        let clients: Vec<_> = (0..200).map(|_| socket(&stack, Family::V4)).collect();
        for c in &clients {
            assert_eq!(c.connect_addr(addr, &nonblock()), Err(Errno::EINPROGRESS));
        }
        let servers: Vec<_> = (0..200).map(|_| l.accept_conn(&nonblock()).unwrap()).collect();
        assert_eq!(l.accept_conn(&nonblock()).err(), Some(Errno::EAGAIN));
        for (i, c) in clients.iter().enumerate() {
            assert_eq!(c.send_bytes(&[i as u8], &nonblock()), Ok(1));
        }
        let mut seen: Vec<u8> = servers
            .iter()
            .map(|s| s.recv_bytes(1, RecvFlags::default(), &nonblock()).unwrap()[0])
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..200).map(|i| i as u8).collect::<Vec<_>>());
    }

    #[test]
    fn full_accept_queue_holds_syns_back() {
        let stack = stack();
        let (l, addr) = listener(&stack, 1);
        let clients: Vec<_> = (0..4).map(|_| socket(&stack, Family::V4)).collect();
        for c in &clients {
            assert_eq!(c.connect_addr(addr, &nonblock()), Err(Errno::EINPROGRESS));
        }
        // backlog + 1 connections complete; the others wait, not refused.
        let connected = |cs: &[Arc<TcpSocket>]| cs.iter().filter(|c| c.peer_addr().is_ok()).count();
        assert_eq!(connected(&clients), 2);
        for c in &clients {
            assert_eq!(c.get_socket_option(libc::SO_ERROR), Ok(0i32.to_le_bytes().to_vec()));
        }
        assert!(l.accept_conn(&nonblock()).is_ok());
        assert!(l.accept_conn(&nonblock()).is_ok());
        assert_eq!(l.accept_conn(&nonblock()).err(), Some(Errno::EAGAIN));
    }

    #[test]
    fn reuseport_listeners_share_the_syns() {
        let stack = stack();
        let one = 1i32.to_le_bytes();
        let l1 = socket(&stack, Family::V4);
        let l2 = socket(&stack, Family::V4);
        for l in [&l1, &l2] {
            l.set_option(libc::SOL_SOCKET, libc::SO_REUSEPORT, &one).unwrap();
        }
        l1.bind_addr("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l1.local_addr().unwrap();
        l2.bind_addr(addr).unwrap();
        l1.listen_backlog(0).unwrap();
        l2.listen_backlog(0).unwrap();
        // Each accept queue holds one: the second SYN goes to the other listener.
        let clients: Vec<_> = (0..2).map(|_| socket(&stack, Family::V4)).collect();
        for c in &clients {
            assert_eq!(c.connect_addr(addr, &nonblock()), Err(Errno::EINPROGRESS));
        }
        assert!(clients.iter().all(|c| c.peer_addr().is_ok()));
        assert!(l1.accept_conn(&nonblock()).is_ok());
        assert!(l2.accept_conn(&nonblock()).is_ok());
    }

    #[test]
    fn huge_reads_take_only_what_is_queued() {
        let stack = stack();
        let (l, addr) = listener(&stack, 1);
        let c = socket(&stack, Family::V4);
        c.connect_addr(addr, &Wait::new(false, None)).unwrap();
        let s = l.accept_conn(&nonblock()).unwrap();
        assert_eq!(c.send_bytes(b"abc", &nonblock()), Ok(3));
        let got = s.recv_bytes(usize::MAX / 2, RecvFlags::default(), &nonblock()).unwrap();
        assert_eq!(got, b"abc");
        assert!(got.capacity() < 1 << 20);
    }

    #[test]
    fn closed_port_refuses_and_data_flows_with_eof() {
        let stack = stack();
        let c = socket(&stack, Family::V4);
        let refused = c.connect_addr("127.0.0.1:9".parse().unwrap(), &Wait::new(false, None));
        assert_eq!(refused, Err(Errno::ECONNREFUSED));
        let (l, addr) = listener(&stack, 4);
        let c = socket(&stack, Family::V6);
        let mapped: SocketAddr = format!("[::ffff:127.0.0.1]:{}", addr.port()).parse().unwrap();
        assert_eq!(c.connect_addr(mapped, &Wait::new(false, None)), Ok(()));
        let s = l.accept_conn(&nonblock()).unwrap();
        assert_eq!(c.send_bytes(b"hello", &nonblock()), Ok(5));
        assert_eq!(c.shutdown_how(libc::SHUT_WR), Ok(()));
        let peek = RecvFlags {
            peek: true,
            ..RecvFlags::default()
        };
        assert_eq!(s.recv_bytes(2, peek, &nonblock()), Ok(b"he".to_vec()));
        assert_eq!(
            s.recv_bytes(16, RecvFlags::default(), &nonblock()),
            Ok(b"hello".to_vec())
        );
        assert_eq!(s.recv_bytes(16, RecvFlags::default(), &nonblock()), Ok(Vec::new()));
        assert_eq!(c.send_bytes(b"x", &nonblock()), Err(Errno::EPIPE));
    }

    #[test]
    fn any_loopback_address_carries_traffic() {
        let stack = stack();
        let l = socket(&stack, Family::V4);
        l.bind_addr("127.0.0.2:0".parse().unwrap()).unwrap();
        l.listen_backlog(1).unwrap();
        let addr = l.local_addr().unwrap();
        let c = socket(&stack, Family::V4);
        assert_eq!(c.connect_addr(addr, &Wait::new(false, None)), Ok(()));
        assert_eq!(c.peer_addr(), Ok(addr));
        assert!(l.accept_conn(&nonblock()).is_ok());
        let nobody = socket(&stack, Family::V4);
        let refused = nobody.connect_addr("127.3.4.5:9".parse().unwrap(), &Wait::new(false, None));
        assert_eq!(refused, Err(Errno::ECONNREFUSED));
    }

    #[test]
    fn bind_rules() {
        let stack = stack();
        let a = socket(&stack, Family::V4);
        assert_eq!(a.bind_addr("10.1.2.3:0".parse().unwrap()), Err(Errno::EADDRNOTAVAIL));
        assert_eq!(a.bind_addr("127.0.0.1:0".parse().unwrap()), Ok(()));
        let port = a.local_addr().unwrap().port();
        assert!((32768..=60999).contains(&port));
        assert_eq!(a.bind_addr("127.0.0.1:0".parse().unwrap()), Err(Errno::EINVAL));
        let b = socket(&stack, Family::V4);
        let same: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        assert_eq!(b.bind_addr(same), Err(Errno::EADDRINUSE));
        a.release();
        assert_eq!(b.bind_addr(same), Ok(()));
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::net::inet::iface::Network;
    use std::time::Instant;

    #[test]
    fn round_trips_do_not_wait_for_timers() {
        let stack = Stack::new(Network::loopback_only());
        let l = TcpSocket::new(&stack, Family::V4, SocketInode::new(0, 0)).unwrap();
        l.bind_addr("127.0.0.1:0".parse().unwrap()).unwrap();
        l.listen_backlog(4).unwrap();
        let c = TcpSocket::new(&stack, Family::V4, SocketInode::new(0, 0)).unwrap();
        c.connect_addr(l.local_addr().unwrap(), &Wait::new(false, None))
            .unwrap();
        let s = l.accept_conn(&Wait::new(true, None)).unwrap();
        let start = Instant::now();
        let block = Wait::new(true, None);
        for _ in 0..200 {
            assert_eq!(c.send_bytes(&[1; 64], &block), Ok(64));
            assert_eq!(s.recv_bytes(64, RecvFlags::default(), &block).map(|d| d.len()), Ok(64));
            assert_eq!(s.send_bytes(&[2; 64], &block), Ok(64));
            assert_eq!(c.recv_bytes(64, RecvFlags::default(), &block).map(|d| d.len()), Ok(64));
        }
        assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    }
}
