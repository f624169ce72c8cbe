//! `runsc do`: a host command run sandboxed on the host's root filesystem (read-only
//! underneath, writes kept in memory), in the caller's current directory and
//! environment.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use runsc_tests::{assert_no_panic, default_timeout, run, unique, unique_name, Output, Runsc};

fn runsc_do(runsc: &Runsc, args: &[&str]) -> Output {
    let mut argv = vec!["do", "--"];
    argv.extend_from_slice(args);
    runsc.run(argv)
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.success(), "{what}\n{out}");
    assert_no_panic(out, what);
}

/// A host path that nothing else uses: under /tmp, named after this process.
fn scratch_path(tag: &str) -> PathBuf {
    PathBuf::from("/tmp").join(unique_name(&format!("runsc-do-test-{tag}")))
}

/// Removes `p` if a broken sandbox wrote it through to the host, and reports whether
/// it existed.
fn leaked(p: &Path) -> bool {
    let existed = p.symlink_metadata().is_ok();
    if existed {
        let _ = fs::remove_file(p);
    }
    existed
}

#[test]
fn echo_prints() {
    let runsc = Runsc::new();
    let out = runsc_do(&runsc, &["/bin/echo", "hi"]);
    assert_ok(&out, "runsc do -- /bin/echo hi");
    assert_eq!(out.stdout_str(), "hi\n", "{out}");
}

#[test]
fn exit_status_is_the_commands() {
    let runsc = Runsc::new();
    let out = runsc_do(&runsc, &["/bin/sh", "-c", "exit 7"]);
    assert!(!out.timed_out, "{out}");
    assert_eq!(out.code(), Some(7), "{out}");
    assert_no_panic(&out, "runsc do -- sh -c 'exit 7'");
}

#[test]
fn environment_is_the_callers() {
    let runsc = Runsc::new();
    let n = unique();
    let name = format!("RUNSC_DO_MARKER_{}_{n}", std::process::id());
    let value = format!("marker value {n}");
    let mut cmd = runsc.command(["do", "--", "/usr/bin/env"]);
    cmd.env(&name, &value);
    let out = run(cmd, default_timeout());
    assert_ok(&out, "runsc do -- /usr/bin/env");
    let stdout = out.stdout_str();
    let lines: Vec<&str> = stdout.lines().collect();
    let marker = format!("{name}={value}");
    assert!(lines.contains(&marker.as_str()), "{marker} missing\n{out}");
    if let Ok(path) = std::env::var("PATH") {
        let want = format!("PATH={path}");
        assert!(lines.contains(&want.as_str()), "{want} missing\n{out}");
    }
}

#[test]
fn current_directory_is_the_callers() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let want = fs::canonicalize(dir.path()).expect("canonicalize");
    let mut cmd = runsc.command(["do", "--", "/bin/pwd", "-P"]);
    cmd.current_dir(dir.path());
    let out = run(cmd, default_timeout());
    assert_ok(&out, "runsc do -- /bin/pwd -P");
    assert_eq!(out.stdout_str(), format!("{}\n", want.display()), "{out}");
}

#[test]
fn ls_of_root_matches_native() {
    let runsc = Runsc::new();
    let native = || {
        let mut cmd = Command::new("/bin/ls");
        cmd.arg("/").env("LC_ALL", "C");
        let out = run(cmd, default_timeout());
        assert!(out.success(), "native ls /\n{out}");
        out.stdout_str()
    };
    let before = native();
    let mut cmd = runsc.command(["do", "--", "/bin/ls", "/"]);
    cmd.env("LC_ALL", "C");
    let out = run(cmd, default_timeout());
    let after = native();
    assert_ok(&out, "runsc do -- /bin/ls /");
    // Another user of the machine may change / between the runs: accept either.
    let got = out.stdout_str();
    assert!(
        got == before || got == after,
        "sandboxed ls / differs from native\nnative:\n{before}\nsandboxed:\n{got}"
    );
}

#[test]
fn reads_host_files() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("input.txt");
    let content = format!("line one\nline two {}\n", unique_name("x"));
    fs::write(&file, &content).expect("write input");
    let out = runsc_do(&runsc, &["/bin/cat", &file.to_string_lossy()]);
    assert_ok(&out, "runsc do -- /bin/cat FILE");
    assert_eq!(out.stdout_str(), content, "{out}");
}

