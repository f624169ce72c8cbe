//! Unix domain sockets (unix(7)), served by the Sentry: SOCK_STREAM,
//! SOCK_DGRAM and SOCK_SEQPACKET.
//!
//! Every socket owns a receive queue. A connected socket sends into its
//! peer's queue; an unconnected datagram socket into the queue of the
//! socket its destination name finds. A connect to a listening socket
//! makes the server's end at once and queues it for accept(2), so the
//! client may write before the server accepts (as on Linux). Shutdown of
//! either direction closes the queue that direction fills: the reader
//! sees EOF once it is empty and the writer EPIPE.

use super::addr::{Address, Names};
use super::options::Options;
use super::queue::{Message, Queue, QueueState, MESSAGE_OVERHEAD};
use super::socket::{Received, RecvFlags};
use super::{SocketInode, Ucred, Wait};
use crate::errno::{Errno, Result};
use crate::vfs::OpenFile;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// /proc/sys/net/unix/max_dgram_qlen.
const MAX_DGRAM_QLEN: usize = 10;
/// /proc/sys/net/core/somaxconn: the largest listen backlog.
const SOMAXCONN: usize = 4096;
/// Largest piece a stream write queues at once.
const STREAM_SEGMENT: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Dgram,
    SeqPacket,
}

impl Kind {
    /// The kind for a socket(2) type (flags already removed).
    pub fn from_type(ty: i32) -> Option<Kind> {
        match ty {
            libc::SOCK_STREAM => Some(Kind::Stream),
            libc::SOCK_DGRAM => Some(Kind::Dgram),
            libc::SOCK_SEQPACKET => Some(Kind::SeqPacket),
            _ => None,
        }
    }

    pub fn linux_type(self) -> i32 {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Dgram => libc::SOCK_DGRAM,
            Kind::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }

    fn connection_based(self) -> bool {
        self != Kind::Dgram
    }
}

enum State {
    Unconnected,
    Listening {
        backlog: usize,
        /// Server ends made by connect(2), waiting for accept(2).
        pending: VecDeque<Arc<UnixSocket>>,
    },
    Connected,
}

struct Inner {
    state: State,
    local: Option<Address>,
    /// The peer: the connected socket, or a datagram socket's default
    /// destination.
    peer: Option<Weak<UnixSocket>>,
    /// The peer's receive queue.
    tx: Option<Arc<Queue>>,
    peer_addr: Option<Address>,
    /// SO_PEERCRED: the peer's credentials when it connected (a
    /// listening socket reports its own).
    peer_cred: Option<Ucred>,
    shut_send: bool,
    /// A server end not accepted yet: closing it resets the client.
    embryo: bool,
    opts: Options,
}

pub struct UnixSocket {
    pub kind: Kind,
    me: Weak<UnixSocket>,
    names: Arc<Names>,
    pub inode: Arc<SocketInode>,
    rx: Arc<Queue>,
    inner: Mutex<Inner>,
    /// Signalled when the accept queue changes.
    changed: Condvar,
    /// Closed: the last open file description went away (threads may
    /// still hold the socket for a moment, e.g. a blocked sender).
    released: AtomicBool,
}

/// A peer that is still open.
fn live_peer(peer: &Weak<UnixSocket>) -> Option<Arc<UnixSocket>> {
    peer.upgrade().filter(|p| !p.is_released())
}

/// Builds a message from bytes and the files passed with them.
type MakeMessage<'a> = dyn Fn(&[u8], Vec<Arc<OpenFile>>) -> Message + 'a;

/// Ancillary data to send (SCM_RIGHTS, SCM_CREDENTIALS).
#[derive(Default)]
pub struct Control {
    pub files: Vec<Arc<OpenFile>>,
    /// Credentials the sender claims (already checked), else its own.
    pub creds: Option<Ucred>,
}

