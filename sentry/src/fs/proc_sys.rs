//! The system-wide /proc files that describe the machine rather than the
//! sandbox's processes: cpuinfo and meminfo (from the host), version,
//! filesystems, cmdline, and the constant sysctls under /proc/sys.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Renders a file's content.
pub type RenderFn = fn() -> Vec<u8>;

/// Files at the root of /proc rendered without kernel state.
pub const HOST_FILES: &[(&str, RenderFn)] = &[
    ("cpuinfo", cpuinfo),
    ("meminfo", meminfo),
    ("version", version),
    ("filesystems", filesystems),
    ("cmdline", cmdline),
    ("vmstat", vmstat),
    ("swaps", swaps),
];

/// Where a sysctl's value comes from.
#[derive(Clone, Copy)]
pub enum SysRender {
    /// A constant of the sandbox or a host fact.
    Host(fn() -> Vec<u8>),
    /// Kernel state: [`super::proc::ProcSource::kernel_file`] of the path.
    Kernel,
}

#[derive(Clone, Copy)]
pub struct SysValue {
    /// Mode 0644 (writes are refused) rather than 0444.
    pub writable: bool,
    pub render: SysRender,
}

fn constant(render: fn() -> Vec<u8>) -> SysValue {
    SysValue {
        writable: false,
        render: SysRender::Host(render),
    }
}

fn tunable(render: fn() -> Vec<u8>) -> SysValue {
    SysValue {
        writable: true,
        render: SysRender::Host(render),
    }
}

/// Largest pid (kernel/pid_max); pids are allocated upwards from 1.
pub const PID_MAX: u32 = 4_194_304;
/// Largest RLIMIT_NOFILE (fs/nr_open).
pub const NR_OPEN: u64 = 1024 * 1024;

/// The sysctls of /proc/sys, by path below it.
pub fn sysctls() -> Vec<(&'static str, SysValue)> {
    let uts = SysValue {
        writable: true,
        render: SysRender::Kernel,
    };
    vec![
        ("kernel/osrelease", constant(|| line(crate::syscalls::KERNEL_RELEASE))),
        ("kernel/ostype", constant(|| line("Linux"))),
        ("kernel/version", constant(|| line(crate::syscalls::KERNEL_VERSION))),
        ("kernel/hostname", uts),
        ("kernel/domainname", uts),
        ("kernel/pid_max", tunable(|| line(PID_MAX))),
        ("kernel/threads-max", tunable(|| line(PID_MAX))),
        ("kernel/ngroups_max", constant(|| line(65536))),
        ("kernel/cap_last_cap", constant(|| line(crate::syscalls::CAP_LAST_CAP))),
        ("kernel/overflowuid", tunable(|| line(65534))),
        ("kernel/overflowgid", tunable(|| line(65534))),
        ("kernel/random/boot_id", constant(|| line(boot_id()))),
        ("kernel/random/uuid", constant(|| line(new_uuid()))),
        ("kernel/random/entropy_avail", constant(|| line(256))),
        ("kernel/random/poolsize", constant(|| line(256))),
        ("fs/file-max", tunable(|| line(i64::MAX))),
        ("fs/nr_open", tunable(|| line(NR_OPEN))),
        ("fs/pipe-max-size", tunable(|| line(1_048_576))),
        ("vm/overcommit_memory", tunable(|| line(0))),
        ("vm/max_map_count", tunable(|| line(65530))),
        ("net/core/somaxconn", tunable(|| line(4096))),
    ]
}

fn line(v: impl std::fmt::Display) -> Vec<u8> {
    format!("{v}\n").into_bytes()
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    // SAFETY: fills our own buffer; a short read leaves zeros.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    b
}

/// A random (version 4) UUID in its text form.
fn new_uuid() -> String {
    let mut b = random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One UUID per sandbox (the Sentry is one process per sandbox).
fn boot_id() -> String {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(new_uuid).clone()
}

/// The host's online CPUs (cpuinfo, the cpu lines of /proc/stat): what
/// glibc's sysconf(_SC_NPROCESSORS_ONLN) counts.
/// Read once (glibc reads /sys for it).
pub fn cpu_count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        // SAFETY: sysconf has no memory effects.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
    })
}

/// CPUs the guest may run on, as sched_getaffinity reports them (0..n).
/// Read once (the standard library reads cgroup files for it).
pub fn allowed_cpu_count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

fn version() -> Vec<u8> {
    format!(
        "Linux version {} (runsc-rs@sandbox) (rustc) {}\n",
        crate::syscalls::KERNEL_RELEASE,
        crate::syscalls::KERNEL_VERSION
    )
    .into_bytes()
}

fn filesystems() -> Vec<u8> {
    b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevpts\nnodev\toverlay\n".to_vec()
}

fn cmdline() -> Vec<u8> {
    format!(
        "BOOT_IMAGE=/vmlinuz-{}-runsc-rs quiet\n",
        crate::syscalls::KERNEL_RELEASE
    )
    .into_bytes()
}

/// The sandbox cgroup's memory limit in bytes; 0 when there is none.
static MEMORY_LIMIT: AtomicU64 = AtomicU64::new(0);

/// Caps what /proc/meminfo and sysinfo report at the cgroup's limit (at
/// boot, and again when `runsc update` changes it); 0 lifts the cap.
pub fn set_memory_limit(bytes: u64) {
    MEMORY_LIMIT.store(bytes, Ordering::Relaxed);
}

