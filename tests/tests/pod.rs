//! Pods: a sandbox container and app containers that join its sandbox (one
//! Sentry per pod), driven through the runsc CLI with the annotations
//! containerd's CRI writes.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use runsc_tests::console::{create_and_start_on_a_tty, exec_on_a_tty, read_to_hangup};
use runsc_tests::{
    assert_no_panic, bind, busybox_builder, busybox_present, pid_alive, read_pid_file, wait_until, Bundle, Output,
    Runsc, BUSYBOX,
};

const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";

/// A busybox bundle running `sh -c script`, with a file `/own` holding
/// `name`, the given mounts and the CRI annotations of `kind` in pod
/// `sandbox`.
fn pod_bundle(name: &str, script: &str, mounts: Vec<oci_spec::runtime::Mount>, kind: &str, sandbox: &str) -> Bundle {
    let bundle = busybox_builder(script)
        .file("/own", format!("{name}\n"), 0o644)
        .file(&format!("/only-in-{name}"), "x", 0o644)
        .mounts(mounts)
        .build();
    let mut spec = bundle.spec();
    let annotations: HashMap<String, String> = [
        (CONTAINER_TYPE.to_string(), kind.to_string()),
        (SANDBOX_ID.to_string(), sandbox.to_string()),
    ]
    .into_iter()
    .collect();
    spec.set_annotations(Some(annotations));
    bundle.save_spec(&spec);
    bundle
}

/// `runsc create --pid-file` then `start`; returns the pid file's pid.
fn create_and_start(runsc: &Runsc, bundle: &Bundle, id: &str) -> i32 {
    let pid_file = bundle.path().join("container.pid");
    let out = runsc.create(bundle, id, &["--pid-file", pid_file.to_str().expect("utf-8")]);
    assert!(out.success(), "create {id}\n{out}");
    let pid = read_pid_file(&pid_file);
    assert_eq!(runsc.state(id)["status"], "created");
    assert_eq!(runsc.state(id)["pid"], pid);
    let out = runsc.run(["start", id]);
    assert!(out.success(), "start {id}\n{out}");
    pid
}

fn exec(runsc: &Runsc, id: &str, opts: &[&str], command: &[&str]) -> Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(opts);
    args.push(id);
    args.extend_from_slice(command);
    let out = runsc.run(args);
    assert_no_panic(&out, "exec");
    out
}

fn sh(runsc: &Runsc, id: &str, script: &str) -> Output {
    exec(runsc, id, &[], &[BUSYBOX, "sh", "-c", script])
}

/// Host processes whose command line mentions `needle`.
fn host_processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(needle) && pid_alive(i64::from(pid)) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// The parent of host process `pid` (field 4 of /proc/PID/stat).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The exit status of host process `pid`, a child of ours (we are a
/// subreaper, so the helpers `create` leaves behind come to us).
fn wait_exit_code(pid: i32) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    match waitpid(nix::unistd::Pid::from_raw(pid), None).expect("waitpid") {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        other => panic!("unexpected wait status {other:?}"),
    }
}

fn pids_of(runsc: &Runsc, id: &str) -> Vec<i64> {
    // The table lists the sandbox's own pids; `--format json` lists host
    // pids, as runc's clients expect.
    let out = runsc.run(["ps", id]);
    assert!(out.success(), "ps {id}\n{out}");
    out.stdout_str()
        .lines()
        .skip(1)
        .map(|row| {
            row.split_whitespace()
                .nth(1)
                .and_then(|pid| pid.parse().ok())
                .expect("a PID column")
        })
        .collect()
}

/// Cgroup directories named after container `id`, in any hierarchy.
fn cgroups_of(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let v2 = Path::new("/sys/fs/cgroup/runsc").join(id);
    if v2.exists() {
        found.push(v2);
    }
    if let Ok(controllers) = fs::read_dir("/sys/fs/cgroup") {
        for c in controllers.flatten() {
            let dir = c.path().join("runsc").join(id);
            if dir.exists() {
                found.push(dir);
            }
        }
    }
    found
}

