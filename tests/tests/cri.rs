//! The CRI path: containerd's CRI plugin driven over its gRPC API (CRI v1,
//! the `k8s-cri` client) with the runtime handlers `runsc` (our shim,
//! `io.containerd.runsc.v1`) and `runsc-runc-shim` (containerd's runc shim
//! with `BinaryName` = runsc), as a kubelet with a RuntimeClass would.
//! Pods use the host network (NamespaceMode NODE): no CNI needed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ContainerState, ContainerStatsRequest, ContainerStatusRequest,
    CreateContainerRequest, ExecSyncRequest, ImageSpec, LinuxContainerResources, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, Mount, NamespaceMode, NamespaceOption, PodSandboxConfig, PodSandboxMetadata,
    PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopContainerRequest, StopPodSandboxRequest, UpdateContainerResourcesRequest,
};
use runsc_tests::containerd::{Containerd, CRI_NAMESPACE, SHIM_TOOLS};
use runsc_tests::daemons::require_tools;
use runsc_tests::images::BUSYBOX_REF as BUSYBOX;
use runsc_tests::{run, unique_name};
use tonic::transport::{Channel, Endpoint, Uri};

const TIMEOUT: Duration = Duration::from_secs(60);

type Client = RuntimeServiceClient<Channel>;

fn start() -> Option<Containerd> {
    if !require_tools(&SHIM_TOOLS) {
        return None;
    }
    Some(Containerd::with_runsc_shim(CRI_NAMESPACE))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn connect(socket: PathBuf) -> Client {
    let channel = Endpoint::try_from("http://[::]:0")
        .expect("endpoint")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .expect("connecting to containerd's CRI socket");
    RuntimeServiceClient::new(channel)
}

/// A pod on the host network, its container logs under `log_dir`.
fn pod_config(name: &str, log_dir: &Path) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_string(),
            namespace: "default".into(),
            uid: unique_name("uid"),
            attempt: 0,
        }),
        // Must stay empty with the host's UTS namespace.
        hostname: String::new(),
        log_directory: log_dir.display().to_string(),
        linux: Some(LinuxPodSandboxConfig {
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NamespaceMode::Node as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_config(name: &str, command: &[&str], mounts: Vec<Mount>) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.to_string(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: BUSYBOX.to_string(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        log_path: format!("{name}.log"),
        mounts,
        ..Default::default()
    }
}

struct Pod {
    client: Client,
    id: String,
    config: PodSandboxConfig,
    log_dir: PathBuf,
}

impl Pod {
    async fn run(ctrd: &Containerd, handler: &str, name: &str) -> Pod {
        let mut client = connect(ctrd.socket()).await;
        let log_dir = ctrd.dir().join("logs").join(name);
        std::fs::create_dir_all(&log_dir).expect("log dir");
        let config = pod_config(name, &log_dir);
        let reply = client
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: handler.to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("RunPodSandbox ({handler}): {e}\n{}", ctrd.log()));
        Pod {
            client,
            id: reply.into_inner().pod_sandbox_id,
            config,
            log_dir,
        }
    }

    async fn create_and_start(&mut self, ctrd: &Containerd, config: ContainerConfig) -> String {
        let name = config.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        let id = self
            .client
            .create_container(CreateContainerRequest {
                pod_sandbox_id: self.id.clone(),
                config: Some(config),
                sandbox_config: Some(self.config.clone()),
            })
            .await
            .unwrap_or_else(|e| panic!("CreateContainer {name}: {e}\n{}", ctrd.log()))
            .into_inner()
            .container_id;
        self.client
            .start_container(StartContainerRequest {
                container_id: id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("StartContainer {name}: {e}\n{}", ctrd.log()));
        id
    }

    /// Polls ContainerStatus until the container has exited; its exit code.
    async fn wait_exited(&mut self, ctrd: &Containerd, id: &str) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let status = self
                .client
                .container_status(ContainerStatusRequest {
                    container_id: id.to_string(),
                    verbose: false,
                })
                .await
                .unwrap_or_else(|e| panic!("ContainerStatus: {e}\n{}", ctrd.log()))
                .into_inner()
                .status
                .expect("a status");
            if status.state == ContainerState::ContainerExited as i32 {
                return status.exit_code;
            }
            assert!(
                Instant::now() < deadline,
                "container {id} did not exit: {status:?}\n{}",
                ctrd.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages of a container's CRI log ("<ts> <stream> <P|F> <msg>").
    fn log_lines(&self, name: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.log_dir.join(format!("{name}.log"))).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut parts = l.splitn(4, ' ');
                let (_ts, stream, tag, msg) = (parts.next()?, parts.next()?, parts.next()?, parts.next().unwrap_or(""));
                (tag == "F").then(|| (stream.to_string(), msg.to_string()))
            })
            .collect()
    }

    async fn remove_container(&mut self, ctrd: &Containerd, id: &str) {
        self.client
            .stop_container(StopContainerRequest {
                container_id: id.to_string(),
                timeout: 2,
            })
            .await
            .unwrap_or_else(|e| panic!("StopContainer: {e}\n{}", ctrd.log()));
        self.client
            .remove_container(RemoveContainerRequest {
                container_id: id.to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("RemoveContainer: {e}\n{}", ctrd.log()));
    }

    async fn remove(mut self, ctrd: &Containerd) {
        self.client
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: self.id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("StopPodSandbox: {e}\n{}", ctrd.log()));
        self.client
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: self.id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("RemovePodSandbox: {e}\n{}", ctrd.log()));
    }
}

