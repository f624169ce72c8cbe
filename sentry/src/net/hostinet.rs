//! `--network=host`: AF_INET and AF_INET6 sockets that are host sockets
//! (as gVisor's hostinet). Each guest socket owns one non-blocking host
//! socket in the host's network namespace; addresses and options pass
//! through unchanged (the layouts are the host's), and blocking calls wait
//! here, on poll(2), so that signals and timeouts work as for every other
//! socket. This is weaker isolation: the guest reaches the host's network
//! stack directly, and the Sentry's seccomp list allows the socket calls.

use super::socket::{Received, RecvFlags, SendArgs, Socket};
use super::{SocketInode, Wait};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest sockaddr (sizeof(struct sockaddr_storage)).
const SOCKADDR_MAX: usize = 128;
/// The largest option value read from the host.
const OPTION_MAX: usize = 256;
/// How often a blocked call looks for signals.
const POLL_STEP: Duration = Duration::from_millis(20);
/// The most one receive asks of the host (the buffer is allocated).
const RECV_MAX: usize = 1 << 20;
/// The largest datagram a send may carry before the host says more.
const DATAGRAM_MAX: usize = 1 << 20;

pub struct HostSocket {
    fd: OwnedFd,
    family: i32,
    sock_type: i32,
    protocol: i32,
    inode: Arc<SocketInode>,
    /// SO_RCVTIMEO and SO_SNDTIMEO: kept here, since the host socket is
    /// non-blocking and the waits are ours.
    timeouts: Mutex<(Option<Duration>, Option<Duration>)>,
    /// Bytes received and sent, connections accepted: with what the host
    /// still queues they make the event counter of edge-triggered epoll.
    read_total: AtomicU64,
    written_total: AtomicU64,
    accepted_total: AtomicU64,
}

/// The errno of the last failed host call.
fn host_errno() -> Errno {
    Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

/// A host call's result: the value, or the errno it set.
fn check(rc: isize) -> Result<usize> {
    if rc < 0 {
        Err(host_errno())
    } else {
        Ok(rc as usize)
    }
}

/// socket(2) for AF_INET/AF_INET6 on the host, which decides what it
/// allows (raw sockets need CAP_NET_RAW, which the Sentry does not have:
/// EPERM; ping sockets need the host's ping_group_range).
pub fn create(domain: i32, ty: i32, protocol: i32, inode: Arc<SocketInode>) -> Result<Arc<dyn Socket>> {
    // SAFETY: socket(2) with integer arguments.
    let raw = unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, protocol) };
    check(raw as isize)?;
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    Ok(Arc::new(HostSocket::wrap(fd, domain, ty, protocol, inode)))
}

