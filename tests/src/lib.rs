//! Helpers shared by the end-to-end tests.
//!
//! - [`runsc_bin`] finds the `runsc` binary under test.
//! - [`compile`] builds a guest program from `tests/c/NAME.c` with gcc, statically,
//!   as a static PIE, or dynamically ([`Link`]), cached under `target/guests/`.
//! - [`Bundle`] makes an OCI bundle (`config.json` written with `oci-spec`'s builders,
//!   a `rootfs/` holding the given binaries and their shared libraries).
//! - [`Runsc`] runs `runsc` with a private `--root` state directory and deletes the
//!   containers it named when dropped.
//! - [`run`] / [`spawn`] run any command with a timeout, capturing stdout, stderr and
//!   the exit status ([`Output`]).
//! - [`wait_until`] / [`poll_until`] poll a condition until it holds or a timeout passes.
//! - [`console`] receives the pty master runsc sends to a `--console-socket`.
//!
//! Environment knobs:
//! - `RUNSC_BIN`: the runsc binary (default: `target/<profile>/runsc` next to the test).
//! - `RUNSC_PLATFORM`: the value of `--platform` (default `ptrace`, always passed
//!   explicitly: runsc's own default is systrap where the kernel supports it, and
//!   `tests/run-all` runs these tests under both).
//! - `RUNSC_TEST_FLAGS`: extra global flags, split on whitespace (e.g. `--strace
//!   --debug-log /tmp/runsc-debug/`).
//! - `RUNSC_TEST_TIMEOUT`: seconds before a command is killed (default 60).

// Only `console` needs unsafe code (an fd received with SCM_RIGHTS), and allows it where it does.
#![deny(unsafe_code)]

pub mod console;
pub mod daemons;
pub mod images;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::{
    LinuxBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec,
    SpecBuilder, UserBuilder,
};
use tempfile::TempDir;

/// The text `basics.c` is given to read (its content is printed, its path is not).
pub const BASICS_DATA: &str = "hello runsc\nline two\n";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A number unique within this process.
pub fn unique() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A name unique on this machine for as long as this process lives: `PREFIX-PID-N`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), unique())
}

/// How long a command may run before it is killed: `RUNSC_TEST_TIMEOUT` seconds, or 60.
pub fn default_timeout() -> Duration {
    let secs = std::env::var("RUNSC_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// `target/<profile>`: the directory that holds this test executable's
/// `deps/` (or an example's `examples/`). Panics for an executable run from
/// anywhere else (its caches and images would otherwise land in a host
/// directory such as `/`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    let deps = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps" || n == "examples"));
    deps.and_then(Path::parent)
        .filter(|profile| profile.parent().is_some_and(|t| t.parent().is_some()))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("{} is not in a cargo target/<profile>/deps directory", exe.display()))
}

/// The cargo target directory (`target/`).
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    match profile.parent() {
        Some(target) => target.to_path_buf(),
        None => panic!("{} has no parent directory", profile.display()),
    }
}

/// The runsc binary under test: `$RUNSC_BIN`, else `target/<profile>/runsc`.
///
/// Panics with a hint when it does not exist: `cargo test` does not build another
/// package's binaries, so build first (`cargo build --release --workspace`).
pub fn runsc_bin() -> PathBuf {
    built_binary("RUNSC_BIN", "runsc")
}

/// `$VAR` when it is set, else `target/<profile>/NAME`, which must exist
/// (`cargo test` does not build another package's binaries).
pub fn built_binary(var: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let p = profile_dir().join(name);
    assert!(
        p.is_file(),
        "{} does not exist: build it first (cargo build --release --workspace), \
         or point {var} at a {name} binary",
        p.display()
    );
    p
}

/// Whether a runsc binary can be found (for tests that only need it optionally).
pub fn runsc_available() -> bool {
    match std::env::var_os("RUNSC_BIN") {
        Some(p) => Path::new(&p).is_file(),
        None => profile_dir().join("runsc").is_file(),
    }
}

// ---------------------------------------------------------------------------
// Guest programs
// ---------------------------------------------------------------------------

