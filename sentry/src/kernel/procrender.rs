//! The text of /proc files rendered from kernel state, in the formats of
//! Linux's fs/proc (proc(5)): per-process stat, statm, status, maps,
//! smaps, limits, mounts, mountinfo, fdinfo, and the system-wide stat,
//! loadavg and uptime.

use super::procinfo::{View, CLK_TCK};
use super::signals::bit;
use super::task::Credentials;
use super::Kernel;
use crate::errno::{Errno, Result};
use crate::mm::VmaName;
use crate::vfs::fdtable::FdEntry;
use crate::vfs::MountTable;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const PAGE: u64 = 4096;
/// The part of a fresh stack a process has usually touched; the rest of
/// the reserved stack is not counted as resident.
const STACK_RESIDENT: u64 = 132 * 1024;
/// O_LARGEFILE as the kernel adds it to files opened by path on 64-bit.
const O_LARGEFILE: i32 = 0o100000;
/// SIGCHLD: field 38 of /proc/PID/stat.
const EXIT_SIGNAL: i32 = libc::SIGCHLD;
/// The task flags shown (field 9): address-space randomization on, as a
/// plain user process on Linux shows.
const PF_RANDOMIZE: u32 = 0x0040_0000;
/// CAP_SYS_RESOURCE (capabilities(7)).
const CAP_SYS_RESOURCE: u32 = 24;

/// The text of per-process file `name` (see [`crate::fs::proc::PID_FILES`]).
pub fn text(v: &View, name: &str) -> String {
    match name {
        "stat" => stat(v),
        "statm" => statm(v),
        "status" => status(v),
        "maps" => maps(v, false),
        "smaps" => maps(v, true),
        "limits" => limits(v),
        "mounts" => mounts(&mount_table_of(v)),
        "mountinfo" => mountinfo(&mount_table_of(v)),
        "comm" => format!("{}\n", v.thread.comm.text()),
        "cgroup" => "0::/\n".into(),
        "oom_score" => "0\n".into(),
        "oom_score_adj" => format!("{}\n", v.proc.live.oom_score_adj.load(Ordering::Relaxed)),
        // No audit: the "unset" values, without a newline as Linux prints them.
        "loginuid" | "sessionid" => u32::MAX.to_string(),
        "wchan" => "0".into(),
        _ => String::new(),
    }
}

/// Bytes of the address space by kind, from the VMAs.
#[derive(Default)]
struct MemUsage {
    size: u64,
    /// An estimate: accessible mappings, with only the top of the stack.
    rss: u64,
    rss_anon: u64,
    rss_file: u64,
    data: u64,
    stack: u64,
    exe: u64,
    lib: u64,
}

/// The VMAs of the process (none for a zombie).
fn vmas(v: &View) -> Vec<(u64, u64, i32, bool, VmaName)> {
    v.proc.mm.as_ref().map(|mm| mm.maps()).unwrap_or_default()
}

fn vma_resident(start: u64, end: u64, prot: i32, name: &VmaName) -> u64 {
    if prot == libc::PROT_NONE {
        return 0;
    }
    match name {
        VmaName::Stack => (end - start).min(STACK_RESIDENT),
        _ => end - start,
    }
}

fn mem_usage(v: &View) -> MemUsage {
    let mut u = MemUsage::default();
    for (start, end, prot, shared, name) in vmas(v) {
        let len = end - start;
        let resident = vma_resident(start, end, prot, &name);
        u.size += len;
        u.rss += resident;
        match &name {
            VmaName::File { path, .. } => {
                u.rss_file += resident;
                if prot & libc::PROT_EXEC != 0 {
                    if *path == v.proc.exe {
                        u.exe += len;
                    } else {
                        u.lib += len;
                    }
                }
            }
            _ => u.rss_anon += resident,
        }
        match name {
            VmaName::Stack => u.stack += len,
            _ if prot & libc::PROT_WRITE != 0 && !shared => u.data += len,
            _ => {}
        }
    }
    u
}