fn pod_on(platform: &str) {
    if !busybox_present() {
        return;
    }
    // The helpers and sandboxes that `create` leaves behind come to us.
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let runsc = Runsc::on_platform(platform);
    let pod = runsc.new_id("pod");
    let (app_a, app_b, app_c) = (runsc.new_id("a"), runsc.new_id("b"), runsc.new_id("c"));
    let empty_dir = tempfile::tempdir().expect("emptyDir");
    let shared = || vec![bind("/shared", empty_dir.path(), &["rbind", "rw"])];

    let sandbox_bundle = pod_bundle("pause", "exec /bin/busybox sleep 1000", vec![], "sandbox", &pod);
    let sandbox_pid = create_and_start(&runsc, &sandbox_bundle, &pod);
    let a_bundle = pod_bundle("a", "exec /bin/busybox sleep 1001", shared(), "container", &pod);
    let b_bundle = pod_bundle("b", "exec /bin/busybox sleep 1002", shared(), "container", &pod);
    let a_pid = create_and_start(&runsc, &a_bundle, &app_a);
    let b_pid = create_and_start(&runsc, &b_bundle, &app_b);
    assert_ne!(a_pid, sandbox_pid);
    assert_ne!(a_pid, b_pid);
    wait_until(Duration::from_secs(20), "both apps running", || {
        sh(&runsc, &app_a, "cat /own").success() && sh(&runsc, &app_b, "cat /own").success()
    });

    // One Sentry for the whole pod: a single `runsc boot` under this root
    // (systrap's stub factory is a fork of it).
    let root = runsc.root().to_string_lossy().into_owned();
    let boots: Vec<_> = host_processes_mentioning(&root)
        .into_iter()
        .filter(|(pid, cmd)| cmd.contains(" boot ") && parent_of(*pid) != Some(sandbox_pid))
        .collect();
    assert_eq!(boots.len(), 1, "one sandbox process for the pod: {boots:?}");
    assert_eq!(boots[0].0, sandbox_pid, "{boots:?}");

    // Each app sees its own root, not the other's.
    assert_eq!(sh(&runsc, &app_a, "cat /own").stdout_str(), "a\n");
    assert_eq!(sh(&runsc, &app_b, "cat /own").stdout_str(), "b\n");
    assert_eq!(sh(&runsc, &pod, "cat /own").stdout_str(), "pause\n");
    let out = sh(&runsc, &app_a, "ls /only-in-a && ls /only-in-b");
    assert!(!out.success(), "A must not see B's files\n{out}");
    assert!(sh(&runsc, &app_b, "ls /only-in-b").success());

    // ps is per container; the pid space is the pod's.
    let (pause_pids, a_pids, b_pids) = (pids_of(&runsc, &pod), pids_of(&runsc, &app_a), pids_of(&runsc, &app_b));
    assert_eq!(pause_pids, [1]);
    assert_eq!(a_pids.len(), 1, "{a_pids:?}");
    assert_eq!(b_pids.len(), 1, "{b_pids:?}");
    let table = runsc.run(["ps", app_a.as_str()]).stdout_str();
    assert!(table.contains("sleep 1001") && !table.contains("sleep 1002"), "{table}");
    let out = sh(
        &runsc,
        &app_b,
        &format!("cat /proc/{}/cmdline | tr '\\0' ' '", a_pids[0]),
    );
    assert_eq!(
        out.stdout_str(),
        "/bin/busybox sleep 1001 ",
        "one kernel, one pid space\n{out}"
    );
    // Each container has its own /proc mount table view.
    let out = sh(&runsc, &app_a, "grep ' /shared ' /proc/self/mounts");
    assert!(out.success(), "{out}");
    let out = sh(&runsc, &pod, "grep ' /shared ' /proc/self/mounts");
    assert_eq!(out.code(), Some(1), "the sandbox container has no /shared\n{out}");

    // The emptyDir carries a file from A to B.
    assert!(sh(&runsc, &app_a, "echo from-a > /shared/msg").success());
    assert_eq!(sh(&runsc, &app_b, "cat /shared/msg").stdout_str(), "from-a\n");
    assert_eq!(
        fs::read_to_string(empty_dir.path().join("msg")).expect("on the host"),
        "from-a\n"
    );

    // exec: exit codes, and a detached exec's pid waits like the shim wants.
    assert_eq!(sh(&runsc, &app_b, "exit 5").code(), Some(5));
    let pid_file = b_bundle.path().join("exec.pid");
    let out = exec(
        &runsc,
        &app_b,
        &["--detach", "--pid-file", pid_file.to_str().expect("utf-8")],
        &[BUSYBOX, "sh", "-c", "cat /own > /shared/from-b-exec; exit 9"],
    );
    assert!(out.success(), "{out}");
    let helper = read_pid_file(&pid_file);
    assert_eq!(wait_exit_code(helper), 9);
    assert_eq!(
        fs::read_to_string(empty_dir.path().join("from-b-exec")).expect("written by B's exec"),
        "b\n"
    );

    // An app container that exits reports its status through its pid.
    let c_bundle = pod_bundle(
        "c",
        "cat /shared/msg > /shared/c-saw; exit 7",
        shared(),
        "container",
        &pod,
    );
    let c_pid = create_and_start(&runsc, &c_bundle, &app_c);
    assert_eq!(wait_exit_code(c_pid), 7);
    assert_eq!(runsc.state(&app_c)["status"], "stopped");
    assert_eq!(
        fs::read_to_string(empty_dir.path().join("c-saw")).expect("c-saw"),
        "from-a\n"
    );
    let out = runsc.run(["delete", app_c.as_str()]);
    assert!(out.success(), "{out}");

    // Killing A leaves B (and the sandbox) running; A reports SIGKILL.
    let a_rootfs = a_bundle.rootfs().to_string_lossy().into_owned();
    assert!(
        !host_processes_mentioning(&a_rootfs).is_empty(),
        "A's gofer serves its rootfs"
    );
    let out = runsc.run(["kill", app_a.as_str(), "KILL"]);
    assert!(out.success(), "{out}");
    assert_eq!(wait_exit_code(a_pid), 137);
    assert_eq!(runsc.state(&app_a)["status"], "stopped");
    let out = runsc.run(["delete", app_a.as_str()]);
    assert!(out.success(), "{out}");
    assert_eq!(host_processes_mentioning(&a_rootfs), [], "A's gofer is gone with A");
    let table = runsc.run(["ps", app_b.as_str()]).stdout_str();
    assert!(table.contains("sleep 1002"), "{table}");
    assert_eq!(runsc.state(&app_b)["status"], "running");
    assert_eq!(runsc.state(&pod)["status"], "running");
    assert_eq!(sh(&runsc, &app_b, "cat /shared/msg").stdout_str(), "from-a\n");

    // Deleting B by force kills its processes and leaves the sandbox.
    let out = runsc.run(["delete", "--force", app_b.as_str()]);
    assert!(out.success(), "{out}");
    assert!(!pid_alive(i64::from(b_pid)));
    assert_eq!(runsc.state(&pod)["status"], "running");
    assert_eq!(pids_of(&runsc, &pod), [1]);

    // A new app joins, then the sandbox goes with everything in it.
    let b2 = runsc.new_id("b2");
    let b2_pid = create_and_start(&runsc, &b_bundle, &b2);
    wait_until(Duration::from_secs(20), "B2 running", || {
        sh(&runsc, &b2, "cat /own").success()
    });
    let out = runsc.run(["delete", "--force", pod.as_str()]);
    assert!(out.success(), "{out}");
    assert_eq!(wait_exit_code(b2_pid), 137, "the app dies with its sandbox");
    let _ = wait_exit_code(sandbox_pid);
    let state = runsc.run(["state", b2.as_str()]);
    assert!(!state.success(), "the app's state goes with the sandbox\n{state}");

    // Nothing is left: processes, mounts, cgroups, state.
    assert_eq!(host_processes_mentioning(&root), []);
    for b in [&sandbox_bundle, &a_bundle, &b_bundle, &c_bundle] {
        assert_eq!(host_processes_mentioning(&b.path().to_string_lossy()), []);
    }
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    for b in [&sandbox_bundle, &a_bundle, &b_bundle, &c_bundle] {
        let path = b.path().to_string_lossy().into_owned();
        assert!(!mounts.contains(&path), "a mount of {path} is left\n{mounts}");
    }
    assert!(!mounts.contains(&*empty_dir.path().to_string_lossy()), "{mounts}");
    for id in [&pod, &app_a, &app_b, &app_c, &b2] {
        assert!(cgroups_of(id).is_empty(), "cgroup of {id} left: {:?}", cgroups_of(id));
    }
    let left: Vec<_> = fs::read_dir(runsc.root())
        .expect("state root")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "state left behind: {left:?}");
}