/// The host's busybox (Debian's busybox-static), which tests copy into bundles.
pub const BUSYBOX: &str = "/bin/busybox";

/// Whether [`BUSYBOX`] is there; when it is not, says that the test is skipped.
pub fn busybox_present() -> bool {
    if Path::new(BUSYBOX).exists() {
        return true;
    }
    eprintln!("skipped: {BUSYBOX} is missing");
    false
}

/// How a guest program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// `gcc -static`: no interpreter, fixed load address.
    Static,
    /// `gcc -static-pie`: no interpreter, relocates itself (ET_DYN).
    StaticPie,
    /// Plain `gcc` (PIE on Debian): loaded through `PT_INTERP`, needs libc.so.
    Dynamic,
}

impl Link {
    /// Every mode, for tests that cover them all.
    pub const ALL: [Link; 3] = [Link::Static, Link::StaticPie, Link::Dynamic];

    /// The suffix of the compiled file's name.
    pub fn suffix(self) -> &'static str {
        match self {
            Link::Static => "static",
            Link::StaticPie => "static-pie",
            Link::Dynamic => "dynamic",
        }
    }

    fn gcc_flags(self) -> &'static [&'static str] {
        match self {
            Link::Static => &["-static"],
            Link::StaticPie => &["-static-pie", "-fPIE"],
            Link::Dynamic => &[],
        }
    }
}

/// `tests/c/`.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c")
}

/// Where compiled guest programs are cached: `target/guests/`.
pub fn guest_dir() -> PathBuf {
    target_dir().join("guests")
}

/// Compiles `tests/c/NAME.c` linked as `link` and returns the path of the executable,
/// `target/guests/NAME-<static|static-pie|dynamic>`.
///
/// The result is reused while it is newer than the source. Safe to call from parallel
/// tests and processes: each compiles to a private temporary name and renames it into
/// place atomically, so nobody sees a half-written file.
pub fn compile(name: &str, link: Link) -> PathBuf {
    let src = c_dir().join(format!("{name}.c"));
    let src_mtime = fs::metadata(&src)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("guest source {}: {e}", src.display()));
    let dir = guest_dir();
    let out = dir.join(format!("{name}-{}", link.suffix()));
    if let Ok(m) = fs::metadata(&out) {
        if m.is_file() && m.modified().map(|t| t >= src_mtime).unwrap_or(false) {
            return out;
        }
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let tmp = dir.join(format!(
        ".{name}-{}.tmp-{}-{}",
        link.suffix(),
        std::process::id(),
        unique()
    ));
    let mut cmd = Command::new("gcc");
    cmd.args(["-O2", "-Wall", "-Wextra", "-g"])
        .args(link.gcc_flags())
        .arg("-o")
        .arg(&tmp)
        .arg(&src);
    let res = run(cmd, Duration::from_secs(120));
    if !res.success() {
        let _ = fs::remove_file(&tmp);
        panic!("compiling {} ({}) failed:\n{res}", src.display(), link.suffix());
    }
    fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("rename {} -> {}: {e}", tmp.display(), out.display()));
    out
}

/// The absolute paths of the shared objects (including the ELF interpreter) that a
/// dynamically linked executable loads, as `ldd` resolves them on the host. Empty for
/// a static executable.
pub fn shared_libraries(exe: &Path) -> Vec<PathBuf> {
    let mut cmd = Command::new("ldd");
    cmd.arg(exe);
    let res = run(cmd, Duration::from_secs(30));
    if !res.success() {
        // "not a dynamic executable"
        return Vec::new();
    }
    let mut libs = Vec::new();
    for line in res.stdout_str().lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    libs
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// What a finished (or killed) command did.
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// The exit code, when it exited.
    pub status: Option<i32>,
    /// The signal that killed it, when it was killed.
    pub signal: Option<i32>,
    /// Everything it wrote to stdout until it exited.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr until it exited.
    pub stderr: Vec<u8>,
    /// Whether it was killed for running past its timeout.
    pub timed_out: bool,
    /// Wall time until it exited.
    pub elapsed: Duration,
    stdout_file: File,
    stderr_file: File,
}

