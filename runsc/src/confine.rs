//! Confining the sandbox process (`runsc boot`) before the Sentry exists:
//! a new user namespace in which it is root but which maps that root to an
//! unprivileged host id ([`crate::userns`]), new mount, network, IPC, UTS
//! and cgroup namespaces owned by it (the pid namespace comes from
//! `create`, which starts boot as the init of a new one), an empty
//! read-only root, no capabilities, no new privileges, and the Sentry's
//! seccomp allow-list. It runs while boot is single-threaded, so
//! every later thread (task threads, stubs' tracers, the control and signal
//! threads) inherits all of it. Under systrap the stub factory process is
//! forked between the capability drop and the seccomp filters.
//!
//! What the Sentry keeps from the host is only what it already holds as
//! fds: the container's stdio, the gofer connections, the status pipe, the
//! exec fifo, the control socket and the log files; fds it inherited from
//! whoever started runsc are closed.

use std::os::fd::RawFd;
use std::path::Path;

use anyhow::Context;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// Everything in one go; see the module comment.
///
/// The systrap platform's stubs run guest syscalls under a seccomp filter
/// of their own, which would stack under the Sentry's (whose kill wins over
/// their trap), so with systrap the stub factory process is forked here,
/// confined in every other way but before the Sentry's filters: stubs come
/// from it and never inherit them (see docs/security.md).
///
/// With `host_network` (`--network=host`) the Sentry stays in the host's
/// network namespace and may make inet sockets (SENTRY_HOSTINET).
pub fn sentry(platform: ::platform::PlatformKind, host_network: bool) -> anyhow::Result<()> {
    sentry::read_host_facts();
    close_inherited_fds().context("closing inherited fds")?;
    let ids = crate::userns::HostIds::unprivileged();
    // Supplementary groups are cleared while we are still host root: the
    // user namespace's setgroups is denied, and host groups would stay.
    nix::unistd::setgroups(&[]).context("clearing the supplementary groups")?;
    let mapper = crate::userns::Mapper::start(ids).context("starting the id mapper")?;
    enter_namespaces(host_network)?;
    mapper.map().context("mapping the user namespace's root")?;
    crate::userns::become_root(platform == ::platform::PlatformKind::Ptrace)
        .context("becoming the user namespace's root")?;
    empty_root()?;
    drop_capabilities()?;
    if platform == ::platform::PlatformKind::Systrap {
        ::platform::systrap::prepare().context("starting the systrap stub factory")?;
    }
    crate::seccomp::install_sentry(platform, host_network).context("the Sentry's seccomp filters")?;
    crate::testonly::after_confinement();
    Ok(())
}

/// Closes every fd above stdio that we were left by whoever started us:
/// the runtime's caller may leak fds (a host directory among them, the
/// CVE-2024-21626 class), and the Sentry must hold only its own. Everything
/// runsc opens itself is close-on-exec (the standard library's default,
/// and the status pipe is made so on arrival), so an fd without
/// FD_CLOEXEC here is an inherited one.
fn close_inherited_fds() -> anyhow::Result<()> {
    let mut inherited = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").context("listing /proc/self/fd")? {
        let Some(fd) = entry?.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else {
            continue;
        };
        if fd <= 2 {
            continue;
        }
        match nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD) {
            Ok(flags) if flags & libc::FD_CLOEXEC == 0 => inherited.push(fd),
            // Closed meanwhile: it was the listing's own fd.
            _ => {}
        }
    }
    for fd in inherited {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
        tracing::debug!(fd, target = %target.display(), "closing an inherited fd");
        nix::unistd::close(fd).with_context(|| format!("closing fd {fd}"))?;
    }
    Ok(())
}

/// Unshares the user namespace first (the kernel makes it before the
/// others, which it then owns) and every other one but pid's.
///
/// With `host_network` the network namespace stays the host's.
fn enter_namespaces(host_network: bool) -> anyhow::Result<()> {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if !host_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).context("unshare of the user, mount, network, IPC, UTS and cgroup namespaces")?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("making the mount namespace private")?;
    Ok(())
}

/// Makes an empty read-only tmpfs our root. It is mounted over /proc, a
/// directory every host has (in this private namespace only), since
/// `pivot_root` needs the new root to be a mount point.
fn empty_root() -> anyhow::Result<()> {
    const AT: &str = "/proc";
    mount(
        Some("runsc-sandbox"),
        AT,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0555,size=4k"),
    )
    .context("mounting the empty root")?;
    pivot_into(Path::new(AT))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .context("making the empty root read-only")?;
    Ok(())
}

/// Makes the mount point `new_root` our root and lets go of the host's
/// tree. pivot_root(".", ".") stacks the old root on the new one; the lazy
/// unmount leaves only the new one (pivot_root(2), NOTES).
pub fn pivot_into(new_root: &Path) -> anyhow::Result<()> {
    nix::unistd::chdir(new_root).with_context(|| format!("chdir to {}", new_root.display()))?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the host's root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

/// Clears every capability set, the bounding set included, and keeps them
/// clear across any exec (which the seccomp filter refuses anyway).
#[allow(unsafe_code)]
fn drop_capabilities() -> anyhow::Result<()> {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only; EINVAL past the last
        // capability the kernel knows is expected and ignored.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // struct __user_cap_header_struct and two __user_cap_data_struct
    // (capget(2), _LINUX_CAPABILITY_VERSION_3).
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [Data::default(); 2];
    // SAFETY: a valid header and two data structs, as version 3 requires.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("capset");
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("PR_SET_NO_NEW_PRIVS");
    }
    Ok(())
}
