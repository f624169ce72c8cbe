//! A container's terminal (OCI `process.terminal`): a pty of the
//! sandbox's own devpts whose slave is the process's stdio and controlling
//! terminal, while the Sentry copies bytes between its master and the
//! host terminal the runtime was given (the host pty's replica from the
//! console socket, or the terminal `runsc do` runs on).
//!
//! The guest thus sees a real terminal of the sandbox (`ttyname(3)`
//! finds /dev/pts/N, job control and ^C work through the Sentry's line
//! discipline), while the host fd is put in raw mode so that the line
//! discipline acts once, inside the sandbox. Two host threads do the
//! copying:
//!
//! - output: slave output queued for the master goes to the host fd;
//!   when every slave is closed (the processes on the terminal are gone)
//!   the relay ends, closes its host fds and so hangs up the host side;
//! - input: bytes read from the host fd are written to the master (input
//!   processing, echo and signal characters included); each turn it also
//!   looks at the host's window size (containerd's ResizePty sets it on
//!   the host master) and copies a change in, which raises SIGWINCH in
//!   the foreground process group as TIOCSWINSZ does. A hang-up of the
//!   host side (EOF or EIO) closes the master: the guest's terminal hangs
//!   up too.
//!
//! Host calls used: poll, read, write and the TCGETS, TCSETS and
//! TIOCGWINSZ ioctls, all in the Sentry's seccomp allow-list.

use super::termios::{Termios, Winsize, TERMIOS_SIZE};
use super::{MasterEnd, Terminal};
use crate::errno::{Errno, Result};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long the input thread waits for host input before it looks at the
/// window size and the stop flag again.
const INPUT_TICK_MS: i32 = 50;
/// How long the output thread waits for guest output at a time.
const OUTPUT_TICK: Duration = Duration::from_millis(50);

/// What both threads of one relay share.
struct Shared {
    master: Arc<MasterEnd>,
    /// Set by either thread when the relay is over.
    stop: AtomicBool,
    /// The output thread holds bytes it has taken from the terminal but
    /// not yet written to the host.
    writing: AtomicBool,
    /// The output thread has ended.
    finished: AtomicBool,
}

/// Every relay of the sandbox, for [`drain`].
static RELAYS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Sets up `master`'s terminal from the host terminal `host`: its termios
/// and window size are copied in, the host fd goes to raw mode and the
/// slave is unlocked. A host fd that is not a terminal leaves the
/// defaults Linux gives a new pty.
pub fn adopt_host_settings(master: &MasterEnd, host: RawFd) -> Result<()> {
    let tty = &master.tty;
    let mut s = tty.lock()?;
    if let Some(termios) = host_termios(host) {
        s.ldisc.set_termios(termios);
        make_raw(host);
    }
    if let Some(ws) = host_winsize(host) {
        s.winsize = ws;
    }
    s.locked = false;
    Ok(())
}