impl UnixSocket {
    pub fn new(kind: Kind, names: Arc<Names>, inode: Arc<SocketInode>) -> Arc<UnixSocket> {
        Arc::new_cyclic(|me| UnixSocket {
            kind,
            me: me.clone(),
            names,
            inode,
            rx: Arc::new(Queue::default()),
            inner: Mutex::new(Inner {
                state: State::Unconnected,
                local: None,
                peer: None,
                tx: None,
                peer_addr: None,
                peer_cred: None,
                shut_send: false,
                embryo: false,
                opts: Options::default(),
            }),
            changed: Condvar::new(),
            released: AtomicBool::new(false),
        })
    }

    pub fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// socketpair(2): two sockets connected to each other.
    pub fn pair(kind: Kind, names: &Arc<Names>, cred: Ucred) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let a = UnixSocket::new(kind, names.clone(), SocketInode::new(cred.uid, cred.gid));
        let b = UnixSocket::new(kind, names.clone(), SocketInode::new(cred.uid, cred.gid));
        for (one, other) in [(&a, &b), (&b, &a)] {
            if let Ok(mut inner) = one.lock() {
                inner.state = State::Connected;
                inner.peer = Some(Arc::downgrade(other));
                inner.tx = Some(other.rx.clone());
                inner.peer_cred = Some(cred);
            }
        }
        (a, b)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| Errno::EIO)
    }

    fn arc(&self) -> Result<Arc<UnixSocket>> {
        self.me.upgrade().ok_or(Errno::EBADF)
    }

    pub fn rcvtimeo(&self) -> Option<Duration> {
        self.lock().ok().and_then(|i| i.opts.rcvtimeo)
    }

    pub fn sndtimeo(&self) -> Option<Duration> {
        self.lock().ok().and_then(|i| i.opts.sndtimeo)
    }

    pub fn passcred(&self) -> bool {
        self.lock().is_ok_and(|i| i.opts.passcred)
    }

    /// bind(2). `addr` None autobinds. `make_file` creates the socket file
    /// of a path name and returns its (dev, ino).
    pub fn bind(&self, addr: Option<Address>, make_file: impl FnOnce(&[u8]) -> Result<(u64, u64)>) -> Result<()> {
        let me = self.arc()?;
        let mut inner = self.lock()?;
        if inner.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let bound = match addr {
            None => Address::Abstract(self.names.autobind(&me)?),
            Some(Address::Abstract(name)) => {
                self.names.bind_abstract(&name, &me)?;
                Address::Abstract(name)
            }
            Some(Address::Path(path)) => {
                let key = make_file(&path)?;
                self.names.bind_path(key, &me)?;
                Address::Path(path)
            }
        };
        inner.local = Some(bound);
        Ok(())
    }

    /// Autobinds an unbound socket that passes credentials (unix(7)
    /// "Autobind feature": connect and send do this with SO_PASSCRED).
    fn autobind_for_passcred(&self) -> Result<()> {
        let needed = self.lock().is_ok_and(|i| i.opts.passcred && i.local.is_none());
        if needed {
            // A concurrent bind may win; either way a name is set.
            let _ = self.bind(None, |_| Err(Errno::EINVAL));
        }
        Ok(())
    }

    pub fn is_connected(&self) -> bool {
        self.lock().is_ok_and(|i| matches!(i.state, State::Connected))
    }

    pub fn local_address(&self) -> Result<Option<Address>> {
        Ok(self.lock()?.local.clone())
    }

    /// getpeername(2).
    pub fn peer_address(&self) -> Result<Option<Address>> {
        let inner = self.lock()?;
        let peer = match (&inner.state, &inner.peer) {
            (State::Connected, _) => return Ok(inner.peer_addr.clone()),
            (State::Unconnected, Some(peer)) if self.kind == Kind::Dgram => peer.clone(),
            _ => return Err(Errno::ENOTCONN),
        };
        // Never two sockets' locks at once: the peer may ask about us.
        drop(inner);
        match live_peer(&peer) {
            Some(p) => p.local_address(),
            None => Err(Errno::ENOTCONN),
        }
    }

    /// listen(2): `cred` becomes what SO_PEERCRED reports on it and on
    /// the client ends that connect to it.
    pub fn listen(&self, backlog: i32, cred: Ucred) -> Result<()> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut inner = self.lock()?;
        if inner.local.is_none() || matches!(inner.state, State::Connected) {
            return Err(Errno::EINVAL);
        }
        // listen(2): a backlog above somaxconn is silently truncated.
        let backlog = if backlog < 0 {
            SOMAXCONN
        } else {
            (backlog as usize).min(SOMAXCONN)
        };
        match &mut inner.state {
            State::Listening { backlog: b, .. } => *b = backlog,
            state => {
                *state = State::Listening {
                    backlog,
                    pending: VecDeque::new(),
                }
            }
        }
        inner.peer_cred = Some(cred);
        drop(inner);
        self.changed.notify_all();
        Ok(())
    }

    /// connect(2) to `target` (found by name). `cred` is the caller's.
    pub fn connect(&self, target: &Arc<UnixSocket>, wait: &Wait, cred: Ucred) -> Result<()> {
        if target.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        self.autobind_for_passcred()?;
        if self.kind == Kind::Dgram {
            let target_addr = target.local_address()?;
            let mut inner = self.lock()?;
            inner.peer = Some(Arc::downgrade(target));
            inner.tx = Some(target.rx.clone());
            inner.peer_addr = target_addr;
            return Ok(());
        }
        match self.lock()?.state {
            State::Connected => return Err(Errno::EISCONN),
            State::Listening { .. } => return Err(Errno::EINVAL),
            State::Unconnected => {}
        }
        let (server, listener_addr, listener_cred) = target.enqueue_connection(self, wait, cred)?;
        let mut inner = self.lock()?;
        if matches!(inner.state, State::Connected) {
            // A concurrent connect won; the server end made here goes.
            drop(inner);
            target.withdraw(&server);
            return Err(Errno::EISCONN);
        }
        inner.state = State::Connected;
        inner.peer = Some(Arc::downgrade(&server));
        inner.tx = Some(server.rx.clone());
        inner.peer_addr = listener_addr;
        inner.peer_cred = listener_cred;
        Ok(())
    }

    /// connect(2) of a datagram socket to AF_UNSPEC: forgets the peer.
    pub fn disconnect(&self) -> Result<()> {
        if self.kind != Kind::Dgram {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.lock()?;
        inner.peer = None;
        inner.tx = None;
        inner.peer_addr = None;
        Ok(())
    }

    /// The listener's half of connect: waits for room in the backlog and
    /// queues a new server end connected to `client`.
    fn enqueue_connection(
        &self,
        client: &UnixSocket,
        wait: &Wait,
        cred: Ucred,
    ) -> Result<(Arc<UnixSocket>, Option<Address>, Option<Ucred>)> {
        let client_addr = client.local_address()?;
        let mut inner = self.lock()?;
        loop {
            let State::Listening { backlog, pending } = &inner.state else {
                return Err(Errno::ECONNREFUSED);
            };
            // Linux admits one more than the backlog (unix_recvq_full).
            if pending.len() <= *backlog {
                break;
            }
            inner = wait.block(&self.changed, inner)?;
        }
        let server = UnixSocket::new(
            self.kind,
            self.names.clone(),
            SocketInode::new(self.inode.uid, self.inode.gid),
        );
        {
            let mut s = server.lock()?;
            s.state = State::Connected;
            s.local = inner.local.clone();
            s.peer = Some(client.me.clone());
            s.tx = Some(client.rx.clone());
            s.peer_addr = client_addr;
            s.peer_cred = Some(cred);
            s.embryo = true;
            s.opts.passcred = inner.opts.passcred;
        }
        let listener_addr = inner.local.clone();
        let listener_cred = inner.peer_cred;
        if let State::Listening { pending, .. } = &mut inner.state {
            pending.push_back(server.clone());
        }
        drop(inner);
        self.changed.notify_all();
        Ok((server, listener_addr, listener_cred))
    }

    /// Takes a queued server end back out of the accept queue.
    fn withdraw(&self, server: &Arc<UnixSocket>) {
        if let Ok(mut inner) = self.lock() {
            if let State::Listening { pending, .. } = &mut inner.state {
                pending.retain(|s| !Arc::ptr_eq(s, server));
            }
        }
    }

    /// accept(2): the next server end.
    pub fn accept(&self, wait: &Wait) -> Result<Arc<UnixSocket>> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut inner = self.lock()?;
        let server = loop {
            let State::Listening { pending, .. } = &mut inner.state else {
                return Err(Errno::EINVAL);
            };
            if let Some(server) = pending.pop_front() {
                break server;
            }
            inner = wait.block(&self.changed, inner)?;
        };
        drop(inner);
        self.changed.notify_all();
        server.lock()?.embryo = false;
        Ok(server)
    }

    /// shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR.
    pub fn shutdown(&self, how: i32) -> Result<()> {
        let (read, write) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let mut inner = self.lock()?;
        if write {
            inner.shut_send = true;
        }
        let tx = inner.tx.clone();
        drop(inner);
        if read {
            self.rx.close();
        }
        if write && self.kind.connection_based() {
            if let Some(tx) = tx {
                tx.close();
            }
        }
        Ok(())
    }

    /// The queue a send goes to, and the receiving socket for datagrams.
    fn destination(&self, to: Option<&Arc<UnixSocket>>) -> Result<(Arc<Queue>, Option<Arc<UnixSocket>>)> {
        let mut inner = self.lock()?;
        if self.kind.connection_based() {
            if !matches!(inner.state, State::Connected) {
                return Err(Errno::ENOTCONN);
            }
            return inner.tx.clone().map(|q| (q, None)).ok_or(Errno::ENOTCONN);
        }
        if let Some(target) = to {
            return Ok((target.rx.clone(), Some(target.clone())));
        }
        let Some(peer) = inner.peer.clone() else {
            return Err(Errno::ENOTCONN);
        };
        match live_peer(&peer) {
            Some(p) => Ok((p.rx.clone(), Some(p))),
            None => {
                // The peer is gone: disconnect, and report it once.
                inner.peer = None;
                inner.tx = None;
                inner.peer_addr = None;
                Err(Errno::ECONNREFUSED)
            }
        }
    }

    /// send(2) and friends. `to` is the socket a destination name found.
    pub fn send(
        &self,
        data: &[u8],
        ctl: Control,
        to: Option<&Arc<UnixSocket>>,
        wait: &Wait,
        sender: Ucred,
    ) -> Result<usize> {
        if self.kind == Kind::Stream && to.is_some() {
            let connected = matches!(self.lock()?.state, State::Connected);
            return Err(if connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
        }
        if let Some(target) = to {
            if target.kind != self.kind {
                return Err(Errno::EPROTOTYPE);
            }
        }
        // unix_dgram_sendmsg autobinds; a stream send does not.
        if self.kind != Kind::Stream {
            self.autobind_for_passcred()?;
        }
        let (shut_send, sndbuf, from) = {
            let inner = self.lock()?;
            (inner.shut_send, inner.opts.sndbuf, inner.local.clone())
        };
        let to = if self.kind == Kind::SeqPacket { None } else { to };
        if self.kind != Kind::Stream && data.len() + 32 > sndbuf {
            return Err(Errno::EMSGSIZE);
        }
        let (queue, receiver) = self.destination(to)?;
        if shut_send {
            return Err(Errno::EPIPE);
        }
        let creds = ctl.creds.unwrap_or(sender);
        let message = |bytes: &[u8], files| Message {
            data: bytes.to_vec(),
            read: 0,
            from: from.clone(),
            creds,
            files,
        };
        if self.kind == Kind::Stream {
            return self.send_stream(&queue, data, ctl.files, sndbuf, wait, &message);
        }
        self.send_message(&queue, receiver.as_deref(), message(data, ctl.files), sndbuf, wait)
    }

    /// Queues one datagram or seqpacket message, waiting for room: the
    /// send buffer's worth, and max_dgram_qlen messages for a receiver not
    /// connected back to the sender (unix_dgram_sendmsg).
    fn send_message(
        &self,
        queue: &Queue,
        receiver: Option<&UnixSocket>,
        msg: Message,
        sndbuf: usize,
        wait: &Wait,
    ) -> Result<usize> {
        if let Some(receiver) = receiver {
            receiver.may_receive_from(self)?;
        }
        let limit_count = receiver.is_some_and(|r| !r.is_peer_of(self));
        let len = msg.data.len();
        let charge = len + MESSAGE_OVERHEAD;
        let full = |s: &QueueState| {
            (s.charged > 0 && s.charged + charge > sndbuf) || (limit_count && s.messages.len() > MAX_DGRAM_QLEN)
        };
        let s = queue.lock()?;
        let mut s = queue.wait_until(s, wait, |s| s.closed || !full(s))?;
        if s.closed {
            return Err(Errno::EPIPE);
        }
        s.push(msg);
        drop(s);
        queue.changed.notify_all();
        Ok(len)
    }

    fn send_stream(
        &self,
        queue: &Queue,
        data: &[u8],
        mut files: Vec<Arc<OpenFile>>,
        sndbuf: usize,
        wait: &Wait,
        message: &MakeMessage,
    ) -> Result<usize> {
        let mut sent = 0;
        while sent < data.len() {
            let s = queue.lock()?;
            let waited = queue.wait_until(s, wait, |s| s.closed || s.charged < sndbuf);
            let mut s = match waited {
                Ok(s) => s,
                Err(_) if sent > 0 => return Ok(sent),
                Err(e) => return Err(e),
            };
            if s.closed {
                return if sent > 0 { Ok(sent) } else { Err(Errno::EPIPE) };
            }
            let n = (data.len() - sent).min(STREAM_SEGMENT);
            s.push(message(&data[sent..sent + n], std::mem::take(&mut files)));
            drop(s);
            queue.changed.notify_all();
            sent += n;
        }
        Ok(sent)
    }

    /// EPERM unless this datagram socket is unconnected or connected to
    /// `sender` (unix(7): a connected datagram socket only hears its peer).
    fn may_receive_from(&self, sender: &UnixSocket) -> Result<()> {
        let inner = self.lock()?;
        match &inner.peer {
            Some(p) if !std::ptr::eq(p.as_ptr(), sender) && live_peer(p).is_some() => Err(Errno::EPERM),
            _ => Ok(()),
        }
    }

    fn is_peer_of(&self, sender: &UnixSocket) -> bool {
        self.lock()
            .is_ok_and(|i| i.peer.as_ref().is_some_and(|p| std::ptr::eq(p.as_ptr(), sender)))
    }

    /// recv(2) and friends: up to `want` bytes.
    pub fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let passcred = {
            let inner = self.lock()?;
            match (self.kind, &inner.state) {
                (Kind::Stream, State::Connected) | (Kind::Dgram, _) => {}
                (Kind::Stream, _) => return Err(Errno::EINVAL),
                (Kind::SeqPacket, State::Connected) => {}
                (Kind::SeqPacket, _) => return Err(Errno::ENOTCONN),
            }
            inner.opts.passcred
        };
        let mut received = match self.kind {
            Kind::Stream => self.recv_stream(want, flags, wait, passcred)?,
            _ => self.recv_message(want, flags, wait)?,
        };
        if !passcred {
            received.creds = None;
        }
        Ok(received)
    }

    /// Waits for a message or EOF; a pending error (ECONNRESET) is
    /// reported once the queue is empty.
    fn wait_readable<'a>(&'a self, wait: &Wait) -> Result<MutexGuard<'a, QueueState>> {
        let mut s = self.rx.lock()?;
        loop {
            if !s.messages.is_empty() {
                return Ok(s);
            }
            if let Some(e) = s.error.take() {
                return Err(e);
            }
            if s.closed {
                return Ok(s);
            }
            s = wait.block(&self.rx.changed, s)?;
        }
    }

    fn recv_message(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let mut s = self.wait_readable(wait)?;
        let Some(front) = s.messages.front_mut() else {
            return Ok(Received::default());
        };
        let n = want.min(front.data.len());
        let mut got = Received {
            data: front.data[..n].to_vec(),
            full_len: front.data.len(),
            truncated: n < front.data.len(),
            from: front.from.as_ref().map(|a| Address::to_sockaddr(Some(a))),
            creds: Some(front.creds),
            files: Vec::new(),
        };
        if flags.peek {
            got.files = front.files.clone();
        } else if let Some(msg) = s.pop() {
            got.files = msg.files;
        }
        drop(s);
        self.wake_writers();
        Ok(got)
    }

    /// A stream read waits for SO_RCVLOWAT bytes, or all of them with
    /// MSG_WAITALL, unless EOF, an error or a signal ends it first.
    fn recv_stream(&self, want: usize, flags: RecvFlags, wait: &Wait, passcred: bool) -> Result<Received> {
        let rcvlowat = self.lock()?.opts.rcvlowat.max(1) as usize;
        let mut got = Received::default();
        if want == 0 {
            return Ok(got);
        }
        let target = if flags.waitall { want } else { rcvlowat.min(want) };
        loop {
            let s = match self.wait_readable(wait) {
                Ok(s) => s,
                Err(_) if !got.data.is_empty() => break,
                Err(e) => return Err(e),
            };
            let mut s = s;
            if s.messages.is_empty() {
                break; // EOF
            }
            if flags.peek {
                got = Received::default();
            }
            let stop = Self::copy_stream(&mut s, &mut got, want, flags.peek, passcred);
            drop(s);
            self.wake_writers();
            if stop || got.data.len() >= target || flags.peek {
                break;
            }
        }
        got.full_len = got.data.len();
        Ok(got)
    }

    /// Copies queued stream bytes into `got`; true when the read must end
    /// here (files came with the bytes read, or the next bytes carry other
    /// credentials than those already read).
    fn copy_stream(s: &mut QueueState, got: &mut Received, want: usize, peek: bool, passcred: bool) -> bool {
        let mut index = 0;
        while got.data.len() < want {
            let Some(msg) = s.messages.get_mut(index) else {
                return false;
            };
            let first = got.data.is_empty() && got.creds.is_none();
            // Never glue bytes of different writers when credentials are
            // passed (unix_stream_read_generic).
            if !first && passcred && got.creds != Some(msg.creds) {
                return true;
            }
            let n = (msg.data.len() - msg.read).min(want - got.data.len());
            got.data.extend_from_slice(&msg.data[msg.read..msg.read + n]);
            if first {
                got.creds = Some(msg.creds);
                got.from = msg.from.as_ref().map(|a| Address::to_sockaddr(Some(a)));
            }
            let had_files = !msg.files.is_empty();
            if peek {
                got.files.extend(msg.files.iter().cloned());
                index += 1;
            } else {
                got.files.append(&mut msg.files);
                msg.read += n;
                if msg.read == msg.data.len() {
                    s.pop();
                }
            }
            if had_files {
                return true;
            }
        }
        false
    }

    fn wake_writers(&self) {
        self.rx.changed.notify_all();
    }

    /// FIONREAD/SIOCINQ: unread bytes of a stream, else the size of the
    /// next message.
    pub fn readable_bytes(&self) -> Result<usize> {
        let s = self.rx.lock()?;
        Ok(match self.kind {
            Kind::Stream => s.unread(),
            _ => s.messages.front().map_or(0, |m| m.data.len()),
        })
    }

    /// poll(2) readiness (unix_poll / unix_dgram_poll).
    pub fn readiness(&self, events: i16) -> i16 {
        let Ok(inner) = self.lock() else { return libc::POLLERR };
        let mut mask = 0;
        let tx = inner.tx.clone();
        let listening = match &inner.state {
            State::Listening { pending, .. } => {
                if !pending.is_empty() {
                    mask |= libc::POLLIN | libc::POLLRDNORM;
                }
                true
            }
            State::Unconnected if self.kind.connection_based() => {
                mask |= libc::POLLHUP;
                false
            }
            _ => false,
        };
        let sndbuf = inner.opts.sndbuf;
        let mut send_shut = inner.shut_send;
        let peer = inner.peer.clone();
        drop(inner);
        // One queue lock at a time: the peer may be polling its end too.
        let (tx_closed, queued, count) = tx
            .as_ref()
            .and_then(|q| q.lock().ok().map(|t| (t.closed, t.charged, t.messages.len())))
            .unwrap_or((false, 0, 0));
        // unix_dgram_poll: a peer not connected back to us may have a full queue.
        let peer_full = self.kind == Kind::Dgram
            && count > MAX_DGRAM_QLEN
            && peer.as_ref().and_then(live_peer).is_some_and(|p| !p.is_peer_of(self));
        if self.kind.connection_based() {
            send_shut |= tx_closed;
        }
        if let Ok(s) = self.rx.lock() {
            if s.error.is_some() {
                mask |= libc::POLLERR;
            }
            if !s.messages.is_empty() {
                mask |= libc::POLLIN | libc::POLLRDNORM;
            }
            if s.closed {
                mask |= libc::POLLRDHUP | libc::POLLIN | libc::POLLRDNORM;
            }
            if s.closed && send_shut {
                mask |= libc::POLLHUP;
            }
        }
        if !listening && !peer_full && queued * 4 <= sndbuf {
            mask |= libc::POLLOUT | libc::POLLWRNORM;
        }
        (mask & events) | (mask & (libc::POLLERR | libc::POLLHUP))
    }

    /// getsockopt(SOL_SOCKET, `name`): the option's bytes.
    pub fn get_option(&self, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        if name == libc::SO_ERROR {
            let e = self.rx.lock()?.error.take();
            return Ok(int(e.map_or(0, |e| e.0)));
        }
        let inner = self.lock()?;
        Ok(match name {
            libc::SO_TYPE => int(self.kind.linux_type()),
            libc::SO_DOMAIN => int(libc::AF_UNIX),
            libc::SO_PROTOCOL => int(0),
            libc::SO_ACCEPTCONN => int(matches!(inner.state, State::Listening { .. }) as i32),
            libc::SO_PEERCRED => inner.peer_cred.unwrap_or(Ucred::NONE).to_bytes().to_vec(),
            _ => return inner.opts.get(name).ok_or(Errno::ENOPROTOOPT),
        })
    }

    /// setsockopt(SOL_SOCKET, `name`, `val`).
    pub fn set_option(&self, name: i32, val: &[u8]) -> Result<()> {
        self.lock()?.opts.set(name, val)
    }
}

