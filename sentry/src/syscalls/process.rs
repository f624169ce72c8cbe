//! Process and system information syscalls: ids, exit, execve, limits,
//! uname, sysinfo, getrandom, affinity, arch_prctl, futex.

use super::file::path_arg;
use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::futex::{PiLockRequest, WaitRequest};
use crate::kernel::process::{wait_status, WaitOptions, WaitTarget};
use crate::kernel::task::CloneRequest;
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};
use crate::sandbox::ExitStatus;

/// What uname(2) reports: a recent Linux.
pub const KERNEL_RELEASE: &str = "6.6.0";
pub const KERNEL_VERSION: &str = "#1 SMP PREEMPT_DYNAMIC runsc-rs";
/// Upper bound on argv + envp bytes (like Linux's ARG_MAX with an 8 MiB stack).
const ARG_MAX: usize = 2 << 20;
const MAX_ARG_STRLEN: usize = 32 * 4096;

pub fn getpid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.tgid as u64)
}
pub fn gettid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.tid as u64)
}
/// The parent as the process table knows it: an orphan has been
/// reparented to a subreaper or init.
pub fn getppid(task: &mut Task, _: Args) -> Result<u64> {
    let ppid = task
        .kernel
        .processes
        .parent_and_group(task.tgid)
        .map_or(task.ppid, |(ppid, _)| ppid);
    Ok(ppid as u64)
}
pub fn getuid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.creds.uid as u64)
}
pub fn geteuid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.creds.euid as u64)
}
pub fn getgid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.creds.gid as u64)
}
pub fn getegid(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.creds.egid as u64)
}

pub fn getpgrp(task: &mut Task, _: Args) -> Result<u64> {
    Ok(task.pgid as u64)
}

pub fn getpgid(task: &mut Task, a: Args) -> Result<u64> {
    let pid = a.i32(0);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == task.tgid {
        return Ok(task.pgid as u64);
    }
    let (_, pgid) = task.kernel.processes.parent_and_group(pid).ok_or(Errno::ESRCH)?;
    Ok(pgid as u64)
}

/// setsid(2): EPERM when a process group with the caller's pid exists
/// (in particular when the caller leads one).
pub fn setsid(task: &mut Task, _: Args) -> Result<u64> {
    if task.pgid == task.tgid || !task.kernel.processes.live_pids(Some(task.tgid)).is_empty() {
        return Err(Errno::EPERM);
    }
    task.sid = task.tgid;
    task.pgid = task.tgid;
    task.kernel.processes.set_pgid(task.tgid, task.pgid)?;
    task.kernel.processes.set_session(task.tgid, task.sid);
    Ok(task.sid as u64)
}

