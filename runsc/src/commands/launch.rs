//! Starting the sandbox process (`runsc boot`) for `create` and `run`, and
//! waiting until it has loaded the container's init process.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::{anyhow, Context};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::stat::Mode;

use crate::cli::GlobalOpts;
use crate::console;
use crate::report::{BootFailure, Report, StatusReader};
use crate::spec::Bundle;
use crate::state::{self, ContainerDir};

/// A sandbox process that has loaded the init process and now waits for
/// `start`.
pub struct Launched {
    pub child: Child,
    pub pid: i32,
    pub start_time: u64,
    /// Further reports (a failure while running) arrive here.
    pub status: StatusReader,
}

impl Launched {
    /// Kills the sandbox process and reaps it.
    pub fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `runsc boot` for the container in `dir` and waits for its report.
/// With a console socket (the caller has checked process.terminal), the
/// guest's stdio is a new pty; otherwise it is our own stdio. Our fds
/// 3 .. 3+`preserve_fds`-1 become the init's ([`crate::preserve`]).
pub fn launch(
    global: &GlobalOpts,
    dir: &ContainerDir,
    bundle: &Bundle,
    console_socket: Option<&Path>,
    preserve_fds: u32,
) -> anyhow::Result<Launched> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(global.to_args().context("resolving paths")?)
        .arg("boot")
        .arg("--bundle")
        .arg(&bundle.dir);
    if preserve_fds > 0 {
        crate::preserve::inherit(preserve_fds)?;
        cmd.arg("--preserve-fds").arg(preserve_fds.to_string());
    }
    // The sandbox process is the init of a new pid namespace: its stubs and
    // its gofer live in it, and die with it.
    let launched = start_reporting(cmd, dir, bundle, console_socket, true);
    crate::preserve::stop_inheriting(preserve_fds);
    launched
}

/// Creates the exec fifo in `dir`, then starts `cmd` (a `runsc`
/// subcommand missing its `--status-fd N ID` tail), with the container's
/// stdio and the status pipe, and waits for its first report. With
/// `new_pid_ns` it is the init of a new pid namespace.
pub fn start_reporting(
    mut cmd: Command,
    dir: &ContainerDir,
    bundle: &Bundle,
    console_socket: Option<&Path>,
    new_pid_ns: bool,
) -> anyhow::Result<Launched> {
    let fifo = dir.fifo_path();
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600))
        .with_context(|| format!("creating {}", fifo.display()))?;

    let (status_r, status_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("creating the status pipe")?;
    // The child inherits the write end. We are single-threaded here, so no
    // other child can be spawned while it is inheritable.
    fcntl(status_w.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())).context("passing the status pipe")?;
    cmd.arg("--status-fd")
        .arg(status_w.as_raw_fd().to_string())
        .arg(&dir.id)
        .current_dir("/");
    if let Some(socket) = console_socket {
        let slave = console::open_and_send(socket, bundle.console_size())?;
        let (stdin, stdout) = (dup(&slave)?, dup(&slave)?);
        cmd.stdin(Stdio::from(stdin))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(slave));
    }
    // A sandbox process is the init of a new pid namespace: its stubs and
    // its gofer live in it, and die with it.
    if new_pid_ns {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).context("unshare(CLONE_NEWPID)")?;
    }
    let spawned = cmd.spawn().context("starting the sandbox process");
    // Children started later (the OCI hooks) belong in our own pid
    // namespace, not in the sandbox's.
    if new_pid_ns {
        restore_pid_namespace()?;
    }
    let mut child = spawned?;
    drop(status_w);
    // `cmd` holds the pty slave copies until it is dropped.
    drop(cmd);

    let pid = i32::try_from(child.id()).context("sandbox pid out of range")?;
    tracing::debug!(pid, "sandbox process started");
    let Some(start_time) = state::proc_info(pid).map(|p| p.start_time) else {
        reap(&mut child);
        return Err(anyhow!("sandbox process {pid} vanished right after it started"));
    };
    let mut status = StatusReader::new(status_r);
    match status.recv() {
        Ok(Some(Report::Ready)) => Ok(Launched {
            child,
            pid,
            start_time,
            status,
        }),
        Ok(Some(Report::Failed { message, exit_code })) => {
            reap(&mut child);
            Err(BootFailure::new(message, exit_code).into())
        }
        Ok(None) => {
            let how = reap(&mut child).map_or_else(|| "unknown status".into(), describe_exit);
            Err(anyhow!("sandbox process exited before it was ready ({how})"))
        }
        Err(e) => {
            let _ = child.kill();
            reap(&mut child);
            Err(anyhow!("reading the sandbox status: {e}"))
        }
    }
}

/// Points our pid_for_children back at our own pid namespace, which
/// `/proc/self/ns/pid` names (setns(2) allows the caller's own namespace).
fn restore_pid_namespace() -> anyhow::Result<()> {
    let own = std::fs::File::open("/proc/self/ns/pid").context("opening /proc/self/ns/pid")?;
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWPID).context("setns back to our own pid namespace")
}

fn dup(fd: &OwnedFd) -> anyhow::Result<OwnedFd> {
    fd.try_clone().context("duplicating the pty slave")
}

fn reap(child: &mut Child) -> Option<ExitStatus> {
    child.wait().ok()
}

/// `exit status 3` or `killed by signal 9`.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// The shell's exit code for a finished process: its code or 128 + signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(exit_code(status), 3);
        assert_eq!(describe_exit(status), "exit status 3");
        let status = Command::new("sh").args(["-c", "kill -9 $$"]).status().unwrap();
        assert_eq!(exit_code(status), 137);
        assert_eq!(describe_exit(status), "killed by signal 9");
    }
}
