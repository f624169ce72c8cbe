//! Container state on disk (`<root>/<id>/state.json` and `exec.fifo`) and
//! the status logic built on it.
//!
//! Status: the sandbox process alive with the fifo present is `created`,
//! alive without it is `running`, gone (or a zombie, or a different
//! process that reused the pid) is `stopped`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, DirBuilder};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("invalid container id {0:?}: use letters, digits, '_', '+', '-' and '.'")]
    InvalidId(String),
    #[error("container {0:?} does not exist")]
    NotExist(String),
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// runc's rule: `[A-Za-z0-9_+\-.]+`, not `.` or `..`. It also keeps ids
/// from escaping the state root.
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidId(id.to_string()))
    }
}

/// The `--root` directory.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root { dir: dir.into() }
    }

    /// Makes `<root>/<id>`; fails with [`StateError::Exists`] if it is there.
    pub fn create(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_err("creating state root", &self.dir))?;
        let path = self.dir.join(id);
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => Ok(ContainerDir {
                id: id.to_string(),
                path,
            }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(StateError::Exists(id.to_string())),
            Err(e) => Err(io_err("creating state directory", &path)(e)),
        }
    }

    /// `<root>/<id>` if the directory exists.
    pub fn open(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        let path = self.dir.join(id);
        if path.is_dir() {
            Ok(ContainerDir {
                id: id.to_string(),
                path,
            })
        } else {
            Err(StateError::NotExist(id.to_string()))
        }
    }

    /// Ids of every state directory, sorted; none if the root is missing.
    pub fn ids(&self) -> Result<Vec<String>, StateError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("reading state root", &self.dir)(e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("reading state root", &self.dir))?;
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
                if validate_id(name).is_ok() {
                    ids.push(name.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// One container's state directory.
#[derive(Debug)]
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
}

impl ContainerDir {
    pub fn state_path(&self) -> PathBuf {
        self.path.join(STATE_FILE)
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// The unix socket on which the sandbox process answers queries.
    /// The sandbox's cgroup path (relative to each hierarchy), one line.
    pub fn cgroup_path(&self) -> PathBuf {
        self.path.join("cgroup")
    }

    pub fn control_path(&self) -> PathBuf {
        self.path.join("control.sock")
    }

    /// Writes state.json atomically (temporary file, then rename).
    pub fn save(&self, state: &ContainerState) -> Result<(), StateError> {
        let tmp = self.path.join(".state.json.tmp");
        let json = serde_json::to_vec(state).map_err(|source| StateError::Corrupt {
            path: tmp.clone(),
            source,
        })?;
        let mut file = fs::File::create(&tmp).map_err(io_err("writing", &tmp))?;
        file.write_all(&json).map_err(io_err("writing", &tmp))?;
        file.sync_all().map_err(io_err("writing", &tmp))?;
        let path = self.state_path();
        fs::rename(&tmp, &path).map_err(io_err("writing", &path))
    }

    /// Reads state.json; a directory without one (a create that never
    /// finished) counts as a container that does not exist.
    pub fn load(&self) -> Result<ContainerState, StateError> {
        let path = self.state_path();
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StateError::NotExist(self.id.clone())),
            Err(e) => return Err(io_err("reading", &path)(e)),
        };
        serde_json::from_slice(&data).map_err(|source| StateError::Corrupt { path, source })
    }

    pub fn fifo_exists(&self) -> bool {
        self.fifo_path().symlink_metadata().is_ok()
    }

    /// Current status of the container recorded in `state`: a running
    /// sandbox whose cgroup is frozen is `paused`.
    pub fn status(&self, state: &ContainerState) -> Status {
        match derive_status(proc_info(state.pid), state.start_time, self.fifo_exists()) {
            Status::Running if self.cgroup().is_some_and(|rel| crate::cgroup::is_frozen(&rel)) => Status::Paused,
            status => status,
        }
    }

    /// The sandbox's cgroup path (relative to each hierarchy), once boot
    /// has recorded it.
    pub fn cgroup(&self) -> Option<PathBuf> {
        let rel = fs::read_to_string(self.cgroup_path()).ok()?;
        Some(PathBuf::from(rel.trim()))
    }

    /// Removes the state directory, and the sandbox's cgroup recorded in it
    /// (its processes must be gone).
    pub fn remove(&self) -> Result<(), StateError> {
        if let Some(rel) = self.cgroup() {
            crate::cgroup::remove(&rel);
        }
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("removing state directory", &self.path)(e)),
        }
    }
}

