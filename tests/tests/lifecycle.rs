//! Container lifecycle through runsc's runc-style CLI: run, create/start/state/delete,
//! kill, and the error paths a user (or containerd) hits.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use runsc_tests::{
    assert_clean_failure, assert_no_panic, bind, busybox_builder, busybox_bundle, compile, guest_path, native,
    pid_alive, wait_until, Bundle, Link, Running, Runsc,
};

const HELLO: &str = "hello from the guest\n";

fn hello_bundle(args: &[&str]) -> Bundle {
    let hello = compile("hello", Link::Static);
    let mut argv = vec![guest_path(&hello)];
    argv.extend(args.iter().map(|s| s.to_string()));
    Bundle::builder().binary(&hello).args(argv).build()
}

fn pause_bundle() -> Bundle {
    let pause = compile("pause", Link::Static);
    Bundle::builder().binary(&pause).args([guest_path(&pause)]).build()
}

fn canonical(p: &Path) -> String {
    fs::canonicalize(p)
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", p.display()))
        .to_string_lossy()
        .into_owned()
}

/// Waits until a container's stdout (captured from `runsc run` or `runsc create`)
/// contains `needle`.
fn wait_for_output(what: &str, timeout: Duration, mut read: impl FnMut() -> Vec<u8>, needle: &str) {
    wait_until(timeout, what, || String::from_utf8_lossy(&read()).contains(needle));
}

#[test]
fn run_prints_output_and_returns_exit_status() {
    let runsc = Runsc::new();
    for code in [0, 3] {
        let bundle = hello_bundle(&[&code.to_string()]);
        let id = runsc.new_id("run");
        let out = runsc.run_bundle(&bundle, &id);
        assert_eq!(out.code(), Some(code), "exit status of the guest\n{out}");
        assert_eq!(out.stdout_str(), HELLO, "guest output\n{out}");
        assert_no_panic(&out, "runsc run");
        // `run` is create + start + wait + delete: nothing is left behind.
        let state = runsc.run(["state", id.as_str()]);
        assert_clean_failure(&state, "state after run");
    }
}

#[test]
fn create_start_state_delete() {
    let runsc = Runsc::new();
    let bundle = hello_bundle(&[]);
    let id = runsc.new_id("life");
    let pid_file = bundle.path().join("init.pid");

    let created = runsc.create(&bundle, &id, &["--pid-file", pid_file.to_str().expect("utf-8")]);
    assert!(created.success(), "runsc create\n{created}");

    let state = runsc.state(&id);
    assert_eq!(state["id"], id.as_str(), "{state}");
    assert_eq!(state["status"], "created", "{state}");
    assert!(
        state["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "ociVersion missing: {state}"
    );
    assert_eq!(
        state["bundle"].as_str().map(|b| canonical(Path::new(b))),
        Some(canonical(bundle.path())),
        "bundle in state: {state}"
    );
    let pid = state["pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "pid of a created container: {state}");
    assert!(pid_alive(pid), "pid {pid} of the created container is not alive");
    let pid_text = fs::read_to_string(&pid_file).expect("--pid-file written by create");
    assert_eq!(pid_text.trim().parse::<i64>().ok(), Some(pid), "--pid-file vs state");

    let list = runsc.run(["list"]);
    assert!(list.success(), "runsc list\n{list}");
    assert!(list.stdout_str().contains(&id), "list does not show {id}\n{list}");

    // Created means loaded but not run: the guest has printed nothing yet.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !String::from_utf8_lossy(&created.stdout_now()).contains("hello"),
        "the guest ran before start"
    );

    let started = runsc.run(["start", id.as_str()]);
    assert!(started.success(), "runsc start\n{started}");
    let state = runsc.state(&id);
    let status = state["status"].as_str().unwrap_or("");
    assert!(
        status == "running" || status == "stopped",
        "status after start: {state}"
    );
    runsc.wait_for_status(&id, "stopped", Duration::from_secs(30));

    // The container's stdio is the stdio that `create` was given.
    wait_for_output(
        "the guest's output",
        Duration::from_secs(10),
        || created.stdout_now(),
        "hello",
    );
    assert_eq!(String::from_utf8_lossy(&created.stdout_now()), HELLO);
    // The init process (whose exit is the container's exit) is gone.
    wait_until(Duration::from_secs(10), "the init pid to exit", || !pid_alive(pid));

    let deleted = runsc.run(["delete", id.as_str()]);
    assert!(deleted.success(), "runsc delete\n{deleted}");
    let state = runsc.run(["state", id.as_str()]);
    assert_clean_failure(&state, "state after delete");
    assert!(state.stderr_str().contains(&id), "error should name {id}\n{state}");
    let list = runsc.run(["list"]);
    assert!(list.success(), "runsc list\n{list}");
    assert!(!list.stdout_str().contains(&id), "{id} still listed\n{list}");
}

#[test]
fn state_of_unknown_id_fails_clearly() {
    let runsc = Runsc::new();
    let id = runsc_tests::unique_name("no-such-container");
    let out = runsc.run(["state", id.as_str()]);
    assert_clean_failure(&out, "state of an unknown id");
    assert!(out.stderr_str().contains(&id), "error should name {id}\n{out}");
    assert!(out.stdout.is_empty(), "no state JSON for an unknown id\n{out}");
}

#[test]
fn missing_bundle_fails_clearly() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-bundle");
    let missing_s = missing.to_string_lossy().into_owned();
    for sub in ["create", "run"] {
        let id = runsc.new_id("nobundle");
        let out = runsc.run([sub, "--bundle", missing_s.as_str(), id.as_str()]);
        assert_clean_failure(&out, &format!("{sub} with a missing bundle"));
        assert!(
            out.stderr_str().contains(&missing_s),
            "error should name the bundle path\n{out}"
        );
        let state = runsc.run(["state", id.as_str()]);
        assert_clean_failure(&state, "state after a failed create");
    }
}

