//! `--preserve-fds N` (runc's semantics): the caller's fds 3 .. 3+N-1 reach
//! the container's init (`run`/`create`) or an exec'd process at the same
//! numbers, after stdio; a fd number that is not open is an error.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use runsc_tests::daemons::{require_tools, Podman};
use runsc_tests::images::{busybox, BUSYBOX_REF};
use runsc_tests::{
    assert_clean_failure, busybox_bundle, compile, default_timeout, guest_path, runsc_bin, spawn_with_stdin, Bundle,
    Link, Output, Runsc,
};

const BUSYBOX: &str = "/bin/busybox";

fn busybox_present() -> bool {
    if Path::new(BUSYBOX).exists() {
        return true;
    }
    eprintln!("skipped: {BUSYBOX} is missing");
    false
}

/// Moves the command's stdin to fd 3 (stdin becomes /dev/null), runs the
/// shell redirections in `$1` (more fds), then execs the command.
const WITH_FDS: &str = r#"exec 3>&0 0</dev/null; if [ -n "$1" ]; then eval "exec $1"; fi; shift; exec "$@""#;

/// Runs `cmd` with the write end of a new pipe as its fd 3, after the
/// shell redirections `more` (e.g. `4<'/path'`); returns its output and
/// what was written to the pipe.
fn run_with_fds(cmd: Command, more: &str) -> (Output, String) {
    run_with_pipe(cmd, more, OFlag::empty())
}

/// [`run_with_fds`] with `flags` (O_NONBLOCK) set on the pipe's write end.
fn run_with_pipe(cmd: Command, more: &str, flags: OFlag) -> (Output, String) {
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe");
    fcntl(write_end.as_raw_fd(), FcntlArg::F_SETFL(flags)).expect("F_SETFL");
    let mut sh = Command::new("/bin/sh");
    sh.args(["-c", WITH_FDS, "sh", more])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    let running = spawn_with_stdin(sh, Stdio::from(write_end));
    let out = running.wait(default_timeout());
    (out, drain(read_end))
}

/// `4<'path'`: `path` opened read-only as fd 4.
fn read_fd4(path: &Path) -> String {
    format!("4<'{}'", path.display())
}

/// Everything in the pipe once its writers are gone (or 10s passed).
fn drain(read_end: OwnedFd) -> String {
    fcntl(read_end.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let mut pipe = std::fs::File::from(read_end);
    let mut got = Vec::new();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < Duration::from_secs(10), "the pipe never closed");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("reading the pipe: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// What the guest writes to fd 3 about fd 5, which it was not given.
const PROBE_FD5: &str = "if echo x >&5; then echo fd5-open >&3; else echo fd5-closed >&3; fi";

/// `runsc run --preserve-fds N --bundle B ID`.
fn run_preserving(runsc: &Runsc, n: u32, bundle: &Bundle, id: &str) -> Command {
    let n = n.to_string();
    runsc.command([
        OsStr::new("run"),
        OsStr::new("--preserve-fds"),
        OsStr::new(&n),
        OsStr::new("--bundle"),
        bundle.path().as_os_str(),
        OsStr::new(id),
    ])
}

#[test]
fn run_passes_a_pipe_and_a_file() {
    if !busybox_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::write(&data, "line-from-file\nsecond\n").expect("data file");
    let script = format!(
        "echo on-stdout; echo hi >&3; read line <&4; echo \"read:$line\" >&3; \
         {BUSYBOX} cat <&4 >&3; {PROBE_FD5}"
    );
    let bundle = busybox_bundle(&script, Vec::new());
    let runsc = Runsc::new();
    let id = runsc.new_id("pfds");
    let cmd = run_preserving(&runsc, 2, &bundle, &id);
    let (out, piped) = run_with_fds(cmd, &read_fd4(&data));
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout_str(), "on-stdout\n", "{out}");
    assert_eq!(piped, "hi\nread:line-from-file\nsecond\nfd5-closed\n", "{out}");
}

#[test]
fn run_with_a_closed_fd_fails_cleanly() {
    if !busybox_present() {
        return;
    }
    let bundle = busybox_bundle("echo should-not-run >&3", Vec::new());
    let runsc = Runsc::new();
    let id = runsc.new_id("pfds-closed");
    // fd 3 is the pipe; fd 4 is not open.
    let cmd = run_preserving(&runsc, 2, &bundle, &id);
    let (out, piped) = run_with_fds(cmd, "");
    assert_clean_failure(&out, "run --preserve-fds 2 without fd 4");
    assert!(out.stderr_str().contains("fd 4 is not open"), "{out}");
    assert_eq!(piped, "");
    let list = runsc.run(["list", "-q"]);
    assert!(!list.stdout_str().contains(&id), "no state is left\n{list}");
}

#[test]
fn exec_passes_a_pipe() {
    if !busybox_present() {
        return;
    }
    let bundle = busybox_bundle(&format!("exec {BUSYBOX} sleep 60"), Vec::new());
    let runsc = Runsc::new();
    let id = runsc.new_id("pfds-exec");
    let path = bundle.path().to_str().expect("utf-8 bundle path");
    let created = runsc.run(["create", "--bundle", path, id.as_str()]);
    assert!(created.success(), "{created}");
    let started = runsc.run(["start", id.as_str()]);
    assert!(started.success(), "{started}");

    let script = "echo via-exec >&3; if echo x >&4; then echo fd4-open >&3; else echo fd4-closed >&3; fi";
    let cmd = runsc.command(["exec", "--preserve-fds", "1", id.as_str(), BUSYBOX, "sh", "-c", script]);
    let (out, piped) = run_with_fds(cmd, "");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(piped, "via-exec\nfd4-closed\n", "{out}");

    // fd 4 is not open in the caller.
    let cmd = runsc.command(["exec", "--preserve-fds", "2", id.as_str(), BUSYBOX, "true"]);
    let (out, _) = run_with_fds(cmd, "");
    assert_clean_failure(&out, "exec --preserve-fds 2 without fd 4");
    assert!(out.stderr_str().contains("fd 4 is not open"), "{out}");

    let deleted = runsc.run(["delete", "--force", id.as_str()]);
    assert!(deleted.success(), "{deleted}");
}

/// `podman run --preserve-fds 1`: conmon passes its fd 3 on to `runsc
/// create --preserve-fds 1`.
#[test]
fn podman_run_passes_a_pipe() {
    if !require_tools(&["podman", "conmon", "umoci", "skopeo"]) {
        return;
    }
    let image = busybox();
    let runsc = runsc_bin();
    let p = Podman::new(&[("runsc", runsc.as_path())]);
    let archive = image.oci_archive.display().to_string();
    let out = p.podman(["load", "-i", &archive]);
    assert!(out.success(), "{out}");
    let cgroup_parent = p.cgroup_parent();
    let cmd = p.podman_command([
        "--runtime",
        "runsc",
        "run",
        "--rm",
        "--cgroup-parent",
        cgroup_parent.as_str(),
        "--preserve-fds",
        "1",
        BUSYBOX_REF,
        "sh",
        "-c",
        "echo via-podman >&3; echo done",
    ]);
    let (out, piped) = run_with_fds(cmd, "");
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout_str(), "done\n", "{out}");
    assert_eq!(piped, "via-podman\n", "{out}");
}

