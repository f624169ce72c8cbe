//! Which runsc the shim runs and with which global flags.
//!
//! Sources, first match wins for each key:
//! 1. the runtime options containerd sends with Create:
//!    - `runtimeoptions.v1.Options` (CRI `options = { ConfigPath = ... }` for a
//!      non-runc runtime_type, or `ctr run --runtime-config-path`): its
//!      ConfigPath names a TOML file with the keys of [`FileConfig`];
//!    - `containerd.runc.v1.Options` (`BinaryName`, `Root`);
//! 2. the TOML file named by `$RUNSC_SHIM_CONFIG` (containerd's environment
//!    reaches the shim);
//! 3. defaults: `runsc` next to the shim binary, else on PATH; the state
//!    root `/run/containerd/runsc/<namespace>`.
//!
//! The resolved settings are saved in the bundle (`runsc-shim.json`) so that
//! `containerd-shim-runsc-v1 delete`, which gets no options, uses the same.

use std::path::{Path, PathBuf};

use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::{CodedInputStream, Message};
use containerd_shim::protos::shim::oci::Options as RuncOptions;
use serde::{Deserialize, Serialize};

use crate::error::{io_context, Result, ShimError};

/// The environment variable naming a TOML config file.
pub const CONFIG_ENV: &str = "RUNSC_SHIM_CONFIG";
/// Where the resolved settings are kept in the bundle.
pub const SAVED_FILE: &str = "runsc-shim.json";

/// The keys of the TOML file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The runsc binary.
    pub binary: Option<PathBuf>,
    /// runsc's `--root` (container state).
    pub root: Option<PathBuf>,
    /// runsc's `--platform`.
    pub platform: Option<String>,
    /// runsc's `--debug-log` (a file, or a directory for one file per command).
    pub debug_log: Option<PathBuf>,
    /// runsc's `--debug`.
    #[serde(default)]
    pub debug: bool,
    /// runsc's `--strace`.
    #[serde(default)]
    pub strace: bool,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = std::fs::read_to_string(path).map_err(io_context(format!("reading {}", path.display())))?;
        toml::from_str(&text).map_err(|e| ShimError::InvalidArgument(format!("{}: {e}", path.display())))
    }

    /// Keys set in `self` win over those of `other`.
    fn or(self, other: FileConfig) -> FileConfig {
        FileConfig {
            binary: self.binary.or(other.binary),
            root: self.root.or(other.root),
            platform: self.platform.or(other.platform),
            debug_log: self.debug_log.or(other.debug_log),
            debug: self.debug || other.debug,
            strace: self.strace || other.strace,
        }
    }
}

/// The settings in force for one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunscConfig {
    pub binary: PathBuf,
    pub root: PathBuf,
    pub platform: Option<String>,
    pub debug_log: Option<PathBuf>,
    pub debug: bool,
    pub strace: bool,
}

impl RunscConfig {
    /// Resolves the settings from Create's options, the environment and defaults.
    pub fn resolve(options: Option<&Any>, namespace: &str) -> Result<RunscConfig> {
        let from_options = match options {
            Some(any) => from_options(any)?,
            None => FileConfig::default(),
        };
        let from_env = match std::env::var_os(CONFIG_ENV) {
            Some(path) if !path.is_empty() => FileConfig::load(Path::new(&path))?,
            _ => FileConfig::default(),
        };
        let merged = from_options.or(from_env);
        let binary = match merged.binary {
            Some(b) => b,
            None => default_binary()?,
        };
        Ok(RunscConfig {
            binary,
            root: merged
                .root
                .unwrap_or_else(|| Path::new("/run/containerd/runsc").join(namespace)),
            platform: merged.platform,
            debug_log: merged.debug_log,
            debug: merged.debug,
            strace: merged.strace,
        })
    }

    pub fn save(&self, bundle: &Path) -> Result<()> {
        let path = bundle.join(SAVED_FILE);
        std::fs::write(&path, serde_json::to_vec(self)?).map_err(io_context(format!("writing {}", path.display())))
    }

