//! The walls around the Sentry, seen from the host: it runs as an
//! unprivileged id in a user namespace of its own with no capability, holds
//! only the fds it needs (none of them a host directory, even one leaked to
//! `runsc`), and a Sentry that panics or breaks its seccomp filter takes the
//! whole sandbox down with an error and leaves nothing behind.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use runsc_tests::{bind, busybox_bundle, pid_alive, spawn, Bundle, Running, Runsc};

/// What the kernel calls an id without a mapping: the Sentry's host ids.
fn overflow_id(kind: &str) -> u32 {
    fs::read_to_string(format!("/proc/sys/kernel/overflow{kind}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534)
}

/// The value of `key:` in /proc/PID/status, whitespace-normalised.
fn status_field(pid: i64, key: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every live process whose parent is `pid`, and theirs, recursively.
fn descendants(pid: i64) -> Vec<i64> {
    let mut all = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for entry in fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            // "pid (comm) S ppid ...": the fields after the last ')'.
            let ppid = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
                .and_then(|p| p.parse::<i64>().ok());
            if ppid == Some(parent) {
                all.push(child);
                parents.push(child);
            }
        }
    }
    all
}

fn cmdline(pid: i64) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The sandbox's gofer: the child of the Sentry running `runsc gofer`.
fn gofer_of(sentry: i64) -> i64 {
    descendants(sentry)
        .into_iter()
        .find(|&p| cmdline(p).contains(" gofer "))
        .unwrap_or_else(|| panic!("no gofer under the Sentry {sentry}"))
}

/// Waits until the container printed `ready`.
fn wait_ready(running: &Running) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&running.stdout_so_far()).contains("ready") {
        assert!(Instant::now() < deadline, "the container did not get ready");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sentry_pid(runsc: &Runsc, id: &str) -> i64 {
    runsc.state(id)["pid"].as_i64().expect("state has a pid")
}

/// The sandbox's cgroup directory (v1 memory controller or v2).
fn cgroup_dir(id: &str) -> PathBuf {
    if Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
        Path::new("/sys/fs/cgroup/memory/runsc").join(id)
    } else {
        Path::new("/sys/fs/cgroup/runsc").join(id)
    }
}

fn ns_of(pid: &str, ns: &str) -> PathBuf {
    fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns link")
}

#[test]
fn the_sentry_runs_as_nobody_without_capabilities_and_the_gofer_keeps_file_ownership() {
    let shared = tempfile::tempdir().expect("tempdir");
    let script = "touch /rw/by-root; touch /rw/chowned; chown 1234:5678 /rw/chowned; id -u; echo ready; \
                  exec /bin/busybox sleep 60";
    let bundle = busybox_bundle(script, vec![bind("/rw", shared.path(), &["rbind", "rw"])]);
    let runsc = Runsc::new();
    let id = runsc.new_id("userns");
    let running = runsc.spawn(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    wait_ready(&running);
    let sentry = sentry_pid(&runsc, &id);

    // On the host: the overflow ids, no capability in any set, filtered.
    let (uid, gid) = (overflow_id("uid"), overflow_id("gid"));
    assert_eq!(status_field(sentry, "Uid"), format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(status_field(sentry, "Gid"), format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(status_field(sentry, "Groups"), "");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(sentry, set), "0000000000000000", "{set}");
    }
    assert_eq!(status_field(sentry, "NoNewPrivs"), "1");
    assert_eq!(status_field(sentry, "Seccomp"), "2");
    // Its own user namespace, in which only its root exists.
    let sentry_str = sentry.to_string();
    assert_ne!(ns_of(&sentry_str, "user"), ns_of("self", "user"));
    let uid_map = fs::read_to_string(format!("/proc/{sentry}/uid_map")).expect("uid_map");
    assert_eq!(
        uid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", &uid.to_string(), "1"]
    );
    let setgroups = fs::read_to_string(format!("/proc/{sentry}/setgroups")).expect("setgroups");
    assert_eq!(setgroups.trim(), "deny");

    // The gofer stays host root in the host's user namespace: the guest's
    // files get the owners the guest gives them.
    let gofer = gofer_of(sentry);
    assert_eq!(status_field(gofer, "Uid"), "0 0 0 0");
    assert_eq!(ns_of(&gofer.to_string(), "user"), ns_of("self", "user"));
    let by_root = fs::metadata(shared.path().join("by-root")).expect("by-root");
    assert_eq!((by_root.uid(), by_root.gid()), (0, 0));
    let chowned = fs::metadata(shared.path().join("chowned")).expect("chowned");
    assert_eq!((chowned.uid(), chowned.gid()), (1234, 5678));
    assert!(
        String::from_utf8_lossy(&running.stdout_so_far()).starts_with("0\n"),
        "the guest is root inside"
    );

    // The control socket was bound as host root before the Sentry gave that
    // up; host root still reaches it, others may not connect.
    let socket = fs::metadata(runsc.root().join(&id).join("control.sock")).expect("control.sock");
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.uid(), 0);
    assert_eq!(socket.permissions().mode() & 0o002, 0, "not world-writable");
    let ps = runsc.run(["ps", id.as_str()]);
    assert!(ps.success() && ps.stdout_str().contains("sleep"), "{ps}");
    let exec = runsc.run(["exec", id.as_str(), "/bin/busybox", "cat", "/rw/chowned"]);
    assert!(exec.success(), "{exec}");

    let killed = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(killed.success(), "{killed}");
    let out = running.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(137), "{out}");
}