#[test]
fn invalid_config_fails_clearly() {
    let runsc = Runsc::new();
    let bundle = hello_bundle(&[]);
    fs::write(bundle.config_path(), "{ \"ociVersion\": \"1.0.2\", this is not json").unwrap();
    let id = runsc.new_id("badcfg");
    let out = runsc.create(&bundle, &id, &[]);
    assert_clean_failure(&out, "create with an invalid config.json");
    assert!(
        out.stderr_str().contains("config.json"),
        "error should name config.json\n{out}"
    );
    let state = runsc.run(["state", id.as_str()]);
    assert_clean_failure(&state, "state after a failed create");
}

#[test]
fn duplicate_id_fails_clearly() {
    let runsc = Runsc::new();
    let first = hello_bundle(&[]);
    let second = hello_bundle(&["5"]);
    let id = runsc.new_id("dup");
    let out = runsc.create(&first, &id, &[]);
    assert!(out.success(), "first create\n{out}");

    let out = runsc.create(&second, &id, &[]);
    assert_clean_failure(&out, "create with a duplicate id");
    assert!(out.stderr_str().contains(&id), "error should name {id}\n{out}");

    // The first container is untouched.
    let state = runsc.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(
        state["bundle"].as_str().map(|b| canonical(Path::new(b))),
        Some(canonical(first.path())),
        "{state}"
    );
    let out = runsc.run(["delete", "--force", id.as_str()]);
    assert!(out.success(), "delete --force\n{out}");
}

#[test]
fn missing_executable_exits_127() {
    // 127, as a shell reports "command not found": execve gave ENOENT.
    let runsc = Runsc::new();
    let bundle = Bundle::builder().args(["/bin/no-such-program"]).build();
    let id = runsc.new_id("noexe");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(!out.timed_out, "{out}");
    assert_eq!(out.code(), Some(127), "missing process.args[0]\n{out}");
    assert!(
        out.stderr_str().contains("/bin/no-such-program"),
        "error should name the program\n{out}"
    );
    assert_no_panic(&out, "run of a missing program");
}

#[test]
fn non_elf_executable_exits_126() {
    // A text file with the exec bit and no "#!": Linux's execve fails with ENOEXEC
    // (no binfmt handler recognises it). A shell would now try it as a script, but
    // that fallback is a shell's (and glibc execvp's) feature, not the kernel's; runc
    // calls execve directly and fails. The status follows the shell convention for
    // "found but cannot be executed": 126 (127 is reserved for "not found"). This is
    // the contract runsc documents for ENOEXEC and EACCES alike.
    let runsc = Runsc::new();
    let bundle = Bundle::builder()
        .file("/bin/not-elf", "echo this is not a program\n", 0o755)
        .args(["/bin/not-elf"])
        .build();
    let id = runsc.new_id("notelf");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(!out.timed_out, "{out}");
    assert_eq!(out.code(), Some(126), "non-ELF executable\n{out}");
    assert!(
        out.stderr_str().contains("/bin/not-elf"),
        "error should name the program\n{out}"
    );
    assert!(
        !out.stdout_str().contains("this is not a program"),
        "the file must not be run as a script\n{out}"
    );
    assert_no_panic(&out, "run of a non-ELF file");
}