impl UnixSocket {
    /// close(2) of the last description: the peer sees EOF (and
    /// ECONNRESET if this end dropped unread data or was never accepted);
    /// queued files are closed; pending connections are reset; waiters
    /// wake up. Runs once.
    pub fn release(&self) {
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        let (tx, embryo, pending) = match self.inner.lock() {
            Ok(mut inner) => {
                let pending = match std::mem::replace(&mut inner.state, State::Unconnected) {
                    State::Listening { pending, .. } => pending,
                    _ => VecDeque::new(),
                };
                inner.peer = None;
                (inner.tx.take(), inner.embryo, pending)
            }
            Err(_) => return,
        };
        self.changed.notify_all();
        let unread = self.rx.lock().is_ok_and(|s| !s.messages.is_empty());
        self.rx.close_and_drain();
        if let (Some(tx), true) = (tx, self.kind.connection_based()) {
            if let Ok(mut s) = tx.lock() {
                s.closed = true;
                if unread || embryo {
                    s.error = Some(Errno::ECONNRESET);
                }
            }
            tx.changed.notify_all();
        }
        for server in pending {
            server.release();
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::options::{MAX_BUF, MIN_RCVBUF};

    const CRED: Ucred = Ucred { pid: 7, uid: 1, gid: 2 };

    fn pair(kind: Kind) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        UnixSocket::pair(kind, &Arc::new(Names::default()), CRED)
    }

    fn send(s: &UnixSocket, data: &[u8]) -> Result<usize> {
        s.send(data, Control::default(), None, &Wait::new(true, None), CRED)
    }

    fn recv(s: &UnixSocket, want: usize) -> Result<Vec<u8>> {
        s.recv(want, RecvFlags::default(), &Wait::new(true, None))
            .map(|r| r.data)
    }

    #[test]
    fn stream_merges_and_ends_with_eof() {
        let (a, b) = pair(Kind::Stream);
        assert_eq!(send(&a, b"ab"), Ok(2));
        assert_eq!(send(&a, b"cd"), Ok(2));
        assert_eq!(recv(&b, 16), Ok(b"abcd".to_vec()));
        assert_eq!(recv(&b, 16), Err(Errno::EAGAIN));
        a.release();
        assert_eq!(recv(&b, 16), Ok(Vec::new()));
        assert_eq!(send(&b, b"x"), Err(Errno::EPIPE));
    }

    #[test]
    fn datagrams_keep_boundaries_and_truncate() {
        let (a, b) = pair(Kind::Dgram);
        assert_eq!(send(&a, b"hello"), Ok(5));
        assert_eq!(send(&a, b"xy"), Ok(2));
        let got = b
            .recv(2, RecvFlags::default(), &Wait::new(true, None))
            .map(|r| (r.data, r.full_len, r.truncated));
        assert_eq!(got, Ok((b"he".to_vec(), 5, true)));
        assert_eq!(recv(&b, 16), Ok(b"xy".to_vec()));
    }

    #[test]
    fn unread_data_resets_the_peer() {
        let (a, b) = pair(Kind::Stream);
        assert_eq!(send(&a, b"lost"), Ok(4));
        b.release();
        assert_eq!(recv(&a, 4), Err(Errno::ECONNRESET));
        assert_eq!(recv(&a, 4), Ok(Vec::new()));
    }

    #[test]
    fn listener_admits_backlog_plus_one() {
        let names = Arc::new(Names::default());
        let new = || UnixSocket::new(Kind::Stream, names.clone(), SocketInode::new(0, 0));
        let l = new();
        assert_eq!(l.listen(1, CRED), Err(Errno::EINVAL));
        assert_eq!(l.bind(None, |_| Err(Errno::EINVAL)), Ok(()));
        assert_eq!(l.listen(1, CRED), Ok(()));
        let nonblock = Wait::new(true, None);
        let clients: Vec<_> = (0..3).map(|_| new()).collect();
        assert_eq!(clients[0].connect(&l, &nonblock, CRED), Ok(()));
        assert_eq!(clients[1].connect(&l, &nonblock, CRED), Ok(()));
        assert_eq!(clients[2].connect(&l, &nonblock, CRED), Err(Errno::EAGAIN));
        let server = l.accept(&nonblock).map_err(|e| e.0);
        assert!(server.is_ok());
        assert_eq!(clients[2].connect(&l, &nonblock, CRED), Ok(()));
    }

    #[test]
    fn buffer_sizes_double_within_limits() {
        let (a, _b) = pair(Kind::Stream);
        assert_eq!(a.set_option(libc::SO_SNDBUF, &10000i32.to_le_bytes()), Ok(()));
        assert_eq!(a.get_option(libc::SO_SNDBUF), Ok(20000i32.to_le_bytes().to_vec()));
        assert_eq!(a.set_option(libc::SO_RCVBUF, &(-5i32).to_le_bytes()), Ok(()));
        assert_eq!(
            a.get_option(libc::SO_RCVBUF),
            Ok((2 * MAX_BUF as i32).to_le_bytes().to_vec())
        );
        assert_eq!(a.set_option(libc::SO_RCVBUF, &0i32.to_le_bytes()), Ok(()));
        assert_eq!(
            a.get_option(libc::SO_RCVBUF),
            Ok((MIN_RCVBUF as i32).to_le_bytes().to_vec())
        );
        assert_eq!(a.set_option(12345, &[0; 4]), Err(Errno::ENOPROTOOPT));
    }
}
