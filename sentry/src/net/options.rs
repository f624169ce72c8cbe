//! Socket-level options that are stored as set (socket(7)): buffer sizes,
//! SO_PASSCRED, timeouts, SO_LINGER, SO_RCVLOWAT and flags that mean
//! nothing for Unix sockets but are recorded and reported back.

use crate::errno::{Errno, Result};
use std::time::Duration;

/// /proc/sys/net/core/wmem_default and wmem_max (and rmem_*).
pub const DEFAULT_BUF: usize = 212_992;
pub const MAX_BUF: usize = 212_992;
/// SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF on x86-64.
pub const MIN_SNDBUF: usize = 4608;
pub const MIN_RCVBUF: usize = 2304;

/// Boolean options that are recorded and reported but change nothing here.
const RECORDED_FLAGS: [i32; 6] = [
    libc::SO_REUSEADDR,
    libc::SO_REUSEPORT,
    libc::SO_KEEPALIVE,
    libc::SO_BROADCAST,
    libc::SO_OOBINLINE,
    libc::SO_DONTROUTE,
];

pub struct Options {
    pub passcred: bool,
    pub sndbuf: usize,
    pub rcvbuf: usize,
    /// SOCK_SNDBUF_LOCK / SOCK_RCVBUF_LOCK: the program chose the size, so a
    /// stack sizes its buffers from it instead of its own default.
    pub sndbuf_set: bool,
    pub rcvbuf_set: bool,
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    /// (l_onoff, l_linger): accepted and reported; closing never waits.
    pub linger: (i32, i32),
    pub rcvlowat: i32,
    /// The RECORDED_FLAGS that are on.
    flags: Vec<i32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            passcred: false,
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            sndbuf_set: false,
            rcvbuf_set: false,
            rcvtimeo: None,
            sndtimeo: None,
            linger: (0, 0),
            rcvlowat: 1,
            flags: Vec::new(),
        }
    }
}

impl Options {
    /// The bytes getsockopt returns for a stored option; None if `name`
    /// is not one.
    pub fn get(&self, name: i32) -> Option<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        Some(match name {
            libc::SO_SNDBUF => int(self.sndbuf as i32),
            libc::SO_RCVBUF => int(self.rcvbuf as i32),
            libc::SO_PASSCRED => int(self.passcred as i32),
            libc::SO_RCVTIMEO => timeval_bytes(self.rcvtimeo),
            libc::SO_SNDTIMEO => timeval_bytes(self.sndtimeo),
            libc::SO_LINGER => [self.linger.0.to_le_bytes(), self.linger.1.to_le_bytes()].concat(),
            libc::SO_RCVLOWAT => int(self.rcvlowat),
            // socket(7): SO_SNDLOWAT is always 1 and cannot be changed.
            libc::SO_SNDLOWAT => int(1),
            n if RECORDED_FLAGS.contains(&n) => int(self.flags.contains(&n) as i32),
            _ => return None,
        })
    }

    /// setsockopt: EINVAL for a value too short, ENOPROTOOPT for options
    /// that cannot be set.
    pub fn set(&mut self, name: i32, val: &[u8]) -> Result<()> {
        let as_int = || -> Result<i32> {
            let b: [u8; 4] = val.get(..4).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?;
            Ok(i32::from_le_bytes(b))
        };
        match name {
            libc::SO_SNDBUF => {
                self.sndbuf = doubled_buffer(as_int()?, MIN_SNDBUF);
                self.sndbuf_set = true;
            }
            libc::SO_RCVBUF => {
                self.rcvbuf = doubled_buffer(as_int()?, MIN_RCVBUF);
                self.rcvbuf_set = true;
            }
            libc::SO_PASSCRED => self.passcred = as_int()? != 0,
            libc::SO_RCVTIMEO => self.rcvtimeo = parse_timeval(val)?,
            libc::SO_SNDTIMEO => self.sndtimeo = parse_timeval(val)?,
            libc::SO_LINGER => {
                if val.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                let secs = i32::from_le_bytes([val[4], val[5], val[6], val[7]]);
                self.linger = ((as_int()? != 0) as i32, secs);
            }
            // socket(7): a negative low-water mark is INT_MAX, zero is one.
            libc::SO_RCVLOWAT => self.rcvlowat = as_int().map(|v| if v < 0 { i32::MAX } else { v.max(1) })?,
            n if RECORDED_FLAGS.contains(&n) => {
                let on = as_int()? != 0;
                self.flags.retain(|&f| f != n);
                if on {
                    self.flags.push(n);
                }
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }
}

/// SO_SNDBUF/SO_RCVBUF: the value taken as unsigned (so a negative one
/// is the maximum), capped at wmem_max/rmem_max, doubled for bookkeeping
/// overhead, and at least `min` (socket(7)).
fn doubled_buffer(val: i32, min: usize) -> usize {
    ((val as u32 as usize).min(MAX_BUF) * 2).max(min)
}

fn timeval_bytes(t: Option<Duration>) -> Vec<u8> {
    let t = t.unwrap_or_default();
    [
        (t.as_secs() as i64).to_le_bytes(),
        (t.subsec_micros() as i64).to_le_bytes(),
    ]
    .concat()
}

/// A struct timeval for SO_RCVTIMEO/SO_SNDTIMEO (socket(7)): zero means
/// no timeout; EDOM for microseconds outside 0..1000000; a negative time
/// is taken as the shortest wait.
fn parse_timeval(val: &[u8]) -> Result<Option<Duration>> {
    if val.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let word = |i: usize| i64::from_le_bytes(val[i..i + 8].try_into().unwrap_or([0; 8]));
    let (sec, usec) = (word(0), word(8));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::from_micros(1)));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64),
    ))
}
