//! `runsc kill`: signal a container's sandbox process (whose death ends the
//! container, as the init's would).

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, KillArgs};
use crate::state::{Root, Status};

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
    tracing::debug!(id = %args.id, pid = state.pid, signo = args.signal.number(), "kill {}", args.signal);
    match args.signal.send(state.pid) {
        Ok(()) => Ok(0),
        // It died between the status check and the signal.
        Err(nix::errno::Errno::ESRCH) if args.all => Ok(0),
        Err(nix::errno::Errno::ESRCH) => bail!("container {:?} is not running", args.id),
        Err(e) => Err(e).with_context(|| format!("sending {} to {:?}", args.signal, args.id)),
    }
}
