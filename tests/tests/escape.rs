//! Escape attempts through the file system: each tries to read a host file
//! outside the container's root and bind mounts, and must fail.
//!
//! The secret lives in a host temporary directory that is never mounted
//! into the container; its content is a random-looking token that must
//! never appear in the guest's output.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runsc_tests::{bind, busybox_bundle, unique_name, Bundle, Output, Runsc};

/// A host file the guest must never read.
struct Secret {
    dir: tempfile::TempDir,
    token: String,
}

impl Secret {
    fn new() -> Secret {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = unique_name("host-secret");
        fs::write(dir.path().join("secret"), &token).expect("write secret");
        Secret { dir, token }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self) -> PathBuf {
        self.dir().join("secret")
    }

    fn assert_not_leaked(&self, out: &Output) {
        assert!(
            !out.stdout_str().contains(&self.token) && !out.stderr_str().contains(&self.token),
            "the host secret leaked into the sandbox\n{out}"
        );
    }
}

#[test]
fn absolute_paths_dotdot_chains_and_proc_root_stay_inside() {
    let secret = Secret::new();
    let path = secret.path().display().to_string();
    let script = format!(
        "cat {path}; cat /../../../..{path}; cat /proc/self/root{path}; cat /proc/1/root{path}; \
         cd /proc/self/cwd/../../..; cat .{path}; echo done"
    );
    let bundle = busybox_bundle(&script, Vec::new());
    let runsc = Runsc::new();
    let out = runsc.run_bundle(&bundle, &runsc.new_id("paths"));
    secret.assert_not_leaked(&out);
    assert!(out.stdout_str().ends_with("done\n"), "{out}");
}

#[test]
fn symlinks_in_a_bind_mount_resolve_inside_the_sandbox() {
    let secret = Secret::new();
    let shared = tempfile::tempdir().expect("tempdir");
    // Made by the host: an absolute link and a relative `..` chain out of the bind source.
    symlink(secret.path(), shared.path().join("host-abs")).expect("symlink");
    let up = "../".repeat(shared.path().components().count());
    symlink(
        format!("{up}{}", secret.path().display()),
        shared.path().join("host-rel"),
    )
    .expect("symlink");
    let path = secret.path().display().to_string();
    let script = format!(
        "cat /rw/host-abs; cat /rw/host-rel; ln -s {path} /rw/guest-abs; cat /rw/guest-abs; \
         ln -s {dir} /rw/guest-dir; cat /rw/guest-dir/secret; echo done",
        dir = secret.dir().display()
    );
    let bundle = busybox_bundle(&script, vec![bind("/rw", shared.path(), &["rbind", "rw"])]);
    let runsc = Runsc::new();
    let out = runsc.run_bundle(&bundle, &runsc.new_id("links"));
    secret.assert_not_leaked(&out);
    assert!(out.stdout_str().ends_with("done\n"), "{out}");
    // The guest's links exist on the host, as text the host may follow:
    // what matters is that the sandbox never followed them on the host side.
    assert!(shared.path().join("guest-abs").is_symlink());
}

/// renameat2(RENAME_EXCHANGE) of two names in `dir`.
fn exchange(dir: &Path, a: &str, b: &str) -> bool {
    use nix::fcntl::{renameat2, RenameFlags};
    renameat2(None, &dir.join(a), None, &dir.join(b), RenameFlags::RENAME_EXCHANGE).is_ok()
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_walk_never_leads_out() {
    let secret = Secret::new();
    let shared = tempfile::tempdir().expect("tempdir");
    fs::create_dir(shared.path().join("d")).expect("mkdir");
    fs::write(shared.path().join("d/secret"), "inside\n").expect("write");
    symlink(secret.dir(), shared.path().join("swap")).expect("symlink");

    // The host flips d between the real directory and a symlink to the
    // secret's directory as fast as it can while the guest reads d/secret.
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, dir) = (stop.clone(), shared.path().to_path_buf());
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                flips += u64::from(exchange(&dir, "d", "swap"));
            }
            flips
        })
    };
    let script = "i=0; while [ $i -lt 800 ]; do cat /rw/d/secret 2>/dev/null; i=$((i+1)); done; echo done";
    let bundle = busybox_bundle(script, vec![bind("/rw", shared.path(), &["rbind", "rw"])]);
    let runsc = Runsc::new();
    let out = runsc.run_bundle(&bundle, &runsc.new_id("race"));
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().expect("flipper");
    secret.assert_not_leaked(&out);
    assert!(out.stdout_str().ends_with("done\n"), "{out}");
    assert!(
        out.stdout_str().contains("inside"),
        "the real file was read sometimes\n{out}"
    );
    assert!(flips > 100, "the race ran ({flips} flips)");
}