#[test]
fn non_executable_file_exits_126() {
    // No exec bit at all: execve gives EACCES, even for root. Exit 126 as above.
    let hello = compile("hello", Link::Static);
    let bytes = fs::read(&hello).expect("read hello");
    let runsc = Runsc::new();
    let bundle = Bundle::builder()
        .file("/bin/not-executable", bytes, 0o644)
        .args(["/bin/not-executable"])
        .build();
    let id = runsc.new_id("noexec");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(!out.timed_out, "{out}");
    assert_eq!(out.code(), Some(126), "file without exec permission\n{out}");
    assert!(!out.stdout_str().contains("hello"), "{out}");
    assert_no_panic(&out, "run of a non-executable file");
}

#[test]
fn segfault_exits_139() {
    let segv = compile("segv", Link::Static);
    let nat = native(&segv, std::iter::empty::<&str>(), Path::new("/"));
    assert_eq!(nat.signal, Some(11), "native run must die of SIGSEGV\n{nat}");

    let runsc = Runsc::new();
    let bundle = Bundle::builder().binary(&segv).args([guest_path(&segv)]).build();
    let id = runsc.new_id("segv");
    let out = runsc.run_bundle(&bundle, &id);
    assert_eq!(out.code(), Some(139), "128 + SIGSEGV\n{out}");
    assert_eq!(out.stdout_str(), "about to fault\n", "{out}");
    assert_no_panic(&out, "run of a segfaulting guest");
}

/// Starts `runsc run` of the pause guest and waits until it has installed its
/// SIGTERM handler (it prints "ready").
fn start_pause(runsc: &Runsc, bundle: &Bundle, id: &str) -> Running {
    let path = bundle.path().to_string_lossy().into_owned();
    let mut running = runsc.spawn(["run", "--bundle", path.as_str(), id]);
    let start = Instant::now();
    loop {
        if String::from_utf8_lossy(&running.stdout_so_far()).contains("ready") {
            return running;
        }
        if running.has_exited() || start.elapsed() > Duration::from_secs(30) {
            let out = running.wait(Duration::from_secs(5));
            panic!("the pause guest never got ready\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_delivers_a_signal_the_guest_handles() {
    let runsc = Runsc::new();
    let bundle = pause_bundle();
    let id = runsc.new_id("killterm");
    let running = start_pause(&runsc, &bundle, &id);
    let state = runsc.state(&id);
    assert_eq!(state["status"], "running", "{state}");

    let out = runsc.run(["kill", id.as_str(), "TERM"]);
    assert!(out.success(), "runsc kill TERM\n{out}");
    let out = running.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(42), "the guest's handler exits 42\n{out}");
    assert_eq!(out.stdout_str(), "ready\ngot SIGTERM\n", "{out}");
}

#[test]
fn kill_with_sigkill_exits_137() {
    let runsc = Runsc::new();
    let bundle = pause_bundle();
    let id = runsc.new_id("killkill");
    let running = start_pause(&runsc, &bundle, &id);

    let out = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(out.success(), "runsc kill KILL\n{out}");
    let out = running.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(137), "128 + SIGKILL\n{out}");
    assert_eq!(out.stdout_str(), "ready\n", "{out}");
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let runsc = Runsc::new();
    let bundle = pause_bundle();
    let id = runsc.new_id("delrun");
    let created = runsc.create(&bundle, &id, &[]);
    assert!(created.success(), "create\n{created}");
    let out = runsc.run(["start", id.as_str()]);
    assert!(out.success(), "start\n{out}");
    wait_for_output(
        "the pause guest",
        Duration::from_secs(30),
        || created.stdout_now(),
        "ready",
    );
    let pid = runsc.state(&id)["pid"].as_i64().unwrap_or(0);
    assert!(pid_alive(pid), "init pid {pid} of a running container");

    let out = runsc.run(["delete", id.as_str()]);
    assert_clean_failure(&out, "delete of a running container without --force");
    assert_eq!(runsc.state(&id)["status"], "running");

    let out = runsc.run(["delete", "--force", id.as_str()]);
    assert!(out.success(), "delete --force\n{out}");
    let state = runsc.run(["state", id.as_str()]);
    assert_clean_failure(&state, "state after delete --force");
    wait_until(Duration::from_secs(10), "the init pid to exit", || !pid_alive(pid));
}

#[test]
fn ps_lists_the_processes_inside_the_sandbox() {
    let runsc = Runsc::new();
    let bundle = pause_bundle();
    let id = runsc.new_id("ps");
    let running = start_pause(&runsc, &bundle, &id);

    let table = runsc.run(["ps", id.as_str()]);
    assert!(table.success(), "runsc ps\n{table}");
    let stdout = table.stdout_str();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first().map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["UID", "PID", "PPID", "CMD"]),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .skip(1)
            .any(|l| l.split_whitespace().nth(1) == Some("1") && l.contains("pause")),
        "the init is pid 1 and runs pause\n{table}"
    );
    let json = runsc.run(["ps", "--format", "json", id.as_str()]);
    assert!(json.success(), "runsc ps --format json\n{json}");
    // As runc, host pids (containerd and `docker top` look them up on the
    // host): the sandbox's own processes, the sandbox process among them.
    let pids: Vec<i64> = serde_json::from_str(json.stdout_str().trim()).expect("a JSON list of pids");
    let sandbox = runsc.state(&id)["pid"].as_i64().expect("pid");
    assert!(pids.contains(&sandbox), "{json}");
    assert!(pids.iter().all(|&p| pid_alive(p)), "{json}");

    let out = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(out.success(), "{out}");
    running.wait(Duration::from_secs(30));
    let after = runsc.run(["ps", id.as_str()]);
    assert!(!after.success(), "ps of a stopped container fails\n{after}");
}

