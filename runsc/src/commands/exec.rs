//! `runsc exec`: a further process inside a running container's sandbox.
//!
//! The process is described as an OCI process (from `--process`, as
//! containerd's shim writes it, or from the container's own process with
//! the command line's changes, as runc does) and sent with its stdio (and
//! the fds `--preserve-fds` passes on) over the sandbox's control socket
//! ([`crate::control`]). The sandbox starts it
//! in the running Sentry kernel and reports its exit; `runsc exec` exits
//! with that status (128 + N for signal N), passing on the signals it gets.
//!
//! With `--detach` a small host helper (`runsc exec-wait`) holds the
//! connection instead: its pid goes to the pid file, so that whoever waits
//! for that pid (the shim) gets the exec'd process's status, and signals
//! sent to it reach the exec'd process. Should the helper die without
//! passing a signal on (SIGKILL), the sandbox kills the exec'd process.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::{SigSet, Signal};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process};

use crate::cli::{ExecArgs, ExecWaitArgs, GlobalOpts};
use crate::console;
use crate::control::{self, ExecConnection, ExecEvent};
use crate::report::BootFailure;
use crate::state::{Root, Status};

/// The signals a waiting `runsc exec` keeps for itself; every other
/// catchable one is passed on to the exec'd process, as runc does.
const KEPT: [Signal; 9] = [
    Signal::SIGCHLD,
    Signal::SIGPIPE,
    Signal::SIGURG,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

pub fn main(global: &GlobalOpts, args: &ExecArgs) -> anyhow::Result<i32> {
    let root = Root::new(&global.root);
    let dir = root.open(&args.id)?;
    let state = dir.load()?;
    match dir.status(&state) {
        Status::Stopped => bail!("cannot exec in a stopped container {:?}", args.id),
        // A frozen sandbox cannot answer (runc refuses too).
        Status::Paused => bail!("cannot exec in a paused container {:?}", args.id),
        Status::Created | Status::Running => {}
    }
    let process = match &args.process {
        Some(path) => load_process(path)?,
        None => {
            let bundle = crate::spec::load(&state.bundle)?;
            process_from_args(bundle.process, args)?
        }
    };
    let terminal = process.terminal().unwrap_or(false);
    console::check_terminal(terminal, args.detach, args.console_socket.is_some())?;
    let stdio = match &args.console_socket {
        Some(socket) => pty_stdio(socket, &process)?,
        None => own_stdio()?,
    };
    // A terminal exec in the foreground has our terminal relayed to it in
    // raw mode; it is given back as it was when we return.
    let _terminal = (terminal && !args.detach && args.console_socket.is_none())
        .then(console::SavedTerminal::of_stdin)
        .flatten();
    block_forwarded_signals()?;
    let target = crate::pod::target(&root, &dir)?;
    let preserved = crate::preserve::take(args.preserve_fds)?;
    let mut conn = control::exec(&target.control, target.container.as_deref(), &process, stdio, preserved)
        .with_context(|| format!("exec in container {:?}", args.id))?;
    let pid = match conn.next_event()? {
        ExecEvent::Started { pid } => pid,
        ExecEvent::Failed { message, exit_code } => return Err(BootFailure::new(message, exit_code).into()),
        other => bail!("unexpected reply {other:?}"),
    };
    tracing::debug!(pid, id = %args.id, "exec'd process started");
    if args.detach {
        let helper = spawn_waiter(global, &args.id, conn, pid)?;
        if let Some(path) = &args.pid_file {
            crate::commands::create::write_pid_file(path, helper)?;
        }
        return Ok(0);
    }
    if let Some(path) = &args.pid_file {
        crate::commands::create::write_pid_file(path, std::process::id() as i32)?;
    }
    wait_forwarding(&target.control, conn, pid)
}

/// `runsc exec-wait`: the detached exec's helper.
pub fn wait_main(global: &GlobalOpts, args: &ExecWaitArgs) -> anyhow::Result<i32> {
    // Outlive `runsc exec` and leave its session and terminal.
    if let Err(e) = nix::unistd::setsid() {
        tracing::debug!("setsid: {e}");
    }
    let root = Root::new(&global.root);
    let target = crate::pod::target(&root, &root.open(&args.id)?)?;
    block_forwarded_signals()?;
    let stream = take_inherited_socket(args.conn_fd)?;
    wait_forwarding(&target.control, ExecConnection::from_stream(stream), args.pid)
}

#[allow(unsafe_code)]
fn take_inherited_socket(fd: i32) -> anyhow::Result<UnixStream> {
    if fd < 3 {
        bail!("--conn-fd {fd} is a stdio fd");
    }
    // The fd must be open before we take ownership of it.
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).with_context(|| format!("--conn-fd {fd}"))?;
    // SAFETY: `runsc exec` passed us this fd for exactly this use; it is
    // open (checked above) and nothing else in this process refers to it.
    Ok(UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Reads an OCI process as containerd writes it for an exec.
fn load_process(path: &Path) -> anyhow::Result<Process> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// runc's exec without `--process`: the container's process with the
/// command line's command, environment, directory, user and capabilities.
fn process_from_args(mut process: Process, args: &ExecArgs) -> anyhow::Result<Process> {
    if args.command.is_empty() {
        bail!("exec needs a command (or --process)");
    }
    process.set_args(Some(args.command.clone()));
    process.set_terminal(Some(args.tty));
    process.set_console_size(None);
    let mut env = process.env().clone().unwrap_or_default();
    for kv in &args.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        process.set_cwd(cwd.into());
    }
    if let Some((uid, gid)) = args.user {
        process.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            process.user_mut().set_gid(gid);
        }
    }
    if !args.additional_gids.is_empty() {
        process
            .user_mut()
            .set_additional_gids(Some(args.additional_gids.clone()));
    }
    if args.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if !args.caps.is_empty() {
        let added = args
            .caps
            .iter()
            .map(|c| parse_cap(c))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let caps = add_caps(process.capabilities().clone().unwrap_or_default(), &added);
        process.set_capabilities(Some(caps));
    }
    Ok(process)
}

