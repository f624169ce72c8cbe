//! `runsc kill`: signal a container's sandbox process (whose death ends the
//! container, as the init's would).

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, KillArgs};
use crate::pod::Target;
use crate::signals::Sig;
use crate::state::{ContainerState, Root, Status};

pub fn main(global: &GlobalOpts, args: &KillArgs) -> anyhow::Result<i32> {
    let root = Root::new(&global.root);
    let dir = root.open(&args.id)?;
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
    let target = crate::pod::target(&root, &dir)?;
    // A frozen sandbox cannot answer on its control socket; its processes
    // all die with it anyway.
    if args.all && !paused {
        signal_other_processes(&target, args.signal);
    }
    if target.container.is_some() {
        return signal_pod_member(&target, &state, args);
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

/// An app container of a pod: the sandbox delivers the signal to the
/// container's init (SIGKILL and SIGSTOP too, which its waiting helper
/// could not pass on). Should the sandbox be gone, the helper gets it.
fn signal_pod_member(target: &Target, state: &ContainerState, args: &KillArgs) -> anyhow::Result<i32> {
    tracing::debug!(id = %args.id, pid = target.init_pid, signo = args.signal.number(), "kill {} in the pod", args.signal);
    match crate::control::signal(&target.control, target.init_pid, args.signal.number()) {
        Ok(true) => Ok(0),
        Ok(false) if args.all => Ok(0),
        Ok(false) => bail!("container {:?} is not running", args.id),
        Err(e) => {
            tracing::debug!("the sandbox is unreachable ({e:#}); signalling the container's helper");
            match args.signal.send(state.pid) {
                Ok(()) => Ok(0),
                Err(nix::errno::Errno::ESRCH) if args.all => Ok(0),
                Err(nix::errno::Errno::ESRCH) => bail!("container {:?} is not running", args.id),
                Err(e) => Err(e).with_context(|| format!("sending {} to {:?}", args.signal, args.id)),
            }
        }
    }
}

/// `kill --all`: runc signals every process of the container, so the
/// processes `runsc exec` started get it too, not only the init (which the
/// sandbox process passes it to). Best effort: the sandbox may be ending.
fn signal_other_processes(target: &Target, signal: Sig) {
    let control = &target.control;
    let procs = match crate::control::processes(control, target.container.as_deref()) {
        Ok(procs) => procs,
        Err(e) => {
            tracing::debug!("listing the processes for kill --all: {e:#}");
            return;
        }
    };
    for p in procs.iter().filter(|p| p.pid != target.init_pid) {
        if let Err(e) = crate::control::signal(control, p.pid, signal.number()) {
            tracing::debug!(pid = p.pid, "kill --all: {e:#}");
        }
    }
}
