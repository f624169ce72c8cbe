//! The sandbox's control socket: `runsc boot` answers other runsc
//! invocations on `<root>/<id>/control.sock`.
//!
//! Each connection carries one request line, `NAME[ JSON]`:
//! - `ps[ {"container": ID}]`: one JSON reply line, the processes (of
//!   container ID of a pod, else of the sandbox's first container);
//! - `exec {"process": OCI process[, "container": ID][, "preserve_fds": N]}`
//!   with the process's stdin, stdout and stderr attached (SCM_RIGHTS),
//!   then the N fds that become its fds 3, 4, ...: a
//!   [`ExecEvent::Started`] (or [`ExecEvent::Failed`]) line as soon as the
//!   process is loaded, then an exit line when it has exited and been
//!   reaped;
//! - `signal {"pid": N, "signal": S}`: one reply line, `{"ok": bool}`;
//! - `add {AddRequest}` with stdio and gofer connections attached: a
//!   further container of a pod ([`crate::pod::answer_add`]).
//! - `memory-limit {"bytes": N}`: the limit `runsc update` gave the
//!   sandbox's cgroup, for /proc/meminfo; one reply line, `{"ok": true}`.
//! - with test-only hooks enabled, `testonly-*` ([`crate::testonly`]).

use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::{bail, Context};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};
use serde::{Deserialize, Serialize};

/// The longest request line accepted (an OCI process with a large
/// environment fits easily).
const MAX_REQUEST: usize = 1 << 20;

/// A process as the control socket reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub cmd: String,
}

/// What `exec` asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecRequest {
    pub process: oci_spec::runtime::Process,
    /// The pod's container to run it in; None for the sandbox's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// How many fds after the 3 of stdio the process gets as its fds 3,
    /// 4, ... (`exec --preserve-fds`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub preserve_fds: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What `ps` may ask for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

/// What `memory-limit` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemoryLimitRequest {
    bytes: u64,
}

/// The replies on an `exec` connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecEvent {
    /// The process is loaded and running as `pid` in the sandbox.
    Started { pid: i32 },
    /// It could not be started; `exit_code` is what runc would exit with
    /// (127 not found, 126 not executable, 1 else).
    Failed { message: String, exit_code: i32 },
    /// It exited with `code`.
    Exited { code: i32 },
    /// It was killed by `signal`.
    Signaled { signal: i32 },
}

impl ExecEvent {
    /// The shell convention for a final event: the code, 128 + signal.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            ExecEvent::Exited { code } => Some(*code),
            ExecEvent::Signaled { signal } => Some(128 + signal),
            ExecEvent::Failed { exit_code, .. } => Some(*exit_code),
            ExecEvent::Started { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SignalRequest {
    pid: i32,
    signal: i32,
}

/// Binds the control socket at `path` (before the sandbox gives up the
/// host's file system).
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let short = ShortPath::new(path).with_context(|| format!("binding {}", path.display()))?;
    UnixListener::bind(&short.path).with_context(|| format!("binding {}", path.display()))
}

/// The longest path a `sockaddr_un` holds (unix(7): 108 bytes with the NUL).
const SUN_PATH_MAX: usize = 107;

/// A name for a socket path that fits in a `sockaddr_un`. Docker's state
/// root plus a 64-hex id plus `control.sock` can be longer; such a path is
/// reached through `/proc/self/fd/N/` of its directory instead, which the
/// kernel resolves like any other path.
struct ShortPath {
    path: std::path::PathBuf,
    /// Keeps the directory's fd (N) open while the path is used.
    _dir: Option<std::fs::File>,
}

impl ShortPath {
    fn new(path: &Path) -> std::io::Result<ShortPath> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        if path.as_os_str().as_bytes().len() <= SUN_PATH_MAX {
            return Ok(ShortPath {
                path: path.to_path_buf(),
                _dir: None,
            });
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        };
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(parent)?;
        let short = Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
        if short.as_os_str().as_bytes().len() > SUN_PATH_MAX {
            return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        Ok(ShortPath {
            path: short,
            _dir: Some(dir),
        })
    }
}

/// Answers control requests on `listener` from a thread of its own; each
/// connection gets a thread, since an `exec` lasts as long as its process.
pub fn serve(listener: UnixListener, sandbox: sentry::Signaller) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let sandbox = sandbox.clone();
                let spawned = std::thread::Builder::new().name("control-conn".into()).spawn(move || {
                    if let Err(e) = answer(conn, &sandbox) {
                        tracing::debug!("control request: {e:#}");
                    }
                });
                if let Err(e) = spawned {
                    tracing::warn!("cannot answer a control request: {e}");
                }
            }
        })
        .context("starting the control thread")?;
    Ok(())
}

