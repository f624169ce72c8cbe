//! Pods: several containers in one sandbox.
//!
//! Kubernetes (containerd's CRI, CRI-O) creates a pod as a sandbox
//! container (the pause process) and then app containers whose annotations
//! name it. An app container created with `--root` holding its sandbox
//! does not get a Sentry of its own: `runsc create` starts a host helper
//! (`runsc container-wait`, [`crate::commands::container_wait`]) that
//! starts the container's gofer and asks the sandbox, over its control
//! socket, to add the container (an `add` request, below). The helper's
//! pid is the container's pid.
//!
//! This module holds what both sides need: which sandbox a spec asks to
//! join, the membership record in the container's state directory, where
//! requests about a container go, and the `add` request.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::control::{self, ExecConnection, ExecEvent};
use crate::state::{ContainerDir, ContainerState, Root};

/// containerd's CRI: `sandbox` for the pod's pause container, `container`
/// for its app containers.
pub const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
/// containerd's CRI: the id of the pod's sandbox container.
pub const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";
/// CRI-O's names for the same two.
const CRIO_CONTAINER_TYPE: &str = "io.kubernetes.cri-o.ContainerType";
const CRIO_SANDBOX_ID: &str = "io.kubernetes.cri-o.SandboxID";

/// The file in an app container's state directory naming its sandbox.
const MEMBERSHIP_FILE: &str = "sandbox.json";

/// The most fds one request may carry (Linux's SCM_MAX_FD): three stdio
/// fds, the rootfs gofer and the bind mounts' gofers.
pub const MAX_FDS: usize = 253;

/// The sandbox container that container `id`'s annotations ask it to join:
/// Some only for an app container (type `container`) naming another id.
pub fn sandbox_to_join(annotations: &BTreeMap<String, String>, id: &str) -> Option<String> {
    let get = |cri: &str, crio: &str| annotations.get(cri).or_else(|| annotations.get(crio));
    if get(CONTAINER_TYPE, CRIO_CONTAINER_TYPE).map(String::as_str) != Some("container") {
        return None;
    }
    get(SANDBOX_ID, CRIO_SANDBOX_ID)
        .filter(|sandbox| !sandbox.is_empty() && sandbox.as_str() != id)
        .cloned()
}

/// What an app container's state directory records about its place in the
/// sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The sandbox container's id (same `--root`).
    pub sandbox: String,
    /// The container's init inside the sandbox (the pid space is shared).
    pub init_pid: i32,
    /// The container's gofer on the host, which `delete` makes sure is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gofer: Option<HostProcess>,
}

/// A host process, told apart from a later one with its pid by its start
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostProcess {
    pub pid: i32,
    pub start_time: u64,
}

impl HostProcess {
    /// Process `pid` as it is now; None when it is gone.
    pub fn of(pid: i32) -> Option<HostProcess> {
        crate::state::proc_info(pid).map(|p| HostProcess {
            pid,
            start_time: p.start_time,
        })
    }
}

