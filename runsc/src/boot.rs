//! `runsc boot`: the sandbox process. `create` re-executes the runsc binary
//! as this hidden subcommand; its pid is the container's pid and its exit
//! status is the container init's.
//!
//! 1. take what it needs from the host as fds: the exec fifo, the control
//!    socket, stdio, and the gofer's connections (it starts the gofer);
//! 2. confine itself ([`crate::confine`]): namespaces, an empty root, no
//!    capabilities, the Sentry's seccomp filter;
//! 3. load the init process in a new [`sentry::Sandbox`] over the bundle;
//! 4. tell `create` over the inherited status pipe whether that worked;
//! 5. wait for `start`, which writes a byte into `exec.fifo`;
//! 6. run the sandbox and exit with the init's status.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};
use sentry::Sandbox;

use crate::cli::{BootArgs, GlobalOpts};
use crate::report::{BootFailure, Report, StatusWriter};
use crate::spec::{self, RuntimeOptions};
use crate::state::Root;

/// Runs the sandbox; returns the process exit code.
pub fn main(global: &GlobalOpts, args: &BootArgs) -> anyhow::Result<i32> {
    let mut status = StatusWriter::from_inherited_fd(args.status_fd)?;
    // Outlive `create` and leave its process group and session.
    if let Err(e) = nix::unistd::setsid() {
        tracing::debug!("setsid: {e}");
    }
    let dir = Root::new(&global.root).open(&args.id)?;
    let fifo_path = dir.fifo_path();
    // Read and write: a read then blocks until `start` writes, and opening
    // never waits (fifo(7)).
    let mut fifo = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo_path)
        .with_context(|| format!("opening {}", fifo_path.display()))?;
    let control = crate::control::bind(&dir.control_path())?;

    // Block the signals meant for the container before the Sentry starts
    // any thread, so that only the forwarder below ever receives them.
    let forwarded = forwarded_signals();
    forwarded.thread_block().context("blocking forwarded signals")?;
    let sandbox = match load(global, args) {
        Ok(sandbox) => sandbox,
        Err(failure) => {
            tracing::error!("{failure}");
            send(&mut status, &failure.report());
            return Ok(failure.exit_code);
        }
    };
    status.send(&Report::Ready).context("reporting readiness to create")?;

    spawn_forwarder(forwarded, sandbox.signaller());
    crate::control::serve(control, sandbox.signaller())?;
    tracing::debug!(fifo = %fifo_path.display(), "waiting for start");
    wait_for_start(&mut fifo).context("waiting for start")?;
    tracing::debug!("started");

    match sandbox.run() {
        Ok(exit) => {
            tracing::debug!(code = exit.code(), "init exited: {exit:?}");
            Ok(exit.code())
        }
        Err(err) => {
            let failure = BootFailure::from_sentry(&err);
            tracing::error!("running the sandbox: {failure}");
            // Whoever still listens (a foreground `run`) prints it.
            send(&mut status, &failure.report());
            Ok(failure.exit_code)
        }
    }
}

/// Every catchable signal except those the boot process itself depends on:
/// SIGCHLD (its stubs), SIGPIPE (ignored, so writes fail with EPIPE) and
/// the synchronous faults of a Sentry bug.
fn forwarded_signals() -> SigSet {
    let mut set = SigSet::all();
    for sig in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGCHLD,
        Signal::SIGPIPE,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGTRAP,
        Signal::SIGSYS,
    ] {
        set.remove(sig);
    }
    set
}

