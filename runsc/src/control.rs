//! The sandbox's control socket: `runsc boot` answers queries from other
//! runsc invocations (`ps` today) on `<root>/<id>/control.sock`.
//!
//! The protocol is one request line and one JSON reply per connection.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// A process as the control socket reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub cmd: String,
}

/// Starts answering on `path` from a background thread.
/// Binds the control socket at `path` (before the sandbox gives up the
/// host's file system).
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))
}

/// Answers control requests on `listener` from a thread of its own.
pub fn serve(listener: UnixListener, sandbox: sentry::Signaller) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if let Err(e) = answer(conn, &sandbox) {
                    tracing::debug!("control request: {e}");
                }
            }
        })
        .context("starting the control thread")?;
    Ok(())
}

fn answer(conn: UnixStream, sandbox: &sentry::Signaller) -> anyhow::Result<()> {
    let mut request = String::new();
    BufReader::new(&conn).read_line(&mut request)?;
    let reply = match request.trim() {
        "ps" => {
            let procs: Vec<Process> = sandbox
                .processes()
                .into_iter()
                .map(|p| Process {
                    pid: p.pid,
                    ppid: p.ppid,
                    uid: p.uid,
                    cmd: p.cmd,
                })
                .collect();
            serde_json::to_string(&procs)?
        }
        other => serde_json::to_string(&serde_json::json!({ "error": format!("unknown request {other:?}") }))?,
    };
    let mut conn = conn;
    conn.write_all(reply.as_bytes())?;
    conn.write_all(b"\n")?;
    Ok(())
}

/// Asks the sandbox behind `path` for its processes.
pub fn processes(path: &Path) -> anyhow::Result<Vec<Process>> {
    let mut conn = UnixStream::connect(path).with_context(|| format!("connecting to {}", path.display()))?;
    conn.write_all(b"ps\n")?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    serde_json::from_str(&reply).with_context(|| format!("unexpected reply {reply:?}"))
}
