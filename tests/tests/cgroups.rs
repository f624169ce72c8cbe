//! linux.resources as cgroups around the whole sandbox: the limits are set,
//! the guest sees its memory limit, a memory hog is killed inside its limit,
//! and nothing is left behind.

use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};
use runsc_tests::{compile, guest_path, Bundle, Link, Runsc};

const MIB: i64 = 1024 * 1024;

fn with_limits(bundle: &Bundle, memory: i64, pids: i64) {
    let mut spec = bundle.spec();
    let resources = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(memory).build().expect("memory"))
        .pids(LinuxPidsBuilder::default().limit(pids).build().expect("pids"))
        .cpu(
            LinuxCpuBuilder::default()
                .quota(50_000i64)
                .period(100_000u64)
                .build()
                .expect("cpu"),
        )
        .build()
        .expect("resources");
    let mut linux = spec.linux().clone().expect("linux");
    linux.set_resources(Some(resources));
    spec.set_linux(Some(linux));
    bundle.save_spec(&spec);
}

/// The v1 memory controller's directory for container `id`, or the v2 one.
fn memory_dir(id: &str) -> std::path::PathBuf {
    let v1 = Path::new("/sys/fs/cgroup/memory/runsc").join(id);
    if Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
        v1
    } else {
        Path::new("/sys/fs/cgroup/runsc").join(id)
    }
}

#[test]
fn limits_are_applied_and_seen_and_removed_with_the_container() {
    let bundle = Bundle::builder()
        .binary("/bin/busybox")
        .args([
            "/bin/busybox",
            "sh",
            "-c",
            "grep MemTotal /proc/meminfo; echo ready; exec /bin/busybox sleep 60",
        ])
        .build();
    with_limits(&bundle, 96 * MIB, 100);
    let runsc = Runsc::new();
    let id = runsc.new_id("cg");
    let running = runsc.spawn(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    let dir = memory_dir(&id);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&running.stdout_so_far()).contains("ready") {
        assert!(Instant::now() < deadline, "the container did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let limit_file = if dir.join("memory.limit_in_bytes").exists() {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    let limit = std::fs::read_to_string(dir.join(limit_file)).expect("memory limit");
    assert_eq!(limit.trim(), (96 * MIB).to_string());
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).expect("procs");
    assert!(
        procs.lines().count() >= 3,
        "the Sentry, its gofer and a stub are inside: {procs:?}"
    );
    let stdout = String::from_utf8_lossy(&running.stdout_so_far()).into_owned();
    let total = stdout.lines().find(|l| l.starts_with("MemTotal:")).unwrap_or_default();
    assert_eq!(
        total.split_whitespace().nth(1),
        Some((96 * 1024).to_string().as_str()),
        "MemTotal is the limit: {total:?}"
    );

    let killed = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(killed.success(), "{killed}");
    running.wait(Duration::from_secs(30));
    assert!(!dir.exists(), "the cgroup {} is left behind", dir.display());
}

#[test]
fn a_memory_hog_is_killed_inside_its_limit() {
    let hog = compile("memhog", Link::Static);
    let bundle = Bundle::builder()
        .binary(&hog)
        .args([guest_path(&hog), "1024".into()])
        .build();
    with_limits(&bundle, 64 * MIB, 100);
    let runsc = Runsc::new();
    let id = runsc.new_id("hog");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(
        !out.stdout_str().contains("survived"),
        "the hog got 1 GiB past a 64 MiB limit\n{out}"
    );
    assert_eq!(out.code(), Some(137), "killed by the OOM killer (SIGKILL)\n{out}");
    assert!(!memory_dir(&id).exists(), "the cgroup is left behind");
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let bomb = compile("forkbomb", Link::Static);
    let bundle = Bundle::builder().binary(&bomb).args([guest_path(&bomb)]).build();
    with_limits(&bundle, 512 * MIB, 64);
    let runsc = Runsc::new();
    let id = runsc.new_id("bomb");
    let out = runsc.run_bundle(&bundle, &id);
    assert!(out.success(), "the sandbox survives its fork bomb\n{out}");
    let line = out.stdout_str();
    let forks: usize = line
        .strip_prefix("forks: ")
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {line:?}"));
    // Each guest process costs the sandbox host tasks (a stub, a Sentry
    // thread), so it stops well below the 64 host tasks.
    assert!((1..64).contains(&forks), "{line}");
    assert!(
        line.trim_end().ends_with("then EAGAIN"),
        "fork fails with EAGAIN: {line}"
    );
    assert!(!memory_dir(&id).exists(), "the cgroup is left behind");
}
