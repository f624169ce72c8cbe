//! runsc as a Docker runtime (`runtimes` in daemon.json, `docker run
//! --runtime=runsc`): dockerd 20.10 reaches runtimes only as runc-compatible
//! CLIs behind containerd's runc v2 shim. One private dockerd (on a private
//! containerd) per test; the image is a `docker import` of the local busybox
//! root file system.

use std::time::{Duration, Instant};

use runsc_tests::daemons::{require_tools, Dockerd};
use runsc_tests::images::busybox;
use runsc_tests::{run_with_input, runsc_bin, unique_name, Output};

const IMAGE: &str = "runsc-test/busybox:latest";
const TOOLS: [&str; 7] = [
    "dockerd",
    "docker",
    "containerd",
    "ctr",
    "containerd-shim-runc-v2",
    "umoci",
    "skopeo",
];

fn setup() -> Option<Dockerd> {
    if !require_tools(&TOOLS) {
        return None;
    }
    let image = busybox();
    let runsc = runsc_bin();
    let d = Dockerd::start(&[("runsc", runsc.as_path())]);
    let tar = image.rootfs_tar.display().to_string();
    let out = d.docker(["import", "-c", "CMD [\"/bin/sh\"]", &tar, IMAGE]);
    assert!(out.success(), "{out}\n{}", d.log());
    Some(d)
}

/// `docker run --rm --runtime=runsc --network none FLAGS IMAGE ARGS...`.
fn docker_run(d: &Dockerd, flags: &[&str], args: &[&str]) -> Output {
    d.docker(run_argv(flags, args))
}

fn run_argv(flags: &[&str], args: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = ["run", "--runtime=runsc", "--network", "none"]
        .map(String::from)
        .to_vec();
    argv.extend(flags.iter().map(|s| s.to_string()));
    argv.push(IMAGE.into());
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

#[test]
fn docker_run_output_exit_codes_and_stdin() {
    let Some(d) = setup() else { return };
    // The plain form, on dockerd's default network (none here: no bridge).
    let out = d.docker(["run", "--rm", "--runtime=runsc", IMAGE, "sh", "-c", "exit 7"]);
    assert_eq!(out.code(), Some(7), "{out}\n{}", d.log());

    let out = docker_run(&d, &["--rm"], &["echo", "hello from docker"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "hello from docker\n", "{out}");

    // -i: our stdin reaches the container and its EOF ends `cat`.
    let cmd = d.docker_command(run_argv(&["--rm", "-i"], &["sh", "-c", "cat; echo done"]));
    let out = run_with_input(cmd, b"line one\nline two\n", runsc_tests::default_timeout());
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "line one\nline two\ndone\n", "{out}");

    // Over its memory limit the sandbox is OOM-killed, and the shim's OOM
    // watch on the sandbox's cgroup tells Docker so.
    let name = unique_name("oom");
    let out = docker_run(
        &d,
        &[
            "--name",
            &name,
            "--memory",
            "64m",
            "--memory-swap",
            "64m",
            "--tmpfs",
            "/big",
        ],
        &["dd", "if=/dev/zero", "of=/big/f", "bs=1M", "count=400"],
    );
    assert_eq!(out.code(), Some(137), "{out}");
    let out = d.docker(["inspect", "-f", "{{.State.OOMKilled}}", &name]);
    assert_eq!(out.stdout_str().trim(), "true", "{out}");
    assert!(d.docker(["rm", &name]).success());

    // --init binds docker-init at /sbin/docker-init, a directory the image
    // does not have; it runs as pid 1 and starts the command.
    let out = docker_run(
        &d,
        &["--rm", "--init"],
        &["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"],
    );
    assert!(out.success(), "{out}");
    assert!(out.stdout_str().starts_with("/sbin/docker-init -- sh -c"), "{out}");

    // Docker's own mapping of a missing executable (127).
    let out = docker_run(&d, &["--rm"], &["/no/such/binary"]);
    assert_eq!(out.code(), Some(127), "{out}");
}

#[test]
fn docker_exec_stop_kill_pause_and_top() {
    let Some(d) = setup() else { return };
    let name = unique_name("sleeper");
    let out = docker_run(&d, &["-d", "--name", &name], &["sleep", "100"]);
    assert!(out.success(), "{out}\n{}", d.log());

    let out = d.docker(["exec", &name, "sh", "-c", "echo from exec; exit 4"]);
    assert_eq!(out.code(), Some(4), "{out}");
    assert_eq!(out.stdout_str(), "from exec\n", "{out}");
    let cmd = d.docker_command(["exec", "-i", &name, "cat"]);
    let out = run_with_input(cmd, b"to exec\n", runsc_tests::default_timeout());
    assert_eq!(out.stdout_str(), "to exec\n", "{out}");

    let out = d.docker(["pause", &name]);
    assert!(out.success(), "{out}");
    assert_eq!(inspect(&d, &name, "{{.State.Status}}"), "paused");
    let out = d.docker(["unpause", &name]);
    assert!(out.success(), "{out}");
    assert_eq!(inspect(&d, &name, "{{.State.Status}}"), "running");

    // `docker top` shows host processes: the sandbox's, not the host's init.
    let out = d.docker(["top", &name]);
    assert!(out.success(), "{out}");
    assert!(out.stdout_str().contains("runsc"), "{out}");
    assert!(!out.stdout_str().contains("/sbin/init"), "{out}");

    // `docker update` goes through `runsc update --resources -`.
    let out = d.docker(["update", "--memory", "64m", "--memory-swap", "128m", &name]);
    assert!(out.success(), "{out}");

    // sleep as the init has no SIGTERM handler: `docker stop` ends it at once.
    let started = Instant::now();
    let out = d.docker(["stop", &name]);
    assert!(out.success(), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "stop took {:?}",
        started.elapsed()
    );
    assert_eq!(inspect(&d, &name, "{{.State.Status}}"), "exited");

    // A shell that ignores SIGTERM still dies of `docker kill` (SIGKILL).
    let name2 = unique_name("stubborn");
    let out = docker_run(
        &d,
        &["-d", "--name", &name2],
        &["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
    );
    assert!(out.success(), "{out}");
    let out = d.docker(["kill", &name2]);
    assert!(out.success(), "{out}");
    let out = d.docker(["wait", &name2]);
    assert_eq!(out.stdout_str().trim(), "137", "{out}");
    let out = d.docker(["rm", &name, &name2]);
    assert!(out.success(), "{out}");
}

#[test]
fn docker_run_with_a_terminal() {
    if !require_tools(&["script"]) {
        return;
    }
    let Some(d) = setup() else { return };
    let cmd = d.docker_command(run_argv(
        &["--rm", "-t"],
        &["sh", "-c", "'[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; exit 6'"],
    ));
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            script.env(key, value);
        }
    }
    let out = runsc_tests::run(script, runsc_tests::default_timeout());
    assert_eq!(out.code(), Some(6), "{out}");
    assert!(out.stdout_str().contains("on-a-terminal"), "{out}");
}

