//! `runsc kill`: signal a container's sandbox process (whose death ends the
//! container, as the init's would).

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, KillArgs};
use crate::signals::Sig;
use crate::state::{ContainerDir, Root, Status};

pub fn main(global: &GlobalOpts, args: &KillArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        // runc accepts `kill --all` of a stopped container (containerd sends
        // it while cleaning up); a plain kill is an error.
        if args.all {
            return Ok(0);
        }
        bail!("container {:?} is not running", args.id);
    }
    let paused = dir.status(&state) == Status::Paused;
    // A frozen sandbox cannot answer on its control socket; its processes
    // all die with it anyway.
    if args.all && !paused {
        signal_other_processes(&dir, args.signal);
    }
    tracing::debug!(id = %args.id, pid = state.pid, signo = args.signal.number(), "kill {}", args.signal);
    let sent = args.signal.send(state.pid);
    if paused && args.signal == Sig::KILL {
        // A frozen process acts on SIGKILL only once thawed (as runc does).
        if let Some(rel) = dir.cgroup() {
            crate::cgroup::set_frozen(&rel, false)?;
        }
    }
    match sent {
        Ok(()) => Ok(0),
        // It died between the status check and the signal.
        Err(nix::errno::Errno::ESRCH) if args.all => Ok(0),
        Err(nix::errno::Errno::ESRCH) => bail!("container {:?} is not running", args.id),
        Err(e) => Err(e).with_context(|| format!("sending {} to {:?}", args.signal, args.id)),
    }
}

/// `kill --all`: runc signals every process of the container, so the
/// processes `runsc exec` started get it too, not only the init (which the
/// sandbox process passes it to). Best effort: the sandbox may be ending.
fn signal_other_processes(dir: &ContainerDir, signal: Sig) {
    let control = dir.control_path();
    let procs = match crate::control::processes(&control) {
        Ok(procs) => procs,
        Err(e) => {
            tracing::debug!("listing the processes for kill --all: {e:#}");
            return;
        }
    };
    for p in procs.iter().filter(|p| p.pid != 1) {
        if let Err(e) = crate::control::signal(&control, p.pid, signal.number()) {
            tracing::debug!(pid = p.pid, "kill --all: {e:#}");
        }
    }
}