/// State letter and its name in status.
fn state(v: &View) -> (char, &'static str) {
    if v.proc.zombie {
        ('Z', "zombie")
    } else if v.proc.group.is_stopped() {
        ('T', "stopped")
    } else if v.is_current {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

fn uptime_ticks(k: &Kernel) -> u64 {
    (k.uptime().as_millis() as u64) * CLK_TCK / 1000
}

/// /proc/PID/stat: the 52 fields of proc(5), in order.
fn stat(v: &View) -> String {
    let k = v.kernel;
    let (pgid, sid) = process_group_and_session(v);
    let attrs = k.proc_attrs.get(v.pid);
    let mem = mem_usage(v);
    let blocked = v.thread.queue.blocked();
    let (ignored, caught) = ignored_and_caught(v);
    let rss_limit = v.proc.rlimits[libc::RLIMIT_RSS as usize].0;
    let ticks = |d: std::time::Duration| super::cputime::ticks(d).to_string();
    let cpu = if v.proc.zombie {
        Default::default()
    } else {
        k.proc_attrs.cpu_of(v.pid, v.is_current)
    };
    let fields: Vec<String> = vec![
        v.proc.ppid.to_string(),
        pgid.to_string(),
        sid.to_string(),
        "0".into(),               // tty_nr
        "-1".into(),              // tpgid
        PF_RANDOMIZE.to_string(), // flags
        "0".into(),               // minflt
        "0".into(),               // cminflt
        "0".into(),               // majflt
        "0".into(),               // cmajflt
        ticks(cpu.user),
        ticks(cpu.system),
        ticks(attrs.children_cpu.user),
        ticks(attrs.children_cpu.system),
        (20 + attrs.nice).to_string(), // priority
        attrs.nice.to_string(),
        v.proc.group.thread_count().to_string(),
        "0".into(), // itrealvalue
        v.proc.live.start_ticks.to_string(),
        mem.size.to_string(),
        (mem.rss / PAGE).to_string(),
        rss_limit.to_string(),
        "0".into(), // startcode
        "0".into(), // endcode
        "0".into(), // startstack
        "0".into(), // kstkesp
        "0".into(), // kstkeip
        (v.thread.queue.pending_set() & 0x7fff_ffff).to_string(),
        (blocked & 0x7fff_ffff).to_string(),
        (ignored & 0x7fff_ffff).to_string(),
        (caught & 0x7fff_ffff).to_string(),
        "0".into(), // wchan
        "0".into(), // nswap
        "0".into(), // cnswap
        EXIT_SIGNAL.to_string(),
        "0".into(), // processor
        attrs.rt_priority.to_string(),
        attrs.policy.to_string(),
        "0".into(), // delayacct_blkio_ticks
        "0".into(), // guest_time
        "0".into(), // cguest_time
        "0".into(), // start_data
        "0".into(), // end_data
        "0".into(), // start_brk
        "0".into(), // arg_start
        "0".into(), // arg_end
        "0".into(), // env_start
        "0".into(), // env_end
        "0".into(), // exit_code
    ];
    format!(
        "{} ({}) {} {}\n",
        v.tid,
        v.thread.comm.text(),
        state(v).0,
        fields.join(" ")
    )
}

fn process_group_and_session(v: &View) -> (i32, i32) {
    let k = v.kernel;
    let pgid = k.processes.pgid_of(v.pid).unwrap_or(0);
    let sid = k.processes.session_of(v.pid).map(|(sid, _)| sid).unwrap_or(0);
    (pgid, sid)
}

/// (ignored, caught) signal sets from the process's actions.
fn ignored_and_caught(v: &View) -> (u64, u64) {
    let mut ignored = 0;
    let mut caught = 0;
    for (i, action) in v.proc.actions.snapshot().iter().enumerate() {
        let sig = i as i32 + 1;
        if action.handler == libc::SIG_IGN as u64 {
            ignored |= bit(sig);
        } else if action.handler != libc::SIG_DFL as u64 {
            caught |= bit(sig);
        }
    }
    (ignored, caught)
}

/// /proc/PID/statm: sizes in pages.
fn statm(v: &View) -> String {
    let m = mem_usage(v);
    format!(
        "{} {} {} {} 0 {} 0\n",
        m.size / PAGE,
        m.rss / PAGE,
        m.rss_file / PAGE,
        m.exe / PAGE,
        (m.data + m.stack) / PAGE
    )
}

/// The FDSize line: the fd table's capacity as Linux grows it (powers of
/// two from 64, covering the highest open fd).
fn fd_size(v: &View) -> u64 {
    let highest = v.proc.fds.fds().into_iter().max().unwrap_or(0).max(0) as u64;
    (highest + 1).next_power_of_two().max(64)
}

fn cpus_allowed() -> (String, String) {
    let n = crate::fs::proc_sys::allowed_cpu_count();
    let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let list = if n == 1 {
        "0".to_string()
    } else {
        format!("0-{}", n - 1)
    };
    (format!("{mask:x}"), list)
}

/// /proc/PID/status.
fn status(v: &View) -> String {
    let c = &v.proc.creds;
    let (pgid, sid) = process_group_and_session(v);
    let umask = v.proc.fs.lock().map(|fs| fs.umask).unwrap_or(0o022);
    let (letter, word) = state(v);
    // Linux ends the list with a space, even an empty one.
    let groups = c.groups.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(" ") + " ";
    let m = mem_usage(v);
    let kb = |b: u64| b / 1024;
    let pending = v.thread.queue.pending_set();
    let shared_pending = match v.proc.group.main_queue() {
        Some(q) => q.pending_set(),
        None => 0,
    };
    let (ignored, caught) = ignored_and_caught(v);
    let (cpu_mask, cpu_list) = cpus_allowed();
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", v.thread.comm.text());
    let _ = writeln!(s, "Umask:\t{umask:04o}");
    let _ = writeln!(s, "State:\t{letter} ({word})");
    let _ = writeln!(s, "Tgid:\t{}\nNgid:\t0\nPid:\t{}", v.pid, v.tid);
    let _ = writeln!(s, "PPid:\t{}\nTracerPid:\t0", v.proc.ppid);
    let _ = writeln!(s, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
    let _ = writeln!(s, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
    let _ = writeln!(s, "FDSize:\t{}", fd_size(v));
    let _ = writeln!(s, "Groups:\t{groups}");
    let _ = writeln!(
        s,
        "NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{pgid}\nNSsid:\t{sid}",
        v.pid, v.tid
    );
    // A zombie has no memory: Linux prints no Vm lines for it.
    let vm_lines = [
        ("VmPeak", m.size),
        ("VmSize", m.size),
        ("VmLck", 0),
        ("VmPin", 0),
        ("VmHWM", m.rss),
        ("VmRSS", m.rss),
        ("RssAnon", m.rss_anon),
        ("RssFile", m.rss_file),
        ("RssShmem", 0),
        ("VmData", m.data),
        ("VmStk", m.stack),
        ("VmExe", m.exe),
        ("VmLib", m.lib),
        ("VmPTE", 0),
        ("VmSwap", 0),
    ];
    for (key, bytes) in vm_lines.iter().filter(|_| !v.proc.zombie) {
        let _ = writeln!(s, "{key}:\t{:>8} kB", kb(*bytes));
    }
    let _ = writeln!(s, "Threads:\t{}", v.proc.group.thread_count());
    let sigpending_limit = v.proc.rlimits[libc::RLIMIT_SIGPENDING as usize].0;
    let queued = (pending | shared_pending).count_ones();
    let _ = writeln!(s, "SigQ:\t{queued}/{sigpending_limit}");
    let _ = writeln!(s, "SigPnd:\t{pending:016x}\nShdPnd:\t{shared_pending:016x}");
    let _ = writeln!(s, "SigBlk:\t{:016x}", v.thread.queue.blocked());
    let _ = writeln!(s, "SigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}");
    let _ = writeln!(
        s,
        "CapInh:\t{:016x}\nCapPrm:\t{:016x}",
        c.cap_inheritable, c.cap_permitted
    );
    let _ = writeln!(s, "CapEff:\t{:016x}\nCapBnd:\t{:016x}", c.cap_effective, c.cap_bounding);
    let _ = writeln!(s, "CapAmb:\t{:016x}", 0);
    let _ = writeln!(s, "NoNewPrivs:\t{}", v.proc.no_new_privs as u8);
    let _ = writeln!(s, "Seccomp:\t0\nSeccomp_filters:\t0");
    let _ = writeln!(s, "Cpus_allowed:\t{cpu_mask}\nCpus_allowed_list:\t{cpu_list}");
    let _ = writeln!(s, "Mems_allowed:\t1\nMems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0");
    s
}

fn perms(prot: i32, shared: bool) -> String {
    let bit = |b: i32, c: char| if prot & b != 0 { c } else { '-' };
    format!(
        "{}{}{}{}",
        bit(libc::PROT_READ, 'r'),
        bit(libc::PROT_WRITE, 'w'),
        bit(libc::PROT_EXEC, 'x'),
        if shared { 's' } else { 'p' }
    )
}

/// VmFlags of smaps: the mnemonics of proc(5) for what a VMA allows.
fn vm_flags(prot: i32, shared: bool) -> String {
    let mut flags = Vec::new();
    for (b, f) in [
        (libc::PROT_READ, "rd"),
        (libc::PROT_WRITE, "wr"),
        (libc::PROT_EXEC, "ex"),
    ] {
        if prot & b != 0 {
            flags.push(f);
        }
    }
    if shared {
        flags.push("sh");
    }
    flags.extend(["mr", "mw", "me"]);
    if shared {
        flags.push("ms");
    }
    flags.join(" ")
}

/// /proc/PID/maps (and smaps with `detail`): one line per VMA, the name
/// starting at column 74 as Linux pads it.
fn maps(v: &View, detail: bool) -> String {
    let mut out = String::new();
    for (start, end, prot, shared, name) in vmas(v) {
        let (offset, dev, ino, label) = match &name {
            VmaName::Anonymous => (0, 0, 0, String::new()),
            VmaName::Heap => (0, 0, 0, "[heap]".into()),
            VmaName::Stack => (0, 0, 0, "[stack]".into()),
            VmaName::File { path, offset, dev, ino } => {
                (*offset, *dev, *ino, String::from_utf8_lossy(path).into_owned())
            }
        };
        let (major, minor) = (crate::fs::major(dev), crate::fs::minor(dev));
        let head = format!(
            "{start:08x}-{end:08x} {} {offset:08x} {major:02x}:{minor:02x} {ino} ",
            perms(prot, shared)
        );
        if label.is_empty() {
            let _ = writeln!(out, "{head}");
        } else {
            let _ = writeln!(out, "{head:<72} {label}");
        }
        if detail {
            let kb = |b: u64| b / 1024;
            let size = kb(end - start);
            let rss = kb(vma_resident(start, end, prot, &name));
            let anon = if matches!(name, VmaName::File { .. }) { 0 } else { rss };
            let _ = write!(
                out,
                "Size:           {size:>8} kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\n\
                 Rss:            {rss:>8} kB\nPss:            {rss:>8} kB\nShared_Clean:          0 kB\n\
                 Shared_Dirty:          0 kB\nPrivate_Clean:         0 kB\nPrivate_Dirty:  {rss:>8} kB\n\
                 Referenced:     {rss:>8} kB\nAnonymous:      {anon:>8} kB\nSwap:                  0 kB\n\
                 SwapPss:               0 kB\nLocked:                0 kB\nVmFlags: {}\n",
                vm_flags(prot, shared)
            );
        }
    }
    out
}

/// /proc/PID/limits: the table of fs/proc/base.c proc_pid_limits.
fn limits(v: &View) -> String {
    const ROWS: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let show = |x: u64| {
        if x == u64::MAX {
            "unlimited".to_string()
        } else {
            x.to_string()
        }
    };
    let mut out = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (i, (name, unit)) in ROWS.iter().enumerate() {
        let (soft, hard) = v.proc.rlimits[i];
        let _ = write!(out, "{name:<25} {:<20} {:<20} ", show(soft), show(hard));
        if unit.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{unit:<10}");
        }
    }
    out
}

/// A mount as /proc shows it.
struct MountRow {
    id: u32,
    parent: u32,
    path: Vec<u8>,
    fs_type: String,
    read_only: bool,
    dev: u64,
}

/// The first mount id (Linux numbers mounts from a small counter too).
const FIRST_MOUNT_ID: u32 = 20;

/// The mount table of the process's container (each container of a pod
/// has its own).
fn mount_table_of(v: &View) -> std::sync::Arc<MountTable> {
    let fs = v.proc.fs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    fs.mounts.clone()
}

/// The mount table with ids, parents first (sorted by path).
fn mount_rows(table: &MountTable) -> Vec<MountRow> {
    let list = table.list();
    let mut rows: Vec<MountRow> = Vec::new();
    for (i, (path, m)) in list.iter().enumerate() {
        let id = FIRST_MOUNT_ID + i as u32;
        let parent = rows
            .iter()
            .filter(|r| r.path != *path && is_under(&r.path, path))
            .max_by_key(|r| r.path.len())
            .map(|r| r.id)
            .unwrap_or(id);
        rows.push(MountRow {
            id,
            parent,
            path: path.clone(),
            fs_type: m.fs_type.clone(),
            read_only: m.read_only,
            dev: m.root.stat().map(|st| st.dev).unwrap_or(0),
        });
    }
    rows
}

/// True when `path` is `dir` or lies below it.
fn is_under(dir: &[u8], path: &[u8]) -> bool {
    dir == b"/" || path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

/// The id of the mount holding `path` (0 for files of no mount: pipes).
fn mount_id_of(rows: &[MountRow], path: &[u8]) -> u32 {
    rows.iter()
        .filter(|r| path.starts_with(b"/") && is_under(&r.path, path))
        .max_by_key(|r| r.path.len())
        .map(|r| r.id)
        .unwrap_or(0)
}

/// Escapes space, tab, newline and backslash as octal (mounts(5)).
fn escape(path: &[u8]) -> String {
    let mut out = String::new();
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(out, "\\{b:03o}");
            }
            _ => out.push(b as char),
        }
    }
    out
}

fn rw(read_only: bool) -> &'static str {
    if read_only {
        "ro"
    } else {
        "rw"
    }
}

