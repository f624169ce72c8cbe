//! The ttrpc Task service: containerd's `containerd.task.v2.Task` calls
//! turned into runsc commands, for every container of a pod (one shim
//! serves the whole pod, see `shim.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use containerd_shim::api::{
    CheckpointTaskRequest, CloseIORequest, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse,
    DeleteRequest, DeleteResponse, ExecProcessRequest, KillRequest, PauseRequest, PidsRequest, PidsResponse,
    ResizePtyRequest, ResumeRequest, ShutdownRequest, StartRequest, StartResponse, StateRequest, StateResponse,
    StatsRequest, StatsResponse, UpdateTaskRequest, WaitRequest, WaitResponse,
};
use containerd_shim::monitor::{monitor_subscribe, Subject, Topic};
use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskPaused, TaskResumed, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::empty::Empty;
use containerd_shim::protos::protobuf::MessageDyn;
use containerd_shim::protos::topics;
use containerd_shim::protos::types::mount::Mount;
use containerd_shim::protos::types::task::ProcessInfo;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Context, ExitSignal, Task, TtrpcContext, TtrpcResult};

use crate::config::RunscConfig;
use crate::error::{io_context, Result, ShimError};
use crate::io::{self, StdioPaths};
use crate::process::{timestamp, Exit, Phase, Process};
use crate::runsc::{ExecOptions, Runsc};
use crate::stats;

/// How long an exit of a pid nobody claimed yet is kept (an exec'd process
/// can exit before its pid file is read).
const UNMATCHED_EXIT_TTL: Duration = Duration::from_secs(60);

pub struct Service {
    shared: Arc<Shared>,
}

struct Shared {
    namespace: String,
    publisher: Mutex<RemotePublisher>,
    exit: Arc<ExitSignal>,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    containers: HashMap<String, Container>,
    /// Exits of pids no process had when they were reaped.
    unmatched: HashMap<u32, (u32, Instant)>,
}

struct Container {
    bundle: PathBuf,
    runsc: Runsc,
    init: Arc<Process>,
    execs: HashMap<String, Arc<Process>>,
    rootfs_mounted: bool,
}

/// An exit to report as `/tasks/exit`.
struct ExitReport {
    container_id: String,
    id: String,
    pid: u32,
    exit: Exit,
}

impl Service {
    pub fn new(namespace: &str, publisher: RemotePublisher, exit: Arc<ExitSignal>) -> Service {
        let shared = Arc::new(Shared {
            namespace: namespace.to_string(),
            publisher: Mutex::new(publisher),
            exit,
            table: Mutex::new(Table::default()),
        });
        spawn_exit_watcher(Arc::clone(&shared));
        Service { shared }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns every reaped child's exit into its process's exit.
fn spawn_exit_watcher(shared: Arc<Shared>) {
    let subscription = match monitor_subscribe(Topic::Pid) {
        Ok(s) => s,
        Err(e) => {
            log::error!("subscribing to exits: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        while let Ok(event) = subscription.rx.recv() {
            let Subject::Pid(pid) = event.subject else { continue };
            let (Ok(pid), Ok(code)) = (u32::try_from(pid), u32::try_from(event.exit_code)) else {
                continue;
            };
            shared.process_exited(pid, code);
        }
    });
}

impl Shared {
    fn process_exited(&self, pid: u32, code: u32) {
        let mut table = lock(&self.table);
        let now = Instant::now();
        table
            .unmatched
            .retain(|_, (_, at)| now.duration_since(*at) < UNMATCHED_EXIT_TTL);
        match table.find_live(pid) {
            Some((container_id, process)) => {
                let exit = process.set_exited(code);
                process.io.close_stdin();
                // Published under the table lock: after the start event.
                self.publish_exit(&ExitReport {
                    id: if process.exec_id.is_empty() {
                        container_id.clone()
                    } else {
                        process.exec_id.clone()
                    },
                    container_id,
                    pid,
                    exit,
                });
            }
            None => {
                table.unmatched.insert(pid, (code, now));
            }
        }
    }

    /// Sends an event to containerd; after a failure (containerd restarted
    /// and the connection is gone) dials `TTRPC_ADDRESS` again and retries once.
    fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        let mut publisher = lock(&self.publisher);
        let retry = event.clone_box();
        let Err(first) = publisher.publish(Context::default(), topic, &self.namespace, event) else {
            return;
        };
        let address = std::env::var("TTRPC_ADDRESS").unwrap_or_default();
        match RemotePublisher::new(&address) {
            Ok(fresh) => {
                *publisher = fresh;
                if let Err(e) = publisher.publish(Context::default(), topic, &self.namespace, retry) {
                    log::warn!("publishing {topic}: {first}; again after reconnecting: {e}");
                }
            }
            Err(e) => log::warn!("publishing {topic}: {first}; reconnecting to {address}: {e}"),
        }
    }

    fn publish_exit(&self, report: &ExitReport) {
        self.publish(
            topics::TASK_EXIT_EVENT_TOPIC,
            Box::new(TaskExit {
                container_id: report.container_id.clone(),
                id: report.id.clone(),
                pid: report.pid,
                exit_status: report.exit.code,
                exited_at: Some(timestamp(report.exit.at)).into(),
                ..Default::default()
            }),
        );
    }
}

impl Table {
    /// The process (not yet exited) whose host pid is `pid`.
    fn find_live(&self, pid: u32) -> Option<(String, Arc<Process>)> {
        self.containers.iter().find_map(|(id, c)| {
            std::iter::once(&c.init)
                .chain(c.execs.values())
                .find(|p| p.pid() == pid && p.phase() != Phase::Stopped)
                .map(|p| (id.clone(), Arc::clone(p)))
        })
    }

