//! Stats: the sandbox cgroup's counters as containerd's cgroups v1
//! `Metrics` (what `ctr task metrics` and the CRI's ContainerStats decode).
//!
//! runsc puts the whole sandbox (Sentry, stubs, gofer) in one cgroup and
//! records its path, relative to each hierarchy, in `<root>/<id>/cgroup`.

use std::path::{Path, PathBuf};

use containerd_shim::protos::cgroups::metrics::{CPUStat, CPUUsage, MemoryEntry, MemoryStat, Metrics, PidsStat};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::Message;

use crate::error::{io_context, Result, ShimError};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The type URL containerd's typeurl registry knows v1 metrics by.
pub const METRICS_V1_TYPE: &str = "io.containerd.cgroups.v1.Metrics";

/// The sandbox's cgroup path as runsc recorded it. A container that joined
/// a pod's sandbox has no cgroup of its own: its state directory names the
/// sandbox container (`sandbox.json`, `{"sandbox": ID}`), whose cgroup holds
/// the whole pod, and that one is reported.
pub fn recorded_cgroup(root: &Path, id: &str) -> Result<PathBuf> {
    let mut file = root.join(id).join("cgroup");
    if !file.exists() {
        if let Some(sandbox) = pod_sandbox(&root.join(id).join("sandbox.json")) {
            file = root.join(sandbox).join("cgroup");
        }
    }
    let text = std::fs::read_to_string(&file).map_err(io_context(format!("reading {}", file.display())))?;
    let rel = text.trim().trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(ShimError::InvalidArgument(format!("bad cgroup path {rel:?}")));
    }
    Ok(PathBuf::from(rel))
}

/// The sandbox container a pod member's membership file names (a plain
/// container id, never a path).
fn pod_sandbox(membership: &Path) -> Option<String> {
    let text = std::fs::read_to_string(membership).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sandbox = value.get("sandbox")?.as_str()?;
    let plain = !sandbox.is_empty() && !sandbox.contains('/') && sandbox != "." && sandbox != "..";
    plain.then(|| sandbox.to_string())
}

/// Reads the v1 controllers' files under `root` (normally /sys/fs/cgroup).
pub fn collect_v1(root: &Path, rel: &Path) -> Result<Metrics> {
    let memory = root.join("memory").join(rel);
    if !memory.join("memory.usage_in_bytes").exists() {
        return Err(ShimError::NotFound(format!(
            "no cgroup v1 memory controller at {} (cgroup v2 metrics are not collected yet)",
            memory.display()
        )));
    }
    let mut metrics = Metrics::new();
    metrics.memory = Some(memory_stat(&memory)).into();
    let cpuacct = ["cpuacct", "cpu,cpuacct", "cpu"]
        .iter()
        .map(|c| root.join(c).join(rel))
        .find(|d| d.join("cpuacct.usage").exists());
    if let Some(dir) = cpuacct {
        metrics.cpu = Some(cpu_stat(&dir)).into();
    }
    let pids = root.join("pids").join(rel);
    if pids.join("pids.current").exists() {
        metrics.pids = Some(PidsStat {
            current: read_u64(&pids.join("pids.current")),
            // "max" is no limit: 0, as containerd reports it.
            limit: read_u64(&pids.join("pids.max")),
            ..Default::default()
        })
        .into();
    }
    Ok(metrics)
}

pub fn to_any(metrics: &Metrics) -> Result<Any> {
    Ok(Any {
        type_url: METRICS_V1_TYPE.to_string(),
        value: metrics.write_to_bytes()?,
        ..Default::default()
    })
}

