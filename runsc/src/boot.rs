//! `runsc boot`: the sandbox process. `create` re-executes the runsc binary
//! as this hidden subcommand; its pid is the container's pid and its exit
//! status is the container init's.
//!
//! 1. take what it needs from the host as fds: the exec fifo, the control
//!    socket, stdio, the fds `--preserve-fds` passes on, and the gofer's
//!    connections (it starts the gofer);
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
    // Owned and close-on-exec before anything else, so that confinement's
    // sweep of inherited fds leaves them to the guest.
    let preserved = crate::preserve::take(args.preserve_fds)?;
    let mut status = StatusWriter::from_inherited_fd(args.status_fd)?;
    end_sandbox_on_panic(Some(status.try_clone().context("duplicating the status pipe")?));
    crate::testonly::read_env();
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
    let sandbox = match load(global, args, preserved) {
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

/// The exit status of a sandbox whose Sentry panicked: that of a process
/// killed by SIGABRT (128 + 6), as a C program's failed assertion ends.
const PANIC_EXIT_CODE: i32 = 128 + libc::SIGABRT;

/// Makes a panic on any thread end the whole sandbox at once: a Sentry
/// whose state a panicking thread left half-changed must not go on serving
/// guests (and a task thread that unwound would leave its guest hanging).
/// The panic is logged, reported on the status pipe if there is one (a
/// foreground `run` prints it and exits with [`PANIC_EXIT_CODE`]), else on
/// stderr (`runsc do`), and the process exits; as the init of the
/// sandbox's pid namespace `runsc boot` takes its gofer and stubs with it
/// (the gofer also exits when its connections close, the stubs have a
/// parent-death signal).
pub fn end_sandbox_on_panic(status: Option<StatusWriter>) {
    let status = std::sync::Mutex::new(status);
    std::panic::set_hook(Box::new(move |info| {
        let message = format!("the Sentry panicked: {info}");
        tracing::error!("{message}");
        // A second panic while the first reports waits for nothing.
        match status.try_lock().as_deref_mut() {
            Ok(Some(status)) => send(
                status,
                &Report::Failed {
                    message,
                    exit_code: PANIC_EXIT_CODE,
                },
            ),
            Ok(None) => eprintln!("runsc: {message}"),
            Err(_) => {}
        }
        exit_now(PANIC_EXIT_CODE);
    }));
}

/// Ends the process without running exit handlers or destructors, which
/// could wait for locks the other threads hold.
#[allow(unsafe_code)]
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) only ends the process.
    unsafe { libc::_exit(code) }
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

fn load(global: &GlobalOpts, args: &BootArgs, preserved: Vec<OwnedFd>) -> Result<Sandbox, BootFailure> {
    let bundle = spec::load(&args.bundle).map_err(|e| BootFailure::new(e.to_string(), 1))?;
    join_cgroup(global, args, &bundle).map_err(|e| BootFailure::new(format!("{e:#}"), 1))?;
    let stdio = take_stdio().map_err(|e| BootFailure::new(format!("taking stdio: {e}"), 1))?;
    let opts = RuntimeOptions {
        platform: global.platform(),
        strace: global.strace,
    };
    let mut config = bundle.sentry_config(&args.id, &opts, stdio);
    config.preserved_fds = preserved;
    let exports = gofer_exports(&config);
    let mut conns = crate::gofer_proc::spawn(&exports)
        .map_err(|e| BootFailure::new(format!("{e:#}"), 1))?
        .into_iter();
    config.gofer = conns.next();
    config.bind_gofers = conns.collect();
    let net = crate::network::prepare(global.network, bundle.netns_path().as_deref())
        .map_err(|e| BootFailure::new(format!("setting up the network: {e:#}"), 1))?;
    config.network = net.network;
    config.nics = net.nics;
    config.host_network = net.host;
    crate::confine::sentry(global.platform(), net.host)
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
pub fn gofer_exports(config: &sentry::Config) -> Vec<crate::gofer_proc::Export> {
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
pub fn take_stdio() -> io::Result<[OwnedFd; 3]> {
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
