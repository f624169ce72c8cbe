//! runsc driven by containerd's runc v2 shim, through `ctr`: the shim runs
//! runsc as its runc (`--runc-binary`), with runc's global flags (`--root`,
//! `--log`, `--log-format json`) and verbs (create, start, exec --process
//! --detach, kill, kill --all, delete, delete --force, pause, resume, ps
//! --format json). Each test has a containerd of its own
//! (`runsc_tests::containerd`), and images are built locally.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runsc_tests::containerd::Containerd;
use runsc_tests::daemons::{mounts_below, pids_mentioning, require_tools};
use runsc_tests::images::{busybox, BUSYBOX_REF};
use runsc_tests::{run, runsc_bin, unique_name, Output};

const TOOLS: [&str; 5] = ["containerd", "ctr", "containerd-shim-runc-v2", "umoci", "skopeo"];

/// A containerd with the busybox image imported, or `None` to skip.
fn setup() -> Option<Containerd> {
    if !require_tools(&TOOLS) {
        return None;
    }
    let image = busybox();
    let c = Containerd::start();
    c.import(&image.oci_archive);
    Some(c)
}

/// `ctr run` flags that make the runc shim run runsc with its state in our
/// containerd's directory.
fn runsc_flags(c: &Containerd) -> Vec<String> {
    vec![
        "--runc-binary".into(),
        runsc_bin().display().to_string(),
        "--runc-root".into(),
        c.runc_root().display().to_string(),
    ]
}

/// `ctr run [--rm] RUNSC_FLAGS EXTRA IMAGE ID ARGS...`.
fn ctr_run(c: &Containerd, extra: &[&str], id: &str, args: &[&str]) -> Output {
    let mut argv: Vec<String> = vec!["run".into()];
    argv.extend(runsc_flags(c));
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.push(BUSYBOX_REF.into());
    argv.push(id.into());
    argv.extend(args.iter().map(|s| s.to_string()));
    c.ctr(&argv)
}

/// Waits until task `id` has status `want` (`ctr task ls`).
fn wait_for_task_status(c: &Containerd, id: &str, want: &str) {
    c.wait_for_task_status(id, want, Duration::from_secs(20));
}

fn remove(c: &Containerd, id: &str) {
    c.ctr_ok(["task", "rm", "-f", id]);
    c.ctr_ok(["containers", "rm", id]);
}

