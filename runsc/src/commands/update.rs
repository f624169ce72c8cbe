//! `runsc update`: new resource limits for a running container, written into
//! the sandbox's cgroups. containerd's shim (`docker update`) sends the OCI
//! `linux.resources` object on stdin (`--resources -`). A new memory limit
//! also reaches the Sentry, so that the guest's /proc/meminfo shows it.

use std::io::Read;

use anyhow::{bail, Context};

use crate::cgroup::Limits;
use crate::cli::{GlobalOpts, UpdateArgs};
use crate::state::{Root, Status};

pub fn main(global: &GlobalOpts, args: &UpdateArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    if dir.status(&state) == Status::Stopped {
        bail!("container {:?} is not running", args.id);
    }
    let limits = requested(args)?;
    let rel = dir
        .cgroup()
        .with_context(|| format!("container {:?} has no cgroup", args.id))?;
    tracing::debug!(id = %args.id, ?limits, "update");
    crate::cgroup::update(&rel, &limits)?;
    if let Some(bytes) = crate::cgroup::memory_limit(&limits) {
        crate::control::set_memory_limit(&dir.control_path(), bytes)
            .with_context(|| format!("telling container {:?} its memory limit", args.id))?;
    }
    Ok(0)
}

/// The limits of `--resources` overridden by the single-value flags.
fn requested(args: &UpdateArgs) -> anyhow::Result<Limits> {
    let mut limits = match &args.resources {
        Some(path) => Limits::from_resources(&read_resources(path)?),
        None => Limits::default(),
    };
    limits.memory = args.memory.or(limits.memory);
    limits.cpu_shares = args.cpu_shares.or(limits.cpu_shares);
    limits.cpu_quota = args.cpu_quota.or(limits.cpu_quota);
    limits.cpu_period = args.cpu_period.or(limits.cpu_period);
    limits.pids = args.pids_limit.or(limits.pids);
    Ok(limits)
}

fn read_resources(path: &std::path::Path) -> anyhow::Result<oci_spec::runtime::LinuxResources> {
    let text = if path == std::path::Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading resources from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).context("parsing the resources JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_file_and_flags() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("r.json");
        // What containerd's shim sends for `docker update --memory 100m --cpu-shares 512`.
        std::fs::write(
            &file,
            r#"{"memory":{"limit":104857600,"swap":209715200},"cpu":{"shares":512,"quota":0,"period":0},"pids":{"limit":0},"blockIO":{}}"#,
        )
        .unwrap();
        let mut args = UpdateArgs {
            resources: Some(file),
            memory: None,
            cpu_shares: None,
            cpu_quota: None,
            cpu_period: None,
            pids_limit: Some(64),
            id: "c".into(),
        };
        let limits = requested(&args).unwrap();
        assert_eq!(limits.memory, Some(104_857_600));
        assert_eq!(limits.cpu_shares, Some(512));
        assert_eq!((limits.cpu_quota, limits.cpu_period), (None, None));
        assert_eq!(limits.pids, Some(64));
        args.memory = Some(1 << 20);
        assert_eq!(requested(&args).unwrap().memory, Some(1 << 20));
        std::fs::write(args.resources.as_ref().unwrap(), "{nope").unwrap();
        let err = requested(&args).unwrap_err();
        assert!(format!("{err:#}").contains("parsing the resources JSON"), "{err:#}");
    }
}
