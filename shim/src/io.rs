//! A process's stdio: the FIFOs containerd creates (paths in Create and
//! Exec), given to the container, and the pty master for a terminal.
//!
//! - stdout/stderr without a terminal: the FIFOs themselves become the
//!   process's fds (opened read-write, which never blocks on a FIFO, fifo(7));
//!   the shim closes its copies, so containerd's reader sees EOF once the
//!   container's last holder is gone.
//! - stdin: a pipe whose read end is the process's stdin; a thread copies
//!   the FIFO into it, and CloseIO (or EOF on the FIFO) closes the write end.
//! - terminal: runsc sends the pty master over `--console-socket`; threads
//!   copy master → stdout FIFO and stdin FIFO → master; ResizePty sets the
//!   master's window size.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::error::{io_context, Result, ShimError};
use crate::runsc::CommandStdio;

/// The FIFO paths containerd gave (empty when not wanted).
#[derive(Debug, Clone, Default)]
pub struct StdioPaths {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// What the shim keeps of a process's stdio while it runs.
#[derive(Default)]
pub struct ProcessIo {
    /// Writes reach the process's stdin (a pipe, or the pty master).
    stdin: Arc<Mutex<Option<File>>>,
    /// The pty master, for ResizePty.
    console: Mutex<Option<File>>,
}

/// The socket runsc sends the pty master to.
pub struct ConsoleSocket {
    dir: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> Result<ConsoleSocket> {
        // Socket paths are short (108 bytes); bundle paths need not be.
        let dir = nix::unistd::mkdtemp(&std::env::temp_dir().join("runsc-shim-pty.XXXXXX"))
            .map_err(|e| io_context("creating a console socket directory")(e.into()))?;
        let listener = UnixListener::bind(dir.join("pty.sock")).map_err(io_context("binding the console socket"))?;
        Ok(ConsoleSocket { dir, listener })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("pty.sock")
    }

    /// The pty master runsc sent (it connected before it exited).
    pub fn receive(&self) -> Result<File> {
        let (stream, _) = self
            .listener
            .accept()
            .map_err(io_context("accepting on the console socket"))?;
        let mut byte = [0u8; 64];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| io_context("receiving the pty master")(e.into()))?;
        for cmsg in msg
            .cmsgs()
            .map_err(|e| io_context("reading the pty master message")(e.into()))?
        {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(&fd) = fds.first() {
                    // Extra fds (none expected) are closed.
                    for &extra in &fds[1..] {
                        // SAFETY: the kernel just installed `extra` in our table
                        // for us; nothing else owns it.
                        drop(unsafe { OwnedFd::from_raw_fd(extra) });
                    }
                    // SAFETY: as above, `fd` is ours alone.
                    return Ok(unsafe { File::from_raw_fd(fd) });
                }
            }
        }
        Err(ShimError::FailedPrecondition("runsc sent no pty master".into()))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The fds to run runsc with.
pub struct Prepared {
    pub stdio: CommandStdio,
    pub console: Option<ConsoleSocket>,
}

/// Opens what `paths` names, before `runsc create`/`exec`; `io` keeps the
/// shim's side.
pub fn prepare(paths: &StdioPaths, io: &ProcessIo) -> Result<Prepared> {
    if paths.terminal {
        return Ok(Prepared {
            stdio: CommandStdio::default(),
            console: Some(ConsoleSocket::new()?),
        });
    }
    let mut stdio = CommandStdio::default();
    if !paths.stdin.is_empty() {
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| io_context("creating the stdin pipe")(e.into()))?;
        stdio.stdin = Some(File::from(read_end));
        *lock(&io.stdin) = Some(File::from(write_end));
        spawn_stdin_copy(paths.stdin.clone(), Arc::clone(&io.stdin));
    }
    stdio.stdout = open_output(&paths.stdout)?;
    stdio.stderr = open_output(&paths.stderr)?;
    Ok(Prepared { stdio, console: None })
}

/// After runsc succeeded: takes the pty master and starts copying.
pub fn attach_console(io: &ProcessIo, socket: &ConsoleSocket, paths: &StdioPaths) -> Result<()> {
    let master = socket.receive()?;
    let output = master.try_clone().map_err(io_context("duplicating the pty master"))?;
    if let Some(out) = open_output(&paths.stdout)? {
        std::thread::spawn(move || copy_until_eof(output, out));
    }
    if !paths.stdin.is_empty() {
        let input = master.try_clone().map_err(io_context("duplicating the pty master"))?;
        *lock(&io.stdin) = Some(input);
        spawn_stdin_copy(paths.stdin.clone(), Arc::clone(&io.stdin));
    }
    *lock(&io.console) = Some(master);
    Ok(())
}

impl ProcessIo {
    /// CloseIO: the process sees EOF on stdin (for a pipe).
    pub fn close_stdin(&self) {
        lock(&self.stdin).take();
    }

    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        let console = lock(&self.console);
        let Some(master) = console.as_ref() else {
            return Err(ShimError::FailedPrecondition("the process has no terminal".into()));
        };
        let size = libc::winsize {
            ws_row: u16::try_from(height).unwrap_or(u16::MAX),
            ws_col: u16::try_from(width).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which is valid
        // for the call; the fd is the pty master we own.
        let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size as *const libc::winsize) };
        if rc < 0 {
            return Err(io_context("setting the terminal size")(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Drops every fd the shim holds for the process.
    pub fn close(&self) {
        self.close_stdin();
        lock(&self.console).take();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A FIFO for output, opened read-write so that the open never blocks.
fn open_output(path: &str) -> Result<Option<File>> {
    if path.is_empty() {
        return Ok(None);
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(io_context(format!("opening {path}")))?;
    Ok(Some(file))
}

/// Copies the stdin FIFO into `sink` until EOF or CloseIO, then closes it.
fn spawn_stdin_copy(path: String, sink: Arc<Mutex<Option<File>>>) {
    std::thread::spawn(move || {
        // Blocks until containerd opens its end for writing.
        let Ok(mut fifo) = File::open(Path::new(&path)) else {
            lock(&sink).take();
            return;
        };
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match fifo.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut guard = lock(&sink);
            let Some(out) = guard.as_mut() else { return };
            if out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        lock(&sink).take();
    });
}

/// Copies `from` to `to` until EOF or an error (EIO once the pty's last
/// slave is closed).
fn copy_until_eof(mut from: File, mut to: File) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
}
