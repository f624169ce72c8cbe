//! Pipes (pipe(7)): a bounded in-memory queue with a read end and a write
//! end. Reading an empty pipe with no writers gives EOF; writing with no
//! readers gives EPIPE.
//!
//! As on Linux the contents are a ring of page-sized buffers ("slots") and
//! the capacity is a number of slots (F_SETPIPE_SZ). A write first tops up
//! the last buffer with the part of it that is not a whole number of pages,
//! then fills fresh pages, so a write of at most PIPE_BUF bytes lands in
//! one buffer and is atomic. In packet mode (pipe2 O_DIRECT) every write
//! makes packets of at most a page that are never merged, and a read
//! returns at most one packet, dropping what does not fit (pipe(2)).

use crate::errno::{Errno, Result};
use crate::vfs::readiness::{self, WakeHint};
use crate::vfs::{FileOps, Inode, Stat, Timespec};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub const PIPE_BUF: usize = 4096;
const PAGE_SIZE: usize = 4096;
/// A new pipe holds 16 pages (pipe(7) "Pipe capacity").
const DEFAULT_SLOTS: usize = 16;
/// /proc/sys/fs/pipe-max-size: the most an unprivileged F_SETPIPE_SZ may ask for.
pub const PIPE_MAX_SIZE: u64 = 1 << 20;

/// One page of pipe data.
struct Buffer {
    /// The page's bytes so far; the unread ones are `bytes[read..]`.
    bytes: Vec<u8>,
    read: usize,
    /// Written in packet mode: read alone and never appended to.
    packet: bool,
}

impl Buffer {
    fn unread(&self) -> usize {
        self.bytes.len() - self.read
    }
}

struct State {
    buffers: VecDeque<Buffer>,
    /// Capacity in pages.
    slots: usize,
    readers: usize,
    writers: usize,
    /// Opens of each end so far: a FIFO opener waiting for a peer is
    /// released by a peer that came and went (fifo(7)).
    reader_opens: u64,
    writer_opens: u64,
    /// Event counters for edge-triggered epoll (`FileOps::event_count`):
    /// writes that added data, reads that made a full pipe writable (or a
    /// resize), and ends closed.
    data_events: u64,
    room_events: u64,
    hangups: u64,
}

impl State {
    fn is_full(&self) -> bool {
        self.buffers.len() >= self.slots
    }

    fn unread(&self) -> usize {
        self.buffers.iter().map(Buffer::unread).sum()
    }

    /// Appends to the last buffer when it takes `data` whole (pipe_write's
    /// merge of the sub-page tail of a write).
    fn try_merge(&mut self, data: &[u8]) -> bool {
        match self.buffers.back_mut() {
            Some(last) if !last.packet && last.bytes.len() + data.len() <= PAGE_SIZE => {
                last.bytes.extend_from_slice(data);
                true
            }
            _ => false,
        }
    }