/// What an fd of the Sentry is, by its /proc link and the file behind it.
fn fd_kind(link: &str, meta: &fs::Metadata) -> &'static str {
    if meta.is_dir() {
        "directory"
    } else if link.starts_with("pipe:") {
        "pipe"
    } else if link.starts_with("socket:") {
        "socket"
    } else if link.starts_with("/memfd:runsc-") {
        "memory file"
    } else if link == "anon_inode:[pidfd]" {
        "pidfd"
    } else if link.contains("/exec.fifo") && meta.file_type().is_fifo() {
        "exec fifo"
    } else if link == "/dev/null" || link.starts_with("/dev/pts/") {
        "terminal or null"
    } else if meta.is_file() {
        "regular file"
    } else {
        "other"
    }
}

#[test]
fn the_sentry_holds_only_its_own_fds_and_never_a_host_directory() {
    let leaked = tempfile::tempdir().expect("tempdir");
    let bundle = busybox_bundle(
        "cat /etc/passwd >/dev/null; echo ready; exec /bin/busybox sleep 60",
        Vec::new(),
    );
    let runsc = Runsc::new();
    let id = runsc.new_id("fds");
    // The caller of runsc leaks a host directory on fd 7 (no FD_CLOEXEC),
    // as in CVE-2024-21626.
    let inner = runsc.command(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("exec 7<\"$LEAKED\"; exec \"$@\"")
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args())
        .env("LEAKED", leaked.path());
    let running = spawn(cmd);
    wait_ready(&running);
    let sentry = sentry_pid(&runsc, &id);

    let mut kinds = BTreeSet::new();
    for entry in fs::read_dir(format!("/proc/{sentry}/fd")).expect("fd dir").flatten() {
        let link = fs::read_link(entry.path()).expect("fd link");
        let link = link.to_string_lossy().into_owned();
        let meta = fs::metadata(entry.path()).expect("fd metadata");
        let kind = fd_kind(&link, &meta);
        assert!(
            kind != "directory" && kind != "other",
            "the Sentry holds fd {:?} -> {link} ({kind})",
            entry.file_name()
        );
        assert!(
            !link.starts_with(&*leaked.path().to_string_lossy()),
            "the leaked fd reached the Sentry"
        );
        kinds.insert(kind);
    }
    for needed in ["memory file", "socket", "exec fifo", "pipe"] {
        assert!(kinds.contains(needed), "no {needed} among {kinds:?}");
    }

    let killed = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(killed.success(), "{killed}");
    running.wait(Duration::from_secs(30));
}

