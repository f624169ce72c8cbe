//! The shim binary's own verbs (`start`, `delete`) and the server's life:
//! containerd-shim's bootstrap calls into [`RunscShim`].
//!
//! Pods: CRI marks a pod's app containers with
//! `io.kubernetes.cri.container-type: container` and
//! `io.kubernetes.cri.sandbox-id: <pod sandbox id>`. `start` then groups the
//! container with its sandbox: the socket address is derived from the
//! sandbox id, so the server already serving the pod is found and its
//! address printed (containerd-shim's spawn sees the address in use, checks
//! it answers, and leaves it to that server).

use std::path::PathBuf;
use std::sync::Arc;

use containerd_shim::api::DeleteResponse;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::synchronous::util::write_address;
use containerd_shim::{Config, ExitSignal, Flags, Shim, StartOpts};

use crate::config::RunscConfig;
use crate::process::timestamp;
use crate::runsc::Runsc;
use crate::service::{unmount_rootfs, Service};

pub const RUNTIME_ID: &str = "io.containerd.runsc.v1";

/// CRI's annotation naming what a container is (`sandbox` or `container`).
pub const CONTAINER_TYPE_ANNOTATION: &str = "io.kubernetes.cri.container-type";
/// CRI's annotation naming the pod sandbox a container belongs to.
pub const SANDBOX_ID_ANNOTATION: &str = "io.kubernetes.cri.sandbox-id";

pub struct RunscShim {
    exit: Arc<ExitSignal>,
    id: String,
    namespace: String,
    bundle: String,
}

/// The id whose shim serves container `id`: its pod sandbox's for a CRI app
/// container, else its own.
pub fn grouping(spec_json: &[u8], id: &str) -> String {
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(spec_json) else {
        return id.to_string();
    };
    let annotation = |key: &str| {
        spec.get("annotations")
            .and_then(|a| a.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    match (annotation(CONTAINER_TYPE_ANNOTATION), annotation(SANDBOX_ID_ANNOTATION)) {
        (Some(kind), Some(sandbox)) if kind == "container" && !sandbox.is_empty() => sandbox,
        _ => id.to_string(),
    }
}

/// `start` as containerd 1.6 expects it: spawn (or find) the server and
/// print its address as plain text. (containerd-shim 0.12 prints a JSON
/// reply, which only containerd 1.7 and later parse; they still accept a
/// plain address.) Returns the exit code.
pub fn start_plain(flags: &Flags) -> i32 {
    let opts = StartOpts {
        id: flags.id.clone(),
        publish_binary: flags.publish_binary.clone(),
        address: flags.address.clone(),
        ttrpc_address: std::env::var("TTRPC_ADDRESS").unwrap_or_default(),
        namespace: flags.namespace.clone(),
        debug: flags.debug,
        ..Default::default()
    };
    if opts.namespace.is_empty() || opts.id.is_empty() {
        eprintln!("{RUNTIME_ID}: start needs -namespace and -id");
        return 1;
    }
    // containerd runs `start` in the bundle.
    let spec = std::fs::read("config.json").unwrap_or_default();
    let group = grouping(&spec, &opts.id);
    let started = containerd_shim::spawn(opts, &group, Vec::new()).and_then(|(_pid, address)| {
        write_address(&address)?;
        Ok(address)
    });
    match started {
        Ok(address) => {
            print!("{address}");
            0
        }
        Err(e) => {
            eprintln!("{RUNTIME_ID}: {e}");
            1
        }
    }
}

impl Shim for RunscShim {
    type T = Service;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        RunscShim {
            exit: Arc::new(ExitSignal::default()),
            id: args.id.clone(),
            namespace: args.namespace.clone(),
            bundle: args.bundle.clone(),
        }
    }

    /// For containerd's newer bootstrap protocol (containerd 1.6 takes the
    /// [`start_plain`] path).
    fn start_shim(&mut self, opts: StartOpts) -> containerd_shim::Result<String> {
        let spec = std::fs::read("config.json").unwrap_or_default();
        let group = grouping(&spec, &opts.id);
        let (_pid, address) = containerd_shim::spawn(opts, &group, Vec::new())?;
        write_address(&address)?;
        Ok(address)
    }

    fn delete_shim(&mut self) -> containerd_shim::Result<DeleteResponse> {
        let bundle = if self.bundle.is_empty() {
            std::env::current_dir().unwrap_or_default()
        } else {
            PathBuf::from(&self.bundle)
        };
        if let Ok(config) = RunscConfig::load_saved(&bundle) {
            if let Err(e) = Runsc::new(config, &bundle).delete(&self.id, true) {
                log::warn!("cleaning up {}: {e}", self.id);
            }
        }
        unmount_rootfs(&bundle.join("rootfs"));
        Ok(DeleteResponse {
            pid: 0,
            // As the runc shim reports a task it could only clean up: SIGKILL.
            exit_status: 128 + libc::SIGKILL as u32,
            exited_at: Some(timestamp(std::time::SystemTime::now())).into(),
            ..Default::default()
        })
    }

    fn wait(&mut self) {
        self.exit.wait();
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> Service {
        Service::new(&self.namespace, publisher, Arc::clone(&self.exit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_containers_join_their_sandbox_shim() {
        let app = br#"{"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"pod1"}}"#;
        assert_eq!(grouping(app, "c1"), "pod1");
        let sandbox =
            br#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"pod1"}}"#;
        assert_eq!(grouping(sandbox, "pod1"), "pod1");
        assert_eq!(grouping(br#"{"annotations":{}}"#, "c2"), "c2");
        assert_eq!(grouping(b"not json", "c3"), "c3");
        let empty =
            br#"{"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":""}}"#;
        assert_eq!(grouping(empty, "c4"), "c4");
    }
}