impl Output {
    /// Exit code as a shell reports it: the status, or 128+N for a death by signal N.
    pub fn code(&self) -> Option<i32> {
        self.status.or(self.signal.map(|s| 128 + s))
    }

    /// Exited with status 0 (and was not killed).
    pub fn success(&self) -> bool {
        !self.timed_out && self.status == Some(0)
    }

    /// stdout as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// stdout as it is now: processes that inherited it (a container started by
    /// `runsc create`) may have written more since the command exited.
    pub fn stdout_now(&self) -> Vec<u8> {
        read_all(&self.stdout_file)
    }

    /// stderr as it is now (see [`Output::stdout_now`]).
    pub fn stderr_now(&self) -> Vec<u8> {
        read_all(&self.stderr_file)
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 8000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} more bytes]", &s[..end], s.len() - end)
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        if self.timed_out {
            writeln!(f, "result: KILLED after timeout ({:?})", self.elapsed)?;
        } else if let Some(s) = self.signal {
            writeln!(f, "result: killed by signal {s}")?;
        } else {
            writeln!(f, "result: exit status {:?}", self.status)?;
        }
        writeln!(f, "--- stdout ---\n{}", clip(&self.stdout_str()))?;
        write!(f, "--- stderr ---\n{}", clip(&self.stderr_str()))
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Reads the whole capture file with pread: the file offset is shared with the
/// command and whatever it started, so seeking it would make their next write land
/// at the start of the file.
fn read_all(file: &File) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match file.read_at(&mut chunk, buf.len() as u64) {
            Ok(0) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read capture file: {e}"),
        }
    }
}

/// A command started by [`spawn`].
pub struct Running {
    command: String,
    child: Child,
    start: Instant,
    stdout_file: File,
    stderr_file: File,
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Starts `cmd` with stdin from /dev/null and stdout/stderr captured into unnamed
/// temporary files (not pipes: a container started by `runsc create` inherits them and
/// may hold them open long after the command exits). The command gets its own process
/// group so that a timeout can kill everything it started.
pub fn spawn(cmd: Command) -> Running {
    spawn_with_stdin(cmd, Stdio::null())
}

/// [`spawn`] with `stdin` as the command's standard input.
pub fn spawn_with_stdin(mut cmd: Command, stdin: Stdio) -> Running {
    let stdout_file = tempfile::tempfile().expect("stdout capture file");
    let stderr_file = tempfile::tempfile().expect("stderr capture file");
    cmd.stdin(stdin)
        .stdout(Stdio::from(stdout_file.try_clone().expect("dup")))
        .stderr(Stdio::from(stderr_file.try_clone().expect("dup")))
        .process_group(0);
    let command = describe(&cmd);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    Running {
        command,
        child,
        start: Instant::now(),
        stdout_file,
        stderr_file,
    }
}

impl Running {
    /// The host pid of the command.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it has written to stdout so far.
    pub fn stdout_so_far(&self) -> Vec<u8> {
        read_all(&self.stdout_file)
    }

    /// Whether it has exited (without reaping it for good: [`Running::wait`] still works).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for it to exit; after `timeout` kills its whole process group.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let mut timed_out = false;
        let mut nap = Duration::from_millis(1);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => panic!("waiting for `{}`: {e}", self.command),
            }
            if self.start.elapsed() >= timeout {
                timed_out = true;
                if let Ok(pid) = i32::try_from(self.child.id()) {
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                let _ = self.child.kill();
                break self.child.wait().expect("wait after kill");
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        };
        let elapsed = self.start.elapsed();
        Output {
            command: self.command,
            status: status.code(),
            signal: status.signal(),
            stdout: read_all(&self.stdout_file),
            stderr: read_all(&self.stderr_file),
            timed_out,
            elapsed,
            stdout_file: self.stdout_file,
            stderr_file: self.stderr_file,
        }
    }
}

