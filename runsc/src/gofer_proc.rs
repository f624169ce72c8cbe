//! The gofer process: the only part of a sandbox that opens host files.
//!
//! `runsc boot` and `runsc do` start it (hidden `runsc gofer`) with one
//! socketpair per export: the container's rootfs first, then each bind
//! mount of the spec. Before serving, the gofer moves into a mount namespace
//! of its own whose root is a small tmpfs holding only the exports (bind
//! mounts of their sources, made read-only where the spec says so), so that
//! even a gofer bug cannot name another host path. It reports readiness (or
//! the set-up error) on a pipe, then serves each export, confined to it,
//! until the Sentry closes the connections.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use crate::cli::GoferArgs;

/// One tree the gofer serves: the rootfs, or the source of a bind mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// The host path (symlinks in it are followed, as runc does).
    pub source: PathBuf,
    /// Refuse every modification, in the server and in the mount.
    pub read_only: bool,
    /// Include the mounts below `source` (`rbind`).
    pub recursive: bool,
    /// The source is a single file: it is served as the only entry, named
    /// [`::gofer::SINGLE_FILE_NAME`], of a directory.
    pub file: bool,
}

/// An export as the gofer receives it: where its connection is.
#[derive(Debug, Serialize, Deserialize)]
struct ExportArg {
    fd: RawFd,
    #[serde(flatten)]
    export: Export,
}

/// The first fd number given to the gofer's connections; the readiness
/// pipe comes right after them.
const FIRST_FD: RawFd = 3;

/// `runsc gofer`: confine, report readiness, serve until the Sentry hangs up.
#[allow(unsafe_code)]
pub fn main(args: &GoferArgs) -> anyhow::Result<i32> {
    // Die with the sandbox process that started us.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let exports: Vec<ExportArg> = serde_json::from_str(&args.exports).context("parsing --exports")?;
    // SAFETY: the parent placed the readiness pipe on this fd for us alone.
    let mut ready = unsafe { File::from_raw_fd(args.ready_fd) };
    let servers = match confine(&args.staging, &exports) {
        Ok(servers) => servers,
        Err(e) => {
            let _ = ready.write_all(format!("{e:#}").as_bytes());
            return Err(e);
        }
    };
    ready.write_all(b"ok").context("reporting readiness")?;
    drop(ready);
    serve_all(servers, &exports)
}

/// Serves every export on its own thread; returns when all are closed.
/// Every thread first finishes starting (`started`), then the seccomp
/// filter goes on all of them at once (TSYNC), then they serve
/// (`filtered`): no request is served unfiltered and no thread starts
/// after the filter.
#[allow(unsafe_code)]
fn serve_all(servers: Vec<::gofer::LocalServer>, exports: &[ExportArg]) -> anyhow::Result<i32> {
    let started = std::sync::Arc::new(std::sync::Barrier::new(servers.len() + 1));
    let filtered = std::sync::Arc::new(std::sync::Barrier::new(servers.len() + 1));
    let threads: Vec<_> = servers
        .into_iter()
        .zip(exports)
        .map(|(server, e)| {
            // SAFETY: the parent placed this connection on this fd for us alone.
            let conn = unsafe { UnixStream::from_raw_fd(e.fd) };
            let (started, filtered) = (started.clone(), filtered.clone());
            std::thread::spawn(move || {
                started.wait();
                filtered.wait();
                ::gofer::serve(conn, &server)
            })
        })
        .collect();
    started.wait();
    let installed = crate::seccomp::install_gofer();
    filtered.wait();
    installed.context("the gofer's seccomp filter")?;
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("gofer connection: {e}"),
            Err(_) => bail!("a gofer thread panicked"),
        }
    }
    Ok(0)
}

/// Builds the gofer's view of the host: a new mount namespace whose root is
/// a tmpfs (set up at `staging`) holding export N at `/N`, then one confined
/// server per export.
fn confine(staging: &Path, exports: &[ExportArg]) -> anyhow::Result<Vec<::gofer::LocalServer>> {
    unshare(CloneFlags::CLONE_NEWNS).context("unshare(CLONE_NEWNS)")?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("making the mount namespace private")?;
    // Open every source in the new namespace (a bind mount's source must be
    // one of the caller's mounts), before the staging tmpfs hides anything.
    let sources = exports
        .iter()
        .map(|e| open_path(&e.export.source).with_context(|| format!("opening {}", e.export.source.display())))
        .collect::<anyhow::Result<Vec<OwnedFd>>>()?;
    mount(
        Some("runsc-gofer"),
        staging,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0755,size=64k"),
    )
    .with_context(|| format!("mounting a tmpfs on {}", staging.display()))?;
    for (i, (e, source)) in exports.iter().zip(&sources).enumerate() {
        let dir = staging.join(i.to_string());
        bind_export(&e.export, source, &dir).with_context(|| format!("exporting {}", e.export.source.display()))?;
    }
    drop(sources);
    mount(
        None::<&str>,
        staging,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .context("making the gofer's root read-only")?;
    crate::confine::pivot_into(staging)?;
    exports
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let root = PathBuf::from(format!("/{i}"));
            ::gofer::LocalServer::new(&root, e.export.read_only)
                .with_context(|| format!("serving {}", e.export.source.display()))
        })
        .collect()
}

