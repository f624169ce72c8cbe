//! `runsc start`: let a created container's init process run, by opening
//! the exec fifo the sandbox process is blocked on.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, IdArgs};
use crate::hooks;
use crate::state::{ContainerDir, ContainerState, Root, Status};

pub fn main(global: &GlobalOpts, args: &IdArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    match dir.status(&state) {
        Status::Created => {}
        Status::Running | Status::Paused => bail!("cannot start an already running container"),
        Status::Stopped => bail!("cannot start a container that has stopped"),
    }
    start_with_hooks(&dir, &state)?;
    tracing::info!(id = %args.id, "container started");
    Ok(0)
}

/// Runs the startContainer hooks, lets the init run, then runs the
/// poststart hooks (see [`crate::hooks`]). A failing startContainer hook
/// kills the sandbox.
pub fn start_with_hooks(dir: &ContainerDir, state: &ContainerState) -> anyhow::Result<()> {
    let saved = hooks::load(&dir.path)?;
    if let Err(e) = hooks::run(saved.as_ref(), hooks::Kind::StartContainer, &state.oci(Status::Created)) {
        if let Err(kill) = crate::commands::delete::kill_and_wait(state) {
            tracing::warn!("{kill:#}");
        }
        return Err(e.into());
    }
    release(dir, state)?;
    hooks::run_logged(saved.as_ref(), hooks::Kind::Poststart, &state.oci(Status::Running));
    Ok(())
}

/// Unblocks the sandbox process and removes the fifo (so the container
/// now counts as running).
///
/// The sandbox holds the fifo open for reading and writing from before it
/// gave up the host's file system, and blocks reading it; we write the one
/// byte it waits for. Without a reader (the sandbox is gone) the open fails
/// with ENXIO instead of blocking.
pub fn release(dir: &ContainerDir, state: &ContainerState) -> anyhow::Result<()> {
    let fifo_path = dir.fifo_path();
    let fifo = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path);
    let mut fifo = match fifo {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) || !state.is_alive() => {
            bail!("the sandbox process exited before the container started")
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", fifo_path.display())),
    };
    fifo.write_all(b"0").context("writing the exec fifo")?;
    std::fs::remove_file(&fifo_path).with_context(|| format!("removing {}", fifo_path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::Mode;
    use std::io::Read;

    #[test]
    fn a_waiting_reader_gets_the_byte_and_a_missing_one_gives_enxio() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exec.fifo");
        nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).unwrap();
        let open_writer = || {
            OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
        };
        assert_eq!(open_writer().unwrap_err().raw_os_error(), Some(libc::ENXIO));
        // The sandbox's side: read and write, so the read blocks for data.
        let mut boot = OpenOptions::new().read(true).write(true).open(&path).unwrap();
        open_writer().unwrap().write_all(b"0").unwrap();
        let mut byte = [0u8; 1];
        boot.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"0");
    }
}
