//! Processes, threads and signals as programs use them: pthreads contending on a
//! mutex and condition variable, and shell scripts with pipelines, subshells, command
//! substitution, traps, background jobs and `kill`, each compared with a native run.

use std::path::Path;
use std::process::Command;

use runsc_tests::{assert_same_as_native, compile, default_timeout, run, Link, Output, Runsc};

fn runsc_do(runsc: &Runsc, args: &[&str]) -> Output {
    let mut argv = vec!["do", "--"];
    argv.extend_from_slice(args);
    runsc.run(argv)
}

fn native_cmd(args: &[&str]) -> Output {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]).current_dir("/");
    run(cmd, default_timeout())
}

fn threads_match_native(link: Link) {
    let exe = compile("threads", link);
    let exe = exe.to_str().expect("utf-8 path");
    let args = [exe, "100000"];
    let nat = native_cmd(&args);
    assert!(nat.success(), "threads fails natively\n{nat}");
    let out = runsc_do(&Runsc::new(), &args);
    assert_same_as_native(&nat, &out, &format!("threads ({})", link.suffix()));
}

#[test]
fn pthreads_contend_on_mutex_and_condvar_static() {
    threads_match_native(Link::Static);
}

#[test]
fn pthreads_contend_on_mutex_and_condvar_dynamic() {
    threads_match_native(Link::Dynamic);
}

/// A script exercising what shells need from processes and signals. Its output
/// must not depend on timing or pids.
const SCRIPT: &str = r#"
set -e
echo start
echo piped | tr a-z A-Z | cat
x=$(echo substituted; echo twice)
echo "$x" | wc -l
( echo in-subshell; exit 3 ) || echo "subshell status $?"
trap 'echo trapped USR1' USR1
kill -USR1 $$
sleep 0.05 &
bg=$!
wait $bg
echo "background status $?"
sleep 5 &
victim=$!
kill -TERM $victim
wait $victim || echo "killed status $?"
for i in 1 2 3; do echo "loop $i"; done | sort -r
false || echo "false failed as it should"
sh -c 'exit 7' || echo "child status $?"
echo end
"#;

fn shell_matches_native(shell: &[&str]) {
    if !Path::new(shell[0]).exists() {
        panic!("{} is missing: .ci/run installs it (busybox-static)", shell[0]);
    }
    let args: Vec<&str> = shell.iter().copied().chain(["-c", SCRIPT]).collect();
    let shell = shell.join(" ");
    let nat = native_cmd(&args);
    assert!(nat.success(), "the script fails natively under {shell}\n{nat}");
    let out = runsc_do(&Runsc::new(), &args);
    assert_same_as_native(&nat, &out, &format!("shell script under {shell}"));
}

#[test]
fn dash_script_matches_native() {
    shell_matches_native(&["/bin/sh"]);
}

#[test]
fn busybox_script_matches_native() {
    shell_matches_native(&["/bin/busybox", "sh"]);
}

#[test]
fn fork_and_exec_many_children() {
    // A shell loop: 200 sequential fork+exec+wait cycles, all reaped.
    let script = "i=0; while [ $i -lt 200 ]; do /bin/true || exit 1; i=$((i+1)); done; echo $i";
    let out = runsc_do(&Runsc::new(), &["/bin/sh", "-c", script]);
    assert!(out.success() && out.stdout_str() == "200\n", "{out}");
    // A C program forking and executing 1,000 children, checking each exit status.
    let bench = compile("forkexec_bench", Link::Static);
    let truth = compile("true", Link::Static);
    let (bench, truth) = (bench.to_str().expect("utf-8"), truth.to_str().expect("utf-8"));
    let out = runsc_do(&Runsc::new(), &[bench, "1000", truth]);
    assert!(
        out.success() && out.stdout_str().starts_with("forkexec: 1000 runs"),
        "{out}"
    );
}

fn restart_matches_native(link: Link) {
    let exe = compile("restart", link);
    let exe = exe.to_str().expect("utf-8 path");
    let nat = native_cmd(&[exe]);
    assert!(nat.success(), "restart fails natively\n{nat}");
    let out = runsc_do(&Runsc::new(), &[exe]);
    assert_same_as_native(&nat, &out, &format!("restart ({})", link.suffix()));
}

