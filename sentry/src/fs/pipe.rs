//! Pipes (pipe(7)): a bounded in-memory byte queue with a read end and a
//! write end. Writes of at most PIPE_BUF bytes are atomic; reading an empty
//! pipe with no writers gives EOF; writing with no readers gives EPIPE.

use crate::errno::{Errno, Result};
use crate::vfs::{FileOps, Inode, Stat, Timespec};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub const PIPE_BUF: usize = 4096;
const CAPACITY: usize = 65536;

struct State {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
    /// Opens of each end so far: a FIFO opener waiting for a peer is
    /// released by a peer that came and went (fifo(7)).
    reader_opens: u64,
    writer_opens: u64,
}

pub struct Pipe {
    state: Mutex<State>,
    changed: Condvar,
    ino: u64,
    created: Timespec,
}

impl Pipe {
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Waits for a change; ERESTARTSYS when the reader or writer gets a
    /// signal it must act on.
    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        crate::kernel::interrupt::check()?;
        let (guard, _) = self
            .changed
            .wait_timeout(guard, std::time::Duration::from_millis(20))
            .map_err(|_| Errno::EIO)?;
        Ok(guard)
    }

    fn read(&self, out: &mut [u8], nonblock: bool) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut s = self.lock()?;
        while s.buf.is_empty() {
            if s.writers == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.wait(s)?;
        }
        let n = out.len().min(s.buf.len());
        for (dst, src) in out.iter_mut().zip(s.buf.drain(..n)) {
            *dst = src;
        }
        drop(s);
        self.changed.notify_all();
        Ok(n)
    }

    fn write(&self, data: &[u8], nonblock: bool) -> Result<usize> {
        let mut s = self.lock()?;
        let mut done = 0;
        while done < data.len() {
            if s.readers == 0 {
                // SIGPIPE is raised by the caller's signal code once signals exist.
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            let room = CAPACITY - s.buf.len();
            let left = data.len() - done;
            // Small writes go in whole or not at all (pipe(7) PIPE_BUF).
            let fits = if data.len() <= PIPE_BUF { room >= left } else { room > 0 };
            if !fits {
                if nonblock {
                    return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
                }
                // Interrupted after a partial write: report what was written.
                s = match self.wait(s) {
                    Ok(s) => s,
                    Err(_) if done > 0 => return Ok(done),
                    Err(e) => return Err(e),
                };
                continue;
            }
            let n = left.min(room);
            s.buf.extend(&data[done..done + n]);
            done += n;
            self.changed.notify_all();
        }
        Ok(done)
    }
}

/// One end of a pipe; the last drop of an end closes it.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write_end: bool,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if let Ok(mut s) = self.pipe.state.lock() {
            if self.write_end {
                s.writers -= 1;
            } else {
                s.readers -= 1;
            }
        }
        self.pipe.changed.notify_all();
    }
}

impl FileOps for PipeEnd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        if self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.read(buf, flags & libc::O_NONBLOCK != 0)
    }
    fn write_with_flags(&self, buf: &[u8], _offset: u64, flags: i32) -> Result<usize> {
        if !self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.write(buf, flags & libc::O_NONBLOCK != 0)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        let Ok(s) = self.pipe.lock() else { return libc::POLLERR };
        let mut ready = 0;
        if self.write_end {
            if s.readers == 0 {
                ready |= libc::POLLERR;
            } else if CAPACITY - s.buf.len() >= PIPE_BUF {
                ready |= events & (libc::POLLOUT | libc::POLLWRNORM);
            }
        } else {
            if !s.buf.is_empty() {
                ready |= events & (libc::POLLIN | libc::POLLRDNORM);
            }
            if s.writers == 0 {
                ready |= libc::POLLHUP;
            }
        }
        ready
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn crate::mm::UserMemory) -> Result<u64> {
        if cmd as u64 == libc::FIONREAD {
            let n = self.pipe.lock()?.buf.len() as i32;
            mem.write(arg, &n.to_le_bytes())?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }
}

/// What fstat on either end reports.
pub struct PipeInode(Arc<Pipe>);