/// `CAP_KILL` or `KILL`, any case.
fn parse_cap(name: &str) -> anyhow::Result<Capability> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(full)).map_err(|_| anyhow!("unknown capability {name:?}"))
}

/// runc's `--cap`: the capability joins every set.
fn add_caps(mut caps: LinuxCapabilities, added: &[Capability]) -> LinuxCapabilities {
    let with = |set: &Option<Capabilities>| {
        let mut set = set.clone().unwrap_or_default();
        set.extend(added.iter().copied());
        Some(set)
    };
    let (b, e, p, i, a) = (
        with(caps.bounding()),
        with(caps.effective()),
        with(caps.permitted()),
        with(caps.inheritable()),
        with(caps.ambient()),
    );
    caps.set_bounding(b);
    caps.set_effective(e);
    caps.set_permitted(p);
    caps.set_inheritable(i);
    caps.set_ambient(a);
    caps
}

/// A new pty whose master goes to `socket` (as for create); its slave is
/// the process's stdio.
fn pty_stdio(socket: &Path, process: &Process) -> anyhow::Result<[OwnedFd; 3]> {
    let size = process.console_size().map(|b| {
        (
            u16::try_from(b.height()).unwrap_or(u16::MAX),
            u16::try_from(b.width()).unwrap_or(u16::MAX),
        )
    });
    let slave = console::open_and_send(socket, size)?;
    Ok([slave.try_clone()?, slave.try_clone()?, slave])
}

/// Our own stdin, stdout and stderr.
fn own_stdio() -> anyhow::Result<[OwnedFd; 3]> {
    Ok([
        std::io::stdin().as_fd().try_clone_to_owned()?,
        std::io::stdout().as_fd().try_clone_to_owned()?,
        std::io::stderr().as_fd().try_clone_to_owned()?,
    ])
}

