//! The spec's `linux.resources` as cgroups around the whole sandbox: the
//! Sentry, its stubs (every guest process) and the gofer.
//!
//! `runsc boot` creates the cgroup and joins it before it starts anything
//! else, so every process of the sandbox is born inside; `runsc delete`
//! removes it. Both hierarchies are handled: cgroup v1 (one directory per
//! controller under /sys/fs/cgroup/<controller>) and cgroup v2 (one
//! directory under the unified mount, with the controllers enabled in the
//! parents' cgroup.subtree_control). This machine is a hybrid: memory, cpu
//! and pids are v1 controllers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

const ROOT: &str = "/sys/fs/cgroup";

/// What the spec asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes (memory.limit_in_bytes / memory.max).
    pub memory: Option<i64>,
    /// CFS bandwidth: `quota` µs of CPU per `period` µs.
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    /// Relative weight (cpu.shares in v1; turned into cpu.weight in v2).
    pub cpu_shares: Option<u64>,
    /// Tasks (host threads and processes) in the sandbox.
    pub pids: Option<i64>,
}

impl Limits {
    pub fn from_spec(spec: &oci_spec::runtime::Spec) -> Limits {
        let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
            return Limits::default();
        };
        let memory = r.memory().as_ref().and_then(|m| m.limit()).filter(|&l| l > 0);
        let cpu = r.cpu().as_ref();
        Limits {
            memory,
            cpu_quota: cpu.and_then(|c| c.quota()).filter(|&q| q > 0),
            cpu_period: cpu.and_then(|c| c.period()).filter(|&p| p > 0),
            cpu_shares: cpu.and_then(|c| c.shares()).filter(|&s| s > 0),
            pids: r.pids().as_ref().map(|p| p.limit()).filter(|&l| l > 0),
        }
    }
}

/// The cgroup path relative to each hierarchy: the spec's cgroupsPath when
/// it is a plain path, else `/runsc/<id>` (also for systemd's
/// "slice:prefix:name" form, which needs systemd to create).
pub fn relative_path(spec: &oci_spec::runtime::Spec, id: &str) -> PathBuf {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    match given {
        Some(p) if !p.as_os_str().is_empty() && !p.to_string_lossy().contains(':') => {
            let rel: PathBuf = p
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect();
            PathBuf::from("/").join(rel)
        }
        _ => PathBuf::from("/runsc").join(id),
    }
}

