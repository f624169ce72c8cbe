//! Terminals: the pseudo-terminal pair behind `/dev/ptmx` and
//! `/dev/pts/N` (pty(7)).
//!
//! A [`Terminal`] holds one pair's state under one lock: the line
//! discipline (the slave's input and its termios), the slave's processed
//! output waiting for the master, the window size, the open counts and the
//! session it controls. [`MasterEnd`] and [`SlaveEnd`] are what opening
//! each side returns; dropping the last handle of a side closes it.
//!
//! - [`termios`]: struct termios and struct winsize;
//! - [`ldisc`]: input and output processing;
//! - [`ctty`]: controlling terminals of sessions and `/dev/tty`;
//! - [`ioctl`]: the terminal ioctls (tty_ioctl(4));
//! - [`jobctl`]: SIGTTIN and SIGTTOU for background process groups;
//! - [`relay`]: a container's terminal, relayed to the host terminal.

pub mod ctty;
pub mod ioctl;
pub mod jobctl;
pub mod ldisc;
pub mod relay;
pub mod termios;

use crate::errno::{Errno, Result};
use crate::kernel::Kernel;
use crate::vfs::{FileOps, Timespec};
use ldisc::{Effects, LineDiscipline};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use termios::Winsize;

/// Bytes the slave's input may hold before writes to the master block.
const INPUT_CAPACITY: usize = 65536;
/// Bytes of slave output the master may have unread before slave writes block.
const OUTPUT_CAPACITY: usize = 65536;
/// How often a blocked reader or writer looks for signals.
const RECHECK: Duration = Duration::from_millis(20);

/// si_code of signals the kernel sends itself.
const SI_KERNEL: i32 = 0x80;

struct State {
    ldisc: LineDiscipline,
    /// Slave output (after output processing) and echo, for the master.
    to_master: VecDeque<u8>,
    winsize: Winsize,
    masters: usize,
    slaves: usize,
    /// The slave was opened at least once: only then does a master read
    /// without slaves give EIO (before, it waits).
    slave_was_open: bool,
    /// TIOCSPTLCK: opening the slave gives EIO while set.
    locked: bool,
    /// The session this is the controlling terminal of, and its
    /// foreground process group.
    session: Option<i32>,
    pgrp: Option<i32>,
    /// Where to send job-control signals (set with the session).
    kernel: Weak<Kernel>,
}

impl State {
    fn hung_up(&self) -> bool {
        self.masters == 0
    }
}

/// One pseudo-terminal pair.
pub struct Terminal {
    /// N in /dev/pts/N.
    pub index: u32,
    /// st_dev of the devpts instance holding /dev/pts/N.
    pub dev: u64,
    /// Owner of /dev/pts/N: whoever opened the master.
    pub uid: u32,
    pub gid: u32,
    pub created: Timespec,
    state: Mutex<State>,
    changed: Condvar,
}

/// A signal for a process group, sent once the terminal's lock is released.
pub(crate) struct GroupSignal {
    kernel: Weak<Kernel>,
    pgrp: i32,
    signo: i32,
}

impl GroupSignal {
    pub(crate) fn send(self) {
        let Some(kernel) = self.kernel.upgrade() else { return };
        let info = crate::kernel::signals::SigInfo {
            signo: self.signo,
            code: SI_KERNEL,
            ..Default::default()
        };
        for pid in kernel.processes.live_pids(Some(self.pgrp)) {
            let _ = kernel.post_signal(pid, info);
        }
    }
}