    fn container(&self, id: &str) -> Result<&Container> {
        self.containers
            .get(id)
            .ok_or_else(|| ShimError::NotFound(format!("container {id} not found")))
    }

    fn process(&self, id: &str, exec_id: &str) -> Result<Arc<Process>> {
        let c = self.container(id)?;
        if exec_id.is_empty() {
            return Ok(Arc::clone(&c.init));
        }
        c.execs
            .get(exec_id)
            .cloned()
            .ok_or_else(|| ShimError::NotFound(format!("exec {exec_id} of container {id} not found")))
    }

    /// Records `pid` for `process`; an exit already reaped for it counts now.
    fn claim_pid(&mut self, process: &Process, pid: u32) -> Option<Exit> {
        process.set_pid(pid);
        let (code, _) = self.unmatched.remove(&pid)?;
        Some(process.set_exited(code))
    }
}

fn read_pid(path: &Path) -> Result<u32> {
    let text = std::fs::read_to_string(path).map_err(io_context(format!("reading {}", path.display())))?;
    text.trim()
        .parse()
        .map_err(|_| ShimError::FailedPrecondition(format!("bad pid file {}: {text:?}", path.display())))
}

/// Mounts Create's rootfs mounts on `<bundle>/rootfs`; false when there are
/// none (the rootfs directory is used as it is).
fn mount_rootfs(mounts: &[Mount], target: &Path) -> Result<bool> {
    for (i, m) in mounts.iter().enumerate() {
        let mounted = containerd_shim::mount::mount_rootfs(Some(&m.type_), Some(&m.source), &m.options, target);
        if let Err(e) = mounted {
            if i > 0 {
                unmount_rootfs(target);
            }
            return Err(e.into());
        }
    }
    Ok(!mounts.is_empty())
}

/// Detaches whatever is mounted on `target` (every layer).
pub fn unmount_rootfs(target: &Path) {
    for _ in 0..8 {
        if nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).is_err() {
            break;
        }
    }
}

/// An exec id becomes a file name in the bundle.
fn check_exec_id(exec_id: &str) -> Result<()> {
    if exec_id.is_empty() || exec_id.contains('/') || exec_id == "." || exec_id == ".." {
        return Err(ShimError::InvalidArgument(format!("invalid exec id {exec_id:?}")));
    }
    Ok(())
}

fn exec_process_file(bundle: &Path, exec_id: &str) -> PathBuf {
    bundle.join(format!("exec-{exec_id}.process.json"))
}

fn exec_pid_file(bundle: &Path, exec_id: &str) -> PathBuf {
    bundle.join(format!("exec-{exec_id}.pid"))
}