/// /proc/PID/mounts (fstab format).
pub fn mounts(table: &MountTable) -> String {
    let mut out = String::new();
    for r in mount_rows(table) {
        let _ = writeln!(
            out,
            "{} {} {} {} 0 0",
            r.fs_type,
            escape(&r.path),
            r.fs_type,
            rw(r.read_only)
        );
    }
    out
}

/// /proc/PID/mountinfo (proc(5)).
fn mountinfo(table: &MountTable) -> String {
    let mut out = String::new();
    for r in mount_rows(table) {
        let _ = writeln!(
            out,
            "{} {} {}:{} / {} {},relatime - {} {} {}",
            r.id,
            r.parent,
            crate::fs::major(r.dev),
            crate::fs::minor(r.dev),
            escape(&r.path),
            rw(r.read_only),
            r.fs_type,
            r.fs_type,
            rw(r.read_only)
        );
    }
    out
}

/// /proc/PID/fdinfo/FD: offset, flags in octal (with O_CLOEXEC from the
/// fd), the mount and the inode.
pub fn fdinfo(mounts: &MountTable, entry: &FdEntry) -> String {
    let file = &entry.file;
    let pos = file.seek(0, libc::SEEK_CUR).unwrap_or(0);
    let mut flags = file.flags();
    if entry.cloexec {
        flags |= libc::O_CLOEXEC;
    }
    if file.dentry.path.starts_with(b"/") {
        flags |= O_LARGEFILE;
    }
    let rows = mount_rows(mounts);
    let ino = file.dentry.inode.stat().map(|st| st.ino).unwrap_or(0);
    format!(
        "pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{}\nino:\t{ino}\n",
        mount_id_of(&rows, &file.dentry.path)
    )
}