impl Inode for PipeInode {
    fn stat(&self) -> Result<Stat> {
        let p = &self.0;
        Ok(Stat {
            dev: 0xc,
            ino: p.ino,
            mode: libc::S_IFIFO | 0o600,
            nlink: 1,
            blksize: PIPE_BUF as u64,
            atime: p.created,
            mtime: p.created,
            ctime: p.created,
            ..Stat::default()
        })
    }
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A new pipe: (inode, read end, write end).
pub fn new_pipe() -> (Arc<dyn Inode>, Arc<PipeEnd>, Arc<PipeEnd>) {
    static NEXT_INO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
            reader_opens: 1,
            writer_opens: 1,
        }),
        changed: Condvar::new(),
        ino: NEXT_INO.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        created: Timespec::now(),
    });
    let inode: Arc<dyn Inode> = Arc::new(PipeInode(pipe.clone()));
    let reader = Arc::new(PipeEnd {
        pipe: pipe.clone(),
        write_end: false,
    });
    let writer = Arc::new(PipeEnd { pipe, write_end: true });
    (inode, reader, writer)
}

/// Named pipes: the pipe behind a FIFO inode starts with no ends; every
/// open adds one (see `fs::fifo`).
impl Pipe {
    pub fn new_fifo() -> Arc<Pipe> {
        static NEXT_INO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
        Arc::new(Pipe {
            state: Mutex::new(State {
                buf: VecDeque::new(),
                readers: 0,
                writers: 0,
                reader_opens: 0,
                writer_opens: 0,
            }),
            changed: Condvar::new(),
            ino: NEXT_INO.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            created: Timespec::now(),
        })
    }

    /// A new end, and how many times the other end had been opened so far
    /// (for [`Pipe::wait_for_peer`]).
    pub fn open_end(self: &Arc<Self>, write_end: bool) -> Result<(Arc<PipeEnd>, u64)> {
        let mut s = self.lock()?;
        let peer_opens = if write_end {
            s.writers += 1;
            s.writer_opens += 1;
            s.reader_opens
        } else {
            s.readers += 1;
            s.reader_opens += 1;
            s.writer_opens
        };
        drop(s);
        self.changed.notify_all();
        let end = Arc::new(PipeEnd {
            pipe: Arc::clone(self),
            write_end,
        });
        Ok((end, peer_opens))
    }

    /// Blocks until the other end of `write_end`'s is open, or has been
    /// opened since it had been opened `peer_opens` times; ERESTARTSYS on a
    /// signal.
    pub fn wait_for_peer(&self, write_end: bool, peer_opens: u64) -> Result<()> {
        let mut s = self.lock()?;
        loop {
            let (open, opens) = if write_end {
                (s.readers, s.reader_opens)
            } else {
                (s.writers, s.writer_opens)
            };
            if open > 0 || opens != peer_opens {
                return Ok(());
            }
            s = self.wait(s)?;
        }
    }

    /// Whether any read end is open.
    pub fn has_readers(&self) -> Result<bool> {
        Ok(self.lock()?.readers > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eof_after_writer_closes_and_epipe_after_reader_closes() {
        let (_, r, w) = new_pipe();
        assert_eq!(w.write(b"abc", 0), Ok(3));
        drop(w);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, 0), Ok(3));
        assert_eq!(r.read(&mut buf, 0), Ok(0));
        let (_, r, w) = new_pipe();
        drop(r);
        assert_eq!(w.write(b"x", 0), Err(Errno::EPIPE));
    }

    #[test]
    fn nonblocking_empty_read_and_full_write() {
        let (_, r, w) = new_pipe();
        let mut buf = [0u8; 1];
        assert_eq!(r.read_with_flags(&mut buf, 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
        let big = vec![0u8; CAPACITY];
        assert_eq!(w.write_with_flags(&big, 0, libc::O_NONBLOCK), Ok(CAPACITY));
        assert_eq!(w.write_with_flags(b"y", 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }

    #[test]
    fn blocked_reader_wakes_on_write() {
        let (_, r, w) = new_pipe();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 4];
            r.read(&mut buf, 0).map(|n| buf[..n].to_vec())
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(w.write(b"hi", 0), Ok(2));
        assert_eq!(t.join().ok(), Some(Ok(b"hi".to_vec())));
    }
}
