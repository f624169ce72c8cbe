/*
 * basics FILE: exercises the system calls that an ordinary glibc program
 * needs and prints one deterministic "name: value" line per check, so the
 * output of a native run and of a sandboxed run can be compared byte for
 * byte. Nothing printed depends on pids, times, addresses or the host.
 *
 * The caller must:
 *   - run it with the current directory "/",
 *   - pass the path of a readable regular file (the harness writes a known
 *     text there; its content is printed, its path is not),
 *   - have /tmp and /proc present.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MISSING "/nonexistent-runsc-basics"

static int failures;

/* An address that is never mapped; volatile so the compiler cannot see it. */
static void *volatile bad_ptr = (void *)1;

/* Formats into a buffer and writes it with write(2): no stdio buffering. */
static void out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, off = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	while (off < n) {
		ssize_t w = write(1, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += w;
	}
}

static const char *errname(int e)
{
	static char other[32];

	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ELOOP: return "ELOOP";
	}
	snprintf(other, sizeof(other), "errno%d", e);
	return other;
}

/* Result of a call that returns -1/errno: "0" on success, else the errno name. */
static const char *res(long r)
{
	return r < 0 ? errname(errno) : "0";
}

static void check(const char *name, int ok)
{
	if (!ok)
		failures++;
	out("%s: %s\n", name, ok ? "ok" : "FAILED");
}

/* Prints s with \n, \\ and non-printables escaped, inside quotes. */
static void out_quoted(const char *name, long n, const char *s, long len)
{
	char buf[512];
	long i;
	int o = 0;

	for (i = 0; i < len && o < (int)sizeof(buf) - 5; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\\' || c == '"') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c < 32 || c > 126) {
			o += snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		} else {
			buf[o++] = c;
		}
	}
	buf[o] = 0;
	out("%s: %ld \"%s\"\n", name, n, buf);
}

static void check_uname(void)
{
	struct utsname u;

	if (uname(&u) != 0) {
		out("uname: %s\n", errname(errno));
		failures++;
		return;
	}
	out("uname.sysname: %s\n", u.sysname);
	out("uname.machine: %s\n", u.machine);
}

static void check_cwd(void)
{
	char buf[4096];

	out("getcwd: %s\n", getcwd(buf, sizeof(buf)) ? buf : errname(errno));
	out("chdir.tmp: %s\n", res(chdir("/tmp")));
	out("getcwd.tmp: %s\n", getcwd(buf, sizeof(buf)) ? buf : errname(errno));
	out("chdir.dotdot: %s\n", res(chdir("..")));
	out("getcwd.dotdot: %s\n", getcwd(buf, sizeof(buf)) ? buf : errname(errno));
	out("chdir.missing: %s\n", res(chdir(MISSING)));
	out("getcwd.small_buffer: %s\n", getcwd(buf, 1) ? "no error" : errname(errno));
}

static void check_file(const char *path)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	off_t off;
	int fd, fd2;
	void *m;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	out("open: %s\n", fd >= 0 ? "ok" : errname(errno));
	if (fd < 0) {
		failures++;
		return;
	}
	if (fstat(fd, &st) == 0) {
		out("fstat.size: %lld\n", (long long)st.st_size);
		out("fstat.type: %s\n", S_ISREG(st.st_mode) ? "regular" : "other");
	} else {
		out("fstat: %s\n", errname(errno));
	}
	n = read(fd, buf, sizeof(buf));
	if (n >= 0)
		out_quoted("read", n, buf, n);
	else
		out("read: %s\n", errname(errno));
	out("read.eof: %ld\n", (long)read(fd, buf, sizeof(buf)));
	out("lseek.set: %lld\n", (long long)lseek(fd, 6, SEEK_SET));
	n = read(fd, buf, 5);
	if (n >= 0)
		out_quoted("read.after_lseek", n, buf, n);
	out("lseek.end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	out("lseek.cur: %lld\n", (long long)lseek(fd, -4, SEEK_CUR));
	out("lseek.negative: %s\n", res(lseek(fd, -100, SEEK_SET)));
	n = pread(fd, buf, 4, 12);
	if (n >= 0)
		out_quoted("pread", n, buf, n);
	else
		out("pread: %s\n", errname(errno));
	off = lseek(fd, 0, SEEK_CUR);
	out("lseek.after_pread: %lld\n", (long long)off);
	out("read.bad_buffer: %s\n", res(read(fd, bad_ptr, 4)));

	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		out_quoted("mmap.file", 5, m, 5);
		munmap(m, 4096);
	} else {
		out("mmap.file: %s\n", errname(errno));
	}

	out("fcntl.getfd: %d\n", fcntl(fd, F_GETFD));
	fd2 = fcntl(fd, F_DUPFD, 100);
	out("fcntl.dupfd: %s\n", fd2 >= 100 ? "ok" : errname(errno));
	if (fd2 >= 0) {
		out("fcntl.getfd.dup: %d\n", fcntl(fd2, F_GETFD));
		out("close.dup: %s\n", res(close(fd2)));
	}
	out("close: %s\n", res(close(fd)));
	out("close.again: %s\n", res(close(fd)));

	snprintf(buf, sizeof(buf), "%s/x", path);
	out("open.notdir: %s\n", res(open(buf, O_RDONLY)));
	out("open.missing: %s\n", res(open(MISSING, O_RDONLY)));
	out("open.missing_dir: %s\n", res(open(MISSING "/x", O_RDONLY)));
	out("stat.missing: %s\n", res(stat(MISSING, &st)));
	out("stat.root_is_dir: %d\n", stat("/", &st) == 0 && S_ISDIR(st.st_mode));
}