#[test]
fn ctr_run_prints_and_reports_exit_codes() {
    let Some(c) = setup() else { return };
    let out = ctr_run(&c, &["--rm"], &unique_name("echo"), &["echo", "hello from runsc"]);
    assert!(out.success(), "{out}\n{}", c.log());
    assert_eq!(out.stdout_str(), "hello from runsc\n", "{out}");

    let out = ctr_run(&c, &["--rm"], &unique_name("exit"), &["sh", "-c", "exit 3"]);
    assert_eq!(out.code(), Some(3), "{out}");

    // Images that log to /dev/stdout and /dev/stderr (nginx's does): the
    // shim's FIFOs open again through /proc/self/fd.
    let script = "echo to-stdout > /dev/stdout && echo to-stderr > /dev/stderr";
    let out = ctr_run(&c, &["--rm"], &unique_name("devstdout"), &["sh", "-c", script]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "to-stdout\n", "{out}");
    assert!(out.stderr_str().contains("to-stderr"), "{out}");

    // A missing executable is create's error, in the shim's words from our
    // JSON log (`--log-format json`).
    let out = ctr_run(&c, &["--rm"], &unique_name("missing"), &["/no/such/binary"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr_str().contains("/no/such/binary") && out.stderr_str().contains("no such file"),
        "{out}"
    );
}

#[test]
fn ctr_task_exec_pause_metrics_and_kill() {
    let Some(c) = setup() else { return };
    let id = unique_name("sleeper");
    let out = ctr_run(&c, &["-d"], &id, &["sleep", "100"]);
    assert!(out.success(), "{out}\n{}", c.log());
    wait_for_task_status(&c, &id, "RUNNING");

    // A second process, its output and its exit status.
    let out = c.ctr([
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "echo from exec; exit 5",
    ]);
    assert_eq!(out.code(), Some(5), "{out}");
    assert_eq!(out.stdout_str(), "from exec\n", "{out}");

    // pause/resume freeze the whole sandbox.
    c.ctr_ok(["task", "pause", &id]);
    wait_for_task_status(&c, &id, "PAUSED");
    let state = runsc_state(&c, &id);
    assert_eq!(state["status"], "paused", "{state}");
    // A frozen sandbox cannot start a process: a clear error, no hang.
    let out = c.ctr(["task", "exec", "--exec-id", "e-paused", &id, "true"]);
    assert!(!out.success() && !out.timed_out, "{out}");
    assert!(out.stderr_str().contains("paused"), "{out}");
    c.ctr_ok(["task", "resume", &id]);
    wait_for_task_status(&c, &id, "RUNNING");
    let out = c.ctr(["task", "exec", "--exec-id", "e2", &id, "echo", "alive"]);
    assert_eq!(out.stdout_str(), "alive\n", "{out}");

    // The shim's metrics come from the sandbox's own cgroups (cpuacct is
    // one of them: a sandbox that has barely run used far less than a second).
    let out = c.ctr_ok(["task", "metrics", &id]);
    let usage: u64 = metric(&out.stdout_str(), "cpuacct.usage").unwrap_or_else(|| panic!("{out}"));
    assert!(usage > 0 && usage < 60_000_000_000, "cpuacct.usage {usage}\n{out}");
    // `ctr task ps` lists host pids (runsc ps --format json): the sandbox's.
    let out = c.ctr_ok(["task", "ps", &id]);
    let init_pid = c
        .task_pid(&id)
        .unwrap_or_else(|| panic!("no pid for {id}\n{}", c.ctr(["task", "ls"])));
    assert!(out.stdout_str().contains(&init_pid.to_string()), "{out}");

    // runsc events --stats reads the same cgroups.
    let events = run_runsc(&c, &["events", "--stats", &id]);
    assert!(events.success(), "{events}");
    let v: serde_json::Value = serde_json::from_str(events.stdout_str().trim()).expect("events JSON");
    assert_eq!(
        (v["type"].as_str(), v["id"].as_str()),
        (Some("stats"), Some(id.as_str()))
    );
    assert!(v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 2, "{v}");
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0, "{v}");

    // SIGTERM (the default of `ctr task kill`) stops the sleeping init.
    c.ctr_ok(["task", "kill", &id]);
    wait_for_task_status(&c, &id, "STOPPED");
    remove(&c, &id);
    assert!(!c.runc_root().join(c.namespace()).join(&id).exists());
}

#[test]
fn update_applies_to_the_sandbox_cgroup() {
    let Some(c) = setup() else { return };
    let id = unique_name("upd");
    let out = ctr_run(&c, &["-d"], &id, &["sleep", "100"]);
    assert!(out.success(), "{out}");
    let resources = r#"{"memory":{"limit":209715200},"pids":{"limit":300}}"#;
    let out = run_runsc_with_input(&c, &["update", "--resources", "-", &id], resources);
    assert!(out.success(), "{out}");
    let events = run_runsc(&c, &["events", "--stats", &id]);
    let v: serde_json::Value = serde_json::from_str(events.stdout_str().trim()).expect("events JSON");
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 209_715_200, "{v}");
    assert_eq!(v["data"]["pids"]["limit"], 300, "{v}");
    // The guest sees its new limit as MemTotal (200 MiB = 204800 kB).
    let out = c.ctr([
        "task",
        "exec",
        "--exec-id",
        "mem",
        &id,
        "grep",
        "MemTotal",
        "/proc/meminfo",
    ]);
    assert_eq!(out.stdout_str().split_whitespace().nth(1), Some("204800"), "{out}");
    c.ctr_ok(["task", "kill", "-s", "SIGKILL", &id]);
    wait_for_task_status(&c, &id, "STOPPED");
    remove(&c, &id);
}