#[test]
fn a_bind_source_replaced_after_create_is_not_followed() {
    let secret = Secret::new();
    let parent = tempfile::tempdir().expect("tempdir");
    let source = parent.path().join("data");
    fs::create_dir(&source).expect("mkdir");
    fs::write(source.join("mine"), "mine\n").expect("write");
    let bundle = busybox_bundle(
        "ls /data; cat /data/secret; echo done",
        vec![bind("/data", &source, &["rbind", "ro"])],
    );
    let runsc = Runsc::new();
    let id = runsc.new_id("swap");
    let created = runsc.create(&bundle, &id, &[]);
    assert!(created.success(), "{created}");

    fs::rename(&source, parent.path().join("data.old")).expect("move the source away");
    symlink(secret.dir(), &source).expect("symlink in its place");

    let state = runsc.wait_for_status(&id, "created", Duration::from_secs(10));
    let pid = state["pid"].as_i64().expect("pid");
    let started = runsc.run(["start", &id]);
    assert!(started.success(), "{started}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while runsc_tests::pid_alive(pid) {
        assert!(Instant::now() < deadline, "the container did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deleted = runsc.run(["delete", &id]);
    assert!(deleted.success(), "{deleted}");
    // The container's stdout went to the create command's capture files.
    secret.assert_not_leaked(&created);
    let listing = created.stdout_now();
    let listing = String::from_utf8_lossy(&listing);
    assert!(!listing.contains(&secret.token), "the host secret leaked\n{listing}");
    assert!(
        listing.starts_with("mine\n") && listing.ends_with("done\n"),
        "{listing}"
    );
}

/// A field of /proc/PID/status.
fn status_field(pid: i64, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

#[test]
fn the_sandbox_process_is_confined() {
    let platform = std::env::var("RUNSC_PLATFORM").unwrap_or_default();
    let factories = usize::from(platform == "systrap");
    assert_sandbox_process_is_confined(Runsc::new(), factories);
}

/// Systrap stubs come from a factory process forked before the Sentry's
/// seccomp filter, so the Sentry keeps its filter on that platform too.
#[test]
fn the_sandbox_process_is_confined_under_systrap() {
    assert_sandbox_process_is_confined(Runsc::on_platform("systrap"), 1);
}

/// The children of `pid` (from every thread's `children` file).
fn children_of(pid: i64) -> Vec<i64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
    let mut children: Vec<i64> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    children
}

/// Every child of the Sentry runs under a seccomp filter. The children that
/// share its mount namespace (the gofer has one of its own) but not its
/// filters (ptrace stubs inherit them) are systrap stub factories, forked
/// before the Sentry's filters and running under their own allow-list:
/// confined in every other way too; there are `expected` of them.
fn assert_children_are_confined(pid: i64, expected: usize) {
    let children = children_of(pid);
    for &child in &children {
        assert_eq!(
            status_field(child, "Seccomp"),
            "2",
            "child {child} runs without a filter"
        );
    }
    let sentry_mnt = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).expect("ns");
    let sentry_filters = status_field(pid, "Seccomp_filters");
    let factories: Vec<i64> = children
        .into_iter()
        .filter(|&child| std::fs::read_link(format!("/proc/{child}/ns/mnt")).ok().as_ref() == Some(&sentry_mnt))
        .filter(|&child| status_field(child, "Seccomp_filters") != sentry_filters)
        .collect();
    assert_eq!(factories.len(), expected, "stub factories: {factories:?}");
    for child in factories {
        assert_eq!(status_field(child, "NoNewPrivs"), "1", "child {child}");
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(status_field(child, set), "0000000000000000", "child {child}: {set}");
        }
        for ns in ["mnt", "net", "ipc", "uts", "cgroup", "pid"] {
            let sentry = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns");
            let theirs = std::fs::read_link(format!("/proc/{child}/ns/{ns}")).expect("ns");
            assert_eq!(sentry, theirs, "child {child}: {ns} namespace");
        }
        let root = std::fs::read_dir(format!("/proc/{child}/root")).expect("root").count();
        assert_eq!(root, 0, "child {child}: the root is empty");
    }
}