#[test]
fn pod_on_ptrace() {
    pod_on("ptrace");
}

#[test]
fn pod_on_systrap() {
    pod_on("systrap");
}

/// Without the annotations (or naming no live sandbox) nothing changes:
/// the container gets a sandbox of its own, or create fails cleanly.
#[test]
fn annotations_naming_no_sandbox_fail_cleanly() {
    if !busybox_present() {
        return;
    }
    let runsc = Runsc::new();
    let id = runsc.new_id("orphan");
    let bundle = pod_bundle("x", "exit 0", vec![], "container", "no-such-sandbox");
    let out = runsc.create(&bundle, &id, &[]);
    runsc_tests::assert_clean_failure(&out, "create in a missing sandbox");
    assert!(out.stderr_str().contains("no-such-sandbox"), "{out}");
    assert!(!runsc.root().join(&id).exists());
}

/// Signals, `kill --all`, a tty exec, a container deleted before it
/// started, and killing the sandbox (not deleting it) under live apps.
fn members_follow_their_sandbox(platform: &str) {
    if !busybox_present() {
        return;
    }
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let runsc = Runsc::on_platform(platform);
    let pod = runsc.new_id("pod");
    let sandbox_bundle = pod_bundle("pause", "exec /bin/busybox sleep 1000", vec![], "sandbox", &pod);
    let sandbox_pid = create_and_start(&runsc, &sandbox_bundle, &pod);

    // Deleted before it ever ran: its loaded init goes, the pod stays.
    let never = runsc.new_id("never");
    let never_bundle = pod_bundle("never", "exec /bin/busybox sleep 1003", vec![], "container", &pod);
    let out = runsc.create(&never_bundle, &never, &[]);
    assert!(out.success(), "{out}");
    let out = sh(&runsc, &pod, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '");
    assert!(
        out.stdout_str().contains("sleep 1003"),
        "the loaded init is a process\n{out}"
    );
    let out = runsc.run(["delete", "--force", never.as_str()]);
    assert!(out.success(), "{out}");
    wait_until(Duration::from_secs(10), "the unstarted init to go", || {
        !sh(&runsc, &pod, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
            .stdout_str()
            .contains("sleep 1003")
    });

    // SIGTERM to an app's init; --all reaches its exec'd processes too.
    let app = runsc.new_id("app");
    let app_bundle = pod_bundle(
        "app",
        "trap 'exit 3' TERM; while :; do /bin/busybox sleep 1; done",
        vec![],
        "container",
        &pod,
    );
    let app_pid = create_and_start(&runsc, &app_bundle, &app);
    let execd = runsc.spawn(["exec", app.as_str(), BUSYBOX, "sleep", "30"]);
    wait_until(Duration::from_secs(20), "the exec'd sleep", || {
        runsc.run(["ps", app.as_str()]).stdout_str().contains("sleep 30")
    });
    // A tty exec in the app.
    let socket = app_bundle.path().join("console.sock");
    let script = "[ -t 0 ] && [ -t 1 ] && cat /own; exit 4";
    let seen = exec_on_a_tty(&runsc, &app, &socket, &[BUSYBOX, "sh", "-c", script]);
    assert_eq!(
        seen, "app\r\n",
        "the app's own file, through a pty (as exec.rs's tty test sees it)"
    );

    let out = runsc.run(["kill", "--all", app.as_str(), "TERM"]);
    assert!(out.success(), "{out}");
    let execd = execd.wait(Duration::from_secs(20));
    assert_eq!(execd.code(), Some(128 + 15), "{execd}");
    assert_eq!(wait_exit_code(app_pid), 3, "the init's TERM handler");
    let out = runsc.run(["delete", app.as_str()]);
    assert!(out.success(), "{out}");

    // An app with a terminal: its init's stdio is a pty whose master goes
    // to the console socket, as for a container of its own.
    let tty = runsc.new_id("tty");
    let tty_bundle = pod_bundle(
        "tty",
        "[ -t 0 ] && [ -t 1 ] && cat /own; exit 2",
        vec![],
        "container",
        &pod,
    );
    let mut spec = tty_bundle.spec();
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
    }
    tty_bundle.save_spec(&spec);
    let pid_file = tty_bundle.path().join("tty.pid");
    let pid_arg = ["--pid-file", pid_file.to_str().expect("utf-8")];
    let master = create_and_start_on_a_tty(&runsc, &tty_bundle, &tty, &pid_arg);
    assert_eq!(read_to_hangup(master), "tty\r\n");
    let tty_pid = read_pid_file(&pid_file);
    assert_eq!(wait_exit_code(tty_pid), 2);
    let out = runsc.run(["delete", tty.as_str()]);
    assert!(out.success(), "{out}");

    // Killing the sandbox ends its apps, which then report SIGKILL.
    let last = runsc.new_id("last");
    let last_pid = create_and_start(&runsc, &app_bundle, &last);
    let last_rootfs = app_bundle.rootfs().to_string_lossy().into_owned();
    wait_until(Duration::from_secs(20), "the last app running", || {
        sh(&runsc, &last, "cat /own").success()
    });
    let out = runsc.run(["kill", pod.as_str(), "KILL"]);
    assert!(out.success(), "{out}");
    assert_eq!(wait_exit_code(sandbox_pid), 137);
    assert_eq!(wait_exit_code(last_pid), 137);
    assert_eq!(runsc.state(&last)["status"], "stopped");
    wait_until(Duration::from_secs(10), "the app's gofer to go", || {
        host_processes_mentioning(&last_rootfs).is_empty()
    });
    for id in [&last, &pod] {
        let out = runsc.run(["delete", id.as_str()]);
        assert!(out.success(), "{out}");
    }
    assert!(host_processes_mentioning(&runsc.root().to_string_lossy()).is_empty());
    assert!(cgroups_of(&pod).is_empty());
    assert_eq!(fs::read_dir(runsc.root()).expect("root").count(), 0);
}

#[test]
fn members_follow_their_sandbox_on_ptrace() {
    members_follow_their_sandbox("ptrace");
}

#[test]
fn members_follow_their_sandbox_on_systrap() {
    members_follow_their_sandbox("systrap");
}
