//! OCI lifecycle hooks (runtime-spec config.md, "POSIX-platform Hooks").
//!
//! Every hook runs on the host, in the namespaces of the `runsc` command
//! that reaches its point of the lifecycle (the caller's: containerd's
//! shim, conmon, or a shell), as gVisor runs them. The container's own
//! namespaces belong to the Sentry, a userspace kernel, where a host
//! binary cannot run; so `createContainer` and `startContainer`, which
//! runc runs inside the container, run on the host too.
//!
//! | kind | run by | state.status | a failure |
//! |---|---|---|---|
//! | prestart, createRuntime, createContainer | `create`, once the sandbox is loaded | creating | fails create, which kills the sandbox and removes its state |
//! | startContainer | `start`, before the init runs | created | fails start and kills the sandbox |
//! | poststart | `start`, after the init runs | running | logged |
//! | poststop | `delete`, after the state is removed | stopped | logged |
//!
//! Each hook gets the container's state JSON on stdin; `path` is executed
//! with `args` as its argv (argv[0] included) and `env` as its whole
//! environment (the caller's when unset, as runc does); `timeout` seconds
//! later it is killed and counts as failed.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

/// The hook kinds in lifecycle order, as the spec spells them.
pub const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Where the hooks of a container are kept between `create` and `delete`.
pub const FILE: &str = "hooks.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    /// The hooks run by `create`, in order.
    pub const CREATE: [Kind; 3] = [Kind::Prestart, Kind::CreateRuntime, Kind::CreateContainer];

    fn name(self) -> &'static str {
        KINDS[self as usize]
    }

    /// The OCI status the state on the hook's stdin reports.
    fn status(self) -> &'static str {
        match self {
            Kind::Prestart | Kind::CreateRuntime | Kind::CreateContainer => "creating",
            Kind::StartContainer => "created",
            Kind::Poststart => "running",
            Kind::Poststop => "stopped",
        }
    }

    #[allow(deprecated)]
    fn of(self, hooks: &Hooks) -> &[Hook] {
        let list = match self {
            Kind::Prestart => hooks.prestart(),
            Kind::CreateRuntime => hooks.create_runtime(),
            Kind::CreateContainer => hooks.create_container(),
            Kind::StartContainer => hooks.start_container(),
            Kind::Poststart => hooks.poststart(),
            Kind::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or(&[])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook #{index} ({path}): {reason}")]
    Failed {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        reason: String,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Saves the spec's hooks in the container's state directory (nothing when
/// there are none), so that `start` and `delete` find them.
pub fn save(state_dir: &Path, hooks: Option<&Hooks>) -> Result<(), HookError> {
    let Some(hooks) = hooks else { return Ok(()) };
    let path = state_dir.join(FILE);
    let json = serde_json::to_vec(hooks).map_err(|e| HookError::Io {
        op: "encoding",
        path: path.clone(),
        source: e.into(),
    })?;
    std::fs::write(&path, json).map_err(|source| HookError::Io {
        op: "writing",
        path,
        source,
    })
}

/// The hooks saved by [`save`]; none when there were none.
pub fn load(state_dir: &Path) -> Result<Option<Hooks>, HookError> {
    let path = state_dir.join(FILE);
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HookError::Io {
                op: "reading",
                path,
                source,
            })
        }
    };
    serde_json::from_slice(&data).map(Some).map_err(|e| HookError::Io {
        op: "parsing",
        path,
        source: e.into(),
    })
}

/// Runs the hooks of `kind` in order, each given `state` (an OCI state
/// document, whose status is set for `kind`); stops at the first failure.
pub fn run(hooks: Option<&Hooks>, kind: Kind, state: &impl serde::Serialize) -> Result<(), HookError> {
    let Some(hooks) = hooks else { return Ok(()) };
    let list = kind.of(hooks);
    if list.is_empty() {
        return Ok(());
    }
    let mut state = serde_json::to_value(state).map_err(|e| HookError::Io {
        op: "encoding",
        path: "state".into(),
        source: e.into(),
    })?;
    state["status"] = kind.status().into();
    let stdin = state.to_string();
    for (index, hook) in list.iter().enumerate() {
        tracing::debug!(kind = kind.name(), index, path = %hook.path().display(), "running hook");
        run_one(hook, &stdin).map_err(|reason| HookError::Failed {
            kind: kind.name(),
            index,
            path: hook.path().clone(),
            reason,
        })?;
    }
    Ok(())
}

/// Runs the hooks of `kind` and only logs a failure (poststart, poststop).
pub fn run_logged(hooks: Option<&Hooks>, kind: Kind, state: &impl serde::Serialize) {
    if let Err(e) = run(hooks, kind, state) {
        tracing::warn!("{e}");
    }
}

/// Runs one hook to completion; the error says why it failed, with what it
/// wrote to stdout and stderr.
fn run_one(hook: &Hook, stdin: &str) -> Result<(), String> {
    if !hook.path().is_absolute() {
        return Err("the path is not absolute".into());
    }
    let timeout = match hook.timeout() {
        Some(secs) if secs <= 0 => return Err(format!("timeout {secs} is not positive")),
        Some(secs) => Some(Duration::from_secs(secs.unsigned_abs())),
        None => None,
    };
    // Output goes to unnamed files, not pipes: a hook's background child
    // that keeps them open cannot make us wait.
    let mut stdout = tempfile::tempfile().map_err(|e| format!("creating its stdout: {e}"))?;
    let mut stderr = tempfile::tempfile().map_err(|e| format!("creating its stderr: {e}"))?;
    let mut cmd = Command::new(hook.path());
    let args = hook.args().as_deref().unwrap_or(&[]);
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    if let Some(env) = hook.env() {
        cmd.env_clear();
        for kv in env {
            let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
            cmd.env(key, value);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(clone(&stdout)?)
        .stderr(clone(&stderr)?);
    let mut child = cmd.spawn().map_err(|e| format!("starting it: {e}"))?;
    if let Some(mut pipe) = child.stdin.take() {
        // A hook may exit without reading its stdin (EPIPE).
        let _ = pipe.write_all(stdin.as_bytes());
    }
    let status = wait(&mut child, timeout)?;
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    };
    Err(format!(
        "{how}, stdout: {:?}, stderr: {:?}",
        read_all(&mut stdout),
        read_all(&mut stderr)
    ))
}

fn clone(file: &File) -> Result<File, String> {
    file.try_clone().map_err(|e| format!("duplicating an output file: {e}"))
}

fn wait(child: &mut std::process::Child, timeout: Option<Duration>) -> Result<std::process::ExitStatus, String> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("waiting for it: {e}"))? {
            return Ok(status);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", timeout.unwrap_or_default().as_secs()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// What the hook wrote, trimmed, at most 4 KiB.
fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(4096).read_to_string(&mut text);
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{HookBuilder, HooksBuilder};

    fn sh(script: &str) -> Hook {
        HookBuilder::default()
            .path("/bin/sh")
            .args(vec!["sh".to_string(), "-c".to_string(), script.to_string()])
            .build()
            .unwrap()
    }

    fn state() -> serde_json::Value {
        serde_json::json!({"ociVersion": "1.0.2", "id": "c1", "status": "created", "pid": 42, "bundle": "/b"})
    }

    #[test]
    fn hooks_get_the_state_args_and_env_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = out.display();
        let mut with_env = sh(&format!("echo \"$0 $ONLY ${{HOME:-nohome}}\" >> {o}"));
        with_env.set_env(Some(vec!["ONLY=x".into()]));
        let hooks = HooksBuilder::default()
            .create_runtime(vec![sh(&format!("cat >> {o}; echo >> {o}")), with_env])
            .poststop(vec![sh(&format!("echo poststop >> {o}"))])
            .build()
            .unwrap();
        run(Some(&hooks), Kind::CreateRuntime, &state()).unwrap();
        // No hooks of a kind, or none at all: nothing to do.
        run(Some(&hooks), Kind::StartContainer, &state()).unwrap();
        run(None, Kind::Poststop, &state()).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let got: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(got["status"], "creating");
        assert_eq!((got["id"].as_str(), got["pid"].as_i64()), (Some("c1"), Some(42)));
        assert_eq!(lines.next(), Some("sh x nohome"));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn failures_name_the_hook_and_stop_the_list() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("second-ran");
        let hooks = HooksBuilder::default()
            .start_container(vec![
                sh("echo out; echo bad >&2; exit 3"),
                sh(&format!("touch {}", marker.display())),
            ])
            .build()
            .unwrap();
        let err = run(Some(&hooks), Kind::StartContainer, &state()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "startContainer hook #0 (/bin/sh): exit status 3, stdout: \"out\", stderr: \"bad\""
        );
        assert!(!marker.exists());
    }

    #[test]
    fn timeouts_and_bad_hooks() {
        let mut slow = sh("sleep 30");
        slow.set_timeout(Some(1));
        let hooks = HooksBuilder::default().poststart(vec![slow]).build().unwrap();
        let started = Instant::now();
        let err = run(Some(&hooks), Kind::Poststart, &state()).unwrap_err();
        assert!(err.to_string().ends_with("timed out after 1s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let relative = HookBuilder::default().path("true").build().unwrap();
        let missing = HookBuilder::default().path("/nonexistent/hook").build().unwrap();
        let mut zero = sh("true");
        zero.set_timeout(Some(0));
        for (hook, want) in [
            (relative, "not absolute"),
            (missing, "starting it"),
            (zero, "not positive"),
        ] {
            let hooks = HooksBuilder::default().poststop(vec![hook]).build().unwrap();
            let err = run(Some(&hooks), Kind::Poststop, &state()).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
        }
    }

    #[test]
    fn saved_hooks_come_back() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load(tmp.path()).unwrap().is_none());
        save(tmp.path(), None).unwrap();
        assert!(load(tmp.path()).unwrap().is_none());
        let hooks = HooksBuilder::default().poststop(vec![sh("true")]).build().unwrap();
        save(tmp.path(), Some(&hooks)).unwrap();
        assert_eq!(load(tmp.path()).unwrap(), Some(hooks));
    }
}