/// Reads what /proc needs from the host once, before the sandbox gives up
/// the host's file system.
pub fn read_host_facts() {
    host_cpu_fields();
    cpu_count();
    allowed_cpu_count();
}

/// The host's first processor block of /proc/cpuinfo as (key, value)
/// pairs, read once (by [`read_host_facts`] before the sandbox starts).
fn host_cpu_fields() -> &'static [(String, String)] {
    static FIELDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let first = text.split("\n\n").next().unwrap_or_default();
        let fields: Vec<(String, String)> = first
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim_end().to_string(), v.trim().to_string()))
            .collect();
        if fields.iter().any(|(k, _)| k == "processor") {
            fields
        } else {
            fallback_cpu_fields()
        }
    })
}

/// What cpuinfo shows when the host's cannot be read.
fn fallback_cpu_fields() -> Vec<(String, String)> {
    [
        ("processor", "0"),
        ("vendor_id", "GenuineIntel"),
        ("cpu family", "6"),
        ("model", "0"),
        ("model name", "unknown"),
        ("stepping", "0"),
        ("cpu MHz", "1000.000"),
        ("flags", "fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The host's processor description, once per CPU the guest sees.
fn cpuinfo() -> Vec<u8> {
    let n = cpu_count();
    let mut out = String::new();
    for cpu in 0..n {
        for (key, value) in host_cpu_fields() {
            let value = match key.as_str() {
                "processor" | "core id" | "apicid" | "initial apicid" => cpu.to_string(),
                "siblings" | "cpu cores" => n.to_string(),
                "physical id" => "0".to_string(),
                _ => value.clone(),
            };
            // Linux pads keys with tabs to two tab stops; "power
            // management" has no value and no padding.
            let tabs = if key.len() < 8 { "\t\t" } else { "\t" };
            if value.is_empty() && key.len() >= 16 {
                let _ = writeln!(out, "{key}:");
            } else {
                let _ = writeln!(out, "{key}{tabs}: {value}");
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// (total, free, buffers, shared) RAM in KiB, from sysinfo(2) as the
/// sysinfo syscall reports it to the guest.
fn sysinfo_kb() -> (u64, u64, u64, u64) {
    // SAFETY: all-zero is a valid struct sysinfo; the host fills it.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::sysinfo(&mut si) };
    let kb = |v: u64| v * si.mem_unit as u64 / 1024;
    let (mut total, mut free) = (kb(si.totalram), kb(si.freeram));
    let limit = MEMORY_LIMIT.load(Ordering::Relaxed);
    if limit != 0 {
        // The sandbox's cgroup is its machine: free is what the host has
        // free, but never more than the limit.
        total = total.min(limit / 1024);
        free = free.min(total);
    }
    (total, free, kb(si.bufferram).min(free), kb(si.sharedram).min(total))
}

/// Memory as sysinfo reports it, with the host's page-cache figures.
fn meminfo() -> Vec<u8> {
    let (total, free, buffers, shared) = sysinfo_kb();
    // Only what sysinfo(2) says: the sandbox reads no host file once it
    // runs, and the host's page cache is not the sandbox's business.
    let get = |_: &str| 0u64;
    let available = (free + buffers).min(total);
    let rows: [(&str, u64); 20] = [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", available),
        ("Buffers", buffers),
        ("Cached", get("Cached")),
        ("SwapCached", 0),
        ("Active", get("Active")),
        ("Inactive", get("Inactive")),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", get("Dirty")),
        ("Writeback", 0),
        ("AnonPages", get("AnonPages")),
        ("Mapped", get("Mapped")),
        ("Shmem", shared),
        ("Slab", get("Slab")),
        ("SReclaimable", get("SReclaimable")),
        ("SUnreclaim", get("SUnreclaim")),
        ("CommitLimit", total / 2),
        ("Committed_AS", get("Committed_AS")),
    ];
    let mut out = String::new();
    for (key, kb) in rows {
        let _ = writeln!(out, "{:<16}{kb:>8} kB", format!("{key}:"));
    }
    out.into_bytes()
}

/// /proc/vmstat: free pages from sysinfo; the sandbox does no paging or
/// swapping of its own, so the event counters are 0.
fn vmstat() -> Vec<u8> {
    let (_, free_kb, _, _) = sysinfo_kb();
    let mut out = format!("nr_free_pages {}\n", free_kb / 4);
    for key in [
        "pgpgin",
        "pgpgout",
        "pswpin",
        "pswpout",
        "pgalloc_normal",
        "pgfree",
        "pgfault",
        "pgmajfault",
    ] {
        let _ = writeln!(out, "{key} 0");
    }
    out.into_bytes()
}

/// /proc/swaps: the header only (no swap; SwapTotal is 0).
fn swaps() -> Vec<u8> {
    b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_has_one_block_per_cpu() {
        let text = String::from_utf8(cpuinfo()).unwrap();
        let n = text.lines().filter(|l| l.starts_with("processor")).count();
        assert_eq!(n, cpu_count());
        assert!(text.contains("flags"));
    }

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert_ne!(u, new_uuid());
        assert_eq!(boot_id(), boot_id());
    }

    #[test]
    fn meminfo_lines() {
        let text = String::from_utf8(meminfo()).unwrap();
        assert!(text.starts_with("MemTotal:"));
        assert!(text.lines().all(|l| l.ends_with(" kB")));
    }
}
