//! The syscall table: one line per implemented syscall (number, name,
//! handler, support level, argument kinds for strace). Syscalls not listed
//! here return ENOSYS and are logged once. `docs/compatibility.md` is
//! generated from this table (`runsc compat`).
//!
//! Argument kinds: `f` fd, `d` decimal, `s` string (path), `x` hex.

use super::names::NAMES;
use super::{
    creds, epoll, eventfd, file, fileattr, locks, mem, misc, paths, poll, process, sched, signal, signalfd, socket,
    time, timers, xattr, xfer, Handler,
};

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
    7 poll poll::poll, Partial("host streams (and files that give no readiness notification) are re-checked every 10 ms while waiting"), "xdd";
    8 lseek file::lseek, Full, "fdd";
    9 mmap mem::mmap, Partial("file mappings show one page cache per file (private ones copy-on-write, 64 KiB at a time); shared stores are written back on msync, exit, the last munmap, and before read, fsync and truncation, without dirty tracking (every cached page of the range); no MAP_HUGETLB"), "xdxxfx";
    10 mprotect mem::mprotect, Full, "xdx";
    11 munmap mem::munmap, Full, "xd";
    12 brk mem::brk, Full, "x";
    13 rt_sigaction signal::rt_sigaction, Full, "dxxd";
    14 rt_sigprocmask signal::rt_sigprocmask, Full, "dxxd";
    15 rt_sigreturn signal::rt_sigreturn, Partial("x87/SSE state only (no AVX upper halves)"), "";
    16 ioctl file::ioctl, Partial("FIOCLEX, FIONCLEX, FIONBIO, FIGETBSZ, FIOASYNC (pipes, sockets and terminals; O_ASYNC is recorded, no SIGIO is sent); FIONREAD on pipes; host ttys: TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, FIONREAD; ptys: TCGETS, TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ, TIOCSWINSZ (SIGWINCH), TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER, TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID, FIONREAD, TIOCOUTQ, TCFLSH, TCSBRK, TIOCGETD; SIGTTOU for background groups on TCSETS*, TIOCSPGRP, TCFLSH, TCSBRK*; no TIOCPKT, TIOCSTI or termios2; sockets: netdevice(7) SIOCGIFCONF, SIOCGIFNAME, SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC, and on AF_INET SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR; SIOCSIF* are EPERM (EOPNOTSUPP with CAP_NET_ADMIN)"), "fxx";
    17 pread64 file::pread64, Full, "fxdd";
    18 pwrite64 file::pwrite64, Full, "fxdd";
    19 readv file::readv, Full, "fxd";
    20 writev file::writev, Full, "fxd";
    21 access file::access, Full, "sx";
    22 pipe file::pipe, Full, "x";
    23 select poll::select, Partial("host streams (and files that give no readiness notification) are re-checked every 10 ms while waiting"), "dxxxx";
    24 sched_yield process::sched_yield, Full, "";
    25 mremap mem::mremap, Full, "xddxx";
    26 msync mem::msync, Partial("MS_ASYNC writes back at once like MS_SYNC; MS_INVALIDATE only checks for locked pages"), "xdx";
    27 mincore mem::mincore, Full, "xdx";
    28 madvise mem::madvise, Partial("DONTNEED/FREE drop private pages, REMOVE frees shared anonymous memory (EOPNOTSUPP on files), DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK; other advice is accepted and ignored"), "xdd";
    32 dup file::dup, Full, "f";
    33 dup2 file::dup2, Full, "ff";
    34 pause signal::pause, Full, "";
    35 nanosleep time::nanosleep, Full, "xx";
    36 getitimer timers::getitimer, Partial("ITIMER_VIRTUAL and ITIMER_PROF count elapsed time, not CPU time"), "dx";
    37 alarm timers::alarm, Full, "d";
    38 setitimer timers::setitimer, Partial("ITIMER_VIRTUAL and ITIMER_PROF count elapsed time, not CPU time"), "dxx";
    39 getpid process::getpid, Full, "";
    40 sendfile xfer::sendfile, Partial("copies through the Sentry in 1 MiB chunks; the source must be a regular file or device"), "ffxd";
    41 socket socket::socket, Partial("AF_UNIX, and AF_INET/AF_INET6 TCP, UDP, ICMP echo (ping) datagrams and raw ICMP on the Sentry's stack (docs/networking.md; with --network=host, host sockets), and AF_NETLINK NETLINK_ROUTE (links, addresses, routes and neighbours, read-only; docs/network-config.md); raw sockets of other protocols and other netlink protocols are EPROTONOSUPPORT, other families EAFNOSUPPORT"), "ddd";
    42 connect socket::connect, Partial("inet: local addresses, and with --network=sandbox those routed out of a taken-over interface (others ENETUNREACH)"), "fxd";
    43 accept socket::accept, Full, "fxx";
    44 sendto socket::sendto, Partial("no MSG_OOB (EOPNOTSUPP); UDP datagrams up to 65507 bytes (65487 over IPv6)"), "fxdxxd";
    45 recvfrom socket::recvfrom, Partial("no MSG_OOB (EOPNOTSUPP); MSG_ERRQUEUE is EAGAIN; MSG_TRUNC on TCP copies instead of discarding"), "fxdxxx";
    46 sendmsg socket::sendmsg, Partial("SCM_RIGHTS and SCM_CREDENTIALS; no MSG_OOB; sockets passed in their own queue (SCM_RIGHTS cycles) are never collected"), "fxx";
    47 recvmsg socket::recvmsg, Partial("SCM_RIGHTS and SCM_CREDENTIALS; no MSG_OOB or MSG_ERRQUEUE"), "fxx";
    48 shutdown socket::shutdown, Full, "fd";
    49 bind socket::bind, Partial("inet: addresses of lo (127.0.0.0/8, ::1) and wildcards; ports held until close (no TIME_WAIT hold)"), "fxd";
    50 listen socket::listen, Full, "fd";
    51 getsockname socket::getsockname, Full, "fxx";
    52 getpeername socket::getpeername, Full, "fxx";
    53 socketpair socket::socketpair, Full, "dddx";
    54 setsockopt socket::setsockopt, Partial("unix: SOL_SOCKET only (other levels EOPNOTSUPP): SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVLOWAT; SO_LINGER is accepted but close never lingers; SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, SO_OOBINLINE, SO_DONTROUTE are recorded only. inet: also SO_REUSEADDR/SO_REUSEPORT bind rules, SO_KEEPALIVE, SO_LINGER with zero time (RST), IP_TOS, IP_TTL, IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_TCLASS, TCP_NODELAY, TCP_KEEPIDLE/INTVL/CNT; TCP sizes its buffers from SO_RCVBUF/SO_SNDBUF set before connect or listen (later changes and UDP sizes are reported only); other options ENOPROTOOPT"), "fddxd";
    55 getsockopt socket::getsockopt, Partial("the options setsockopt takes, and SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED, SO_SNDLOWAT; TCP_INFO reports the state only"), "fddxx";
    56 clone process::clone, Partial("no namespaces (EPERM); a CLONE_VM child without CLONE_VFORK or CLONE_THREAD is ENOSYS"), "xxxxx";
    57 fork process::fork, Full, "";
    58 vfork process::vfork, Full, "";
    59 execve process::execve, Full, "sxx";
    60 exit process::exit, Full, "d";
    61 wait4 process::wait4, Partial("rusage has the reaped child's CPU time (its stub's clock as user time, its Sentry threads' as system time) and peak RSS; other fields are zero"), "dxxx";
    62 kill signal::kill, Full, "dd";
    63 uname process::uname, Full, "x";
    72 fcntl file::fcntl, Partial("fd flags, status flags, record and OFD locks, pipe sizes, memfd seals; F_SETOWN/F_GETOWN(_EX), F_SETSIG, leases, F_NOTIFY and RW hints are EINVAL; no pipe-user-pages quotas"), "fdx";
    73 flock locks::flock, Full, "fd";
    74 fsync file::fsync, Full, "f";
    75 fdatasync file::fsync, Full, "f";
    76 truncate fileattr::truncate, Full, "sd";
    77 ftruncate fileattr::ftruncate, Full, "fd";
    79 getcwd file::getcwd, Full, "xd";
    80 chdir file::chdir, Full, "s";
    81 fchdir file::fchdir, Full, "f";
    82 rename fileattr::rename, Full, "ss";
    83 mkdir file::mkdir, Full, "sx";
    84 rmdir file::rmdir, Full, "s";
    85 creat fileattr::creat, Full, "sx";
    86 link fileattr::link, Full, "ss";
    87 unlink file::unlink, Full, "s";
    88 symlink fileattr::symlink, Full, "ss";
    89 readlink file::readlink, Full, "sxd";
    90 chmod fileattr::chmod, Full, "sx";
    91 fchmod fileattr::fchmod, Full, "fx";
    92 chown fileattr::chown, Full, "sdd";
    93 fchown fileattr::fchown, Full, "fdd";
    94 lchown fileattr::lchown, Full, "sdd";
    95 umask file::umask, Full, "x";
    96 gettimeofday time::gettimeofday, Full, "xx";
    97 getrlimit process::getrlimit, Full, "dx";
    98 getrusage misc::getrusage, Partial("user time is the process's stub's CPU clock, system time its Sentry threads' (live threads other than the caller count once they exit); RUSAGE_THREAD reports the process; context switches are the Sentry thread's; ru_maxrss is the peak mapped size; other fields are zero"), "dx";
    99 sysinfo process::sysinfo, Full, "x";
    100 times time::times, Partial("as getrusage: user time from the stub's CPU clock, system time from the Sentry threads; the children's once reaped"), "x";
    102 getuid process::getuid, Full, "";
    104 getgid process::getgid, Full, "";
    105 setuid creds::setuid, Full, "d";
    106 setgid creds::setgid, Full, "d";
    107 geteuid process::geteuid, Full, "";
    108 getegid process::getegid, Full, "";
    109 setpgid process::setpgid, Full, "dd";
    110 getppid process::getppid, Full, "";
    111 getpgrp process::getpgrp, Full, "";
    112 setsid process::setsid, Full, "";
    113 setreuid creds::setreuid, Full, "dd";
    114 setregid creds::setregid, Full, "dd";
    115 getgroups creds::getgroups, Full, "dx";
    116 setgroups creds::setgroups, Full, "dx";
    117 setresuid creds::setresuid, Full, "ddd";
    118 getresuid creds::getresuid, Full, "xxx";
    119 setresgid creds::setresgid, Full, "ddd";
    120 getresgid creds::getresgid, Full, "xxx";
    121 getpgid process::getpgid, Full, "d";
    122 setfsuid creds::setfsuid, Partial("file permission checks, ownership of new files and CAP_* file checks use it; signals and ptrace-style checks use the real and effective ids as Linux does"), "d";
    123 setfsgid creds::setfsgid, Partial("file permission checks and the group of new files use it"), "d";
    124 getsid process::getsid, Full, "d";
    125 capget creds::capget, Partial("another process's sets are those its real uid starts with"), "xx";
    126 capset creds::capset, Partial("sets are tracked per task and checked by set*id, setgroups, nice and scheduling calls only; no ambient set"), "xx";
    127 rt_sigpending signal::rt_sigpending, Full, "xd";
    128 rt_sigtimedwait signal::rt_sigtimedwait, Full, "xxxd";
    129 rt_sigqueueinfo signal::rt_sigqueueinfo, Full, "ddx";
    130 rt_sigsuspend signal::rt_sigsuspend, Full, "xd";
    131 sigaltstack signal::sigaltstack, Full, "xx";
    132 utime fileattr::utime, Full, "sx";
    133 mknod fileattr::mknod, Partial("regular files, FIFOs (served by the Sentry) and sockets; device nodes need CAP_MKNOD and are never made on a host file system"), "sxx";
    135 personality misc::personality, Partial("recorded and reported; processes always run as PER_LINUX"), "x";
    137 statfs fileattr::statfs, Partial("tmpfs reports its size= and the content it holds; other block counts and all inode counts are nominal"), "sx";
    138 fstatfs fileattr::fstatfs, Partial("tmpfs reports its size= and the content it holds; other block counts and all inode counts are nominal"), "fx";
    140 getpriority sched::getpriority, Partial("nice values are per process"), "dd";
    141 setpriority sched::setpriority, Partial("nice values are per process and do not affect scheduling"), "ddd";
    142 sched_setparam sched::sched_setparam, Partial("recorded; does not affect scheduling"), "dx";
    143 sched_getparam sched::sched_getparam, Full, "dx";
    144 sched_setscheduler sched::sched_setscheduler, Partial("policies are recorded and do not affect scheduling; SCHED_DEADLINE is EINVAL"), "ddx";
    145 sched_getscheduler sched::sched_getscheduler, Full, "d";
    146 sched_get_priority_max sched::sched_get_priority_max, Full, "d";
    147 sched_get_priority_min sched::sched_get_priority_min, Full, "d";
    148 sched_rr_get_interval sched::sched_rr_get_interval, Partial("the fair policies report a fixed 3 ms slice"), "dx";
    149 mlock mem::mlock, Partial("counted against RLIMIT_MEMLOCK; memory is always resident"), "xd";
    150 munlock mem::munlock, Full, "xd";
    151 mlockall mem::mlockall, Partial("counted against RLIMIT_MEMLOCK; memory is always resident"), "x";
    152 munlockall mem::munlockall, Full, "";
    157 prctl misc::prctl, Partial("PR_SET/GET_NAME, PDEATHSIG (sent when the parent process exits), DUMPABLE, KEEPCAPS, CAPBSET_READ/DROP, CHILD_SUBREAPER (recorded only), NO_NEW_PRIVS, TIMERSLACK and THP_DISABLE (per process, recorded only), GET_SECCOMP (always 0: guests have no seccomp mode); others, PR_SET_SECCOMP included, EINVAL"), "dxxxx";
    158 arch_prctl process::arch_prctl, Partial("ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS"), "xx";
    159 adjtimex time::adjtimex, Partial("a query reports an unsynchronised clock (STA_UNSYNC, TIME_ERROR), not the host's NTP state; changes are EPERM even with CAP_SYS_TIME"), "x";
    160 setrlimit process::setrlimit, Full, "dx";
    161 chroot paths::chroot, Partial("/proc links (cwd, root, fd/N) show paths from the sandbox root, not from the reader's root"), "s";
    162 sync xfer::sync, Partial("writes back every shared file mapping; file data writes through to the host already"), "";
    164 settimeofday time::settimeofday, Partial("checks as Linux; setting the time is EPERM even with CAP_SYS_TIME (the clock is the host's)"), "xx";
    170 sethostname process::sethostname, Full, "xd";
    171 setdomainname process::setdomainname, Full, "xd";
    186 gettid process::gettid, Full, "";
    188 setxattr xattr::setxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ssxdd";
    189 lsetxattr xattr::lsetxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ssxdd";
    190 fsetxattr xattr::fsetxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "fsxdd";
    191 getxattr xattr::getxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ssxd";
    192 lgetxattr xattr::lgetxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ssxd";
    193 fgetxattr xattr::fgetxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "fsxd";
    194 listxattr xattr::listxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "sxd";
    195 llistxattr xattr::llistxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "sxd";
    196 flistxattr xattr::flistxattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "fxd";
    197 removexattr xattr::removexattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ss";
    198 lremovexattr xattr::lremovexattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "ss";
    199 fremovexattr xattr::fremovexattr, Partial("tmpfs and overlay (upper layer, copying up) store them; host files through the gofer have none and take none (EOPNOTSUPP); system.* (POSIX ACLs) EOPNOTSUPP; security.capability is stored but exec does not grant file capabilities"), "fs";
    200 tkill signal::tkill, Full, "dd";
    201 time time::time, Full, "x";
    202 futex process::futex, Partial("PI futexes (LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI) lock and unlock but inherit no priority, and a waiter is not handed the lock of an owner that exits; no WAIT_REQUEUE_PI/CMP_REQUEUE_PI (ENOSYS)"), "xdxxxx";
    203 sched_setaffinity sched::sched_setaffinity, Partial("the mask is recorded per process (inherited by fork) and reported by sched_getaffinity and getcpu, but the host schedules the Sentry threads; per-thread masks are the process's"), "ddx";
    204 sched_getaffinity process::sched_getaffinity, Full, "ddx";
    213 epoll_create epoll::epoll_create, Full, "d";
    217 getdents64 file::getdents64, Full, "fxd";
    218 set_tid_address process::set_tid_address, Full, "x";
    221 fadvise64 file::fadvise64, Full, "fddd";
    222 timer_create timers::timer_create, Partial("CPU-time clocks count elapsed time; SIGEV_THREAD_ID accepts any thread of the sandbox"), "dxx";
    223 timer_settime timers::timer_settime, Partial("absolute CLOCK_REALTIME times do not follow later wall-clock changes"), "ddxx";
    224 timer_gettime timers::timer_gettime, Full, "dx";
    225 timer_getoverrun timers::timer_getoverrun, Partial("overruns are counted while the previous signal is pending and reported with the next one"), "d";
    226 timer_delete timers::timer_delete, Full, "d";
    227 clock_settime time::clock_settime, Partial("checks as Linux; setting the time is EPERM even with CAP_SYS_TIME (the clock is the host's)"), "dx";
    228 clock_gettime time::clock_gettime, Partial("process CPU-time clocks (own and other processes') count as getrusage does; thread CPU-time clocks report the serving Sentry thread, and another thread's is EINVAL"), "dx";
    229 clock_getres time::clock_getres, Full, "dx";
    230 clock_nanosleep time::clock_nanosleep, Full, "ddxx";
    231 exit_group process::exit_group, Full, "d";
    232 epoll_wait epoll::epoll_wait, Full, "fxdd";
    233 epoll_ctl epoll::epoll_ctl, Partial("EPOLLET re-reports a ready file when its event counter moved (pipes, FIFOs, eventfd, timerfd) or when it gains readiness"), "fdfx";
    234 tgkill signal::tgkill, Full, "ddd";
    235 utimes fileattr::utimes, Full, "sx";
    247 waitid process::waitid, Partial("no P_PIDFD; rusage as wait4"), "ddxxx";
    257 openat file::openat, Partial("O_TMPFILE is EOPNOTSUPP on host files served by the gofer without an overlay"), "fsxx";
    258 mkdirat file::mkdirat, Full, "fsx";
    259 mknodat fileattr::mknodat, Partial("regular files, FIFOs (served by the Sentry) and sockets; device nodes need CAP_MKNOD and are never made on a host file system"), "fsxx";
    260 fchownat fileattr::fchownat, Full, "fsddx";
    261 futimesat fileattr::futimesat, Full, "fsx";
    262 newfstatat file::newfstatat, Full, "fsxx";
    263 unlinkat file::unlinkat, Full, "fsx";
    264 renameat fileattr::renameat, Full, "fsfs";
    265 linkat fileattr::linkat, Full, "fsfsx";
    266 symlinkat fileattr::symlinkat, Full, "sfs";
    267 readlinkat file::readlinkat, Full, "fsxd";
    268 fchmodat fileattr::fchmodat, Full, "fsx";
    269 faccessat file::faccessat, Full, "fsx";
    270 pselect6 poll::pselect6, Partial("host streams (and files that give no readiness notification) are re-checked every 10 ms while waiting"), "dxxxxx";
    271 ppoll poll::ppoll, Partial("host streams (and files that give no readiness notification) are re-checked every 10 ms while waiting"), "xdxxd";
    273 set_robust_list process::set_robust_list, Full, "xd";
    275 splice xfer::splice, Partial("copies through the Sentry (no page moving) between pipes and files, devices or Unix sockets; SPLICE_F_MOVE, MORE and GIFT are accepted and ignored"), "fxfxdx";
    276 tee xfer::tee, Full, "ffdx";
    277 sync_file_range xfer::sync_file_range, Partial("checks flags and range, writes back shared mappings of the file; no finer range control"), "fddx";
    280 utimensat fileattr::utimensat, Full, "fsxx";
    281 epoll_pwait epoll::epoll_pwait, Full, "fxddxd";
    282 signalfd signalfd::signalfd, Partial("reads the reading thread's own queue (process-directed signals sit with the main thread)"), "fxd";
    283 timerfd_create eventfd::timerfd_create, Full, "dx";
    284 eventfd eventfd::eventfd, Full, "d";
    285 fallocate xfer::fallocate, Partial("tmpfs and memfd: mode 0, FALLOC_FL_KEEP_SIZE and PUNCH_HOLE as Linux shmem; host files pass the mode to the host"), "fxdd";
    286 timerfd_settime eventfd::timerfd_settime, Partial("TFD_TIMER_CANCEL_ON_SET is accepted but reads never fail with ECANCELED"), "fxxx";
    287 timerfd_gettime eventfd::timerfd_gettime, Full, "fx";
    288 accept4 socket::accept4, Full, "fxxx";
    289 signalfd4 signalfd::signalfd4, Partial("reads the reading thread's own queue (process-directed signals sit with the main thread)"), "fxdx";
    290 eventfd2 eventfd::eventfd2, Full, "dx";
    291 epoll_create1 epoll::epoll_create1, Full, "x";
    292 dup3 file::dup3, Full, "ffx";
    293 pipe2 file::pipe2, Full, "xx";
    295 preadv fileattr::preadv, Full, "fxdd";
    296 pwritev fileattr::pwritev, Full, "fxdd";
    297 rt_tgsigqueueinfo signal::rt_tgsigqueueinfo, Full, "dddx";
    299 recvmmsg socket::recvmmsg, Partial("as recvmsg; the timeout is checked between messages, as Linux does"), "fxdxx";
    302 prlimit64 process::prlimit64, Full, "ddxx";
    305 clock_adjtime time::clock_adjtime, Partial("CLOCK_REALTIME as adjtimex; other clocks EOPNOTSUPP"), "dx";
    306 syncfs xfer::syncfs, Partial("writes back every shared file mapping and fsyncs the file the fd names rather than each file of its filesystem"), "f";
    307 sendmmsg socket::sendmmsg, Partial("as sendmsg"), "fxdx";
    309 getcpu sched::getcpu, Partial("the cpu the Sentry thread runs on, or the first one the affinity mask allows"), "xxx";
    314 sched_setattr sched::sched_setattr, Partial("as sched_setscheduler: recorded, SCHED_DEADLINE is EINVAL; utilization clamps are ignored"), "dxd";
    315 sched_getattr sched::sched_getattr, Full, "dxdd";
    316 renameat2 fileattr::renameat2, Partial("RENAME_WHITEOUT is EINVAL"), "fsfsx";
    318 getrandom process::getrandom, Full, "xdx";
    319 memfd_create xfer::memfd_create, Partial("no MFD_HUGETLB (ENOSYS, as without hugetlbfs); adding F_SEAL_WRITE is EBUSY only while a shared mapping was made writable (Linux also counts read-only shared mappings); /proc/PID/fd/N cannot reopen a memfd"), "sx";
    322 execveat process::execveat, Full, "fsxxx";
    324 membarrier misc::membarrier, Partial("every barrier is the host's MEMBARRIER_CMD_GLOBAL (milliseconds); no SYNC_CORE or RSEQ commands (EINVAL)"), "ddd";
    325 mlock2 mem::mlock2, Partial("MLOCK_ONFAULT locks like mlock; counted against RLIMIT_MEMLOCK"), "xdx";
    326 copy_file_range xfer::copy_file_range, Partial("copies through the Sentry in 1 MiB chunks; EXDEV across filesystems"), "fxfxdx";
    327 preadv2 fileattr::preadv2, Partial("RWF_APPEND, and RWF_NOWAIT on pipes and other streams, are EOPNOTSUPP"), "fxddxx";
    328 pwritev2 fileattr::pwritev2, Partial("RWF_APPEND, and RWF_NOWAIT on pipes and other streams, are EOPNOTSUPP"), "fxddxx";
    332 statx file::statx, Full, "fsxxx";
    435 clone3 process::clone3, Partial("no CLONE_PIDFD, CLONE_INTO_CGROUP or set_tid"), "xd";
    436 close_range file::close_range, Full, "ddx";
    437 openat2 paths::openat2, Partial("O_TMPFILE as openat"), "fsxd";
    439 faccessat2 file::faccessat2, Full, "fsxx";
    441 epoll_pwait2 epoll::epoll_pwait2, Full, "fxdxxd";
    452 fchmodat2 fileattr::fchmodat2, Full, "fsxx";
}

/// The name of syscall `nr`, whether implemented or not.
pub fn name_of(nr: u64) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == nr).map(|(_, name)| *name)
}