impl Service {
    fn do_create(&self, req: &CreateTaskRequest) -> Result<u32> {
        if lock(&self.shared.table).containers.contains_key(&req.id) {
            return Err(ShimError::AlreadyExists(format!("container {} already exists", req.id)));
        }
        if !req.checkpoint.is_empty() {
            return Err(ShimError::Unimplemented(
                "restoring from a checkpoint is not supported".into(),
            ));
        }
        let bundle = PathBuf::from(&req.bundle);
        let config = RunscConfig::resolve(req.options.as_ref(), &self.shared.namespace)?;
        config.save(&bundle)?;
        let runsc = Runsc::new(config, &bundle);
        let rootfs = bundle.join("rootfs");
        let rootfs_mounted = mount_rootfs(&req.rootfs, &rootfs)?;
        let paths = StdioPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let created = self.create_init(&req.id, &bundle, &runsc, paths);
        let init = match created {
            Ok(init) => init,
            Err(e) => {
                if rootfs_mounted {
                    unmount_rootfs(&rootfs);
                }
                return Err(e);
            }
        };
        let pid = init.pid();
        let mut table = lock(&self.shared.table);
        let early_exit = table.claim_pid(&init, pid);
        table.containers.insert(
            req.id.clone(),
            Container {
                bundle: bundle.clone(),
                runsc,
                init: Arc::clone(&init),
                execs: HashMap::new(),
                rootfs_mounted,
            },
        );
        self.shared.publish(
            topics::TASK_CREATE_EVENT_TOPIC,
            Box::new(TaskCreate {
                container_id: req.id.clone(),
                bundle: req.bundle.clone(),
                rootfs: req.rootfs.clone(),
                io: Some(TaskIO {
                    stdin: req.stdin.clone(),
                    stdout: req.stdout.clone(),
                    stderr: req.stderr.clone(),
                    terminal: req.terminal,
                    ..Default::default()
                })
                .into(),
                checkpoint: String::new(),
                pid,
                ..Default::default()
            }),
        );
        if let Some(exit) = early_exit {
            self.shared.publish_exit(&ExitReport {
                container_id: req.id.clone(),
                id: req.id.clone(),
                pid,
                exit,
            });
        }
        Ok(pid)
    }

    /// `runsc create` with the container's stdio; the init's pid is set.
    fn create_init(&self, id: &str, bundle: &Path, runsc: &Runsc, paths: StdioPaths) -> Result<Arc<Process>> {
        let process_io = io::ProcessIo::default();
        let prepared = io::prepare(&paths, &process_io)?;
        let pid_file = bundle.join("init.pid");
        let console_path = prepared.console.as_ref().map(io::ConsoleSocket::path);
        runsc.create(id, bundle, &pid_file, console_path.as_deref(), prepared.stdio)?;
        if let Some(console) = &prepared.console {
            if let Err(e) = io::attach_console(&process_io, console, &paths) {
                let _ = runsc.delete(id, true);
                return Err(e);
            }
        }
        let pid = match read_pid(&pid_file) {
            Ok(pid) => pid,
            Err(e) => {
                let _ = runsc.delete(id, true);
                return Err(e);
            }
        };
        let init = Arc::new(Process::new("", paths, process_io));
        init.set_pid(pid);
        Ok(init)
    }

    fn do_start(&self, req: &StartRequest) -> Result<u32> {
        let mut table = lock(&self.shared.table);
        let process = table.process(&req.id, &req.exec_id)?;
        if process.phase() != Phase::Created {
            return Err(ShimError::FailedPrecondition(format!(
                "process {} of container {} is not in the created state",
                req.exec_id, req.id
            )));
        }
        let (runsc, bundle) = {
            let c = table.container(&req.id)?;
            (c.runsc.clone(), c.bundle.clone())
        };
        if req.exec_id.is_empty() {
            runsc.start(&req.id)?;
            process.set_running();
            let pid = process.pid();
            self.shared.publish(
                topics::TASK_START_EVENT_TOPIC,
                Box::new(TaskStart {
                    container_id: req.id.clone(),
                    pid,
                    ..Default::default()
                }),
            );
            return Ok(pid);
        }
        let pid = start_exec(&runsc, &req.id, &bundle, &req.exec_id, &process)?;
        let early_exit = table.claim_pid(&process, pid);
        process.set_running();
        self.shared.publish(
            topics::TASK_EXEC_STARTED_EVENT_TOPIC,
            Box::new(TaskExecStarted {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                pid,
                ..Default::default()
            }),
        );
        if let Some(exit) = early_exit {
            self.shared.publish_exit(&ExitReport {
                container_id: req.id.clone(),
                id: req.exec_id.clone(),
                pid,
                exit,
            });
        }
        Ok(pid)
    }

