//! A private containerd for end-to-end tests of `containerd-shim-runsc-v1`
//! and the CRI path (see `shared/ECOSYSTEM.md` §3-4 for the why of each
//! setting), and the local images those tests run.
//!
//! [`Containerd::start`] writes a config from `containerd config default`
//! with every piece of state under a fresh temporary directory (root, state,
//! gRPC socket, the opt plugin's dir, runsc's `--root`s), `sandbox_image` =
//! the local pause image, `restrict_oom_score_adj = true` (no
//! CAP_SYS_RESOURCE here), a stream server address that exists on `lo`, and
//! two CRI runtime handlers:
//! - `runsc`: `runtime_type = "io.containerd.runsc.v1"` (our shim, found
//!   on containerd's PATH), its runsc settings in a TOML file named by the
//!   handler's `ConfigPath`;
//! - `runsc-runc-shim`: containerd's runc shim with `BinaryName` = runsc.
//!
//! Dropping it stops containerd, then the shims it started (found by the
//! socket path in their arguments, killed by pid), detaches the mounts left
//! under the directory, and removes it.
//!
//! Images ([`busybox_image`], [`pause_image`]) are OCI archives built with
//! umoci and skopeo from the host's busybox-static and a static pause
//! program, cached under `target/containerd-images/`.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::{profile_dir, run, runsc_bin, target_dir, unique, Output};

/// The busybox image's name in containerd.
pub const BUSYBOX: &str = "localhost/busybox:latest";
/// The pause image's name (`sandbox_image`).
pub const PAUSE: &str = "localhost/pause:runsc-test";
/// The CRI's containerd namespace.
pub const CRI_NAMESPACE: &str = "k8s.io";
/// The runtime name of our shim.
pub const RUNSC_RUNTIME: &str = "io.containerd.runsc.v1";

/// The host tools these tests need.
pub const TOOLS: [&str; 6] = [
    "containerd",
    "ctr",
    "containerd-shim-runc-v2",
    "runc",
    "umoci",
    "skopeo",
];

/// Whether every tool in `tools` is on PATH. In CI (`CI=true`) a missing
/// tool fails the test; elsewhere the test is skipped with a message.
pub fn tools_present(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| which(t).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{test}: missing {}", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (install them; .ci/run does)");
    }
    eprintln!("SKIPPED {message}");
    false
}

/// The first `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The shim binary under test: `$RUNSC_SHIM_BIN`, else
/// `target/<profile>/containerd-shim-runsc-v1`.
pub fn shim_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNSC_SHIM_BIN") {
        return PathBuf::from(p);
    }
    let p = profile_dir().join("containerd-shim-runsc-v1");
    assert!(
        p.is_file(),
        "{} does not exist: build it first (cargo build --workspace), or set RUNSC_SHIM_BIN",
        p.display()
    );
    p
}

/// A running private containerd.
pub struct Containerd {
    dir: TempDir,
    child: Option<Child>,
}

impl Containerd {
    /// Starts containerd and waits until it answers; images are imported
    /// into `namespaces`.
    pub fn start(namespaces: &[&str]) -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("runsc-ctrd-")
            .tempdir()
            .expect("temporary directory");
        let root = dir.path();
        for sub in ["bin", "cni", "logs"] {
            fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::os::unix::fs::symlink(shim_bin(), root.join("bin/containerd-shim-runsc-v1")).expect("symlink the shim");
        fs::write(root.join("runsc.toml"), runsc_toml(root)).expect("runsc.toml");
        fs::write(root.join("config.toml"), config(root)).expect("config.toml");
        let child = spawn_daemon(root);
        let mut ctrd = Containerd {
            dir,
            child: Some(child),
        };
        ctrd.wait_ready();
        for ns in namespaces {
            ctrd.import(ns, &busybox_image());
            ctrd.import(ns, &pause_image());
        }
        ctrd
    }

    /// Stops containerd (SIGTERM; its shims keep running) and starts it
    /// again with the same state, as after a daemon upgrade.
    pub fn restart(&mut self) {
        self.stop_daemon();
        self.child = Some(spawn_daemon(self.dir.path()));
        self.wait_ready();
    }