fn answer(mut conn: UnixStream, sandbox: &sentry::Signaller) -> anyhow::Result<()> {
    let (request, fds) = read_request(&conn)?;
    let (name, body) = request.split_once(' ').unwrap_or((request.as_str(), ""));
    match name {
        "ps" => {
            let req: PsRequest = if body.is_empty() {
                PsRequest::default()
            } else {
                serde_json::from_str(body).context("parsing the ps request")?
            };
            reply(&mut conn, &processes_of(sandbox, req.container.as_deref()))
        }
        "exec" => answer_exec(conn, sandbox, body, fds),
        "add" => crate::pod::answer_add(conn, sandbox, body, fds),
        "signal" => {
            let req: SignalRequest = serde_json::from_str(body).context("parsing the signal request")?;
            tracing::debug!(pid = req.pid, signal = req.signal, "signal request");
            let ok = sandbox.signal_process(req.pid, req.signal);
            reply(&mut conn, &serde_json::json!({ "ok": ok }))
        }
        "memory-limit" => {
            let req: MemoryLimitRequest = serde_json::from_str(body).context("parsing the memory-limit request")?;
            tracing::debug!(bytes = req.bytes, "memory-limit request");
            sentry::set_memory_limit(req.bytes);
            reply(&mut conn, &serde_json::json!({ "ok": true }))
        }
        hook if crate::testonly::run(hook, body) => Ok(()),
        other => reply(
            &mut conn,
            &serde_json::json!({ "error": format!("unknown request {other:?}") }),
        ),
    }
}

fn processes_of(sandbox: &sentry::Signaller, container: Option<&str>) -> Vec<Process> {
    sandbox
        .container_processes(container)
        .into_iter()
        .map(|p| Process {
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            cmd: p.cmd,
        })
        .collect()
}

/// Starts the requested process, reports its pid, then waits for it and
/// reports how it ended. The process is reaped even when the client has
/// gone away meanwhile.
fn answer_exec(mut conn: UnixStream, sandbox: &sentry::Signaller, body: &str, fds: Vec<OwnedFd>) -> anyhow::Result<()> {
    let started = parse_exec(body, fds).and_then(|(container, config)| {
        tracing::debug!(args = ?config.args, cwd = %config.cwd, uid = config.uid, ?container, "exec");
        sandbox.exec_in(container.as_deref(), config).map_err(|e| {
            let failure = crate::report::BootFailure::from_sentry(&e);
            (failure.to_string(), failure.exit_code)
        })
    });
    let pid = match started {
        Ok(pid) => pid,
        Err((message, exit_code)) => return reply(&mut conn, &ExecEvent::Failed { message, exit_code }),
    };
    // The client may be gone already; the process still has to be reaped.
    let _ = reply(&mut conn, &ExecEvent::Started { pid });
    kill_when_abandoned(&conn, sandbox, pid);
    let event = match sandbox.wait(pid) {
        Some(status) => exit_event(status),
        None => ExecEvent::Failed {
            message: "the process vanished".into(),
            exit_code: 1,
        },
    };
    tracing::debug!(pid, ?event, "exec'd process ended");
    reply(&mut conn, &event)
}

/// The client never writes after its request: end of file means whoever
/// waited for `pid` (`runsc exec`, or the shim's helper) died, say of a
/// SIGKILL it could not pass on. The process then gets the SIGKILL, as the
/// process a killed runc shim helper stands for would. Once the process
/// has been reaped the signal finds nothing (pids are never reused).
fn kill_when_abandoned(conn: &UnixStream, sandbox: &sentry::Signaller, pid: i32) {
    let Ok(watched) = conn.try_clone() else { return };
    let sandbox = sandbox.clone();
    let spawned = std::thread::Builder::new().name("exec-watch".into()).spawn(move || {
        let mut byte = [0u8; 1];
        loop {
            match (&watched).read(&mut byte) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if sandbox.signal_process(pid, libc::SIGKILL) {
            tracing::debug!(pid, "the exec client is gone: killed its process");
        }
    });
    if let Err(e) = spawned {
        tracing::debug!("cannot watch the exec connection: {e}");
    }
}

/// The final event of a process that ended with `status`.
pub fn exit_event(status: sentry::ExitStatus) -> ExecEvent {
    match status {
        sentry::ExitStatus::Exited(code) => ExecEvent::Exited { code: code & 0xff },
        sentry::ExitStatus::Signaled(signal) => ExecEvent::Signaled { signal },
    }
}

type ExecParsed = (Option<String>, sentry::ExecConfig);

fn parse_exec(body: &str, fds: Vec<OwnedFd>) -> Result<ExecParsed, (String, i32)> {
    let request: ExecRequest = serde_json::from_str(body).map_err(|e| (format!("parsing the exec request: {e}"), 1))?;
    let expected = 3 + request.preserve_fds;
    if fds.len() != expected {
        return Err((
            format!(
                "exec needs {expected} fds (stdio and {} preserved), got {}",
                request.preserve_fds,
                fds.len()
            ),
            1,
        ));
    }
    let mut fds = fds;
    let preserved = fds.split_off(3);
    let stdio: [OwnedFd; 3] = fds
        .try_into()
        .map_err(|fds: Vec<OwnedFd>| (format!("exec needs 3 stdio fds, got {}", fds.len()), 1))?;
    let mut config = crate::spec::exec_config(&request.process, stdio).map_err(|e| (e.to_string(), 1))?;
    config.preserved_fds = preserved;
    Ok((request.container, config))
}

pub fn reply<T: Serialize>(conn: &mut UnixStream, value: &T) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    conn.write_all(&line)?;
    Ok(())
}