/// Runs `cmd` to completion (see [`spawn`]), killing it after `timeout`.
pub fn run(cmd: Command, timeout: Duration) -> Output {
    spawn(cmd).wait(timeout)
}

/// Runs `cmd` with `input` as its stdin (from an unnamed file, so it ends
/// with EOF), killing it after `timeout`.
pub fn run_with_input(cmd: Command, input: &[u8], timeout: Duration) -> Output {
    use std::io::Write;
    let mut file = tempfile::tempfile().expect("stdin file");
    file.write_all(input).expect("writing stdin");
    file.seek(SeekFrom::Start(0)).expect("seek stdin");
    spawn_with_stdin(cmd, Stdio::from(file)).wait(timeout)
}

/// Runs a program natively with the given arguments and working directory.
pub fn native<I, S>(exe: &Path, args: I, cwd: &Path) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(exe);
    cmd.args(args).current_dir(cwd);
    run(cmd, default_timeout())
}

/// How long [`poll_until`] sleeps between attempts.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Calls `attempt` every 50 ms until it returns `Ok`, and returns that;
/// once `timeout` has passed, returns the last `Err` instead (for the
/// caller's panic message, made only then).
pub fn poll_until<T, E>(timeout: Duration, mut attempt: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let start = Instant::now();
    loop {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(last) if start.elapsed() >= timeout => return Err(last),
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

/// Calls `done` every 50 ms until it returns true; panics with "timed out
/// waiting for `what`" once `timeout` has passed.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    poll_until(timeout, || if done() { Ok(()) } else { Err(()) })
        .unwrap_or_else(|()| panic!("timed out waiting for {what}"));
}

/// The pid in a pid file runsc wrote (`--pid-file`); panics when there is none.
pub fn read_pid_file(path: &Path) -> i32 {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("pid file {}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid file {}: {text:?} is not a pid ({e})", path.display()))
}

/// Whether host process `pid` exists and is not a zombie.
pub fn pid_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => false,
        },
        Err(_) => false,
    }
}

/// Asserts that a failed command failed the way a user should see it: non-zero
/// status, a message on stderr, no Rust panic or backtrace hint.
pub fn assert_clean_failure(out: &Output, what: &str) {
    assert!(!out.timed_out, "{what}: timed out\n{out}");
    assert!(
        out.status.is_some_and(|s| s != 0),
        "{what}: expected a non-zero exit status\n{out}"
    );
    let err = out.stderr_str();
    assert!(!err.trim().is_empty(), "{what}: no error message on stderr\n{out}");
    assert_no_panic(out, what);
}

/// Asserts that stderr shows no Rust panic.
pub fn assert_no_panic(out: &Output, what: &str) {
    let err = out.stderr_str();
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: runsc panicked\n{out}"
    );
}

// ---------------------------------------------------------------------------
// runsc
// ---------------------------------------------------------------------------

/// runsc with a private state directory (`--root`), removed on drop after
/// `delete --force` of every container id handed out by [`Runsc::new_id`].
pub struct Runsc {
    bin: PathBuf,
    root: TempDir,
    global: Vec<OsString>,
    ids: Mutex<Vec<String>>,
}

impl Default for Runsc {
    fn default() -> Self {
        Self::new()
    }
}

impl Runsc {
    /// A runsc with a fresh `--root` under the system temp dir.
    pub fn new() -> Self {
        let platform = std::env::var("RUNSC_PLATFORM").unwrap_or_else(|_| "ptrace".into());
        Self::on_platform(&platform)
    }

    /// As [`Runsc::new`], with `--platform platform` whatever `RUNSC_PLATFORM` says.
    pub fn on_platform(platform: &str) -> Self {
        let bin = runsc_bin();
        let root = tempfile::Builder::new()
            .prefix("runsc-root-")
            .tempdir()
            .expect("state root tempdir");
        let mut global: Vec<OsString> = vec![
            "--root".into(),
            root.path().into(),
            "--platform".into(),
            platform.into(),
        ];
        if let Ok(extra) = std::env::var("RUNSC_TEST_FLAGS") {
            global.extend(extra.split_whitespace().map(OsString::from));
        }
        Runsc {
            bin,
            root,
            global,
            ids: Mutex::new(Vec::new()),
        }
    }