    fn do_exec(&self, req: &ExecProcessRequest) -> Result<()> {
        check_exec_id(&req.exec_id)?;
        let mut table = lock(&self.shared.table);
        let container = table
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| ShimError::NotFound(format!("container {} not found", req.id)))?;
        if container.init.phase() == Phase::Stopped {
            return Err(ShimError::FailedPrecondition(format!(
                "container {} is not running",
                req.id
            )));
        }
        if container.execs.contains_key(&req.exec_id) {
            return Err(ShimError::AlreadyExists(format!("exec {} already exists", req.exec_id)));
        }
        let spec = req
            .spec
            .as_ref()
            .ok_or_else(|| ShimError::InvalidArgument("exec without a process spec".into()))?;
        let file = exec_process_file(&container.bundle, &req.exec_id);
        std::fs::write(&file, &spec.value).map_err(io_context(format!("writing {}", file.display())))?;
        let paths = StdioPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        container.execs.insert(
            req.exec_id.clone(),
            Arc::new(Process::new(&req.exec_id, paths, io::ProcessIo::default())),
        );
        self.shared.publish(
            topics::TASK_EXEC_ADDED_EVENT_TOPIC,
            Box::new(TaskExecAdded {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            }),
        );
        Ok(())
    }

    fn do_delete(&self, req: &DeleteRequest) -> Result<DeleteResponse> {
        let mut table = lock(&self.shared.table);
        if !req.exec_id.is_empty() {
            let container = table
                .containers
                .get_mut(&req.id)
                .ok_or_else(|| ShimError::NotFound(format!("container {} not found", req.id)))?;
            let process = container
                .execs
                .get(&req.exec_id)
                .cloned()
                .ok_or_else(|| ShimError::NotFound(format!("exec {} not found", req.exec_id)))?;
            if process.phase() == Phase::Running {
                return Err(ShimError::FailedPrecondition(format!(
                    "exec {} is still running",
                    req.exec_id
                )));
            }
            container.execs.remove(&req.exec_id);
            process.io.close();
            let _ = std::fs::remove_file(exec_process_file(&container.bundle, &req.exec_id));
            let _ = std::fs::remove_file(exec_pid_file(&container.bundle, &req.exec_id));
            return Ok(delete_response(&process));
        }
        let container = table.container(&req.id)?;
        if matches!(container.init.phase(), Phase::Running | Phase::Paused) {
            return Err(ShimError::FailedPrecondition(format!(
                "container {} is still running",
                req.id
            )));
        }
        if let Err(e) = container.runsc.delete(&req.id, true) {
            log::warn!("{e}");
        }
        let Some(container) = table.containers.remove(&req.id) else {
            return Err(ShimError::NotFound(format!("container {} not found", req.id)));
        };
        if container.rootfs_mounted {
            unmount_rootfs(&container.bundle.join("rootfs"));
        }
        container.init.io.close();
        for exec in container.execs.values() {
            exec.io.close();
        }
        let response = delete_response(&container.init);
        self.shared.publish(
            topics::TASK_DELETE_EVENT_TOPIC,
            Box::new(TaskDelete {
                container_id: req.id.clone(),
                id: req.id.clone(),
                pid: response.pid,
                exit_status: response.exit_status,
                exited_at: response.exited_at.clone(),
                ..Default::default()
            }),
        );
        Ok(response)
    }

    fn do_kill(&self, req: &KillRequest) -> Result<()> {
        let (process, runsc) = {
            let table = lock(&self.shared.table);
            let process = table.process(&req.id, &req.exec_id)?;
            (process, table.container(&req.id)?.runsc.clone())
        };
        if !req.exec_id.is_empty() {
            if process.phase() == Phase::Stopped {
                return Err(ShimError::NotFound("process already finished".into()));
            }
            let signal = nix::sys::signal::Signal::try_from(i32::try_from(req.signal).unwrap_or(-1))
                .map_err(|_| ShimError::InvalidArgument(format!("bad signal {}", req.signal)))?;
            let pid = nix::unistd::Pid::from_raw(i32::try_from(process.pid()).unwrap_or(0));
            return nix::sys::signal::kill(pid, signal)
                .map_err(|e| ShimError::NotFound(format!("signalling exec {}: {e}", req.exec_id)));
        }
        if process.phase() == Phase::Stopped {
            if req.all {
                return Ok(());
            }
            return Err(ShimError::NotFound("process already finished".into()));
        }
        runsc.kill(&req.id, req.signal, req.all)
    }

    /// `runsc pause`/`resume` of a running (paused) container, then the
    /// `/tasks/paused` (`/tasks/resumed`) event.
    fn do_pause(&self, id: &str, pause: bool) -> Result<()> {
        let table = lock(&self.shared.table);
        let container = table.container(id)?;
        let wanted = if pause { Phase::Running } else { Phase::Paused };
        if container.init.phase() != wanted {
            return Err(ShimError::FailedPrecondition(format!(
                "container {id} is {:?}, not {wanted:?}",
                container.init.phase()
            )));
        }
        container.runsc.pause(id, pause)?;
        container.init.set_paused(pause);
        let (topic, event): (&str, Box<dyn MessageDyn>) = if pause {
            (
                topics::TASK_PAUSED_EVENT_TOPIC,
                Box::new(TaskPaused {
                    container_id: id.to_string(),
                    ..Default::default()
                }),
            )
        } else {
            (
                topics::TASK_RESUMED_EVENT_TOPIC,
                Box::new(TaskResumed {
                    container_id: id.to_string(),
                    ..Default::default()
                }),
            )
        };
        self.shared.publish(topic, event);
        Ok(())
    }

    /// `runsc update --resources FILE`: containerd sends the new OCI
    /// `linux.resources` as JSON.
    fn do_update(&self, req: &UpdateTaskRequest) -> Result<()> {
        let (runsc, bundle) = {
            let table = lock(&self.shared.table);
            let c = table.container(&req.id)?;
            (c.runsc.clone(), c.bundle.clone())
        };
        let resources = req
            .resources
            .as_ref()
            .ok_or_else(|| ShimError::InvalidArgument("update without resources".into()))?;
        let file = bundle.join("update-resources.json");
        std::fs::write(&file, &resources.value).map_err(io_context(format!("writing {}", file.display())))?;
        let updated = runsc.update(&req.id, &file);
        let _ = std::fs::remove_file(&file);
        updated
    }

    fn do_stats(&self, req: &StatsRequest) -> Result<StatsResponse> {
        let root = {
            let table = lock(&self.shared.table);
            table.container(&req.id)?.runsc.config.root.clone()
        };
        let rel = stats::recorded_cgroup(&root, &req.id)?;
        let metrics = stats::collect_v1(stats::cgroup_root(), &rel)?;
        Ok(StatsResponse {
            stats: Some(stats::to_any(&metrics)?).into(),
            ..Default::default()
        })
    }
}

