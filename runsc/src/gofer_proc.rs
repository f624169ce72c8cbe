//! The gofer process: the only part of a sandbox that opens host files.
//! `runsc boot` and `runsc do` start it (hidden `runsc gofer`) with one
//! end of a socketpair; it serves the container's rootfs on it, confined to
//! that directory, until the Sentry closes the connection.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use crate::cli::GoferArgs;

/// The fd number the gofer finds its connection on.
const CONNECTION_FD: i32 = 3;

/// `runsc gofer`: serve until the Sentry hangs up.
#[allow(unsafe_code)]
pub fn main(args: &GoferArgs) -> anyhow::Result<i32> {
    // Die with the sandbox process that started us.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if nix::unistd::getppid().as_raw() == 1 {
        bail!("the sandbox process is already gone");
    }
    let server = ::gofer::LocalServer::new(&args.root, args.read_only)
        .with_context(|| format!("serving {}", args.root.display()))?;
    // SAFETY: the parent placed the connection on this fd for us alone.
    let conn = unsafe { UnixStream::from_raw_fd(args.fd) };
    ::gofer::serve(conn, &server).context("serving the sandbox")?;
    Ok(0)
}

/// Starts a gofer for `root`; returns the Sentry's end of the connection.
#[allow(unsafe_code)]
pub fn spawn(root: &Path, read_only: bool) -> anyhow::Result<OwnedFd> {
    let (sentry_end, gofer_end) = UnixStream::pair().context("socketpair for the gofer")?;
    let gofer_fd = gofer_end.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("runsc");
    cmd.arg("gofer")
        .arg("--root")
        .arg(root)
        .arg("--fd")
        .arg(CONNECTION_FD.to_string());
    if read_only {
        cmd.arg("--read-only");
    }
    cmd.stdin(std::process::Stdio::null());
    // SAFETY: between fork and exec the closure only calls dup2, which is
    // async-signal-safe; it moves the connection to the agreed fd without
    // O_CLOEXEC so that it survives exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(gofer_fd, CONNECTION_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().context("starting runsc gofer")?;
    tracing::debug!(pid = child.id(), root = %root.display(), read_only, "gofer started");
    // The gofer is reaped by whoever outlives it; it exits when we close
    // our end or die.
    drop(gofer_end);
    Ok(sentry_end.into())
}
