//! Pseudo-terminals end to end: `ptyrun` (tests/c/ptyrun.c, a tiny
//! script(1)) runs busybox's shell as a session leader on a new pty inside
//! the sandbox, types its stdin into the terminal and copies what the
//! terminal shows to its stdout.

use std::path::Path;

use runsc_tests::console::{create_and_start_on_a_tty, exec_on_a_tty};
use runsc_tests::{assert_no_panic, busybox_builder, busybox_present, compile, Bundle, Link, Output, Runsc, BUSYBOX};

fn ptyrun(script: &str) -> Option<Output> {
    if !busybox_present() {
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
    if !busybox_present() {
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

// A container whose process.terminal is set: its terminal is a pty of the
// sandbox's own devpts (/dev/pts/0 for the init), relayed by the Sentry to
// the host pty whose master the test receives over the console socket, as
// containerd's shim does. Each case also runs natively, on a pty the test
// makes, and the two must show the same.

/// What the test does to the host master while the process runs.
enum Step {
    /// Type bytes into the terminal.
    Type(&'static [u8]),
    /// TIOCSWINSZ on the master (containerd's ResizePty): rows, columns.
    Resize(u16, u16),
}

/// Steps, each taken once the terminal has shown its text (anywhere in
/// what it showed so far) and then a delay in milliseconds has passed.
type Steps = &'static [(&'static str, u64, Step)];

/// Feeds `steps` to `master` while collecting what it shows, until every
/// slave is closed (EIO) or 30 s have passed.
fn drive(master: std::os::fd::OwnedFd, steps: Steps) -> String {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let mut typist = std::fs::File::from(master.try_clone().expect("dup master"));
    let start = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let shown = seen.clone();
    let feeder = std::thread::spawn(move || {
        for (text, delay, step) in steps {
            while !String::from_utf8_lossy(&shown.lock().expect("seen")).contains(text) {
                if start.elapsed() > Duration::from_secs(30) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(*delay));
            match step {
                Step::Type(bytes) => typist.write_all(bytes).expect("typing"),
                Step::Resize(rows, cols) => set_winsize(typist.as_raw_fd(), *rows, *cols),
            }
        }
    });
    let mut master = std::fs::File::from(master);
    let mut buf = [0u8; 1024];
    while start.elapsed() < Duration::from_secs(30) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.lock().expect("seen").extend_from_slice(&buf[..n]),
        }
    }
    feeder.join().expect("feeder");
    let seen = seen.lock().expect("seen");
    String::from_utf8_lossy(&seen).into_owned()
}

#[allow(unsafe_code)]
fn set_winsize(fd: std::os::fd::RawFd, rows: u16, cols: u16) {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a pointer valid for the call.
    let rc = unsafe { nix::libc::ioctl(fd, nix::libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "TIOCSWINSZ");
}

/// A running terminal container: its id, bundle and pty master.
struct TerminalContainer {
    id: String,
    bundle: Bundle,
    master: std::os::fd::OwnedFd,
}

/// Creates and starts a busybox container running `sh -c script` with
/// process.terminal and a `rows`x`cols` console.
fn terminal_container(runsc: &Runsc, script: &str, rows: u16, cols: u16) -> TerminalContainer {
    let bundle = busybox_builder(script).build();
    let mut spec = bundle.spec();
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(true));
        let size = oci_spec::runtime::BoxBuilder::default()
            .height(u32::from(rows))
            .width(u32::from(cols))
            .build()
            .expect("console size");
        process.set_console_size(Some(size));
    }
    bundle.save_spec(&spec);
    let id = runsc.new_id("tty");
    let master = create_and_start_on_a_tty(runsc, &bundle, &id, &[]);
    TerminalContainer { id, bundle, master }
}

/// What `sh -c script` shows in a terminal container driven by `steps`.
fn in_container(platform: &str, script: &str, steps: Steps) -> String {
    let runsc = Runsc::on_platform(platform);
    let c = terminal_container(&runsc, script, 33, 111);
    let seen = drive(c.master, steps);
    let out = runsc.run(["delete", "--force", c.id.as_str()]);
    assert!(out.success(), "runsc delete\n{out}");
    drop(c.bundle);
    seen
}