/// Reads the request line and the fds that came with it.
fn read_request(conn: &UnixStream) -> anyhow::Result<(String, Vec<OwnedFd>)> {
    let mut line = Vec::new();
    let mut fds = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !line.contains(&b'\n') {
        let mut space = nix::cmsg_space!([RawFd; crate::pod::MAX_FDS]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<UnixAddr>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                fds.extend(received.into_iter().map(owned));
            }
        }
        let n = msg.bytes;
        if n == 0 {
            bail!("the connection closed before a full request");
        }
        line.extend_from_slice(&buf[..n]);
        if line.len() > MAX_REQUEST {
            bail!("request longer than {MAX_REQUEST} bytes");
        }
    }
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    line.truncate(end);
    Ok((String::from_utf8(line).context("request is not UTF-8")?, fds))
}

#[allow(unsafe_code)]
fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: the fd was just received over SCM_RIGHTS; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Asks the sandbox behind `path` for the processes of its container
/// `container` (None: its first container).
pub fn processes(path: &Path, container: Option<&str>) -> anyhow::Result<Vec<Process>> {
    let mut conn = connect(path)?;
    let request = serde_json::to_string(&PsRequest {
        container: container.map(str::to_string),
    })?;
    conn.write_all(format!("ps {request}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    serde_json::from_str(&reply).with_context(|| format!("unexpected reply {reply:?}"))
}

/// Asks the sandbox behind `path` to send `signal` to its process `pid`;
/// false when there is no such process.
pub fn signal(path: &Path, pid: i32, signal: i32) -> anyhow::Result<bool> {
    let mut conn = connect(path)?;
    let request = serde_json::to_string(&SignalRequest { pid, signal })?;
    conn.write_all(format!("signal {request}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    let value: serde_json::Value =
        serde_json::from_str(&reply).with_context(|| format!("unexpected reply {reply:?}"))?;
    Ok(value.get("ok").and_then(|v| v.as_bool()).unwrap_or(false))
}

/// Tells the sandbox its cgroup's new memory limit (what its guest sees as
/// MemTotal).
pub fn set_memory_limit(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let mut conn = connect(path)?;
    let request = serde_json::to_string(&MemoryLimitRequest { bytes })?;
    conn.write_all(format!("memory-limit {request}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    let value: serde_json::Value =
        serde_json::from_str(&reply).with_context(|| format!("unexpected reply {reply:?}"))?;
    if value.get("ok").and_then(|v| v.as_bool()) != Some(true) {
        bail!("the sandbox refused the memory limit: {reply:?}");
    }
    Ok(())
}

/// An `exec` in progress: the connection on which its events arrive.
///
/// Events are read a byte at a time, never past the end of the current
/// line: the connection may be handed to `runsc exec-wait` after the
/// `started` event, and an exit event already sent behind it must still be
/// in the socket for that process to read (a buffered reader would keep it).
pub struct ExecConnection {
    stream: UnixStream,
}

impl ExecConnection {
    /// The next event; an error when the sandbox closed the connection
    /// (it died).
    pub fn next_event(&mut self) -> anyhow::Result<ExecEvent> {
        let line = read_line_unbuffered(&mut self.stream)?;
        if line.is_empty() {
            bail!("the sandbox closed the connection (did the container stop?)");
        }
        serde_json::from_slice(&line).with_context(|| format!("unexpected reply {:?}", String::from_utf8_lossy(&line)))
    }

    /// The connection's socket, for handing to another process.
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }

    /// The connection's socket, for writing to the sandbox.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    pub fn from_stream(stream: UnixStream) -> ExecConnection {
        ExecConnection { stream }
    }
}

/// One line (with its newline) read without reading past it; empty at EOF.
fn read_line_unbuffered(stream: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_REQUEST {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(line)
}

/// The most fds `exec --preserve-fds` can pass: what one SCM_RIGHTS
/// message carries, less stdio.
pub const MAX_EXEC_PRESERVED: usize = crate::pod::MAX_FDS - 3;

/// Sends an `exec` request with `stdio` and the `preserved` fds (the
/// process's fds 3, 4, ...) to the sandbox behind `path`, for its pod's
/// container `container` (None: its first container).
pub fn exec(
    path: &Path,
    container: Option<&str>,
    process: &oci_spec::runtime::Process,
    stdio: [OwnedFd; 3],
    preserved: Vec<OwnedFd>,
) -> anyhow::Result<ExecConnection> {
    if preserved.len() > MAX_EXEC_PRESERVED {
        bail!(
            "--preserve-fds {}: exec passes at most {MAX_EXEC_PRESERVED} fds",
            preserved.len()
        );
    }
    let request = serde_json::to_string(&ExecRequest {
        process: process.clone(),
        container: container.map(str::to_string),
        preserve_fds: preserved.len(),
    })?;
    let fds: Vec<OwnedFd> = stdio.into_iter().chain(preserved).collect();
    let conn = send_request(path, &format!("exec {request}\n"), &fds).context("sending the exec request")?;
    Ok(ExecConnection::from_stream(conn))
}

/// Connects to `path` and sends the request `line` with `fds` attached
/// (SCM_RIGHTS, with the first bytes); returns the connection.
pub fn send_request(path: &Path, line: &str, fds: &[OwnedFd]) -> anyhow::Result<UnixStream> {
    let conn = connect(path)?;
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let sent = sendmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &[IoSlice::new(line.as_bytes())],
        if raw.is_empty() { &[] } else { &rights },
        MsgFlags::empty(),
        None,
    )?;
    if sent < line.len() {
        (&conn).write_all(&line.as_bytes()[sent..])?;
    }
    tracing::debug!(bytes = line.len(), fds = raw.len(), "control request sent");
    Ok(conn)
}

fn connect(path: &Path) -> anyhow::Result<UnixStream> {
    let short = ShortPath::new(path).with_context(|| format!("connecting to {}", path.display()))?;
    UnixStream::connect(&short.path).with_context(|| format!("connecting to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_events_round_trip() {
        for event in [
            ExecEvent::Started { pid: 7 },
            ExecEvent::Exited { code: 3 },
            ExecEvent::Signaled { signal: 9 },
            ExecEvent::Failed {
                message: "no".into(),
                exit_code: 127,
            },
        ] {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<ExecEvent>(&text).unwrap(), event);
        }
        assert_eq!(ExecEvent::Signaled { signal: 9 }.exit_code(), Some(137));
        assert_eq!(ExecEvent::Started { pid: 1 }.exit_code(), None);
    }

    #[test]
    fn request_and_fds_arrive_together() {
        let (a, b) = UnixStream::pair().unwrap();
        let null = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let stdio = [null(), null(), null()];
        let line = "exec {\"x\": 1}\n";
        let fds: Vec<RawFd> = stdio.iter().map(|fd| fd.as_raw_fd()).collect();
        sendmsg::<UnixAddr>(
            a.as_raw_fd(),
            &[IoSlice::new(line.as_bytes())],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let (request, got) = read_request(&b).unwrap();
        assert_eq!(request, "exec {\"x\": 1}");
        assert_eq!(got.len(), 3);
    }

    /// Docker's state directories make socket paths longer than a
    /// sockaddr_un holds; they still bind and connect.
    #[test]
    fn long_socket_paths_work() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d".repeat(64)).join("e".repeat(64));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        assert!(path.as_os_str().len() > SUN_PATH_MAX);
        let listener = bind(&path).unwrap();
        assert!(path.exists());
        let mut client = connect(&path).unwrap();
        client.write_all(b"x").unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    /// An exit event queued behind `started` stays in the socket for
    /// whoever reads next (`runsc exec-wait` after a detached exec).
    #[test]
    fn events_are_not_read_ahead() {
        let (mut sandbox, client) = UnixStream::pair().unwrap();
        sandbox
            .write_all(b"{\"started\":{\"pid\":2}}\n{\"exited\":{\"code\":5}}\n")
            .unwrap();
        let mut conn = ExecConnection::from_stream(client);
        assert_eq!(conn.next_event().unwrap(), ExecEvent::Started { pid: 2 });
        let mut handed_over = ExecConnection::from_stream(conn.into_stream());
        assert_eq!(handed_over.next_event().unwrap(), ExecEvent::Exited { code: 5 });
        drop(sandbox);
        assert!(handed_over.next_event().is_err());
    }
}
