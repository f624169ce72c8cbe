//! `runsc events`: the sandbox's resource usage from its cgroups, as runc's
//! JSON events (`{"type":"stats","id":...,"data":{...}}`), once with
//! `--stats` or every `--interval`; while streaming, an `{"type":"oom"}`
//! event whenever the kernel's OOM killer struck inside the sandbox. The
//! numbers cover the whole sandbox (Sentry, gofer and the guest's stubs),
//! which is what the container costs the host.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cli::{EventsArgs, GlobalOpts};
use crate::state::{Root, Status};
use crate::stats;

/// How often the OOM counter is checked between two stats events.
const OOM_POLL: Duration = Duration::from_millis(100);

pub fn main(global: &GlobalOpts, args: &EventsArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        bail!("container {:?} is not running", args.id);
    }
    let rel = dir
        .cgroup()
        .with_context(|| format!("container {:?} has no cgroup", args.id))?;
    if args.stats {
        emit("stats", &args.id, Some(stats::read(&rel)))?;
        return Ok(0);
    }
    let mut ooms = stats::oom_kills(&rel);
    let mut next_stats = Instant::now();
    loop {
        // Checked before the OOM counter, so that the kill that ended the
        // sandbox is still reported (its cgroup lives until `delete`).
        let stopped = dir.status(&state) == Status::Stopped;
        let now = stats::oom_kills(&rel);
        if now > ooms {
            emit("oom", &args.id, None)?;
        }
        ooms = now;
        if stopped {
            return Ok(0);
        }
        if Instant::now() >= next_stats {
            emit("stats", &args.id, Some(stats::read(&rel)))?;
            next_stats = Instant::now() + args.interval;
        }
        std::thread::sleep(OOM_POLL.min(args.interval));
    }
}

/// One event line on stdout (flushed, for a reader of a pipe).
fn emit(kind: &str, id: &str, data: Option<serde_json::Value>) -> anyhow::Result<()> {
    let mut event = serde_json::json!({ "type": kind, "id": id });
    if let Some(data) = data {
        event["data"] = data;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{event}").context("writing the event")?;
    out.flush().context("writing the event")
}
