//! The public entry point: build a sandbox from a [`Config`], then run it.

use crate::boot;
use crate::kernel::process::{WaitTarget, INIT_PID};
use crate::kernel::Kernel;
use crate::pod::{self, Members};
use crate::vfs::MountTable;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Weak};

pub use platform::PlatformKind;

/// Everything the Sentry needs to start a container's init process.
#[derive(Debug)]
pub struct Config {
    /// Host directory that becomes the guest's `/`.
    pub rootfs: PathBuf,
    /// Writes to the root fail with EROFS (OCI `root.readonly`).
    pub root_readonly: bool,
    /// Writes go to an in-memory layer above the rootfs (the default of
    /// `runsc do`); the host rootfs is never modified.
    pub overlay: bool,
    /// Guest argv; argv[0] is resolved against PATH from `env` when it has no '/'.
    pub args: Vec<String>,
    /// Guest environment, `KEY=value`.
    pub env: Vec<String>,
    /// Guest working directory (absolute, inside the rootfs).
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (OCI `process.user.additionalGids`).
    pub additional_gids: Vec<u32>,
    /// OCI `process.capabilities` as bitmasks; None gives what the uid
    /// implies (every capability for root, none otherwise).
    pub capabilities: Option<CapabilitySets>,
    /// OCI `process.rlimits`: (RLIMIT_* number, soft, hard).
    pub rlimits: Vec<(u32, u64, u64)>,
    /// OCI `process.noNewPrivileges`.
    pub no_new_privileges: bool,
    pub hostname: String,
    /// Filesystems mounted over the root, in order (OCI `mounts`).
    pub mounts: Vec<MountConfig>,
    pub platform: PlatformKind,
    /// Log every guest syscall with decoded arguments and result.
    pub strace: bool,
    /// Host fds that become the guest's stdin, stdout and stderr.
    pub stdio: [OwnedFd; 3],
    /// Host fds that become the guest's fds 3, 4, ... (runc's
    /// `--preserve-fds`; see [`crate::kernel::preserved`]).
    pub preserved_fds: Vec<OwnedFd>,
    /// OCI `process.terminal`: `stdio` is a host terminal; the guest gets
    /// a pty of the sandbox's devpts relayed to it (see
    /// [`crate::fs::tty::relay`]).
    pub terminal: bool,
    /// A connection to a gofer process serving `rootfs` (runsc starts one
    /// per sandbox). None serves the rootfs from this process, which only
    /// tests and tools should do.
    pub gofer: Option<OwnedFd>,
    /// Connections to the gofer serving each bind mount, in the order of
    /// the bind mounts in `mounts`. Empty serves them from this process.
    pub bind_gofers: Vec<OwnedFd>,
    /// The sandbox's interfaces, addresses and routes (loopback only
    /// unless runsc took over the interfaces of a network namespace).
    pub network: crate::net::inet::iface::Network,
    /// The packet sockets (AF_PACKET, SOCK_RAW, bound to one host
    /// interface each) that carry the frames of the non-loopback
    /// interfaces of `network`.
    pub nics: Vec<crate::net::inet::iface::NicFd>,
    /// `--network=host`: AF_INET/AF_INET6 sockets are host sockets in the
    /// host's network namespace (weaker isolation).
    pub host_network: bool,
}

/// A further process to start in a running sandbox (`runsc exec`): the
/// process half of [`Config`].
#[derive(Debug)]
pub struct ExecConfig {
    /// Guest argv; argv[0] is resolved against PATH from `env` when it has no '/'.
    pub args: Vec<String>,
    /// Guest environment, `KEY=value`.
    pub env: Vec<String>,
    /// Guest working directory (absolute).
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// None gives what the uid implies.
    pub capabilities: Option<CapabilitySets>,
    /// (RLIMIT_* number, soft, hard).
    pub rlimits: Vec<(u32, u64, u64)>,
    pub no_new_privileges: bool,
    /// Host fds that become the process's stdin, stdout and stderr.
    pub stdio: [OwnedFd; 3],
    /// Host fds that become the process's fds 3, 4, ... (`runsc exec
    /// --preserve-fds`).
    pub preserved_fds: Vec<OwnedFd>,
    /// `stdio` is a host terminal: the process gets a pty of its own.
    pub terminal: bool,
}

