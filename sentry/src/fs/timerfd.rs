//! timerfd_create(2): a timer that counts its expirations in a file.
//!
//! Times are kept in nanoseconds of the timer's own host clock
//! (CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME), so an absolute
//! CLOCK_REALTIME deadline follows changes of the wall clock the next time
//! it is looked at. Expirations are counted lazily: whenever the timer is
//! read, polled or queried, every period that ended since the last look
//! is added to the count. A read of at least 8 bytes takes the count and
//! blocks while it is 0.

use crate::errno::{Errno, Result};
use crate::vfs::readiness::{self, Attempt, WakeHint};
use crate::vfs::FileOps;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A clock reading or a span, in nanoseconds.
pub type Nanos = i128;

const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// The current time of host clock `clock`.
pub fn clock_now(clock: libc::clockid_t) -> Nanos {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out pointer for the duration of the call.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as Nanos * NANOS_PER_SEC + ts.tv_nsec as Nanos
}

/// A timer setting as timerfd_settime(2) and timerfd_gettime(2) show it:
/// the time to (or with TFD_TIMER_ABSTIME, of) the next expiry, zero for a
/// disarmed timer, and the period, zero for a one-shot timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Setting {
    pub value: Nanos,
    pub interval: Nanos,
}

#[derive(Default)]
struct State {
    /// The next expiry on the timer's clock; None when disarmed.
    deadline: Option<Nanos>,
    interval: Nanos,
    /// Expirations not read yet.
    ticks: u64,
    /// Expiries seen so far, for edge-triggered epoll.
    expiries: u64,
}

impl State {
    /// Counts the expirations up to `now`.
    fn advance(&mut self, now: Nanos) {
        let Some(deadline) = self.deadline.filter(|&d| d <= now) else {
            return;
        };
        if self.interval > 0 {
            let periods = (now - deadline) / self.interval + 1;
            self.ticks = self.ticks.saturating_add(u64::try_from(periods).unwrap_or(u64::MAX));
            self.deadline = Some(deadline + periods * self.interval);
        } else {
            self.ticks = self.ticks.saturating_add(1);
            self.deadline = None;
        }
        self.expiries += 1;
    }

    fn setting(&self, now: Nanos) -> Setting {
        Setting {
            value: self.deadline.map_or(0, |d| (d - now).max(0)),
            interval: self.interval,
        }
    }
}

pub struct TimerFd {
    /// The host clock the timer runs on.
    clock: libc::clockid_t,
    state: Mutex<State>,
}

impl TimerFd {
    pub fn new(clock: libc::clockid_t) -> TimerFd {
        TimerFd {
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// The state with every expiration up to now counted, and now.
    fn current(&self) -> Result<(MutexGuard<'_, State>, Nanos)> {
        let mut s = super::lock(&self.state)?;
        let now = clock_now(self.clock);
        s.advance(now);
        Ok((s, now))
    }

    /// timerfd_gettime(2).
    pub fn get(&self) -> Result<Setting> {
        let (s, now) = self.current()?;
        Ok(s.setting(now))
    }

    /// timerfd_settime(2): arms (a zero value disarms) and returns the old
    /// setting. The expirations not read yet are dropped.
    pub fn set(&self, new: Setting, absolute: bool) -> Result<Setting> {
        let (mut s, now) = self.current()?;
        let old = s.setting(now);
        s.ticks = 0;
        s.interval = new.interval;
        s.deadline = match (new.value, absolute) {
            (0, _) => None,
            (v, true) => Some(v),
            (v, false) => Some(now + v),
        };
        drop(s);
        readiness::changed();
        Ok(old)
    }

    /// The instant of the next expiry, for waiters.
    fn next_expiry(&self, s: &State, now: Nanos) -> WakeHint {
        match s.deadline {
            None => WakeHint::Notified,
            Some(d) => {
                let wait = u64::try_from((d - now).max(0)).unwrap_or(u64::MAX);
                let at = Instant::now().checked_add(Duration::from_nanos(wait));
                at.map_or(WakeHint::Notified, WakeHint::At)
            }
        }
    }

    /// One try at a read: the expirations, or when to look again.
    fn try_take(&self) -> Result<Attempt<u64>> {
        let (mut s, now) = self.current()?;
        if s.ticks > 0 {
            return Ok(Attempt::Done(std::mem::take(&mut s.ticks)));
        }
        Ok(Attempt::Wait(self.next_expiry(&s, now)))
    }
}

impl FileOps for TimerFd {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EINVAL)
    }
    fn read_with_flags(&self, buf: &mut [u8], _offset: u64, flags: i32) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let ticks = if flags & libc::O_NONBLOCK != 0 {
            match self.try_take()? {
                Attempt::Done(t) => t,
                Attempt::Wait(_) => return Err(Errno::EAGAIN),
            }
        } else {
            readiness::block_current(|| self.try_take())?
        };
        buf[..8].copy_from_slice(&ticks.to_ne_bytes());
        Ok(8)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn seek_is_noop(&self) -> bool {
        true
    }
    fn poll(&self, events: i16) -> i16 {
        match self.current() {
            Ok((s, _)) if s.ticks > 0 => events & (libc::POLLIN | libc::POLLRDNORM),
            Ok(_) => 0,
            Err(_) => libc::POLLERR,
        }
    }
    fn wake_hint(&self) -> WakeHint {
        match self.current() {
            Ok((s, now)) if s.ticks == 0 => self.next_expiry(&s, now),
            _ => WakeHint::Notified,
        }
    }
    fn event_count(&self, _events: i16) -> u64 {
        self.current().map_or(0, |(s, _)| s.expiries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    #[test]
    fn periods_are_counted_and_the_deadline_moves_on() {
        let mut s = State {
            deadline: Some(100),
            interval: 10,
            ..State::default()
        };
        s.advance(99);
        assert_eq!(s.ticks, 0);
        s.advance(125);
        assert_eq!((s.ticks, s.deadline), (3, Some(130)));
        assert_eq!(s.setting(125), Setting { value: 5, interval: 10 });
    }

    #[test]
    fn one_shot_expires_once() {
        let t = TimerFd::new(libc::CLOCK_MONOTONIC);
        let old = t.set(Setting { value: MS, interval: 0 }, false);
        assert_eq!(old, Ok(Setting::default()));
        let mut buf = [0u8; 8];
        assert_eq!(t.read(&mut buf, 0), Ok(8));
        assert_eq!(u64::from_ne_bytes(buf), 1);
        assert_eq!(t.get(), Ok(Setting::default()));
        assert_eq!(t.read_with_flags(&mut buf, 0, libc::O_NONBLOCK), Err(Errno::EAGAIN));
    }
}
