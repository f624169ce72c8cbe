//! Terminals: when process.terminal is set, a pty whose master goes to the
//! caller's `--console-socket` (SCM_RIGHTS, as runc does) and whose slave
//! is handed to the Sentry, which relays it to the container's own
//! terminal (a pty of the sandbox's devpts, see sentry::fs::tty::relay).

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::pty::{openpty, Winsize};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TerminalError {
    #[error("cannot allocate tty if runsc will detach without setting console socket")]
    NeedSocket,
    #[error("cannot use console socket if runsc will not detach or allocate tty")]
    UnwantedSocket,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("opening a pty: {0}")]
    Openpty(nix::Error),
    #[error("setting up the pty: {0}")]
    Setup(nix::Error),
    #[error("connecting to console socket {path}: {source}")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("sending the pty master to {path}: {source}")]
    Send { path: PathBuf, source: nix::Error },
}

/// runc's rules for `process.terminal` and `--console-socket`.
pub fn check_terminal(terminal: bool, detach: bool, has_socket: bool) -> Result<(), TerminalError> {
    if detach && terminal && !has_socket {
        return Err(TerminalError::NeedSocket);
    }
    if (!detach || !terminal) && has_socket {
        return Err(TerminalError::UnwantedSocket);
    }
    Ok(())
}

/// Opens a pty, sends its master to `socket` and returns the slave.
/// `size` is `(rows, columns)`.
pub fn open_and_send(socket: &Path, size: Option<(u16, u16)>) -> Result<OwnedFd, ConsoleError> {
    let winsize = size.map(|(rows, cols)| Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty = openpty(winsize.as_ref(), None).map_err(ConsoleError::Openpty)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(ConsoleError::Setup)?;
    }
    // The slave keeps a new pty's settings: the Sentry copies them into
    // the container's own terminal (whose output processing turns "\n"
    // into "\r\n", as runc's console does) and puts this one in raw mode.

    let stream = UnixStream::connect(socket).map_err(|source| ConsoleError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    let name = nix::unistd::ttyname(pty.slave.as_fd())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/dev/ptmx".to_string());
    let fds = [pty.master.as_raw_fd()];
    sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[IoSlice::new(name.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|source| ConsoleError::Send {
        path: socket.to_path_buf(),
        source,
    })?;
    // The receiver holds its own copy of the master now.
    drop(pty.master);
    Ok(pty.slave)
}

/// Our stdin's terminal settings, put back when this is dropped: with a
/// terminal the Sentry puts the host terminal it relays in raw mode
/// (`runsc do` and a foreground `runsc run` relay our own).
pub struct SavedTerminal(nix::sys::termios::Termios);

impl SavedTerminal {
    /// None when stdin is not a terminal.
    pub fn of_stdin() -> Option<SavedTerminal> {
        nix::sys::termios::tcgetattr(std::io::stdin().as_fd())
            .ok()
            .map(SavedTerminal)
    }
}

impl Drop for SavedTerminal {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        if let Err(e) = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, &self.0) {
            tracing::debug!("restoring the terminal: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    use nix::sys::termios::OutputFlags;
    use std::io::{IoSliceMut, Read, Write};
    use std::os::fd::FromRawFd;
    use std::os::unix::net::UnixListener;

    #[test]
    fn terminal_rules() {
        // create (always detaches)
        assert_eq!(check_terminal(true, true, true), Ok(()));
        assert_eq!(check_terminal(true, true, false), Err(TerminalError::NeedSocket));
        assert_eq!(check_terminal(false, true, false), Ok(()));
        assert_eq!(check_terminal(false, true, true), Err(TerminalError::UnwantedSocket));
        // run in the foreground uses our own stdio
        assert_eq!(check_terminal(true, false, false), Ok(()));
        assert_eq!(check_terminal(true, false, true), Err(TerminalError::UnwantedSocket));
        assert_eq!(check_terminal(false, false, false), Ok(()));
        assert_eq!(
            TerminalError::NeedSocket.to_string(),
            "cannot allocate tty if runsc will detach without setting console socket"
        );
    }

    #[allow(unsafe_code)]
    #[test]
    fn master_arrives_over_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pty.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let receiver = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 128];
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = recvmsg::<UnixAddr>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty()).unwrap();
            let mut fds = Vec::new();
            for cmsg in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(received) = cmsg {
                    fds.extend(received);
                }
            }
            let n = msg.bytes;
            (fds, String::from_utf8_lossy(&buf[..n]).into_owned())
        });
        let slave = open_and_send(&path, Some((24, 80))).unwrap();
        let (fds, name) = receiver.join().unwrap();
        assert_eq!(fds.len(), 1);
        assert!(name.starts_with("/dev/pts/"), "{name}");
        // SAFETY: the fd was just received over SCM_RIGHTS and nothing else owns it.
        let master = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        let ws = nix::sys::termios::tcgetattr(slave.as_fd()).unwrap();
        assert!(ws.output_flags.contains(OutputFlags::ONLCR), "a new pty's settings");
        let mut slave = std::fs::File::from(slave);
        slave.write_all(b"hi\n").unwrap();
        let mut out = [0u8; 4];
        (&master).read_exact(&mut out).unwrap();
        assert_eq!(&out, b"hi\r\n");
    }

    #[test]
    fn missing_socket() {
        let err = open_and_send(Path::new("/nonexistent/pty.sock"), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("connecting to console socket /nonexistent/pty.sock"),
            "{err}"
        );
    }
}
