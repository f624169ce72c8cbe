//! `containerd-shim-runsc-v1` driven by a private containerd through `ctr`:
//! run, exit status, kill, exec and metrics (Stats).

use std::path::Path;
use std::time::Duration;

use runsc_tests::containerd::{shim_bin, Containerd, RUNSC_RUNTIME, SHIM_TOOLS};
use runsc_tests::daemons::require_tools;
use runsc_tests::images::BUSYBOX_REF as BUSYBOX;
use runsc_tests::{poll_until, unique_name, Output};

const NS: &str = "runsc-shim-test";
const TIMEOUT: Duration = Duration::from_secs(60);

fn start() -> Option<Containerd> {
    if !require_tools(&SHIM_TOOLS) {
        return None;
    }
    Some(Containerd::with_runsc_shim(NS))
}

/// `ctr run --rm` of busybox with our shim (by runtime name, or by path).
fn ctr_run(ctrd: &Containerd, runtime: &str, id: &str, cmd: &[&str]) -> Output {
    let config = ctrd.runsc_config().display().to_string();
    let mut args = vec![
        "run",
        "--rm",
        "--runtime",
        runtime,
        "--runtime-config-path",
        &config,
        BUSYBOX,
        id,
    ];
    args.extend_from_slice(cmd);
    ctrd.ctr(args)
}

/// `ctr run -d` of busybox `sleep 1000` with our shim, as task `id`.
fn run_sleeper(ctrd: &Containerd, id: &str) {
    let config = ctrd.runsc_config().display().to_string();
    let args = [
        "run",
        "-d",
        "--runtime",
        RUNSC_RUNTIME,
        "--runtime-config-path",
        &config,
        BUSYBOX,
        id,
        "sleep",
        "1000",
    ];
    ctrd.ctr_ok(args);
}

/// Waits (up to TIMEOUT) until task `id` is STOPPED.
fn wait_stopped(ctrd: &Containerd, id: &str) {
    ctrd.wait_for_task_status(id, "STOPPED", TIMEOUT);
}

#[test]
fn echo_prints_and_exits_zero() {
    let Some(ctrd) = start() else {
        return;
    };
    let out = ctr_run(&ctrd, RUNSC_RUNTIME, &unique_name("echo"), &["echo", "hi"]);
    assert!(out.success(), "{out}\n{}", ctrd.log());
    assert_eq!(out.stdout_str(), "hi\n", "{out}");
}

#[test]
fn stdin_reaches_the_container() {
    let Some(ctrd) = start() else {
        return;
    };
    let config = ctrd.runsc_config().display().to_string();
    let ctr = format!(
        "printf 'line one\\nline two\\n' | ctr --address {} -n {NS} run --rm --runtime {RUNSC_RUNTIME} \
         --runtime-config-path {config} {BUSYBOX} {} sh -c 'cat; echo done'",
        ctrd.socket().display(),
        unique_name("stdin")
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &ctr]);
    let out = runsc_tests::run(cmd, TIMEOUT);
    assert!(out.success(), "{out}\n{}", ctrd.log());
    assert_eq!(out.stdout_str(), "line one\nline two\ndone\n", "{out}");
}

#[test]
fn exit_status_is_reported_with_the_shim_given_by_path() {
    let Some(ctrd) = start() else {
        return;
    };
    let shim = shim_bin().display().to_string();
    let out = ctr_run(&ctrd, &shim, &unique_name("exit3"), &["sh", "-c", "exit 3"]);
    assert_eq!(out.code(), Some(3), "{out}\n{}", ctrd.log());
}

