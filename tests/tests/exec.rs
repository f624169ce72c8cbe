//! `runsc exec`: further processes in a running container's sandbox, as
//! users and containerd's runc shim start them.

use std::fs;
use std::time::Duration;

use runsc_tests::console::exec_on_a_tty;
use runsc_tests::{
    assert_clean_failure, assert_no_panic, busybox_builder, busybox_present, read_pid_file, wait_until, Bundle, Output,
    Runsc, BUSYBOX,
};

/// A running container, the runsc that runs it (and deletes it when
/// dropped), its bundle, id and `runsc create`'s output.
type Running = (Runsc, Bundle, String, Output);

/// A container whose init writes /tmp/init-file, then sleeps; `None`
/// (skipped) without busybox.
fn sleeper() -> Option<Running> {
    container_running("echo written-by-init > /tmp/init-file; exec /bin/busybox sleep 60")
}

/// A container whose init runs `script` (which writes /tmp/init-file);
/// `None` (skipped) without busybox.
fn container_running(script: &str) -> Option<Running> {
    if !busybox_present() {
        return None;
    }
    let runsc = Runsc::new();
    let bundle = busybox_builder(script).build();
    let id = runsc.new_id("exec");
    let created = runsc.create(&bundle, &id, &[]);
    assert!(created.success(), "runsc create\n{created}");
    let started = runsc.run(["start", id.as_str()]);
    assert!(started.success(), "runsc start\n{started}");
    // The init has written its file once an exec can read it.
    wait_until(Duration::from_secs(20), "the init's file", || {
        exec(&runsc, &id, &[], &[BUSYBOX, "cat", "/tmp/init-file"]).success()
    });
    Some((runsc, bundle, id, created))
}

fn exec(runsc: &Runsc, id: &str, opts: &[&str], command: &[&str]) -> Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(opts);
    args.push(id);
    args.extend_from_slice(command);
    runsc.run(args)
}

