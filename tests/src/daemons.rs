//! Private instances of the real clients for end-to-end tests: dockerd (on
//! a [`Containerd`] of its own) and podman, and what they and
//! [`crate::containerd`] share: tool checks, start-up waits, tear-down.
//!
//! Every instance keeps ALL of its state in a temporary directory of its own
//! (root, state, sockets, runtime roots), uses a containerd namespace unique
//! to it, and is torn down on drop, also when the test fails: its
//! containers are removed, its daemons stopped, processes still naming its
//! directory killed, mounts below it detached, the directory removed. The
//! machine is shared, so nothing global is touched.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::containerd::Containerd;
use crate::{run, unique_name, Output};

/// How long a daemon may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long clean-up commands may take each.
pub(crate) const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether CI is running us (`CI=true`): a missing tool is then a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether every tool is on PATH and we are root. Outside CI a missing one
/// makes the caller skip (with a message); in CI (`CI=true`) it panics,
/// because .ci/run installs them.
pub fn require_tools(tools: &[&str]) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| which(t).is_none())
        .map(|t| t.to_string())
        .collect();
    if !nix::unistd::Uid::effective().is_root() {
        missing.push("root privileges".into());
    }
    if missing.is_empty() {
        return true;
    }
    let message = format!("missing {}", missing.join(", "));
    assert!(!in_ci(), "{message} (CI must provide them: see .ci/run)");
    eprintln!("SKIPPED: {message}");
    false
}

/// The first `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

pub(crate) fn private_dir(prefix: &str) -> TempDir {
    // Short (/tmp/...): unix socket paths must fit in 108 bytes.
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir_in("/tmp")
        .expect("creating a private directory")
}

/// Waits until `ready` holds or panics with the daemon's log.
pub(crate) fn wait_ready(what: &str, log: &Path, child: &mut Child, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + START_TIMEOUT;
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}):\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not come up within {START_TIMEOUT:?}:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, then SIGKILL after `grace`; always reaps.
pub(crate) fn stop(child: &mut Child, grace: Duration) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Host pids of processes whose command line mentions `needle` (a private
/// directory: only processes started for that instance do).
pub fn pids_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
        })
        .collect()
}

/// Mount points at or below `dir` (from /proc/self/mountinfo), deepest first.
pub fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape_mountinfo(field: &str) -> PathBuf {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    PathBuf::from(out)
}

/// Kills what is left of an instance (processes naming `dir`) and detaches
/// the mounts below `dir`.
pub(crate) fn sweep(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    for pid in pids_mentioning(&needle) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    for point in mounts_below(dir) {
        let _ = nix::mount::umount2(&point, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Removes the cgroup `name` (a top-level cgroup named after an instance)
/// and its descendants from every hierarchy, deepest first: the runtime
/// removes a container's own cgroup, but parents such as `/<namespace>`
/// stay, as with runc. Only empty cgroups can be removed.
pub fn remove_cgroups(name: &str) {
    if name.is_empty() || name.contains('/') {
        return;
    }
    for hierarchy in fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        remove_cgroup_tree(&hierarchy.path().join(name));
    }
}

fn remove_cgroup_tree(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&entry.path());
        }
    }
    let _ = fs::remove_dir(dir);
}

pub(crate) fn command_with<I, S>(program: &str, first: &[&OsStr], args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(first).args(args);
    cmd
}

// ---------------------------------------------------------------------------
// dockerd
// ---------------------------------------------------------------------------

/// A dockerd of our own, on a [`Containerd`] of our own, with no bridge
/// network and no iptables rules; `runtimes` in its daemon.json.
pub struct Dockerd {
    dir: TempDir,
    child: Option<Child>,
    // Dropped after dockerd has stopped.
    containerd: Containerd,
}

impl Dockerd {
    /// Starts dockerd with `runtimes` (name, runtime binary) registered.
    pub fn start(runtimes: &[(&str, &Path)]) -> Dockerd {
        let containerd = Containerd::start();
        let dir = private_dir("runsc-dockerd");
        let path = dir.path();
        let runtimes: serde_json::Map<String, serde_json::Value> = runtimes
            .iter()
            .map(|(name, bin)| (name.to_string(), serde_json::json!({ "path": bin })))
            .collect();
        let config = serde_json::json!({
            "data-root": path.join("root"),
            "exec-root": path.join("exec"),
            "pidfile": path.join("dockerd.pid"),
            "hosts": [format!("unix://{}", path.join("docker.sock").display())],
            "containerd": containerd.socket(),
            "containerd-namespace": containerd.namespace(),
            "containerd-plugins-namespace": format!("{}-plugins", containerd.namespace()),
            "bridge": "none",
            "iptables": false,
            "ip6tables": false,
            "ip-masq": false,
            "storage-driver": "overlay2",
            // Containers' cgroups go under a parent of our own, not /docker.
            "cgroup-parent": format!("/{}-docker", containerd.namespace()),
            "runtimes": runtimes,
        });
        let config_path = path.join("daemon.json");
        fs::write(&config_path, config.to_string()).expect("writing daemon.json");
        let log = path.join("dockerd.log");
        let log_file = fs::File::create(&log).expect("dockerd log");
        let mut child = Command::new("dockerd")
            .arg("--config-file")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .expect("starting dockerd");
        let mut dockerd = Dockerd {
            dir,
            child: None,
            containerd,
        };
        let probe = || run(dockerd.docker_command(["version"]), Duration::from_secs(10)).success();
        wait_ready("dockerd", &log, &mut child, probe);
        dockerd.child = Some(child);
        dockerd
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The containerd it runs on.
    pub fn containerd(&self) -> &Containerd {
        &self.containerd
    }

    /// dockerd's exec-root: runtimes get `--root <this>/runtime-runc/moby`.
    pub fn exec_root(&self) -> PathBuf {
        self.dir().join("exec")
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default()
    }

    /// Its daemon.json (`runsc install --config-file`).
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("daemon.json")
    }