/// Starts an exec'd process with `runsc exec --detach`; returns the pid of
/// the host helper that waits for it.
fn start_exec(runsc: &Runsc, id: &str, bundle: &Path, exec_id: &str, process: &Process) -> Result<u32> {
    let prepared = io::prepare(&process.stdio, &process.io)?;
    let pid_file = exec_pid_file(bundle, exec_id);
    let console_path = prepared.console.as_ref().map(io::ConsoleSocket::path);
    let process_file = exec_process_file(bundle, exec_id);
    let opts = ExecOptions {
        process_file: &process_file,
        pid_file: &pid_file,
        console_socket: console_path.as_deref(),
    };
    runsc.exec(id, &opts, prepared.stdio)?;
    if let Some(console) = &prepared.console {
        io::attach_console(&process.io, console, &process.stdio)?;
    }
    read_pid(&pid_file)
}

fn delete_response(process: &Process) -> DeleteResponse {
    let exit = process.exit();
    DeleteResponse {
        pid: process.pid(),
        exit_status: exit.map_or(0, |e| e.code),
        exited_at: exit.map(|e| timestamp(e.at)).into(),
        ..Default::default()
    }
}

impl Task for Service {
    fn create(&self, _ctx: &TtrpcContext, req: CreateTaskRequest) -> TtrpcResult<CreateTaskResponse> {
        let pid = self.do_create(&req)?;
        Ok(CreateTaskResponse {
            pid,
            ..Default::default()
        })
    }

    fn start(&self, _ctx: &TtrpcContext, req: StartRequest) -> TtrpcResult<StartResponse> {
        let pid = self.do_start(&req)?;
        Ok(StartResponse {
            pid,
            ..Default::default()
        })
    }