/// waitid(2) for P_ALL, P_PID and P_PGID, with WEXITED, WNOHANG and WNOWAIT.
pub fn waitid(task: &mut Task, a: Args) -> Result<u64> {
    const P_ALL: i32 = 0;
    const P_PID: i32 = 1;
    const P_PGID: i32 = 2;
    let (idtype, id, infop, options) = (a.i32(0), a.i32(1), a.u64(2), a.i32(3));
    let valid = libc::WNOHANG
        | libc::WNOWAIT
        | libc::WEXITED
        | libc::WSTOPPED
        | libc::WCONTINUED
        | libc::__WNOTHREAD
        | libc::__WALL
        | libc::__WCLONE;
    if options & !valid != 0 || options & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let target = match idtype {
        P_ALL => WaitTarget::Any,
        P_PID if id > 0 => WaitTarget::Pid(id),
        P_PGID if id >= 0 => WaitTarget::Group(if id == 0 { task.pgid } else { id }),
        _ => return Err(Errno::EINVAL),
    };
    let opts = WaitOptions {
        exited: options & libc::WEXITED != 0,
        stopped: options & libc::WSTOPPED != 0,
        continued: options & libc::WCONTINUED != 0,
        nohang: options & libc::WNOHANG != 0,
        consume: options & libc::WNOWAIT == 0,
        clone_only: options & libc::__WCLONE != 0,
        all: options & libc::__WALL != 0,
    };
    let found = task.kernel.processes.wait_opts(task.tgid, target, opts)?;
    // waitid's fifth argument (the raw syscall's): a struct rusage.
    let usage = match found {
        Some((pid, event)) if opts.consume => reaped_usage(task, pid, event),
        _ => super::misc::encode_usage(Default::default(), [0; 14]),
    };
    if a.u64(4) != 0 {
        task.mm.write(a.u64(4), &usage)?;
    }
    if infop == 0 {
        return Ok(0);
    }
    let mut info = [0u8; 128];
    if let Some((pid, event)) = found {
        let (code, value) = event.sigchld_code();
        info[0..4].copy_from_slice(&libc::SIGCHLD.to_le_bytes());
        info[8..12].copy_from_slice(&code.to_le_bytes());
        info[16..20].copy_from_slice(&pid.to_le_bytes());
        info[20..24].copy_from_slice(&task.creds.uid.to_le_bytes());
        info[24..28].copy_from_slice(&value.to_le_bytes());
    }
    task.mm.write(infop, &info)?;
    Ok(0)
}

/// The struct rusage wait4(2) and waitid(2) report for `child`: its CPU
/// time once it has exited and been reaped (zeros for a stop or continue).
fn reaped_usage(task: &Task, child: i32, event: crate::kernel::process::WaitEvent) -> [u8; 144] {
    let (usage, maxrss_kb) = match event {
        crate::kernel::process::WaitEvent::Exited(_) => task.kernel.proc_attrs.take_exited_cpu(child),
        _ => Default::default(),
    };
    let mut longs = [0i64; 14];
    longs[super::misc::RU_MAXRSS] = maxrss_kb as i64;
    super::misc::encode_usage(usage, longs)
}

pub fn getsid(task: &mut Task, a: Args) -> Result<u64> {
    let pid = a.i32(0);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == task.tgid {
        return Ok(task.sid as u64);
    }
    let (sid, _) = task.kernel.processes.session_of(pid).ok_or(Errno::ESRCH)?;
    Ok(sid as u64)
}

/// setpgid(2): the caller or one of its children, into a new group or an
/// existing group of the caller's session.
pub fn setpgid(task: &mut Task, a: Args) -> Result<u64> {
    let (pid, pgid) = (a.i32(0), a.i32(1));
    if pgid < 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let table = &task.kernel.processes;
    let target = if pid == 0 { task.tgid } else { pid };
    let (target_sid, execed) = table.session_of(target).ok_or(Errno::ESRCH)?;
    if target != task.tgid {
        let (ppid, _) = table.parent_and_group(target).ok_or(Errno::ESRCH)?;
        if ppid != task.tgid {
            return Err(Errno::ESRCH);
        }
        if target_sid != task.sid {
            return Err(Errno::EPERM);
        }
        if execed {
            return Err(Errno::EACCES);
        }
    }
    // A session leader cannot change its process group.
    if target_sid == target {
        return Err(Errno::EPERM);
    }
    let pgid = if pgid == 0 { target } else { pgid };
    if pgid != target {
        let group_in_session = table
            .live_pids(Some(pgid))
            .into_iter()
            .any(|p| table.session_of(p).is_some_and(|(sid, _)| sid == task.sid));
        if !group_in_session {
            return Err(Errno::EPERM);
        }
    }
    table.set_pgid(target, pgid)?;
    if target == task.tgid {
        task.pgid = pgid;
    }
    Ok(0)
}

pub fn exit(task: &mut Task, a: Args) -> Result<u64> {
    task.thread_exit_only = true;
    task.exit_status = Some(ExitStatus::Exited(a.i32(0) & 0xff));
    Ok(0)
}