fn memory_stat(dir: &Path) -> MemoryStat {
    let mut stat = MemoryStat::new();
    let text = std::fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        let field = match key {
            "cache" => &mut stat.cache,
            "rss" => &mut stat.rss,
            "rss_huge" => &mut stat.rss_huge,
            "mapped_file" => &mut stat.mapped_file,
            "dirty" => &mut stat.dirty,
            "writeback" => &mut stat.writeback,
            "pgpgin" => &mut stat.pg_pg_in,
            "pgpgout" => &mut stat.pg_pg_out,
            "pgfault" => &mut stat.pg_fault,
            "pgmajfault" => &mut stat.pg_maj_fault,
            "inactive_anon" => &mut stat.inactive_anon,
            "active_anon" => &mut stat.active_anon,
            "inactive_file" => &mut stat.inactive_file,
            "active_file" => &mut stat.active_file,
            "unevictable" => &mut stat.unevictable,
            "hierarchical_memory_limit" => &mut stat.hierarchical_memory_limit,
            "hierarchical_memsw_limit" => &mut stat.hierarchical_swap_limit,
            "total_cache" => &mut stat.total_cache,
            "total_rss" => &mut stat.total_rss,
            "total_rss_huge" => &mut stat.total_rss_huge,
            "total_mapped_file" => &mut stat.total_mapped_file,
            "total_dirty" => &mut stat.total_dirty,
            "total_writeback" => &mut stat.total_writeback,
            "total_pgpgin" => &mut stat.total_pg_pg_in,
            "total_pgpgout" => &mut stat.total_pg_pg_out,
            "total_pgfault" => &mut stat.total_pg_fault,
            "total_pgmajfault" => &mut stat.total_pg_maj_fault,
            "total_inactive_anon" => &mut stat.total_inactive_anon,
            "total_active_anon" => &mut stat.total_active_anon,
            "total_inactive_file" => &mut stat.total_inactive_file,
            "total_active_file" => &mut stat.total_active_file,
            "total_unevictable" => &mut stat.total_unevictable,
            _ => continue,
        };
        *field = value;
    }
    let entry = |prefix: &str| MemoryEntry {
        usage: read_u64(&dir.join(format!("{prefix}.usage_in_bytes"))),
        max: read_u64(&dir.join(format!("{prefix}.max_usage_in_bytes"))),
        limit: read_u64(&dir.join(format!("{prefix}.limit_in_bytes"))),
        failcnt: read_u64(&dir.join(format!("{prefix}.failcnt"))),
        ..Default::default()
    };
    stat.usage = Some(entry("memory")).into();
    stat.swap = Some(entry("memory.memsw")).into();
    stat.kernel = Some(entry("memory.kmem")).into();
    stat.kernel_tcp = Some(entry("memory.kmem.tcp")).into();
    stat
}

fn cpu_stat(dir: &Path) -> CPUStat {
    let per_cpu = std::fs::read_to_string(dir.join("cpuacct.usage_percpu"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // cpuacct.stat counts USER_HZ ticks; the protobuf wants nanoseconds.
    let ticks = |key: &str| -> u64 {
        let text = std::fs::read_to_string(dir.join("cpuacct.stat")).unwrap_or_default();
        let tick_ns = 1_000_000_000 / clock_ticks();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
            .map_or(0, |t| t.saturating_mul(tick_ns))
    };
    CPUStat {
        usage: Some(CPUUsage {
            total: read_u64(&dir.join("cpuacct.usage")),
            user: ticks("user"),
            kernel: ticks("system"),
            per_cpu,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100)
}

/// A counter file's value; absent or unparsable (e.g. "max") is 0.
fn read_u64(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The host's cgroup mount.
pub fn cgroup_root() -> &'static Path {
    Path::new(CGROUP_ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_files_become_metrics() {
        let root = std::env::temp_dir().join(format!("runsc-shim-cg-{}", std::process::id()));
        let mem = root.join("memory/k8s.io/c1");
        let cpu = root.join("cpu,cpuacct/k8s.io/c1");
        let pids = root.join("pids/k8s.io/c1");
        for d in [&mem, &cpu, &pids] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(mem.join("memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(mem.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(mem.join("memory.stat"), "cache 10\nrss 20\ntotal_rss 30\n").unwrap();
        std::fs::write(cpu.join("cpuacct.usage"), "123456\n").unwrap();
        std::fs::write(cpu.join("cpuacct.usage_percpu"), "100 200 \n").unwrap();
        std::fs::write(pids.join("pids.current"), "7\n").unwrap();
        std::fs::write(pids.join("pids.max"), "max\n").unwrap();
        let m = collect_v1(&root, Path::new("k8s.io/c1")).unwrap();
        let mem = m.memory.as_ref().unwrap();
        assert_eq!(mem.usage.usage, 4096);
        assert_eq!((mem.cache, mem.rss, mem.total_rss), (10, 20, 30));
        let cpu = m.cpu.as_ref().unwrap();
        assert_eq!(cpu.usage.total, 123456);
        assert_eq!(cpu.usage.per_cpu, [100, 200]);
        assert_eq!((m.pids.current, m.pids.limit), (7, 0));
        let any = to_any(&m).unwrap();
        assert_eq!(any.type_url, METRICS_V1_TYPE);
        assert!(collect_v1(&root, Path::new("k8s.io/none")).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn recorded_path_is_relative_and_confined() {
        let root = std::env::temp_dir().join(format!("runsc-shim-rec-{}", std::process::id()));
        std::fs::create_dir_all(root.join("c1")).unwrap();
        std::fs::write(root.join("c1/cgroup"), "/default/c1\n").unwrap();
        assert_eq!(recorded_cgroup(&root, "c1").unwrap(), Path::new("default/c1"));
        // A pod member reports its sandbox's cgroup.
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/sandbox.json"), r#"{"sandbox":"c1","init_pid":3}"#).unwrap();
        assert_eq!(recorded_cgroup(&root, "app").unwrap(), Path::new("default/c1"));
        std::fs::write(root.join("app/sandbox.json"), r#"{"sandbox":"../c1"}"#).unwrap();
        assert!(recorded_cgroup(&root, "app").is_err());
        std::fs::write(root.join("c1/cgroup"), "/../x\n").unwrap();
        assert!(recorded_cgroup(&root, "c1").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
