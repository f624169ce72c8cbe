//! `runsc spec`: write a starting-point config.json, as `runc spec` does.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use oci_spec::runtime::Spec;
use serde::Serialize;

use crate::cli::{GlobalOpts, SpecArgs};
use crate::spec::CONFIG_FILE;

pub fn main(_global: &GlobalOpts, args: &SpecArgs) -> anyhow::Result<i32> {
    let dir = args.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    write_default(&dir)?;
    Ok(0)
}

/// The default spec: oci-spec's defaults (runc's namespaces, mounts,
/// masked and read-only paths, read-only `rootfs`, `sh` as root) with a
/// terminal and our hostname.
pub fn default_spec() -> Spec {
    let mut spec = Spec::default();
    spec.set_hostname(Some("runsc".to_string()));
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(true));
    }
    spec
}

/// Writes `<dir>/config.json`, refusing to replace an existing one.
pub fn write_default(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(CONFIG_FILE);
    let mut json = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut json, formatter);
    default_spec()
        .serialize(&mut ser)
        .context("encoding the default spec")?;
    json.push(b'\n');
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            bail!("{} exists; remove it first", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(&json)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_loadable_spec_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_default(dir.path()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n\t\"ociVersion\""), "{text}");
        let spec: Spec = serde_json::from_str(&text).unwrap();
        assert_eq!(spec, default_spec());
        assert_eq!(spec.hostname().as_deref(), Some("runsc"));
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.terminal(), Some(true));
        assert_eq!(process.args().as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("rootfs"));

        // With a rootfs next to it, the bundle passes our own validation.
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        crate::spec::load(dir.path()).unwrap();

        let err = write_default(dir.path()).unwrap_err();
        assert!(
            err.to_string().ends_with("config.json exists; remove it first"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn missing_directory() {
        let err = write_default(Path::new("/nonexistent/bundle")).unwrap_err();
        assert!(format!("{err:#}").starts_with("creating /nonexistent/bundle/config.json"));
    }
}