/// The membership recorded in `dir`; None for a container with a sandbox
/// of its own.
pub fn membership(dir: &ContainerDir) -> Option<Membership> {
    let text = std::fs::read(dir.path.join(MEMBERSHIP_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

pub fn record_membership(dir: &ContainerDir, membership: &Membership) -> anyhow::Result<()> {
    let path = dir.path.join(MEMBERSHIP_FILE);
    std::fs::write(&path, serde_json::to_vec(membership)?).with_context(|| format!("writing {}", path.display()))
}

/// Where the requests about one container go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The control socket of the sandbox the container runs in.
    pub control: PathBuf,
    /// The container's name inside that sandbox; None for the sandbox's
    /// first container.
    pub container: Option<String>,
    /// Its init's pid inside the sandbox.
    pub init_pid: i32,
}

/// The target of requests about the container in `dir` under `root`.
pub fn target(root: &Root, dir: &ContainerDir) -> anyhow::Result<Target> {
    match membership(dir) {
        None => Ok(Target {
            control: dir.control_path(),
            container: None,
            init_pid: 1,
        }),
        Some(m) => Ok(Target {
            control: root.open(&m.sandbox)?.control_path(),
            container: Some(dir.id.clone()),
            init_pid: m.init_pid,
        }),
    }
}

/// The app containers in `root` that joined sandbox `sandbox`.
pub fn members_of(root: &Root, sandbox: &str) -> Vec<(ContainerDir, Option<ContainerState>)> {
    let ids = root.ids().unwrap_or_default();
    ids.iter()
        .filter_map(|id| root.open(id).ok())
        .filter(|dir| membership(dir).is_some_and(|m| m.sandbox == sandbox))
        .map(|dir| {
            let state = dir.load().ok();
            (dir, state)
        })
        .collect()
}

/// One mount as the `add` request carries it (a [`sentry::MountConfig`]
/// with its host facts, such as whether a bind source is a file, already
/// found out on the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMount {
    pub destination: String,
    pub kind: WireKind,
    pub read_only: bool,
    pub nosuid: bool,
    pub noexec: bool,
    pub nodev: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireKind {
    Tmpfs {
        size: Option<u64>,
        mode: Option<u32>,
    },
    Bind {
        source: PathBuf,
        file: bool,
        recursive: bool,
    },
    Proc,
    Dev,
    Devpts,
    Sysfs,
}

impl From<&sentry::MountConfig> for WireMount {
    fn from(m: &sentry::MountConfig) -> Self {
        use sentry::MountKind as K;
        let kind = match &m.kind {
            K::Tmpfs { size, mode } => WireKind::Tmpfs {
                size: *size,
                mode: *mode,
            },
            K::Bind {
                source,
                file,
                recursive,
            } => WireKind::Bind {
                source: source.clone(),
                file: *file,
                recursive: *recursive,
            },
            K::Proc => WireKind::Proc,
            K::Dev => WireKind::Dev,
            K::Devpts => WireKind::Devpts,
            K::Sysfs => WireKind::Sysfs,
        };
        WireMount {
            destination: m.destination.clone(),
            kind,
            read_only: m.read_only,
            nosuid: m.nosuid,
            noexec: m.noexec,
            nodev: m.nodev,
        }
    }
}

impl From<WireMount> for sentry::MountConfig {
    fn from(m: WireMount) -> Self {
        use sentry::MountKind as K;
        let kind = match m.kind {
            WireKind::Tmpfs { size, mode } => K::Tmpfs { size, mode },
            WireKind::Bind {
                source,
                file,
                recursive,
            } => K::Bind {
                source,
                file,
                recursive,
            },
            WireKind::Proc => K::Proc,
            WireKind::Dev => K::Dev,
            WireKind::Devpts => K::Devpts,
            WireKind::Sysfs => K::Sysfs,
        };
        sentry::MountConfig {
            destination: m.destination,
            kind,
            read_only: m.read_only,
            nosuid: m.nosuid,
            noexec: m.noexec,
            nodev: m.nodev,
        }
    }
}

/// The `add` request: a container for the running sandbox. Its fds, in
/// order: stdin, stdout, stderr, the rootfs gofer's connection, one gofer
/// connection per bind mount in `mounts`, then the `preserve_fds` fds
/// that become the init's fds 3, 4, ... (`create --preserve-fds`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddRequest {
    pub id: String,
    /// The container's init process (the spec's `process`).
    pub process: oci_spec::runtime::Process,
    /// Shown in logs and errors only: the Sentry reaches it through the gofer.
    pub rootfs: PathBuf,
    pub root_readonly: bool,
    pub mounts: Vec<WireMount>,
    #[serde(default)]
    pub preserve_fds: usize,
}

impl AddRequest {
    /// The request for the container `config` describes (built on the host
    /// from its bundle).
    pub fn new(id: &str, process: &oci_spec::runtime::Process, config: &sentry::Config) -> AddRequest {
        AddRequest {
            id: id.to_string(),
            process: process.clone(),
            rootfs: config.rootfs.clone(),
            root_readonly: config.root_readonly,
            mounts: config.mounts.iter().map(WireMount::from).collect(),
            preserve_fds: 0,
        }
    }

    fn bind_count(&self) -> usize {
        self.mounts
            .iter()
            .filter(|m| matches!(m.kind, WireKind::Bind { .. }))
            .count()
    }

    /// The Sentry's configuration from the request and the fds that came
    /// with it.
    fn into_config(self, fds: Vec<OwnedFd>) -> anyhow::Result<sentry::ContainerConfig> {
        let (binds, preserved) = (self.bind_count(), self.preserve_fds);
        if fds.len() != 4 + binds + preserved {
            anyhow::bail!(
                "add needs {} fds (stdio, rootfs, {binds} binds, {preserved} preserved), got {}",
                4 + binds + preserved,
                fds.len()
            );
        }
        let mut fds = fds;
        let preserved_fds = fds.split_off(4 + binds);
        let mut fds = fds.into_iter();
        let mut next = || fds.next().context("missing fd");
        let stdio = [next()?, next()?, next()?];
        let gofer = next()?;
        let bind_gofers: Vec<OwnedFd> = fds.collect();
        let mut process = crate::spec::exec_config(&self.process, stdio)?;
        process.preserved_fds = preserved_fds;
        Ok(sentry::ContainerConfig {
            id: self.id,
            rootfs: self.rootfs,
            root_readonly: self.root_readonly,
            mounts: self.mounts.into_iter().map(sentry::MountConfig::from).collect(),
            gofer: Some(gofer),
            bind_gofers,
            process,
        })
    }
}

/// Sends an `add` request to the sandbox behind `control`; the connection
/// then carries the container's events (see [`answer_add`]).
pub fn add(control: &std::path::Path, request: &AddRequest, fds: &[OwnedFd]) -> anyhow::Result<ExecConnection> {
    let line = format!("add {}\n", serde_json::to_string(request)?);
    let conn = control::send_request(control, &line, fds).context("sending the add request")?;
    Ok(ExecConnection::from_stream(conn))
}

/// Lets the added container's init run (the client's one message after
/// its request).
pub fn send_start(conn: &ExecConnection) -> anyhow::Result<()> {
    let mut stream = conn.stream();
    stream.write_all(b"start\n").context("sending start")
}

/// The sandbox's side of `add`: builds and loads the container, replies
/// [`ExecEvent::Started`] (or [`ExecEvent::Failed`]), runs it when the
/// client sends `start`, and replies its init's exit. When the client
/// hangs up first (its helper died: `runsc delete`, or a SIGKILL), every
/// process of the container is killed and the container forgotten.
pub fn answer_add(
    mut conn: UnixStream,
    sandbox: &sentry::Signaller,
    body: &str,
    fds: Vec<OwnedFd>,
) -> anyhow::Result<()> {
    let request: AddRequest = match serde_json::from_str(body) {
        Ok(request) => request,
        Err(e) => return reply_failed(&mut conn, format!("parsing the add request: {e}"), 1),
    };
    let id = request.id.clone();
    let config = match request.into_config(fds) {
        Ok(config) => config,
        Err(e) => return reply_failed(&mut conn, format!("{e:#}"), 1),
    };
    tracing::debug!(id, args = ?config.process.args, mounts = config.mounts.len(), "adding a container");
    let pid = match sandbox.add_container(config) {
        Ok(pid) => pid,
        Err(e) => {
            let failure = crate::report::BootFailure::from_sentry(&e);
            return reply_failed(&mut conn, failure.message, failure.exit_code);
        }
    };
    // The client may be gone already; the process still has to be reaped.
    let _ = control::reply(&mut conn, &ExecEvent::Started { pid });
    follow_client(&conn, sandbox, &id);
    let event = match sandbox.wait_container(&id) {
        Some(status) => control::exit_event(status),
        None => ExecEvent::Failed {
            message: "the container vanished".into(),
            exit_code: 1,
        },
    };
    tracing::debug!(id, pid, ?event, "container's init ended");
    control::reply(&mut conn, &event)
}

fn reply_failed(conn: &mut UnixStream, message: String, exit_code: i32) -> anyhow::Result<()> {
    tracing::debug!("add failed: {message}");
    control::reply(conn, &ExecEvent::Failed { message, exit_code })
}

/// Reads the client's messages on a thread of its own: `start` lets the
/// init run; the end of the connection kills the container.
fn follow_client(conn: &UnixStream, sandbox: &sentry::Signaller, id: &str) {
    let Ok(watched) = conn.try_clone() else {
        sandbox.kill_container(id);
        return;
    };
    let (sandbox, id) = (sandbox.clone(), id.to_string());
    let spawned = std::thread::Builder::new().name("add-watch".into()).spawn(move || {
        let mut lines = BufReader::new(watched);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.trim() == "start" => {
                    tracing::debug!(id, "starting the container");
                    sandbox.start_container(&id);
                }
                Ok(_) => tracing::debug!(id, "ignored {line:?} from the add client"),
            }
        }
        tracing::debug!(id, "the add client is gone: killing the container");
        sandbox.kill_container(&id);
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot watch the add connection: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn which_sandbox_to_join() {
        let app = annotations(&[(CONTAINER_TYPE, "container"), (SANDBOX_ID, "pod1")]);
        assert_eq!(sandbox_to_join(&app, "app1").as_deref(), Some("pod1"));
        // The sandbox container itself, and plain containers, get their own.
        let sandbox = annotations(&[(CONTAINER_TYPE, "sandbox"), (SANDBOX_ID, "pod1")]);
        assert_eq!(sandbox_to_join(&sandbox, "pod1"), None);
        assert_eq!(sandbox_to_join(&BTreeMap::new(), "c"), None);
        assert_eq!(sandbox_to_join(&app, "pod1"), None);
        let no_id = annotations(&[(CONTAINER_TYPE, "container")]);
        assert_eq!(sandbox_to_join(&no_id, "app1"), None);
        let crio = annotations(&[(CRIO_CONTAINER_TYPE, "container"), (CRIO_SANDBOX_ID, "pod2")]);
        assert_eq!(sandbox_to_join(&crio, "app2").as_deref(), Some("pod2"));
    }

    #[test]
    fn membership_round_trip_and_target() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        let sandbox = root.create("pod").unwrap();
        let app = root.create("app").unwrap();
        let plain = root.create("plain").unwrap();
        let m = Membership {
            sandbox: "pod".into(),
            init_pid: 5,
            gofer: HostProcess::of(std::process::id() as i32),
        };
        assert!(m.gofer.is_some());
        record_membership(&app, &m).unwrap();
        assert_eq!(membership(&app), Some(m));
        assert_eq!(membership(&plain), None);
        let t = target(&root, &app).unwrap();
        assert_eq!(t.control, sandbox.control_path());
        assert_eq!(t.container.as_deref(), Some("app"));
        assert_eq!(t.init_pid, 5);
        let t = target(&root, &plain).unwrap();
        assert_eq!((t.control, t.container, t.init_pid), (plain.control_path(), None, 1));
        let members: Vec<String> = members_of(&root, "pod").into_iter().map(|(d, _)| d.id).collect();
        assert_eq!(members, ["app"]);
        assert!(members_of(&root, "plain").is_empty());
    }

    #[test]
    fn add_request_round_trip() {
        let mounts = vec![
            sentry::MountConfig {
                destination: "/data".into(),
                kind: sentry::MountKind::Bind {
                    source: "/host/data".into(),
                    file: false,
                    recursive: true,
                },
                read_only: true,
                nosuid: true,
                noexec: false,
                nodev: true,
            },
            sentry::MountConfig {
                destination: "/tmp".into(),
                kind: sentry::MountKind::Tmpfs {
                    size: Some(4096),
                    mode: Some(0o1777),
                },
                read_only: false,
                nosuid: false,
                noexec: false,
                nodev: false,
            },
        ];
        let wire: Vec<WireMount> = mounts.iter().map(WireMount::from).collect();
        let text = serde_json::to_string(&wire).unwrap();
        let back: Vec<sentry::MountConfig> = serde_json::from_str::<Vec<WireMount>>(&text)
            .unwrap()
            .into_iter()
            .map(sentry::MountConfig::from)
            .collect();
        assert_eq!(back, mounts);

        let request = AddRequest {
            id: "app".into(),
            process: serde_json::from_str(r#"{"args":["/bin/sh"],"cwd":"/","user":{"uid":0,"gid":0}}"#).unwrap(),
            rootfs: "/b/rootfs".into(),
            root_readonly: false,
            mounts: wire,
            preserve_fds: 0,
        };
        let null = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        // stdio + rootfs + one bind.
        let fds = (0..5).map(|_| null()).collect();
        let config = request.clone().into_config(fds).unwrap();
        assert_eq!(config.bind_gofers.len(), 1);
        assert!(config.gofer.is_some());
        assert_eq!(config.process.args, ["/bin/sh"]);
        assert!(config.process.preserved_fds.is_empty());
        let err = request
            .clone()
            .into_config((0..4).map(|_| null()).collect())
            .unwrap_err();
        assert!(err.to_string().contains("needs 5 fds"), "{err}");
        // Preserved fds come last.
        let with_two = AddRequest {
            preserve_fds: 2,
            ..request
        };
        let config = with_two.clone().into_config((0..7).map(|_| null()).collect()).unwrap();
        assert_eq!(config.bind_gofers.len(), 1);
        assert_eq!(config.process.preserved_fds.len(), 2);
        let err = with_two.into_config((0..5).map(|_| null()).collect()).unwrap_err();
        assert!(err.to_string().contains("needs 7 fds"), "{err}");
    }
}