static void check_write(void)
{
	static char a[] = "writev: ", b[] = "two ", c[] = "parts\n";
	struct iovec iov[3] = {
		{ a, sizeof(a) - 1 }, { b, sizeof(b) - 1 }, { c, sizeof(c) - 1 },
	};
	ssize_t n = writev(1, iov, 3);

	out("writev.count: %ld\n", (long)n);
	n = write(1, "write: ok\n", 10);
	out("write.count: %ld\n", (long)n);
}

static void check_pipe(void)
{
	char buf[8];
	int p[2];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0) {
		out("pipe2: %s\n", errname(errno));
		failures++;
		return;
	}
	out("write.pipe: %ld\n", (long)write(p[1], "ping", 4));
	n = read(p[0], buf, sizeof(buf));
	if (n >= 0)
		out_quoted("read.pipe", n, buf, n);
	out("write.bad_pointer: %s\n", res(write(p[1], bad_ptr, 10)));
	close(p[0]);
	close(p[1]);
}

static void check_badfd(void)
{
	struct stat st;

	out("write.badfd: %s\n", res(write(9999, "x", 1)));
	out("read.badfd: %s\n", res(read(-1, NULL, 0)));
	out("close.badfd: %s\n", res(close(9999)));
	out("fstat.badfd: %s\n", res(fstat(-1, &st)));
	out("lseek.badfd: %s\n", res(lseek(9999, 0, SEEK_SET)));
}

static void check_random(void)
{
	unsigned char buf[16];
	ssize_t n = getrandom(buf, sizeof(buf), 0);

	out("getrandom: %ld\n", (long)n);
}

static void check_clocks(void)
{
	struct timespec m1, m2, r;
	struct timeval tv;
	time_t t;
	int ok;

	ok = clock_gettime(CLOCK_MONOTONIC, &m1) == 0;
	ok = ok && clock_gettime(CLOCK_MONOTONIC, &m2) == 0;
	ok = ok && (m2.tv_sec > m1.tv_sec ||
		    (m2.tv_sec == m1.tv_sec && m2.tv_nsec >= m1.tv_nsec));
	ok = ok && m1.tv_nsec >= 0 && m1.tv_nsec < 1000000000L;
	check("clock_gettime.monotonic", ok);

	ok = clock_gettime(CLOCK_REALTIME, &r) == 0 && r.tv_sec > 1500000000L;
	check("clock_gettime.realtime", ok);

	ok = gettimeofday(&tv, NULL) == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 &&
	     tv.tv_sec >= r.tv_sec && tv.tv_sec - r.tv_sec < 5;
	check("gettimeofday", ok);

	t = time(NULL);
	/* time(2) reads the coarse clock, updated once a tick: just after a
	 * second begins it may still say the previous one. */
	check("time", t >= tv.tv_sec - 1 && t - tv.tv_sec < 5);

	ok = clock_getres(CLOCK_MONOTONIC, &r) == 0 && r.tv_sec == 0 && r.tv_nsec > 0;
	check("clock_getres", ok);
}

static void check_proc(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	const char *base;

	if (n < 0) {
		out("readlink.proc_self_exe: %s\n", errname(errno));
		failures++;
		return;
	}
	buf[n] = 0;
	base = strrchr(buf, '/');
	out("readlink.proc_self_exe: %s\n", base ? base + 1 : buf);
	out("readlink.missing: %s\n", res(readlink(MISSING, buf, sizeof(buf))));
}

static void check_access(const char *path)
{
	int dfd;

	out("access.existing: %s\n", res(access(path, R_OK)));
	out("access.missing: %s\n", res(access(MISSING, F_OK)));
	out("faccessat.root: %s\n", res(faccessat(AT_FDCWD, "/", X_OK, 0)));
	out("faccessat.missing: %s\n", res(faccessat(AT_FDCWD, MISSING "/x", F_OK, 0)));
	out("faccessat.notdir: %s\n", res(faccessat(AT_FDCWD, "/proc/self/exe/x", F_OK, 0)));
	dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	out("faccessat.dirfd: %s\n", res(faccessat(dfd, "tmp", F_OK, 0)));
	out("faccessat.dirfd_missing: %s\n",
	    res(faccessat(dfd, MISSING + 1, F_OK, 0)));
	if (dfd >= 0)
		close(dfd);
}