    /// The `--root` state directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A container id unique on this machine, deleted (forcibly) when `self` drops.
    pub fn new_id(&self, prefix: &str) -> String {
        let id = unique_name(prefix);
        self.ids.lock().expect("ids lock").push(id.clone());
        id
    }

    /// `runsc <global flags> ARGS...`, not yet started.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.global).args(args);
        cmd
    }

    /// Runs `runsc <global flags> ARGS...` with the default timeout.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.command(args), default_timeout())
    }

    /// Starts `runsc <global flags> ARGS...` without waiting.
    pub fn spawn<I, S>(&self, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        spawn(self.command(args))
    }

    /// `runsc run --bundle B ID`.
    pub fn run_bundle(&self, bundle: &Bundle, id: &str) -> Output {
        self.run([
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.path().as_os_str(),
            OsStr::new(id),
        ])
    }

    /// `runsc create --bundle B EXTRA... ID`.
    pub fn create(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        let mut args = vec![OsStr::new("create"), OsStr::new("--bundle"), bundle.path().as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        args.push(OsStr::new(id));
        self.run(args)
    }

    /// `runsc state ID`, parsed; panics with the output when it fails.
    pub fn state(&self, id: &str) -> serde_json::Value {
        let out = self.run(["state", id]);
        assert!(out.success(), "runsc state {id} failed\n{out}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("runsc state {id}: stdout is not JSON ({e})\n{out}"))
    }

    /// Polls `runsc state ID` until its status is `want`; panics after `timeout`.
    pub fn wait_for_status(&self, id: &str, want: &str, timeout: Duration) -> serde_json::Value {
        poll_until(timeout, || {
            let state = self.state(id);
            if state["status"] == want {
                Ok(state)
            } else {
                Err(state)
            }
        })
        .unwrap_or_else(|state| panic!("container {id} still not {want} after {timeout:?}: {state}"))
    }
}

impl Drop for Runsc {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut *self.ids.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            let mut cmd = self.command(["delete", "--force", id.as_str()]);
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
            let _ = run(cmd, Duration::from_secs(10));
        }
    }
}

// ---------------------------------------------------------------------------
// OCI bundles
// ---------------------------------------------------------------------------

/// An OCI bundle in a temporary directory: `config.json` and `rootfs/`.
pub struct Bundle {
    dir: TempDir,
}

impl Bundle {
    /// Starts describing a bundle.
    pub fn builder() -> BundleBuilder {
        BundleBuilder::default()
    }

    /// The bundle directory (what `--bundle` takes).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rootfs/`.
    pub fn rootfs(&self) -> PathBuf {
        self.path().join("rootfs")
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.json")
    }

    /// The spec as written.
    pub fn spec(&self) -> Spec {
        Spec::load(self.config_path()).expect("load config.json")
    }

    /// Replaces `config.json` with `spec`.
    pub fn save_spec(&self, spec: &Spec) {
        spec.save(self.config_path()).expect("save config.json");
    }
}

/// An OCI mount of `typ` (bind, tmpfs, ...) from `source` at `destination`.
pub fn mount(destination: &str, typ: &str, source: &Path, options: &[&str]) -> oci_spec::runtime::Mount {
    oci_spec::runtime::MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .expect("mount")
}

/// A bind mount of host `source` at `destination`.
pub fn bind(destination: &str, source: &Path, options: &[&str]) -> oci_spec::runtime::Mount {
    mount(destination, "bind", source, options)
}

/// A bundle holding busybox that runs `sh -c script`, with `mounts` after
/// the default ones.
pub fn busybox_bundle(script: &str, mounts: Vec<oci_spec::runtime::Mount>) -> Bundle {
    busybox_builder(script).mounts(mounts).build()
}

/// Starts describing a bundle holding busybox that runs `sh -c script`.
pub fn busybox_builder(script: &str) -> BundleBuilder {
    Bundle::builder().binary(BUSYBOX).args([BUSYBOX, "sh", "-c", script])
}

