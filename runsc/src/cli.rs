//! The command line, spelled the way runc spells it so that containerd's
//! runc shim, Docker and Podman can drive `runsc` unchanged.
//!
//! Global flags come before the subcommand (that is what every client sends);
//! subcommand options may come before or after the container id.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use platform::PlatformKind;

use crate::signals::Sig;

/// Where container state lives unless `--root` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/run/runsc";

#[derive(Debug, Parser)]
#[command(
    name = "runsc",
    version,
    about = "An OCI runtime that runs containers on the Sentry, a userspace kernel"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that apply to every subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Directory that holds the state of every container.
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,

    /// How guest code is run: ptrace, or systrap (seccomp traps). Default:
    /// systrap when the kernel supports it, else ptrace.
    #[arg(long = "platform", global = true, value_name = "NAME")]
    pub platform_flag: Option<PlatformKind>,

    /// The sandbox's network: `sandbox` (the Sentry's own stack over the
    /// interfaces of the container's network namespace, which it takes
    /// over), `none` (loopback only) or `host` (the host's sockets; not
    /// supported yet).
    #[arg(long, global = true, value_enum, value_name = "MODE", default_value_t = NetworkMode::Sandbox)]
    pub network: NetworkMode,

    /// Write debug logs to this file (or, for a directory, to a file in it
    /// named after the command and pid).
    #[arg(long = "debug-log", global = true, value_name = "FILE")]
    pub debug_log: Option<PathBuf>,

    /// Log at debug level.
    #[arg(long, global = true)]
    pub debug: bool,

    /// Log every guest syscall.
    #[arg(long, global = true)]
    pub strace: bool,

    /// Write the runtime log to this file (containerd reads its last error).
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Format of the `--log` file.
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Accepted for runc compatibility; the sandbox does not use systemd.
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,

    /// Accepted for runc compatibility (`--rootless` or `--rootless=true|false|auto`).
    #[arg(
        long,
        global = true,
        value_name = "true|false|auto",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub rootless: Option<String>,
}

/// What `--network` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkMode {
    Sandbox,
    None,
    Host,
}

