//! `runsc start`: let a created container's init process run, by opening
//! the exec fifo the sandbox process is blocked on.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{bail, Context};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::cli::{GlobalOpts, IdArgs};
use crate::state::{ContainerDir, ContainerState, Root, Status};

pub fn main(global: &GlobalOpts, args: &IdArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    match dir.status(&state) {
        Status::Created => {}
        Status::Running => bail!("cannot start an already running container"),
        Status::Stopped => bail!("cannot start a container that has stopped"),
    }
    release(&dir, &state)?;
    tracing::info!(id = %args.id, "container started");
    Ok(0)
}

/// Unblocks the sandbox process and removes the fifo (so the container
/// now counts as running).
pub fn release(dir: &ContainerDir, state: &ContainerState) -> anyhow::Result<()> {
    let fifo_path = dir.fifo_path();
    // Non-blocking so that a dead sandbox cannot leave us hanging.
    let fifo = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path)
        .with_context(|| format!("opening {}", fifo_path.display()))?;
    let byte = await_byte(&fifo, || state.is_alive())?;
    if byte.is_none() {
        bail!("sandbox process closed the exec fifo without starting");
    }
    std::fs::remove_file(&fifo_path).with_context(|| format!("removing {}", fifo_path.display()))?;
    Ok(())
}

/// Waits for the one byte the sandbox writes once it is unblocked. `None`
/// means the writer closed without writing. Fails if `alive` turns false.
fn await_byte(mut fifo: &File, alive: impl Fn() -> bool) -> anyhow::Result<Option<u8>> {
    let tick = PollTimeout::from(100u16); // milliseconds
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, tick) {
            Ok(0) => {}
            Ok(_) => {
                let mut buf = [0u8; 1];
                match fifo.read(&mut buf) {
                    Ok(1) => return Ok(Some(buf[0])),
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("reading the exec fifo"),
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("waiting on the exec fifo"),
        }
        if !alive() {
            bail!("the sandbox process exited before the container started");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::Mode;
    use std::io::Write;

    fn fifo() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exec.fifo");
        nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).unwrap();
        (dir, path)
    }

    fn open_reader(path: &std::path::Path) -> File {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    #[test]
    fn reads_the_writers_byte() {
        let (_dir, path) = fifo();
        let reader = open_reader(&path);
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || {
            // Blocks until a reader is there, exactly like boot.
            let mut w = OpenOptions::new().write(true).open(writer_path).unwrap();
            w.write_all(b"0").unwrap();
        });
        assert_eq!(await_byte(&reader, || true).unwrap(), Some(b'0'));
        writer.join().unwrap();
    }

    #[test]
    fn gives_up_when_the_writer_is_dead() {
        let (_dir, path) = fifo();
        let reader = open_reader(&path);
        let err = await_byte(&reader, || false).unwrap_err();
        assert!(err.to_string().contains("exited before"), "{err}");
    }

    #[test]
    fn writer_closing_without_a_byte() {
        let (_dir, path) = fifo();
        let reader = open_reader(&path);
        drop(OpenOptions::new().write(true).open(&path).unwrap());
        assert_eq!(await_byte(&reader, || true).unwrap(), None);
    }
}