pub fn exit_group(task: &mut Task, a: Args) -> Result<u64> {
    let status = ExitStatus::Exited(a.i32(0) & 0xff);
    task.group.begin_group_exit(status, task.tid);
    task.exit_status = Some(status);
    Ok(0)
}

pub fn wait4(task: &mut Task, a: Args) -> Result<u64> {
    const VALID: i32 =
        libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED | libc::__WNOTHREAD | libc::__WALL | libc::__WCLONE;
    let (pid, status_addr, options, rusage) = (a.i32(0), a.u64(1), a.i32(2), a.u64(3));
    if options & !VALID != 0 || pid == i32::MIN {
        return Err(Errno::EINVAL);
    }
    let target = match pid {
        -1 => WaitTarget::Any,
        0 => WaitTarget::Group(task.pgid),
        p if p < 0 => WaitTarget::Group(-p),
        p => WaitTarget::Pid(p),
    };
    let opts = WaitOptions {
        exited: true,
        stopped: options & libc::WUNTRACED != 0,
        continued: options & libc::WCONTINUED != 0,
        nohang: options & libc::WNOHANG != 0,
        consume: true,
        clone_only: options & libc::__WCLONE != 0,
        all: options & libc::__WALL != 0,
    };
    let Some((child, status)) = task.kernel.processes.wait_opts(task.tgid, target, opts)? else {
        return Ok(0);
    };
    if status_addr != 0 {
        task.mm.write_val(status_addr, &wait_status(status))?;
    }
    // Taken whether or not it is asked for: the child is gone.
    let usage = reaped_usage(task, child, status);
    if rusage != 0 {
        task.mm.write(rusage, &usage)?;
    }
    Ok(child as u64)
}

/// clone(2) flags this kernel accepts for a new process.
const PROCESS_CLONE_FLAGS: u64 = (libc::CSIGNAL
    | libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_VFORK
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_SETTID
    | libc::CLONE_CHILD_CLEARTID
    | libc::CLONE_SETTLS
    | libc::CLONE_SYSVSEM) as u64;

/// Extra flags a thread clone may carry.
const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;

fn unsupported_clone(task: &Task, f: u64) -> Result<u64> {
    if task.kernel.first_report(u64::MAX - f) {
        tracing::warn!("clone with flags {f:#x} is not supported yet: ENOSYS");
    }
    Err(Errno::ENOSYS)
}

fn do_clone(task: &mut Task, req: CloneRequest) -> Result<u64> {
    let f = req.flags;
    let has = |flag: i32| f & flag as u64 != 0;
    // clone(2) EINVAL rules.
    if (has(libc::CLONE_THREAD) && !has(libc::CLONE_SIGHAND)) || (has(libc::CLONE_SIGHAND) && !has(libc::CLONE_VM)) {
        return Err(Errno::EINVAL);
    }
    let namespaces = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP;
    if f & namespaces as u64 != 0 {
        return Err(Errno::EPERM);
    }
    if has(libc::CLONE_THREAD) {
        if f & !(PROCESS_CLONE_FLAGS | THREAD_CLONE_FLAGS) != 0 || !has(libc::CLONE_FILES) {
            return unsupported_clone(task, f);
        }
        return Ok(task.clone_thread(req)? as u64);
    }
    // A shared address space without vfork or threads (a second process
    // sharing memory) needs shared address-space updates: not yet.
    if f & !PROCESS_CLONE_FLAGS != 0 || (has(libc::CLONE_VM) && !has(libc::CLONE_VFORK)) {
        if task.kernel.first_report(u64::MAX - f) {
            tracing::warn!("clone with flags {f:#x} is not supported yet: ENOSYS");
        }
        return Err(Errno::ENOSYS);
    }
    Ok(task.clone_process(req)? as u64)
}

