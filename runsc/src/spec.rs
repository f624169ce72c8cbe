//! Loading a bundle's config.json, checking what the Sentry needs from it,
//! and turning it into a [`sentry::Config`].

use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};
use platform::PlatformKind;

pub const CONFIG_FILE: &str = "config.json";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("bundle {path}: {source}")]
    Bundle { path: PathBuf, source: io::Error },
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("parsing {path}: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("unsupported ociVersion {0:?}: this runtime implements runtime-spec 1.x")]
    Version(String),
    #[error("config.json has no root")]
    NoRoot,
    #[error("root.path {path}: {source}")]
    Rootfs { path: PathBuf, source: io::Error },
    #[error("root.path {0} is not a directory")]
    RootfsNotDir(PathBuf),
    #[error("config.json has no process")]
    NoProcess,
    #[error("process.args must not be empty")]
    EmptyArgs,
    #[error("process.cwd {0:?} must be an absolute path")]
    RelativeCwd(PathBuf),
    #[error("{field} is not valid UTF-8")]
    NotUtf8 { field: &'static str },
}

/// A validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub dir: PathBuf,
    /// Absolute, canonical root file system.
    pub rootfs: PathBuf,
    /// The spec's process, which validation found present.
    pub process: Process,
    pub spec: Spec,
}

/// Reads and checks `<dir>/config.json`.
pub fn load(dir: &Path) -> Result<Bundle, SpecError> {
    let dir = dir.canonicalize().map_err(|source| SpecError::Bundle {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let spec: Spec = serde_json::from_str(&text).map_err(|source| SpecError::Parse { path, source })?;
    validate(dir, spec)
}

/// Checks a parsed spec; `dir` must be absolute.
pub fn validate(dir: PathBuf, spec: Spec) -> Result<Bundle, SpecError> {
    if !is_v1(spec.version()) {
        return Err(SpecError::Version(spec.version().clone()));
    }
    let root = spec.root().as_ref().ok_or(SpecError::NoRoot)?;
    // A relative root.path is relative to the bundle; join() keeps an absolute one.
    let rootfs = dir.join(root.path());
    let rootfs = rootfs.canonicalize().map_err(|source| SpecError::Rootfs {
        path: rootfs.clone(),
        source,
    })?;
    if !rootfs.is_dir() {
        return Err(SpecError::RootfsNotDir(rootfs));
    }
    let process = spec.process().clone().ok_or(SpecError::NoProcess)?;
    if !matches!(process.args(), Some(args) if !args.is_empty()) {
        return Err(SpecError::EmptyArgs);
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::RelativeCwd(process.cwd().clone()));
    }
    if process.cwd().to_str().is_none() {
        return Err(SpecError::NotUtf8 { field: "process.cwd" });
    }
    Ok(Bundle {
        dir,
        rootfs,
        process,
        spec,
    })
}

/// The Sentry configuration of a further process (`runsc exec`), checked
/// as the init's process is.
pub fn exec_config(process: &Process, stdio: [OwnedFd; 3]) -> Result<sentry::ExecConfig, SpecError> {
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecError::EmptyArgs);
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::RelativeCwd(process.cwd().clone()));
    }
    let cwd = process
        .cwd()
        .to_str()
        .ok_or(SpecError::NotUtf8 { field: "process.cwd" })?
        .to_string();
    Ok(sentry::ExecConfig {
        args,
        env: process.env().clone().unwrap_or_default(),
        cwd,
        uid: process.user().uid(),
        gid: process.user().gid(),
        additional_gids: process.user().additional_gids().clone().unwrap_or_default(),
        capabilities: process.capabilities().as_ref().map(capability_sets),
        rlimits: process.rlimits().iter().flatten().filter_map(rlimit).collect(),
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        stdio,
        preserved_fds: Vec::new(),
        terminal: process.terminal().unwrap_or(false),
    })
}

/// Any 1.x version (`1.0.2-dev`, `1.1.0`, `1.2.0`).
fn is_v1(version: &str) -> bool {
    match version.split_once('.') {
        Some((major, rest)) => major == "1" && rest.starts_with(|c: char| c.is_ascii_digit()),
        None => false,
    }
}

/// Runtime options that do not come from the spec.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub platform: PlatformKind,
    pub strace: bool,
}