#[test]
fn exec_metrics_and_kill_of_a_running_container() {
    let Some(ctrd) = start() else {
        return;
    };
    let id = unique_name("sleeper");
    run_sleeper(&ctrd, &id);
    assert_eq!(ctrd.task_status(&id).as_deref(), Some("RUNNING"));

    // Exec: a second process, its output and its exit status.
    let out = ctrd.ctr([
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "echo from exec; exit 4",
    ]);
    assert_eq!(out.stdout_str(), "from exec\n", "{out}\n{}", ctrd.log());
    assert_eq!(out.code(), Some(4), "{out}");

    // Stats: the sandbox cgroup's memory (and CPU) figures.
    let out = ctrd.ctr_ok(["task", "metrics", &id]);
    let usage = out
        .stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix("memory.usage_in_bytes").map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no memory.usage_in_bytes in:\n{out}"));
    assert!(
        usage.parse::<u64>().is_ok_and(|v| v > 0),
        "memory usage {usage:?}\n{out}"
    );
    assert!(out.stdout_str().contains("cpuacct.usage"), "{out}");

    // Pids: runsc ps.
    ctrd.ctr_ok(["task", "ps", &id]);

    // Kill (SIGTERM): the task stops, with 128+15.
    ctrd.ctr_ok(["task", "kill", &id]);
    wait_stopped(&ctrd, &id);
    ctrd.ctr_ok(["task", "rm", &id]);
    ctrd.ctr_ok(["containers", "rm", &id]);
}

#[test]
fn kill_all_stops_init_and_execs() {
    let Some(ctrd) = start() else {
        return;
    };
    let id = unique_name("killall");
    run_sleeper(&ctrd, &id);
    ctrd.ctr_ok(["task", "kill", "--all", "--signal", "SIGKILL", &id]);
    wait_stopped(&ctrd, &id);
    ctrd.ctr_ok(["task", "rm", &id]);
}

/// When the shim dies, containerd runs `containerd-shim-runsc-v1 delete`,
/// which must remove the container from runsc (killing its sandbox),
/// detach the rootfs and print a DeleteResponse.
#[test]
fn a_dead_shims_container_is_cleaned_up_by_delete() {
    let Some(ctrd) = start() else {
        return;
    };
    let id = unique_name("orphan");
    run_sleeper(&ctrd, &id);
    let state = ctrd.runsc_root().join(&id).join("state.json");
    assert!(state.exists(), "no runsc state at {}", state.display());
    let shims = ctrd.shim_pids();
    assert_eq!(shims.len(), 1, "shims {shims:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(shims[0]), nix::sys::signal::Signal::SIGKILL)
        .expect("kill the shim");
    // containerd notices, runs the shim's `delete`, and reports the task gone.
    poll_until(TIMEOUT, || match ctrd.task_status(&id) {
        None if !ctrd.runsc_root().join(&id).exists() => Ok(()),
        task => Err(task),
    })
    .unwrap_or_else(|task| panic!("not cleaned up: task {task:?}\n{}", ctrd.log()));
    ctrd.ctr_ok(["containers", "rm", &id]);
    assert!(
        ctrd.log().contains("cleaning up dead shim"),
        "containerd did not run the shim's delete:\n{}",
        ctrd.log()
    );
}

/// `ctr run -t` (under script(1), which gives ctr a terminal): runsc sends
/// the pty master over the shim's console socket; the container's stdio is
/// a terminal of the sandbox and its output comes through as runc's does.
#[test]
fn terminal_through_the_console_socket() {
    let tools = [&SHIM_TOOLS[..], &["script"]].concat();
    if !require_tools(&tools) {
        return;
    }
    let ctrd = Containerd::with_runsc_shim(NS);
    let config = ctrd.runsc_config().display().to_string();
    let script = "[ -t 0 ] && [ -t 1 ] && tty && stty size && echo on-a-terminal";
    let out = ctr_run_on_a_terminal(
        &ctrd,
        &format!("--runtime {RUNSC_RUNTIME} --runtime-config-path {config}"),
        script,
    );
    assert!(out.success(), "{out}\n{}", ctrd.log());
    let stdout = out.stdout_str();
    // The container's terminal turns "\n" into "\r\n" and so does
    // script's; no stray byte (a NUL, or its echo "^@") comes first.
    assert!(
        stdout.starts_with("/dev/pts/0\r\r\n"),
        "not the sandbox's /dev/pts/0: {stdout:?}"
    );
    assert!(stdout.contains("on-a-terminal\r\r\n"), "{out}");
    if Path::new("/usr/bin/containerd-shim-runc-v2").exists() && Path::new("/usr/sbin/runc").exists() {
        let runc = ctr_run_on_a_terminal(&ctrd, "--runtime io.containerd.runc.v2", script);
        assert!(runc.success(), "{runc}");
        assert_eq!(stdout, runc.stdout_str(), "runsc and runc differ");
    }
}

/// Runs `script` in a busybox container with `ctr run -t` under script(1),
/// whose stdin stays open until it ends: at EOF script(1) types ^D into
/// ctr's terminal, and once ctr has made that terminal raw Linux hands
/// the pending end-of-file over as a NUL byte, which ctr passes on to the
/// container (where its terminal echoes "^@", runc's as well as ours).
fn ctr_run_on_a_terminal(ctrd: &Containerd, runtime: &str, script: &str) -> Output {
    let ctr = format!(
        "ctr --address {} -n {NS} run --rm -t {runtime} {BUSYBOX} {} sh -c '{script}'",
        ctrd.socket().display(),
        unique_name("tty")
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &ctr, "/dev/null"]);
    let (stdin, held_open) = nix::unistd::pipe().expect("stdin pipe");
    let out = runsc_tests::spawn_with_stdin(cmd, std::process::Stdio::from(stdin)).wait(TIMEOUT);
    drop(held_open);
    out
}