impl Terminal {
    /// A new pair with its master open (the caller holds the
    /// [`MasterEnd`] this returns), locked as a fresh /dev/ptmx open is.
    pub fn new_master(index: u32, dev: u64, uid: u32, gid: u32) -> Arc<MasterEnd> {
        let tty = Arc::new(Terminal {
            index,
            dev,
            uid,
            gid,
            created: Timespec::now(),
            state: Mutex::new(State {
                ldisc: LineDiscipline::default(),
                to_master: VecDeque::new(),
                winsize: Winsize::default(),
                masters: 1,
                slaves: 0,
                slave_was_open: false,
                locked: true,
                session: None,
                pgrp: None,
                kernel: Weak::new(),
            }),
            changed: Condvar::new(),
        });
        Arc::new(MasterEnd { tty })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Waits for a change (or RECHECK); ERESTARTSYS when the caller has a
    /// signal to act on.
    fn wait<'a>(&self, guard: MutexGuard<'a, State>, limit: Option<Instant>) -> Result<MutexGuard<'a, State>> {
        crate::kernel::interrupt::check()?;
        let slice = match limit {
            Some(l) => l.saturating_duration_since(Instant::now()).min(RECHECK),
            None => RECHECK,
        };
        let (guard, _) = self.changed.wait_timeout(guard, slice).map_err(|_| Errno::EIO)?;
        Ok(guard)
    }

    /// True while the master is open (/dev/pts/N exists only then).
    pub fn master_open(&self) -> bool {
        self.lock().map(|s| s.masters > 0).unwrap_or(false)
    }

    /// Opens a slave handle; EIO while locked or after the master closed.
    /// `ignore_lock` is for TIOCGPTPEER and /dev/tty.
    pub fn open_slave(self: &Arc<Self>, ignore_lock: bool) -> Result<Arc<SlaveEnd>> {
        let mut s = self.lock()?;
        if s.hung_up() || (s.locked && !ignore_lock) {
            return Err(Errno::EIO);
        }
        s.slaves += 1;
        s.slave_was_open = true;
        Ok(Arc::new(SlaveEnd { tty: self.clone() }))
    }

    fn signals_for(s: &State, signals: &[i32]) -> Vec<GroupSignal> {
        let Some(pgrp) = s.pgrp else { return Vec::new() };
        signals
            .iter()
            .map(|&signo| GroupSignal {
                kernel: s.kernel.clone(),
                pgrp,
                signo,
            })
            .collect()
    }

    /// Master write: input processing into the slave's input queue.
    fn master_write(&self, data: &[u8], nonblock: bool) -> Result<usize> {
        let mut s = self.lock()?;
        let mut done = 0;
        let mut pending = Vec::new();
        while done < data.len() {
            if s.ldisc.held() >= INPUT_CAPACITY {
                if nonblock || done > 0 {
                    break;
                }
                s = self.wait(s, None)?;
                continue;
            }
            let mut fx = Effects::default();
            s.ldisc.receive(data[done], &mut fx);
            done += 1;
            self.apply_effects(&mut s, fx, &mut pending);
        }
        drop(s);
        self.changed.notify_all();
        pending.into_iter().for_each(GroupSignal::send);
        if done == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(done)
    }

    fn apply_effects(&self, s: &mut State, fx: Effects, pending: &mut Vec<GroupSignal>) {
        if fx.flush_output {
            s.to_master.clear();
        }
        if !fx.echo.is_empty() {
            let termios = s.ldisc.termios;
            ldisc::process_output(&termios, &fx.echo, &mut s.to_master);
        }
        pending.extend(Self::signals_for(s, &fx.signals));
    }

    fn master_read(&self, out: &mut [u8], nonblock: bool) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut s = self.lock()?;
        while s.to_master.is_empty() {
            if s.slaves == 0 && s.slave_was_open {
                return Err(Errno::EIO);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.wait(s, None)?;
        }
        let n = out.len().min(s.to_master.len());
        for (dst, src) in out.iter_mut().zip(s.to_master.drain(..n)) {
            *dst = src;
        }
        drop(s);
        self.changed.notify_all();
        Ok(n)
    }

    /// Slave write: output processing into the master's queue.
    fn slave_write(&self, data: &[u8], nonblock: bool) -> Result<usize> {
        let mut s = self.lock()?;
        let mut done = 0;
        while done < data.len() {
            if s.hung_up() {
                return if done > 0 { Ok(done) } else { Err(Errno::EIO) };
            }
            let room = OUTPUT_CAPACITY.saturating_sub(s.to_master.len());
            if room < 2 {
                if nonblock || done > 0 {
                    break;
                }
                s = self.wait(s, None)?;
                continue;
            }
            // Each byte becomes at most two (NL -> CR NL).
            let n = (room / 2).min(data.len() - done);
            let termios = s.ldisc.termios;
            ldisc::process_output(&termios, &data[done..done + n], &mut s.to_master);
            done += n;
        }
        drop(s);
        self.changed.notify_all();
        if done == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(done)
    }

    /// Slave read (termios(3) "Canonical and noncanonical mode"): a line
    /// in canonical mode; otherwise governed by VMIN and VTIME.
    fn slave_read(&self, out: &mut [u8], nonblock: bool) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut s = self.lock()?;
        let start = Instant::now();
        loop {
            if s.hung_up() {
                return Ok(0);
            }
            let t = s.ldisc.termios;
            let (vmin, vtime) = (t.cc[libc::VMIN] as usize, t.cc[libc::VTIME] as u64);
            let timer = Duration::from_millis(vtime * 100);
            let ready = if t.canonical() {
                s.ldisc.readable()
            } else {
                let avail = s.ldisc.available();
                match (vmin, vtime) {
                    (0, 0) => true,
                    (0, _) => avail > 0 || start.elapsed() >= timer,
                    (min, 0) => avail >= min.min(out.len()),
                    // VTIME as an overall timer once input started.
                    (min, _) => avail >= min.min(out.len()) || (avail > 0 && start.elapsed() >= timer),
                }
            };
            if ready {
                let n = s.ldisc.read(out);
                drop(s);
                self.changed.notify_all();
                return Ok(n);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            let limit = (!t.canonical() && vtime > 0).then(|| start + timer);
            s = self.wait(s, limit)?;
        }
    }

    fn master_poll(&self, events: i16) -> i16 {
        let Ok(s) = self.lock() else { return libc::POLLERR };
        let mut ready = 0;
        if !s.to_master.is_empty() {
            ready |= events & (libc::POLLIN | libc::POLLRDNORM);
        }
        if s.ldisc.held() < INPUT_CAPACITY {
            ready |= events & (libc::POLLOUT | libc::POLLWRNORM);
        }
        if s.slaves == 0 && s.slave_was_open {
            ready |= libc::POLLHUP;
        }
        ready
    }

    fn slave_poll(&self, events: i16) -> i16 {
        let Ok(s) = self.lock() else { return libc::POLLERR };
        if s.hung_up() {
            // A hung-up terminal is readable (EOF) and "writable" (EIO).
            return (events & (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM))
                | libc::POLLHUP
                | libc::POLLERR;
        }
        let mut ready = 0;
        if s.ldisc.readable() {
            ready |= events & (libc::POLLIN | libc::POLLRDNORM);
        }
        if s.to_master.len() + 2 <= OUTPUT_CAPACITY {
            ready |= events & (libc::POLLOUT | libc::POLLWRNORM);
        }
        ready
    }

    /// The master closed: the slave hangs up; its session's foreground
    /// group gets SIGHUP and SIGCONT (as tty_vhangup does).
    fn master_closed(&self) {
        let (pending, session) = match self.state.lock() {
            Ok(mut s) => {
                s.masters -= 1;
                let signals = Self::signals_for(&s, &[libc::SIGHUP, libc::SIGCONT]);
                s.pgrp = None;
                (signals, s.session.take().map(|sid| (sid, s.kernel.clone())))
            }
            Err(_) => (Vec::new(), None),
        };
        self.changed.notify_all();
        if let Some((sid, kernel)) = session {
            if let Some(kernel) = kernel.upgrade() {
                kernel.ttys.forget_pty(sid, self);
            }
        }
        pending.into_iter().for_each(GroupSignal::send);
    }

    fn slave_closed(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.slaves -= 1;
        }
        self.changed.notify_all();
    }
}

