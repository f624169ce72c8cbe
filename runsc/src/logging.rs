//! Log set-up: `--log` (runc-style JSON lines or text), `--debug-log`, and
//! stderr for `--debug` and `--strace` when they have nowhere else to go.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::cli::{GlobalOpts, LogFormat};
use crate::rfc3339;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("opening log file {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("installing the logger: {0}")]
    Init(String),
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber. `stderr_ok` is false for `boot`, whose
/// stderr belongs to the container.
pub fn init(global: &GlobalOpts, command: &str, stderr_ok: bool) -> Result<(), LogError> {
    let level = if global.debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let mut layers: Vec<BoxedLayer> = Vec::new();

    if let Some(path) = &global.log {
        let file = open_append(path)?;
        let layer: BoxedLayer = match global.log_format {
            LogFormat::Json => Box::new(JsonLayer::new(file).with_filter(level)),
            LogFormat::Text => Box::new(text_layer(file, command).with_filter(level)),
        };
        layers.push(layer);
    }
    if let Some(path) = &global.debug_log {
        let file = open_append(&debug_log_path(path, command)?)?;
        layers.push(Box::new(text_layer(file, command).with_filter(LevelFilter::DEBUG)));
    }
    // With no log file, --debug (everything) and --strace (just the
    // syscall lines) go to stderr.
    if layers.is_empty() && stderr_ok && (global.debug || global.strace) {
        let filter = if global.debug {
            Targets::new().with_default(LevelFilter::DEBUG)
        } else {
            Targets::new().with_target("strace", LevelFilter::INFO)
        };
        layers.push(Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false)
                .with_filter(filter),
        ));
    }
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(|e| LogError::Init(e.to_string()))
}

/// Writes a command-line error to the `--log` file named in `argv` (the
/// logger is not installed when the command line does not parse), so that
/// containerd's shim, which shows the last JSON error line, can report it.
pub fn log_usage_error(argv: &[String], message: &str) {
    let Some((path, format)) = log_target(argv) else { return };
    let line = match format {
        LogFormat::Json => json_line(Level::ERROR, message, BTreeMap::new(), &rfc3339::now(true)),
        LogFormat::Text => format!("[{}] ERROR {message}\n", std::process::id()),
    };
    if let Ok(mut file) = open_append(&path) {
        let _ = file.write_all(line.as_bytes());
    }
}

/// `--log FILE` / `--log=FILE` and `--log-format` from a raw command line.
fn log_target(argv: &[String]) -> Option<(PathBuf, LogFormat)> {
    let mut path = None;
    let mut format = LogFormat::Text;
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next().cloned());
        match flag {
            "--log" => path = value().map(PathBuf::from),
            "--log-format" if value().as_deref() == Some("json") => format = LogFormat::Json,
            _ => {}
        }
    }
    path.map(|p| (p, format))
}

fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// A directory (an existing one, or any path ending in `/`, which is
/// created) gets one file per process: `runsc.<command>.<pid>.log`.
fn debug_log_path(path: &Path, command: &str) -> Result<PathBuf, LogError> {
    if path.as_os_str().to_string_lossy().ends_with('/') {
        std::fs::create_dir_all(path).map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    }
    if path.is_dir() {
        Ok(path.join(format!("runsc.{command}.{}.log", std::process::id())))
    } else {
        Ok(path.to_path_buf())
    }
}

fn text_layer<S>(file: File, command: &str) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let prefix = format!("[{}:{command}]", std::process::id());
    tracing_subscriber::fmt::layer()
        .with_writer(Mutex::new(PrefixedWriter { file, prefix }))
        .with_ansi(false)
        .with_target(false)
}

/// Puts `[pid:command]` at the start of each text log line, so the lines
/// of create, boot and start can be told apart in one file.
struct PrefixedWriter {
    file: File,
    prefix: String,
}

impl Write for PrefixedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut line = Vec::with_capacity(self.prefix.len() + 1 + buf.len());
        line.extend_from_slice(self.prefix.as_bytes());
        line.push(b' ');
        line.extend_from_slice(buf);
        self.file.write_all(&line)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes `{"level":"error","msg":"...","time":"..."}` lines, the keys
/// runc (logrus) writes and containerd reads.
struct JsonLayer {
    file: Mutex<File>,
}

impl JsonLayer {
    fn new(file: File) -> Self {
        JsonLayer { file: Mutex::new(file) }
    }
}

impl<S: Subscriber> Layer<S> for JsonLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        let line = json_line(
            *event.metadata().level(),
            &fields.message,
            fields.extra,
            &rfc3339::now(true),
        );
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // A log line that cannot be written has nowhere else to go.
        let _ = file.write_all(line.as_bytes());
    }
}

/// logrus' level names.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn json_line(level: Level, msg: &str, extra: BTreeMap<String, serde_json::Value>, time: &str) -> String {
    let mut obj = serde_json::Map::new();
    for (key, value) in extra {
        obj.insert(key, value);
    }
    obj.insert("level".into(), level_name(level).into());
    obj.insert("msg".into(), msg.into());
    obj.insert("time".into(), time.into());
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

#[derive(Default)]
struct FieldCollector {
    message: String,
    extra: BTreeMap<String, serde_json::Value>,
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.extra.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::subscriber::with_default;

    #[test]
    fn json_line_has_runc_keys() {
        let line = json_line(
            Level::ERROR,
            "container \"x\" does not exist",
            BTreeMap::new(),
            "2026-01-01T00:00:00Z",
        );
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert_eq!(v["time"], "2026-01-01T00:00:00Z");
        assert_eq!(level_name(Level::WARN), "warning");
    }

    #[test]
    fn json_layer_writes_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let layer = JsonLayer::new(open_append(&path).unwrap());
        let subscriber = tracing_subscriber::registry().with(layer.with_filter(LevelFilter::INFO));
        with_default(subscriber, || {
            tracing::debug!("filtered out");
            tracing::info!(pid = 42, "started");
            tracing::error!("boom: {}", "cause");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "info");
        assert_eq!(lines[0]["msg"], "started");
        assert_eq!(lines[0]["pid"], 42);
        assert_eq!(lines[1]["level"], "error");
        assert_eq!(lines[1]["msg"], "boom: cause");
        let time = lines[1]["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    }

    #[test]
    fn debug_log_directory_gets_a_file_per_process() {
        let dir = tempfile::tempdir().unwrap();
        let p = debug_log_path(dir.path(), "create").unwrap();
        assert_eq!(p.parent(), Some(dir.path()));
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("runsc.create.") && name.ends_with(".log"));
        let file = dir.path().join("x.log");
        assert_eq!(debug_log_path(&file, "create").unwrap(), file);
        let new_dir = format!("{}/sub/", dir.path().display());
        let p = debug_log_path(Path::new(&new_dir), "boot").unwrap();
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(p.parent(), Some(dir.path().join("sub").as_path()));
    }

    #[test]
    fn usage_errors_reach_the_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let argv: Vec<String> = [
            "--root",
            "/r",
            "--log",
            path.to_str().unwrap(),
            "--log-format=json",
            "frob",
            "x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        log_usage_error(&argv, "unrecognized subcommand 'frob'");
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            (v["level"].as_str(), v["msg"].as_str()),
            (Some("error"), Some("unrecognized subcommand 'frob'"))
        );
        assert_eq!(log_target(&["--log".to_string()]), None);
        assert_eq!(log_target(&["list".to_string()]), None);
    }

    #[test]
    fn unopenable_log_is_a_clear_error() {
        let err = open_append(Path::new("/nonexistent/dir/log.json")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("opening log file /nonexistent/dir/log.json"));
    }
}
