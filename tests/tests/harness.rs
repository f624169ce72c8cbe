//! Checks of the harness itself that need no runsc: the guest programs build in every
//! link mode and behave deterministically natively (the premise of comparing native
//! and sandboxed output), bundles are self-contained, and commands are captured and
//! timed out correctly.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use oci_spec::runtime::Spec;
use runsc_tests::{
    compile, default_timeout, guest_path, native, run, shared_libraries, Bundle, Link, Output, BASICS_DATA,
};

const PROGRAMS: [&str; 6] = ["hello", "true", "segv", "pause", "getpid_bench", "basics"];

/// ELF e_type: 2 = ET_EXEC, 3 = ET_DYN.
fn elf_type(p: &Path) -> u16 {
    let bytes = fs::read(p).expect("read ELF");
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", p.display());
    u16::from_le_bytes([bytes[16], bytes[17]])
}

#[test]
fn guests_compile_in_every_link_mode() {
    for name in PROGRAMS {
        for link in Link::ALL {
            let exe = compile(name, link);
            let libs = shared_libraries(&exe);
            match link {
                Link::Static => {
                    assert_eq!(elf_type(&exe), 2, "{} should be ET_EXEC", exe.display());
                    assert!(libs.is_empty(), "{} loads {libs:?}", exe.display());
                }
                Link::StaticPie => {
                    assert_eq!(elf_type(&exe), 3, "{} should be ET_DYN", exe.display());
                    assert!(libs.is_empty(), "{} loads {libs:?}", exe.display());
                }
                Link::Dynamic => {
                    assert_eq!(elf_type(&exe), 3, "{} should be ET_DYN", exe.display());
                    assert!(
                        libs.iter().any(|l| l.to_string_lossy().contains("ld-linux")),
                        "{} has no interpreter: {libs:?}",
                        exe.display()
                    );
                    assert!(
                        libs.iter().any(|l| l.to_string_lossy().contains("libc.so")),
                        "{} does not load libc: {libs:?}",
                        exe.display()
                    );
                }
            }
        }
    }
}

#[test]
fn compiled_guests_are_cached() {
    let first = compile("true", Link::Static);
    let mtime = fs::metadata(&first).and_then(|m| m.modified()).unwrap();
    let second = compile("true", Link::Static);
    assert_eq!(first, second);
    assert_eq!(fs::metadata(&second).and_then(|m| m.modified()).unwrap(), mtime);
}

fn twice(exe: &Path, args: &[&str]) -> Output {
    let a = native(exe, args, Path::new("/"));
    let b = native(exe, args, Path::new("/"));
    assert_eq!(a.stdout, b.stdout, "{} is not deterministic\n{a}\n{b}", exe.display());
    assert_eq!(a.code(), b.code(), "{}\n{a}\n{b}", exe.display());
    a
}

#[test]
fn guests_are_deterministic_natively() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.txt");
    fs::write(&data, BASICS_DATA).unwrap();
    let data = data.to_string_lossy().into_owned();
    for link in Link::ALL {
        let hello = twice(&compile("hello", link), &["3"]);
        assert_eq!(hello.stdout_str(), "hello from the guest\n");
        assert_eq!(hello.code(), Some(3));
        let hello = twice(&compile("hello", link), &[]);
        assert_eq!(hello.code(), Some(0));

        let t = twice(&compile("true", link), &[]);
        assert!(t.success() && t.stdout.is_empty(), "{t}");

        let segv = twice(&compile("segv", link), &[]);
        assert_eq!(segv.signal, Some(11), "{segv}");
        assert_eq!(segv.code(), Some(139), "{segv}");
        assert_eq!(segv.stdout_str(), "about to fault\n");

        let basics = twice(&compile("basics", link), &[&data]);
        assert!(basics.success(), "{basics}");
        let text = basics.stdout_str();
        assert!(text.ends_with("failures: 0\ndone\n"), "{basics}");
        assert!(text.contains("read: 21 \"hello runsc\\nline two\\n\"\n"), "{basics}");
        assert!(text.contains("write.bad_pointer: EFAULT\n"), "{basics}");
        assert!(text.contains("write.badfd: EBADF\n"), "{basics}");
        assert!(text.contains("open.missing: ENOENT\n"), "{basics}");
        assert!(!text.contains("FAILED"), "{basics}");

        let bench = native(&compile("getpid_bench", link), ["1000"], Path::new("/"));
        assert!(bench.success(), "{bench}");
        let line = bench.stdout_str();
        let ns = line
            .strip_prefix("getpid: 1000 calls, ")
            .and_then(|s| s.strip_suffix(" ns/call\n"))
            .and_then(|s| s.parse::<f64>().ok());
        assert!(ns.is_some_and(|v| v > 0.0), "unexpected bench output {line:?}");
    }
}

#[test]
fn basics_prints_the_same_in_every_link_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.txt");
    fs::write(&data, BASICS_DATA).unwrap();
    // Only the executable's own name may differ.
    let normalized = |link: Link| {
        let exe = compile("basics", link);
        let out = native(&exe, [&data], Path::new("/"));
        assert!(out.success(), "{out}");
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        out.stdout_str().replace(&name, "basics")
    };
    let reference = normalized(Link::Static);
    for link in [Link::StaticPie, Link::Dynamic] {
        assert_eq!(normalized(link), reference, "{}", link.suffix());
    }
}