    /// Makes dockerd read daemon.json again (SIGHUP), and waits until it
    /// reports a runtime named `runtime`.
    pub fn reload_until_runtime(&self, runtime: &str) {
        if let Some(pid) = self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGHUP);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let out = run(
                self.docker_command(["info", "-f", "{{json .Runtimes}}"]),
                CLEANUP_TIMEOUT,
            );
            if out.stdout_str().contains(&format!("\"{runtime}\"")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd never listed runtime {runtime}\n{out}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `docker -H unix://SOCKET ARGS...`, with the CLI's own config kept in
    /// our directory.
    pub fn docker_command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let host = format!("unix://{}", self.dir().join("docker.sock").display());
        let mut cmd = command_with("docker", &[OsStr::new("-H"), OsStr::new(&host)], args);
        cmd.env("DOCKER_CONFIG", self.dir().join("cli"));
        cmd
    }

    /// Runs `docker ARGS...` with the default test timeout.
    pub fn docker<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.docker_command(args), crate::default_timeout())
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let ids = run(self.docker_command(["ps", "-aq"]), CLEANUP_TIMEOUT).stdout_str();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                run(
                    self.docker_command(["rm", "-f"].iter().chain(ids.iter())),
                    CLEANUP_TIMEOUT,
                );
            }
            stop(&mut child, Duration::from_secs(15));
        }
        // dockerd bind-mounts its data-root onto itself.
        sweep(self.dir());
        remove_cgroups(&format!("{}-docker", self.containerd.namespace()));
    }
}

// ---------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------

/// Podman with its own containers.conf, storage.conf, storage and libpod
/// state. [`Podman::add_runtime`] registers a runtime under
/// `[engine.runtimes]`; the registered path is a wrapper that adds
/// `--root <dir>/NAME-root`, because conmon passes no global flags and a
/// runtime's default root is shared by the machine.
pub struct Podman {
    dir: TempDir,
    cgroup_parent: String,
}

impl Podman {
    /// `runtimes`: (name, binary) pairs for `podman --runtime NAME`.
    pub fn new(runtimes: &[(&str, &Path)]) -> Podman {
        let dir = private_dir("runsc-podman");
        let path = dir.path();
        let mut table = String::new();
        for (name, bin) in runtimes {
            let wrapper = path.join(format!("{name}-wrapper"));
            let root = path.join(format!("{name}-root"));
            fs::write(
                &wrapper,
                format!(
                    "#!/bin/sh\nexec '{}' --root '{}' \"$@\"\n",
                    bin.display(),
                    root.display()
                ),
            )
            .expect("writing the runtime wrapper");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
            table.push_str(&format!("{name} = [\"{}\"]\n", wrapper.display()));
        }
        // Podman's default rlimits need CAP_SYS_RESOURCE, which this kind of
        // machine lacks (ECOSYSTEM §5); there is no systemd or journald.
        let conf = format!(
            r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/libpod-tmp"
volume_path = "{d}/volumes"
[engine.runtimes]
{table}"#,
            d = path.display()
        );
        fs::write(path.join("containers.conf"), conf).expect("writing containers.conf");
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{d}/root\"\nrunroot = \"{d}/run\"\n",
            d = path.display()
        );
        fs::write(path.join("storage.conf"), storage).expect("writing storage.conf");
        Podman {
            dir,
            cgroup_parent: unique_name("runsc-podman"),
        }
    }

    /// A cgroup parent of our own for `podman run --cgroup-parent` (the
    /// default, /libpod_parent, is shared); removed on drop.
    pub fn cgroup_parent(&self) -> String {
        format!("/{}", self.cgroup_parent)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `podman ARGS...` with our configuration. The storage flags are also
    /// given explicitly: conmon's clean-up command (`podman container
    /// cleanup`) carries them but not the CONTAINERS_* environment.
    pub fn podman_command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let d = self.dir();
        let (root, runroot, tmp) = (d.join("root"), d.join("run"), d.join("libpod-tmp"));
        let mut cmd = command_with(
            "podman",
            &[
                OsStr::new("--root"),
                root.as_os_str(),
                OsStr::new("--runroot"),
                runroot.as_os_str(),
                OsStr::new("--tmpdir"),
                tmp.as_os_str(),
                OsStr::new("--storage-driver"),
                OsStr::new("overlay"),
                OsStr::new("--cgroup-manager"),
                OsStr::new("cgroupfs"),
                OsStr::new("--events-backend"),
                OsStr::new("file"),
            ],
            args,
        );
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"));
        cmd
    }

    /// Runs `podman ARGS...` with the default test timeout.
    pub fn podman<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.podman_command(args), crate::default_timeout())
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        run(self.podman_command(["rm", "-af", "-t", "0"]), CLEANUP_TIMEOUT);
        // conmon and the runtime name our directory; so do the overlay mounts.
        sweep(self.dir());
        remove_cgroups(&self.cgroup_parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b/c\\134d"), Path::new("/a b/c\\d"));
        assert_eq!(unescape_mountinfo("/plain"), Path::new("/plain"));
        assert_eq!(unescape_mountinfo("/odd\\x"), Path::new("/odd\\x"));
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("no-such-tool-anywhere").is_none());
    }
}
