//! `runsc delete`: remove a container's state, killing it first when that
//! is allowed.
//!
//! As in runc: a stopped container is just removed; a created one (never
//! started) is killed and removed; a running one needs `--force`. With
//! `--force` an unknown id is not an error, because containerd runs
//! `delete --force` after a plain `delete` during clean-up.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cli::{DeleteArgs, GlobalOpts};
use crate::hooks;
use crate::signals::Sig;
use crate::state::{ContainerState, Root, StateError, Status};

/// How long a SIGKILLed sandbox process may take to go away.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

pub fn main(global: &GlobalOpts, args: &DeleteArgs) -> anyhow::Result<i32> {
    let root = Root::new(&global.root);
    let dir = match root.open(&args.id) {
        Ok(dir) => dir,
        Err(StateError::NotExist(_)) if args.force => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let state = match dir.load() {
        Ok(state) => state,
        Err(StateError::NotExist(id)) => {
            // The leftovers of a create that never finished.
            dir.remove()?;
            if args.force {
                return Ok(0);
            }
            return Err(StateError::NotExist(id).into());
        }
        Err(e) => return Err(e.into()),
    };
    match dir.status(&state) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&state)?,
        Status::Running if args.force => kill_and_wait(&state)?,
        Status::Paused if args.force => {
            // A frozen process handles even SIGKILL only once thawed.
            Sig::KILL.send(state.pid).ok();
            if let Some(rel) = dir.cgroup() {
                crate::cgroup::set_frozen(&rel, false)?;
            }
            kill_and_wait(&state)?
        }
        status @ (Status::Running | Status::Paused) => bail!(
            "cannot delete container {:?} that is not stopped: {status} (use --force)",
            args.id
        ),
    }
    match crate::pod::membership(&dir) {
        None => remove_pod_members(&root, &args.id),
        Some(m) => stop_gofer(m.gofer)?,
    }
    let saved = hooks::load(&dir.path);
    dir.remove()?;
    tracing::info!(id = %args.id, "container deleted");
    match saved {
        Ok(saved) => hooks::run_logged(saved.as_ref(), hooks::Kind::Poststop, &state.oci(Status::Stopped)),
        Err(e) => tracing::warn!("poststop hooks: {e}"),
    }
    Ok(0)
}

/// The sandbox `sandbox` is gone: so are the app containers that joined
/// it. Their helpers (and with them their gofers) are made sure to be gone
/// and their state removed, so that nothing of the pod is left behind.
fn remove_pod_members(root: &Root, sandbox: &str) {
    for (dir, state) in crate::pod::members_of(root, sandbox) {
        let helper = state.map_or(Ok(()), |s| kill_and_wait(&s));
        let gofer = crate::pod::membership(&dir).map_or(Ok(()), |m| stop_gofer(m.gofer));
        if let Err(e) = helper.and(gofer) {
            tracing::warn!(id = %dir.id, "stopping a container of the pod: {e:#}");
            continue;
        }
        match dir.remove() {
            Ok(()) => tracing::info!(id = %dir.id, sandbox, "deleted with its sandbox"),
            Err(e) => tracing::warn!(id = %dir.id, "removing a container of the pod: {e}"),
        }
    }
}

/// SIGKILLs the sandbox process and waits until it is gone (or a zombie).
pub fn kill_and_wait(state: &ContainerState) -> anyhow::Result<()> {
    kill_process_and_wait(state.pid, state.start_time, "sandbox process")
}

/// An app container of a pod: its gofer dies with its helper (parent-death
/// signal); make sure it is gone before the state is.
fn stop_gofer(gofer: Option<crate::pod::HostProcess>) -> anyhow::Result<()> {
    match gofer {
        Some(g) => kill_process_and_wait(g.pid, g.start_time, "gofer"),
        None => Ok(()),
    }
}

/// SIGKILLs host process `pid` (if it is still the one that started at
/// `start_time`) and waits until it is gone (or a zombie).
fn kill_process_and_wait(pid: i32, start_time: u64, what: &str) -> anyhow::Result<()> {
    let alive = || crate::state::proc_info(pid).is_some_and(|p| !p.dead && p.start_time == start_time);
    if !alive() {
        return Ok(());
    }
    match Sig::KILL.send(pid) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => return Err(e).with_context(|| format!("killing {what} {pid}")),
    }
    wait_until(KILL_TIMEOUT, || !alive())
        .with_context(|| format!("{what} {pid} did not exit within {KILL_TIMEOUT:?} of SIGKILL"))
}

fn wait_until(timeout: Duration, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    while !done() {
        if Instant::now() >= deadline {
            bail!("timed out");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::proc_info;

    fn state_of(child: &std::process::Child) -> ContainerState {
        let pid = child.id() as i32;
        ContainerState {
            id: "c".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            pid,
            start_time: proc_info(pid).unwrap().start_time,
            created: String::new(),
            annotations: Default::default(),
        }
    }

    #[test]
    fn kills_and_sees_it_gone() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let state = state_of(&child);
        assert!(state.is_alive());
        // The child stays a zombie until we reap it: that counts as gone.
        kill_and_wait(&state).unwrap();
        assert!(!state.is_alive());
        child.wait().unwrap();
    }

    #[test]
    fn wait_until_times_out() {
        assert!(wait_until(Duration::from_millis(20), || false).is_err());
        assert!(wait_until(Duration::from_millis(20), || true).is_ok());
    }

    fn global(root: &std::path::Path) -> GlobalOpts {
        use clap::Parser;
        let argv = ["runsc", "--root", root.to_str().unwrap(), "list"];
        crate::cli::Cli::try_parse_from(argv).unwrap().global
    }

    fn args(id: &str, force: bool) -> DeleteArgs {
        DeleteArgs { force, id: id.into() }
    }

    #[test]
    fn delete_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let g = global(tmp.path());
        let root = Root::new(tmp.path());

        // Unknown: an error, except with --force.
        let err = main(&g, &args("nope", false)).unwrap_err();
        assert_eq!(err.to_string(), "container \"nope\" does not exist");
        assert_eq!(main(&g, &args("nope", true)).unwrap(), 0);

        // Running (alive, no fifo): refused without --force.
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let dir = root.create("c").unwrap();
        dir.save(&state_of(&child)).unwrap();
        let err = main(&g, &args("c", false)).unwrap_err();
        assert!(err.to_string().contains("not stopped"), "{err}");
        assert!(dir.path.exists());
        assert_eq!(main(&g, &args("c", true)).unwrap(), 0);
        assert!(!dir.path.exists());
        child.wait().unwrap();

        // Stopped: removed.
        let dir = root.create("s").unwrap();
        dir.save(&dead_state()).unwrap();
        assert_eq!(main(&g, &args("s", false)).unwrap(), 0);
        assert!(!dir.path.exists());

        // Half-created (no state.json): cleaned up, still reported missing.
        let dir = root.create("h").unwrap();
        assert!(main(&g, &args("h", false)).is_err());
        assert!(!dir.path.exists());
    }

    /// The state of a process that has already exited and been reaped.
    fn dead_state() -> ContainerState {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let state = state_of(&child);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!state.is_alive());
        state
    }
}