/// Starts copying between `master` and the host terminal (`host_in` is
/// read, `host_out` written; both may be the same terminal).
pub fn start(master: Arc<MasterEnd>, host_in: OwnedFd, host_out: OwnedFd) -> Result<()> {
    let shared = Arc::new(Shared {
        master,
        stop: AtomicBool::new(false),
        writing: AtomicBool::new(false),
        finished: AtomicBool::new(false),
    });
    if let Ok(mut relays) = RELAYS.lock() {
        relays.retain(|r| r.strong_count() > 0);
        relays.push(Arc::downgrade(&shared));
    }
    let index = shared.master.tty.index;
    let output = shared.clone();
    std::thread::Builder::new()
        .name(format!("pts{index}-out"))
        .spawn(move || copy_output(&output, host_out))
        .map_err(|_| Errno::EAGAIN)?;
    let input = shared;
    let spawned = std::thread::Builder::new()
        .name(format!("pts{index}-in"))
        .spawn(move || copy_input(&input, host_in));
    if spawned.is_err() {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// Waits (at most `limit`) until every relay has written what the guest
/// wrote to its terminal: the sandbox is about to end.
pub fn drain(limit: Duration) {
    let relays: Vec<Arc<Shared>> = match RELAYS.lock() {
        Ok(relays) => relays.iter().filter_map(Weak::upgrade).collect(),
        Err(_) => return,
    };
    let deadline = Instant::now() + limit;
    for relay in relays {
        while !relay.drained() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Shared {
    fn drained(&self) -> bool {
        if self.finished.load(Ordering::Acquire) {
            return true;
        }
        // The output thread sets `writing` under the terminal's lock as it
        // takes bytes, so both are looked at together.
        let Ok(s) = self.master.tty.lock() else { return true };
        s.to_master.is_empty() && !self.writing.load(Ordering::Acquire)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Guest output to the host until every slave is closed (or the host
/// side is gone).
fn copy_output(shared: &Shared, host: OwnedFd) {
    let tty = &shared.master.tty;
    let mut buf = vec![0u8; 4096];
    while !shared.stopped() {
        let n = match tty.relay_read(&mut buf, OUTPUT_TICK, &shared.writing) {
            Ok(n) => n,
            // No slave is open any more: the terminal's users are gone.
            Err(_) => break,
        };
        if n > 0 && write_all(host.as_raw_fd(), &buf[..n]).is_err() {
            break;
        }
        shared.writing.store(false, Ordering::Release);
    }
    shared.writing.store(false, Ordering::Release);
    shared.stop.store(true, Ordering::Release);
    shared.finished.store(true, Ordering::Release);
}

/// Host input (and window size changes) to the terminal until the relay
/// stops or the host side hangs up.
fn copy_input(shared: &Shared, host: OwnedFd) {
    let fd = host.as_raw_fd();
    let tty = &shared.master.tty;
    let mut winsize = tty.lock().map(|s| s.winsize).ok();
    let mut buf = vec![0u8; 4096];
    while !shared.stopped() {
        if let Some(ws) = host_winsize(fd) {
            if winsize != Some(ws) {
                winsize = Some(ws);
                let _ = super::ioctl::set_winsize(tty, ws);
            }
        }
        match wait_readable(fd, INPUT_TICK_MS) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => break,
        }
        let n = match read_some(fd, &mut buf) {
            Ok(None) => continue,
            // EOF of a host stdin that is no terminal (`runsc run` with
            // a terminal but stdin from /dev/null): no more input, but the
            // guest keeps its terminal.
            Ok(Some(0)) => return,
            // A terminal whose other side is gone: EIO.
            Err(_) => break,
            Ok(Some(n)) => n,
        };
        if write_to_master(shared, &buf[..n]).is_err() {
            break;
        }
    }
    shared.stop.store(true, Ordering::Release);
}

/// Writes all of `data` to the master (blocking while the slave's input
/// is full), giving up once the relay stops.
fn write_to_master(shared: &Shared, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        if shared.stopped() {
            return Err(Errno::EIO);
        }
        match shared.master.tty.master_write(data, true) {
            Ok(n) => data = &data[n..],
            Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Terminal {
    /// A master read for the relay: waits at most `tick` for output
    /// (Ok(0) then); EIO once every slave has been closed. Sets `writing`
    /// when it takes bytes, before the lock is released.
    fn relay_read(&self, out: &mut [u8], tick: Duration, writing: &AtomicBool) -> Result<usize> {
        let mut s = self.lock()?;
        if s.to_master.is_empty() {
            if s.slaves == 0 && s.slave_was_open {
                return Err(Errno::EIO);
            }
            s = self.changed.wait_timeout(s, tick).map_err(|_| Errno::EIO)?.0;
        }
        let n = out.len().min(s.to_master.len());
        for (dst, src) in out.iter_mut().zip(s.to_master.drain(..n)) {
            *dst = src;
        }
        if n > 0 {
            writing.store(true, Ordering::Release);
        }
        drop(s);
        if n > 0 {
            self.changed.notify_all();
        }
        Ok(n)
    }
}

/// The host terminal's termios (None when `fd` is not a terminal).
fn host_termios(fd: RawFd) -> Option<Termios> {
    let mut raw = [0u8; TERMIOS_SIZE];
    // SAFETY: TCGETS writes the kernel's 36-byte struct termios.
    if unsafe { libc::ioctl(fd, libc::TCGETS, raw.as_mut_ptr()) } != 0 {
        return None;
    }
    Termios::from_bytes(&raw).ok()
}

/// cfmakeraw(3) on the host terminal: no input or output processing,
/// no echo, no signal characters; reads return what has arrived.
fn make_raw(fd: RawFd) {
    // SAFETY: all-zero is a valid termios; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer (TCGETS).
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return;
    }
    // SAFETY: cfmakeraw only changes the struct it is given.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: valid fd and termios (TCSETS).
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } != 0 {
        tracing::debug!("cannot put the host terminal in raw mode: {}", Errno::last());
    }
}

/// The host terminal's window size.
fn host_winsize(fd: RawFd) -> Option<Winsize> {
    let mut raw = [0u8; 8];
    // SAFETY: TIOCGWINSZ writes one 8-byte struct winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, raw.as_mut_ptr()) } != 0 {
        return None;
    }
    Some(Winsize::from_bytes(raw))
}

/// True when `fd` has input (or a hang-up to report) within `timeout_ms`.
fn wait_readable(fd: RawFd, timeout_ms: i32) -> Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if n < 0 {
        let e = Errno::last();
        return if e == Errno::EINTR { Ok(false) } else { Err(e) };
    }
    Ok(n > 0)
}

/// One read of the host fd: None when nothing is there after all (a
/// non-blocking fd), Some(0) at EOF.
fn read_some(fd: RawFd, buf: &mut [u8]) -> Result<Option<usize>> {
    loop {
        // SAFETY: valid fd, buffer and length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::EAGAIN => return Ok(None),
            e => return Err(e),
        }
    }
}

/// Writes all of `data` to the host fd, waiting while it is full.
fn write_all(fd: RawFd, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        // SAFETY: valid fd, buffer and length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            data = &data[n as usize..];
            continue;
        }
        match Errno::last() {
            Errno::EINTR => {}
            Errno::EAGAIN => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut pfd, 1, 50) };
            }
            e => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::FileOps;
    use std::os::fd::FromRawFd;

    /// A host pty: (master, slave).
    fn host_pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
        let (mut master, mut slave) = (-1, -1);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: valid out pointers; no name buffer; termios defaults.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0);
        // SAFETY: openpty just opened both fds for us alone.
        unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
    }

    fn read_until(fd: RawFd, want: &[u8]) -> Vec<u8> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !seen.ends_with(want) && Instant::now() < deadline {
            if wait_readable(fd, 50) == Ok(true) {
                let mut buf = [0u8; 64];
                if let Ok(Some(n)) = read_some(fd, &mut buf) {
                    seen.extend_from_slice(&buf[..n]);
                }
            }
        }
        seen
    }

    #[test]
    fn bytes_and_sizes_cross_both_ways() {
        let (host_master, host_slave) = host_pty(33, 111);
        let master = Terminal::new_master(0, 0, 0, 0);
        adopt_host_settings(&master, host_slave.as_raw_fd()).unwrap();
        assert_eq!(master.tty.lock().unwrap().winsize, Winsize([33, 111, 0, 0]));
        // The host side is raw now; the sandbox's terminal cooks.
        let host = host_termios(host_slave.as_raw_fd()).unwrap();
        assert_eq!(host.lflag & (libc::ICANON | libc::ECHO), 0);
        let slave = master.tty.open_slave(false).unwrap();
        let out = host_slave.try_clone().unwrap();
        start(master.clone(), host_slave, out).unwrap();
        drop(master);

        assert_eq!(slave.write(b"hi\n", 0), Ok(3));
        assert_eq!(read_until(host_master.as_raw_fd(), b"hi\r\n"), b"hi\r\n");
        write_all(host_master.as_raw_fd(), b"ls\r").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(slave.read(&mut buf, 0), Ok(3));
        assert_eq!(&buf[..3], b"ls\n");
        // The echo comes back to the host once, from the sandbox's terminal.
        assert_eq!(read_until(host_master.as_raw_fd(), b"ls\r\n"), b"ls\r\n");

        let ws = libc::winsize {
            ws_row: 40,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize.
        let rc = unsafe { libc::ioctl(host_master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while slave.tty.lock().unwrap().winsize != Winsize([40, 100, 0, 0]) {
            assert!(Instant::now() < deadline, "the resize did not come through");
            std::thread::sleep(Duration::from_millis(10));
        }

        // The last slave closes: the relay ends and hangs up the host side.
        drop(slave);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut buf = [0u8; 8];
            if matches!(read_some(host_master.as_raw_fd(), &mut buf), Err(Errno::EIO)) {
                break;
            }
            assert!(Instant::now() < deadline, "the host side was not hung up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