    fn stop_daemon(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while !matches!(child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The gRPC socket (CRI and ctr).
    pub fn socket(&self) -> PathBuf {
        self.dir().join("c.sock")
    }

    /// runsc's `--root` as our shim uses it.
    pub fn runsc_root(&self) -> PathBuf {
        self.dir().join("runsc-root")
    }

    /// containerd's own log, for failure messages.
    pub fn log(&self) -> String {
        let text = fs::read_to_string(self.dir().join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `ctr --address <socket> -n <namespace>`.
    pub fn ctr(&self, namespace: &str) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address").arg(self.socket()).args(["-n", namespace]);
        cmd
    }

    /// Runs `ctr ... args` with a timeout.
    pub fn ctr_run(&self, namespace: &str, args: &[&str], timeout: Duration) -> Output {
        let mut cmd = self.ctr(namespace);
        cmd.args(args);
        run(cmd, timeout)
    }

    fn import(&self, namespace: &str, archive: &Path) {
        let archive = archive.display().to_string();
        let out = self.ctr_run(namespace, &["images", "import", &archive], Duration::from_secs(120));
        assert!(out.success(), "importing {archive}:\n{out}\n{}", self.log());
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.socket().exists() {
                let out = self.ctr_run("default", &["version"], Duration::from_secs(10));
                if out.success() {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("containerd exited ({status}):\n{}", self.log());
                }
            }
            assert!(Instant::now() < deadline, "containerd did not come up:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pids of the shim processes serving this containerd.
    pub fn shim_pids(&self) -> Vec<i32> {
        self.shims().into_iter().map(|(pid, _)| pid).collect()
    }

    /// Shim processes serving this containerd: (pid, socket path).
    fn shims(&self) -> Vec<(i32, Option<PathBuf>)> {
        let marker = self.socket().display().to_string();
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let args: Vec<String> = cmdline
                    .split(|&b| b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                let is_shim = args.first()?.contains("containerd-shim");
                if !is_shim || !args.iter().any(|a| a == &marker) {
                    return None;
                }
                let socket = args
                    .iter()
                    .position(|a| a == "-socket")
                    .and_then(|i| args.get(i + 1))
                    .map(|s| PathBuf::from(s.trim_start_matches("unix://")));
                Some((pid, socket))
            })
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.stop_daemon();
        for (pid, socket) in self.shims() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            if let Some(socket) = socket {
                let _ = fs::remove_file(socket);
            }
        }
        // Sandboxes (runsc boot, gofers) whose shims are gone die with their
        // pid namespace once killed; runsc's state is under our directory.
        kill_sandboxes(&self.runsc_root());
        kill_sandboxes(&self.dir().join("runsc-runc-root"));
        std::thread::sleep(Duration::from_millis(100));
        unmount_below(self.dir());
    }
}

/// Starts containerd on `root/config.toml`, our shim first on its PATH, its
/// output appended to `root/containerd.log`.
fn spawn_daemon(root: &Path) -> Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("containerd.log"))
        .expect("containerd.log");
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("containerd")
        .arg("--config")
        .arg(root.join("config.toml"))
        .env("PATH", path)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .expect("starting containerd")
}

/// SIGKILLs the process of every container recorded under a runsc root:
/// our shim's `<root>/<id>`, and runc's shim's `<root>/<namespace>/<id>`.
fn kill_sandboxes(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let dir = entry.path();
        if dir.join("state.json").exists() {
            kill_recorded(&dir);
        } else if let Ok(inner) = fs::read_dir(&dir) {
            for container in inner.flatten() {
                kill_recorded(&container.path());
            }
        }
    }
}

