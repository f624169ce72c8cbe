//! The gofer process: it serves the rootfs and every bind mount of the spec,
//! and it sees nothing of the host but them (its own mount namespace, rooted
//! in a tmpfs that holds only the exports).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use runsc_tests::{bind, busybox_bundle, Runsc};

#[test]
fn writable_directory_and_single_file_binds() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("rw")).expect("mkdir");
    fs::write(dir.path().join("rw/old"), "old\n").expect("write");
    fs::write(dir.path().join("single"), "one file\n").expect("write");
    fs::write(dir.path().join("sibling"), "secret\n").expect("write");
    let script = "cat /rw/old && echo new > /rw/new && mkdir /rw/sub && mv /rw/old /rw/sub/moved && \
                  ln /rw/new /rw/hard && mkfifo /rw/fifo && \
                  if mknod /rw/null c 1 3 2>/dev/null; then echo made-device; fi && \
                  cat /etc/single && echo appended >> /etc/single && \
                  if cat /etc/sibling 2>/dev/null; then echo leaked; else echo no-sibling; fi";
    let bundle = busybox_bundle(
        script,
        vec![
            bind("/rw", &dir.path().join("rw"), &["rbind", "rw"]),
            bind("/etc/single", &dir.path().join("single"), &["bind"]),
        ],
    );
    let out = runsc.run_bundle(&bundle, &runsc.new_id("binds"));
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "old\none file\nno-sibling\n", "{out}");
    assert_eq!(fs::read_to_string(dir.path().join("rw/new")).expect("new"), "new\n");
    assert_eq!(
        fs::read_to_string(dir.path().join("rw/sub/moved")).expect("moved"),
        "old\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("single")).expect("single"),
        "one file\nappended\n"
    );
}

/// The host pid of the `runsc gofer` serving container `boot_pid`.
fn gofer_of(boot_pid: i64) -> Option<i64> {
    let children = fs::read_to_string(format!("/proc/{boot_pid}/task/{boot_pid}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<i64>().ok())
        .find(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|&b| b == 0).nth(1) == Some(b"gofer"))
                .unwrap_or(false)
        })
}