#[test]
fn bundle_has_a_valid_spec_and_rootfs() {
    let exe = compile("basics", Link::Dynamic);
    let bundle = Bundle::builder()
        .binary(&exe)
        .file("/data.txt", BASICS_DATA, 0o644)
        .args([guest_path(&exe), "/data.txt".into()])
        .env("EXTRA=1")
        .build();
    let spec: Spec = Spec::load(bundle.config_path()).expect("config.json parses");
    let process = spec.process().as_ref().expect("process");
    assert_eq!(
        process.args().as_deref(),
        Some(&[guest_path(&exe), "/data.txt".to_string()][..])
    );
    assert_eq!(process.cwd(), Path::new("/"));
    assert!(!process.terminal().unwrap_or(false));
    assert_eq!(process.user().uid(), nix::unistd::getuid().as_raw());
    let env = process.env().clone().unwrap_or_default();
    assert!(env.iter().any(|e| e.starts_with("PATH=")), "{env:?}");
    assert!(env.iter().any(|e| e == "EXTRA=1"), "{env:?}");
    assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("rootfs"));
    let mounts = spec.mounts().clone().unwrap_or_default();
    assert!(mounts.iter().any(|m| m.destination() == Path::new("/proc")));

    let rootfs = bundle.rootfs();
    let inside = rootfs.join(guest_path(&exe).trim_start_matches('/'));
    assert_eq!(fs::read(&inside).unwrap(), fs::read(&exe).unwrap());
    assert_eq!(fs::read_to_string(rootfs.join("data.txt")).unwrap(), BASICS_DATA);
    for lib in shared_libraries(&exe) {
        let copy = rootfs.join(lib.strip_prefix("/").unwrap());
        assert!(copy.is_file(), "{} missing from the rootfs", lib.display());
    }
    let bare = Bundle::builder().args(["/x"]).no_default_mounts().build();
    assert!(bare.spec().mounts().as_ref().is_none_or(|m| m.is_empty()));
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The bundle's rootfs holds everything its programs need: run natively inside it
/// (chroot, with a fresh /proc) they print what they print on the host. So a
/// difference under runsc is runsc's.
#[test]
fn bundle_rootfs_is_self_contained() {
    if !is_root() || !Path::new("/usr/bin/unshare").exists() {
        eprintln!("skipped: needs root and unshare(1) to chroot");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.txt");
    fs::write(&data, BASICS_DATA).unwrap();
    for link in Link::ALL {
        let exe = compile("basics", link);
        let host = native(&exe, [&data], Path::new("/"));
        assert!(host.success(), "{host}");
        let bundle = Bundle::builder()
            .binary(&exe)
            .file("/data.txt", BASICS_DATA, 0o644)
            .build();
        let rootfs = bundle.rootfs();
        let mut cmd = Command::new("/usr/bin/unshare");
        cmd.arg("--mount")
            .arg("--pid")
            .arg("--fork")
            .arg(format!("--mount-proc={}", rootfs.join("proc").display()))
            .arg("chroot")
            .arg(&rootfs)
            .arg(guest_path(&exe))
            .arg("/data.txt")
            .current_dir("/");
        let inside = run(cmd, default_timeout());
        assert_eq!(
            inside.stdout_str(),
            host.stdout_str(),
            "{} in a chroot of its bundle\n{inside}",
            link.suffix()
        );
        assert!(inside.success(), "{inside}");
    }
}

#[test]
fn run_kills_a_command_and_its_children_after_the_timeout() {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "sleep 30 & sleep 30; echo unreachable"]);
    let start = Instant::now();
    let out = run(cmd, Duration::from_millis(300));
    assert!(out.timed_out, "{out}");
    assert!(start.elapsed() < Duration::from_secs(10), "{out}");
    assert!(!out.stdout_str().contains("unreachable"));
}

#[test]
fn output_of_processes_that_outlive_the_command_is_readable() {
    // Like `runsc create`: the command exits, what it started keeps its stdout.
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "(sleep 0.5; echo late) & echo early"]);
    let out = run(cmd, default_timeout());
    assert!(out.success(), "{out}");
    assert!(
        out.elapsed < Duration::from_secs(5),
        "run waited for the background job"
    );
    assert_eq!(out.stdout_str(), "early\n");
    let start = Instant::now();
    while String::from_utf8_lossy(&out.stdout_now()) != "early\nlate\n" {
        assert!(start.elapsed() < Duration::from_secs(20), "never saw the late output");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn exit_status_and_signals_are_reported() {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "echo out; echo err >&2; exit 4"]);
    let out = run(cmd, default_timeout());
    assert_eq!(out.status, Some(4));
    assert_eq!(out.code(), Some(4));
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(out.stderr_str(), "err\n");
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "kill -TERM $$"]);
    let out = run(cmd, default_timeout());
    assert_eq!(out.signal, Some(15), "{out}");
    assert_eq!(out.code(), Some(143));
}