fn assert_sandbox_process_is_confined(runsc: Runsc, factories: usize) {
    let bundle = busybox_bundle("echo ready; exec /bin/busybox sleep 60", Vec::new());
    let id = runsc.new_id("confined");
    let running = runsc.spawn(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        let state = runsc.run(["state", id.as_str()]);
        let parsed = serde_json::from_str::<serde_json::Value>(&state.stdout_str()).ok();
        let pid = parsed.as_ref().and_then(|v| v["pid"].as_i64()).filter(|&p| p > 0);
        let status = parsed.as_ref().and_then(|v| v["status"].as_str().map(str::to_string));
        if let (Some(pid), Some("running")) = (pid, status.as_deref()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the container did not start\n{state}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Seccomp mode 2 (filter), no new privileges, no capabilities at all.
    assert_eq!(status_field(pid, "Seccomp"), "2");
    assert_eq!(status_field(pid, "NoNewPrivs"), "1");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(pid, set), "0000000000000000", "{set}");
    }
    // Its own namespaces, the init of a pid namespace, and an empty root.
    for ns in ["mnt", "net", "ipc", "uts", "cgroup", "pid_for_children"] {
        let ours = std::fs::read_link(format!("/proc/self/ns/{ns}")).expect("ns");
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns");
        assert_ne!(ours, theirs, "{ns} namespace shared with the host");
    }
    assert_eq!(status_field(pid, "NSpid").split_whitespace().last(), Some("1"));
    let root: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/root"))
        .expect("root")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(root.is_empty(), "the sandbox's root is empty: {root:?}");
    assert_children_are_confined(pid, factories);

    let killed = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(killed.success(), "{killed}");
    running.wait(Duration::from_secs(30));
}

#[test]
fn attempts_to_reach_the_host_from_inside_are_blocked() {
    use runsc_tests::{compile, guest_path, Link};
    let marker = unique_name("host-only-marker");
    // A host process outside the sandbox, with the marker in its environment.
    let mut host = std::process::Command::new("sleep")
        .arg("60")
        .env("RUNSC_TEST_MARKER", &marker)
        .spawn()
        .expect("sleep");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();

    let exe = compile("escape_attempts", Link::Static);
    let bundle = Bundle::builder()
        .binary(&exe)
        .args([
            guest_path(&exe),
            host.id().to_string(),
            port.to_string(),
            marker.clone(),
        ])
        .build();
    let runsc = Runsc::new();
    let mut cmd = runsc.command([
        "run",
        "--bundle",
        &bundle.path().to_string_lossy(),
        &runsc.new_id("escape"),
    ]);
    cmd.env("RUNSC_TEST_MARKER", &marker);
    let out = runsc_tests::run(cmd, runsc_tests::default_timeout());
    let _ = host.kill();
    let _ = host.wait();
    assert!(out.success(), "{out}");
    let stdout = out.stdout_str();
    assert!(stdout.ends_with("done\n"), "{out}");
    let escaped: Vec<&str> = stdout.lines().filter(|l| l.contains("ESCAPED")).collect();
    assert!(escaped.is_empty(), "escapes: {escaped:#?}\n{out}");
    assert!(
        stdout.lines().filter(|l| l.ends_with(": blocked")).count() >= 19,
        "{out}"
    );
    // Nothing reached the listener.
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(
        listener.accept().is_err(),
        "a connection from the sandbox reached the host"
    );
}

#[test]
fn fuzzing_every_syscall_number_does_not_crash_the_sentry() {
    use runsc_tests::{compile, Link};
    let fuzz = compile("fuzz", Link::Static);
    let runsc = Runsc::new();
    for seed in ["1", "0xdeadbeef"] {
        let out = runsc.run(["do", "--", &fuzz.to_string_lossy(), "100000", seed]);
        runsc_tests::assert_no_panic(&out, "fuzz");
        assert!(
            out.success(),
            "the sandbox ended badly with seed {seed}\n{}",
            out.stderr_str()
        );
        // The children write random bytes to their stdout too: the summary
        // is what follows the last "fuzz: ".
        let summary = out.stdout_str();
        let Some(at) = summary.rfind("fuzz: ") else {
            panic!("no summary with seed {seed}");
        };
        let last = summary[at..].lines().next().unwrap_or_default();
        let calls: u64 = last
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("call count");
        assert!(calls >= 100_000, "{last}");
    }
}
