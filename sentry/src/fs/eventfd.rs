//! eventfd(2): a 64-bit counter as a file.
//!
//! A read of at least 8 bytes takes the counter (or 1 of it with
//! EFD_SEMAPHORE) and blocks while it is 0; a write of exactly 8 bytes adds
//! to it and blocks while the sum would pass 0xffff_ffff_ffff_fffe. Adding
//! u64::MAX is EINVAL. Readable while the counter is not 0, writable while
//! one more can be added.

use crate::errno::{Errno, Result};
use crate::vfs::readiness::{self, Attempt, WakeHint};
use crate::vfs::FileOps;
use std::sync::Mutex;

/// The largest value the counter holds (eventfd(2)).
pub const MAX_COUNT: u64 = u64::MAX - 1;

pub struct EventFd {
    state: Mutex<Counter>,
    semaphore: bool,
}

#[derive(Default)]
struct Counter {
    value: u64,
    /// Reads and writes so far, for edge-triggered epoll.
    writes: u64,
    reads: u64,
}

impl EventFd {
    pub fn new(initial: u64, semaphore: bool) -> EventFd {
        EventFd {
            state: Mutex::new(Counter {
                value: initial,
                ..Counter::default()
            }),
            semaphore,
        }
    }

    /// One try at a read: Some(value taken) or None when it would block.
    fn try_take(&self) -> Result<Option<u64>> {
        let mut c = super::lock(&self.state)?;
        if c.value == 0 {
            return Ok(None);
        }
        let taken = if self.semaphore { 1 } else { c.value };
        c.value -= taken;
        c.reads += 1;
        drop(c);
        readiness::changed();
        Ok(Some(taken))
    }

    /// One try at adding `n`: false when it would pass the maximum.
    fn try_add(&self, n: u64) -> Result<bool> {
        let mut c = super::lock(&self.state)?;
        if MAX_COUNT - c.value < n {
            return Ok(false);
        }
        c.value += n;
        c.writes += 1;
        drop(c);
        readiness::changed();
        Ok(true)
    }

    fn take(&self, nonblock: bool) -> Result<u64> {
        if nonblock {
            return self.try_take()?.ok_or(Errno::EAGAIN);
        }
        readiness::block_current(|| {
            Ok(match self.try_take()? {
                Some(v) => Attempt::Done(v),
                None => Attempt::Wait(WakeHint::Notified),
            })
        })
    }

    fn add(&self, n: u64, nonblock: bool) -> Result<()> {
        if n == u64::MAX {
            return Err(Errno::EINVAL);
        }
        if nonblock {
            return if self.try_add(n)? { Ok(()) } else { Err(Errno::EAGAIN) };
        }
        readiness::block_current(|| {
            Ok(if self.try_add(n)? {
                Attempt::Done(())
            } else {
                Attempt::Wait(WakeHint::Notified)
            })
        })
    }
}

impl FileOps for EventFd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let value = self.take(flags & libc::O_NONBLOCK != 0)?;
        buf[..8].copy_from_slice(&value.to_ne_bytes());
        Ok(8)
    }
    fn write_with_flags(&self, buf: &[u8], _offset: u64, flags: i32) -> Result<usize> {
        // Linux 6.x takes exactly 8 bytes here (a longer write is EINVAL too).
        let bytes: [u8; 8] = buf.try_into().map_err(|_| Errno::EINVAL)?;
        self.add(u64::from_ne_bytes(bytes), flags & libc::O_NONBLOCK != 0)?;
        Ok(8)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn seek_is_noop(&self) -> bool {
        true
    }
    fn poll(&self, events: i16) -> i16 {
        let Ok(c) = self.state.lock() else { return libc::POLLERR };
        let mut ready = 0;
        if c.value > 0 {
            ready |= events & (libc::POLLIN | libc::POLLRDNORM);
        }
        if c.value < MAX_COUNT {
            ready |= events & (libc::POLLOUT | libc::POLLWRNORM);
        }
        ready
    }
    fn wake_hint(&self) -> WakeHint {
        WakeHint::Notified
    }
    fn event_count(&self, events: i16) -> u64 {
        let Ok(c) = self.state.lock() else { return 0 };
        let mut count = 0u64;
        if events & (libc::POLLIN | libc::POLLRDNORM) != 0 {
            count = count.wrapping_add(c.writes);
        }
        if events & (libc::POLLOUT | libc::POLLWRNORM) != 0 {
            count = count.wrapping_add(c.reads);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_value(e: &EventFd, flags: i32) -> Result<u64> {
        let mut buf = [0u8; 8];
        e.read_with_flags(&mut buf, 0, flags)?;
        Ok(u64::from_ne_bytes(buf))
    }

    #[test]
    fn counter_and_semaphore_reads() {
        let e = EventFd::new(3, false);
        assert_eq!(read_value(&e, 0), Ok(3));
        assert_eq!(read_value(&e, libc::O_NONBLOCK), Err(Errno::EAGAIN));
        let s = EventFd::new(2, true);
        assert_eq!(read_value(&s, 0), Ok(1));
        assert_eq!(read_value(&s, 0), Ok(1));
        assert_eq!(read_value(&s, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }

    #[test]
    fn writes_stop_at_the_maximum() {
        let e = EventFd::new(0, false);
        assert_eq!(e.write(&u64::MAX.to_ne_bytes(), 0), Err(Errno::EINVAL));
        assert_eq!(e.write(&MAX_COUNT.to_ne_bytes(), 0), Ok(8));
        assert_eq!(e.poll(libc::POLLOUT), 0);
        assert_eq!(
            e.write_with_flags(&1u64.to_ne_bytes(), 0, libc::O_NONBLOCK),
            Err(Errno::EAGAIN)
        );
        assert_eq!(e.write(&[0u8; 4], 0), Err(Errno::EINVAL));
    }
}