/// RunPodSandbox, a container that prints and exits (its CRI log), ExecSync
/// in a running one, then Stop/Remove of both and of the pod.
async fn lifecycle(ctrd: &Containerd, handler: &str) {
    let mut pod = Pod::run(ctrd, handler, &unique_name("life")).await;
    let status = pod
        .client
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.id.clone(),
            verbose: false,
        })
        .await
        .expect("PodSandboxStatus")
        .into_inner()
        .status
        .expect("pod status");
    assert_eq!(status.runtime_handler, handler);

    let hello = pod
        .create_and_start(ctrd, container_config("hello", &["sh", "-c", "echo hello"], Vec::new()))
        .await;
    assert_eq!(pod.wait_exited(ctrd, &hello).await, 0);
    assert_eq!(
        pod.log_lines("hello"),
        [("stdout".to_string(), "hello".to_string())],
        "{}",
        ctrd.log()
    );

    let sleeper = pod
        .create_and_start(ctrd, container_config("sleeper", &["sleep", "1000"], Vec::new()))
        .await;
    let exec = pod
        .client
        .exec_sync(ExecSyncRequest {
            container_id: sleeper.clone(),
            cmd: ["sh", "-c", "echo exec-ok; echo to-stderr >&2; exit 5"]
                .map(String::from)
                .to_vec(),
            timeout: 30,
        })
        .await
        .unwrap_or_else(|e| panic!("ExecSync: {e}\n{}", ctrd.log()))
        .into_inner();
    assert_eq!(String::from_utf8_lossy(&exec.stdout), "exec-ok\n");
    assert_eq!(String::from_utf8_lossy(&exec.stderr), "to-stderr\n");
    assert_eq!(exec.exit_code, 5);

    // ContainerStats: containerd decodes the shim's cgroup metrics.
    let stats = pod
        .client
        .container_stats(ContainerStatsRequest {
            container_id: sleeper.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("ContainerStats: {e}\n{}", ctrd.log()))
        .into_inner()
        .stats
        .expect("stats");
    let cpu = stats
        .cpu
        .as_ref()
        .and_then(|c| c.usage_core_nano_seconds)
        .map_or(0, |v| v.value);
    let working_set = stats.memory.and_then(|m| m.working_set_bytes).map_or(0, |v| v.value);
    assert!(working_set > 0, "memory working set {working_set}\n{}", ctrd.log());
    assert!(cpu > 0, "cpu usage {cpu}\n{}", ctrd.log());

    pod.remove_container(ctrd, &sleeper).await;
    pod.remove_container(ctrd, &hello).await;
    pod.remove(ctrd).await;
}

#[test]
fn pod_lifecycle_with_the_runsc_shim() {
    let Some(ctrd) = start() else {
        return;
    };
    runtime().block_on(lifecycle(&ctrd, "runsc"));
}

#[test]
fn pod_lifecycle_with_the_runc_shim_and_runsc_binary() {
    let Some(ctrd) = start() else {
        return;
    };
    runtime().block_on(lifecycle(&ctrd, "runsc-runc-shim"));
}