/// The master side, what /dev/ptmx opens.
pub struct MasterEnd {
    pub tty: Arc<Terminal>,
}

impl Drop for MasterEnd {
    fn drop(&mut self) {
        self.tty.master_closed();
    }
}

/// The slave side, /dev/pts/N.
pub struct SlaveEnd {
    pub tty: Arc<Terminal>,
}

impl Drop for SlaveEnd {
    fn drop(&mut self) {
        self.tty.slave_closed();
    }
}

fn nonblocking(flags: i32) -> bool {
    flags & libc::O_NONBLOCK != 0
}

impl FileOps for MasterEnd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        self.tty.master_read(buf, nonblocking(flags))
    }
    fn write_with_flags(&self, buf: &[u8], _offset: u64, flags: i32) -> Result<usize> {
        self.tty.master_write(buf, nonblocking(flags))
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        self.tty.master_poll(events)
    }
    fn tty(&self) -> Option<TtyHandle> {
        Some(TtyHandle {
            tty: self.tty.clone(),
            master: true,
        })
    }
}

impl FileOps for SlaveEnd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        self.tty.slave_read(buf, nonblocking(flags))
    }
    fn write_with_flags(&self, buf: &[u8], _offset: u64, flags: i32) -> Result<usize> {
        self.tty.slave_write(buf, nonblocking(flags))
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        self.tty.slave_poll(events)
    }
    fn tty(&self) -> Option<TtyHandle> {
        Some(TtyHandle {
            tty: self.tty.clone(),
            master: false,
        })
    }
}