impl Bundle {
    /// The path of the network namespace the spec gives the container
    /// (`linux.namespaces` entry of type network with a path).
    pub fn netns_path(&self) -> Option<PathBuf> {
        let namespaces = self.spec.linux().as_ref()?.namespaces().as_ref()?;
        namespaces
            .iter()
            .find(|ns| ns.typ() == oci_spec::runtime::LinuxNamespaceType::Network)?
            .path()
            .clone()
    }

    pub fn terminal(&self) -> bool {
        self.process.terminal().unwrap_or(false)
    }

    /// `(rows, columns)` from process.consoleSize, if set.
    pub fn console_size(&self) -> Option<(u16, u16)> {
        self.process.console_size().map(|b| {
            (
                u16::try_from(b.height()).unwrap_or(u16::MAX),
                u16::try_from(b.width()).unwrap_or(u16::MAX),
            )
        })
    }

    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The Sentry configuration of this container's init process.
    pub fn sentry_config(&self, id: &str, opts: &RuntimeOptions, stdio: [OwnedFd; 3]) -> sentry::Config {
        let process = &self.process;
        let root = self.spec.root().as_ref();
        sentry::Config {
            rootfs: self.rootfs.clone(),
            root_readonly: root.and_then(|r| r.readonly()).unwrap_or(false),
            overlay: false,
            args: process.args().clone().unwrap_or_default(),
            env: process.env().clone().unwrap_or_default(),
            cwd: process.cwd().to_string_lossy().into_owned(),
            uid: process.user().uid(),
            gid: process.user().gid(),
            additional_gids: process.user().additional_gids().clone().unwrap_or_default(),
            capabilities: process.capabilities().as_ref().map(capability_sets),
            rlimits: process.rlimits().iter().flatten().filter_map(rlimit).collect(),
            no_new_privileges: process.no_new_privileges().unwrap_or(false),
            mounts: self
                .spec
                .mounts()
                .iter()
                .flatten()
                .filter_map(|m| mount_config(m, &self.dir))
                .collect(),
            hostname: self
                .spec
                .hostname()
                .clone()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| id.to_string()),
            platform: opts.platform,
            strace: opts.strace,
            stdio,
            preserved_fds: Vec::new(),
            terminal: self.terminal(),
            gofer: None,
            bind_gofers: Vec::new(),
            network: sentry::net::inet::iface::Network::loopback_only(),
            nics: Vec::new(),
            host_network: false,
        }
    }
}

/// One OCI mount as the Sentry serves it; mounts it has no filesystem for
/// (cgroup, mqueue, ...) are skipped with a debug line.
fn mount_config(m: &oci_spec::runtime::Mount, bundle: &std::path::Path) -> Option<sentry::MountConfig> {
    let options = m.options().clone().unwrap_or_default();
    let has = |o: &str| options.iter().any(|x| x == o);
    let destination = m.destination().to_string_lossy().into_owned();
    let kind = m.typ().clone().unwrap_or_default();
    let read_only = has("ro");
    let kind = if kind == "bind" || has("bind") || has("rbind") {
        let source = m.source().clone()?;
        let source = if source.is_absolute() {
            source
        } else {
            bundle.join(source)
        };
        sentry::MountKind::Bind {
            // Like runc, a symlink as source is followed.
            file: !source.is_dir(),
            source,
            recursive: has("rbind"),
        }
    } else {
        match kind.as_str() {
            "proc" => sentry::MountKind::Proc,
            "tmpfs" if destination == "/dev" => sentry::MountKind::Dev,
            "tmpfs" => sentry::MountKind::Tmpfs {
                size: tmpfs_size(&options),
                mode: tmpfs_mode(&options),
            },
            "sysfs" => sentry::MountKind::Sysfs,
            "devpts" => sentry::MountKind::Devpts,
            other => {
                tracing::debug!("mount {destination}: type {other:?} is not served by the sandbox; skipped");
                return None;
            }
        }
    };
    Some(sentry::MountConfig {
        destination,
        kind,
        read_only,
        nosuid: has("nosuid"),
        noexec: has("noexec"),
        nodev: has("nodev"),
    })
}