/// What `sh -c script` shows natively, as the session leader of a 33x111
/// pty the test makes, driven by `steps`.
#[allow(unsafe_code)]
fn natively(script: &str, steps: Steps) -> String {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let winsize = nix::pty::Winsize {
        ws_row: 33,
        ws_col: 111,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&winsize), None).expect("openpty");
    let slave = pty.slave;
    let mut cmd = std::process::Command::new(BUSYBOX);
    cmd.args(["sh", "-c", script])
        .current_dir("/")
        .stdin(slave.try_clone().expect("dup"))
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave.try_clone().expect("dup"));
    // SAFETY: signal, setsid and ioctl are async-signal-safe; nothing is
    // allocated.
    unsafe {
        cmd.pre_exec(|| {
            // A test run started in the background of a non-interactive
            // shell inherits SIGINT and SIGQUIT ignored, and a shell keeps
            // them so: the job-control signals start at their defaults
            // here, as in a terminal session.
            for sig in [nix::libc::SIGINT, nix::libc::SIGQUIT, nix::libc::SIGTSTP] {
                nix::libc::signal(sig, nix::libc::SIG_DFL);
            }
            nix::libc::setsid();
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("native busybox");
    drop(cmd);
    assert!(slave.as_raw_fd() >= 0);
    drop(slave);
    let seen = drive(pty.master, steps);
    let _ = child.wait();
    seen
}

/// /dev/pts/N with N replaced by "N".
fn any_pts(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/dev/pts/") {
        out.push_str(&rest[..i + 9]);
        rest = rest[i + 9..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

const PLATFORMS: [&str; 2] = ["ptrace", "systrap"];

/// Runs `script` in a terminal container on each platform and natively;
/// returns what the container showed (checked to match the native run).
fn same_as_native(script: &str, steps: Steps) -> Vec<String> {
    let native = natively(script, steps);
    PLATFORMS
        .iter()
        .map(|platform| {
            let seen = in_container(platform, script, steps);
            assert_eq!(
                any_pts(&seen),
                any_pts(&native),
                "{platform}: the sandbox and Linux differ"
            );
            seen
        })
        .collect()
}

#[test]
fn terminal_container_has_its_own_tty() {
    if !busybox_present() {
        return;
    }
    let script = "/bin/busybox tty; /bin/busybox stty size; \
                  [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-on-a-tty; \
                  /bin/busybox readlink /proc/self/fd/0";
    for seen in same_as_native(script, &[]) {
        // No stray byte first; "\n" is "\r\n" as on a new pty.
        assert_eq!(
            seen, "/dev/pts/0\r\n33 111\r\nall-on-a-tty\r\n/dev/pts/0\r\n",
            "{seen:?}"
        );
    }
}

#[test]
fn terminal_container_resize_raises_sigwinch() {
    if !busybox_present() {
        return;
    }
    // The shell runs its trap once the foreground sleep is over.
    let script = "trap 'echo winch; /bin/busybox stty size' WINCH; /bin/busybox stty size; \
                  /bin/busybox sleep 2; echo done";
    for seen in same_as_native(script, &[("33 111\r\n", 0, Step::Resize(40, 100))]) {
        assert_eq!(seen, "33 111\r\nwinch\r\n40 100\r\ndone\r\n", "{seen:?}");
    }
}

#[test]
fn ctrl_c_from_the_host_interrupts_the_foreground_job() {
    if !busybox_present() {
        return;
    }
    // An interactive shell on its controlling terminal: job control is on
    // (no "can't access tty"), ^C interrupts the foreground sleep and the
    // shell survives.
    let steps: Steps = &[
        ("$ ", 0, Step::Type(b"/bin/busybox sleep 30\n")),
        ("sleep 30\r\n", 500, Step::Type(b"\x03")),
        ("^C", 200, Step::Type(b"echo after $?\n")),
        ("after 130", 0, Step::Type(b"exit 5\n")),
    ];
    let native = natively("PS1='$ ' exec /bin/busybox sh -i", steps);
    assert!(native.contains("after 130\r\n"), "the test itself: {native:?}");
    for platform in PLATFORMS {
        let seen = in_container(platform, "PS1='$ ' exec /bin/busybox sh -i", steps);
        assert!(
            !seen.contains("can't access tty"),
            "{platform}: no job control: {seen:?}"
        );
        assert!(seen.contains("^C"), "{platform}: no ^C echoed: {seen:?}");
        assert!(
            seen.contains("after 130\r\n"),
            "{platform}: sleep not interrupted: {seen:?}"
        );
    }
    // A non-interactive shell dies of the SIGINT with its sleep.
    let script = "echo ready; /bin/busybox sleep 30; echo not-reached";
    for seen in same_as_native(script, &[("ready\r\n", 300, Step::Type(b"\x03"))]) {
        assert_eq!(seen, "ready\r\n^C", "{seen:?}");
    }
}

#[test]
fn tty_exec_gets_a_pty_of_its_own() {
    if !busybox_present() {
        return;
    }
    for platform in PLATFORMS {
        let runsc = Runsc::on_platform(platform);
        let c = terminal_container(&runsc, "/bin/busybox tty; exec /bin/busybox sleep 30", 33, 111);
        let socket = c.bundle.path().join("exec.sock");
        let script = "/bin/busybox tty; [ -t 0 ] && echo on-a-tty";
        let seen = exec_on_a_tty(&runsc, &c.id, &socket, &[BUSYBOX, "sh", "-c", script]);
        assert_eq!(seen, "/dev/pts/1\r\non-a-tty\r\n", "{platform}");
        let out = runsc.run(["delete", "--force", c.id.as_str()]);
        assert!(out.success(), "{platform}: runsc delete\n{out}");
        let init = drive(c.master, &[]);
        assert_eq!(init, "/dev/pts/0\r\n", "{platform}");
    }
}