impl NetworkMode {
    pub fn name(self) -> &'static str {
        match self {
            NetworkMode::Sandbox => "sandbox",
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl GlobalOpts {
    /// The platform asked for, or the default for this kernel
    /// ([`platform::default_kind`], probed once per process).
    pub fn platform(&self) -> PlatformKind {
        static DEFAULT: std::sync::OnceLock<PlatformKind> = std::sync::OnceLock::new();
        self.platform_flag.unwrap_or_else(|| {
            *DEFAULT.get_or_init(|| {
                let kind = platform::default_kind();
                tracing::debug!(
                    "no --platform given: using {} (systrap supported: {})",
                    platform_name(kind),
                    kind == PlatformKind::Systrap
                );
                kind
            })
        })
    }

    /// The same flags as argv, for re-executing ourselves as `boot`.
    /// Paths are made absolute because the child runs in `/`.
    pub fn to_args(&self) -> std::io::Result<Vec<OsString>> {
        let mut args: Vec<OsString> = vec![
            "--root".into(),
            absolute(&self.root)?.into(),
            "--platform".into(),
            platform_name(self.platform()).into(),
            "--network".into(),
            self.network.name().into(),
            "--log-format".into(),
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            }
            .into(),
        ];
        if let Some(path) = &self.log {
            args.push("--log".into());
            args.push(absolute(path)?.into());
        }
        if let Some(path) = &self.debug_log {
            args.push("--debug-log".into());
            args.push(absolute(path)?.into());
        }
        if self.debug {
            args.push("--debug".into());
        }
        if self.strace {
            args.push("--strace".into());
        }
        Ok(args)
    }
}

/// The name `PlatformKind::from_str` accepts for `kind`.
pub fn platform_name(kind: PlatformKind) -> String {
    format!("{kind:?}").to_lowercase()
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container: load its init process without running it.
    Create(CreateArgs),
    /// Run the init process of a created container.
    Start(IdArgs),
    /// Print the OCI state of a container as JSON.
    State(IdArgs),
    /// Send a signal to a container's init process.
    Kill(KillArgs),
    /// Remove a container's state (kill it first with --force).
    Delete(DeleteArgs),
    /// List the processes running inside a container.
    Ps(PsArgs),
    /// Run a further process inside a running container.
    Exec(ExecArgs),
    /// Create and start a container, then wait for it unless --detach.
    Run(RunArgs),
    /// List containers.
    List(ListArgs),
    /// Write a default config.json into a bundle.
    Spec(SpecArgs),
    /// Run a command in a sandbox over the host's root (no bundle needed).
    Do(DoArgs),
    /// Freeze every process of a running container.
    Pause(IdArgs),
    /// Thaw a paused container.
    Resume(IdArgs),
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Print a container's resource usage (and OOM events) as JSON.
    Events(EventsArgs),
    /// Print what this runtime supports as JSON (runc's `features`).
    Features,
    /// Register runsc with Docker (daemon.json) or containerd (config.toml).
    Install(InstallArgs),
    /// Internal: the sandbox process started by `create`.
    #[command(hide = true)]
    Boot(BootArgs),
    /// Internal: the file server of a sandbox.
    #[command(hide = true)]
    Gofer(GoferArgs),
    /// Internal: waits for a detached exec's process (its pid is in the
    /// pid file) and exits with its status.
    #[command(hide = true, name = "exec-wait")]
    ExecWait(ExecWaitArgs),
    /// Internal: an app container of a pod, which joins its sandbox; waits
    /// for the container's init and exits with its status.
    #[command(hide = true, name = "container-wait")]
    ContainerWait(ContainerWaitArgs),
}

impl Command {
    /// The `--preserve-fds` count of the subcommands that take one.
    pub fn preserve_fds(&self) -> u32 {
        match self {
            Command::Create(args) => args.preserve_fds,
            Command::Run(args) => args.create.preserve_fds,
            Command::Exec(args) => args.preserve_fds,
            Command::Boot(args) => args.preserve_fds,
            Command::ContainerWait(args) => args.preserve_fds,
            _ => 0,
        }
    }