impl HostSocket {
    fn wrap(fd: OwnedFd, family: i32, sock_type: i32, protocol: i32, inode: Arc<SocketInode>) -> HostSocket {
        HostSocket {
            fd,
            family,
            sock_type,
            protocol,
            inode,
            timeouts: Mutex::new((None, None)),
            read_total: AtomicU64::new(0),
            written_total: AtomicU64::new(0),
            accepted_total: AtomicU64::new(0),
        }
    }

    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The host socket's readiness for `events`, waiting up to `timeout_ms`.
    fn poll_host(&self, events: i16, timeout_ms: i32) -> i16 {
        let mut p = libc::pollfd {
            fd: self.raw(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if n > 0 {
            p.revents
        } else {
            0
        }
    }

    /// Waits until the host socket is ready for `events` (or has an error
    /// or hangup), as `Wait::block` waits: EAGAIN when non-blocking or past
    /// the deadline, ERESTARTSYS (EINTR with a timeout) on a signal.
    fn wait_for(&self, events: i16, wait: &Wait) -> Result<()> {
        if wait.nonblock {
            return Err(Errno::EAGAIN);
        }
        loop {
            if let Err(e) = crate::kernel::interrupt::check() {
                return Err(if wait.deadline.is_some() { Errno::EINTR } else { e });
            }
            let mut step = POLL_STEP;
            if let Some(deadline) = wait.deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Errno::EAGAIN);
                }
                step = step.min(deadline - now);
            }
            let ready = self.poll_host(events, step.as_millis().max(1) as i32);
            if ready & (events | libc::POLLERR | libc::POLLHUP) != 0 {
                return Ok(());
            }
        }
    }

    /// Retries `op` while the host says EAGAIN, waiting for `events`.
    fn blocking<T>(&self, events: i16, wait: &Wait, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        loop {
            match op() {
                Err(Errno::EAGAIN) => self.wait_for(events, wait)?,
                other => return other,
            }
        }
    }

    /// A receive that waits for data. A socket shut down for reading
    /// polls readable while a non-blocking receive still says EAGAIN (a
    /// UDP socket after shutdown(SHUT_RD)): a blocking receive returns end
    /// of file there, as the host's would.
    fn recv_blocking(&self, want: usize, flags: i32, wait: &Wait) -> Result<Received> {
        loop {
            match self.recv_once(want, flags) {
                Err(Errno::EAGAIN) => {}
                other => return other,
            }
            self.wait_for(libc::POLLIN, wait)?;
            let hung_up = self.poll_host(libc::POLLIN | libc::POLLRDHUP, 0) & (libc::POLLRDHUP | libc::POLLHUP) != 0;
            if hung_up {
                return match self.recv_once(want, flags) {
                    Err(Errno::EAGAIN) => Ok(Received::default()),
                    other => other,
                };
            }
        }
    }

    /// An int the host reports through ioctl `cmd` (FIONREAD, TIOCOUTQ).
    fn host_queue(&self, cmd: u64) -> Result<i32> {
        let mut n: i32 = 0;
        // SAFETY: these ioctls write one int.
        let rc = unsafe { libc::ioctl(self.raw(), cmd, &mut n) };
        check(rc as isize)?;
        Ok(n)
    }

    fn name_of(&self, peer: bool) -> Result<Vec<u8>> {
        let mut buf = [0u8; SOCKADDR_MAX];
        let mut len = SOCKADDR_MAX as libc::socklen_t;
        let ptr = buf.as_mut_ptr().cast::<libc::sockaddr>();
        // SAFETY: a buffer of `len` bytes and its length.
        let rc = unsafe {
            if peer {
                libc::getpeername(self.raw(), ptr, &mut len)
            } else {
                libc::getsockname(self.raw(), ptr, &mut len)
            }
        };
        check(rc as isize)?;
        Ok(buf[..(len as usize).min(SOCKADDR_MAX)].to_vec())
    }

    /// One non-blocking receive of up to `want` bytes (at most RECV_MAX:
    /// a stream returns less, a datagram's real length still comes back).
    fn recv_once(&self, want: usize, flags: i32) -> Result<Received> {
        let want = want.min(RECV_MAX);
        let mut data = vec![0u8; want];
        let mut from = [0u8; SOCKADDR_MAX];
        let mut from_len = SOCKADDR_MAX as libc::socklen_t;
        // A datagram's real length comes back with MSG_TRUNC.
        let trunc = if self.is_stream() { 0 } else { libc::MSG_TRUNC };
        // SAFETY: buffers of the given lengths.
        let n = unsafe {
            libc::recvfrom(
                self.raw(),
                data.as_mut_ptr().cast(),
                want,
                flags | trunc | libc::MSG_DONTWAIT,
                from.as_mut_ptr().cast(),
                &mut from_len,
            )
        };
        let full_len = check(n)?;
        data.truncate(full_len.min(want));
        Ok(Received {
            truncated: full_len > want,
            full_len,
            from: (from_len > 0).then(|| from[..(from_len as usize).min(SOCKADDR_MAX)].to_vec()),
            data,
            ..Received::default()
        })
    }
}

