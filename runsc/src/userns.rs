//! The Sentry's user namespace: inside it the Sentry is root (uid and gid
//! 0, which it needs to own its other namespaces and mounts), on the host
//! it is an unprivileged id with no capability at all.
//!
//! A process in a new user namespace cannot map its root to another host
//! id itself: writing anything but its own id into /proc/PID/uid_map needs
//! CAP_SETUID in the parent namespace (user_namespaces(7), "Defining user
//! and group ID mappings"). So before unsharing, the Sentry forks a mapper
//! that stays in the host's namespace (as host root); once the Sentry has
//! unshared, the mapper writes its maps and exits. Then the Sentry switches
//! to the mapped root with setresuid/setresgid.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context};
use nix::unistd::{Gid, Uid};

/// The host ids the Sentry's root maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostIds {
    pub uid: u32,
    pub gid: u32,
}

/// "nobody": what the kernel shows for an id with no mapping.
const OVERFLOW_ID: u32 = 65534;

impl HostIds {
    /// The kernel's overflow ids (/proc/sys/kernel/overflowuid and
    /// overflowgid, 65534 "nobody" unless changed), an id the host gives
    /// no file and no privilege.
    pub fn unprivileged() -> HostIds {
        let read = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(OVERFLOW_ID)
        };
        HostIds {
            uid: read("overflowuid"),
            gid: read("overflowgid"),
        }
    }
}

/// The files the mapper writes, in order, with their content: setgroups
/// must be denied before gid_map is written by an unprivileged writer, and
/// a sandbox never needs setgroups(2) (its groups were cleared before).
fn map_files(ids: HostIds) -> [(&'static str, String); 3] {
    [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("0 {} 1\n", ids.uid)),
        ("gid_map", format!("0 {} 1\n", ids.gid)),
    ]
}

/// A forked child of the Sentry, still in the host's user namespace,
/// waiting to write the Sentry's id maps.
pub struct Mapper {
    pid: libc::pid_t,
    /// Written to (or closed) to let the mapper go.
    go: Option<File>,
    /// The mapper's error message, if any; EOF when it is done.
    result: File,
}

impl Mapper {
    /// Forks the mapper. Call while single-threaded (unshare of a user
    /// namespace needs that anyway), before unsharing.
    #[allow(unsafe_code)]
    pub fn start(ids: HostIds) -> anyhow::Result<Mapper> {
        // Our own /proc directory, as a directory fd: the mapper cannot
        // name us by pid (we may be pid 1 of a pid namespace that the
        // host's /proc does not show).
        let proc_dir = File::open("/proc/self").context("opening /proc/self")?;
        let (go_read, go_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
        let (result_read, result_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
        let files = map_files(ids);
        // SAFETY: we are single-threaded, so the child may use the whole
        // standard library; it only writes the maps and exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error()).context("fork");
        }
        if pid == 0 {
            drop(go_write);
            drop(result_read);
            let code = mapper_main(&proc_dir, go_read, result_write, &files);
            // SAFETY: leave without running the parent's exit handlers.
            unsafe { libc::_exit(code) };
        }
        Ok(Mapper {
            pid,
            go: Some(File::from(go_write)),
            result: File::from(result_read),
        })
    }

    /// Lets the mapper write our maps (we have unshared) and waits for it.
    pub fn map(mut self) -> anyhow::Result<()> {
        if let Some(mut go) = self.go.take() {
            go.write_all(b"g").context("waking the mapper")?;
        }
        let mut message = String::new();
        self.result
            .read_to_string(&mut message)
            .context("reading the mapper's answer")?;
        let status = self.reap()?;
        if !message.is_empty() {
            bail!("{message}");
        }
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            bail!("the mapper ended with status {status:#x}");
        }
        Ok(())
    }

    #[allow(unsafe_code)]
    fn reap(&self) -> anyhow::Result<i32> {
        let mut status = 0;
        loop {
            // SAFETY: waiting for our own child with a valid out pointer.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if rc == self.pid {
                return Ok(status);
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(err).context("waiting for the mapper");
            }
        }
    }
}

impl Drop for Mapper {
    /// Unless [`Mapper::map`] ran: closing `go` makes the mapper exit
    /// without writing anything; it is reaped here.
    fn drop(&mut self) {
        if self.go.take().is_some() {
            let _ = self.reap();
        }
    }
}

/// The mapper's life: wait for the go byte, write each map file of the
/// process whose /proc directory is `proc_dir`, report any error.
fn mapper_main(proc_dir: &File, go: OwnedFd, result: OwnedFd, files: &[(&'static str, String)]) -> i32 {
    let mut go = File::from(go);
    let mut result = File::from(result);
    let mut byte = [0u8; 1];
    if !matches!(go.read(&mut byte), Ok(1)) {
        // The Sentry gave up before unsharing.
        return 1;
    }
    for (name, content) in files {
        if let Err(e) = write_at(proc_dir.as_raw_fd(), name, content) {
            let _ = write!(result, "writing {content:?} to /proc/<sentry>/{name}: {e}");
            return 1;
        }
    }
    0
}

/// Writes `content` to the file `name` of the directory `dir` in one write
/// (the kernel takes a map in a single write(2)).
#[allow(unsafe_code)]
fn write_at(dir: RawFd, name: &str, content: &str) -> std::io::Result<()> {
    let name = std::ffi::CString::new(name)?;
    // SAFETY: a valid directory fd and NUL-terminated name.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat returned a new fd that nothing else owns.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let written = file.write(content.as_bytes())?;
    if written != content.len() {
        return Err(std::io::Error::other("short write"));
    }
    Ok(())
}

/// Switches to the namespace's root (host: the mapped unprivileged ids).
///
/// Changing ids makes the process non-dumpable, and a non-dumpable process
/// can be ptraced only with CAP_SYS_PTRACE over its memory's user namespace
/// (the host's; ptrace(2), "Ptrace access mode checking"). The ptrace
/// platform's stubs inherit that and the Sentry must seize their threads
/// (non-dumpable, PTRACE_SEIZE of a guest thread's stub thread fails with
/// EPERM): with `stubs_are_traced` the Sentry is made dumpable again. Host
/// processes running as the same ids still cannot attach to it: a tracer
/// outside the tracee's user namespace needs CAP_SYS_PTRACE over that
/// namespace (the commoncap check); non-dumpable is a second lock where
/// nothing needs it open.
#[allow(unsafe_code)]
pub fn become_root(stubs_are_traced: bool) -> anyhow::Result<()> {
    let root_gid = Gid::from_raw(0);
    let root_uid = Uid::from_raw(0);
    nix::unistd::setresgid(root_gid, root_gid, root_gid).context("setresgid(0, 0, 0)")?;
    nix::unistd::setresuid(root_uid, root_uid, root_uid).context("setresuid(0, 0, 0)")?;
    if stubs_are_traced {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error()).context("PR_SET_DUMPABLE");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_root_to_the_host_ids_and_denies_setgroups_first() {
        let files = map_files(HostIds { uid: 65534, gid: 65533 });
        assert_eq!(files[0], ("setgroups", "deny".to_string()));
        assert_eq!(files[1], ("uid_map", "0 65534 1\n".to_string()));
        assert_eq!(files[2], ("gid_map", "0 65533 1\n".to_string()));
    }
}
