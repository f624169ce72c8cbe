//! Pseudo-terminals end to end: `ptyrun` (tests/c/ptyrun.c, a tiny
//! script(1)) runs busybox's shell as a session leader on a new pty inside
//! the sandbox, types its stdin into the terminal and copies what the
//! terminal shows to its stdout.

use std::path::Path;

use runsc_tests::{assert_no_panic, compile, Link, Output, Runsc};

const BUSYBOX: &str = "/bin/busybox";

fn ptyrun(script: &str) -> Option<Output> {
    if !Path::new(BUSYBOX).exists() {
        eprintln!("skipped: {BUSYBOX} is missing");
        return None;
    }
    let exe = compile("ptyrun", Link::Static);
    let exe = exe.to_str().expect("utf-8 path");
    let runsc = Runsc::new();
    Some(runsc.run(["do", "--", exe, BUSYBOX, "sh", "-c", script]))
}

/// "/dev/pts/N" with N a number.
fn is_pts_path(line: &str) -> bool {
    line.strip_prefix("/dev/pts/")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn shell_on_a_pty_sees_its_terminal() {
    let Some(out) = ptyrun("tty; echo hi") else { return };
    assert!(out.success(), "ptyrun failed\n{out}");
    assert_no_panic(&out, "ptyrun busybox sh");
    let stdout = out.stdout_str();
    // The terminal's output processing turns each "\n" into "\r\n".
    let lines: Vec<&str> = stdout.split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{stdout:?}\n{out}");
    assert!(is_pts_path(lines[0]), "tty printed {:?}\n{out}", lines[0]);
    assert_eq!(&lines[1..], ["hi", ""], "{out}");
}

#[test]
fn terminal_settings_and_exit_status_come_through() {
    let Some(out) = ptyrun("stty size; [ -t 0 ] && echo interactive; exit 3") else {
        return;
    };
    assert_eq!(out.code(), Some(3), "{out}");
    assert_no_panic(&out, "ptyrun busybox sh");
    // ptyrun sets 24x80 on the master before the shell starts.
    assert_eq!(out.stdout_str(), "24 80\r\ninteractive\r\n", "{out}");
}

#[test]
fn interactive_shell_job_control_and_ctrl_c() {
    if !Path::new(BUSYBOX).exists() {
        eprintln!("skipped: {BUSYBOX} is missing");
        return;
    }
    let exe = compile("ptyrun", Link::Static);
    // Everything runs in the sandbox: a shell types into ptyrun's terminal,
    // where an interactive shell (line editing, its own process groups)
    // runs `sleep 30` in the foreground; ^C must interrupt it.
    let typist = format!(
        "(printf 'sleep 30\\n'; sleep 2; printf '\\003'; sleep 1; printf 'echo after $?\\nexit 5\\n') | {} {BUSYBOX} sh -i",
        exe.to_str().expect("utf-8 path")
    );
    let runsc = Runsc::new();
    let out = runsc.run(["do", "--", BUSYBOX, "sh", "-c", &typist]);
    assert_no_panic(&out, "interactive shell on a pty");
    assert_eq!(out.code(), Some(5), "{out}");
    let stdout = out.stdout_str();
    assert!(stdout.contains("^C"), "no ^C echoed: {stdout:?}");
    assert!(
        stdout.contains("after 130\r\n"),
        "sleep was not interrupted: {stdout:?}"
    );
}

/// util-linux script(1) itself (a pty, signalfd and poll on both).
#[test]
fn util_linux_script_runs_a_command_on_a_pty() {
    const SCRIPT: &str = "/usr/bin/script";
    if !Path::new(SCRIPT).exists() || !Path::new(BUSYBOX).exists() {
        eprintln!("skipped: {SCRIPT} or {BUSYBOX} is missing");
        return;
    }
    let runsc = Runsc::new();
    let command = format!("{BUSYBOX} tty; echo hi");
    let out = runsc.run(["do", "--", SCRIPT, "-qec", &command, "/dev/null"]);
    assert!(out.success(), "script failed\n{out}");
    assert_no_panic(&out, "script -qec");
    let stdout = out.stdout_str();
    let lines: Vec<&str> = stdout.split("\r\n").collect();
    assert!(is_pts_path(lines[0]), "tty printed {:?}\n{out}", lines[0]);
    assert_eq!(&lines[1..], ["hi", ""], "{out}");
}