/// The types, status flags and offsets of preserved fds are Linux's: the
/// same program prints the same natively and in the container.
#[test]
fn preserved_fds_look_as_on_linux() {
    let prog = compile("preserved_fds", Link::Static);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, log) = (tmp.path().join("data"), tmp.path().join("log"));
    std::fs::write(&data, "first line\nsecond\n").expect("data file");
    std::fs::write(&log, "old\n").expect("log file");
    // fd 4 read-only, its offset past the first line; fd 5 appending.
    let more = format!("{}; read -r _ <&4; exec 5>>'{}'", read_fd4(&data), log.display());
    let args = ["3", "4", "5", "6"];
    let mut native = Command::new(&prog);
    native.args(args);
    let (native_out, native_piped) = run_with_pipe(native, &more, OFlag::O_NONBLOCK);
    assert_eq!(native_out.code(), Some(0), "{native_out}");
    assert!(native_out.stdout_str().contains("fd 6: fstat"), "{native_out}");
    assert_eq!(native_piped, "");

    let mut argv = vec![guest_path(&prog)];
    argv.extend(args.iter().map(|a| a.to_string()));
    let bundle = Bundle::builder().binary(&prog).args(argv).build();
    let runsc = Runsc::new();
    let id = runsc.new_id("pfds-flags");
    let cmd = run_preserving(&runsc, 3, &bundle, &id);
    let (out, _) = run_with_pipe(cmd, &more, OFlag::O_NONBLOCK);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout_str(), native_out.stdout_str(), "{out}");
}

/// A busybox bundle running `sh -c script` with the CRI annotations of
/// `kind` (`sandbox` or `container`) in pod `sandbox`.
fn pod_bundle(script: &str, kind: &str, sandbox: &str) -> Bundle {
    let bundle = busybox_bundle(script, Vec::new());
    let mut spec = bundle.spec();
    let annotations = [
        ("io.kubernetes.cri.container-type".to_string(), kind.to_string()),
        ("io.kubernetes.cri.sandbox-id".to_string(), sandbox.to_string()),
    ];
    spec.set_annotations(Some(annotations.into_iter().collect()));
    bundle.save_spec(&spec);
    bundle
}

/// A pod's app container (which joins the running sandbox through
/// `container-wait`) gets its preserved fds too.
#[test]
fn pod_app_container_gets_a_pipe() {
    if !busybox_present() {
        return;
    }
    let runsc = Runsc::new();
    let sandbox = runsc.new_id("pfds-pod");
    let sandbox_bundle = pod_bundle(&format!("exec {BUSYBOX} sleep 60"), "sandbox", &sandbox);
    let path = sandbox_bundle.path().to_str().expect("utf-8 bundle path");
    let created = runsc.run(["create", "--bundle", path, sandbox.as_str()]);
    assert!(created.success(), "{created}");
    let started = runsc.run(["start", sandbox.as_str()]);
    assert!(started.success(), "{started}");

    let app = runsc.new_id("pfds-app");
    let app_bundle = pod_bundle(
        &format!("echo from-app >&3; read l <&4; echo \"read:$l\" >&3; {PROBE_FD5}"),
        "container",
        &sandbox,
    );
    let cmd = run_preserving(&runsc, 2, &app_bundle, &app);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::write(&data, "in-the-pod\n").expect("data file");
    let (out, piped) = run_with_fds(cmd, &read_fd4(&data));
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(piped, "from-app\nread:in-the-pod\nfd5-closed\n", "{out}");

    for id in [&app, &sandbox] {
        let deleted = runsc.run(["delete", "--force", id.as_str()]);
        assert!(deleted.success(), "{deleted}");
    }
}