    /// The subcommand's name, for log file names and log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Start(_) => "start",
            Command::State(_) => "state",
            Command::Kill(_) => "kill",
            Command::Delete(_) => "delete",
            Command::Ps(_) => "ps",
            Command::Exec(_) => "exec",
            Command::ExecWait(_) => "exec-wait",
            Command::ContainerWait(_) => "container-wait",
            Command::Run(_) => "run",
            Command::List(_) => "list",
            Command::Spec(_) => "spec",
            Command::Do(_) => "do",
            Command::Pause(_) => "pause",
            Command::Resume(_) => "resume",
            Command::Update(_) => "update",
            Command::Events(_) => "events",
            Command::Features => "features",
            Command::Install(_) => "install",
            Command::Boot(_) => "boot",
            Command::Gofer(_) => "gofer",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct IdArgs {
    /// Container id.
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Bundle directory (holding config.json).
    #[arg(short = 'b', long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,

    /// Write the pid of the container's init (the sandbox process) here.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Unix socket that receives the pty master when process.terminal is set.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-pivot", hide = true)]
    pub no_pivot: bool,

    /// Accepted for runc compatibility (no effect).
    #[arg(long = "no-new-keyring", hide = true)]
    pub no_new_keyring: bool,

    /// Pass our fds 3 .. 3+N-1 on to the container's init at the same
    /// numbers, after stdio (as runc does).
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Container id.
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Return once the container is started instead of waiting for it.
    #[arg(short = 'd', long)]
    pub detach: bool,

    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GoferArgs {
    /// An empty host directory the gofer builds its root in (then leaves).
    #[arg(long)]
    pub staging: PathBuf,
    /// The fd on which the gofer reports "ok" or its set-up error.
    #[arg(long)]
    pub ready_fd: i32,
    /// JSON list of exports: connection fd, source, read_only, recursive, file.
    #[arg(long)]
    pub exports: String,
}

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// `table` (default) or `json` (a list of pids, as runc prints).
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,

    /// Container id.
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// An OCI process (JSON), as containerd writes it; replaces the
    /// command line's process.
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,

    /// Working directory of the process (default: the container's).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,

    /// Add or override an environment variable (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<String>,

    /// Run as UID[:GID].
    #[arg(short = 'u', long, value_name = "UID[:GID]", value_parser = parse_user)]
    pub user: Option<(u32, Option<u32>)>,

    /// Additional group id (repeatable).
    #[arg(short = 'g', long = "additional-gids", value_name = "GID")]
    pub additional_gids: Vec<u32>,

    /// Give the process a terminal.
    #[arg(short = 't', long)]
    pub tty: bool,

    /// Unix socket that receives the pty master when a terminal is given.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Return once the process has started instead of waiting for it.
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// Write the pid of the host process that waits for the exec'd process
    /// (it exits with its status) here.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Pass our fds 3 .. 3+N-1 on to the process at the same numbers,
    /// after stdio (as runc does).
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,

    /// Add a capability (`CAP_NET_ADMIN` or `NET_ADMIN`; repeatable).
    #[arg(short = 'c', long = "cap", value_name = "CAP")]
    pub caps: Vec<String>,

    /// Accepted for runc compatibility (no effect).
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,

    /// Accepted for runc compatibility (no effect).
    #[arg(long = "apparmor", hide = true)]
    pub apparmor: Option<String>,

    /// Container id.
    pub id: String,

    /// The command and its arguments (after the id, or after `--`).
    #[arg(value_name = "ARGS", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ExecWaitArgs {
    /// The inherited exec connection to the sandbox.
    #[arg(long = "conn-fd", value_name = "FD")]
    pub conn_fd: i32,

    /// The exec'd process's pid inside the sandbox.
    #[arg(long, value_name = "PID")]
    pub pid: i32,

    /// Container id.
    pub id: String,
}

/// `UID` or `UID:GID`.
fn parse_user(s: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("{s:?} is not UID[:GID]");
    match s.split_once(':') {
        Some((uid, gid)) => Ok((uid.parse().map_err(|_| bad())?, Some(gid.parse().map_err(|_| bad())?))),
        None => Ok((s.parse().map_err(|_| bad())?, None)),
    }
}

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Signal every process of the container (exec'd ones too), not only
    /// the init; also makes killing a stopped container a no-op.
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Container id.
    pub id: String,

    /// Signal as a number, `TERM` or `SIGTERM`.
    #[arg(default_value = "SIGTERM", value_parser = crate::signals::parse)]
    pub signal: Sig,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// OCI `linux.resources` JSON to apply (`-` reads stdin), as
    /// containerd's shim sends it.
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<PathBuf>,

    /// Memory limit in bytes (suffixes k, m, g allowed).
    #[arg(short = 'm', long, value_name = "BYTES", value_parser = parse_bytes)]
    pub memory: Option<i64>,

    /// CPU shares (relative weight).
    #[arg(long = "cpu-shares", value_name = "N")]
    pub cpu_shares: Option<u64>,

    /// CFS quota in microseconds per period.
    #[arg(long = "cpu-quota", value_name = "US")]
    pub cpu_quota: Option<i64>,

    /// CFS period in microseconds.
    #[arg(long = "cpu-period", value_name = "US")]
    pub cpu_period: Option<u64>,

    /// Maximum number of tasks.
    #[arg(long = "pids-limit", value_name = "N")]
    pub pids_limit: Option<i64>,

    /// Container id.
    pub id: String,
}

/// `1024`, `64k`, `100m`, `2g` (binary units, as runc's --memory).
fn parse_bytes(s: &str) -> Result<i64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, shift) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 10),
        Some('m') => (&lower[..lower.len() - 1], 20),
        Some('g') => (&lower[..lower.len() - 1], 30),
        _ => (lower, 0),
    };
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{s:?} is not a size in bytes"))
}

#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Print the resource usage once and exit.
    #[arg(long)]
    pub stats: bool,

    /// How often to print the usage: `5s`, `500ms`, `1m`.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: std::time::Duration,

    /// Container id.
    pub id: String,
}

