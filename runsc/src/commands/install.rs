//! `runsc install`: register runsc with Docker or containerd.
//!
//! - Docker (default): sets `runtimes.<NAME> = {"path": <this runsc>,
//!   "runtimeArgs": [...]}` in daemon.json (default
//!   `/etc/docker/daemon.json`), keeping every other key; running it twice
//!   changes nothing. dockerd reads it on start or SIGHUP.
//! - containerd (`--containerd`): the CRI runtime entries for config.toml
//!   (version 2): `<NAME>` is containerd's runc v2 shim running this binary
//!   (`BinaryName`), `<NAME>-shim` is runsc's own shim
//!   (`io.containerd.runsc.v1`, binary `containerd-shim-runsc-v1` on
//!   containerd's PATH). Printed, or appended to `--config-file` unless it
//!   already has them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::{GlobalOpts, InstallArgs};

const DOCKER_CONFIG: &str = "/etc/docker/daemon.json";
const CRI_RUNTIMES: &str = "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";

pub fn main(_global: &GlobalOpts, args: &InstallArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe().context("finding the runsc binary")?;
    let message = if args.containerd {
        containerd(args, &exe)?
    } else {
        docker(args, &exe)?
    };
    if !message.is_empty() {
        print!("{message}");
    }
    Ok(0)
}

/// Edits (or with --dry-run prints) daemon.json; returns what to print.
fn docker(args: &InstallArgs, exe: &Path) -> anyhow::Result<String> {
    let path = args.config_file.clone().unwrap_or_else(|| PathBuf::from(DOCKER_CONFIG));
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let Some(new) = docker_config(old.as_deref(), &args.runtime, exe, &args.runtime_args)
        .with_context(|| format!("updating {}", path.display()))?
    else {
        return Ok(format!(
            "{}: runtime {:?} is already installed\n",
            path.display(),
            args.runtime
        ));
    };
    if args.dry_run {
        return Ok(new);
    }
    write_atomically(&path, &new)?;
    Ok(format!(
        "{}: runtime {:?} -> {} (reload dockerd: SIGHUP or restart)\n",
        path.display(),
        args.runtime,
        exe.display()
    ))
}

/// daemon.json with our runtime entry, or `None` when it is there already.
fn docker_config(old: Option<&str>, name: &str, exe: &Path, runtime_args: &[String]) -> anyhow::Result<Option<String>> {
    let mut config: serde_json::Value = match old {
        Some(text) if !text.trim().is_empty() => serde_json::from_str(text).context("parsing the JSON")?,
        _ => serde_json::json!({}),
    };
    let Some(top) = config.as_object_mut() else {
        bail!("the file does not hold a JSON object");
    };
    let runtimes = top.entry("runtimes").or_insert_with(|| serde_json::json!({}));
    let Some(runtimes) = runtimes.as_object_mut() else {
        bail!("\"runtimes\" is not a JSON object");
    };
    let mut entry = serde_json::json!({ "path": exe });
    if !runtime_args.is_empty() {
        entry["runtimeArgs"] = runtime_args.into();
    }
    if runtimes.get(name) == Some(&entry) {
        return Ok(None);
    }
    runtimes.insert(name.to_string(), entry);
    let mut text = serde_json::to_string_pretty(&config)?;
    text.push('\n');
    Ok(Some(text))
}

/// Prints the snippet, or appends it to --config-file.
fn containerd(args: &InstallArgs, exe: &Path) -> anyhow::Result<String> {
    let snippet = containerd_snippet(&args.runtime, exe, &args.runtime_args);
    let Some(path) = &args.config_file else {
        return Ok(snippet);
    };
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let Some(new) =
        containerd_config(&old, &args.runtime, &snippet).with_context(|| format!("updating {}", path.display()))?
    else {
        return Ok(format!(
            "{}: runtime {:?} is already installed\n",
            path.display(),
            args.runtime
        ));
    };
    if args.dry_run {
        return Ok(snippet);
    }
    write_atomically(path, &new)?;
    Ok(format!(
        "{}: added runtimes {:?} and \"{}-shim\" (restart containerd)\n",
        path.display(),
        args.runtime,
        args.runtime
    ))
}

/// The TOML tables for runtime `name` (config version 2).
fn containerd_snippet(name: &str, exe: &Path, runtime_args: &[String]) -> String {
    // A JSON string is a valid TOML basic string.
    let binary = serde_json::Value::from(exe.to_string_lossy()).to_string();
    let mut text = format!(
        "\n# runsc behind containerd's runc v2 shim (runsc install --containerd)\n\
         [{CRI_RUNTIMES}.{name}]\n  runtime_type = \"io.containerd.runc.v2\"\n\
         [{CRI_RUNTIMES}.{name}.options]\n  BinaryName = {binary}\n"
    );
    if !runtime_args.is_empty() {
        text.push_str(&format!(
            "  # The runc shim passes no extra flags; for {runtime_args:?} point BinaryName at a wrapper script.\n"
        ));
    }
    text.push_str(&format!(
        "# runsc's own shim: containerd-shim-runsc-v1 on containerd's PATH\n\
         [{CRI_RUNTIMES}.{name}-shim]\n  runtime_type = \"io.containerd.runsc.v1\"\n"
    ));
    text
}

