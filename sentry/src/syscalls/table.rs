//! The syscall table: one line per implemented syscall (number, name,
//! handler, support level, argument kinds for strace). Syscalls not listed
//! here return ENOSYS and are logged once. `docs/compatibility.md` is
//! generated from this table (`runsc compat`).
//!
//! Argument kinds: `f` fd, `d` decimal, `s` string (path), `x` hex.

use super::names::NAMES;
use super::{file, mem, process, signal, time, Handler};

/// How completely a syscall follows Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Full,
    /// Implemented with the documented limits.
    Partial(&'static str),
}

pub struct Entry {
    pub nr: u64,
    pub name: &'static str,
    pub handler: Option<Handler>,
    pub support: Support,
    pub args: &'static str,
}

macro_rules! table {
    ($( $nr:literal $name:ident $handler:path, $support:expr, $args:literal; )*) => {
        pub static TABLE: &[Entry] = &[
            $(Entry { nr: $nr, name: stringify!($name), handler: Some($handler), support: $support, args: $args },)*
        ];
    };
}

use Support::{Full, Partial};

table! {
    0 read file::read, Full, "fxd";
    1 write file::write, Full, "fxd";
    2 open file::open, Full, "sxx";
    3 close file::close, Full, "f";
    4 stat file::stat, Full, "sx";
    5 fstat file::fstat, Full, "fx";
    6 lstat file::lstat, Full, "sx";
    8 lseek file::lseek, Full, "fdd";
    9 mmap mem::mmap, Partial("MAP_SHARED file mappings are private copies; no MAP_HUGETLB"), "xdxxfx";
    10 mprotect mem::mprotect, Full, "xdx";
    11 munmap mem::munmap, Full, "xd";
    12 brk mem::brk, Full, "x";
    13 rt_sigaction signal::rt_sigaction, Full, "dxxd";
    14 rt_sigprocmask signal::rt_sigprocmask, Full, "dxxd";
    15 rt_sigreturn signal::rt_sigreturn, Partial("x87/SSE state only (no AVX upper halves)"), "";
    16 ioctl file::ioctl, Partial("TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, FIONREAD on host ttys; FIOCLEX, FIONCLEX, FIONBIO"), "fxx";
    17 pread64 file::pread64, Full, "fxdd";
    18 pwrite64 file::pwrite64, Full, "fxdd";
    19 readv file::readv, Full, "fxd";
    20 writev file::writev, Full, "fxd";
    21 access file::access, Full, "sx";
    22 pipe file::pipe, Full, "x";
    24 sched_yield process::sched_yield, Full, "";
    25 mremap mem::mremap, Full, "xddxx";
    28 madvise mem::madvise, Partial("MADV_DONTNEED and MADV_FREE zero anonymous pages; other advice is accepted and ignored"), "xdd";
    32 dup file::dup, Full, "f";
    33 dup2 file::dup2, Full, "ff";
    34 pause signal::pause, Full, "";
    35 nanosleep time::nanosleep, Partial("EINTR does not write the remaining time"), "xx";
    39 getpid process::getpid, Full, "";
    56 clone process::clone, Partial("threads share fds and memory but copy cwd and signal actions; no namespaces (EPERM); fork copies touched pages eagerly"), "xxxxx";
    57 fork process::fork, Partial("copies touched pages eagerly (no copy-on-write yet)"), "";
    58 vfork process::vfork, Full, "";
    59 execve process::execve, Full, "sxx";
    60 exit process::exit, Full, "d";
    61 wait4 process::wait4, Partial("no stopped or continued children; rusage is zero"), "dxxx";
    62 kill signal::kill, Partial("no permission checks between sandbox users; stop/continue are ignored"), "dd";
    63 uname process::uname, Full, "x";
    72 fcntl file::fcntl, Partial("F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL; no locks"), "fdx";
    74 fsync file::fsync, Full, "f";
    75 fdatasync file::fsync, Full, "f";
    79 getcwd file::getcwd, Full, "xd";
    80 chdir file::chdir, Full, "s";
    81 fchdir file::fchdir, Full, "f";
    83 mkdir file::mkdir, Full, "sx";
    84 rmdir file::rmdir, Full, "s";
    87 unlink file::unlink, Full, "s";
    89 readlink file::readlink, Full, "sxd";
    95 umask file::umask, Full, "x";
    96 gettimeofday time::gettimeofday, Full, "xx";
    97 getrlimit process::getrlimit, Full, "dx";
    99 sysinfo process::sysinfo, Full, "x";
    100 times time::times, Partial("CPU times of the Sentry thread"), "x";
    102 getuid process::getuid, Full, "";
    104 getgid process::getgid, Full, "";
    107 geteuid process::geteuid, Full, "";
    108 getegid process::getegid, Full, "";
    109 setpgid process::setpgid, Partial("no check that the target group exists in the session"), "dd";
    110 getppid process::getppid, Full, "";
    111 getpgrp process::getpgrp, Full, "";
    115 getgroups process::getgroups, Full, "dx";
    121 getpgid process::getpgid, Full, "d";
    124 getsid process::getsid, Full, "d";
    127 rt_sigpending signal::rt_sigpending, Full, "xd";
    130 rt_sigsuspend signal::rt_sigsuspend, Full, "xd";
    131 sigaltstack signal::sigaltstack, Full, "xx";
    158 arch_prctl process::arch_prctl, Partial("ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS"), "xx";
    160 setrlimit process::setrlimit, Full, "dx";
    186 gettid process::gettid, Full, "";
    200 tkill signal::tkill, Full, "dd";
    201 time time::time, Full, "x";
    202 futex process::futex, Partial("no PI futexes (ENOSYS)"), "xdxxxx";
    204 sched_getaffinity process::sched_getaffinity, Full, "ddx";
    217 getdents64 file::getdents64, Full, "fxd";
    218 set_tid_address process::set_tid_address, Full, "x";
    221 fadvise64 file::fadvise64, Full, "fddd";
    228 clock_gettime time::clock_gettime, Partial("CPU-time clocks report the Sentry thread"), "dx";
    229 clock_getres time::clock_getres, Full, "dx";
    230 clock_nanosleep time::clock_nanosleep, Partial("EINTR does not write the remaining time"), "ddxx";
    231 exit_group process::exit_group, Full, "d";
    234 tgkill signal::tgkill, Full, "ddd";
    257 openat file::openat, Partial("no O_TMPFILE"), "fsxx";
    258 mkdirat file::mkdirat, Full, "fsx";
    262 newfstatat file::newfstatat, Full, "fsxx";
    263 unlinkat file::unlinkat, Full, "fsx";
    267 readlinkat file::readlinkat, Full, "fsxd";
    269 faccessat file::faccessat, Full, "fsx";
    273 set_robust_list process::set_robust_list, Partial("recorded; robust futexes are not walked at exit yet"), "xd";
    292 dup3 file::dup3, Full, "ffx";
    293 pipe2 file::pipe2, Partial("O_DIRECT (packet mode) is accepted but the pipe stays a byte stream"), "xx";
    302 prlimit64 process::prlimit64, Full, "ddxx";
    318 getrandom process::getrandom, Full, "xdx";
    332 statx file::statx, Full, "fsxxx";
    439 faccessat2 file::faccessat2, Full, "fsxx";
}

/// The name of syscall `nr`, whether implemented or not.
pub fn name_of(nr: u64) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == nr).map(|(_, name)| *name)
}
