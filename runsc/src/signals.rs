//! Signal names and numbers as `runsc kill` accepts them, and sending them.

use std::fmt;
use std::str::FromStr;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// Lowest and highest real-time signal numbers as glibc exposes them
/// (glibc keeps 32 and 33 for itself).
const SIGRTMIN: i32 = 34;
const SIGRTMAX: i32 = 64;

/// A signal number between 1 and 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sig(i32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignalError {
    #[error("unknown signal {0:?}")]
    Unknown(String),
    #[error("signal number {0} is out of range 1-64")]
    OutOfRange(i64),
}

impl Sig {
    #[cfg(test)]
    pub const TERM: Sig = Sig(Signal::SIGTERM as i32);
    pub const KILL: Sig = Sig(Signal::SIGKILL as i32);

    /// A signal by number, 1 to 64.
    pub fn from_number(n: i64) -> Result<Sig, SignalError> {
        if (1..=i64::from(SIGRTMAX)).contains(&n) {
            // The range check makes the narrowing lossless.
            Ok(Sig(n as i32))
        } else {
            Err(SignalError::OutOfRange(n))
        }
    }

    pub fn number(self) -> i32 {
        self.0
    }

    /// Sends this signal to `pid`.
    pub fn send(self, pid: i32) -> nix::Result<()> {
        match Signal::try_from(self.0) {
            Ok(sig) => signal::kill(Pid::from_raw(pid), sig),
            Err(_) => send_realtime(pid, self.0),
        }
    }
}

/// `nix::sys::signal::kill` only takes the named signals; real-time ones
/// go through libc directly.
#[allow(unsafe_code)]
fn send_realtime(pid: i32, signo: i32) -> nix::Result<()> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signo) };
    nix::errno::Errno::result(rc).map(drop)
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Signal::try_from(self.0) {
            Ok(sig) => f.write_str(sig.as_str()),
            Err(_) => write!(f, "signal {}", self.0),
        }
    }
}

impl FromStr for Sig {
    type Err = SignalError;
    fn from_str(s: &str) -> Result<Sig, SignalError> {
        parse(s)
    }
}

/// Parses `15`, `TERM`, `SIGTERM`, `sigterm`, `RTMIN+2` or `SIGRTMAX-1`.
pub fn parse(raw: &str) -> Result<Sig, SignalError> {
    let s = raw.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Sig::from_number(n);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(n) = realtime(name) {
        return Ok(Sig(n));
    }
    Signal::from_str(&format!("SIG{name}"))
        .map(|sig| Sig(sig as i32))
        .map_err(|_| SignalError::Unknown(raw.to_string()))
}

/// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`, within the real-time range.
fn realtime(name: &str) -> Option<i32> {
    let (base, rest, sign) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (SIGRTMIN, rest, 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (SIGRTMAX, rest, -1)
    } else {
        return None;
    };
    let offset = match rest {
        "" => 0,
        _ => {
            let digits = match sign {
                1 => rest.strip_prefix('+')?,
                _ => rest.strip_prefix('-')?,
            };
            digits.parse::<i32>().ok()?
        }
    };
    let n = base.checked_add(sign * offset)?;
    (SIGRTMIN..=SIGRTMAX).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse("15").unwrap().number(), 15);
        assert_eq!(parse("9").unwrap(), Sig::KILL);
        assert_eq!(parse("64").unwrap().number(), 64);
        assert_eq!(parse("0"), Err(SignalError::OutOfRange(0)));
        assert_eq!(parse("65"), Err(SignalError::OutOfRange(65)));
        assert_eq!(parse("-1"), Err(SignalError::OutOfRange(-1)));
    }

    #[test]
    fn names() {
        for s in ["TERM", "SIGTERM", "term", "sigterm", " SIGTERM "] {
            assert_eq!(parse(s).unwrap(), Sig::TERM, "{s}");
        }
        assert_eq!(parse("KILL").unwrap(), Sig::KILL);
        assert_eq!(parse("SIGHUP").unwrap().number(), 1);
        assert_eq!(parse("USR1").unwrap().number(), libc::SIGUSR1);
        assert_eq!(parse("SIGWINCH").unwrap().number(), libc::SIGWINCH);
    }

    #[test]
    fn realtime_names() {
        assert_eq!(parse("RTMIN").unwrap().number(), 34);
        assert_eq!(parse("SIGRTMIN+3").unwrap().number(), 37);
        assert_eq!(parse("RTMAX").unwrap().number(), 64);
        assert_eq!(parse("rtmax-4").unwrap().number(), 60);
        assert!(parse("RTMIN+40").is_err());
        assert!(parse("RTMIN-1").is_err());
        assert!(parse("RTMINX").is_err());
    }

    #[test]
    fn unknown() {
        let err = parse("SIGNOPE").unwrap_err();
        assert_eq!(err.to_string(), "unknown signal \"SIGNOPE\"");
        assert!(parse("").is_err());
        assert!(parse("SIG").is_err());
    }

    #[test]
    fn display() {
        assert_eq!(Sig::TERM.to_string(), "SIGTERM");
        assert_eq!(parse("40").unwrap().to_string(), "signal 40");
    }

    #[test]
    fn send_to_a_child() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        Sig::KILL.send(child.id() as i32).unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));

        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        parse("RTMIN+1").unwrap().send(child.id() as i32).unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(35));
    }
}