    /// Copies out of the front buffers; a packet ends the read.
    fn read_into(&mut self, out: &mut [u8]) -> usize {
        let mut done = 0;
        while done < out.len() {
            let Some(front) = self.buffers.front_mut() else { break };
            let n = front.unread().min(out.len() - done);
            out[done..done + n].copy_from_slice(&front.bytes[front.read..front.read + n]);
            front.read += n;
            done += n;
            let packet = front.packet;
            if packet || front.unread() == 0 {
                self.buffers.pop_front();
            }
            if packet {
                break;
            }
        }
        done
    }
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
        while s.buffers.is_empty() {
            if s.writers == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.wait(s)?;
        }
        let was_full = s.is_full();
        let n = s.read_into(out);
        let room_made = was_full && !s.is_full();
        if room_made {
            s.room_events += 1;
        }
        drop(s);
        self.changed.notify_all();
        if room_made {
            readiness::changed();
        }
        Ok(n)
    }

    fn write(&self, data: &[u8], nonblock: bool, packets: bool) -> Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let mut s = self.lock()?;
        if s.readers == 0 {
            // SIGPIPE is raised by the caller's signal code.
            return Err(Errno::EPIPE);
        }
        let mut done = 0;
        let mut announced = 0;
        let tail = data.len() % PAGE_SIZE;
        if !packets && tail != 0 && s.try_merge(&data[..tail]) {
            done = tail;
        }
        while done < data.len() {
            if s.readers == 0 {
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            if s.is_full() {
                if nonblock {
                    if done > 0 {
                        s.data_events += 1;
                        drop(s);
                        readiness::changed();
                        return Ok(done);
                    }
                    return Err(Errno::EAGAIN);
                }
                // Readers hear of the data written so far (once per batch).
                if done > announced {
                    announced = done;
                    s.data_events += 1;
                    readiness::changed();
                }
                self.changed.notify_all();
                // Interrupted after a partial write: report what was written.
                s = match self.wait(s) {
                    Ok(s) => s,
                    Err(_) if done > 0 => return Ok(done),
                    Err(e) => return Err(e),
                };
                continue;
            }
            let n = (data.len() - done).min(PAGE_SIZE);
            s.buffers.push_back(Buffer {
                bytes: data[done..done + n].to_vec(),
                read: 0,
                packet: packets,
            });
            done += n;
        }
        s.data_events += 1;
        drop(s);
        self.changed.notify_all();
        readiness::changed();
        Ok(done)
    }

    /// F_SETPIPE_SZ (fcntl(2) "Changing the capacity of a pipe"): the size
    /// is rounded up to a power-of-two number of pages; EBUSY if the data
    /// buffered does not fit; EPERM above pipe-max-size unless privileged.
    fn resize(&self, size: u64, privileged: bool) -> Result<u64> {
        if size > 1 << 31 {
            return Err(Errno::EINVAL);
        }
        let pages = (size as usize).div_ceil(PAGE_SIZE).max(1).next_power_of_two();
        let bytes = (pages * PAGE_SIZE) as u64;
        let mut s = self.lock()?;
        if pages > s.slots && bytes > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        if pages < s.buffers.len() {
            return Err(Errno::EBUSY);
        }
        s.slots = pages;
        s.room_events += 1;
        drop(s);
        self.changed.notify_all();
        readiness::changed();
        Ok(bytes)
    }

    fn capacity(&self) -> Result<u64> {
        Ok((self.lock()?.slots * PAGE_SIZE) as u64)
    }

    /// Copies the oldest unread bytes into `out` without consuming them
    /// (tee(2)); waits like a read for data or for the last writer to go.
    fn peek(&self, out: &mut [u8], nonblock: bool) -> Result<usize> {
        let mut s = self.lock()?;
        while s.buffers.is_empty() {
            if s.writers == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.wait(s)?;
        }
        let mut done = 0;
        for buf in &s.buffers {
            if done == out.len() {
                break;
            }
            let n = buf.unread().min(out.len() - done);
            out[done..done + n].copy_from_slice(&buf.bytes[buf.read..buf.read + n]);
            done += n;
        }
        Ok(done)
    }

    /// Bytes a write may add without blocking: whole free pages, or 0
    /// when there is no reader or no free page.
    fn room(&self) -> Result<usize> {
        let s = self.lock()?;
        Ok(s.slots.saturating_sub(s.buffers.len()) * PAGE_SIZE)
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
            s.hangups += 1;
        }
        self.pipe.changed.notify_all();
        readiness::changed();
    }
}

impl PipeEnd {
    /// True for the write end.
    pub fn is_write_end(&self) -> bool {
        self.write_end
    }

    /// True when both ends belong to the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe)
    }

    /// tee(2): the unread bytes at the front, left in the pipe.
    pub fn peek(&self, out: &mut [u8], nonblock: bool) -> Result<usize> {
        self.pipe.peek(out, nonblock)
    }

    /// Free space in whole pages, for splice(2) into the pipe.
    pub fn room(&self) -> Result<usize> {
        self.pipe.room()
    }

    /// Waits until the pipe has a free page or no reader (splice(2) into
    /// a full pipe); EAGAIN when `nonblock`.
    pub fn wait_for_room(&self, nonblock: bool) -> Result<()> {
        let mut s = self.pipe.lock()?;
        loop {
            if s.readers == 0 {
                return Err(Errno::EPIPE);
            }
            if !s.is_full() {
                return Ok(());
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.pipe.wait(s)?;
        }
    }
}