static int fill_and_check(unsigned char *p, size_t len, unsigned char seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7);
	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static int is_pattern(const unsigned char *p, size_t len, unsigned char seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static int is_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static sigjmp_buf fault_jmp;
static volatile void *fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(fault_jmp, 1);
}

static void check_memory(void)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t brk_len = 1 << 20;
	uintptr_t cur, grown, back;
	unsigned char *p, *q;
	struct sigaction sa, old;
	volatile unsigned char sink;
	int ok;

	out("pagesize: %ld\n", (long)page);

	/* brk: raw system calls, so glibc's cached break is not involved. */
	cur = (uintptr_t)syscall(SYS_brk, 0);
	grown = (uintptr_t)syscall(SYS_brk, cur + brk_len);
	ok = cur != 0 && grown == cur + brk_len &&
	     fill_and_check((unsigned char *)cur, brk_len, 3);
	back = (uintptr_t)syscall(SYS_brk, cur);
	check("brk", ok && back == cur);

	p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		out("mmap.anon: %s\n", errname(errno));
		failures++;
		return;
	}
	check("mmap.anon", is_zero(p, 4 * page) && fill_and_check(p, 4 * page, 11));

	ok = mprotect(p, 4 * page, PROT_READ) == 0 && is_pattern(p, 4 * page, 11);
	ok = ok && mprotect(p, 4 * page, PROT_READ | PROT_WRITE) == 0 &&
	     fill_and_check(p, 4 * page, 13);
	check("mprotect", ok);

	/* A read of a PROT_NONE page must raise SIGSEGV/SEGV_ACCERR at that address. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	mprotect(p + page, page, PROT_NONE);
	fault_addr = NULL;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		sink = p[page + 5];
		(void)sink;
		out("mprotect.fault: none\n");
		failures++;
	} else {
		out("mprotect.fault: %s %s\n",
		    fault_addr == p + page + 5 ? "addr-ok" : "addr-wrong",
		    fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other-code");
	}
	sigaction(SIGSEGV, &old, NULL);
	mprotect(p + page, page, PROT_READ | PROT_WRITE);

	q = mremap(p, 4 * page, 64 * page, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		out("mremap: %s\n", errname(errno));
		failures++;
		munmap(p, 4 * page);
	} else {
		ok = is_pattern(q, 4 * page, 13) && is_zero(q + 4 * page, 60 * page) &&
		     fill_and_check(q, 64 * page, 17);
		q = mremap(q, 64 * page, 2 * page, 0);
		ok = ok && q != MAP_FAILED && is_pattern(q, 2 * page, 17);
		check("mremap", ok);
		check("munmap", q != MAP_FAILED && munmap(q, 2 * page) == 0);
	}
	out("munmap.unaligned: %s\n", res(munmap((char *)p + 1, page)));
	out("mmap.bad_flags: %s\n",
	    mmap(NULL, page, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED ?
		    errname(errno) : "no error");
}

static void check_ids(void)
{
	out("getuid: %ld\n", (long)getuid());
	out("getgid: %ld\n", (long)getgid());
	out("geteuid: %ld\n", (long)geteuid());
	out("getegid: %ld\n", (long)getegid());
	check("getpid", getpid() > 0);
	check("gettid", syscall(SYS_gettid) == getpid());
}

static void check_sys(void)
{
	struct sysinfo si;
	cpu_set_t set;
	struct rlimit old, lower, now;
	int ok;

	check("sysinfo", sysinfo(&si) == 0 && si.totalram > 0 && si.mem_unit > 0 &&
				 si.procs >= 1);

	CPU_ZERO(&set);
	check("sched_getaffinity",
	      sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1);

	ok = prlimit(0, RLIMIT_NOFILE, NULL, &old) == 0 && old.rlim_cur > 0 &&
	     old.rlim_cur <= old.rlim_max;
	if (ok) {
		lower = old;
		lower.rlim_cur = old.rlim_cur > 64 ? 64 : old.rlim_cur;
		ok = prlimit(0, RLIMIT_NOFILE, &lower, NULL) == 0 &&
		     prlimit(0, RLIMIT_NOFILE, NULL, &now) == 0 &&
		     now.rlim_cur == lower.rlim_cur && now.rlim_max == old.rlim_max &&
		     prlimit(0, RLIMIT_NOFILE, &old, NULL) == 0;
	}
	check("prlimit64.nofile", ok);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: basics FILE\n");
		return 2;
	}
	check_uname();
	check_cwd();
	check_file(argv[1]);
	check_write();
	check_pipe();
	check_badfd();
	check_random();
	check_clocks();
	check_proc();
	check_access(argv[1]);
	check_memory();
	check_ids();
	check_sys();
	out("failures: %d\n", failures);
	out("done\n");
	return failures ? 1 : 0;
}