pub fn clone(task: &mut Task, a: Args) -> Result<u64> {
    let req = CloneRequest {
        flags: a.u64(0),
        stack: a.u64(1),
        parent_tid: a.u64(2),
        child_tid: a.u64(3),
        tls: a.u64(4),
    };
    do_clone(task, req)
}

pub fn fork(task: &mut Task, _: Args) -> Result<u64> {
    do_clone(
        task,
        CloneRequest {
            flags: libc::SIGCHLD as u64,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        },
    )
}

/// clone3(2): struct clone_args, at least the 64-byte first version.
pub fn clone3(task: &mut Task, a: Args) -> Result<u64> {
    const CLONE_ARGS_SIZE_VER0: usize = 64;
    const CLONE_PIDFD: u64 = 0x1000;
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
    /// MAX_PID_NS_LEVEL: the most pids set_tid may name.
    const MAX_SET_TID: u64 = 32;
    let size = a.usize(1);
    // A struct larger than a page is E2BIG, one below the first version EINVAL.
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    let raw = task.mm.read_vec(a.u64(0), size)?;
    let field = |i: usize| {
        raw.get(i * 8..i * 8 + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    // Fields past those we know must be zero (clone3: E2BIG).
    if raw.len() > 88 && raw[88..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let (flags, child_tid, parent_tid, exit_signal) = (field(0), field(2), field(3), field(4));
    let (stack, stack_size, tls, set_tid, set_tid_size) = (field(5), field(6), field(7), field(8), field(9));
    if set_tid_size > MAX_SET_TID {
        return Err(Errno::EINVAL);
    }
    if flags & 0xff != 0 || exit_signal > 64 || (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    // clone3(2): CLONE_CLEAR_SIGHAND contradicts a shared handler table.
    if flags & CLONE_CLEAR_SIGHAND != 0 && flags & libc::CLONE_SIGHAND as u64 != 0 {
        return Err(Errno::EINVAL);
    }
    if set_tid != 0 || set_tid_size != 0 {
        return Err(Errno::EPERM);
    }
    // glibc fills `pidfd` even without CLONE_PIDFD; the kernel ignores it then.
    if flags & (CLONE_PIDFD | CLONE_INTO_CGROUP) != 0 {
        return unsupported_clone(task, flags);
    }
    let stack_top = if stack == 0 {
        0
    } else {
        stack.checked_add(stack_size).ok_or(Errno::EINVAL)?
    };
    do_clone(
        task,
        CloneRequest {
            flags: flags | exit_signal,
            stack: stack_top,
            parent_tid,
            child_tid,
            tls,
        },
    )
}

pub fn vfork(task: &mut Task, _: Args) -> Result<u64> {
    let flags = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
    do_clone(
        task,
        CloneRequest {
            flags,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        },
    )
}

/// Reads a NULL-terminated array of string pointers (argv or envp).
fn read_string_array(task: &Task, addr: u64) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0;
    for i in 0.. {
        let ptr: u64 = task.mm.read_val(addr + i * 8)?;
        if ptr == 0 {
            break;
        }
        let s = task.mm.read_cstring(ptr, ARG_MAX)?;
        // One string may not exceed MAX_ARG_STRLEN (32 pages) with its NUL.
        if s.len() + 1 > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        total += s.len() + 1;
        if total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

/// execveat(2): the path is resolved against `dirfd`; AT_EMPTY_PATH runs
/// the open file itself (fexecve).
pub fn execveat(task: &mut Task, a: Args) -> Result<u64> {
    let (dirfd, flags) = (a.fd(0), a.i32(4));
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(task, a.u64(1))?;
    let full = if path.first() == Some(&b'/') || (dirfd == libc::AT_FDCWD && !path.is_empty()) {
        path
    } else if path.is_empty() {
        if flags & libc::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        task.fds.get(dirfd)?.dentry.path.clone()
    } else {
        let dir = if dirfd == libc::AT_FDCWD {
            task.fs().cwd.clone()
        } else {
            task.fds.get(dirfd)?.dentry.clone()
        };
        dir.child_path(&path)
    };
    if flags & libc::AT_SYMLINK_NOFOLLOW != 0 {
        let d = task.fs().resolve(&task.fs().root, &full, false)?;
        if d.inode.stat()?.is_symlink() {
            return Err(Errno::ELOOP);
        }
    }
    let argv = read_string_array(task, a.u64(2))?;
    let envp = read_string_array(task, a.u64(3))?;
    task.exec(&full, argv, envp)?;
    Ok(0)
}

pub fn execve(task: &mut Task, a: Args) -> Result<u64> {
    let path = path_arg(task, a.u64(0))?;
    let argv = read_string_array(task, a.u64(1))?;
    let envp = read_string_array(task, a.u64(2))?;
    task.exec(&path, argv, envp)?;
    Ok(0)
}

/// Fills a struct utsname field (65 bytes, NUL-padded).
fn uts_field(s: &[u8]) -> [u8; 65] {
    let mut f = [0u8; 65];
    let n = s.len().min(64);
    f[..n].copy_from_slice(&s[..n]);
    f
}

pub fn uname(task: &mut Task, a: Args) -> Result<u64> {
    let lock = |m: &std::sync::Mutex<Vec<u8>>| m.lock().map(|v| v.clone()).unwrap_or_default();
    let hostname = lock(&task.kernel.hostname);
    let domain = lock(&task.kernel.domainname);
    let mut buf = Vec::with_capacity(65 * 6);
    for field in [
        b"Linux".as_slice(),
        &hostname,
        KERNEL_RELEASE.as_bytes(),
        KERNEL_VERSION.as_bytes(),
        b"x86_64",
        &domain,
    ] {
        buf.extend_from_slice(&uts_field(field));
    }
    task.mm.write(a.u64(0), &buf)?;
    Ok(0)
}

/// sethostname(2): needs CAP_SYS_ADMIN (EPERM, checked first), at most
/// 64 bytes (EINVAL, a negative length too), then the name is read (EFAULT).
pub fn sethostname(task: &mut Task, a: Args) -> Result<u64> {
    let name = read_uts_name(task, a)?;
    set_uts(&task.kernel.hostname, name)
}

/// setdomainname(2): the same rules as sethostname.
pub fn setdomainname(task: &mut Task, a: Args) -> Result<u64> {
    let name = read_uts_name(task, a)?;
    set_uts(&task.kernel.domainname, name)
}

fn read_uts_name(task: &Task, a: Args) -> Result<Vec<u8>> {
    const NEW_UTS_LEN: i32 = 64;
    if !task.creds.capable(super::creds::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let len = a.i32(1);
    if !(0..=NEW_UTS_LEN).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut name = vec![0u8; len as usize];
    task.mm.read(a.u64(0), &mut name)?;
    Ok(name)
}

fn set_uts(field: &std::sync::Mutex<Vec<u8>>, name: Vec<u8>) -> Result<u64> {
    *field.lock().map_err(|_| Errno::EIO)? = name;
    Ok(0)
}

pub fn sysinfo(task: &mut Task, a: Args) -> Result<u64> {
    // SAFETY: all-zero is valid for struct sysinfo; the host fills it.
    let mut host: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::sysinfo(&mut host) };
    let mut b = [0u8; 112];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, task.kernel.uptime().as_secs());
    put(32, host.totalram);
    put(40, host.freeram);
    put(48, host.sharedram);
    put(56, host.bufferram);
    // procs: the number of threads in the sandbox (Linux's nr_threads).
    let procs = task.kernel.procs.thread_count().clamp(1, u16::MAX as usize) as u16;
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&host.mem_unit.to_le_bytes());
    task.mm.write(a.u64(0), &b)?;
    Ok(0)
}

pub fn getrandom(task: &mut Task, a: Args) -> Result<u64> {
    let (addr, len, flags) = (a.u64(0), a.usize(1), a.u32(2));
    let both = libc::GRND_RANDOM | libc::GRND_INSECURE;
    if flags & !(libc::GRND_NONBLOCK | both) != 0 || flags & both == both {
        return Err(Errno::EINVAL);
    }
    let len = len.min(1 << 25);
    let mut buf = vec![0u8; len];
    // SAFETY: fills our own buffer.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), len, 0) };
    if n < 0 {
        return Err(Errno::last());
    }
    task.mm.write(addr, &buf[..n as usize])?;
    Ok(n as u64)
}

pub fn sched_yield(_task: &mut Task, _: Args) -> Result<u64> {
    std::thread::yield_now();
    Ok(0)
}

pub fn sched_getaffinity(task: &mut Task, a: Args) -> Result<u64> {
    let pid = a.i32(0);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid != task.tgid && pid != task.tid && task.kernel.processes.parent_and_group(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    let size = a.usize(1);
    // The kernel's cpumask size on this machine, rounded to longs.
    let ncpus = crate::fs::proc_sys::allowed_cpu_count();
    let needed = ncpus.div_ceil(64) * 8;
    if size < needed || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let target = if pid == 0 || pid == task.tid { task.tgid } else { pid };
    let allowed = super::sched::cpu_mask(task, target, ncpus);
    let mut mask = vec![0u8; needed];
    for cpu in (0..ncpus.min(64)).filter(|&c| allowed & (1 << c) != 0) {
        mask[cpu / 8] |= 1 << (cpu % 8);
    }
    task.mm.write(a.u64(2), &mask)?;
    Ok(needed as u64)
}

pub fn set_tid_address(task: &mut Task, a: Args) -> Result<u64> {
    task.clear_child_tid = a.u64(0);
    Ok(task.tid as u64)
}

pub fn set_robust_list(task: &mut Task, a: Args) -> Result<u64> {
    // sizeof(struct robust_list_head) on x86-64.
    if a.u64(1) != 24 {
        return Err(Errno::EINVAL);
    }
    task.robust_list = (a.u64(0), a.u64(1));
    Ok(0)
}

pub fn arch_prctl(task: &mut Task, a: Args) -> Result<u64> {
    const ARCH_SET_GS: i32 = 0x1001;
    const ARCH_SET_FS: i32 = 0x1002;
    const ARCH_GET_FS: i32 = 0x1003;
    const ARCH_GET_GS: i32 = 0x1004;
    let addr = a.u64(1);
    match a.i32(0) {
        ARCH_SET_FS | ARCH_SET_GS if addr >= task.mm.max_addr() => Err(Errno::EPERM),
        ARCH_SET_FS => {
            task.regs.fs_base = addr;
            Ok(0)
        }
        ARCH_SET_GS => {
            task.regs.gs_base = addr;
            Ok(0)
        }
        ARCH_GET_FS => task.mm.write_val(addr, &task.regs.fs_base).map(|_| 0),
        ARCH_GET_GS => task.mm.write_val(addr, &task.regs.gs_base).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn check_resource(resource: u32) -> Result<usize> {
    if resource as usize >= 16 {
        return Err(Errno::EINVAL);
    }
    Ok(resource as usize)
}

/// The checks of setrlimit(2) for changing limit `idx` from `old` to `new`.
fn check_new_limit(idx: usize, old: (u64, u64), new: (u64, u64)) -> Result<()> {
    if new.0 > new.1 {
        return Err(Errno::EINVAL);
    }
    // Raising the hard limit needs CAP_SYS_RESOURCE (setrlimit(2)); the
    // sandbox has none for its guest.
    if new.1 > old.1 {
        return Err(Errno::EPERM);
    }
    if idx == libc::RLIMIT_NOFILE as usize && new.1 > 1024 * 1024 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

fn set_limit(task: &mut Task, idx: usize, new: (u64, u64)) -> Result<()> {
    check_new_limit(idx, task.rlimits[idx], new)?;
    if idx == libc::RLIMIT_NOFILE as usize {
        task.fds.set_limit(new.0);
    }
    task.rlimits[idx] = new;
    task.publish(); // /proc/PID/limits
    Ok(())
}

pub fn getrlimit(task: &mut Task, a: Args) -> Result<u64> {
    let idx = check_resource(a.u32(0))?;
    let (soft, hard) = task.rlimits[idx];
    task.mm.write_val(a.u64(1), &[soft, hard])?;
    Ok(0)
}

pub fn setrlimit(task: &mut Task, a: Args) -> Result<u64> {
    let idx = check_resource(a.u32(0))?;
    let new: [u64; 2] = task.mm.read_val(a.u64(1))?;
    set_limit(task, idx, (new[0], new[1]))?;
    Ok(0)
}

/// prlimit(2) on another process needs the caller's real ids to be all
/// of the target's real, effective and saved ids, or CAP_SYS_RESOURCE.
fn may_prlimit(task: &Task, target: &crate::kernel::task::Credentials) -> Result<()> {
    let c = &task.creds;
    let ids_match = [target.uid, target.euid, target.suid].iter().all(|&u| u == c.uid)
        && [target.gid, target.egid, target.sgid].iter().all(|&g| g == c.gid);
    if ids_match || c.capable(super::creds::CAP_SYS_RESOURCE) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// prlimit(2) on process `pid`: the new limits wait in its thread group
/// until it next enters the Sentry; reads see them at once.
fn prlimit_other(task: &Task, pid: i32, idx: usize, new: Option<[u64; 2]>, old_addr: u64) -> Result<u64> {
    let group = task
        .kernel
        .groups
        .lock()
        .map_err(|_| Errno::EIO)?
        .get(&pid)
        .and_then(std::sync::Weak::upgrade)
        .ok_or(Errno::ESRCH)?;
    let creds = task.kernel.procs.creds_of(pid).ok_or(Errno::ESRCH)?;
    may_prlimit(task, &creds)?;
    let mut update = group.rlimit_update.lock().map_err(|_| Errno::EIO)?;
    let mut limits = match *update {
        Some(limits) => limits,
        None => task.kernel.procs.rlimits_of(pid).ok_or(Errno::ESRCH)?,
    };
    let old = limits[idx];
    if let Some(new) = new {
        check_new_limit(idx, old, (new[0], new[1]))?;
        limits[idx] = (new[0], new[1]);
        *update = Some(limits);
    }
    drop(update);
    if old_addr != 0 {
        task.mm.write_val(old_addr, &[old.0, old.1])?;
    }
    Ok(0)
}

pub fn prlimit64(task: &mut Task, a: Args) -> Result<u64> {
    let pid = a.i32(0);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let idx = check_resource(a.u32(1))?;
    let new = if a.u64(2) != 0 {
        Some(task.mm.read_val::<[u64; 2]>(a.u64(2))?)
    } else {
        None
    };
    if pid != 0 && pid != task.tgid {
        return prlimit_other(task, pid, idx, new, a.u64(3));
    }
    let (soft, hard) = task.rlimits[idx];
    if a.u64(3) != 0 {
        task.mm.write_val(a.u64(3), &[soft, hard])?;
    }
    if let Some(new) = new {
        set_limit(task, idx, (new[0], new[1]))?;
    }
    Ok(0)
}

pub fn futex(task: &mut Task, a: Args) -> Result<u64> {
    const FUTEX_CMD_MASK: i32 = !(libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME);
    let (addr, op, val, timeout, addr2, val3) = (a.u64(0), a.i32(1), a.u32(2), a.u64(3), a.u64(4), a.u32(5));
    if addr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = op & FUTEX_CMD_MASK;
    // FUTEX_CLOCK_REALTIME is only for the absolute-time operations
    // (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2); a
    // timeout is still checked first, as Linux reads it before the op.
    if op & libc::FUTEX_CLOCK_REALTIME != 0 && !matches!(cmd, libc::FUTEX_WAIT_BITSET | 11 | 13) {
        if cmd == libc::FUTEX_WAIT {
            futex_deadline(task, cmd, op, timeout)?;
        }
        return Err(Errno::ENOSYS);
    }
    let private = op & libc::FUTEX_PRIVATE_FLAG != 0;
    let futexes = &task.kernel.futexes;
    match cmd {
        libc::FUTEX_WAIT | libc::FUTEX_WAIT_BITSET => {
            let bitset = if cmd == libc::FUTEX_WAIT { u32::MAX } else { val3 };
            let deadline = futex_deadline(task, cmd, op, timeout)?;
            let req = WaitRequest {
                addr,
                private,
                val,
                bitset,
                deadline,
            };
            futexes.wait(&task.mm, &task.signal_queue, task.signals.mask, req)?;
            Ok(0)
        }
        libc::FUTEX_WAKE => futexes.wake(&task.mm, private, addr, val, u32::MAX),
        libc::FUTEX_WAKE_BITSET => futexes.wake(&task.mm, private, addr, val, val3),
        // For the requeue operations the "timeout" argument is val2.
        libc::FUTEX_REQUEUE => futexes.requeue(&task.mm, private, addr, addr2, val, timeout as u32, None),
        libc::FUTEX_CMP_REQUEUE => futexes.requeue(&task.mm, private, addr, addr2, val, timeout as u32, Some(val3)),
        libc::FUTEX_WAKE_OP => futexes.wake_op(&task.mm, private, addr, addr2, val, timeout as u32, val3),
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_TRYLOCK_PI => {
            // LOCK_PI's timeout is absolute on CLOCK_REALTIME; LOCK_PI2's on
            // CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
            let realtime = cmd == FUTEX_LOCK_PI || op & libc::FUTEX_CLOCK_REALTIME != 0;
            let deadline = match (cmd, timeout) {
                (FUTEX_TRYLOCK_PI, _) | (_, 0) => None,
                _ => {
                    let ts: [i64; 2] = task.mm.read_val(timeout)?;
                    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
                        return Err(Errno::EINVAL);
                    }
                    std::time::Instant::now().checked_add(super::time::until_absolute(realtime, ts)?)
                }
            };
            let req = PiLockRequest {
                addr,
                private,
                tid: task.tid,
                deadline,
                try_only: cmd == FUTEX_TRYLOCK_PI,
            };
            let exists = |tid: i32| task.kernel.tgid_of_thread(tid).is_some();
            futexes.lock_pi(&task.mm, &task.signal_queue, task.signals.mask, req, &exists)?;
            Ok(0)
        }
        FUTEX_UNLOCK_PI => futexes.unlock_pi(&task.mm, private, addr, task.tid).map(|_| 0),
        _ => Err(Errno::ENOSYS),
    }
}

/// futex(2) priority-inheritance operations.
const FUTEX_LOCK_PI: i32 = 6;
const FUTEX_UNLOCK_PI: i32 = 7;
const FUTEX_TRYLOCK_PI: i32 = 8;
const FUTEX_LOCK_PI2: i32 = 13;

/// FUTEX_WAIT takes a relative timeout; FUTEX_WAIT_BITSET an absolute one
/// on CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME.
fn futex_deadline(task: &Task, cmd: i32, op: i32, timeout: u64) -> Result<Option<std::time::Instant>> {
    if timeout == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = task.mm.read_val(timeout)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    let wait = if cmd == libc::FUTEX_WAIT {
        std::time::Duration::new(ts[0] as u64, ts[1] as u32)
    } else {
        super::time::until_absolute(op & libc::FUTEX_CLOCK_REALTIME != 0, ts)?
    };
    // Past the end of Instant's range: no deadline.
    Ok(std::time::Instant::now().checked_add(wait))
}