/// A further container in a running sandbox (a Kubernetes pod's app
/// container): its own root and mounts, and its init process.
#[derive(Debug)]
pub struct ContainerConfig {
    /// The container id, unique in the sandbox.
    pub id: String,
    /// Host directory that becomes the container's `/` (served from this
    /// process when `gofer` is None, which only tests should do).
    pub rootfs: PathBuf,
    pub root_readonly: bool,
    /// Filesystems mounted over its root, in order.
    pub mounts: Vec<MountConfig>,
    /// A connection to a gofer serving `rootfs`.
    pub gofer: Option<OwnedFd>,
    /// Connections to the gofer serving each bind mount, in order.
    pub bind_gofers: Vec<OwnedFd>,
    /// Its init process.
    pub process: ExecConfig,
}

/// One mount of the container (OCI `mounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountConfig {
    /// Absolute path inside the container.
    pub destination: String,
    pub kind: MountKind,
    pub read_only: bool,
    pub nosuid: bool,
    pub noexec: bool,
    pub nodev: bool,
}

/// What is mounted. The Sentry serves every kind itself except binds,
/// which go through a file server confined to the bind source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// An in-memory filesystem, with an optional size limit in bytes and
    /// root mode.
    Tmpfs {
        size: Option<u64>,
        mode: Option<u32>,
    },
    /// A host file or directory.
    Bind {
        source: PathBuf,
        /// The source is a single file, not a directory.
        file: bool,
        /// `rbind`: the mounts below the source come too.
        recursive: bool,
    },
    Proc,
    /// The sandbox's /dev (null, zero, tty, ptmx, pts, shm ...).
    Dev,
    /// A devpts instance (pseudo-terminal slaves and their ptmx).
    Devpts,
    /// A minimal sysfs: cpu online/possible/present and empty top-level directories.
    Sysfs,
}

/// Capability sets, bit N for capability N (capabilities(7)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// How the container's init process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code & 0xff,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

/// Errors that stop a sandbox from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The init executable could not be found (runc reports exit status 127).
    #[error("executable {path:?} not found: {errno}")]
    NotFound { path: String, errno: std::io::Error },
    /// The init executable exists but cannot be executed (exit status 126).
    #[error("cannot execute {path:?}: {errno}")]
    NotExecutable { path: String, errno: std::io::Error },
    #[error("platform: {0}")]
    Platform(#[from] platform::Error),
    #[error("{0}")]
    Setup(String),
}

impl Error {
    /// The exit status runc users expect when the container fails to start.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } => 127,
            Error::NotExecutable { .. } => 126,
            _ => 1,
        }
    }
}

/// Sends signals from outside the sandbox to its init process, and starts,
/// lists and waits for its processes and containers.
#[derive(Clone)]
pub struct Signaller {
    kernel: Weak<Kernel>,
    members: Arc<Members>,
}

/// One process of a sandbox, as `runsc ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// argv joined with spaces.
    pub cmd: String,
}