fn inspect(d: &Dockerd, name: &str, format: &str) -> String {
    let out = d.docker(["inspect", "-f", format, name]);
    assert!(out.success(), "{out}");
    out.stdout_str().trim().to_string()
}

/// `runsc install` edits a live daemon.json so that dockerd, once
/// reloaded, runs containers with runsc under the new name; a second
/// install changes nothing.
#[test]
fn runsc_install_registers_with_a_running_dockerd() {
    let Some(d) = setup() else { return };
    let config = d.config_path().display().to_string();
    let install = || {
        let mut cmd = std::process::Command::new(runsc_bin());
        cmd.args(["install", "--runtime", "runsc-installed", "--config-file", &config]);
        runsc_tests::run(cmd, runsc_tests::default_timeout())
    };
    let out = install();
    assert!(out.success(), "{out}");
    let written = std::fs::read_to_string(d.config_path()).expect("daemon.json");
    let v: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(
        v["runtimes"]["runsc-installed"]["path"],
        runsc_bin().display().to_string()
    );
    assert_eq!(v["bridge"], "none", "other keys are kept: {written}");
    let out = install();
    assert!(out.stdout_str().contains("already installed"), "{out}");
    assert_eq!(std::fs::read_to_string(d.config_path()).expect("daemon.json"), written);

    d.reload_until_runtime("runsc-installed");
    let out = d.docker([
        "run",
        "--rm",
        "--runtime=runsc-installed",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "echo installed; exit 9",
    ]);
    assert_eq!(out.code(), Some(9), "{out}");
    assert_eq!(out.stdout_str(), "installed\n", "{out}");
}