/// Describes a [`Bundle`].
#[derive(Default)]
pub struct BundleBuilder {
    binaries: Vec<PathBuf>,
    files: Vec<(String, Vec<u8>, u32)>,
    args: Vec<String>,
    env: Vec<String>,
    no_default_mounts: bool,
    mounts: Vec<Mount>,
    read_only_root: bool,
}

impl BundleBuilder {
    /// Copies an executable into the rootfs as `/bin/<file name>`, with the shared
    /// libraries it needs (at their host paths) when it is dynamically linked.
    pub fn binary(mut self, exe: impl Into<PathBuf>) -> Self {
        self.binaries.push(exe.into());
        self
    }

    /// Writes a file at absolute path `path` inside the rootfs with the given mode.
    pub fn file(mut self, path: &str, content: impl Into<Vec<u8>>, mode: u32) -> Self {
        assert!(path.starts_with('/'), "rootfs path must be absolute: {path}");
        self.files.push((path.to_string(), content.into(), mode));
        self
    }

    /// `process.args`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds `KEY=VALUE` to `process.env` (after PATH).
    pub fn env(mut self, kv: impl Into<String>) -> Self {
        self.env.push(kv.into());
        self
    }

    /// Leaves out the default mounts (proc on /proc, tmpfs on /tmp).
    pub fn no_default_mounts(mut self) -> Self {
        self.no_default_mounts = true;
        self
    }

    /// Adds `mounts` after the default ones.
    pub fn mounts(mut self, mounts: impl IntoIterator<Item = Mount>) -> Self {
        self.mounts.extend(mounts);
        self
    }

    /// Sets `root.readonly` (false unless set).
    pub fn read_only_root(mut self, read_only: bool) -> Self {
        self.read_only_root = read_only;
        self
    }

    /// Creates the bundle.
    pub fn build(self) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("runsc-bundle-")
            .tempdir()
            .expect("bundle tempdir");
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "dev", "etc", "proc", "sys", "tmp"] {
            fs::create_dir_all(rootfs.join(d)).expect("mkdir rootfs dir");
        }
        fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod rootfs/tmp");

        for exe in &self.binaries {
            let name = exe
                .file_name()
                .unwrap_or_else(|| panic!("binary without a file name: {}", exe.display()));
            copy_into(exe, &rootfs.join("bin").join(name));
            for lib in shared_libraries(exe) {
                let rel = lib.strip_prefix("/").expect("absolute library path");
                let dest = rootfs.join(rel);
                if !dest.exists() {
                    copy_into(&lib, &dest);
                }
            }
        }
        for (path, content, mode) in &self.files {
            let dest = rootfs.join(path.trim_start_matches('/'));
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).expect("mkdir for rootfs file");
            }
            fs::write(&dest, content).unwrap_or_else(|e| panic!("write {}: {e}", dest.display()));
            fs::set_permissions(&dest, fs::Permissions::from_mode(*mode)).expect("chmod");
        }

        let spec = self.spec();
        spec.save(dir.path().join("config.json")).expect("write config.json");
        Bundle { dir }
    }

    fn spec(&self) -> Spec {
        let mut env = vec!["PATH=/bin:/usr/bin:/sbin:/usr/sbin".to_string()];
        env.extend(self.env.iter().cloned());
        let user = UserBuilder::default()
            // The guest runs as the caller, so ids it prints match a native run.
            .uid(nix::unistd::getuid().as_raw())
            .gid(nix::unistd::getgid().as_raw())
            .build()
            .expect("user");
        let process = ProcessBuilder::default()
            .terminal(false)
            .capabilities(file_capabilities())
            .user(user)
            .args(self.args.clone())
            .env(env)
            .cwd("/")
            .build()
            .expect("process");
        let root = RootBuilder::default()
            .path("rootfs")
            .readonly(self.read_only_root)
            .build()
            .expect("root");
        let namespaces = [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount,
        ]
        .into_iter()
        .map(|typ| LinuxNamespaceBuilder::default().typ(typ).build().expect("namespace"))
        .collect::<Vec<_>>();
        let linux = LinuxBuilder::default().namespaces(namespaces).build().expect("linux");
        let mut mounts: Vec<Mount> = if self.no_default_mounts {
            Vec::new()
        } else {
            vec![
                MountBuilder::default()
                    .destination("/proc")
                    .typ("proc")
                    .source("proc")
                    .build()
                    .expect("proc mount"),
                MountBuilder::default()
                    .destination("/tmp")
                    .typ("tmpfs")
                    .source("tmpfs")
                    .options(vec!["nosuid".to_string(), "nodev".to_string()])
                    .build()
                    .expect("tmp mount"),
            ]
        };
        mounts.extend(self.mounts.iter().cloned());
        SpecBuilder::default()
            .version("1.0.2")
            .hostname("runsc-test")
            .process(process)
            .root(root)
            .mounts(mounts)
            .linux(linux)
            .build()
            .expect("spec")
    }
}

