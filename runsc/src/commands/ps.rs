//! `runsc ps`: the processes inside a container, from the sandbox itself
//! (runc lists host processes; here they live in the Sentry). `--format
//! json` prints host pids, as runc does: the sandbox's own processes.

use anyhow::bail;

use crate::cli::{GlobalOpts, PsArgs};
use crate::control;
use crate::state::{ContainerDir, Root, Status};

pub fn main(global: &GlobalOpts, args: &PsArgs) -> anyhow::Result<i32> {
    let root = Root::new(&global.root);
    let dir = root.open(&args.id)?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        bail!("container {:?} is not running", args.id);
    }
    let target = crate::pod::target(&root, &dir)?;
    match args.format.as_str() {
        // runc prints the host pids of the container's cgroup, and its
        // clients treat them as host pids (`docker top` looks them up in
        // the host's `ps`): here those are the sandbox's processes.
        "json" => println!("{}", serde_json::to_string(&host_pids(&dir, state.pid))?),
        "table" => {
            if dir.status(&state) == Status::Paused {
                bail!("container {:?} is paused: its processes cannot be listed", args.id);
            }
            let procs = control::processes(&target.control, target.container.as_deref())?;
            println!("{:<8} {:<8} {:<8} CMD", "UID", "PID", "PPID");
            for p in &procs {
                println!("{:<8} {:<8} {:<8} {}", p.uid, p.pid, p.ppid, p.cmd);
            }
        }
        other => bail!("invalid format {other:?} (table or json)"),
    }
    Ok(0)
}

/// The host processes of the sandbox (its cgroup's), or at least the
/// sandbox process itself when the cgroup cannot be read.
fn host_pids(dir: &ContainerDir, sandbox_pid: i32) -> Vec<i32> {
    let listed = dir.cgroup().map(|rel| crate::cgroup::procs(&rel));
    match listed {
        Some(Ok(pids)) if !pids.is_empty() => pids,
        other => {
            if let Some(Err(e)) = other {
                tracing::debug!("listing the sandbox's cgroup: {e:#}");
            }
            vec![sandbox_pid]
        }
    }
}
