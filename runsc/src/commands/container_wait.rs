//! An app container of a pod ([`crate::pod`]): `runsc create` starts the
//! hidden `runsc container-wait` instead of a sandbox. The helper
//!
//! 1. starts a gofer for the container's rootfs and bind mounts (on the
//!    host, confined as the sandbox's own; it dies with the helper);
//! 2. sends the sandbox an `add` request with the container's spec, its
//!    stdio and the gofer's connections, and records the init's pid in
//!    the sandbox ([`crate::pod::Membership`]);
//! 3. reports readiness to `create` and waits for `start` (a byte in
//!    `exec.fifo`, as the sandbox process does), which it passes on;
//! 4. passes the signals it gets on to the container's init and exits
//!    with the init's status (128 + N for signal N; 137 when the sandbox
//!    died under it).
//!
//! Its pid is the container's pid (the shim waits for it, as for a
//! detached exec's helper); should it die, the sandbox kills the
//! container's processes and the gofer dies with it.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::cli::{ContainerWaitArgs, GlobalOpts};
use crate::commands::exec::{block_forwarded_signals, spawn_forwarder};
use crate::commands::launch::{self, Launched};
use crate::control::{ExecConnection, ExecEvent};
use crate::pod::{self, AddRequest, Membership};
use crate::report::{BootFailure, Report, StatusWriter};
use crate::spec::{self, Bundle, RuntimeOptions};
use crate::state::{ContainerDir, Root, Status};

/// What the init of a container whose sandbox died reports: SIGKILL's.
const SANDBOX_GONE: i32 = 128 + libc::SIGKILL;

/// `create` of an app container: starts its helper, which joins the
/// sandbox container `sandbox`, and waits for its report. Our fds
/// 3 .. 3+`preserve_fds`-1 go along with the container's stdio.
pub fn join(
    global: &GlobalOpts,
    dir: &ContainerDir,
    bundle: &Bundle,
    sandbox: &str,
    console_socket: Option<&Path>,
    preserve_fds: u32,
) -> anyhow::Result<Launched> {
    check_sandbox(&Root::new(&global.root), sandbox)?;
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(global.to_args().context("resolving paths")?)
        .arg("container-wait")
        .arg("--bundle")
        .arg(&bundle.dir)
        .arg("--sandbox")
        .arg(sandbox);
    if preserve_fds > 0 {
        crate::preserve::inherit(preserve_fds)?;
        cmd.arg("--preserve-fds").arg(preserve_fds.to_string());
    }
    let launched = launch::start_reporting(cmd, dir, bundle, console_socket, false);
    crate::preserve::stop_inheriting(preserve_fds);
    launched
}

/// The sandbox must be a live sandbox container of this root.
fn check_sandbox(root: &Root, sandbox: &str) -> anyhow::Result<()> {
    let dir = root
        .open(sandbox)
        .with_context(|| format!("the pod's sandbox container {sandbox:?}"))?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        bail!("the pod's sandbox container {sandbox:?} is not running");
    }
    if pod::membership(&dir).is_some() {
        bail!("{sandbox:?} is an app container of a pod, not a sandbox");
    }
    Ok(())
}

/// A container added to its sandbox, loaded and waiting for `start`.
struct Joined {
    fifo: File,
    conn: ExecConnection,
    control: PathBuf,
    pid: i32,
}

/// `runsc container-wait`.
pub fn main(global: &GlobalOpts, args: &ContainerWaitArgs) -> anyhow::Result<i32> {
    // Owned and close-on-exec before anything else (the gofer must not
    // inherit them).
    let preserved = crate::preserve::take(args.preserve_fds)?;
    let mut status = StatusWriter::from_inherited_fd(args.status_fd)?;
    // Outlive `create` and leave its process group and session.
    if let Err(e) = nix::unistd::setsid() {
        tracing::debug!("setsid: {e}");
    }
    // Before any thread starts, so that only the forwarder receives them.
    block_forwarded_signals()?;
    let mut joined = match join_sandbox(global, args, preserved) {
        Ok(joined) => joined,
        Err(failure) => {
            tracing::error!("{failure}");
            if let Err(e) = status.send(&failure.report()) {
                tracing::debug!("reporting the failure: {e}");
            }
            return Ok(failure.exit_code);
        }
    };
    status.send(&Report::Ready).context("reporting readiness to create")?;
    drop(status);
    spawn_forwarder(joined.control.clone(), joined.pid);
    if wait_for_start(&mut joined)? {
        pod::send_start(&joined.conn)?;
        tracing::debug!(pid = joined.pid, "started");
    }
    Ok(exit_code(&mut joined.conn))
}