#[test]
fn writes_stay_in_memory() {
    let runsc = Runsc::new();
    let in_tmp = scratch_path("tmp");
    let dir = tempfile::tempdir().expect("tempdir");
    let in_dir = dir.path().join("new-file");
    let existing = dir.path().join("existing");
    fs::write(&existing, "original\n").expect("write existing");

    let script = format!(
        "echo x > {tmp} && cat {tmp} && echo y > {new} && cat {new} && \
         echo changed > {old} && cat {old} && rm {old} && test ! -e {old} && echo removed",
        tmp = in_tmp.display(),
        new = in_dir.display(),
        old = existing.display(),
    );
    let out = runsc_do(&runsc, &["/bin/sh", "-c", &script]);
    let leaked_tmp = leaked(&in_tmp);
    let leaked_dir = leaked(&in_dir);
    assert_ok(&out, "runsc do -- sh -c 'echo x > ...'");
    assert_eq!(out.stdout_str(), "x\ny\nchanged\nremoved\n", "{out}");
    assert!(!leaked_tmp, "{} was written to the host", in_tmp.display());
    assert!(!leaked_dir, "{} was written to the host", in_dir.display());
    assert_eq!(
        fs::read_to_string(&existing).ok().as_deref(),
        Some("original\n"),
        "a host file was changed or removed through the sandbox"
    );
}

#[test]
fn root_ro_refuses_writes() {
    let runsc = Runsc::new();
    let target = scratch_path("ro");
    let script = format!("echo x > {}", target.display());
    let out = runsc.run(["do", "--root-ro", "--", "/bin/sh", "-c", script.as_str()]);
    let leaked_target = leaked(&target);
    assert!(!out.timed_out, "{out}");
    assert_no_panic(&out, "runsc do --root-ro");
    assert!(
        out.status.is_some_and(|s| s != 0),
        "a write with --root-ro must fail\n{out}"
    );
    assert!(
        out.stderr_str().contains("Read-only file system"),
        "the shell should report EROFS\n{out}"
    );
    assert!(!leaked_target, "{} was written to the host", target.display());

    // Reading still works.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("readable");
    fs::write(&file, "still readable\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let out = runsc.run(["do", "--root-ro", "--", "/bin/cat", file.as_str()]);
    assert_ok(&out, "runsc do --root-ro -- cat FILE");
    assert_eq!(out.stdout_str(), "still readable\n", "{out}");
}

const BUSYBOX: &str = "/bin/busybox";

fn require_busybox() {
    if !Path::new(BUSYBOX).exists() {
        panic!("{BUSYBOX} is missing: .ci/run installs it (busybox-static)");
    }
}

/// `ps` walks /proc: every pid directory's stat and cmdline.
#[test]
fn busybox_ps_lists_sandbox_processes() {
    require_busybox();
    let runsc = Runsc::new();
    // Waits (boundedly) for the background child to have exec'd sleep, so
    // that ps does not catch it still running the shell's image.
    let script = "/bin/busybox sleep 30 & child=$!; n=0; \
        while [ \"$(/bin/busybox tr '\\0' ' ' < /proc/$child/cmdline)\" != '/bin/busybox sleep 30 ' ] \
        && [ $n -lt 1000 ]; do n=$((n+1)); done; \
        /bin/busybox ps -o pid,ppid,comm,args; kill $child";
    let out = runsc_do(&runsc, &[BUSYBOX, "sh", "-c", script]);
    assert_ok(&out, "runsc do -- busybox sh -c 'sleep & ps'");
    let stdout = out.stdout_str();
    let rows: Vec<Vec<&str>> = stdout.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    // PID PPID COMMAND ARGS...: the shell is init, sleep and ps its children.
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let row_of = |args: &str| rows.iter().find(|r| r.len() > 3 && r[3..].join(" ") == words(args));
    let shell = row_of(&format!("{BUSYBOX} sh -c {script}")).unwrap_or_else(|| panic!("no shell row\n{out}"));
    assert_eq!(shell[..3], ["1", "0", "busybox"], "{out}");
    let sleep = row_of(&format!("{BUSYBOX} sleep 30")).unwrap_or_else(|| panic!("no sleep row\n{out}"));
    assert_eq!(sleep[1], "1", "{out}");
    let ps = row_of(&format!("{BUSYBOX} ps -o pid,ppid,comm,args")).unwrap_or_else(|| panic!("no ps row\n{out}"));
    assert_eq!(ps[1], "1", "{out}");
}

/// `top` reads /proc/stat, meminfo, loadavg and each process's stat.
#[test]
fn busybox_top_batch_shows_itself() {
    require_busybox();
    let runsc = Runsc::new();
    let out = runsc_do(&runsc, &[BUSYBOX, "top", "-n1", "-b"]);
    assert_ok(&out, "runsc do -- busybox top -n1 -b");
    let stdout = out.stdout_str();
    assert!(stdout.starts_with("Mem: "), "{out}");
    assert!(stdout.contains("\nLoad average: "), "{out}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.ends_with("top -n1 -b")),
        "no row for top itself\n{out}"
    );
}