/// UpdateContainerResources of a running container: the shim's Update runs
/// `runsc update --resources FILE`, and the new memory limit shows in the
/// task's metrics.
///
/// Fails today: runsc refuses to update a container that joined its pod's
/// sandbox ("container ... has no cgroup": the pod shares the sandbox's
/// cgroup), with our shim and with runc's alike. Run it with
/// `cargo test --test cri -- --ignored`.
#[test]
#[ignore = "runsc update of a pod's app container: \"has no cgroup\""]
fn update_container_resources() {
    let Some(ctrd) = start() else {
        return;
    };
    runtime().block_on(async {
        let mut pod = Pod::run(&ctrd, "runsc", &unique_name("upd")).await;
        let sleeper = pod
            .create_and_start(&ctrd, container_config("sleeper", &["sleep", "1000"], Vec::new()))
            .await;
        let limit: i64 = 256 << 20;
        let updated = pod
            .client
            .update_container_resources(UpdateContainerResourcesRequest {
                container_id: sleeper.clone(),
                linux: Some(LinuxContainerResources {
                    memory_limit_in_bytes: limit,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await;
        let metrics = run(ctrd.ctr_command(["task", "metrics", &sleeper]), TIMEOUT);
        pod.remove_container(&ctrd, &sleeper).await;
        pod.remove(&ctrd).await;
        if let Err(e) = updated {
            panic!("UpdateContainerResources: {e}");
        }
        let shown = metrics
            .stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix("memory.limit_in_bytes").map(|v| v.trim().to_string()));
        assert_eq!(shown, Some(limit.to_string()), "{metrics}");
    });
}

/// Both containers of a pod see the same host directory (an emptyDir).
#[test]
fn pod_containers_share_a_volume() {
    let Some(ctrd) = start() else {
        return;
    };
    let shared = tempfile::tempdir().expect("volume dir");
    let volume = || {
        vec![Mount {
            container_path: "/shared".into(),
            host_path: shared.path().display().to_string(),
            readonly: false,
            ..Default::default()
        }]
    };
    runtime().block_on(async {
        let mut pod = Pod::run(&ctrd, "runsc", &unique_name("vol")).await;
        let writer = pod
            .create_and_start(
                &ctrd,
                container_config("writer", &["sh", "-c", "echo written-by-a > /shared/note"], volume()),
            )
            .await;
        assert_eq!(
            pod.wait_exited(&ctrd, &writer).await,
            0,
            "{:?}",
            pod.log_lines("writer")
        );
        let reader = pod
            .create_and_start(&ctrd, container_config("reader", &["cat", "/shared/note"], volume()))
            .await;
        // One shim serves the pod: the sandbox and both containers.
        assert_eq!(ctrd.shim_pids().len(), 1, "shims: {:?}", ctrd.shim_pids());
        assert_eq!(
            pod.wait_exited(&ctrd, &reader).await,
            0,
            "{:?}",
            pod.log_lines("reader")
        );
        assert_eq!(
            pod.log_lines("reader"),
            [("stdout".to_string(), "written-by-a".to_string())]
        );
        pod.remove_container(&ctrd, &reader).await;
        pod.remove_container(&ctrd, &writer).await;
        pod.remove(&ctrd).await;
    });
    assert_eq!(
        std::fs::read_to_string(shared.path().join("note")).unwrap_or_default(),
        "written-by-a\n"
    );
}

/// Two containers of a pod talk over the pod's loopback: A listens with
/// busybox `nc -l`, B connects to 127.0.0.1. Needs a network stack in the
/// sandbox (AF_INET) and both containers in one sandbox (or the host's
/// network, as here with NamespaceMode NODE).
/// (Passes with main's runsc of 2026-11-26, which has both; fails with a
/// runsc without AF_INET: `nc: socket: Address family not supported`.)
#[test]
fn pod_containers_talk_over_localhost() {
    let Some(ctrd) = start() else {
        return;
    };
    let port = (20000 + std::process::id() % 20000).to_string();
    runtime().block_on(async {
        let mut pod = Pod::run(&ctrd, "runsc", &unique_name("net")).await;
        let listen = format!("nc -l -p {port}");
        let listener = pod
            .create_and_start(&ctrd, container_config("listener", &["sh", "-c", &listen], Vec::new()))
            .await;
        let connect = format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo over-localhost | nc 127.0.0.1 {port} && exit 0; sleep 1; done; exit 1"
        );
        let client = pod
            .create_and_start(&ctrd, container_config("client", &["sh", "-c", &connect], Vec::new()))
            .await;
        let client_code = pod.wait_exited(&ctrd, &client).await;
        let listener_code = pod.wait_exited(&ctrd, &listener).await;
        let listener_log = pod.log_lines("listener");
        let client_log = pod.log_lines("client");
        pod.remove_container(&ctrd, &client).await;
        pod.remove_container(&ctrd, &listener).await;
        pod.remove(&ctrd).await;
        assert_eq!(
            (client_code, listener_code),
            (0, 0),
            "listener log {listener_log:?}, client log {client_log:?}"
        );
        assert!(
            listener_log.iter().any(|(_, msg)| msg == "over-localhost"),
            "listener log {listener_log:?}"
        );
    });
}
