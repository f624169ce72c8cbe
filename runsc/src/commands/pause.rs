//! `runsc pause` and `runsc resume`: freeze and thaw every process of the
//! sandbox (the Sentry, its gofer and the stubs that run guest code) with
//! the freezer cgroup, as runc freezes a container's cgroup. A frozen
//! sandbox runs no guest code and answers no control requests.

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, IdArgs};
use crate::state::{Root, Status};

pub fn pause(global: &GlobalOpts, args: &IdArgs) -> anyhow::Result<i32> {
    set(global, args, true)
}

pub fn resume(global: &GlobalOpts, args: &IdArgs) -> anyhow::Result<i32> {
    set(global, args, false)
}

fn set(global: &GlobalOpts, args: &IdArgs, frozen: bool) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    let status = dir.status(&state);
    match (status, frozen) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (Status::Paused, true) => bail!("container {:?} is already paused", args.id),
        (Status::Running, false) => bail!("container {:?} is not paused", args.id),
        (other, _) => bail!("container {:?} is not running: {other}", args.id),
    }
    let rel = dir
        .cgroup()
        .with_context(|| format!("container {:?} has no cgroup", args.id))?;
    crate::cgroup::set_frozen(&rel, frozen)?;
    tracing::info!(id = %args.id, "container {}", if frozen { "paused" } else { "resumed" });
    Ok(0)
}