#[test]
fn exec_output_status_and_files() {
    let Some((runsc, _bundle, id, _created)) = sleeper() else {
        return;
    };

    let out = exec(&runsc, &id, &[], &[BUSYBOX, "echo", "hi"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout_str(), "hi\n", "{out}");
    assert_no_panic(&out, "exec echo");

    let out = exec(&runsc, &id, &[], &[BUSYBOX, "sh", "-c", "exit 3"]);
    assert_eq!(out.code(), Some(3), "{out}");

    // The exec'd process sees the container's files, including the init's
    // tmpfs, and the same processes.
    let out = exec(&runsc, &id, &[], &[BUSYBOX, "cat", "/tmp/init-file"]);
    assert_eq!(out.stdout_str(), "written-by-init\n", "{out}");
    let out = exec(
        &runsc,
        &id,
        &[],
        &[BUSYBOX, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"],
    );
    assert!(out.stdout_str().contains("sleep 60"), "{out}");

    // Its parent is outside the sandbox's pid namespace, as for the init.
    let out = exec(&runsc, &id, &[], &[BUSYBOX, "sh", "-c", "echo $PPID"]);
    assert_eq!(out.stdout_str(), "0\n", "{out}");

    // What it leaves behind goes to the container's init.
    let out = exec(
        &runsc,
        &id,
        &[],
        &[BUSYBOX, "sh", "-c", "sleep 7 >/dev/null 2>&1 & echo $!"],
    );
    let orphan = out.stdout_str().trim().to_string();
    assert!(!orphan.is_empty(), "{out}");
    let ps = runsc.run(["ps", id.as_str()]);
    let line = ps
        .stdout_str()
        .lines()
        .find(|l| l.contains("sleep 7"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the orphan is not listed\n{ps}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns.get(1..3), Some(&[orphan.as_str(), "1"][..]), "{ps}");

    // Killed by a signal: 128 + N.
    let out = exec(&runsc, &id, &[], &[BUSYBOX, "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.code(), Some(137), "{out}");

    // A missing executable fails as runc's exec does.
    let out = exec(&runsc, &id, &[], &["/no/such/binary"]);
    assert_eq!(out.code(), Some(127), "{out}");
    assert_clean_failure(&out, "exec of a missing binary");

    // The container is still running after all that.
    assert_eq!(runsc.state(&id)["status"], "running");
}

#[test]
fn exec_honours_env_cwd_and_user() {
    let Some((runsc, _bundle, id, _created)) = sleeper() else {
        return;
    };
    let out = exec(
        &runsc,
        &id,
        &["--env", "FOO=bar", "--cwd", "/tmp", "--user", "1234:5678"],
        &[BUSYBOX, "sh", "-c", "echo $FOO; pwd; id -u; id -g; echo $PATH"],
    );
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout_str(),
        "bar\n/tmp\n1234\n5678\n/bin:/usr/bin:/sbin:/usr/sbin\n",
        "{out}"
    );
    // Options after the id, as runc accepts them.
    let out = runsc.run([
        "exec",
        id.as_str(),
        "--env",
        "X=1",
        "--",
        BUSYBOX,
        "sh",
        "-c",
        "echo $X",
    ]);
    assert_eq!(out.stdout_str(), "1\n", "{out}");
}

#[test]
fn exec_with_a_containerd_process_file() {
    let Some((runsc, bundle, id, _created)) = sleeper() else {
        return;
    };
    let process = bundle.path().join("process.json");
    fs::write(
        &process,
        format!(
            r#"{{"user":{{"uid":0,"gid":0}},"args":["{BUSYBOX}","sh","-c","echo from-json $MODE; pwd; exit 5"],
                "env":["PATH=/bin","MODE=file"],"cwd":"/proc","capabilities":{{"bounding":["CAP_KILL"],
                "effective":["CAP_KILL"],"permitted":["CAP_KILL"]}},"noNewPrivileges":true}}"#
        ),
    )
    .expect("write process.json");
    let out = exec(&runsc, &id, &["--process", process.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code(), Some(5), "{out}");
    assert_eq!(out.stdout_str(), "from-json file\n/proc\n", "{out}");
}

/// The shim's form: `exec --process F --detach --pid-file P ID`; the pid
/// file names a host process that exits with the exec'd process's status.
#[test]
fn detached_exec_writes_a_waitable_pid() {
    let Some((runsc, bundle, id, _created)) = sleeper() else {
        return;
    };
    let process = bundle.path().join("process.json");
    fs::write(
        &process,
        format!(r#"{{"user":{{"uid":0,"gid":0}},"args":["{BUSYBOX}","sh","-c","sleep 2; exit 7"],"cwd":"/"}}"#),
    )
    .expect("write process.json");
    let pid_file = bundle.path().join("exec.pid");
    // Orphaned helpers come to us, as they come to the shim.
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let out = exec(
        &runsc,
        &id,
        &[
            "--process",
            process.to_str().expect("utf-8"),
            "--detach",
            "--pid-file",
            pid_file.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(out.success(), "{out}");
    let pid = read_pid_file(&pid_file);
    // The exec'd process shows in ps meanwhile.
    let ps = runsc.run(["ps", id.as_str()]);
    assert!(ps.stdout_str().contains("sleep 2"), "{ps}");
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).expect("waitpid on the pid file's pid");
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 7)
    );
    // Reaped inside the sandbox too: ps no longer lists it.
    let ps = runsc.run(["ps", id.as_str()]);
    assert!(!ps.stdout_str().contains("sleep 2"), "{ps}");
}

#[test]
fn signals_reach_the_execd_process() {
    let Some((runsc, _bundle, id, _created)) = sleeper() else {
        return;
    };
    let running = runsc.spawn(["exec", id.as_str(), BUSYBOX, "sleep", "30"]);
    wait_until(Duration::from_secs(20), "the exec'd sleep", || {
        runsc.run(["ps", id.as_str()]).stdout_str().contains("sleep 30")
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(running.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill runsc exec");
    let out = running.wait(Duration::from_secs(20));
    assert_eq!(out.code(), Some(128 + 15), "{out}");
    // The init is untouched.
    assert_eq!(runsc.state(&id)["status"], "running");
}

#[test]
fn exec_into_missing_or_stopped_containers_fails_cleanly() {
    if !busybox_present() {
        return;
    }
    let runsc = Runsc::new();
    let out = runsc.run(["exec", "no-such-container", BUSYBOX, "true"]);
    assert!(!out.success(), "{out}");
    assert_clean_failure(&out, "exec into a missing container");

    let bundle = Bundle::builder().binary(BUSYBOX).args([BUSYBOX, "true"]).build();
    let id = runsc.new_id("exec-stopped");
    let created = runsc.create(&bundle, &id, &[]);
    assert!(created.success(), "{created}");
    assert!(runsc.run(["start", id.as_str()]).success());
    runsc.wait_for_status(&id, "stopped", Duration::from_secs(30));
    let out = runsc.run(["exec", id.as_str(), BUSYBOX, "true"]);
    assert!(!out.success(), "{out}");
    assert_clean_failure(&out, "exec into a stopped container");
    assert!(out.stderr_str().contains("stopped"), "{out}");
}

/// With a terminal, the host pty's master goes to the console socket as
/// for `create`, and the process gets a terminal of the sandbox relayed
/// to the host pty's slave.
#[test]
fn tty_exec_sends_the_pty_master_to_the_console_socket() {
    let Some((runsc, bundle, id, _created)) = sleeper() else {
        return;
    };
    let socket = bundle.path().join("console.sock");
    // Reads end with EIO once the last slave fd is closed.
    let script = "[ -t 0 ] && [ -t 1 ] && /bin/busybox tty; exit 4";
    let seen = exec_on_a_tty(&runsc, &id, &socket, &[BUSYBOX, "sh", "-c", script]);
    // A pty of the sandbox's devpts (the init has none: the first one),
    // relayed to the host pty; "\n" becomes "\r\n" as on a new pty.
    assert_eq!(seen, "/dev/pts/0\r\n");
}

/// `kill --all` reaches exec'd processes too, not only the init.
#[test]
fn kill_all_reaches_execd_processes() {
    // An init that survives SIGTERM.
    let Some((runsc, _bundle, id, _created)) = container_running(
        "trap '' TERM; echo written-by-init > /tmp/init-file; while :; do /bin/busybox sleep 1; done",
    ) else {
        return;
    };
    let running = runsc.spawn(["exec", id.as_str(), BUSYBOX, "sleep", "30"]);
    wait_until(Duration::from_secs(20), "the exec'd sleep", || {
        runsc.run(["ps", id.as_str()]).stdout_str().contains("sleep 30")
    });
    let killed = runsc.run(["kill", "--all", id.as_str(), "TERM"]);
    assert!(killed.success(), "{killed}");
    let out = running.wait(Duration::from_secs(20));
    assert_eq!(out.code(), Some(128 + 15), "{out}");
    assert_eq!(runsc.state(&id)["status"], "running");
}

/// The shim kills an exec with SIGKILL to the pid in the pid file: the
/// helper cannot pass that on, so the sandbox kills the process when the
/// helper's connection closes.
#[test]
fn killing_the_detached_helper_kills_the_process() {
    let Some((runsc, bundle, id, _created)) = sleeper() else {
        return;
    };
    let pid_file = bundle.path().join("exec.pid");
    let out = exec(
        &runsc,
        &id,
        &["-d", "--pid-file", pid_file.to_str().expect("utf-8")],
        &[BUSYBOX, "sleep", "31"],
    );
    assert!(out.success(), "{out}");
    let helper = read_pid_file(&pid_file);
    assert!(runsc.run(["ps", id.as_str()]).stdout_str().contains("sleep 31"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(helper), nix::sys::signal::Signal::SIGKILL)
        .expect("kill the helper");
    wait_until(Duration::from_secs(20), "the exec'd sleep to go", || {
        !runsc.run(["ps", id.as_str()]).stdout_str().contains("sleep 31")
    });
    assert_eq!(runsc.state(&id)["status"], "running");
}