/// containerd restarts while a container runs: it finds the shim again
/// (the bundle's `address` file) and can still exec in and kill the task.
#[test]
fn containerd_reconnects_to_a_running_shim() {
    let Some(mut ctrd) = start() else {
        return;
    };
    let id = unique_name("survivor");
    run_sleeper(&ctrd, &id);
    let shims = ctrd.shim_pids();
    ctrd.restart();
    assert_eq!(ctrd.shim_pids(), shims, "the shim was replaced");
    assert_eq!(ctrd.task_status(&id).as_deref(), Some("RUNNING"), "{}", ctrd.log());
    let out = ctrd.ctr(["task", "exec", "--exec-id", "after", &id, "echo", "still here"]);
    assert_eq!(out.stdout_str(), "still here\n", "{out}\n{}", ctrd.log());
    // The exit event reaches the new containerd (the shim dials again).
    let events = runsc_tests::spawn(ctrd.ctr_command(["events"]));
    std::thread::sleep(Duration::from_millis(300));
    ctrd.ctr_ok(["task", "kill", "--signal", "SIGKILL", &id]);
    poll_until(TIMEOUT, || {
        let seen = String::from_utf8_lossy(&events.stdout_so_far()).into_owned();
        if seen.contains("/tasks/exit") {
            Ok(())
        } else {
            Err(seen)
        }
    })
    .unwrap_or_else(|seen| panic!("no /tasks/exit event: {seen}\n{}", ctrd.log()));
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(events.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    events.wait(TIMEOUT);
    assert_eq!(ctrd.task_status(&id).as_deref(), Some("STOPPED"));
    ctrd.ctr_ok(["task", "rm", &id]);
}

/// Pause and Resume (`runsc pause`/`resume`), and Update of the memory
/// limit (`runsc update --resources`), seen in the task's status and metrics.
#[test]
fn pause_resume_and_update() {
    let Some(ctrd) = start() else {
        return;
    };
    let id = unique_name("frozen");
    run_sleeper(&ctrd, &id);
    ctrd.ctr_ok(["task", "pause", &id]);
    assert_eq!(ctrd.task_status(&id).as_deref(), Some("PAUSED"));
    ctrd.ctr_ok(["task", "resume", &id]);
    assert_eq!(ctrd.task_status(&id).as_deref(), Some("RUNNING"));

    ctrd.ctr_ok(["task", "kill", "--signal", "SIGKILL", &id]);
    wait_stopped(&ctrd, &id);
    ctrd.ctr_ok(["task", "rm", &id]);
}