/// The init's exit code once the sandbox reports it.
fn exit_code(conn: &mut ExecConnection) -> i32 {
    loop {
        match conn.next_event() {
            Ok(ExecEvent::Started { .. }) => {}
            Ok(event) => {
                tracing::debug!("container's init ended: {event:?}");
                return event.exit_code().unwrap_or(1);
            }
            Err(e) => {
                tracing::debug!("the sandbox is gone: {e:#}");
                return SANDBOX_GONE;
            }
        }
    }
}

/// Blocks until `start` writes its byte (true) or the sandbox closes or
/// answers on the connection first (false: it died, or the container
/// ended before it started).
fn wait_for_start(joined: &mut Joined) -> anyhow::Result<bool> {
    loop {
        let mut fds = [
            PollFd::new(joined.fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(joined.conn.stream().as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for start"),
        }
        if fds[1].any().unwrap_or(false) {
            return Ok(false);
        }
        if fds[0].any().unwrap_or(false) {
            let mut byte = [0u8; 1];
            joined.fifo.read_exact(&mut byte).context("reading the exec fifo")?;
            return Ok(true);
        }
    }
}

/// Steps 1 and 2: the gofer, the `add` request, the membership record.
fn join_sandbox(global: &GlobalOpts, args: &ContainerWaitArgs, preserved: Vec<OwnedFd>) -> Result<Joined, BootFailure> {
    let fail = |e: anyhow::Error| BootFailure::new(format!("{e:#}"), 1);
    let root = Root::new(&global.root);
    let dir = root.open(&args.id).map_err(|e| fail(e.into()))?;
    let fifo_path = dir.fifo_path();
    // Read and write: a read then blocks until `start` writes (fifo(7)).
    let fifo = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo_path)
        .with_context(|| format!("opening {}", fifo_path.display()))
        .map_err(fail)?;
    let control = root.open(&args.sandbox).map_err(|e| fail(e.into()))?.control_path();
    let (request, fds, gofer) = prepare(global, args, preserved).map_err(fail)?;
    let mut conn = pod::add(&control, &request, &fds).map_err(fail)?;
    // The gofer's connections now live in the sandbox only.
    drop(fds);
    let pid = match conn.next_event().map_err(fail)? {
        ExecEvent::Started { pid } => pid,
        ExecEvent::Failed { message, exit_code } => return Err(BootFailure::new(message, exit_code)),
        other => return Err(BootFailure::new(format!("unexpected reply {other:?}"), 1)),
    };
    let membership = Membership {
        sandbox: args.sandbox.clone(),
        init_pid: pid,
        gofer: pod::HostProcess::of(gofer),
    };
    pod::record_membership(&dir, &membership).map_err(fail)?;
    tracing::debug!(pid, sandbox = %args.sandbox, "joined the sandbox");
    Ok(Joined {
        fifo,
        conn,
        control,
        pid,
    })
}

/// The `add` request and its fds: the container's stdio (ours, which we
/// then point at /dev/null), the connections of a new gofer, and the
/// `preserved` fds; the gofer's pid comes last.
fn prepare(
    global: &GlobalOpts,
    args: &ContainerWaitArgs,
    preserved: Vec<OwnedFd>,
) -> anyhow::Result<(AddRequest, Vec<OwnedFd>, i32)> {
    let bundle = spec::load(&args.bundle)?;
    let stdio = crate::boot::take_stdio().context("taking stdio")?;
    let opts = RuntimeOptions {
        platform: global.platform(),
        strace: global.strace,
    };
    let config = bundle.sentry_config(&args.id, &opts, stdio);
    let gofer = crate::gofer_proc::spawn_process(&crate::boot::gofer_exports(&config))?;
    let mut request = AddRequest::new(&args.id, &bundle.process, &config);
    request.preserve_fds = preserved.len();
    let mut fds: Vec<OwnedFd> = config.stdio.into();
    fds.extend(gofer.conns);
    if fds.len() + preserved.len() > pod::MAX_FDS {
        bail!(
            "too many fds for the sandbox: {} bind mounts and {} preserved (at most {} in all)",
            fds.len() - 4,
            preserved.len(),
            pod::MAX_FDS - 4
        );
    }
    fds.extend(preserved);
    Ok((request, fds, gofer.pid))
}