impl Socket for HostSocket {
    fn family(&self) -> i32 {
        self.family
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

    fn bind(&self, _task: &Task, addr: &[u8]) -> Result<()> {
        // SAFETY: `addr` is a live buffer of that length.
        let rc = unsafe { libc::bind(self.raw(), addr.as_ptr().cast(), addr.len() as libc::socklen_t) };
        check(rc as isize).map(|_| ())
    }

    fn listen(&self, _task: &Task, backlog: i32) -> Result<()> {
        // SAFETY: listen(2) with integer arguments.
        check(unsafe { libc::listen(self.raw(), backlog) } as isize).map(|_| ())
    }

    /// connect(2): the host connects in the background (EINPROGRESS); a
    /// blocking caller waits for writability and takes SO_ERROR.
    fn connect(&self, _task: &Task, addr: &[u8], wait: &Wait) -> Result<()> {
        // SAFETY: `addr` is a live buffer of that length.
        let rc = unsafe { libc::connect(self.raw(), addr.as_ptr().cast(), addr.len() as libc::socklen_t) };
        match check(rc as isize) {
            Err(Errno::EINPROGRESS) if !wait.nonblock => {}
            other => return other.map(|_| ()),
        }
        self.wait_for(libc::POLLOUT, wait).map_err(|e| {
            // A connect that timed out keeps going in the background.
            if e == Errno::EAGAIN {
                Errno::EINPROGRESS
            } else {
                e
            }
        })?;
        let err = self.get_option(libc::SOL_SOCKET, libc::SO_ERROR)?;
        match i32::from_le_bytes(err.get(..4).and_then(|b| b.try_into().ok()).unwrap_or([0; 4])) {
            0 => {
                // The host socket counts as connected (a later connect is
                // EISCONN) once a connect call has seen it done.
                // SAFETY: `addr` is a live buffer of that length.
                let rc = unsafe { libc::connect(self.raw(), addr.as_ptr().cast(), addr.len() as libc::socklen_t) };
                match check(rc as isize) {
                    Ok(_) | Err(Errno::EISCONN) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            e => Err(Errno(e)),
        }
    }

    fn accept(&self, wait: &Wait) -> Result<Arc<dyn Socket>> {
        let raw = self.blocking(libc::POLLIN, wait, || {
            // SAFETY: accept4(2) without an address buffer.
            let rc = unsafe {
                libc::accept4(
                    self.raw(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            check(rc as isize).map(|fd| fd as i32)
        })?;
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        self.accepted_total.fetch_add(1, Ordering::Relaxed);
        let inode = SocketInode::new(self.inode.uid, self.inode.gid);
        Ok(Arc::new(HostSocket::wrap(
            fd,
            self.family,
            self.sock_type,
            self.protocol,
            inode,
        )))
    }

    fn send(&self, _task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        let (to_ptr, to_len) = match args.to {
            Some(to) => (to.as_ptr(), to.len() as libc::socklen_t),
            None => (std::ptr::null(), 0),
        };
        // SIGPIPE is the Sentry's to raise (MSG_NOSIGNAL on the host).
        let flags = args.flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        let sent = self.blocking(libc::POLLOUT, &args.wait, || {
            // SAFETY: live buffers of the given lengths.
            let n = unsafe {
                libc::sendto(
                    self.raw(),
                    data.as_ptr().cast(),
                    data.len(),
                    flags,
                    to_ptr.cast(),
                    to_len,
                )
            };
            check(n)
        })?;
        self.written_total.fetch_add(sent as u64, Ordering::Relaxed);
        Ok(sent)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        let host_flags = if flags.peek { libc::MSG_PEEK } else { 0 };
        let mut got = self.recv_blocking(want, host_flags, wait)?;
        // MSG_WAITALL on a stream: keep reading until full, EOF or error.
        while flags.waitall && self.is_stream() && !flags.peek && got.data.len() < want {
            let more = match self.recv_blocking(want - got.data.len(), 0, wait) {
                Ok(more) if !more.data.is_empty() => more,
                _ => break,
            };
            got.data.extend_from_slice(&more.data);
            got.full_len = got.data.len();
        }
        if !flags.peek {
            self.read_total
                .fetch_add(got.data.len().max(1) as u64, Ordering::Relaxed);
        }
        Ok(got)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        // SAFETY: shutdown(2) with integer arguments.
        check(unsafe { libc::shutdown(self.raw(), how) } as isize).map(|_| ())
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        self.name_of(false)
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        self.name_of(true)
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        if level == libc::SOL_SOCKET && (name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO) {
            let t = self.timeouts.lock().map_err(|_| Errno::EIO)?;
            let v = if name == libc::SO_RCVTIMEO { t.0 } else { t.1 }.unwrap_or_default();
            return Ok([
                (v.as_secs() as i64).to_le_bytes(),
                i64::from(v.subsec_micros()).to_le_bytes(),
            ]
            .concat());
        }
        let mut buf = [0u8; OPTION_MAX];
        let mut len = OPTION_MAX as libc::socklen_t;
        // SAFETY: a buffer of `len` bytes and its length.
        let rc = unsafe { libc::getsockopt(self.raw(), level, name, buf.as_mut_ptr().cast(), &mut len) };
        check(rc as isize)?;
        Ok(buf[..(len as usize).min(OPTION_MAX)].to_vec())
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        if level == libc::SOL_SOCKET && (name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO) {
            if val.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let word = |i: usize| i64::from_le_bytes(val[i..i + 8].try_into().unwrap_or([0; 8]));
            let (sec, usec) = (word(0), word(8));
            if !(0..1_000_000).contains(&usec) {
                return Err(Errno::EDOM);
            }
            let t = match (sec, usec) {
                (0, 0) => None,
                (s, _) if s < 0 => Some(Duration::from_micros(1)),
                (s, u) => Some(Duration::from_secs(s as u64) + Duration::from_micros(u as u64)),
            };
            let mut timeouts = self.timeouts.lock().map_err(|_| Errno::EIO)?;
            if name == libc::SO_RCVTIMEO {
                timeouts.0 = t;
            } else {
                timeouts.1 = t;
            }
            return Ok(());
        }
        // SAFETY: `val` is a live buffer of that length.
        let rc = unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                val.as_ptr().cast(),
                val.len() as libc::socklen_t,
            )
        };
        check(rc as isize).map(|_| ())
    }

    fn readiness(&self, events: i16) -> i16 {
        self.poll_host(events, 0)
    }

    /// Moves with every arrival (bytes read plus bytes queued), every
    /// freed byte of the send queue, every accepted connection and a
    /// hang-up, as the stack's sockets count.
    fn event_count(&self) -> u64 {
        let queued_in = self.host_queue(libc::FIONREAD).unwrap_or(0).max(0) as u64;
        let queued_out = self.host_queue(libc::TIOCOUTQ).unwrap_or(0).max(0) as u64;
        let ready = self.poll_host(libc::POLLIN | libc::POLLRDHUP, 0);
        self.read_total.load(Ordering::Relaxed)
            + queued_in
            + self.written_total.load(Ordering::Relaxed).saturating_sub(queued_out)
            + self.accepted_total.load(Ordering::Relaxed)
            + u64::from(ready & (libc::POLLRDHUP | libc::POLLHUP) != 0)
            + u64::from(ready & libc::POLLIN != 0)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        match u64::from(cmd) {
            libc::FIONREAD | libc::TIOCOUTQ => {
                let n = self.host_queue(u64::from(cmd))?;
                mem.write(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        self.timeouts.lock().ok()?.0
    }

    fn sndtimeo(&self) -> Option<Duration> {
        self.timeouts.lock().ok()?.1
    }

    fn max_message(&self) -> usize {
        if self.is_stream() {
            usize::MAX
        } else {
            DATAGRAM_MAX
        }
    }

    fn release(&self) {}
}
