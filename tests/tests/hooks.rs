//! OCI lifecycle hooks through runsc's CLI: every kind runs at its point of
//! create/start/delete with the state on stdin, on the host, in the caller's
//! namespaces (see runsc/src/hooks.rs); a failing create-time hook fails
//! create and leaves nothing behind.

use std::fs;
use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{Hook, HookBuilder, HooksBuilder};
use runsc_tests::{busybox_bundle, pid_alive, Bundle, Runsc};

/// A hook that appends `KIND <its pid namespace> <the state JSON>` to `log`.
fn recorder(kind: &str, log: &Path) -> Hook {
    let script = format!(
        "printf '%s %s ' {kind} \"$(readlink /proc/self/ns/pid)\" >> {log}; cat >> {log}; echo >> {log}",
        log = log.display()
    );
    HookBuilder::default()
        .path("/bin/sh")
        .args(vec!["sh".into(), "-c".into(), script])
        .build()
        .expect("hook")
}

fn failing(message: &str) -> Hook {
    HookBuilder::default()
        .path("/bin/sh")
        .args(vec!["sh".into(), "-c".into(), format!("echo {message} >&2; exit 2")])
        .build()
        .expect("hook")
}

fn set_hooks(bundle: &Bundle, hooks: oci_spec::runtime::Hooks) {
    let mut spec = bundle.spec();
    spec.set_hooks(Some(hooks));
    bundle.save_spec(&spec);
}

#[allow(deprecated)]
#[test]
fn every_hook_runs_in_order_with_the_state_on_the_host() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("hooks.log");
    let bundle = busybox_bundle("echo container ran", Vec::new());
    let all = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    let hook = |kind: &str| vec![recorder(kind, &log)];
    set_hooks(
        &bundle,
        HooksBuilder::default()
            .prestart(hook(all[0]))
            .create_runtime(hook(all[1]))
            .create_container(hook(all[2]))
            .start_container(hook(all[3]))
            .poststart(hook(all[4]))
            .poststop(hook(all[5]))
            .build()
            .expect("hooks"),
    );
    let runsc = Runsc::new();
    let id = runsc.new_id("hooks");
    let b = bundle.path().display().to_string();
    let out = runsc.create(&bundle, &id, &[]);
    assert!(out.success(), "{out}");
    let pid = runsc.state(&id)["pid"].as_i64().expect("pid");
    let out = runsc.run(["start", &id]);
    assert!(out.success(), "{out}");
    runsc.wait_for_status(&id, "stopped", Duration::from_secs(20));
    let out = runsc.run(["delete", &id]);
    assert!(out.success(), "{out}");

    let our_pidns = fs::read_link("/proc/self/ns/pid").expect("our pid ns");
    let text = fs::read_to_string(&log).expect("hooks log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.len(), "{text}");
    let statuses = ["creating", "creating", "creating", "created", "running", "stopped"];
    for ((line, kind), status) in lines.iter().zip(all).zip(statuses) {
        let mut fields = line.splitn(3, ' ');
        assert_eq!(fields.next(), Some(kind), "{text}");
        assert_eq!(
            fields.next().map(Path::new),
            Some(our_pidns.as_path()),
            "{kind} ran elsewhere\n{text}"
        );
        let state: serde_json::Value = serde_json::from_str(fields.next().unwrap_or("")).expect("state JSON");
        assert_eq!(state["id"], id.as_str(), "{kind}: {state}");
        assert_eq!(state["status"], status, "{kind}: {state}");
        assert_eq!(state["bundle"], b.as_str(), "{kind}: {state}");
        if kind != "poststop" {
            assert_eq!(state["pid"], pid, "{kind}: {state}");
        }
    }
}

#[test]
fn failing_create_hook_fails_create_and_cleans_up() {
    let bundle = busybox_bundle("echo must not run", Vec::new());
    set_hooks(
        &bundle,
        HooksBuilder::default()
            .create_runtime(vec![failing("network setup failed")])
            .build()
            .expect("hooks"),
    );
    let runsc = Runsc::new();
    let id = runsc.new_id("badhook");
    let pid_file = runsc.root().join("init.pid");
    let p = pid_file.display().to_string();
    let out = runsc.create(&bundle, &id, &["--pid-file", &p]);
    assert!(!out.success(), "{out}");
    let err = out.stderr_str();
    assert!(
        err.contains("createRuntime hook #0") && err.contains("network setup failed"),
        "{out}"
    );
    assert!(!out.stdout_str().contains("must not run"), "{out}");
    // No state, and the sandbox process is gone.
    assert!(!runsc.root().join(&id).exists());
    let out = runsc.run(["state", &id]);
    assert!(!out.success(), "{out}");
    if let Some(pid) = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        assert!(!pid_alive(pid), "sandbox {pid} survived a failed create");
    }
}

#[test]
fn failing_poststop_hook_is_only_logged() {
    let bundle = busybox_bundle("true", Vec::new());
    set_hooks(
        &bundle,
        HooksBuilder::default()
            .poststop(vec![failing("poststop trouble")])
            .build()
            .expect("hooks"),
    );
    let runsc = Runsc::new();
    let id = runsc.new_id("poststop");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(out.success(), "{out}");
}