    fn state(&self, _ctx: &TtrpcContext, req: StateRequest) -> TtrpcResult<StateResponse> {
        let table = lock(&self.shared.table);
        let process = table.process(&req.id, &req.exec_id)?;
        let bundle = table.container(&req.id)?.bundle.display().to_string();
        let exit = process.exit();
        Ok(StateResponse {
            id: if req.exec_id.is_empty() {
                req.id.clone()
            } else {
                req.exec_id.clone()
            },
            bundle,
            pid: process.pid(),
            status: process.status().into(),
            stdin: process.stdio.stdin.clone(),
            stdout: process.stdio.stdout.clone(),
            stderr: process.stdio.stderr.clone(),
            terminal: process.stdio.terminal,
            exit_status: exit.map_or(0, |e| e.code),
            exited_at: exit.map(|e| timestamp(e.at)).into(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
    }

    fn wait(&self, _ctx: &TtrpcContext, req: WaitRequest) -> TtrpcResult<WaitResponse> {
        let process = lock(&self.shared.table).process(&req.id, &req.exec_id)?;
        let exit = process.wait();
        Ok(WaitResponse {
            exit_status: exit.code,
            exited_at: Some(timestamp(exit.at)).into(),
            ..Default::default()
        })
    }

    fn kill(&self, _ctx: &TtrpcContext, req: KillRequest) -> TtrpcResult<Empty> {
        self.do_kill(&req)?;
        Ok(Empty::new())
    }

    fn delete(&self, _ctx: &TtrpcContext, req: DeleteRequest) -> TtrpcResult<DeleteResponse> {
        Ok(self.do_delete(&req)?)
    }

    fn exec(&self, _ctx: &TtrpcContext, req: ExecProcessRequest) -> TtrpcResult<Empty> {
        self.do_exec(&req)?;
        Ok(Empty::new())
    }

    fn resize_pty(&self, _ctx: &TtrpcContext, req: ResizePtyRequest) -> TtrpcResult<Empty> {
        let process = lock(&self.shared.table).process(&req.id, &req.exec_id)?;
        process.io.resize(req.width, req.height)?;
        Ok(Empty::new())
    }

    fn close_io(&self, _ctx: &TtrpcContext, req: CloseIORequest) -> TtrpcResult<Empty> {
        let process = lock(&self.shared.table).process(&req.id, &req.exec_id)?;
        if req.stdin {
            process.io.close_stdin();
        }
        Ok(Empty::new())
    }

    fn pids(&self, _ctx: &TtrpcContext, req: PidsRequest) -> TtrpcResult<PidsResponse> {
        let runsc = lock(&self.shared.table).container(&req.id)?.runsc.clone();
        let pids = runsc.ps(&req.id)?;
        Ok(PidsResponse {
            processes: pids
                .into_iter()
                .map(|pid| ProcessInfo {
                    pid,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    fn stats(&self, _ctx: &TtrpcContext, req: StatsRequest) -> TtrpcResult<StatsResponse> {
        Ok(self.do_stats(&req)?)
    }

    fn connect(&self, _ctx: &TtrpcContext, req: ConnectRequest) -> TtrpcResult<ConnectResponse> {
        let table = lock(&self.shared.table);
        let task_pid = table.containers.get(&req.id).map_or(0, |c| c.init.pid());
        Ok(ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    fn pause(&self, _ctx: &TtrpcContext, req: PauseRequest) -> TtrpcResult<Empty> {
        self.do_pause(&req.id, true)?;
        Ok(Empty::new())
    }

    fn resume(&self, _ctx: &TtrpcContext, req: ResumeRequest) -> TtrpcResult<Empty> {
        self.do_pause(&req.id, false)?;
        Ok(Empty::new())
    }

    fn update(&self, _ctx: &TtrpcContext, req: UpdateTaskRequest) -> TtrpcResult<Empty> {
        self.do_update(&req)?;
        Ok(Empty::new())
    }

    fn checkpoint(&self, _ctx: &TtrpcContext, _req: CheckpointTaskRequest) -> TtrpcResult<Empty> {
        Err(ShimError::Unimplemented("checkpoint is not supported by runsc".into()).into())
    }

    fn shutdown(&self, _ctx: &TtrpcContext, _req: ShutdownRequest) -> TtrpcResult<Empty> {
        // A pod's shim stays while any of its containers does.
        if lock(&self.shared.table).containers.is_empty() {
            self.shared.exit.signal();
        }
        Ok(Empty::new())
    }
}