    pub fn load_saved(bundle: &Path) -> Result<RunscConfig> {
        let path = bundle.join(SAVED_FILE);
        let bytes = std::fs::read(&path).map_err(io_context(format!("reading {}", path.display())))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// `runsc` next to this binary, else the first on PATH.
fn default_binary() -> Result<PathBuf> {
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        let beside = dir.join("runsc");
        if beside.is_file() {
            return Ok(beside);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("runsc"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ShimError::FailedPrecondition(format!(
                "no runsc binary: not next to the shim, not on PATH, and no `binary` in the config (${CONFIG_ENV} or ConfigPath)"
            ))
        })
}

fn from_options(any: &Any) -> Result<FileConfig> {
    let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
    match type_name {
        "runtimeoptions.v1.Options" => {
            let config_path = runtimeoptions_config_path(&any.value)?;
            if config_path.is_empty() {
                Ok(FileConfig::default())
            } else {
                FileConfig::load(Path::new(&config_path))
            }
        }
        "containerd.runc.v1.Options" => {
            let runc = RuncOptions::parse_from_bytes(&any.value)?;
            Ok(FileConfig {
                binary: non_empty(runc.binary_name),
                root: non_empty(runc.root),
                ..FileConfig::default()
            })
        }
        other => Err(ShimError::InvalidArgument(format!(
            "unsupported runtime options type {other:?}"
        ))),
    }
}

fn non_empty(s: String) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// The `config_path` (field 2) of containerd's `runtimeoptions.v1.Options`
/// message (`type_url` = 1, `config_path` = 2, both strings), which the
/// protos crate does not generate.
fn runtimeoptions_config_path(bytes: &[u8]) -> Result<String> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let mut config_path = String::new();
    while let Some(tag) = input.read_raw_tag_or_eof()? {
        let (field, wire_type) = (tag >> 3, tag & 7);
        match (field, wire_type) {
            (2, 2) => config_path = input.read_string()?,
            (_, 2) => {
                input.read_bytes()?;
            }
            (_, 0) => {
                input.read_raw_varint64()?;
            }
            _ => {
                return Err(ShimError::InvalidArgument(format!(
                    "runtimeoptions.v1.Options: unexpected wire type {wire_type}"
                )))
            }
        }
    }
    Ok(config_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtimeoptions(type_url: &str, config_path: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (field, value) in [(1u8, type_url), (2, config_path)] {
            out.push((field << 3) | 2);
            out.push(value.len() as u8);
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    #[test]
    fn config_path_is_read_from_runtimeoptions() {
        let bytes = runtimeoptions("io.containerd.runsc.v1.options", "/etc/runsc.toml");
        assert_eq!(runtimeoptions_config_path(&bytes).unwrap(), "/etc/runsc.toml");
        assert_eq!(runtimeoptions_config_path(&[]).unwrap(), "");
    }

    #[test]
    fn options_file_and_runc_options() {
        let dir = std::env::temp_dir().join(format!("runsc-shim-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("runsc.toml");
        std::fs::write(
            &toml_path,
            "binary = \"/x/runsc\"\nroot = \"/r\"\nplatform = \"systrap\"\ndebug = true\n",
        )
        .unwrap();
        let any = Any {
            type_url: "runtimeoptions.v1.Options".into(),
            value: runtimeoptions("", toml_path.to_str().unwrap()),
            ..Default::default()
        };
        let cfg = RunscConfig::resolve(Some(&any), "k8s.io").unwrap();
        assert_eq!(cfg.binary, Path::new("/x/runsc"));
        assert_eq!(cfg.root, Path::new("/r"));
        assert_eq!(cfg.platform.as_deref(), Some("systrap"));
        assert!(cfg.debug);
        cfg.save(&dir).unwrap();
        assert_eq!(RunscConfig::load_saved(&dir).unwrap(), cfg);

        let runc = RuncOptions {
            binary_name: "/y/runsc".into(),
            ..Default::default()
        };
        let any = Any {
            type_url: "containerd.runc.v1.Options".into(),
            value: runc.write_to_bytes().unwrap(),
            ..Default::default()
        };
        let cfg = RunscConfig::resolve(Some(&any), "ns1").unwrap();
        assert_eq!(cfg.binary, Path::new("/y/runsc"));
        assert_eq!(cfg.root, Path::new("/run/containerd/runsc/ns1"));

        std::fs::write(&toml_path, "bogus = 1\n").unwrap();
        let any = Any {
            type_url: "runtimeoptions.v1.Options".into(),
            value: runtimeoptions("", toml_path.to_str().unwrap()),
            ..Default::default()
        };
        assert!(RunscConfig::resolve(Some(&any), "x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
