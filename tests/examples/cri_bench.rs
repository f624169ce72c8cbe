//! Start-up cost through containerd, runsc against runc, in one run (see
//! bench/cri.sh, which builds and runs this):
//!
//! 1. `ctr run --rm` of busybox `true`: our shim (`io.containerd.runsc.v1`)
//!    against containerd's runc shim with runc;
//! 2. a CRI pod start: RunPodSandbox → CreateContainer → StartContainer →
//!    the container seen exited (ContainerStatus polled every 5 ms), for the
//!    handlers `runc`, `runsc` (our shim) and `runsc-runc-shim` (runc's shim,
//!    runsc binary); the pod is torn down outside the timed part.
//!
//! Prints a markdown table of medians (ms) with the ratio to runc. `RUNS`
//! (default 20) timed runs after `WARMUP` (default 3).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ContainerState, ContainerStatusRequest, CreateContainerRequest, ImageSpec,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest, StopPodSandboxRequest,
};
use runsc_tests::containerd::{Containerd, CRI_NAMESPACE, RUNSC_RUNTIME};
use runsc_tests::images::{busybox, pause, BUSYBOX_REF as BUSYBOX};
use runsc_tests::{run, unique_name};
use tonic::transport::{Channel, Endpoint, Uri};

const NS: &str = "runsc-bench";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let mid = samples.len() / 2;
    let median = if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    };
    median.as_secs_f64() * 1000.0
}

/// Times `ctr run --rm` of `true` with `runtime_args`; None if a run failed.
fn ctr_true(ctrd: &Containerd, runtime_args: &[&str], warmup: usize, runs: usize) -> Option<f64> {
    let mut samples = Vec::new();
    for i in 0..warmup + runs {
        let id = unique_name("bench");
        let mut cmd = ctrd.ctr_command(["run", "--rm"]);
        cmd.args(runtime_args).args([BUSYBOX, &id, "true"]);
        let start = Instant::now();
        let out = run(cmd, Duration::from_secs(60));
        let took = start.elapsed();
        if !out.success() {
            eprintln!("ctr run {runtime_args:?} failed:\n{out}");
            return None;
        }
        if i >= warmup {
            samples.push(took);
        }
    }
    Some(median_ms(samples))
}

async fn connect(socket: PathBuf) -> RuntimeServiceClient<Channel> {
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
        .expect("connecting to containerd");
    RuntimeServiceClient::new(channel)
}

fn pod_config(log_dir: &std::path::Path) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: unique_name("bench-pod"),
            namespace: "default".into(),
            uid: unique_name("uid"),
            attempt: 0,
        }),
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

/// One pod start to container exit; the teardown is not timed.
async fn pod_start(
    client: &mut RuntimeServiceClient<Channel>,
    handler: &str,
    log_dir: &std::path::Path,
) -> Result<Duration, String> {
    let config = pod_config(log_dir);
    let start = Instant::now();
    let pod = client
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: handler.to_string(),
        })
        .await
        .map_err(|e| format!("RunPodSandbox: {e}"))?
        .into_inner()
        .pod_sandbox_id;
    let container = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "true".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: BUSYBOX.into(),
            ..Default::default()
        }),
        command: vec!["true".into()],
        log_path: format!("{}.log", unique_name("true")),
        ..Default::default()
    };
    let id = client
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container),
            sandbox_config: Some(config),
        })
        .await
        .map_err(|e| format!("CreateContainer: {e}"))?
        .into_inner()
        .container_id;
    client
        .start_container(StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .map_err(|e| format!("StartContainer: {e}"))?;
    loop {
        let status = client
            .container_status(ContainerStatusRequest {
                container_id: id.clone(),
                verbose: false,
            })
            .await
            .map_err(|e| format!("ContainerStatus: {e}"))?
            .into_inner()
            .status
            .ok_or("no status")?;
        if status.state == ContainerState::ContainerExited as i32 {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err("the container did not exit".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = start.elapsed();
    client
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .map_err(|e| format!("StopPodSandbox: {e}"))?;
    client
        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod })
        .await
        .map_err(|e| format!("RemovePodSandbox: {e}"))?;
    Ok(took)
}

async fn pod_starts(ctrd: &Containerd, handler: &str, warmup: usize, runs: usize) -> Option<f64> {
    let mut client = connect(ctrd.socket()).await;
    let log_dir = ctrd.dir().join("logs").join(handler);
    std::fs::create_dir_all(&log_dir).ok()?;
    let mut samples = Vec::new();
    for i in 0..warmup + runs {
        match pod_start(&mut client, handler, &log_dir).await {
            Ok(took) if i >= warmup => samples.push(took),
            Ok(_) => {}
            Err(e) => {
                eprintln!("pod start with {handler} failed: {e}\n{}", ctrd.log());
                return None;
            }
        }
    }
    Some(median_ms(samples))
}

fn cell(value: Option<f64>) -> String {
    value.map_or("not measured (failed)".into(), |v| format!("{v:.1}"))
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
        _ => "-".into(),
    }
}

fn main() {
    let warmup = env_count("WARMUP", 3);
    let runs = env_count("RUNS", 20);
    let ctrd = Containerd::with_runsc_shim(NS);
    ctrd.import_into(CRI_NAMESPACE, &busybox().oci_archive);
    ctrd.import_into(CRI_NAMESPACE, pause());
    let config = ctrd.runsc_config().display().to_string();
    eprintln!("ctr run --rm true: runc ...");
    let ctr_runc = ctr_true(&ctrd, &["--runtime", "io.containerd.runc.v2"], warmup, runs);
    eprintln!("ctr run --rm true: runsc shim ...");
    let ctr_runsc = ctr_true(
        &ctrd,
        &["--runtime", RUNSC_RUNTIME, "--runtime-config-path", &config],
        warmup,
        runs,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let mut pods = Vec::new();
    for handler in ["runc", "runsc", "runsc-runc-shim"] {
        eprintln!("CRI pod start: {handler} ...");
        pods.push((handler, rt.block_on(pod_starts(&ctrd, handler, warmup, runs))));
    }
    let runsc_version = Command::new(runsc_tests::runsc_bin()).arg("--version").output();
    eprintln!(
        "runsc: {}",
        runsc_version
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    );
    println!("| benchmark | runtime | median ms ({runs} runs, {warmup} warm-up) | / runc |");
    println!("|---|---|---|---|");
    println!(
        "| `ctr run --rm` busybox `true` | runc shim + runc | {} | 1.00 |",
        cell(ctr_runc)
    );
    println!(
        "| `ctr run --rm` busybox `true` | containerd-shim-runsc-v1 | {} | {} |",
        cell(ctr_runsc),
        ratio(ctr_runsc, ctr_runc)
    );
    let base = pods[0].1;
    for (handler, value) in &pods {
        println!(
            "| CRI pod start (RunPodSandbox → container exited), host network | handler `{handler}` | {} | {} |",
            cell(*value),
            ratio(*value, base)
        );
    }
}