/// A read blocked on a pipe and interrupted by a signal: restarted with
/// SA_RESTART, EINTR without (signal(7)).
#[test]
fn blocked_pipe_read_is_restarted_or_interrupted_like_linux() {
    restart_matches_native(Link::Dynamic);
}

/// fork shares a 64 MiB heap copy-on-write: writes on either side, including
/// the kernel's own (read into a buffer), stay on that side; MAP_SHARED stays
/// shared.
#[test]
fn fork_is_copy_on_write_like_linux() {
    let exe = compile("cow", Link::Dynamic);
    let exe = exe.to_str().expect("utf-8 path");
    let nat = native_cmd(&[exe]);
    assert!(
        nat.success() && !nat.stdout_str().contains(": no"),
        "cow fails natively\n{nat}"
    );
    let out = runsc_do(&Runsc::new(), &[exe]);
    assert_same_as_native(&nat, &out, "cow");
}

/// sigqueue + sigtimedwait, waitid with WNOWAIT, setsid, clone3 threads,
/// execveat, and a fork bomb stopped by RLIMIT_NPROC (EAGAIN).
#[test]
fn assorted_process_calls_match_native() {
    let exe = compile("process_misc", Link::Dynamic);
    let exe = exe.to_str().expect("utf-8 path");
    let nat = native_cmd(&[exe]);
    assert!(
        nat.success() && nat.stdout_str().contains("EAGAIN: yes"),
        "process_misc fails natively\n{nat}"
    );
    let out = runsc_do(&Runsc::new(), &[exe]);
    assert_same_as_native(&nat, &out, "process_misc");
}

fn matches_native(name: &str) {
    for link in [Link::Dynamic, Link::Static] {
        let exe = compile(name, link);
        let exe = exe.to_str().expect("utf-8 path");
        let nat = native_cmd(&[exe]);
        assert!(nat.success(), "{name} fails natively\n{nat}");
        let out = runsc_do(&Runsc::new(), &[exe]);
        assert_same_as_native(&nat, &out, &format!("{name} ({})", link.suffix()));
    }
}

/// alarm, itimers and POSIX timers with signals; the setuid family,
/// capabilities and prctl names.
#[test]
fn timers_and_credentials_match_native() {
    matches_native("timers_creds");
}

/// What exec, fork and exit do to timers, names, nice values and the
/// parent-death signal.
#[test]
fn exec_fork_exit_hooks_match_native() {
    matches_native("timers_creds_hooks");
}

/// PR_SET_CHILD_SUBREAPER adopts orphans; a robust mutex whose owner died
/// comes back with EOWNERDEAD.
#[test]
fn subreaper_and_robust_futexes_match_native() {
    matches_native("reaper_robust");
}

/// Threads share cwd, umask and signal actions; fork children do not.
#[test]
fn threads_share_fs_and_signal_actions_like_linux() {
    matches_native("thread_sharing");
}

/// SIGSTOP/SIGCONT with wait(WUNTRACED/WCONTINUED) and SIGCHLD codes; a
/// handled SIGTSTP does not stop; SIGKILL ends a stopped process.
#[test]
fn job_control_matches_native() {
    matches_native("jobcontrol");
}

/// poll, ppoll, select and pselect on pipes: readiness, hang-up, bad fds,
/// timeouts and EINTR.
#[test]
fn poll_and_select_match_native() {
    matches_native("poll");
}

/// A real program that polls its children's pipes (Python's subprocess).
#[test]
fn python_subprocess_runs() {
    if !Path::new("/usr/bin/python3").exists() && !Path::new("/usr/local/bin/python3").exists() {
        panic!("python3 is missing");
    }
    let code = "import subprocess; r = subprocess.run(['echo', 'hi'], capture_output=True); print(r.stdout.decode().strip(), r.returncode)";
    let out = runsc_do(&Runsc::new(), &["python3", "-c", code]);
    assert!(out.success() && out.stdout_str() == "hi 0\n", "{out}");
}
