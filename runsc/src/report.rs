//! The status pipe from `runsc boot` back to the `create` (or `run`) that
//! started it: one JSON line when the sandbox is loaded or failed to load,
//! and possibly one more if running it fails.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    /// The init process is loaded; boot now waits for `start`.
    Ready,
    Failed {
        message: String,
        exit_code: i32,
    },
}

/// A container that failed to start; `exit_code` is what `runsc` exits with
/// (127 not found, 126 not executable, 1 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BootFailure {
    pub message: String,
    pub exit_code: i32,
}

impl BootFailure {
    pub fn new(message: impl Into<String>, exit_code: i32) -> Self {
        BootFailure {
            message: message.into(),
            exit_code,
        }
    }

    /// Words a Sentry error the way runc users (and Docker, which maps
    /// "executable file not found" / "no such file or directory" to 127 and
    /// "permission denied" to 126) expect.
    pub fn from_sentry(err: &sentry::Error) -> Self {
        let message = match err {
            sentry::Error::NotFound { path, errno } if path.contains('/') => {
                format!("exec: {path:?}: {}", errno_text(errno))
            }
            sentry::Error::NotFound { path, .. } => {
                format!("exec: {path:?}: executable file not found in $PATH")
            }
            sentry::Error::NotExecutable { path, errno } => {
                format!("exec: {path:?}: {}", errno_text(errno))
            }
            other => other.to_string(),
        };
        BootFailure::new(message, err.exit_code())
    }

    pub fn report(&self) -> Report {
        Report::Failed {
            message: self.message.clone(),
            exit_code: self.exit_code,
        }
    }
}

/// The lower-case strerror text (`no such file or directory`).
fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => err.to_string(),
    }
}

/// boot's end.
pub struct StatusWriter {
    file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusFdError {
    #[error("status fd {0} must be above 2")]
    Reserved(RawFd),
    #[error("status fd {fd} is not open: {source}")]
    NotOpen { fd: RawFd, source: nix::Error },
}

impl StatusWriter {
    /// Takes ownership of the inherited fd `fd` (and marks it close-on-exec).
    #[allow(unsafe_code)]
    pub fn from_inherited_fd(fd: RawFd) -> Result<Self, StatusFdError> {
        if fd <= 2 {
            return Err(StatusFdError::Reserved(fd));
        }
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|source| StatusFdError::NotOpen { fd, source })?;
        // SAFETY: `fd` is open (fcntl above succeeded) and was left to this
        // process by its parent for this purpose only; nothing else in this
        // process refers to it, so the OwnedFd is its sole owner.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(StatusWriter {
            file: File::from(owned),
        })
    }

    /// A second writer on the same pipe.
    pub fn try_clone(&self) -> io::Result<StatusWriter> {
        Ok(StatusWriter {
            file: self.file.try_clone()?,
        })
    }

    pub fn send(&mut self, report: &Report) -> io::Result<()> {
        let mut line = serde_json::to_vec(report)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

/// The parent's end.
pub struct StatusReader {
    reader: BufReader<File>,
}

impl StatusReader {
    pub fn new(fd: OwnedFd) -> Self {
        StatusReader {
            reader: BufReader::new(File::from(fd)),
        }
    }

    /// Makes [`StatusReader::recv`] fail with `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self) -> io::Result<()> {
        let fd = self.reader.get_ref().as_raw_fd();
        let flags = fcntl(fd, FcntlArg::F_GETFL)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(fd, FcntlArg::F_SETFL(flags))?;
        Ok(())
    }

    /// The next report; `None` once boot has closed its end.
    pub fn recv(&mut self) -> io::Result<Option<Report>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    #[test]
    fn round_trip_over_a_pipe() {
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let mut writer = StatusWriter::from_inherited_fd(w.into_raw_fd()).unwrap();
        let mut reader = StatusReader::new(r);
        writer.send(&Report::Ready).unwrap();
        let failed = BootFailure::new("exec: \"x\": permission denied", 126);
        writer.send(&failed.report()).unwrap();
        drop(writer);
        assert_eq!(reader.recv().unwrap(), Some(Report::Ready));
        assert_eq!(
            reader.recv().unwrap(),
            Some(Report::Failed {
                message: "exec: \"x\": permission denied".into(),
                exit_code: 126
            })
        );
        assert_eq!(reader.recv().unwrap(), None);
    }

    #[test]
    fn nonblocking_read_of_an_open_empty_pipe() {
        let (r, _w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let mut reader = StatusReader::new(r);
        reader.set_nonblocking().unwrap();
        let err = reader.recv().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn bad_fds() {
        assert!(matches!(
            StatusWriter::from_inherited_fd(1),
            Err(StatusFdError::Reserved(1))
        ));
        assert!(matches!(
            StatusWriter::from_inherited_fd(987_654),
            Err(StatusFdError::NotOpen { .. })
        ));
    }

    #[test]
    fn sentry_errors_are_worded_like_runc() {
        let enoent = || io::Error::from_raw_os_error(libc::ENOENT);
        let f = BootFailure::from_sentry(&sentry::Error::NotFound {
            path: "nonexistent".into(),
            errno: enoent(),
        });
        assert_eq!(f.exit_code, 127);
        assert_eq!(f.message, "exec: \"nonexistent\": executable file not found in $PATH");
        let f = BootFailure::from_sentry(&sentry::Error::NotFound {
            path: "/bin/nope".into(),
            errno: enoent(),
        });
        assert_eq!(
            (f.exit_code, f.message.as_str()),
            (127, "exec: \"/bin/nope\": no such file or directory")
        );
        let f = BootFailure::from_sentry(&sentry::Error::NotExecutable {
            path: "/etc/passwd".into(),
            errno: io::Error::from_raw_os_error(libc::EACCES),
        });
        assert_eq!(
            (f.exit_code, f.message.as_str()),
            (126, "exec: \"/etc/passwd\": permission denied")
        );
        let f = BootFailure::from_sentry(&sentry::Error::Setup("no memory file".into()));
        assert_eq!((f.exit_code, f.message.as_str()), (1, "no memory file"));
    }
}
