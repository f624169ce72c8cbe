//! The long-lived server (the shim started with `-socket`): containerd-shim's
//! own server set-up registers the task service only under the task API v3
//! name, which containerd 1.6 does not call, so the server is set up here
//! and the service answers under both `containerd.task.v2.Task` and
//! `containerd.task.v3.Task` (the messages are the same).
//!
//! As in containerd-shim: the process is a subreaper, a signal thread reaps
//! every child and reports its exit through the shared monitor, and the
//! server's stdout is closed (pointed at stderr) once it listens, which is
//! what the `start` process waits for.

use std::collections::HashMap;
use std::os::fd::IntoRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

use containerd_shim::monitor::monitor_notify_by_pid;
use containerd_shim::protos::shim::shim_ttrpc::create_task;
use containerd_shim::protos::ttrpc::{MethodHandler, Server};
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::synchronous::util::write_address;
use containerd_shim::{ExitSignal, Flags};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGINT, SIGPIPE, SIGTERM};
use signal_hook::iterator::Signals;

use crate::service::Service;

type Methods = HashMap<String, Box<dyn MethodHandler + Send + Sync>>;

/// Serves until Shutdown; returns the exit code.
pub fn serve(flags: &Flags) -> i32 {
    match run(flags) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}: {e}", crate::shim::RUNTIME_ID);
            1
        }
    }
}

fn run(flags: &Flags) -> Result<(), Box<dyn std::error::Error>> {
    let socket = flags
        .socket
        .strip_prefix("unix://")
        .unwrap_or(&flags.socket)
        .to_string();
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets a flag on this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        return Err(format!("PR_SET_CHILD_SUBREAPER: {}", std::io::Error::last_os_error()).into());
    }
    let signals = Signals::new([SIGCHLD, SIGTERM, SIGINT, SIGPIPE])?;
    std::thread::spawn(move || reap_forever(signals));
    if let Err(e) = containerd_shim::logger::init(flags.debug, "info", &flags.namespace, &flags.id) {
        eprintln!("shim log: {e}");
    }

    let Some(listener) = listen(&socket)? else {
        // Another server of the same group answers there already.
        write_address(&flags.socket)?;
        close_stdout();
        return Ok(());
    };
    let ttrpc_address = std::env::var("TTRPC_ADDRESS")?;
    let publisher = RemotePublisher::new(&ttrpc_address)?;
    let exit = Arc::new(ExitSignal::default());
    let service = Arc::new(Service::new(&flags.namespace, publisher, Arc::clone(&exit)));
    let mut server = Server::new()
        .add_listener(listener.into_raw_fd())?
        .register_service(task_methods(&service));
    server.start()?;
    close_stdout();
    log::info!("runsc shim serving on {}", flags.socket);
    exit.wait();
    server.shutdown();
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// The Task methods under the v3 names and again under the v2 names.
fn task_methods(service: &Arc<Service>) -> Methods {
    let mut methods = create_task(Arc::clone(service) as _);
    let v2: Methods = create_task(Arc::clone(service) as _)
        .into_iter()
        .map(|(name, handler)| {
            (
                name.replace("/containerd.task.v3.Task/", "/containerd.task.v2.Task/"),
                handler,
            )
        })
        .collect();
    methods.extend(v2);
    methods
}

/// Binds the socket; `None` when a live server already holds it.
fn listen(socket: &str) -> Result<Option<UnixListener>, Box<dyn std::error::Error>> {
    if let Some(dir) = Path::new(socket).parent() {
        std::fs::create_dir_all(dir)?;
    }
    match UnixListener::bind(socket) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if UnixStream::connect(socket).is_ok() {
                return Ok(None);
            }
            // A dead server's socket file.
            std::fs::remove_file(socket)?;
            Ok(Some(UnixListener::bind(socket)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// The `start` process reads our stdout until EOF.
fn close_stdout() {
    // SAFETY: dup2 of two standard fds; stdout is not used as a Rust handle.
    unsafe {
        libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO);
    }
}

/// Reaps every child and reports its exit (128+N for signal N).
fn reap_forever(mut signals: Signals) {
    for signal in signals.forever() {
        if signal != SIGCHLD {
            continue;
        }
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => notify(pid, code),
                Ok(WaitStatus::Signaled(pid, sig, _)) => notify(pid, 128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    log::warn!("waitpid: {e}");
                    break;
                }
            }
        }
    }
}

fn notify(pid: Pid, code: i32) {
    if let Err(e) = monitor_notify_by_pid(pid.as_raw(), code) {
        log::warn!("reporting the exit of {pid}: {e}");
    }
}