/// `old` with the snippet appended, or `None` when it has our runtime. The
/// snippet's table names are those of config version 2; a new file gets
/// `version = 2`, an older config is refused.
fn containerd_config(old: &str, name: &str, snippet: &str) -> anyhow::Result<Option<String>> {
    let header = format!("[{CRI_RUNTIMES}.{name}]");
    if old.lines().any(|l| l.trim() == header) {
        return Ok(None);
    }
    let is_v2 = old.lines().any(|l| l.replace(' ', "") == "version=2");
    if old.trim().is_empty() {
        return Ok(Some(format!("version = 2\n{snippet}")));
    }
    if !is_v2 {
        bail!("not a version 2 configuration (migrate it with `containerd config migrate`)");
    }
    let mut new = old.to_string();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(snippet);
    Ok(Some(new))
}

/// Replaces `path` by a file with `text` (same directory, then rename),
/// keeping the old file's permissions.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing into {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).context("writing the new configuration")?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).context("copying the permissions")?;
    }
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = "/opt/bin/runsc";

    fn args(config: &Path, containerd: bool, dry_run: bool) -> InstallArgs {
        InstallArgs {
            runtime: "runsc".into(),
            config_file: Some(config.to_path_buf()),
            containerd,
            dry_run,
            runtime_args: Vec::new(),
        }
    }

    #[test]
    fn docker_entry_keeps_other_keys_and_is_idempotent() {
        let old = r#"{"data-root": "/x", "runtimes": {"other": {"path": "/bin/other"}}}"#;
        let new = docker_config(Some(old), "runsc", Path::new(EXE), &[]).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&new).unwrap();
        assert_eq!(v["data-root"], "/x");
        assert_eq!(v["runtimes"]["other"]["path"], "/bin/other");
        assert_eq!(v["runtimes"]["runsc"], serde_json::json!({"path": EXE}));
        assert_eq!(docker_config(Some(&new), "runsc", Path::new(EXE), &[]).unwrap(), None);
        // New arguments are a change.
        let flags = ["--platform".to_string(), "systrap".to_string()];
        let again = docker_config(Some(&new), "runsc", Path::new(EXE), &flags)
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(v["runtimes"]["runsc"]["runtimeArgs"], serde_json::json!(flags));
    }

    #[test]
    fn docker_config_from_nothing_and_bad_files() {
        for old in [None, Some(""), Some("  \n")] {
            let new = docker_config(old, "gv", Path::new(EXE), &[]).unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_str(&new).unwrap();
            assert_eq!(v, serde_json::json!({"runtimes": {"gv": {"path": EXE}}}));
        }
        for (bad, why) in [
            ("[1]", "JSON object"),
            ("{\"runtimes\": 3}", "\"runtimes\""),
            ("{", "parsing"),
        ] {
            let err = docker_config(Some(bad), "gv", Path::new(EXE), &[]).unwrap_err();
            assert!(format!("{err:#}").contains(why), "{bad}: {err:#}");
        }
    }

    #[test]
    fn docker_file_is_written_once_and_dry_run_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("docker").join("daemon.json");
        let out = docker(&args(&path, false, true), Path::new(EXE)).unwrap();
        assert!(out.contains(EXE) && !path.exists());
        let out = docker(&args(&path, false, false), Path::new(EXE)).unwrap();
        assert!(out.contains("reload dockerd"), "{out}");
        let first = std::fs::read_to_string(&path).unwrap();
        let out = docker(&args(&path, false, false), Path::new(EXE)).unwrap();
        assert!(out.contains("already installed"), "{out}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    }

    #[test]
    fn containerd_snippet_is_appended_once() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.toml");
        std::fs::write(&path, "version = 2\nroot = \"/var/lib/containerd\"").unwrap();
        let out = containerd(&args(&path, true, true), Path::new(EXE)).unwrap();
        assert!(out.contains("BinaryName = \"/opt/bin/runsc\""), "{out}");
        assert!(!std::fs::read_to_string(&path).unwrap().contains("runsc"));
        containerd(&args(&path, true, false), Path::new(EXE)).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(
            first.starts_with("version = 2\nroot = \"/var/lib/containerd\"\n"),
            "{first}"
        );
        assert!(first.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc]\n  runtime_type = \"io.containerd.runc.v2\""));
        assert!(first.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runsc-shim]\n  runtime_type = \"io.containerd.runsc.v1\""));
        let out = containerd(&args(&path, true, false), Path::new(EXE)).unwrap();
        assert!(out.contains("already installed"), "{out}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    }

    #[test]
    fn containerd_config_versions() {
        let new = containerd_config("", "runsc", "[x]\n").unwrap().unwrap();
        assert_eq!(new, "version = 2\n[x]\n");
        let err = containerd_config("root = \"/r\"\n", "runsc", "[x]\n").unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let new = containerd_config("version=2", "runsc", "[x]\n").unwrap().unwrap();
        assert_eq!(new, "version=2\n[x]\n");
    }

    #[test]
    fn containerd_without_a_file_prints() {
        let mut a = args(Path::new("/unused"), true, false);
        a.config_file = None;
        a.runtime_args = vec!["--debug".into()];
        let out = containerd(&a, Path::new("/p/with \"quote\"/runsc")).unwrap();
        assert!(out.contains(r#"BinaryName = "/p/with \"quote\"/runsc""#), "{out}");
        assert!(out.contains("wrapper script"), "{out}");
    }
}