/// Blocks the forwarded signals in this (still single) thread, so that
/// only the forwarding thread started later receives them.
pub fn block_forwarded_signals() -> anyhow::Result<()> {
    forwarded_set().thread_block().context("blocking signals")
}

fn forwarded_set() -> SigSet {
    let mut set = SigSet::all();
    for sig in KEPT.into_iter().chain([Signal::SIGKILL, Signal::SIGSTOP]) {
        set.remove(sig);
    }
    set
}

/// Starts `runsc exec-wait` holding `conn`, in a session of its own, with
/// its stdio on /dev/null; returns its pid.
fn spawn_waiter(global: &GlobalOpts, id: &str, conn: ExecConnection, pid: i32) -> anyhow::Result<i32> {
    let stream = conn.into_stream();
    // The helper inherits the connection. We are single-threaded here, so
    // no other child can be spawned while it is inheritable.
    fcntl(stream.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())).context("passing the exec connection")?;
    let child = Command::new("/proc/self/exe")
        .args(global.to_args().context("resolving paths")?)
        .arg("exec-wait")
        .arg("--conn-fd")
        .arg(stream.as_raw_fd().to_string())
        .arg("--pid")
        .arg(pid.to_string())
        .arg(id)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the exec helper")?;
    drop(stream);
    let helper = i32::try_from(child.id()).context("helper pid out of range")?;
    tracing::debug!(helper, pid, "exec helper started");
    Ok(helper)
}

/// Waits for the exec'd process `pid` to end, passing the signals we get
/// on to it; returns its exit code (128 + N for signal N).
fn wait_forwarding(control: &Path, mut conn: ExecConnection, pid: i32) -> anyhow::Result<i32> {
    spawn_forwarder(control.to_path_buf(), pid);
    loop {
        let event = conn.next_event()?;
        match event {
            ExecEvent::Failed { message, exit_code } => return Err(BootFailure::new(message, exit_code).into()),
            ExecEvent::Started { .. } => {}
            _ => {
                let code = event.exit_code().unwrap_or(1);
                tracing::debug!(pid, code, "exec'd process exited: {event:?}");
                return Ok(code);
            }
        }
    }
}

/// Passes the signals we get (blocked by [`block_forwarded_signals`]) on
/// to process `pid` of the sandbox behind `control`, from a thread.
pub fn spawn_forwarder(control: std::path::PathBuf, pid: i32) {
    let set = forwarded_set();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        match set.wait() {
            Ok(sig) => {
                tracing::debug!(pid, "forwarding {sig} to the exec'd process");
                match control::signal(&control, pid, sig as i32) {
                    Ok(true) => {}
                    Ok(false) => tracing::debug!("process {pid} is gone"),
                    Err(e) => tracing::debug!("forwarding {sig}: {e:#}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_process_json_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("process.json");
        std::fs::write(
            &path,
            r#"{"user":{"uid":0,"gid":0,"additionalGids":[10]},"args":["sh","-c","echo hi"],
               "env":["PATH=/bin","TERM=xterm"],"cwd":"/",
               "capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},
               "noNewPrivileges":true,"terminal":false}"#,
        )
        .unwrap();
        let p = load_process(&path).unwrap();
        assert_eq!(
            p.args().as_deref(),
            Some(&["sh".to_string(), "-c".into(), "echo hi".into()][..])
        );
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[10][..]));
        assert_eq!(p.no_new_privileges(), Some(true));
    }

    #[test]
    fn caps_parse_with_or_without_prefix() {
        assert_eq!(parse_cap("CAP_KILL").unwrap(), Capability::Kill);
        assert_eq!(parse_cap("net_admin").unwrap(), Capability::NetAdmin);
        assert!(parse_cap("CAP_NOPE").is_err());
        let caps = add_caps(LinuxCapabilities::default(), &[Capability::Kill]);
        assert!(caps.ambient().as_ref().unwrap().contains(&Capability::Kill));
        assert!(caps.bounding().as_ref().unwrap().contains(&Capability::Kill));
    }
}