/// Which terminal an open file is, and which side of it.
#[derive(Clone)]
pub struct TtyHandle {
    pub tty: Arc<Terminal>,
    pub master: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Arc<MasterEnd>, Arc<SlaveEnd>) {
        let m = Terminal::new_master(0, 0, 0, 0);
        assert_eq!(m.tty.open_slave(false).err(), Some(Errno::EIO));
        m.tty.lock().unwrap().locked = false;
        let s = m.tty.open_slave(false).unwrap();
        (m, s)
    }

    #[test]
    fn master_to_slave_and_back() {
        let (m, s) = pair();
        let mut buf = [0u8; 16];
        assert_eq!(m.write(b"hi\r", 0), Ok(3));
        assert_eq!(s.read(&mut buf, 0), Ok(3));
        assert_eq!(&buf[..3], b"hi\n");
        assert_eq!(m.read(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"hi\r\n");
        assert_eq!(s.write(b"x\n", 0), Ok(2));
        assert_eq!(m.read(&mut buf, 0), Ok(3));
        assert_eq!(s.read_with_flags(&mut buf, 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }

    #[test]
    fn hangups() {
        let (m, s) = pair();
        let mut buf = [0u8; 4];
        assert_eq!(s.write(b"z", 0), Ok(1));
        drop(s);
        assert_eq!(m.read(&mut buf, 0), Ok(1));
        assert_eq!(m.read(&mut buf, 0), Err(Errno::EIO));
        assert_ne!(m.poll(libc::POLLIN) & libc::POLLHUP, 0);
        let s = m.tty.open_slave(false).unwrap();
        drop(m);
        assert_eq!(s.read(&mut buf, 0), Ok(0));
        assert_eq!(s.write(b"z", 0), Err(Errno::EIO));
    }

    #[test]
    fn blocked_slave_read_wakes() {
        let (m, s) = pair();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            s.read(&mut buf, 0).map(|n| buf[..n].to_vec())
        });
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(m.write(b"go\n", 0), Ok(3));
        assert_eq!(t.join().ok(), Some(Ok(b"go\n".to_vec())));
    }
}