/// tmpfs "size=N[kmg]" in bytes.
fn tmpfs_size(options: &[String]) -> Option<u64> {
    let v = options.iter().find_map(|o| o.strip_prefix("size="))?;
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// tmpfs "mode=OCTAL".
fn tmpfs_mode(options: &[String]) -> Option<u32> {
    let v = options.iter().find_map(|o| o.strip_prefix("mode="))?;
    u32::from_str_radix(v, 8).ok()
}

/// Capability numbers by name (capabilities(7)), CAP_CHOWN = 0 onwards.
const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// RLIMIT_* numbers by name, RLIMIT_CPU = 0 onwards.
const RLIMIT_NAMES: [&str; 16] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// The spec's serialized name of a value (its serde rename, e.g. "CAP_KILL").
fn serde_name<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value).ok()?.as_str().map(str::to_owned)
}

/// A set of capabilities as a bitmask; unknown names are skipped.
fn capability_mask(set: &Option<oci_spec::runtime::Capabilities>) -> u64 {
    set.iter()
        .flatten()
        .filter_map(serde_name)
        .filter_map(|name| CAPABILITY_NAMES.iter().position(|n| *n == name))
        .fold(0, |mask, bit| mask | 1 << bit)
}

fn capability_sets(caps: &oci_spec::runtime::LinuxCapabilities) -> sentry::CapabilitySets {
    sentry::CapabilitySets {
        bounding: capability_mask(caps.bounding()),
        effective: capability_mask(caps.effective()),
        permitted: capability_mask(caps.permitted()),
        inheritable: capability_mask(caps.inheritable()),
        ambient: capability_mask(caps.ambient()),
    }
}