#[test]
fn ctr_run_with_a_terminal() {
    let Some(c) = setup() else { return };
    if !require_tools(&["script"]) {
        return;
    }
    // script(1) gives ctr a terminal; ctr then asks for one (-t) and the
    // shim hands runsc a console socket.
    let mut argv: Vec<String> = vec!["run".into(), "-t".into(), "--rm".into()];
    argv.extend(runsc_flags(&c));
    argv.extend([BUSYBOX_REF.to_string(), unique_name("tty")]);
    argv.extend(["sh", "-c", "'[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; exit 4'"].map(String::from));
    let ctr_line = c.ctr_command(&argv);
    let line = format!(
        "{} {}",
        ctr_line.get_program().to_string_lossy(),
        ctr_line
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    let out = run(cmd, runsc_tests::default_timeout());
    assert_eq!(out.code(), Some(4), "{out}");
    assert!(out.stdout_str().contains("on-a-terminal"), "{out}");
}

/// 100 containers created, started and deleted through containerd leave
/// nothing behind: no process, mount, cgroup, state file or bundle.
#[test]
fn many_cycles_leave_nothing_behind() {
    let Some(c) = setup() else { return };
    let cycles: usize = std::env::var("RUNSC_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    // One warm-up cycle creates what stays by design: the namespace's
    // directories (containerd's, the runc root's, the parent cgroup).
    let out = ctr_run(&c, &["--rm"], "warmup", &["true"]);
    assert!(out.success(), "{out}\n{}", c.log());
    let before = Snapshot::take(&c);
    let started = Instant::now();
    for i in 0..cycles {
        let id = format!("cycle-{i}");
        let out = ctr_run(&c, &["--rm"], &id, &["true"]);
        assert!(out.success(), "cycle {i}: {out}\n{}", c.log());
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{cycles} create/start/delete cycles through containerd: {elapsed:?} ({:?} each)",
        elapsed / cycles.max(1) as u32
    );
    // containerd removes the bundle a moment after the task is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = Snapshot::take(&c);
    while after != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = Snapshot::take(&c);
    }
    before.assert_same(&after);
}

/// What a container could leave behind, for the namespace of `c`.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    processes: BTreeSet<String>,
    mounts: BTreeSet<PathBuf>,
    cgroups: BTreeSet<PathBuf>,
    files: BTreeSet<PathBuf>,
}

impl Snapshot {
    fn take(c: &Containerd) -> Snapshot {
        let dir = c.dir().to_string_lossy().into_owned();
        // Every runsc process and shim of this containerd names its directory.
        let processes = pids_mentioning(&dir)
            .into_iter()
            .filter(|&pid| Some(pid) != containerd_pid(c))
            .map(|pid| format!("{pid}: {}", cmdline(pid)))
            .filter(|line| line.contains("runsc") || line.contains("shim"))
            .collect();
        let mounts = mounts_below(c.dir()).into_iter().collect();
        let mut cgroups = BTreeSet::new();
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            walk_dirs(&hierarchy.path().join(c.namespace()), &mut cgroups);
        }
        let mut files = BTreeSet::new();
        walk_all(&c.runc_root(), &mut files);
        walk_all(&c.state_dir(), &mut files);
        Snapshot {
            processes,
            mounts,
            cgroups,
            files,
        }
    }

    fn assert_same(&self, after: &Snapshot) {
        assert_eq!(self.processes, after.processes, "processes left behind");
        assert_eq!(self.mounts, after.mounts, "mounts left behind");
        assert_eq!(self.cgroups, after.cgroups, "cgroups left behind");
        assert_eq!(self.files, after.files, "files left behind");
    }
}

