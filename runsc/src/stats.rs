//! Resource usage of a sandbox from its cgroups, in the JSON shape of runc's
//! `types.Stats` (what `runc events` prints under `data`): cpu, memory,
//! pids, and the raw memory.stat. cgroup v1 and v2 are both read; a file
//! the kernel does not provide leaves its fields at zero.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::json;

use crate::cgroup::{controller_dir, is_v1_layout};

/// USER_HZ, the unit of cpuacct.stat (always 100 on Linux).
const USER_HZ: u64 = 100;

/// The stats of the sandbox at `rel` (a cgroup path).
pub fn read(rel: &Path) -> serde_json::Value {
    if is_v1_layout() {
        read_v1(rel)
    } else {
        read_v2(rel)
    }
}

/// How many processes the OOM killer has killed in the sandbox's cgroup.
pub fn oom_kills(rel: &Path) -> u64 {
    let file = if is_v1_layout() {
        "memory.oom_control"
    } else {
        "memory.events"
    };
    let dir = controller_dir(rel, "memory");
    let pairs = dir.map(|d| flat_keyed(&d.join(file))).unwrap_or_default();
    pairs.get("oom_kill").copied().unwrap_or(0)
}

fn read_v1(rel: &Path) -> serde_json::Value {
    let file = |ctrl: &str, name: &str| controller_dir(rel, ctrl).map(|d| d.join(name));
    let num = |ctrl: &str, name: &str| file(ctrl, name).map_or(0, |p| number(&p));
    let ticks = file("cpuacct", "cpuacct.stat")
        .map(|p| flat_keyed(&p))
        .unwrap_or_default();
    let to_ns = |key: &str| ticks.get(key).copied().unwrap_or(0) * (1_000_000_000 / USER_HZ);
    let percpu: Vec<u64> = file("cpuacct", "cpuacct.usage_percpu")
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|s| s.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    let throttling = file("cpu", "cpu.stat").map(|p| flat_keyed(&p)).unwrap_or_default();
    let raw = file("memory", "memory.stat")
        .map(|p| flat_keyed(&p))
        .unwrap_or_default();
    let entry = |prefix: &str| {
        json!({
            "limit": num("memory", &format!("{prefix}.limit_in_bytes")),
            "usage": num("memory", &format!("{prefix}.usage_in_bytes")),
            "max": num("memory", &format!("{prefix}.max_usage_in_bytes")),
            "failcnt": num("memory", &format!("{prefix}.failcnt")),
        })
    };
    json!({
        "cpu": {
            "usage": {
                "total": num("cpuacct", "cpuacct.usage"),
                "percpu": percpu,
                "kernel": to_ns("system"),
                "user": to_ns("user"),
            },
            "throttling": {
                "periods": throttling.get("nr_periods").copied().unwrap_or(0),
                "throttled_periods": throttling.get("nr_throttled").copied().unwrap_or(0),
                "throttled_time": throttling.get("throttled_time").copied().unwrap_or(0),
            },
        },
        "memory": {
            "cache": raw.get("cache").copied().unwrap_or(0),
            "usage": entry("memory"),
            "swap": entry("memory.memsw"),
            "kernel": entry("memory.kmem"),
            "raw": raw,
        },
        "pids": {
            "current": num("pids", "pids.current"),
            "limit": num("pids", "pids.max"),
        },
    })
}

fn read_v2(rel: &Path) -> serde_json::Value {
    let Some(dir) = controller_dir(rel, "memory") else {
        return json!({});
    };
    let num = |name: &str| number(&dir.join(name));
    let cpu = flat_keyed(&dir.join("cpu.stat"));
    let cpu_ns = |key: &str| cpu.get(key).copied().unwrap_or(0) * 1000;
    let raw = flat_keyed(&dir.join("memory.stat"));
    let events = flat_keyed(&dir.join("memory.events"));
    json!({
        "cpu": {
            "usage": { "total": cpu_ns("usage_usec"), "kernel": cpu_ns("system_usec"), "user": cpu_ns("user_usec") },
            "throttling": {
                "periods": cpu.get("nr_periods").copied().unwrap_or(0),
                "throttled_periods": cpu.get("nr_throttled").copied().unwrap_or(0),
                "throttled_time": cpu_ns("throttled_usec"),
            },
        },
        "memory": {
            "cache": raw.get("file").copied().unwrap_or(0),
            "usage": {
                "limit": num("memory.max"),
                "usage": num("memory.current"),
                "max": num("memory.peak"),
                "failcnt": events.get("max").copied().unwrap_or(0),
            },
            "swap": { "limit": num("memory.swap.max"), "usage": num("memory.swap.current"), "failcnt": 0 },
            "raw": raw,
        },
        "pids": { "current": num("pids.current"), "limit": num("pids.max") },
    })
}

/// A file holding one number; `max` (no limit) and a missing file are 0,
/// as runc reports an unlimited pids.max.
fn number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A "key value" per line file (memory.stat, cpu.stat, memory.events).
fn flat_keyed(path: &Path) -> BTreeMap<String, u64> {
    let text = fs::read_to_string(path).unwrap_or_default();
    parse_flat_keyed(&text)
}

fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files() {
        let text = "cache 4096\nrss 8192\nhierarchical_memory_limit 9223372036854771712\nbad line x\n";
        let map = parse_flat_keyed(text);
        assert_eq!(map.get("cache"), Some(&4096));
        assert_eq!(map.get("hierarchical_memory_limit"), Some(&9_223_372_036_854_771_712));
        assert_eq!(map.len(), 3);
        assert!(parse_flat_keyed("").is_empty());
    }

    #[test]
    fn missing_files_read_as_zero() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(number(&tmp.path().join("nope")), 0);
        std::fs::write(tmp.path().join("max"), "max\n").unwrap();
        assert_eq!(number(&tmp.path().join("max")), 0);
        std::fs::write(tmp.path().join("n"), "42\n").unwrap();
        assert_eq!(number(&tmp.path().join("n")), 42);
    }

    /// Our own cgroup has every field runc's consumers look for.
    #[test]
    fn stats_of_a_real_cgroup_have_runc_keys() {
        let v = read(Path::new("/"));
        for key in ["cpu", "memory", "pids"] {
            assert!(v.get(key).is_some(), "{v}");
        }
        assert!(v["memory"]["usage"]["usage"].as_u64().is_some(), "{v}");
        assert!(v["cpu"]["usage"]["total"].as_u64().is_some(), "{v}");
    }
}
