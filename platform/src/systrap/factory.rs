//! The stub factory process: forked from the Sentry before the Sentry
//! installs its own seccomp filter, it forks stub processes on request so
//! that stubs never inherit that filter (a stacked filter's
//! SECCOMP_RET_KILL_PROCESS would win over the stub's SECCOMP_RET_TRAP,
//! seccomp(2) "return values ... the highest precedence").
//!
//! The Sentry talks to it over a SOCK_SEQPACKET socketpair, one request at a
//! time:
//! - FORK, with the memory file and the control file as SCM_RIGHTS: the
//!   factory forks a stub (see `process::child_main`) and answers with its
//!   pid and a pidfd for it (SCM_RIGHTS), or a negated errno.
//! - REAP pid: the Sentry has killed the stub and is done with it; the
//!   factory waits for it. Until then the stub stays a zombie, so its pid
//!   (which the Sentry signals) is never reused while the Sentry holds it.
//!
//! The factory does nothing else. It holds no fd but its end of the socket
//! (and, briefly, the two fds of a request), it runs in the Sentry's
//! namespaces under the empty root with no capabilities and under a seccomp
//! allow-list of its own (`factory_seccomp.rs`), it dies with the
//! thread that forked it (PR_SET_PDEATHSIG) or when the Sentry's end of the
//! socket closes, and its stubs die with it (their own PR_SET_PDEATHSIG).
//! Its loop makes only raw syscalls on stack buffers, since it may be
//! forked from a multi-threaded process.

use super::process::{child_main, StubArea};
use crate::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

const OP_FORK: u32 = 1;
const OP_REAP: u32 = 2;

/// A request: the operation and, for REAP, the stub's pid.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Request {
    op: u32,
    pid: i32,
}

/// Room for the control message of up to two fds.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// The Sentry's handle on its stub factory.
pub(super) struct Factory {
    socket: Mutex<OwnedFd>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory").finish_non_exhaustive()
    }
}

impl Factory {
    /// Forks the factory process. `area` and `fprog` must already exist:
    /// the factory and its stubs use its copies of them.
    pub(super) fn start(area: &'static StubArea, fprog: &'static libc::sock_fprog) -> Result<Factory> {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two fds into the array.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(Error::last("socketpair for the systrap stub factory"));
        }
        // SAFETY: socketpair returned two new fds that nothing else owns.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // Built before the fork: the child must not allocate.
        let own_filter = super::factory_seccomp::program();
        let own_fprog = libc::sock_fprog {
            len: own_filter.len() as u16,
            filter: own_filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: a raw fork (clone with only SIGCHLD). The child runs
        // `factory_main`, which makes only raw syscalls and never returns.
        let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
        if pid < 0 {
            return Err(Error::last("fork of the systrap stub factory"));
        }
        if pid == 0 {
            factory_main(parent, theirs.as_raw_fd(), area, fprog, &own_fprog);
        }
        drop(theirs);
        Ok(Factory {
            socket: Mutex::new(ours),
        })
    }

    /// Has the factory fork a stub process; returns its pid and a pidfd.
    pub(super) fn fork_stub(&self, memory_file: RawFd, control_fd: RawFd) -> Result<(i32, OwnedFd)> {
        let socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        let request = Request { op: OP_FORK, pid: 0 };
        send(socket.as_raw_fd(), &request, &[memory_file, control_fd])
            .map_err(|source| host("send to the systrap stub factory", source))?;
        let mut answer = 0i32;
        let mut cmsg = CmsgBuf([0; 64]);
        let (n, fds) = recv(socket.as_raw_fd(), &mut answer, &mut cmsg, libc::MSG_CMSG_CLOEXEC)
            .map_err(|source| host("receive from the systrap stub factory", source))?;
        // SAFETY: fds received with SCM_RIGHTS are new fds we own.
        let mut owned = fds.iter().flatten().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) });
        let pidfd = owned.next();
        if n == 0 {
            return Err(host(
                "fork systrap stub",
                std::io::Error::other("the stub factory is gone"),
            ));
        }
        match (answer, pidfd) {
            (pid, Some(pidfd)) if pid > 0 => Ok((pid, pidfd)),
            (errno, _) if errno < 0 => Err(host("fork systrap stub", std::io::Error::from_raw_os_error(-errno))),
            _ => Err(host(
                "fork systrap stub",
                std::io::Error::other("malformed answer from the stub factory"),
            )),
        }
    }

    /// Lets the factory reap a stub the Sentry has killed.
    pub(super) fn reap(&self, pid: i32) {
        let socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        let request = Request { op: OP_REAP, pid };
        // A factory that is gone took its zombies with it.
        let _ = send(socket.as_raw_fd(), &request, &[]);
    }
}

fn host(op: &'static str, source: std::io::Error) -> Error {
    Error::Host { op, source }
}