fn rlimit(r: &oci_spec::runtime::PosixRlimit) -> Option<(u32, u64, u64)> {
    let name = serde_name(&r.typ())?;
    let number = RLIMIT_NAMES.iter().position(|n| *n == name)?;
    Some((number as u32, r.soft(), r.hard()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{ProcessBuilder, RootBuilder, SpecBuilder, UserBuilder};
    use std::os::fd::AsFd;

    fn spec(version: &str, args: &[&str]) -> Spec {
        SpecBuilder::default()
            .version(version)
            .hostname("box")
            .root(RootBuilder::default().path("rootfs").readonly(true).build().unwrap())
            .process(
                ProcessBuilder::default()
                    .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .env(vec!["PATH=/bin".to_string()])
                    .cwd("/work")
                    .user(UserBuilder::default().uid(1000u32).gid(100u32).build().unwrap())
                    .build()
                    .unwrap(),
            )
            .annotations(
                [("a".to_string(), "b".to_string())]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            )
            .build()
            .unwrap()
    }

    /// A bundle directory with a rootfs and the given spec saved in it.
    fn bundle_with(spec: &Spec) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        spec.save(dir.path().join(CONFIG_FILE)).unwrap();
        dir
    }

    fn stdio() -> [OwnedFd; 3] {
        let fd = || std::io::stdin().as_fd().try_clone_to_owned().unwrap();
        [fd(), fd(), fd()]
    }

    #[test]
    fn good_bundle_becomes_a_sentry_config() {
        let dir = bundle_with(&spec("1.0.2-dev", &["/bin/echo", "hi"]));
        let bundle = load(dir.path()).unwrap();
        assert!(bundle.dir.is_absolute());
        assert_eq!(bundle.rootfs, dir.path().canonicalize().unwrap().join("rootfs"));
        assert_eq!(bundle.annotations().get("a").map(String::as_str), Some("b"));
        assert!(!bundle.terminal());
        let opts = RuntimeOptions {
            platform: PlatformKind::Ptrace,
            strace: true,
        };
        let c = bundle.sentry_config("id1", &opts, stdio());
        assert_eq!(c.rootfs, bundle.rootfs);
        assert!(c.root_readonly && !c.overlay && c.strace);
        assert_eq!(c.args, ["/bin/echo", "hi"]);
        assert_eq!(c.env, ["PATH=/bin"]);
        assert_eq!(c.cwd, "/work");
        assert_eq!((c.uid, c.gid), (1000, 100));
        assert_eq!(c.hostname, "box");
    }

    #[test]
    fn hostname_defaults_to_the_id() {
        let mut s = spec("1.1.0", &["x"]);
        s.set_hostname(None);
        let dir = bundle_with(&s);
        let opts = RuntimeOptions {
            platform: PlatformKind::Ptrace,
            strace: false,
        };
        let c = load(dir.path()).unwrap().sentry_config("id9", &opts, stdio());
        assert_eq!(c.hostname, "id9");
    }

    #[test]
    fn absolute_root_path() {
        let rootfs = tempfile::tempdir().unwrap();
        let mut s = spec("1.2.0", &["x"]);
        s.set_root(Some(RootBuilder::default().path(rootfs.path()).build().unwrap()));
        let dir = bundle_with(&s);
        let bundle = load(dir.path()).unwrap();
        assert_eq!(bundle.rootfs, rootfs.path().canonicalize().unwrap());
    }

    #[test]
    fn missing_bundle() {
        let err = load(Path::new("/nonexistent/bundle")).unwrap_err();
        assert!(matches!(err, SpecError::Bundle { .. }));
        assert_eq!(
            err.to_string(),
            "bundle /nonexistent/bundle: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn missing_config() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, SpecError::Read { .. }));
        assert!(err.to_string().contains("config.json: No such file"), "{err}");
    }

    #[test]
    fn invalid_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "{\"ociVersion\": \"1.0.2\",").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, SpecError::Parse { .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("parsing ") && msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn bad_version() {
        for v in ["2.0", "2.0.0", "0.5.0", "", "1", "1.x"] {
            let dir = bundle_with(&spec(v, &["x"]));
            let err = load(dir.path()).unwrap_err();
            assert!(matches!(err, SpecError::Version(_)), "{v}: {err}");
        }
        let dir = bundle_with(&spec("2.0", &["x"]));
        assert_eq!(
            load(dir.path()).unwrap_err().to_string(),
            "unsupported ociVersion \"2.0\": this runtime implements runtime-spec 1.x"
        );
    }

    #[test]
    fn missing_rootfs() {
        let s = spec("1.0.0", &["x"]);
        let dir = tempfile::tempdir().unwrap();
        s.save(dir.path().join(CONFIG_FILE)).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, SpecError::Rootfs { .. }));
        assert!(err.to_string().starts_with("root.path "), "{err}");
        assert!(err.to_string().contains("rootfs: No such file"), "{err}");

        std::fs::write(dir.path().join("rootfs"), b"").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, SpecError::RootfsNotDir(_)), "{err}");

        let mut s = spec("1.0.0", &["x"]);
        s.set_root(None);
        let dir = bundle_with(&s);
        assert!(matches!(load(dir.path()), Err(SpecError::NoRoot)));
    }

    #[test]
    fn empty_args() {
        let dir = bundle_with(&spec("1.0.2", &[]));
        let err = load(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), "process.args must not be empty");

        let mut s = spec("1.0.2", &["x"]);
        s.set_process(None);
        let dir = bundle_with(&s);
        assert!(matches!(load(dir.path()), Err(SpecError::NoProcess)));
    }

    #[test]
    fn relative_cwd() {
        let mut s = spec("1.0.2", &["x"]);
        if let Some(p) = s.process_mut() {
            p.set_cwd("work".into());
        }
        let dir = bundle_with(&s);
        let err = load(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), "process.cwd \"work\" must be an absolute path");
    }

    #[test]
    fn versions() {
        for v in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.10.3"] {
            assert!(is_v1(v), "{v}");
        }
    }
}

#[cfg(test)]
mod process_tests {
    use super::*;
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder, PosixRlimitBuilder, PosixRlimitType};

    #[test]
    fn capabilities_become_bitmasks() {
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(
                [Capability::Chown, Capability::Kill]
                    .into_iter()
                    .collect::<oci_spec::runtime::Capabilities>(),
            )
            .effective(
                [Capability::NetBindService]
                    .into_iter()
                    .collect::<oci_spec::runtime::Capabilities>(),
            )
            .permitted(oci_spec::runtime::Capabilities::new())
            .build()
            .expect("capabilities");
        let sets = capability_sets(&caps);
        assert_eq!(sets.bounding, 1 << 0 | 1 << 5);
        assert_eq!(sets.effective, 1 << 10);
        assert_eq!(sets.permitted, 0);
    }

    #[test]
    fn rlimits_map_to_numbers() {
        let r = PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .soft(100u64)
            .hard(200u64)
            .build()
            .expect("rlimit");
        assert_eq!(rlimit(&r), Some((7, 100, 200)));
    }
}