/// A write to /proc/PID/oom_score_adj: an integer in -1000..=1000
/// (EINVAL otherwise); lowering it needs CAP_SYS_RESOURCE (EACCES).
pub fn write_oom_score_adj(v: &View, writer: &Credentials, data: &[u8]) -> Result<usize> {
    // Linux copies at most PROC_NUMBUF - 1 bytes.
    let text = std::str::from_utf8(&data[..data.len().min(12)]).map_err(|_| Errno::EINVAL)?;
    let value: i32 = text.trim().parse().map_err(|_| Errno::EINVAL)?;
    if !(-1000..=1000).contains(&value) {
        return Err(Errno::EINVAL);
    }
    let adj = &v.proc.live.oom_score_adj;
    if value < adj.load(Ordering::Relaxed) && !writer.capable(CAP_SYS_RESOURCE) {
        return Err(Errno::EACCES);
    }
    adj.store(value, Ordering::Relaxed);
    Ok(data.len())
}

/// /proc/stat: idle CPUs since boot, the boot time, process counts.
pub fn system_stat(k: &Kernel) -> String {
    let n = crate::fs::proc_sys::cpu_count() as u64;
    let idle = uptime_ticks(k);
    let btime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(k.uptime().as_secs());
    let mut out = format!("cpu  0 0 0 {} 0 0 0 0 0 0\n", idle * n);
    for cpu in 0..n {
        let _ = writeln!(out, "cpu{cpu} 0 0 0 {idle} 0 0 0 0 0 0");
    }
    let _ = write!(
        out,
        "intr 0\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        k.last_pid()
    );
    out
}

/// /proc/loadavg: no load history; the runnable/total thread counts and
/// the last pid handed out.
pub fn loadavg(k: &Kernel) -> String {
    format!("0.00 0.00 0.00 1/{} {}\n", k.procs.thread_count().max(1), k.last_pid())
}

/// /proc/uptime: seconds since boot (CLOCK_BOOTTIME), and idle CPU seconds.
pub fn uptime(k: &Kernel) -> String {
    let up = k.uptime().as_secs_f64();
    let n = crate::fs::proc_sys::cpu_count() as f64;
    format!("{up:.2} {:.2}\n", up * n)
}
