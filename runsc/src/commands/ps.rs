//! `runsc ps`: the processes inside a container, from the sandbox itself
//! (runc lists host processes; here they live in the Sentry).

use anyhow::bail;

use crate::cli::{GlobalOpts, PsArgs};
use crate::control;
use crate::state::{Root, Status};

pub fn main(global: &GlobalOpts, args: &PsArgs) -> anyhow::Result<i32> {
    let root = Root::new(&global.root);
    let dir = root.open(&args.id)?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        bail!("container {:?} is not running", args.id);
    }
    let target = crate::pod::target(&root, &dir)?;
    let procs = control::processes(&target.control, target.container.as_deref())?;
    match args.format.as_str() {
        // runc prints the pids as a JSON array.
        "json" => println!(
            "{}",
            serde_json::to_string(&procs.iter().map(|p| p.pid).collect::<Vec<_>>())?
        ),
        "table" => {
            println!("{:<8} {:<8} {:<8} CMD", "UID", "PID", "PPID");
            for p in &procs {
                println!("{:<8} {:<8} {:<8} {}", p.uid, p.pid, p.ppid, p.cmd);
            }
        }
        other => bail!("invalid format {other:?} (table or json)"),
    }
    Ok(0)
}
