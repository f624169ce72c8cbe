//! runc's `--preserve-fds N` for `create`, `run` and `exec`: our fds
//! 3 .. 3+N-1 (after stdio) become the container process's fds at the
//! same numbers.
//!
//! They travel explicitly, never by weakening the rule that `runsc boot`
//! closes every inherited fd without FD_CLOEXEC before it confines itself
//! ([`crate::confine`]): `create` has `runsc boot --preserve-fds N` inherit
//! them, and boot takes them (close-on-exec, owned) before anything else;
//! `exec` sends them over the control socket with SCM_RIGHTS after stdio.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};

/// The first preserved fd: the one after stderr.
const FIRST: RawFd = 3;

/// The fd numbers `--preserve-fds n` names.
fn numbers(n: u32) -> anyhow::Result<std::ops::Range<RawFd>> {
    let count = RawFd::try_from(n).ok();
    match count.and_then(|c| FIRST.checked_add(c)) {
        Some(end) => Ok(FIRST..end),
        None => bail!("--preserve-fds {n}: too many fds"),
    }
}

/// Fails unless every fd `--preserve-fds n` names is open. Called first
/// thing, before runsc opens any file of its own (a log) that could land
/// on a number the caller left closed.
pub fn check_open(n: u32) -> anyhow::Result<()> {
    for fd in numbers(n)? {
        if let Err(errno) = fcntl(fd, FcntlArg::F_GETFD) {
            bail!("--preserve-fds {n}: fd {fd} is not open ({errno})");
        }
    }
    Ok(())
}

/// Lets a child we spawn inherit the preserved fds (clears FD_CLOEXEC on
/// each). The caller is single-threaded, so no other child can be
/// spawned meanwhile.
pub fn inherit(n: u32) -> anyhow::Result<()> {
    for fd in numbers(n)? {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).with_context(|| format!("--preserve-fds: fd {fd}"))?;
    }
    Ok(())
}

/// Undoes [`inherit`] once the child is started, so that later children
/// (the OCI hooks) do not get the container's fds.
pub fn stop_inheriting(n: u32) {
    let Ok(fds) = numbers(n) else { return };
    for fd in fds {
        if let Err(e) = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)) {
            tracing::debug!("--preserve-fds: FD_CLOEXEC on fd {fd}: {e}");
        }
    }
}

/// Takes ownership of the preserved fds, marked close-on-exec (so that
/// `runsc boot` keeps them when it closes whatever else it inherited).
#[allow(unsafe_code)]
pub fn take(n: u32) -> anyhow::Result<Vec<OwnedFd>> {
    let mut taken = Vec::new();
    for fd in numbers(n)? {
        // Fails (EBADF) unless the fd is open.
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .with_context(|| format!("--preserve-fds {n}: fd {fd} is not open"))?;
        // SAFETY: the fd is open (checked above); it is one our caller
        // handed us to pass on, and nothing else in this process uses it
        // or takes it (take is called once per process).
        taken.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(numbers(0).unwrap(), 3..3);
        assert_eq!(numbers(2).unwrap(), 3..5);
        assert!(numbers(u32::MAX).is_err());
        assert!(check_open(0).is_ok());
        assert!(take(0).unwrap().is_empty());
    }
}