/// Go's duration syntax for the common cases: `5s`, `500ms`, `1m`, `2h`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration such as 5s or 500ms");
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 || !secs.is_finite() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// The name clients select runsc by.
    #[arg(long, value_name = "NAME", default_value = "runsc")]
    pub runtime: String,

    /// The file to edit: Docker's daemon.json (default
    /// /etc/docker/daemon.json), or with --containerd containerd's
    /// config.toml (without it the snippet is printed).
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,

    /// Write containerd's configuration instead of Docker's.
    #[arg(long)]
    pub containerd: bool,

    /// Print the result instead of writing it.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Global flags for runsc itself (after `--`), e.g. `--platform systrap`.
    #[arg(value_name = "RUNTIME_ARGS", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub runtime_args: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// Kill a running container first; succeed if it does not exist.
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Container id.
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Print only the container ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Directory to write config.json into (default: the current directory).
    #[arg(short = 'b', long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DoArgs {
    /// Make the root read-only instead of giving it an in-memory overlay.
    #[arg(long = "root-ro")]
    pub root_ro: bool,

    /// Working directory of the command (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,

    /// Add or override an environment variable (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<String>,

    /// The command and its arguments (after `--`).
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

fn parse_env(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(s.to_string()),
        _ => Err(format!("{s:?} is not of the form KEY=VALUE")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct ContainerWaitArgs {
    /// Absolute bundle directory.
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,

    /// The id of the pod's sandbox container to join.
    #[arg(long, value_name = "ID")]
    pub sandbox: String,

    /// Inherited pipe on which to report readiness to `create`.
    #[arg(long = "status-fd", value_name = "FD")]
    pub status_fd: i32,

    /// Inherited fds 3 .. 3+N-1 that become the init's (`create
    /// --preserve-fds`).
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Container id.
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct BootArgs {
    /// Absolute bundle directory.
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,

    /// Inherited pipe on which to report readiness to `create`.
    #[arg(long = "status-fd", value_name = "FD")]
    pub status_fd: i32,

    /// Inherited fds 3 .. 3+N-1 that become the init's (`create
    /// --preserve-fds`).
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Container id.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let argv = std::iter::once("runsc").chain(args.iter().copied());
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli,
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn parse_err(args: &[&str]) -> String {
        let argv = std::iter::once("runsc").chain(args.iter().copied());
        match Cli::try_parse_from(argv) {
            Ok(cli) => panic!("{args:?} parsed unexpectedly: {cli:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn containerd_shim_create() {
        let cli = parse(&[
            "--root",
            "/run/containerd/runc/default",
            "--log",
            "/b/log.json",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "id1",
        ]);
        assert_eq!(cli.global.root, Path::new("/run/containerd/runc/default"));
        assert_eq!(cli.global.log.as_deref(), Some(Path::new("/b/log.json")));
        assert_eq!(cli.global.log_format, LogFormat::Json);
        let Command::Create(c) = cli.command else {
            panic!("not create")
        };
        assert_eq!(c.bundle, Path::new("/b"));
        assert_eq!(c.pid_file.as_deref(), Some(Path::new("/b/init.pid")));
        assert_eq!(c.console_socket, None);
        assert_eq!(c.id, "id1");
    }

    #[test]
    fn create_with_console_socket_and_options_after_id() {
        let cli = parse(&[
            "create",
            "id1",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "--console-socket",
            "/tmp/pty1/pty.sock",
        ]);
        let Command::Create(c) = cli.command else {
            panic!("not create")
        };
        assert_eq!(c.id, "id1");
        assert_eq!(c.bundle, Path::new("/b"));
        assert_eq!(c.console_socket.as_deref(), Some(Path::new("/tmp/pty1/pty.sock")));
    }

    #[test]
    fn defaults() {
        let cli = parse(&["state", "x"]);
        assert_eq!(cli.global.root, Path::new(DEFAULT_ROOT));
        assert_eq!(cli.global.platform_flag, None);
        assert_eq!(cli.global.log_format, LogFormat::Text);
        assert!(!cli.global.debug && !cli.global.strace && !cli.global.systemd_cgroup);
        let cli = parse(&["create", "x"]);
        let Command::Create(c) = cli.command else {
            panic!("not create")
        };
        assert_eq!(c.bundle, Path::new("."));
    }

    #[test]
    fn docker_and_podman_extras_are_accepted() {
        let cli = parse(&[
            "--root",
            "/run/docker/runtime-runc/moby",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "--rootless",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "2",
            "id",
        ]);
        assert!(cli.global.systemd_cgroup);
        assert_eq!(cli.global.rootless.as_deref(), Some("true"));
        let cli = parse(&["--rootless=auto", "list"]);
        assert_eq!(cli.global.rootless.as_deref(), Some("auto"));
    }

    #[test]
    fn global_flags() {
        let cli = parse(&[
            "--platform",
            "ptrace",
            "--debug-log",
            "/tmp/d.log",
            "--debug",
            "--strace",
            "list",
        ]);
        assert!(cli.global.debug && cli.global.strace);
        assert_eq!(cli.global.debug_log.as_deref(), Some(Path::new("/tmp/d.log")));
        let err = parse_err(&["--platform", "nope", "list"]);
        assert!(err.contains("unknown platform"), "{err}");
        let err = parse_err(&["--log-format", "xml", "list"]);
        assert!(err.contains("xml"), "{err}");
    }

    #[test]
    fn shim_kill_forms() {
        for (argv, all, sig) in [
            (&["kill", "id1", "15"][..], false, 15),
            (&["kill", "id1", "9"][..], false, 9),
            (&["kill", "--all", "id1", "9"][..], true, 9),
            (&["kill", "id1", "KILL", "--all"][..], true, 9),
            (&["kill", "id1"][..], false, 15),
            (&["kill", "-a", "id1", "SIGHUP"][..], true, 1),
        ] {
            let Command::Kill(k) = parse(argv).command else {
                panic!("not kill")
            };
            assert_eq!(k.id, "id1");
            assert_eq!(k.all, all, "{argv:?}");
            assert_eq!(k.signal.number(), sig, "{argv:?}");
        }
        let err = parse_err(&["kill", "id1", "SIGNOPE"]);
        assert!(err.contains("SIGNOPE"), "{err}");
    }

    #[test]
    fn delete_start_state() {
        let Command::Delete(d) = parse(&["delete", "id1"]).command else {
            panic!("not delete")
        };
        assert!(!d.force);
        let Command::Delete(d) = parse(&["delete", "id1", "--force"]).command else {
            panic!("not delete")
        };
        assert!(d.force && d.id == "id1");
        let Command::Delete(d) = parse(&["delete", "-f", "id1"]).command else {
            panic!("not delete")
        };
        assert!(d.force);
        let Command::Start(s) = parse(&["--root", "/r", "start", "id1"]).command else {
            panic!("not start")
        };
        assert_eq!(s.id, "id1");
        let err = parse_err(&["state"]);
        assert!(err.contains("<ID>"), "{err}");
    }

    #[test]
    fn run_and_list() {
        let Command::Run(r) = parse(&["run", "-d", "--bundle", "/b", "id1"]).command else {
            panic!("not run")
        };
        assert!(r.detach);
        assert_eq!(r.create.bundle, Path::new("/b"));
        assert_eq!(r.create.id, "id1");
        let Command::Run(r) = parse(&["run", "id1", "--bundle", "/b", "--detach"]).command else {
            panic!("not run")
        };
        assert!(r.detach && r.create.id == "id1");
        let Command::List(l) = parse(&["list", "--format", "json", "-q"]).command else {
            panic!("not list")
        };
        assert_eq!(l.format, ListFormat::Json);
        assert!(l.quiet);
        let Command::Spec(s) = parse(&["spec", "--bundle", "/b"]).command else {
            panic!("not spec")
        };
        assert_eq!(s.bundle.as_deref(), Some(Path::new("/b")));
    }

    #[test]
    fn do_command_line() {
        let Command::Do(d) = parse(&[
            "do",
            "--root-ro",
            "--cwd",
            "/tmp",
            "--env",
            "A=1",
            "--env",
            "B=",
            "--",
            "/bin/ls",
            "-l",
            "--all",
        ])
        .command
        else {
            panic!("not do")
        };
        assert!(d.root_ro);
        assert_eq!(d.cwd.as_deref(), Some("/tmp"));
        assert_eq!(d.env, ["A=1", "B="]);
        assert_eq!(d.command, ["/bin/ls", "-l", "--all"]);

        let Command::Do(d) = parse(&["do", "echo", "-n", "hi"]).command else {
            panic!("not do")
        };
        assert!(!d.root_ro);
        assert_eq!(d.command, ["echo", "-n", "hi"]);

        assert!(parse_err(&["do"]).contains("CMD"));
        assert!(parse_err(&["do", "--env", "NOEQUALS", "--", "x"]).contains("KEY=VALUE"));
    }

    #[test]
    fn containerd_shim_exec() {
        let Command::Exec(e) = parse(&[
            "--root",
            "/r",
            "exec",
            "--process",
            "/tmp/runc-process123",
            "--console-socket",
            "/tmp/pty.sock",
            "--detach",
            "--pid-file",
            "/b/exec1.pid",
            "id1",
        ])
        .command
        else {
            panic!("not exec")
        };
        assert_eq!(e.process.as_deref(), Some(Path::new("/tmp/runc-process123")));
        assert_eq!(e.console_socket.as_deref(), Some(Path::new("/tmp/pty.sock")));
        assert!(e.detach);
        assert_eq!(e.pid_file.as_deref(), Some(Path::new("/b/exec1.pid")));
        assert_eq!(e.id, "id1");
        assert!(e.command.is_empty());
    }

    #[test]
    fn exec_command_line() {
        let Command::Exec(e) = parse(&[
            "exec", "--cwd", "/tmp", "-e", "A=1", "--user", "1000:100", "-t", "--cap", "CAP_KILL", "id1", "sh", "-c",
            "echo hi",
        ])
        .command
        else {
            panic!("not exec")
        };
        assert_eq!(e.cwd.as_deref(), Some("/tmp"));
        assert_eq!(e.env, ["A=1"]);
        assert_eq!(e.user, Some((1000, Some(100))));
        assert!(e.tty && !e.detach);
        assert_eq!(e.caps, ["CAP_KILL"]);
        assert_eq!(e.id, "id1");
        assert_eq!(e.command, ["sh", "-c", "echo hi"]);
        // Options after the id, and `--` before the command.
        let Command::Exec(e) = parse(&["exec", "id1", "--detach", "--user", "7", "--", "ls", "-l"]).command else {
            panic!("not exec")
        };
        assert!(e.detach);
        assert_eq!(e.user, Some((7, None)));
        assert_eq!(e.command, ["ls", "-l"]);
        assert!(parse_err(&["exec", "--user", "x:y", "id1", "ls"]).contains("UID[:GID]"));
        let Command::ExecWait(w) = parse(&["exec-wait", "--conn-fd", "3", "--pid", "5", "id1"]).command else {
            panic!("not exec-wait")
        };
        assert_eq!((w.conn_fd, w.pid, w.id.as_str()), (3, 5, "id1"));
    }

    #[test]
    fn boot_is_hidden_but_parses() {
        let Command::Boot(b) = parse(&["boot", "--bundle", "/b", "--status-fd", "3", "id1"]).command else {
            panic!("not boot")
        };
        assert_eq!((b.status_fd, b.id.as_str()), (3, "id1"));
        let mut help = Vec::new();
        <Cli as clap::CommandFactory>::command()
            .write_long_help(&mut help)
            .unwrap();
        let help = String::from_utf8(help).unwrap();
        assert!(!help.contains("boot"), "{help}");
        assert!(help.contains("create"));
    }

    #[test]
    fn global_args_round_trip_for_boot() {
        let cli = parse(&[
            "--root",
            "/r",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "--debug-log",
            "/d.log",
            "--debug",
            "--strace",
            "list",
        ]);
        let mut argv: Vec<OsString> = vec!["runsc".into()];
        argv.extend(cli.global.to_args().unwrap());
        argv.extend(["state".into(), "x".into()]);
        let again = Cli::try_parse_from(argv).unwrap();
        let g = again.global;
        assert_eq!(g.root, Path::new("/r"));
        assert_eq!(g.log.as_deref(), Some(Path::new("/l.json")));
        assert_eq!(g.log_format, LogFormat::Json);
        assert_eq!(g.debug_log.as_deref(), Some(Path::new("/d.log")));
        assert!(g.debug && g.strace);
        assert_eq!(
            g.platform_flag,
            Some(platform::default_kind()),
            "the default is resolved for boot"
        );
    }

    #[test]
    fn relative_root_becomes_absolute() {
        let cli = parse(&["--root", "rel/state", "list"]);
        let args = cli.global.to_args().unwrap();
        let root = PathBuf::from(&args[1]);
        assert!(root.is_absolute() && root.ends_with("rel/state"), "{root:?}");
    }

    #[test]
    fn platform_names_round_trip() {
        for kind in [PlatformKind::default(), PlatformKind::Ptrace, PlatformKind::Systrap] {
            assert_eq!(platform_name(kind).parse::<PlatformKind>(), Ok(kind));
        }
        assert_eq!(
            parse(&["--platform", "systrap", "list"]).global.platform(),
            PlatformKind::Systrap
        );
        assert_eq!(
            parse(&["--platform", "ptrace", "list"]).global.platform(),
            PlatformKind::Ptrace
        );
    }

    #[test]
    fn shim_pause_resume_update_events() {
        let Command::Pause(p) = parse(&["--root", "/r", "pause", "id1"]).command else {
            panic!("not pause")
        };
        assert_eq!(p.id, "id1");
        assert!(matches!(parse(&["resume", "id1"]).command, Command::Resume(_)));
        let Command::Update(u) = parse(&["update", "--resources", "-", "id1"]).command else {
            panic!("not update")
        };
        assert_eq!(u.resources.as_deref(), Some(Path::new("-")));
        assert_eq!(u.id, "id1");
        let Command::Update(u) = parse(&["update", "id1", "--memory", "100m", "--pids-limit", "50"]).command else {
            panic!("not update")
        };
        assert_eq!(u.memory, Some(100 << 20));
        assert_eq!(u.pids_limit, Some(50));
        assert!(parse_err(&["update", "--memory", "lots", "id1"]).contains("size in bytes"));
        let Command::Events(e) = parse(&["events", "--stats", "id1"]).command else {
            panic!("not events")
        };
        assert!(e.stats);
        assert_eq!(e.interval, std::time::Duration::from_secs(5));
        let Command::Events(e) = parse(&["events", "--interval", "250ms", "id1"]).command else {
            panic!("not events")
        };
        assert_eq!(e.interval, std::time::Duration::from_millis(250));
        assert!(parse_err(&["events", "--interval", "5x", "id1"]).contains("duration"));
        assert!(parse_err(&["events", "--interval", "0s", "id1"]).contains("duration"));
        assert!(matches!(parse(&["features"]).command, Command::Features));
    }

    #[test]
    fn install_command_line() {
        let Command::Install(i) = parse(&["install"]).command else {
            panic!("not install")
        };
        assert_eq!(i.runtime, "runsc");
        assert!(!i.containerd && !i.dry_run && i.config_file.is_none() && i.runtime_args.is_empty());
        let Command::Install(i) = parse(&[
            "install",
            "--runtime",
            "gv",
            "--config-file",
            "/tmp/d.json",
            "--dry-run",
            "--",
            "--platform",
            "systrap",
        ])
        .command
        else {
            panic!("not install")
        };
        assert_eq!(i.runtime, "gv");
        assert!(i.dry_run);
        assert_eq!(i.config_file.as_deref(), Some(Path::new("/tmp/d.json")));
        assert_eq!(i.runtime_args, ["--platform", "systrap"]);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("3mb"), Ok(3 << 20));
        assert!(parse_bytes("").is_err() && parse_bytes("m").is_err() && parse_bytes("-").is_err());
        assert_eq!(parse_duration("1m"), Ok(std::time::Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(std::time::Duration::from_millis(1500)));
        assert!(parse_duration("5").is_err() && parse_duration("s").is_err());
    }
}