/// Delivers host signals sent to the sandbox (by `runsc kill`, the shim or
/// a terminal) to the container's init, as runc's init would get them.
fn spawn_forwarder(set: SigSet, signaller: sentry::Signaller) {
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        match set.wait() {
            Ok(sig) => {
                tracing::debug!("forwarding {sig} to the container init");
                if !signaller.send(sig as i32) {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("sigwait: {e}");
                return;
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the signal forwarder: {e}");
    }
}

fn send(status: &mut StatusWriter, report: &Report) {
    if let Err(e) = status.send(report) {
        // create may be gone already (EPIPE); the log has the message.
        tracing::debug!("sending {report:?}: {e}");
    }
}

fn load(global: &GlobalOpts, args: &BootArgs) -> Result<Sandbox, BootFailure> {
    let bundle = spec::load(&args.bundle).map_err(|e| BootFailure::new(e.to_string(), 1))?;
    join_cgroup(global, args, &bundle).map_err(|e| BootFailure::new(format!("{e:#}"), 1))?;
    let stdio = take_stdio().map_err(|e| BootFailure::new(format!("taking stdio: {e}"), 1))?;
    let opts = RuntimeOptions {
        platform: global.platform,
        strace: global.strace,
    };
    let mut config = bundle.sentry_config(&args.id, &opts, stdio);
    let exports = gofer_exports(&config);
    let mut conns = crate::gofer_proc::spawn(&exports)
        .map_err(|e| BootFailure::new(format!("{e:#}"), 1))?
        .into_iter();
    config.gofer = conns.next();
    config.bind_gofers = conns.collect();
    crate::confine::sentry(global.platform)
        .map_err(|e| BootFailure::new(format!("confining the sandbox: {e:#}"), 1))?;
    tracing::debug!(
        rootfs = %config.rootfs.display(),
        args = ?config.args,
        cwd = %config.cwd,
        "loading the sandbox"
    );
    Sandbox::new(config).map_err(|e| BootFailure::from_sentry(&e))
}

/// Creates the sandbox's cgroup with the spec's limits and moves this
/// process into it, before it starts the gofer or any stub; records the
/// path for `delete`. The guest's /proc/meminfo shows the memory limit.
fn join_cgroup(global: &GlobalOpts, args: &BootArgs, bundle: &spec::Bundle) -> anyhow::Result<()> {
    let rel = crate::cgroup::relative_path(&bundle.spec, &args.id);
    let dir = Root::new(&global.root).open(&args.id)?;
    std::fs::write(dir.cgroup_path(), rel.to_string_lossy().as_bytes()).context("recording the cgroup path")?;
    let limits = crate::cgroup::Limits::from_spec(&bundle.spec);
    crate::cgroup::create_and_join(&rel, &limits).context("joining the sandbox's cgroup")?;
    if let Some(bytes) = crate::cgroup::memory_limit(&limits) {
        sentry::set_memory_limit(bytes);
    }
    tracing::debug!(cgroup = %rel.display(), ?limits, "joined the cgroup");
    Ok(())
}

/// What the gofer serves: the rootfs (with the mounts below it, as runc's
/// rbind of the root), then every bind mount in order.
fn gofer_exports(config: &sentry::Config) -> Vec<crate::gofer_proc::Export> {
    let root = crate::gofer_proc::Export {
        source: config.rootfs.clone(),
        read_only: config.root_readonly,
        recursive: true,
        file: false,
    };
    let binds = config.mounts.iter().filter_map(|m| match &m.kind {
        sentry::MountKind::Bind {
            source,
            file,
            recursive,
        } => Some(crate::gofer_proc::Export {
            source: source.clone(),
            read_only: m.read_only,
            recursive: *recursive,
            file: *file,
        }),
        _ => None,
    });
    std::iter::once(root).chain(binds).collect()
}

/// Hands copies of fds 0-2 to the guest and points our own 0-2 at
/// /dev/null, so that once the guest closes its stdio nothing of ours keeps
/// the caller's pipes (or pty) open.
fn take_stdio() -> io::Result<[OwnedFd; 3]> {
    let stdio = [
        io::stdin().as_fd().try_clone_to_owned()?,
        io::stdout().as_fd().try_clone_to_owned()?,
        io::stderr().as_fd().try_clone_to_owned()?,
    ];
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for fd in 0..=2 {
        nix::unistd::dup2(null.as_raw_fd(), fd)?;
    }
    Ok(stdio)
}

/// Blocks until `start` writes its byte into the fifo.
fn wait_for_start(fifo: &mut File) -> io::Result<()> {
    use std::io::Read;
    let mut byte = [0u8; 1];
    fifo.read_exact(&mut byte)
}
