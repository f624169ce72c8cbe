//! The sandbox's control socket: `runsc boot` answers other runsc
//! invocations on `<root>/<id>/control.sock`.
//!
//! Each connection carries one request line, `NAME[ JSON]`:
//! - `ps`: one JSON reply line, the processes;
//! - `exec {"process": OCI process}` with the process's stdin, stdout and
//!   stderr attached (SCM_RIGHTS): a [`ExecEvent::Started`] (or
//!   [`ExecEvent::Failed`]) line as soon as the process is loaded, then an
//!   exit line when it has exited and been reaped;
//! - `signal {"pid": N, "signal": S}`: one reply line, `{"ok": bool}`.

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
    UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))
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
        "ps" => reply(&mut conn, &processes_of(sandbox)),
        "exec" => answer_exec(conn, sandbox, body, fds),
        "signal" => {
            let req: SignalRequest = serde_json::from_str(body).context("parsing the signal request")?;
            tracing::debug!(pid = req.pid, signal = req.signal, "signal request");
            let ok = sandbox.signal_process(req.pid, req.signal);
            reply(&mut conn, &serde_json::json!({ "ok": ok }))
        }
        other => reply(
            &mut conn,
            &serde_json::json!({ "error": format!("unknown request {other:?}") }),
        ),
    }
}

fn processes_of(sandbox: &sentry::Signaller) -> Vec<Process> {
    sandbox
        .processes()
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
    let started = parse_exec(body, fds).and_then(|config| {
        tracing::debug!(args = ?config.args, cwd = %config.cwd, uid = config.uid, "exec");
        sandbox.exec(config).map_err(|e| {
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
        Some(sentry::ExitStatus::Exited(code)) => ExecEvent::Exited { code: code & 0xff },
        Some(sentry::ExitStatus::Signaled(signal)) => ExecEvent::Signaled { signal },
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

fn parse_exec(body: &str, fds: Vec<OwnedFd>) -> Result<sentry::ExecConfig, (String, i32)> {
    let request: ExecRequest = serde_json::from_str(body).map_err(|e| (format!("parsing the exec request: {e}"), 1))?;
    let stdio: [OwnedFd; 3] = fds
        .try_into()
        .map_err(|fds: Vec<OwnedFd>| (format!("exec needs 3 stdio fds, got {}", fds.len()), 1))?;
    crate::spec::exec_config(&request.process, stdio).map_err(|e| (e.to_string(), 1))
}

fn reply<T: Serialize>(conn: &mut UnixStream, value: &T) -> anyhow::Result<()> {
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
        let mut space = nix::cmsg_space!([RawFd; 3]);
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

/// Asks the sandbox behind `path` for its processes.
pub fn processes(path: &Path) -> anyhow::Result<Vec<Process>> {
    let mut conn = connect(path)?;
    conn.write_all(b"ps\n")?;
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

/// An `exec` in progress: the connection on which its events arrive.
pub struct ExecConnection {
    reader: BufReader<UnixStream>,
}

impl ExecConnection {
    /// The next event; an error when the sandbox closed the connection
    /// (it died).
    pub fn next_event(&mut self) -> anyhow::Result<ExecEvent> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("the sandbox closed the connection (did the container stop?)");
        }
        serde_json::from_str(&line).with_context(|| format!("unexpected reply {line:?}"))
    }

    /// The connection's socket, for handing to another process.
    pub fn into_stream(self) -> UnixStream {
        self.reader.into_inner()
    }

    pub fn from_stream(stream: UnixStream) -> ExecConnection {
        ExecConnection {
            reader: BufReader::new(stream),
        }
    }
}

/// Sends an `exec` request with `stdio` to the sandbox behind `path`.
pub fn exec(path: &Path, process: &oci_spec::runtime::Process, stdio: &[OwnedFd; 3]) -> anyhow::Result<ExecConnection> {
    let conn = connect(path)?;
    let request = serde_json::to_string(&ExecRequest {
        process: process.clone(),
    })?;
    let line = format!("exec {request}\n");
    let fds: Vec<RawFd> = stdio.iter().map(|fd| fd.as_raw_fd()).collect();
    let mut sent = sendmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &[IoSlice::new(line.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("sending the exec request")?;
    if sent < line.len() {
        (&conn).write_all(&line.as_bytes()[sent..])?;
        sent = line.len();
    }
    tracing::debug!(bytes = sent, "exec request sent");
    Ok(ExecConnection::from_stream(conn))
}

fn connect(path: &Path) -> anyhow::Result<UnixStream> {
    UnixStream::connect(path).with_context(|| format!("connecting to {}", path.display()))
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
}