/// Sends a control request line and reads whatever comes back (nothing
/// when the sandbox dies of it).
fn control_request(runsc: &Runsc, id: &str, line: &str) {
    let mut conn = UnixStream::connect(runsc.root().join(id).join("control.sock")).expect("connect");
    conn.write_all(format!("{line}\n").as_bytes()).expect("request");
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
}

/// A sandbox started with the test-only hooks, sleeping once ready; its
/// Sentry, gofer and every process under it.
struct Doomed {
    runsc: Runsc,
    id: String,
    _bundle: Bundle,
    running: Option<Running>,
    log: tempfile::NamedTempFile,
    sentry: i64,
    processes: Vec<i64>,
}

impl Doomed {
    /// Waits for the foreground `run`.
    fn wait(&mut self) -> runsc_tests::Output {
        let running = self.running.take().expect("waited once");
        running.wait(Duration::from_secs(30))
    }
}

fn start_doomed(prefix: &str) -> Doomed {
    let bundle = busybox_bundle("echo ready; exec /bin/busybox sleep 60", Vec::new());
    let runsc = Runsc::new();
    let id = runsc.new_id(prefix);
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut cmd = runsc.command([
        "--log".as_ref(),
        log.path().as_os_str(),
        "run".as_ref(),
        "--bundle".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    cmd.env("RUNSC_TESTONLY_HOOKS", "1");
    let running = spawn(cmd);
    wait_ready(&running);
    let sentry = sentry_pid(&runsc, &id);
    let mut processes = descendants(sentry);
    processes.push(sentry);
    gofer_of(sentry);
    assert!(cgroup_dir(&id).exists(), "the sandbox has a cgroup");
    Doomed {
        runsc,
        id,
        _bundle: bundle,
        running: Some(running),
        log,
        sentry,
        processes,
    }
}

/// Nothing of the sandbox is left: no process, no state, no cgroup, no
/// mount that names it.
fn assert_nothing_left(d: &Doomed) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.processes.iter().any(|&p| pid_alive(p)) {
        assert!(Instant::now() < deadline, "processes of the sandbox survive");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!d.runsc.root().join(&d.id).exists(), "the state directory is left");
    assert!(!cgroup_dir(&d.id).exists(), "the cgroup is left");
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(&d.id) && !mounts.contains("runsc-gofer-"),
        "a mount is left"
    );
    let state = d.runsc.run(["state", d.id.as_str()]);
    assert!(!state.success(), "{state}");
}

#[test]
fn a_sentry_panic_ends_the_sandbox_with_an_error_and_leaves_nothing() {
    let mut d = start_doomed("panic");
    control_request(&d.runsc, &d.id, "testonly-panic");
    let out = d.wait();
    assert_eq!(out.code(), Some(134), "the exit status of an abort\n{out}");
    assert!(
        out.stderr_str().contains("the Sentry panicked") && out.stderr_str().contains("test-only panic"),
        "run reports the panic\n{out}"
    );
    let log = fs::read_to_string(d.log.path()).expect("log");
    assert!(log.contains("the Sentry panicked"), "the panic is logged:\n{log}");
    assert_nothing_left(&d);
}

#[test]
fn a_panicked_detached_sandbox_is_stopped_and_deleted_cleanly() {
    let bundle = busybox_bundle("exec /bin/busybox sleep 60", Vec::new());
    let runsc = Runsc::new();
    let id = runsc.new_id("panic-detached");
    let mut cmd = runsc.command(["run", "--detach", "--bundle", &bundle.path().to_string_lossy(), &id]);
    cmd.env("RUNSC_TESTONLY_HOOKS", "1");
    let out = runsc_tests::run(cmd, Duration::from_secs(30));
    assert!(out.success(), "{out}");
    let sentry = sentry_pid(&runsc, &id);
    let mut processes = descendants(sentry);
    processes.push(sentry);
    control_request(&runsc, &id, "testonly-panic");
    runsc.wait_for_status(&id, "stopped", Duration::from_secs(10));
    let deleted = runsc.run(["delete", id.as_str()]);
    assert!(deleted.success(), "{deleted}");
    assert!(processes.iter().all(|&p| !pid_alive(p)), "processes survive");
    assert!(!runsc.root().join(&id).exists(), "the state directory is left");
    assert!(!cgroup_dir(&id).exists(), "the cgroup is left");
}