#[test]
fn spec_mounts_tmpfs_and_read_only_bind() {
    let runsc = Runsc::new();
    let host_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(host_dir.path().join("f"), "from the host\n").expect("write");
    let script = "echo in-tmpfs > /tmp/x && cat /tmp/x && cat /data/f && \
                  if echo no > /data/g; then echo wrote; else echo refused; fi";
    let bundle = busybox_bundle(script, vec![bind("/data", host_dir.path(), &["rbind", "ro"])]);
    let id = runsc.new_id("mounts");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "in-tmpfs\nfrom the host\nrefused\n", "{out}");
    assert!(
        !host_dir.path().join("g").exists(),
        "the read-only bind mount was written through"
    );
}

/// The spec's hostname is the guest's; root in the guest may change it
/// with CAP_SYS_ADMIN (sethostname(2)), which uname(2) and
/// /proc/sys/kernel/hostname then show; without it, or as another user, EPERM.
#[test]
fn hostname_comes_from_the_spec_and_root_may_change_it() {
    let runsc = Runsc::new();
    let script = "hostname; hostname renamed-guest && uname -n && cat /proc/sys/kernel/hostname; \
                  setuidgid 65534 hostname refused 2>/dev/null || echo eperm; hostname";
    let bundle = Bundle::builder()
        .binary("/bin/busybox")
        .args(["/bin/busybox", "sh", "-c", script])
        .build();
    let mut spec = bundle.spec();
    spec.set_hostname(Some("spec-host".into()));
    // CAP_SYS_ADMIN, which runc's and Docker's default set leaves out.
    let mut process = spec.process().clone().expect("process");
    let mut caps = process.capabilities().clone().unwrap_or_default();
    let with_admin = |set: Option<oci_spec::runtime::Capabilities>| {
        let mut set = set.unwrap_or_default();
        set.insert(oci_spec::runtime::Capability::SysAdmin);
        Some(set)
    };
    caps.set_bounding(with_admin(caps.bounding().clone()));
    caps.set_effective(with_admin(caps.effective().clone()));
    caps.set_permitted(with_admin(caps.permitted().clone()));
    process.set_capabilities(Some(caps));
    spec.set_process(Some(process));
    bundle.save_spec(&spec);
    let out = runsc.run_bundle(&bundle, &runsc.new_id("hostname"));
    assert_eq!(
        out.stdout_str(),
        "spec-host\nrenamed-guest\nrenamed-guest\neperm\nrenamed-guest\n",
        "{out}"
    );
    // Without CAP_SYS_ADMIN (the default set) root may not either.
    let bundle = Bundle::builder()
        .binary("/bin/busybox")
        .args(["/bin/busybox", "sh", "-c", "hostname other 2>/dev/null || echo eperm"])
        .build();
    let out = runsc.run_bundle(&bundle, &runsc.new_id("hostname"));
    assert_eq!(out.stdout_str(), "eperm\n", "{out}");
}