/// One controller's directory for the sandbox and the files it writes.
struct Dir {
    path: PathBuf,
    writes: Vec<(&'static str, String)>,
}

/// The directories to create, with their limit files, for `limits`.
fn plan(rel: &Path, limits: &Limits) -> Vec<Dir> {
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    if is_v1(Path::new(ROOT).join("memory")) {
        let mut dirs = Vec::new();
        let mut v1 = |ctrl: &str, writes: Vec<(&'static str, String)>| {
            if is_v1(Path::new(ROOT).join(ctrl)) {
                dirs.push(Dir {
                    path: Path::new(ROOT).join(ctrl).join(rel),
                    writes,
                });
            }
        };
        let mut memory = Vec::new();
        if let Some(m) = limits.memory {
            memory.push(("memory.limit_in_bytes", m.to_string()));
        }
        v1("memory", memory);
        let mut cpu = Vec::new();
        if let Some(p) = limits.cpu_period {
            cpu.push(("cpu.cfs_period_us", p.to_string()));
        }
        if let Some(q) = limits.cpu_quota {
            cpu.push(("cpu.cfs_quota_us", q.to_string()));
        }
        if let Some(s) = limits.cpu_shares {
            cpu.push(("cpu.shares", s.to_string()));
        }
        v1("cpu", cpu);
        let mut pids = Vec::new();
        if let Some(p) = limits.pids {
            pids.push(("pids.max", p.to_string()));
        }
        v1("pids", pids);
        return dirs;
    }
    let mut writes = Vec::new();
    if let Some(m) = limits.memory {
        writes.push(("memory.max", m.to_string()));
    }
    if limits.cpu_quota.is_some() || limits.cpu_period.is_some() {
        let quota = limits.cpu_quota.map_or("max".to_string(), |q| q.to_string());
        writes.push(("cpu.max", format!("{quota} {}", limits.cpu_period.unwrap_or(100_000))));
    }
    if let Some(s) = limits.cpu_shares {
        // The conversion runc and the kernel documentation use.
        let weight = 1 + ((s.clamp(2, 262_144) - 2) * 9999) / 262_142;
        writes.push(("cpu.weight", weight.to_string()));
    }
    if let Some(p) = limits.pids {
        writes.push(("pids.max", p.to_string()));
    }
    vec![Dir {
        path: Path::new(ROOT).join(rel),
        writes,
    }]
}

fn is_v1(dir: PathBuf) -> bool {
    dir.join("cgroup.procs").exists() && !dir.join("cgroup.controllers").exists()
}

/// Creates the sandbox's cgroup (every controller), writes the limits and
/// moves the calling process into it.
pub fn create_and_join(rel: &Path, limits: &Limits) -> anyhow::Result<()> {
    for dir in plan(rel, limits) {
        fs::create_dir_all(&dir.path).with_context(|| format!("creating {}", dir.path.display()))?;
        if !is_v1(dir.path.clone()) {
            enable_v2_controllers(&dir.path, &dir.writes)?;
        }
        for (file, value) in &dir.writes {
            write(&dir.path.join(file), value)?;
        }
        // "0" is the writing process (cgroups(7)).
        write(&dir.path.join("cgroup.procs"), "0")?;
    }
    Ok(())
}

/// In v2 a controller's files exist only once every ancestor enables it
/// for its children.
fn enable_v2_controllers(dir: &Path, writes: &[(&'static str, String)]) -> anyhow::Result<()> {
    let mut wanted: Vec<&str> = writes.iter().filter_map(|(f, _)| f.split('.').next()).collect();
    wanted.dedup();
    let mut ancestors: Vec<&Path> = dir.ancestors().skip(1).take_while(|a| a.starts_with(ROOT)).collect();
    ancestors.reverse();
    for parent in ancestors {
        for ctrl in &wanted {
            let _ = write(&parent.join("cgroup.subtree_control"), &format!("+{ctrl}"));
        }
    }
    Ok(())
}

fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(value.as_bytes())
        .with_context(|| format!("writing {value:?} to {}", path.display()))
}

/// Removes the sandbox's cgroup directories (after its processes are gone).
pub fn remove(rel: &Path) {
    for dir in plan(rel, &Limits::default()) {
        // A dying process may still be counted for a moment.
        for _ in 0..50 {
            match fs::remove_dir(&dir.path) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => break,
            }
        }
    }
}

/// The memory limit the guest should see (MemTotal of /proc/meminfo).
pub fn memory_limit(limits: &Limits) -> Option<u64> {
    limits.memory.and_then(|m| u64::try_from(m).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_and_spec_path() {
        let mut spec = oci_spec::runtime::Spec::default();
        assert_eq!(relative_path(&spec, "abc"), Path::new("/runsc/abc"));
        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_cgroups_path(Some("/kubepods/pod1/c1".into()));
        spec.set_linux(Some(linux.clone()));
        assert_eq!(relative_path(&spec, "abc"), Path::new("/kubepods/pod1/c1"));
        linux.set_cgroups_path(Some("system.slice:docker:abc".into()));
        spec.set_linux(Some(linux.clone()));
        assert_eq!(relative_path(&spec, "abc"), Path::new("/runsc/abc"));
        linux.set_cgroups_path(Some("../../escape".into()));
        spec.set_linux(Some(linux));
        assert_eq!(relative_path(&spec, "abc"), Path::new("/escape"));
    }
}