/// What the kernel log holds now, a line each.
fn dmesg_lines() -> Vec<String> {
    let out = Command::new("dmesg").output().expect("dmesg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The kernel's audit lines for seccomp kills (type=1326) of `pid`.
fn seccomp_kills_of(lines: &[String], pid: i64) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains("type=1326") && l.contains(&format!(" pid={pid} ")))
        .cloned()
        .collect()
}

/// socket(2)'s x86-64 number, as the audit log names it.
const SYS_SOCKET: i64 = 41;

/// Asks a sandbox's Sentry to make the refused syscall `what` (see
/// runsc/src/testonly.rs), which must kill it with SIGSYS before the call
/// returns (the hook logs an error if it does); then nothing of the sandbox
/// is left. With `audit_nr`, the kernel's audit line must name that
/// syscall number too, unless the kernel logged meanwhile that it
/// suppressed audit records: they go through printk's rate limit, which
/// other kills (the platform's attack tests) may have used up.
fn assert_seccomp_kills_the_sandbox(what: &str, audit_nr: Option<i64>) {
    let mut d = start_doomed("seccomp");
    let logged_before = dmesg_lines().len();
    control_request(&d.runsc, &d.id, &format!("testonly-seccomp-violation {what}"));
    let out = d.wait();
    assert_eq!(out.code(), Some(128 + 31), "killed by SIGSYS\n{out}");
    let log = fs::read_to_string(d.log.path()).expect("log");
    let hook_ran = log
        .lines()
        .any(|l| l.contains("making a syscall the seccomp table refuses") && l.contains(what));
    assert!(hook_ran, "the hook ran for {what}:\n{log}");
    assert!(!log.contains("the filter is missing"), "{what} returned:\n{log}");
    if let Some(nr) = audit_nr {
        // kauditd prints the record asynchronously.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = dmesg_lines();
            let kills = seccomp_kills_of(&lines, d.sentry);
            if kills
                .iter()
                .any(|l| l.contains(&format!(" syscall={nr} ")) && l.contains("sig=31"))
            {
                break;
            }
            let new = lines.get(logged_before.min(lines.len())..).unwrap_or_default();
            let suppressed = new
                .iter()
                .any(|l| l.contains("kauditd_printk_skb") && l.contains("suppressed"));
            if Instant::now() >= deadline && suppressed {
                eprintln!("the kernel suppressed audit records meanwhile: no audit line to check");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no audit line for {what} (syscall {nr}) of the Sentry {}: {kills:?}",
                d.sentry
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_nothing_left(&d);
}

#[test]
fn a_seccomp_violation_kills_the_sandbox_and_is_logged_by_the_kernel() {
    assert_seccomp_kills_the_sandbox("socket", Some(SYS_SOCKET));
}

/// The ptrace platform's own requests pass the filter (every other test
/// shows that); one it never makes (PTRACE_POKEDATA) kills the Sentry. With
/// systrap, any ptrace does.
#[test]
fn a_ptrace_request_the_platform_never_makes_kills_the_sandbox() {
    assert_seccomp_kills_the_sandbox("ptrace", None);
}

/// A futex operation nothing in the Sentry uses (FUTEX_LOCK_PI) kills it.
#[test]
fn a_futex_operation_the_sentry_never_uses_kills_the_sandbox() {
    assert_seccomp_kills_the_sandbox("futex", None);
}

/// `cmd` run as the Sentry's host ids (setpriv(1)).
fn as_sentry_ids(cmd: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={}", overflow_id("uid")))
        .arg(format!("--regid={}", overflow_id("gid")))
        .arg("--clear-groups")
        .args(cmd);
    c
}

/// Whether a process with the Sentry's host ids can attach to `pid` with
/// strace (it then runs until `timeout` stops it: 124).
fn attachable_by_sentry_ids(pid: u32) -> runsc_tests::Output {
    let pid = pid.to_string();
    let cmd = as_sentry_ids(&["timeout", "1", "strace", "-e", "trace=none", "-p", &pid]);
    runsc_tests::run(cmd, Duration::from_secs(10))
}

/// A host process running as the Sentry's host ids cannot ptrace it (it
/// can ptrace an ordinary process of those ids): the Sentry's user
/// namespace is not the tracer's, and the tracer has no CAP_SYS_PTRACE
/// over it. Under systrap, where no stub is traced, the Sentry is
/// moreover non-dumpable.
#[test]
fn a_host_process_with_the_sentry_ids_cannot_trace_the_sentry() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: needs strace(1)");
        return;
    }
    let mut plain = as_sentry_ids(&["sleep", "5"]);
    let mut plain = plain.spawn().expect("sleep as nobody");
    let control = attachable_by_sentry_ids(plain.id());
    let _ = plain.kill();
    let _ = plain.wait();
    assert_eq!(
        control.code(),
        Some(124),
        "strace attaches to a plain process\n{control}"
    );

    for platform in ["ptrace", "systrap"] {
        let bundle = busybox_bundle("echo ready; exec /bin/busybox sleep 60", Vec::new());
        let runsc = Runsc::on_platform(platform);
        let id = runsc.new_id("notrace");
        let running = runsc.spawn(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
        wait_ready(&running);
        let sentry = sentry_pid(&runsc, &id);
        // A non-dumpable process's /proc files (not its directory) belong
        // to root; a dumpable one's to its euid.
        let owner = fs::metadata(format!("/proc/{sentry}/status")).expect("status").uid();
        let dumpable_owner = if platform == "systrap" { 0 } else { overflow_id("uid") };
        assert_eq!(owner, dumpable_owner, "{platform}");
        let out = attachable_by_sentry_ids(sentry as u32);
        assert!(
            out.code() != Some(124) && out.stderr_str().contains("Operation not permitted"),
            "{platform}: a host process with the Sentry's ids attached to it\n{out}"
        );
        let killed = runsc.run(["kill", id.as_str(), "KILL"]);
        assert!(killed.success(), "{killed}");
        running.wait(Duration::from_secs(30));
    }
}

/// Host processes whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<(i64, String)> {
    let me = i64::from(std::process::id());
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i64>().ok()))
        .filter(|&p| p != me && pid_alive(p))
        .map(|p| (p, cmdline(p)))
        .filter(|(_, cmd)| cmd.contains(text))
        .collect()
}