/// As runc, a mount's destination is resolved in the container's tree:
/// symlinks above it are followed inside the root (`/sbin -> usr/sbin`, as
/// in Debian's merged /usr, where `docker run --init` binds
/// /sbin/docker-init), also absolute ones and ones that climb out with `..`.
#[test]
fn mounts_below_symlinks_land_at_their_targets() {
    let host_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(host_dir.path().join("f"), "from the host\n").expect("write");
    let runsc = Runsc::new();
    let script = "cat /sbin/tool /usr/sbin/tool /abs/tool2 /usr/lib/tool2 /tmp/tool3";
    let file = host_dir.path().join("f");
    let mounts = ["/sbin/tool", "/abs/tool2", "/up/tool3"].map(|destination| bind(destination, &file, &["bind", "ro"]));
    let bundle = busybox_bundle(script, mounts.to_vec());
    let rootfs = bundle.rootfs();
    std::fs::create_dir_all(rootfs.join("usr/sbin")).expect("mkdir");
    std::os::unix::fs::symlink("usr/sbin", rootfs.join("sbin")).expect("symlink");
    std::os::unix::fs::symlink("/usr/lib", rootfs.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../../../../tmp", rootfs.join("up")).expect("symlink");
    let id = runsc.new_id("mountlinks");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "from the host\n".repeat(5), "{out}");
    // The climb stopped at the container's root: nothing went to the host's /tmp.
    assert!(rootfs.join("usr/lib").is_dir());
}

/// As runc, the directories above a mount's destination are made when the
/// rootfs lacks them (`docker run --init` binds docker-init at
/// /sbin/docker-init): in the rootfs when it is writable, else as an empty
/// read-only directory.
#[test]
fn mounts_below_missing_directories() {
    let host_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(host_dir.path().join("f"), "from the host\n").expect("write");
    for read_only_root in [false, true] {
        let runsc = Runsc::new();
        let script = "cat /new/deep/dir/f /sbin/tool && ls -d /new/deep && \
                      if mkdir /new/x 2>/dev/null; then echo made; else echo refused; fi";
        let bundle = busybox_builder(script)
            .mounts([
                bind("/new/deep/dir", host_dir.path(), &["rbind", "ro"]),
                bind("/sbin/tool", &host_dir.path().join("f"), &["rbind", "ro"]),
            ])
            .read_only_root(read_only_root)
            .build();
        let id = runsc.new_id("mountpoints");
        let out = runsc.run_bundle(&bundle, &id);
        assert!(out.success(), "read-only root {read_only_root}: {out}");
        let made = if read_only_root { "refused" } else { "made" };
        assert_eq!(
            out.stdout_str(),
            format!("from the host\nfrom the host\n/new/deep\n{made}\n"),
            "read-only root {read_only_root}: {out}"
        );
        // Like runc, a writable rootfs keeps the directories it was given.
        assert_eq!(
            bundle.rootfs().join("new/deep").is_dir(),
            !read_only_root,
            "read-only root {read_only_root}"
        );
    }
}

#[test]
fn writes_to_a_writable_root_reach_the_host_and_a_read_only_root_refuses_them() {
    let runsc = Runsc::new();
    let script = "echo data > /newfile && mkdir /newdir && mv /newfile /newdir/f && chmod 600 /newdir/f \
                  && ln -s f /newdir/link && cat /newdir/link";
    let bundle = busybox_builder(script).read_only_root(false).build();
    let out = runsc.run_bundle(&bundle, &runsc.new_id("rw"));
    assert!(out.success() && out.stdout_str() == "data\n", "{out}");
    let f = bundle.rootfs().join("newdir/f");
    assert_eq!(fs::read_to_string(&f).expect("written through the gofer"), "data\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&f).expect("meta").permissions().mode() & 0o777, 0o600);
    assert!(!bundle.rootfs().join("newfile").exists(), "renamed away");

    let ro = busybox_builder("echo x > /y").read_only_root(true).build();
    let out = runsc.run_bundle(&ro, &runsc.new_id("ro"));
    assert!(
        !out.success() && out.stderr_str().contains("Read-only file system"),
        "{out}"
    );
    assert!(!ro.rootfs().join("y").exists());
}