impl FileOps for PipeEnd {
    fn pipe_end(&self) -> Option<&PipeEnd> {
        Some(self)
    }
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
        let packets = flags & libc::O_DIRECT != 0;
        self.pipe.write(buf, flags & libc::O_NONBLOCK != 0, packets)
    }
    fn pipe_capacity(&self, resize: Option<u64>, privileged: bool) -> Result<u64> {
        match resize {
            Some(size) => self.pipe.resize(size, privileged),
            None => self.pipe.capacity(),
        }
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        let Ok(s) = self.pipe.lock() else { return libc::POLLERR };
        let mut ready = 0;
        if self.write_end {
            // pipe_poll: writable while not full, and an error once no
            // reader is left (both at once when the pipe has room).
            if s.readers == 0 {
                ready |= libc::POLLERR;
            }
            if !s.is_full() {
                ready |= events & (libc::POLLOUT | libc::POLLWRNORM);
            }
        } else {
            if !s.buffers.is_empty() {
                ready |= events & (libc::POLLIN | libc::POLLRDNORM);
            }
            if s.writers == 0 {
                ready |= libc::POLLHUP;
            }
        }
        ready
    }
    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }
    fn event_count(&self, events: i16) -> u64 {
        let Ok(s) = self.pipe.lock() else { return 0 };
        let mut count = s.hangups;
        if events & (libc::POLLIN | libc::POLLRDNORM) != 0 {
            count = count.wrapping_add(s.data_events);
        }
        if events & (libc::POLLOUT | libc::POLLWRNORM) != 0 {
            count = count.wrapping_add(s.room_events);
        }
        count
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn crate::mm::UserMemory) -> Result<u64> {
        if cmd as u64 == libc::FIONREAD {
            let n = self.pipe.lock()?.unread() as i32;
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
    /// Reached through /proc/PID/fd/N: the pipe opens as a FIFO does
    /// (pipe(7): its inode is a FIFO's).
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        super::fifo::open_pipe(&self.0, flags, true)
    }
    fn is_anonymous_pipe(&self) -> bool {
        true
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
            buffers: VecDeque::new(),
            slots: DEFAULT_SLOTS,
            readers: 1,
            writers: 1,
            reader_opens: 1,
            writer_opens: 1,
            data_events: 0,
            room_events: 0,
            hangups: 0,
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
                buffers: VecDeque::new(),
                slots: DEFAULT_SLOTS,
                readers: 0,
                writers: 0,
                reader_opens: 0,
                writer_opens: 0,
                data_events: 0,
                room_events: 0,
                hangups: 0,
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
        readiness::changed();
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
        let big = vec![0u8; DEFAULT_SLOTS * PAGE_SIZE];
        assert_eq!(w.write_with_flags(&big, 0, libc::O_NONBLOCK), Ok(big.len()));
        assert_eq!(w.write_with_flags(b"y", 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }

    #[test]
    fn packets_keep_their_boundaries_and_truncate() {
        let (_, r, w) = new_pipe();
        let packet = libc::O_DIRECT;
        assert_eq!(w.write_with_flags(b"abc", 0, packet), Ok(3));
        assert_eq!(w.write_with_flags(b"defgh", 0, packet), Ok(5));
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf, 0), Ok(3));
        assert_eq!(r.read(&mut buf[..2], 0), Ok(2));
        assert_eq!(&buf[..2], b"de");
        // The rest of the packet was dropped.
        assert_eq!(r.read_with_flags(&mut buf, 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }

    #[test]
    fn small_writes_merge_into_one_page() {
        let (_, r, w) = new_pipe();
        assert_eq!(w.pipe_capacity(Some(4096), true), Ok(4096));
        assert_eq!(w.write(b"ab", 0), Ok(2));
        assert_eq!(w.write(b"cd", 0), Ok(2));
        assert_eq!(w.pipe_capacity(Some(1), true), Ok(4096));
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"abcd");
    }

    #[test]
    fn resize_rounds_up_and_refuses_to_drop_data() {
        let (_, _r, w) = new_pipe();
        assert_eq!(w.pipe_capacity(Some(5000), false), Ok(8192));
        assert_eq!(w.pipe_capacity(Some(0), false), Ok(4096));
        assert_eq!(w.pipe_capacity(Some(PIPE_MAX_SIZE + 1), false), Err(Errno::EPERM));
        assert_eq!(w.pipe_capacity(Some(PIPE_MAX_SIZE + 1), true), Ok(2 * PIPE_MAX_SIZE));
        assert_eq!(w.pipe_capacity(Some(u64::MAX), true), Err(Errno::EINVAL));
        let data = vec![1u8; 3 * PAGE_SIZE];
        assert_eq!(w.write(&data, 0), Ok(data.len()));
        assert_eq!(w.pipe_capacity(Some(8192), false), Err(Errno::EBUSY));
        assert_eq!(w.pipe_capacity(None, false), Ok(2 * PIPE_MAX_SIZE));
    }

    #[test]
    fn peek_leaves_data_and_room_counts_free_pages() {
        let (_inode, reader, writer) = new_pipe();
        assert_eq!(reader.peek(&mut [0u8; 4], true).err(), Some(Errno::EAGAIN));
        assert_eq!(writer.room().unwrap(), DEFAULT_SLOTS * PAGE_SIZE);
        writer.write(b"hello", 0).unwrap();
        assert_eq!(writer.room().unwrap(), (DEFAULT_SLOTS - 1) * PAGE_SIZE);
        let mut buf = [0u8; 3];
        assert_eq!(reader.peek(&mut buf, true).unwrap(), 3);
        assert_eq!(&buf, b"hel");
        let mut all = [0u8; 8];
        assert_eq!(reader.read(&mut all, 0).unwrap(), 5);
        assert!(reader.same_pipe(&writer));
        drop(writer);
        assert_eq!(reader.peek(&mut buf, false).unwrap(), 0, "EOF without writers");
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