fn containerd_pid(c: &Containerd) -> Option<i32> {
    // containerd's own command line names its config in our directory.
    let config = c.dir().join("config.toml").display().to_string();
    pids_mentioning(&config)
        .into_iter()
        .find(|&pid| cmdline(pid).starts_with("containerd "))
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_string())
        .unwrap_or_default()
}

fn walk_dirs(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    out.insert(dir.to_path_buf());
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk_dirs(&entry.path(), out);
        }
    }
}

fn walk_all(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        out.insert(entry.path());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk_all(&entry.path(), out);
        }
    }
}

/// `runsc --root <the shim's root> ARGS...`.
fn runsc_command(c: &Containerd, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(runsc_bin());
    cmd.arg("--root").arg(c.runc_root().join(c.namespace())).args(args);
    cmd
}

fn run_runsc(c: &Containerd, args: &[&str]) -> Output {
    run(runsc_command(c, args), runsc_tests::default_timeout())
}

fn run_runsc_with_input(c: &Containerd, args: &[&str], input: &str) -> Output {
    runsc_tests::run_with_input(runsc_command(c, args), input.as_bytes(), runsc_tests::default_timeout())
}

fn runsc_state(c: &Containerd, id: &str) -> serde_json::Value {
    let out = run_runsc(c, &["state", id]);
    assert!(out.success(), "{out}");
    serde_json::from_str(&out.stdout_str()).expect("state JSON")
}

/// A value of `ctr task metrics`' table.
fn metric(table: &str, name: &str) -> Option<u64> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// The configuration `runsc install --containerd` writes is one containerd
/// reads: `containerd config dump` shows both runtimes with our binary.
#[test]
fn install_writes_a_config_containerd_accepts() {
    if !require_tools(&["containerd"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config.toml");
    let mut cmd = std::process::Command::new(runsc_bin());
    cmd.arg("install").arg("--containerd").arg("--config-file").arg(&config);
    let out = run(cmd, runsc_tests::default_timeout());
    assert!(out.success(), "{out}");
    let mut cmd = std::process::Command::new("containerd");
    cmd.arg("--config").arg(&config).args(["config", "dump"]);
    let out = run(cmd, runsc_tests::default_timeout());
    assert!(out.success(), "{out}");
    let dump = out.stdout_str();
    let runtimes = "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
    assert!(dump.contains(&format!("[{runtimes}.runsc.options]")), "{dump}");
    assert!(
        dump.contains(&format!("BinaryName = \"{}\"", runsc_bin().display())),
        "{dump}"
    );
    assert!(dump.contains(&format!("[{runtimes}.runsc-shim]")), "{dump}");
    assert!(dump.contains("runtime_type = \"io.containerd.runsc.v1\""), "{dump}");
}

/// The kernel's OOM killer ending a sandbox over its memory limit is an
/// `oom` event of `runsc events` (the guest's tmpfs is the Sentry's memory,
/// charged to the sandbox's cgroup).
#[test]
fn oom_kill_is_an_event() {
    let Some(c) = setup() else { return };
    let id = unique_name("oom");
    let out = ctr_run(
        &c,
        &[
            "-d",
            "--memory-limit",
            "64000000",
            "--mount",
            "type=tmpfs,src=tmpfs,dst=/big,options=rw",
        ],
        &id,
        &[
            "sh",
            "-c",
            "sleep 1; dd if=/dev/zero of=/big/f bs=1M count=400; echo survived",
        ],
    );
    assert!(out.success(), "{out}");
    let events = run_runsc(&c, &["events", "--interval", "30s", &id]);
    assert!(events.success(), "{events}");
    let lines: Vec<serde_json::Value> = events
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect();
    assert_eq!(
        lines.first().map(|e| e["type"].clone()),
        Some("stats".into()),
        "{events}"
    );
    assert!(
        lines.iter().any(|e| e["type"] == "oom" && e["id"] == id.as_str()),
        "no oom event\n{events}"
    );
    wait_for_task_status(&c, &id, "STOPPED");
    remove(&c, &id);
}