#[test]
fn the_gofer_sees_only_its_exports() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = busybox_bundle(
        "echo ready; exec /bin/busybox sleep 60",
        vec![bind("/data", dir.path(), &["rbind", "ro"])],
    );
    let id = runsc.new_id("confined");
    let running = runsc.spawn(["run", "--bundle", &bundle.path().to_string_lossy(), &id]);
    let start = Instant::now();
    let gofer = loop {
        let state = runsc.run(["state", id.as_str()]);
        let pid = serde_json::from_str::<serde_json::Value>(&state.stdout_str())
            .ok()
            .and_then(|v| v["pid"].as_i64())
            .filter(|&p| p > 0);
        if let Some(g) = pid.and_then(gofer_of) {
            break g;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no gofer found\n{state}");
        std::thread::sleep(Duration::from_millis(50));
    };

    let mut root: Vec<String> = fs::read_dir(format!("/proc/{gofer}/root"))
        .expect("gofer root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    root.sort();
    assert_eq!(root, ["0", "1"], "the gofer's root holds the rootfs and one bind mount");
    let mountinfo = fs::read_to_string(format!("/proc/{gofer}/mountinfo")).expect("mountinfo");
    let mount_points: Vec<&str> = mountinfo.lines().filter_map(|l| l.split(' ').nth(4)).collect();
    assert_eq!(mount_points, ["/", "/0", "/1"], "{mountinfo}");
    assert!(
        mountinfo.lines().next().is_some_and(|l| l.contains(" ro,")),
        "the gofer's own root is read-only\n{mountinfo}"
    );
    let data = mountinfo.lines().nth(2).expect("the bind mount");
    assert!(
        data.contains(" ro,"),
        "a ro bind mount is read-only in the gofer too\n{data}"
    );
    assert_ne!(
        fs::read_link(format!("/proc/{gofer}/cwd")).ok(),
        Some(std::env::current_dir().expect("cwd")),
        "the gofer keeps no host working directory"
    );
    assert!(
        !Path::new(&format!("/proc/{gofer}/root/etc")).exists(),
        "host directories are unreachable"
    );

    let killed = runsc.run(["kill", id.as_str(), "KILL"]);
    assert!(killed.success(), "{killed}");
    running.wait(Duration::from_secs(30));
    let start = Instant::now();
    while Path::new(&format!("/proc/{gofer}")).exists() {
        let zombie = fs::read_to_string(format!("/proc/{gofer}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true);
        if zombie {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the gofer outlived its sandbox"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn mount_options_ro_noexec_nodev_are_enforced() {
    let runsc = Runsc::new();
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("ro")).expect("mkdir");
    fs::write(dir.path().join("ro/f"), "kept\n").expect("write");
    fs::create_dir(dir.path().join("exec")).expect("mkdir");
    fs::copy("/bin/busybox", dir.path().join("exec/busybox")).expect("copy busybox");
    // Each line prints what Linux does for the same mounts (open(2) EROFS,
    // mkdir(2) EROFS, execve(2) EACCES on noexec, open(2) EACCES on nodev).
    let script = "echo x > /ro/f 2>/dev/null || echo write-refused; \
                  echo x > /ro/g 2>/dev/null || echo create-refused; \
                  mkdir /ro/d 2>/dev/null || echo mkdir-refused; \
                  rm /ro/f 2>/dev/null || echo unlink-refused; \
                  cat /ro/f; \
                  /noexec/busybox true 2>/dev/null || echo exec-refused; \
                  /exec/busybox echo exec-allowed; \
                  mknod /nodev/null c 1 3 && { cat /nodev/null 2>/dev/null || echo nodev-refused; }; \
                  mknod /dev-ok/null c 1 3 && cat /dev-ok/null && echo dev-allowed";
    let bundle = busybox_bundle(
        script,
        vec![
            runsc_tests::mount("/ro", "bind", &dir.path().join("ro"), &["rbind", "ro"]),
            runsc_tests::mount("/noexec", "bind", &dir.path().join("exec"), &["rbind", "noexec"]),
            runsc_tests::mount("/exec", "bind", &dir.path().join("exec"), &["rbind"]),
            runsc_tests::mount("/nodev", "tmpfs", Path::new("tmpfs"), &["nodev"]),
            runsc_tests::mount("/dev-ok", "tmpfs", Path::new("tmpfs"), &[]),
        ],
    );
    let out = runsc.run_bundle(&bundle, &runsc.new_id("mountopts"));
    assert_eq!(
        out.stdout_str(),
        "write-refused\ncreate-refused\nmkdir-refused\nunlink-refused\nkept\nexec-refused\nexec-allowed\n\
         nodev-refused\ndev-allowed\n",
        "{out}"
    );
    assert_eq!(fs::read_to_string(dir.path().join("ro/f")).expect("f"), "kept\n");
}

/// statfs(2) of a tmpfs shows its `size=` and the content it holds, as
/// `df` on Linux does, and the limit holds (ENOSPC past it).
#[test]
fn tmpfs_size_shows_in_df_and_is_enforced() {
    let runsc = Runsc::new();
    let script = "df -k /small | tail -n 1; \
                  dd if=/dev/zero of=/small/f bs=1024 count=256 2>/dev/null; \
                  df -k /small | tail -n 1; \
                  dd if=/dev/zero of=/small/g bs=1024 count=2048 2>/dev/null || echo full";
    let bundle = busybox_bundle(
        script,
        vec![runsc_tests::mount("/small", "tmpfs", Path::new("tmpfs"), &["size=1m"])],
    );
    let out = runsc.run_bundle(&bundle, &runsc.new_id("tmpfs-size"));
    let lines: Vec<&str> = out
        .stdout
        .split(|&b| b == b'\n')
        .map(|l| std::str::from_utf8(l).unwrap_or(""))
        .collect();
    // "tmpfs 1024 0 1024 0% /small": size, used and available in KiB.
    let columns = |line: &str| -> Vec<String> { line.split_whitespace().skip(1).take(3).map(String::from).collect() };
    assert!(lines.len() >= 3, "{out}");
    assert_eq!(columns(lines[0]), ["1024", "0", "1024"], "{out}");
    assert_eq!(columns(lines[1]), ["1024", "256", "768"], "{out}");
    assert_eq!(lines[2], "full", "{out}");
}