/// Mounts `source` (an O_PATH fd) at `dir`, or at `dir/file` for a file.
fn bind_export(export: &Export, source: &OwnedFd, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(dir).context("mkdir")?;
    let target = if export.file {
        let file = dir.join(::gofer::SINGLE_FILE_NAME);
        File::create(&file).context("creating the mount point")?;
        file
    } else {
        dir.to_path_buf()
    };
    let proc_path = format!("/proc/self/fd/{}", source.as_raw_fd());
    let mut flags = MsFlags::MS_BIND;
    if export.recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(proc_path.as_str()), &target, None::<&str>, flags, None::<&str>).context("bind mount")?;
    if export.read_only {
        make_read_only(&target, export.recursive)?;
    }
    Ok(())
}

/// Makes the bind mount at `target` (and with `recursive` every mount below
/// it) read-only.
#[allow(unsafe_code)]
fn make_read_only(target: &Path, recursive: bool) -> anyhow::Result<()> {
    if recursive {
        // struct mount_attr of mount_setattr(2).
        #[repr(C)]
        struct MountAttr {
            attr_set: u64,
            attr_clr: u64,
            propagation: u64,
            userns_fd: u64,
        }
        const MOUNT_ATTR_RDONLY: u64 = 1;
        const AT_RECURSIVE: libc::c_int = 0x8000;
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        let path = CString::new(target.as_os_str().as_bytes()).context("mount point path")?;
        // SAFETY: a valid C string and a mount_attr of the size we pass.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                path.as_ptr(),
                AT_RECURSIVE,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        if rc == 0 {
            return Ok(());
        }
        tracing::debug!(
            "mount_setattr: {}; only the top mount is made read-only",
            std::io::Error::last_os_error()
        );
    }
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .context("remounting read-only")
}

fn open_path(path: &Path) -> std::io::Result<OwnedFd> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)?;
    Ok(file.into())
}

/// Starts a gofer for `exports` (the rootfs first); returns the Sentry's end
/// of each export's connection, in order, once the gofer is confined.
pub fn spawn(exports: &[Export]) -> anyhow::Result<Vec<OwnedFd>> {
    Ok(spawn_process(exports)?.conns)
}

/// A started gofer.
pub struct Gofer {
    /// Its host pid.
    pub pid: i32,
    /// The Sentry's end of each export's connection, in order.
    pub conns: Vec<OwnedFd>,
}

/// [`spawn`], also telling the gofer's pid.
#[allow(unsafe_code)]
pub fn spawn_process(exports: &[Export]) -> anyhow::Result<Gofer> {
    let staging = tempfile::Builder::new()
        .prefix("runsc-gofer-")
        .tempdir()
        .context("creating the gofer's staging directory")?;
    let mut sentry_ends = Vec::new();
    let mut gofer_ends = Vec::new();
    let mut args = Vec::new();
    for (i, export) in exports.iter().enumerate() {
        let (sentry_end, gofer_end) = UnixStream::pair().context("socketpair for the gofer")?;
        sentry_ends.push(OwnedFd::from(sentry_end));
        gofer_ends.push(OwnedFd::from(gofer_end));
        args.push(ExportArg {
            fd: FIRST_FD + i as RawFd,
            export: export.clone(),
        });
    }
    let (mut ready_read, ready_write) = std::io::pipe().context("readiness pipe")?;
    let ready_fd = FIRST_FD + exports.len() as RawFd;

    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("runsc")
        .arg("gofer")
        .arg("--staging")
        .arg(staging.path())
        .arg("--ready-fd")
        .arg(ready_fd.to_string())
        .arg("--exports")
        .arg(serde_json::to_string(&args).context("encoding the exports")?)
        .stdin(std::process::Stdio::null());
    let mut inherited: Vec<RawFd> = gofer_ends.iter().map(|fd| fd.as_raw_fd()).collect();
    inherited.push(ready_write.as_raw_fd());
    // SAFETY: between fork and exec the closure only calls dup2 and fcntl,
    // which are async-signal-safe, on fds that stay open in the parent.
    unsafe {
        cmd.pre_exec(move || place_fds(&inherited, FIRST_FD));
    }
    let child = cmd.spawn().context("starting runsc gofer")?;
    drop(gofer_ends);
    drop(ready_write);
    let mut answer = String::new();
    ready_read
        .read_to_string(&mut answer)
        .context("waiting for the gofer")?;
    if answer != "ok" {
        bail!(
            "runsc gofer: {}",
            if answer.is_empty() {
                "exited during set-up"
            } else {
                &answer
            }
        );
    }
    // The gofer no longer sees the staging directory (its root moved away
    // from it); removing it leaves nothing behind on the host.
    drop(staging);
    tracing::debug!(pid = child.id(), exports = ?exports, "gofer started");
    // The gofer is reaped by whoever outlives it; it exits when we close
    // our ends or die.
    Ok(Gofer {
        pid: i32::try_from(child.id()).context("gofer pid out of range")?,
        conns: sentry_ends,
    })
}

/// In the child before exec: moves `fds[i]` to `first + i`, without
/// O_CLOEXEC. The targets may collide with sources, so everything is first
/// copied (close-on-exec) above both. Allocation-free: this runs between
/// fork and exec.
#[allow(unsafe_code)]
fn place_fds(fds: &[RawFd], first: RawFd) -> std::io::Result<()> {
    let n = fds.len() as RawFd;
    let base = fds.iter().copied().fold(first + n, RawFd::max) + 1;
    for (i, &fd) in fds.iter().enumerate() {
        // SAFETY: dup3 between fds of this process.
        if unsafe { libc::dup3(fd, base + i as RawFd, libc::O_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    for i in 0..n {
        // SAFETY: dup2 between fds of this process; the copy has no O_CLOEXEC.
        if unsafe { libc::dup2(base + i, first + i) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