/// Sends one message with `fds` attached (SCM_RIGHTS).
fn send<T: Copy>(socket: RawFd, body: &T, fds: &[RawFd]) -> std::io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: (body as *const T).cast_mut().cast(),
        iov_len: std::mem::size_of::<T>(),
    };
    let mut cmsg = CmsgBuf([0; 64]);
    // SAFETY: an all-zero msghdr is valid; the fields set below point to
    // live buffers of the stated sizes.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let data_len = std::mem::size_of_val(fds) as u32;
        // SAFETY: CMSG_SPACE is arithmetic; two fds fit in 64 bytes.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(data_len) } as usize;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        // SAFETY: msg_control points to `cmsg`, aligned and large enough
        // for one header with `fds`.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(data_len) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(header).cast::<RawFd>(), fds.len());
        }
    }
    loop {
        // SAFETY: msg describes live buffers (see above).
        let n = unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Receives one message into `body`; returns its length and up to two fds
/// that came with it.
fn recv<T: Copy>(
    socket: RawFd,
    body: &mut T,
    cmsg: &mut CmsgBuf,
    flags: i32,
) -> std::io::Result<(usize, [Option<RawFd>; 2])> {
    let mut iov = libc::iovec {
        iov_base: (body as *mut T).cast(),
        iov_len: std::mem::size_of::<T>(),
    };
    // SAFETY: an all-zero msghdr is valid; the fields set below point to
    // live buffers of the stated sizes.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.0.len();
    let n = loop {
        // SAFETY: msg describes live buffers (see above).
        let n = unsafe { libc::recvmsg(socket, &mut msg, flags) };
        if n >= 0 {
            break n as usize;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    };
    let mut fds = [None; 2];
    let mut count = 0;
    // SAFETY: walking the control messages the kernel wrote into `cmsg`,
    // within msg_controllen.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&msg);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                let len = ((*header).cmsg_len - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for i in 0..len {
                    let fd = data.add(i).read_unaligned();
                    if count < fds.len() {
                        fds[count] = Some(fd);
                        count += 1;
                    } else {
                        libc::close(fd);
                    }
                }
            }
            header = libc::CMSG_NXTHDR(&msg, header);
        }
    }
    Ok((n, fds))
}

/// The factory process. Only raw syscalls and stack memory: it may be a
/// copy of a multi-threaded process and must not take locks.
fn factory_main(
    parent: i32,
    socket: RawFd,
    area: &StubArea,
    fprog: &libc::sock_fprog,
    own_fprog: &libc::sock_fprog,
) -> ! {
    // SAFETY: raw syscalls on our own process state.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        let all = u64::MAX;
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all, 0usize, 8usize);
        // Stubs must stay zombies until REAP: no auto-reaping.
        let default = [0u64; 4];
        libc::syscall(libc::SYS_rt_sigaction, libc::SIGCHLD, default.as_ptr(), 0usize, 8usize);
        let fd = socket as libc::c_uint;
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, fd - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, u32::MAX, 0u32);
        // Our own allow-list (factory_seccomp.rs), inherited by every stub;
        // without it we serve nothing.
        const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, own_fprog) != 0
        {
            libc::_exit(1);
        }
    }
    loop {
        let mut request = Request::default();
        let mut cmsg = CmsgBuf([0; 64]);
        let (n, fds) = match recv(socket, &mut request, &mut cmsg, 0) {
            Ok((n, fds)) if n > 0 => (n, fds),
            // The Sentry is gone (or the socket broke): so are we.
            // SAFETY: exiting the factory.
            _ => unsafe { libc::_exit(0) },
        };
        let answer = if n != std::mem::size_of::<Request>() {
            Some(-libc::EINVAL)
        } else {
            match (request.op, fds) {
                (OP_FORK, [Some(memory_file), Some(control_fd)]) => {
                    Some(serve_fork(socket, area, memory_file, control_fd, fprog))
                }
                (OP_REAP, _) => {
                    serve_reap(request.pid);
                    None
                }
                _ => Some(-libc::EINVAL),
            }
        };
        for fd in fds.into_iter().flatten() {
            // SAFETY: closing fds received with this request.
            unsafe { libc::close(fd) };
        }
        if let Some(errno) = answer.filter(|&a| a < 0) {
            if send(socket, &errno, &[]).is_err() {
                // SAFETY: exiting the factory.
                unsafe { libc::_exit(0) };
            }
        }
    }
}

/// Forks one stub and sends the Sentry its pid and pidfd; returns 0 when
/// answered, or a negated errno to answer with.
fn serve_fork(socket: RawFd, area: &StubArea, memory_file: RawFd, control_fd: RawFd, fprog: &libc::sock_fprog) -> i32 {
    // SAFETY: a raw fork; the child runs `child_main`, which never returns.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid < 0 {
        return -errno();
    }
    if pid == 0 {
        child_main(area, memory_file, control_fd, fprog);
    }
    let pid = pid as i32;
    // SAFETY: pidfd_open on our own unreaped child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
    if pidfd < 0 {
        let e = errno();
        serve_reap(pid);
        return -e;
    }
    let sent = send(socket, &pid, &[pidfd]);
    // SAFETY: our pidfd, passed on (or not) already.
    unsafe { libc::close(pidfd) };
    if sent.is_err() {
        serve_reap(pid);
    }
    0
}

/// Kills and reaps one stub (the Sentry has killed it already on REAP).
fn serve_reap(pid: i32) {
    if pid <= 0 {
        return;
    }
    // SAFETY: only our own children are waited for; a pid that is not one
    // fails with ECHILD and nothing happens.
    unsafe {
        let mut status = 0;
        if libc::waitpid(pid, &mut status, libc::__WALL | libc::WNOHANG) == 0 {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, libc::__WALL);
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}