/// What `create` records about a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// Host pid of the sandbox process (`runsc boot`).
    pub pid: i32,
    /// Its start time (field 22 of /proc/PID/stat), to detect pid reuse.
    pub start_time: u64,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl ContainerState {
    /// True while the recorded sandbox process is alive (not a zombie).
    pub fn is_alive(&self) -> bool {
        is_same_live_process(proc_info(self.pid), self.start_time)
    }

    /// The OCI `state` document.
    pub fn oci(&self, status: Status) -> OciState {
        OciState {
            oci_version: oci_spec::runtime::version(),
            id: self.id.clone(),
            status,
            // runc reports no pid once the container has stopped.
            pid: if status == Status::Stopped { 0 } else { self.pid },
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    /// Running, with every process of the sandbox frozen (`pause`).
    Paused,
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// The JSON `runsc state` prints.
#[derive(Debug, Clone, Serialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub annotations: BTreeMap<String, String>,
}

/// What /proc says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    pub start_time: u64,
    /// Exited but not yet reaped (state Z or X).
    pub dead: bool,
}

pub fn proc_info(pid: i32) -> Option<ProcInfo> {
    if pid <= 0 {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Parses /proc/PID/stat. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after the last ')'.
pub fn parse_stat(stat: &str) -> Option<ProcInfo> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?; // field 3
    let start_time = fields.nth(18)?.parse().ok()?; // field 22
    Some(ProcInfo {
        start_time,
        dead: matches!(state, "Z" | "X" | "x"),
    })
}

fn is_same_live_process(info: Option<ProcInfo>, recorded_start: u64) -> bool {
    matches!(info, Some(p) if !p.dead && p.start_time == recorded_start)
}

/// The status rule, apart from the file system and /proc.
pub fn derive_status(info: Option<ProcInfo>, recorded_start: u64, fifo_exists: bool) -> Status {
    match (is_same_live_process(info, recorded_start), fifo_exists) {
        (false, _) => Status::Stopped,
        (true, true) => Status::Created,
        (true, false) => Status::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIVE: Option<ProcInfo> = Some(ProcInfo {
        start_time: 1234,
        dead: false,
    });

    #[test]
    fn status_rules() {
        assert_eq!(derive_status(ALIVE, 1234, true), Status::Created);
        assert_eq!(derive_status(ALIVE, 1234, false), Status::Running);
        assert_eq!(derive_status(None, 1234, true), Status::Stopped);
        assert_eq!(derive_status(None, 1234, false), Status::Stopped);
        // The pid now belongs to some other process.
        assert_eq!(derive_status(ALIVE, 999, false), Status::Stopped);
        assert_eq!(derive_status(ALIVE, 999, true), Status::Stopped);
        let zombie = Some(ProcInfo {
            start_time: 1234,
            dead: true,
        });
        assert_eq!(derive_status(zombie, 1234, false), Status::Stopped);
    }

    #[test]
    fn stat_parsing() {
        let line = "4242 (we ird) name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345678 300 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcInfo {
                start_time: 987654,
                dead: false
            })
        );
        let zombie = "7 (sh) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(parse_stat(zombie).map(|p| (p.start_time, p.dead)), Some((55, true)));
        assert_eq!(parse_stat("7 (sh) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn real_processes() {
        let me = proc_info(std::process::id() as i32).unwrap();
        assert!(!me.dead);
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let info = proc_info(pid).unwrap();
        assert_eq!(derive_status(Some(info), info.start_time, true), Status::Created);
        child.kill().unwrap();
        // Give the kernel a moment to turn it into a zombie, then check.
        for _ in 0..100 {
            if proc_info(pid).is_some_and(|p| p.dead) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(derive_status(proc_info(pid), info.start_time, false), Status::Stopped);
        child.wait().unwrap();
        assert_eq!(proc_info(pid), None);
        assert_eq!(proc_info(0), None);
    }

    #[test]
    fn ids() {
        for ok in ["a", "id1", "abc_DEF-1.2+3", "0123456789abcdef"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\n", "é"] {
            let err = validate_id(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid container id"), "{bad}");
        }
    }

    fn sample(id: &str) -> ContainerState {
        ContainerState {
            id: id.into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            pid: 4242,
            start_time: 77,
            created: "2026-01-01T00:00:00.000000000Z".into(),
            annotations: [("k".to_string(), "v".to_string())].into(),
        }
    }

    #[test]
    fn directories_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path().join("state"));
        assert_eq!(root.ids().unwrap(), Vec::<String>::new());
        assert!(matches!(root.open("c1"), Err(StateError::NotExist(_))));

        let dir = root.create("c1").unwrap();
        assert!(matches!(root.create("c1"), Err(StateError::Exists(_))));
        assert_eq!(
            root.create("c1").unwrap_err().to_string(),
            "container \"c1\" already exists"
        );
        assert!(matches!(root.create("../c1"), Err(StateError::InvalidId(_))));
        // A directory without state.json does not count as a container yet.
        let err = dir.load().unwrap_err();
        assert_eq!(err.to_string(), "container \"c1\" does not exist");

        dir.save(&sample("c1")).unwrap();
        let opened = root.open("c1").unwrap();
        assert_eq!(opened.load().unwrap(), sample("c1"));
        root.create("c0").unwrap();
        assert_eq!(root.ids().unwrap(), ["c0", "c1"]);

        fs::write(opened.state_path(), b"{not json").unwrap();
        assert!(matches!(opened.load(), Err(StateError::Corrupt { .. })));

        opened.remove().unwrap();
        assert!(matches!(root.open("c1"), Err(StateError::NotExist(_))));
        opened.remove().unwrap();
    }

    #[test]
    fn oci_state_json() {
        let state = sample("c1");
        let v = serde_json::to_value(state.oci(Status::Running)).unwrap();
        assert_eq!(v["ociVersion"], oci_spec::runtime::version());
        assert_eq!(v["id"], "c1");
        assert_eq!(v["status"], "running");
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["bundle"], "/b");
        assert_eq!(v["annotations"]["k"], "v");
        assert_eq!(v["created"], "2026-01-01T00:00:00.000000000Z");
        let v = serde_json::to_value(state.oci(Status::Stopped)).unwrap();
        assert_eq!((v["status"].as_str(), v["pid"].as_i64()), (Some("stopped"), Some(0)));
    }

    #[test]
    fn status_from_a_directory_uses_the_fifo() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Root::new(tmp.path()).create("c").unwrap();
        let me = proc_info(std::process::id() as i32).unwrap();
        let mut state = sample("c");
        state.pid = std::process::id() as i32;
        state.start_time = me.start_time;
        assert_eq!(dir.status(&state), Status::Running);
        fs::write(dir.fifo_path(), b"").unwrap();
        assert_eq!(dir.status(&state), Status::Created);
        state.start_time += 1;
        assert_eq!(dir.status(&state), Status::Stopped);
        assert!(!state.is_alive());
    }
}