/// The capabilities of a test bundle's process: the runtime spec's default
/// set (AUDIT_WRITE, KILL, NET_BIND_SERVICE) plus the file capabilities
/// Docker and containerd also grant (CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
/// MKNOD), so that root in the guest may chown, mknod and ignore mode bits
/// as in their containers.
fn file_capabilities() -> oci_spec::runtime::LinuxCapabilities {
    use oci_spec::runtime::Capability::*;
    let set: oci_spec::runtime::Capabilities = [
        AuditWrite,
        Kill,
        NetBindService,
        Chown,
        DacOverride,
        Fowner,
        Fsetid,
        Mknod,
    ]
    .into_iter()
    .collect();
    oci_spec::runtime::LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .build()
        .expect("capabilities")
}

/// Copies `src` (following symlinks) to `dest`, creating parent directories and
/// keeping the permission bits.
fn copy_into(src: &Path, dest: &Path) {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::copy(src, dest).unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dest.display()));
}

/// The file name of `p` as a string (for `process.args`).
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| panic!("no file name: {}", p.display()))
}

/// `/bin/<file name of exe>`: where [`BundleBuilder::binary`] puts `exe` in the rootfs.
pub fn guest_path(exe: &Path) -> String {
    format!("/bin/{}", file_name(exe))
}

// ---------------------------------------------------------------------------
// Comparing native and sandboxed runs
// ---------------------------------------------------------------------------

/// The first line where `a` and `b` differ, for messages: `(line number, a's, b's)`.
pub fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let (mut la, mut lb) = (a.split_inclusive('\n'), b.split_inclusive('\n'));
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x == y => n += 1,
            (x, y) => {
                return Some((
                    n,
                    x.unwrap_or("<end of output>").to_string(),
                    y.unwrap_or("<end of output>").to_string(),
                ))
            }
        }
    }
}

/// Asserts that a sandboxed run printed exactly what the native run printed on
/// stdout, byte for byte, and exited the same way.
pub fn assert_same_as_native(native: &Output, sandboxed: &Output, what: &str) {
    assert!(!native.timed_out, "{what}: native run timed out\n{native}");
    assert!(!sandboxed.timed_out, "{what}: sandboxed run timed out\n{sandboxed}");
    assert_no_panic(sandboxed, what);
    if native.stdout != sandboxed.stdout {
        let (n, a, b) = first_difference(&native.stdout_str(), &sandboxed.stdout_str()).unwrap_or((
            0,
            "<binary>".into(),
            "<binary>".into(),
        ));
        panic!(
            "{what}: stdout differs from native at line {n}\n  native:    {a:?}\n  sandboxed: {b:?}\n\
             === native ===\n{native}\n=== sandboxed ===\n{sandboxed}"
        );
    }
    assert_eq!(
        native.code(),
        sandboxed.code(),
        "{what}: exit status differs from native\n=== native ===\n{native}\n=== sandboxed ===\n{sandboxed}"
    );
}

/// A private containerd and the images for the shim and CRI tests.
pub mod containerd;
