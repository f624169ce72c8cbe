//! Runs the `runsc` CLI with runc's spelling, the way containerd's runc shim
//! runs runc: global flags first, errors read back from a JSON `--log`.
//!
//! The shim is a subreaper whose signal thread reaps every child with
//! `waitpid(-1)` and reports exits through containerd-shim's monitor, so a
//! command's exit status is taken from there (subscribed before the spawn),
//! never from `Child::wait`, which would race with that thread.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use containerd_shim::monitor::{monitor_subscribe, wait_pid, Topic};

use crate::config::RunscConfig;
use crate::error::{io_context, Result, ShimError};

/// The stdio a command gets; `None` is /dev/null.
#[derive(Default)]
pub struct CommandStdio {
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

/// One container's runsc, with its settings and log file.
#[derive(Debug, Clone)]
pub struct Runsc {
    pub config: RunscConfig,
    /// runsc's `--log` (JSON lines); its last error is a failure's message.
    pub log: PathBuf,
}

/// What `runsc exec` is given.
pub struct ExecOptions<'a> {
    pub process_file: &'a Path,
    pub pid_file: &'a Path,
    pub console_socket: Option<&'a Path>,
}

impl Runsc {
    pub fn new(config: RunscConfig, bundle: &Path) -> Runsc {
        Runsc {
            config,
            log: bundle.join("runsc-log.json"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.config.binary);
        cmd.arg("--root").arg(&self.config.root);
        cmd.arg("--log").arg(&self.log).args(["--log-format", "json"]);
        if let Some(platform) = &self.config.platform {
            cmd.args(["--platform", platform]);
        }
        if let Some(debug_log) = &self.config.debug_log {
            cmd.arg("--debug-log").arg(debug_log);
        }
        if self.config.debug {
            cmd.arg("--debug");
        }
        if self.config.strace {
            cmd.arg("--strace");
        }
        cmd
    }

    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        stdio: CommandStdio,
    ) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(pid_file);
        if let Some(socket) = console_socket {
            cmd.arg("--console-socket").arg(socket);
        }
        cmd.arg(id);
        self.run("create", cmd, stdio).map(drop)
    }

    pub fn start(&self, id: &str) -> Result<()> {
        let mut cmd = self.command();
        cmd.args(["start", id]);
        self.run("start", cmd, CommandStdio::default()).map(drop)
    }

    pub fn kill(&self, id: &str, signal: u32, all: bool) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("kill");
        if all {
            cmd.arg("--all");
        }
        cmd.arg(id).arg(signal.to_string());
        self.run("kill", cmd, CommandStdio::default()).map(drop)
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("delete");
        if force {
            cmd.arg("--force");
        }
        cmd.arg(id);
        self.run("delete", cmd, CommandStdio::default()).map(drop)
    }

    pub fn exec(&self, id: &str, opts: &ExecOptions<'_>, stdio: CommandStdio) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("exec")
            .arg("--process")
            .arg(opts.process_file)
            .arg("--detach")
            .arg("--pid-file")
            .arg(opts.pid_file);
        if let Some(socket) = opts.console_socket {
            cmd.arg("--console-socket").arg(socket);
        }
        cmd.arg(id);
        self.run("exec", cmd, stdio).map(drop)
    }

    /// `runsc pause` / `runsc resume`.
    pub fn pause(&self, id: &str, pause: bool) -> Result<()> {
        let verb = if pause { "pause" } else { "resume" };
        let mut cmd = self.command();
        cmd.args([verb, id]);
        self.run(verb, cmd, CommandStdio::default())
    }

    /// `runsc update --resources FILE` with the OCI `linux.resources` JSON in FILE.
    pub fn update(&self, id: &str, resources_file: &Path) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("update").arg("--resources").arg(resources_file).arg(id);
        self.run("update", cmd, CommandStdio::default())
    }

    /// The pids `runsc ps --format json` lists.
    pub fn ps(&self, id: &str) -> Result<Vec<u32>> {
        let mut cmd = self.command();
        cmd.args(["ps", "--format", "json", id]);
        let out = self.run_capturing("ps", cmd)?;
        Ok(serde_json::from_slice::<Option<Vec<u32>>>(&out)?.unwrap_or_default())
    }

    /// Runs `cmd` with `stdio`, capturing nothing; an error carries runsc's message.
    fn run(&self, what: &str, mut cmd: Command, stdio: CommandStdio) -> Result<()> {
        cmd.stdin(stdio_or_null(stdio.stdin))
            .stdout(stdio_or_null(stdio.stdout))
            .stderr(stdio_or_null(stdio.stderr));
        let offset = self.log_len();
        let (code, _) = spawn_and_wait(cmd, false)?;
        self.check(what, code, offset, &[])
    }

    /// Runs `cmd` and returns its stdout.
    fn run_capturing(&self, what: &str, mut cmd: Command) -> Result<Vec<u8>> {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let offset = self.log_len();
        let (code, out) = spawn_and_wait(cmd, true)?;
        self.check(what, code, offset, &out.stderr)?;
        Ok(out.stdout)
    }

    /// The log's length now: a command's own lines come after it.
    fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    fn check(&self, what: &str, code: i32, log_offset: u64, stderr: &[u8]) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        let message = last_error(&self.log, log_offset)
            .or_else(|| {
                let text = String::from_utf8_lossy(stderr).trim().to_string();
                (!text.is_empty()).then_some(text)
            })
            .unwrap_or_else(|| format!("exit status {code}"));
        Err(ShimError::Runsc {
            command: what.to_string(),
            message,
        })
    }
}

fn stdio_or_null(file: Option<File>) -> Stdio {
    file.map_or_else(Stdio::null, Stdio::from)
}

#[derive(Default)]
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Spawns `cmd` and waits for its exit status through the monitor.
fn spawn_and_wait(mut cmd: Command, capture: bool) -> Result<(i32, Captured)> {
    let subscription = monitor_subscribe(Topic::Pid)?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd.spawn().map_err(io_context(format!("running {program}")))?;
    let mut captured = Captured::default();
    if capture {
        let stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = stderr {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        });
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_end(&mut captured.stdout);
        }
        captured.stderr = reader.join().unwrap_or_default();
    }
    // Close our ends of the child's stdio before waiting.
    drop(cmd);
    let pid = child.id() as i32;
    drop(child);
    let code = wait_pid(pid, subscription);
    Ok((code, captured))
}

/// The `msg` of the last `"level":"error"` line of a JSON log, past `offset`.
fn last_error(log: &Path, offset: u64) -> Option<String> {
    let bytes = std::fs::read(log).ok()?;
    let tail = bytes.get(usize::try_from(offset).ok()?..)?;
    let text = String::from_utf8_lossy(tail);
    text.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        if value.get("level")?.as_str()? == "error" {
            Some(value.get("msg")?.as_str()?.to_string())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_line_wins() {
        let dir = std::env::temp_dir().join(format!("runsc-shim-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.json");
        std::fs::write(
            &log,
            "{\"level\":\"error\",\"msg\":\"first\"}\n{\"level\":\"info\",\"msg\":\"x\"}\nnot json\n{\"level\":\"error\",\"msg\":\"second\"}\n{\"level\":\"info\",\"msg\":\"y\"}\n",
        )
        .unwrap();
        assert_eq!(last_error(&log, 0).as_deref(), Some("second"));
        let len = std::fs::metadata(&log).unwrap().len();
        assert_eq!(last_error(&log, len), None);
        assert_eq!(last_error(&dir.join("none"), 0), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