/// A panic while the sandbox is being set up (right after confinement,
/// before the Sentry exists) ends `runsc do` and `runsc run` with the panic
/// reported and exit status 134; the gofer (its staging directory under a
/// private TMPDIR names it) and the sandbox process are gone.
#[test]
fn a_panic_during_set_up_ends_do_and_run_with_an_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let runsc = Runsc::new();
    let mut cmd = runsc.command(["do", "/bin/true"]);
    cmd.env("RUNSC_TESTONLY_HOOKS", "panic-after-confine")
        .env("TMPDIR", tmp.path());
    let out = runsc_tests::run(cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(134), "{out}");
    assert!(
        out.stderr_str().contains("the Sentry panicked") && out.stderr_str().contains("after confinement"),
        "{out}"
    );

    let bundle = busybox_bundle("echo never", Vec::new());
    let id = runsc.new_id("panic-setup");
    let mut cmd = runsc.command(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    cmd.env("RUNSC_TESTONLY_HOOKS", "panic-after-confine")
        .env("TMPDIR", tmp.path());
    let out = runsc_tests::run(cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(134), "{out}");
    assert!(out.stderr_str().contains("the Sentry panicked"), "{out}");
    assert!(!out.stdout_str().contains("never"), "{out}");
    assert!(!runsc.root().join(&id).exists(), "the state directory is left");
    assert!(!cgroup_dir(&id).exists(), "the cgroup is left");

    let deadline = Instant::now() + Duration::from_secs(10);
    let marker = tmp.path().to_string_lossy().into_owned();
    loop {
        let left: Vec<_> = processes_mentioning(&marker)
            .into_iter()
            .chain(processes_mentioning(&id))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "processes survive: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