/// SIGKILLs the process recorded in `<container dir>/state.json`.
fn kill_recorded(container: &Path) {
    let Ok(text) = fs::read_to_string(container.join("state.json")) else {
        return;
    };
    let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let pid = state
        .get("pid")
        .and_then(serde_json::Value::as_i64)
        .and_then(|p| i32::try_from(p).ok());
    if let Some(pid) = pid.filter(|&p| p > 1) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Detaches every mount at or below `dir` (overlay rootfs, shm, snapshot mounts).
fn unmount_below(dir: &Path) {
    let prefix = dir.display().to_string();
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .filter(|p| p == &prefix || p.starts_with(&format!("{prefix}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(Path::new(&p), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The runsc settings of the `runsc` handler (and of `ctr --runtime-config-path`).
/// `RUNSC_TEST_DEBUG_LOG=DIR/` adds runsc's `--debug --debug-log DIR/`.
fn runsc_toml(root: &Path) -> String {
    let mut text = format!(
        "binary = {:?}\nroot = {:?}\n",
        runsc_bin().display().to_string(),
        root.join("runsc-root").display().to_string()
    );
    if let Some(dir) = std::env::var_os("RUNSC_TEST_DEBUG_LOG") {
        text.push_str(&format!("debug_log = {:?}\ndebug = true\n", dir.to_string_lossy()));
    }
    text
}

/// `containerd config default`, edited.
fn config(root: &Path) -> String {
    let out = run(
        {
            let mut c = Command::new("containerd");
            c.args(["config", "default"]);
            c
        },
        Duration::from_secs(30),
    );
    assert!(out.success(), "containerd config default:\n{out}");
    let mut text = out.stdout_str();
    let r = |p: &str| root.join(p).display().to_string();
    let edits = [
        ("root = \"/var/lib/containerd\"", format!("root = {:?}", r("root"))),
        ("state = \"/run/containerd\"", format!("state = {:?}", r("state"))),
        (
            "address = \"/run/containerd/containerd.sock\"",
            format!("address = {:?}", r("c.sock")),
        ),
        ("path = \"/opt/containerd\"", format!("path = {:?}", r("opt"))),
        (
            "restrict_oom_score_adj = false",
            "restrict_oom_score_adj = true".to_string(),
        ),
        (
            "stream_server_address = \"127.0.0.1\"",
            format!("stream_server_address = {:?}", stream_server_address()),
        ),
        ("bin_dir = \"/opt/cni/bin\"", "bin_dir = \"/usr/lib/cni\"".to_string()),
        ("conf_dir = \"/etc/cni/net.d\"", format!("conf_dir = {:?}", r("cni"))),
    ];
    for (from, to) in edits {
        assert!(text.contains(from), "containerd's default config has no `{from}`");
        text = text.replacen(from, &to, 1);
    }
    let sandbox_image = text
        .lines()
        .find(|l| l.trim_start().starts_with("sandbox_image = "))
        .expect("sandbox_image in the default config")
        .to_string();
    text = text.replacen(&sandbox_image, &format!("    sandbox_image = {PAUSE:?}"), 1);
    let anchor = "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n";
    assert!(text.contains(anchor), "no runtimes table in the default config");
    text.replacen(anchor, &format!("{anchor}{}", runtime_handlers(root)), 1)
}

/// The CRI handlers `runsc` (our shim) and `runsc-runc-shim` (runc's shim, runsc binary).
fn runtime_handlers(root: &Path) -> String {
    let cri = "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
    format!(
        r#"
        [{cri}.runsc]
          runtime_type = "{RUNSC_RUNTIME}"
          [{cri}.runsc.options]
            TypeUrl = "io.containerd.runsc.v1.options"
            ConfigPath = {config:?}

        [{cri}.runsc-runc-shim]
          runtime_type = "io.containerd.runc.v2"
          [{cri}.runsc-runc-shim.options]
            BinaryName = {runsc:?}
            Root = {runc_root:?}

"#,
        config = root.join("runsc.toml").display().to_string(),
        runsc = runsc_bin().display().to_string(),
        runc_root = root.join("runsc-runc-root").display().to_string(),
    )
}

/// 127.0.0.1 unless `lo` lost it (another test on the machine may do that), then ::1.
fn stream_server_address() -> &'static str {
    if TcpListener::bind("127.0.0.1:0").is_ok() {
        "127.0.0.1"
    } else {
        "::1"
    }
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

/// An OCI archive of busybox-static with every applet linked, CMD /bin/sh.
pub fn busybox_image() -> PathBuf {
    cached_image("busybox-oci.tar", |work| {
        let rootfs = work.join("rootfs");
        for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
            fs::create_dir_all(rootfs.join(d)).expect("mkdir");
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("busybox (busybox-static) is not installed");
        fs::copy(&busybox, rootfs.join("bin/busybox")).expect("copy busybox");
        let list = run(
            {
                let mut c = Command::new(&busybox);
                c.arg("--list");
                c
            },
            Duration::from_secs(10),
        );
        for applet in list.stdout_str().lines().filter(|a| *a != "busybox" && !a.is_empty()) {
            let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
        }
        fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
        fs::write(rootfs.join("etc/group"), "root:x:0:\n").expect("group");
        set_mode(&rootfs.join("tmp"), 0o1777);
        oci_archive(
            work,
            "busybox",
            &rootfs,
            &[
                "--config.cmd",
                "/bin/sh",
                "--config.env",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            ],
            BUSYBOX,
        )
    })
}

/// An OCI archive of a static `pause` (waits for SIGINT/SIGTERM, reaps children).
pub fn pause_image() -> PathBuf {
    cached_image("pause-oci.tar", |work| {
        let rootfs = work.join("rootfs");
        fs::create_dir_all(&rootfs).expect("mkdir");
        let src = work.join("pause.c");
        fs::write(
            &src,
            "#include <signal.h>\n#include <stdlib.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\
             static void die(int s){(void)s;_exit(0);}\n\
             static void reap(int s){(void)s;while(waitpid(-1,0,WNOHANG)>0){}}\n\
             int main(void){signal(SIGINT,die);signal(SIGTERM,die);signal(SIGCHLD,reap);for(;;)pause();}\n",
        )
        .expect("pause.c");
        let mut gcc = Command::new("gcc");
        gcc.args(["-O2", "-static", "-o"]).arg(rootfs.join("pause")).arg(&src);
        let out = run(gcc, Duration::from_secs(120));
        assert!(out.success(), "compiling pause:\n{out}");
        oci_archive(work, "pause", &rootfs, &["--config.entrypoint", "/pause"], PAUSE)
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `target/containerd-images/NAME`, built by `build` in a scratch directory
/// (and renamed into place) unless it is there already.
fn cached_image(name: &str, build: impl FnOnce(&Path) -> PathBuf) -> PathBuf {
    let dir = target_dir().join("containerd-images");
    let out = dir.join(name);
    if out.is_file() {
        return out;
    }
    fs::create_dir_all(&dir).expect("mkdir containerd-images");
    let work = dir.join(format!(".build-{name}-{}-{}", std::process::id(), unique()));
    fs::create_dir_all(&work).expect("mkdir");
    let built = build(&work);
    fs::rename(&built, &out).expect("rename the image into place");
    let _ = fs::remove_dir_all(&work);
    out
}

/// umoci builds a one-layer image of `rootfs`; skopeo writes it as an OCI
/// archive named `reference`.
fn oci_archive(work: &Path, image: &str, rootfs: &Path, config: &[&str], reference: &str) -> PathBuf {
    let layout = work.join("oci");
    let tag = format!("{}:{image}", layout.display());
    let step = |program: &str, args: Vec<String>| {
        let mut c = Command::new(program);
        c.args(&args).current_dir(work);
        let out = run(c, Duration::from_secs(120));
        assert!(out.success(), "{program} {args:?}:\n{out}");
    };
    step(
        "umoci",
        vec!["init".into(), "--layout".into(), layout.display().to_string()],
    );
    step("umoci", vec!["new".into(), "--image".into(), tag.clone()]);
    step(
        "umoci",
        vec![
            "insert".into(),
            "--image".into(),
            tag.clone(),
            rootfs.display().to_string(),
            "/".into(),
        ],
    );
    let mut args = vec!["config".to_string(), "--image".into(), tag.clone()];
    args.extend(config.iter().map(|s| s.to_string()));
    args.extend(["--architecture", "amd64", "--os", "linux"].map(String::from));
    step("umoci", args);
    let archive = work.join(format!("{image}.tar"));
    step(
        "skopeo",
        vec![
            "copy".into(),
            "-q".into(),
            format!("oci:{tag}"),
            format!("oci-archive:{}:{reference}", archive.display()),
        ],
    );
    archive
}