impl Signaller {
    /// The sandbox's live processes, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let Some(kernel) = self.kernel.upgrade() else {
            return Vec::new();
        };
        kernel
            .procs
            .snapshot()
            .into_iter()
            .map(|(pid, p)| (pid, kernel.current_parent(p, pid)))
            .map(|(pid, p)| ProcessInfo {
                pid,
                ppid: p.ppid,
                uid: p.creds.uid,
                cmd: p
                    .argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect()
    }

    /// The live processes of container `id` (None: the first container),
    /// by pid; none for an unknown container.
    pub fn container_processes(&self, id: Option<&str>) -> Vec<ProcessInfo> {
        let Some(kernel) = self.kernel.upgrade() else {
            return Vec::new();
        };
        let Some(mounts) = self.members.mounts(&kernel, id) else {
            return Vec::new();
        };
        let pids = pod::pids_in(&kernel, &mounts);
        self.processes().into_iter().filter(|p| pids.contains(&p.pid)).collect()
    }

    /// Adds a container to the running sandbox: builds its mount tree and
    /// loads its init process (a parentless process, like an exec'd one)
    /// on a host thread of its own, without running it until
    /// [`Signaller::start_container`]. Returns the init's pid.
    pub fn add_container(&self, config: ContainerConfig) -> Result<i32, Error> {
        let kernel = self.kernel()?;
        let id = config.id.clone();
        if self.members.contains(&id) {
            return Err(Error::Setup(format!("container {id:?} already exists in the sandbox")));
        }
        let (loaded_tx, loaded_rx) = mpsc::channel::<Result<(i32, Arc<MountTable>), Error>>();
        let (start_tx, start_rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name(format!("task-{id}"))
            .spawn(move || {
                let mut task = match boot::container_task(kernel, config) {
                    Ok(task) => task,
                    Err(e) => {
                        let _ = loaded_tx.send(Err(e));
                        return;
                    }
                };
                let _ = loaded_tx.send(Ok((task.tgid, task.fs().mounts)));
                // Runs also when the container is removed unstarted: it
                // was sent SIGKILL first, and dies on entry.
                let _ = start_rx.recv();
                task.run();
            })
            .map_err(|e| Error::Setup(format!("cannot start the task thread: {e}")))?;
        let (pid, mounts) = loaded_rx
            .recv()
            .map_err(|_| Error::Setup("the task thread died while loading".into()))??;
        self.members.insert(&id, mounts, pid, start_tx);
        Ok(pid)
    }

    /// Lets the init of added container `id` run; false when it is
    /// unknown or already started.
    pub fn start_container(&self, id: &str) -> bool {
        self.members.start(id)
    }

    /// Waits for the init of added container `id` to exit and reaps it;
    /// then kills what is left of the container (as the end of a pid
    /// namespace's init would) and forgets it. None when it is unknown.
    /// Whoever added the container must call this once, even after
    /// [`Signaller::kill_container`], so that the init is reaped.
    pub fn wait_container(&self, id: &str) -> Option<ExitStatus> {
        let pid = self.members.init_pid(id)?;
        let status = self.wait(pid);
        self.kill_container(id);
        self.members.remove(id);
        status
    }

    /// Kills every process of added container `id`, starting its init if
    /// it never ran, so that it dies at once.
    pub fn kill_container(&self, id: &str) {
        if let Some(kernel) = self.kernel.upgrade() {
            if let Some(mounts) = self.members.mounts(&kernel, Some(id)) {
                let n = pod::signal_all(&kernel, &mounts, libc::SIGKILL);
                tracing::debug!(id, processes = n, "killed the container's processes");
            }
        }
        self.members.start(id);
    }

    /// Starts a new process in the sandbox (`runsc exec`) on a host
    /// thread of its own and returns its pid once its executable is
    /// loaded. It has no parent inside the sandbox: [`Signaller::wait`]
    /// reaps it, and the init's wait(2) never sees it.
    pub fn exec(&self, config: ExecConfig) -> Result<i32, Error> {
        self.exec_in(None, config)
    }

    /// [`Signaller::exec`] in container `id` (None: the first container):
    /// the process sees that container's files from its root.
    pub fn exec_in(&self, id: Option<&str>, config: ExecConfig) -> Result<i32, Error> {
        let kernel = self.kernel()?;
        let mounts = self
            .members
            .mounts(&kernel, id)
            .ok_or_else(|| Error::Setup(format!("no container {:?} in the sandbox", id.unwrap_or_default())))?;
        let (loaded_tx, loaded_rx) = mpsc::channel::<Result<i32, Error>>();
        std::thread::Builder::new()
            .name("task-exec".into())
            .spawn(move || {
                // The ptrace platform binds the guest to the thread that
                // creates its context: load it here, then run it here.
                let mut task = match boot::exec_task(kernel, mounts, config) {
                    Ok(task) => task,
                    Err(e) => {
                        let _ = loaded_tx.send(Err(e));
                        return;
                    }
                };
                let _ = loaded_tx.send(Ok(task.tgid));
                task.run();
            })
            .map_err(|e| Error::Setup(format!("cannot start the task thread: {e}")))?;
        loaded_rx
            .recv()
            .map_err(|_| Error::Setup("the task thread died while loading".into()))?
    }

    fn kernel(&self) -> Result<Arc<Kernel>, Error> {
        self.kernel
            .upgrade()
            .ok_or_else(|| Error::Setup("the sandbox has ended".into()))
    }

    /// Waits for a process started by [`Signaller::exec`] to exit and reaps
    /// it. None when it is unknown or the sandbox is gone.
    pub fn wait(&self, pid: i32) -> Option<ExitStatus> {
        let kernel = self.kernel.upgrade()?;
        // Parentless processes are the children of pid 0.
        match kernel.processes.wait(0, WaitTarget::Pid(pid), false) {
            Ok(Some((_, status))) => {
                kernel.proc_attrs.take_exited_cpu(pid);
                Some(status)
            }
            _ => None,
        }
    }

    /// Queues `signal` for process `pid`, as if sent from outside the
    /// sandbox's pid namespace. False when there is no such process.
    pub fn signal_process(&self, pid: i32, signal: i32) -> bool {
        let Some(kernel) = self.kernel.upgrade() else {
            return false;
        };
        kernel.post_signal(pid, pod::outside_signal(signal)).is_ok()
    }

    /// Queues `signal` for the init process. Like a signal from the parent
    /// pid namespace, it carries si_pid 0 and its default action applies
    /// even to init. Returns false once the sandbox is gone.
    pub fn send(&self, signal: i32) -> bool {
        let Some(kernel) = self.kernel.upgrade() else {
            return false;
        };
        kernel.post_signal(INIT_PID, pod::outside_signal(signal)).is_ok()
    }
}

/// A loaded sandbox whose init process has not run yet.
///
/// The init task lives on its own host thread from the start: the ptrace
/// platform binds a guest to the thread that created it.
pub struct Sandbox {
    kernel: Arc<Kernel>,
    members: Arc<Members>,
    start: mpsc::Sender<()>,
    done: mpsc::Receiver<ExitStatus>,
    thread: std::thread::JoinHandle<()>,
}

impl Sandbox {
    /// Builds the kernel, mounts the root and loads the init executable
    /// (without running it). Fails with [`Error::NotFound`] or
    /// [`Error::NotExecutable`] as execve(2) would.
    pub fn new(config: Config) -> Result<Sandbox, Error> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Arc<Kernel>, Error>>();
        let (start_tx, start_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("task-1".into())
            .spawn(move || {
                let mut task = match boot::init_task(config) {
                    Ok(task) => {
                        if let Ok(mut slot) = task.kernel.init_exit.lock() {
                            *slot = Some(done_tx);
                        }
                        let _ = ready_tx.send(Ok(task.kernel.clone()));
                        task
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if start_rx.recv().is_err() {
                    return;
                }
                task.run();
            })
            .map_err(|e| Error::Setup(format!("cannot start the task thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(kernel)) => Ok(Sandbox {
                kernel,
                members: Default::default(),
                start: start_tx,
                done: done_rx,
                thread,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Setup("the task thread died while loading".into())),
        }
    }

    /// A handle that delivers host signals to the container's init, as
    /// `runsc kill` expects.
    pub fn signaller(&self) -> Signaller {
        Signaller {
            kernel: Arc::downgrade(&self.kernel),
            members: self.members.clone(),
        }
    }

    /// Host pid of the process that runs the sandbox (this process).
    pub fn pid(&self) -> u32 {
        std::process::id()
    }

    /// Runs the init process until it exits; returns its status.
    pub fn run(self) -> Result<ExitStatus, Error> {
        self.start
            .send(())
            .map_err(|_| Error::Setup("the task thread is gone".into()))?;
        let status = self
            .done
            .recv()
            .map_err(|_| Error::Setup("the sandbox ended without an init exit status".into()))?;
        // What the init wrote to its terminal reaches the host first.
        crate::fs::tty::relay::drain(std::time::Duration::from_secs(2));
        // The init's host thread may still be waiting for sibling threads;
        // the process exit tears everything down.
        drop(self.thread);
        Ok(status)
    }
}
