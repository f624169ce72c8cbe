/*
 * harness.h: the tiny test harness of the syscall conformance suite.
 *
 * A test file is a standalone C program made of cases:
 *
 *	#include "harness.h"
 *
 *	CASE(close_bad_fd)
 *	{
 *		EXPECT_ERRNO(close(-1), EBADF);
 *	}
 *
 *	HARNESS_MAIN
 *
 * Every case runs in its own forked child, which is made the leader of a new
 * process group (so a case that forks can be cleaned up, and a case may change
 * its signal mask, cwd, limits or credentials without affecting the next one).
 * Each case produces verdict lines on stdout:
 *
 *	ok NAME
 *	FAIL NAME: FILE:LINE: DETAIL   (one per failed expectation, or one for a
 *	                               crash or a timeout)
 *	SKIP NAME: REASON
 *
 * followed by "summary: N passed, N failed, N skipped". The program exits 0
 * only when no case failed. Lines starting with "#" are comments.
 *
 * Usage: PROG [--list] [CASE...]   (no CASE runs them all)
 *        PROG --helper...          (the file's h_helper(), for exec cases)
 * Environment: HARNESS_CASE_TIMEOUT (seconds per case, default 20),
 * HARNESS_NOFORK=1 (run cases in-process, for debugging one case).
 *
 * The output of a passing run never contains pids, times or addresses, so
 * runs on different runtimes can be compared line by line; use EXPECT_SAME
 * for such values so that failures do not print them either.
 */
#ifndef SYSCALLS_HARNESS_H
#define SYSCALLS_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_CASES 256
#define H_EXIT_FAILED 95 /* the case reported its failures itself */
#define H_EXIT_SKIP 77

struct h_case {
	const char *name;
	void (*fn)(void);
};

static struct h_case h_cases[H_MAX_CASES];
static int h_ncases;
static const char *h_current = "?";
static int h_case_failures;
static int h_nofork;
static char h_root[256];	/* per-run temporary directory */
static char h_case_dir[512];	/* per-case directory, created on demand */
static const char *h_prog = "?";
static char h_self[1024];	/* absolute path of this program (for exec) */
static int h_argc;
static char **h_argv;

/*
 * A test file may define h_helper(): "PROG --helper..." then runs it instead
 * of the cases (for exec tests, which re-execute the test program).
 */
__attribute__((weak)) int h_helper(int argc, char **argv);

/* Never mapped: the lowest page is reserved (mmap_min_addr). */
static void *volatile h_bad_ptr = (void *)(uintptr_t)8;
#define BAD_PTR (h_bad_ptr)

/* Hides a value from the compiler (so it cannot warn about or fold it). */
#define OPAQUE(x) ({ __typeof__(x) volatile h_v_ = (x); h_v_; })

static void h_register(const char *name, void (*fn)(void))
{
	if (h_ncases >= H_MAX_CASES)
		abort();
	h_cases[h_ncases].name = name;
	h_cases[h_ncases].fn = fn;
	h_ncases++;
}

#define CASE(name)                                                          \
	static void h_case_##name(void);                                    \
	__attribute__((constructor)) static void h_reg_##name(void)         \
	{                                                                   \
		h_register(#name, h_case_##name);                           \
	}                                                                   \
	static void h_case_##name(void)

/* Formats into a buffer and write(2)s it: no stdio buffers across fork. */
__attribute__((format(printf, 1, 2))) static void h_out(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n, off = 0;
	int saved = errno;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	while (off < n) {
		ssize_t w = write(1, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
out:
	errno = saved;
}

static const char *h_errname(int e)
{
	static char buf[8][32];
	static int next;
	const char *n = strerrorname_np(e);
	char *b;

	if (n)
		return n;
	b = buf[next++ % 8];
	snprintf(b, sizeof(buf[0]), "errno %d", e);
	return b;
}

/* Describes a syscall-style result: "3" or "-1/EBADF". */
static const char *h_result(long long r, int e)
{
	static char buf[8][64];
	static int next;
	char *b = buf[next++ % 8];

	if (r == -1)
		snprintf(b, sizeof(buf[0]), "-1/%s", h_errname(e));
	else
		snprintf(b, sizeof(buf[0]), "%lld", r);
	return b;
}

static __attribute__((noreturn)) void h_abort_case(void)
{
	_exit(H_EXIT_FAILED);
}

__attribute__((format(printf, 3, 4))) static void h_fail(const char *file, int line,
							 const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h_case_failures++;
	h_out("FAIL %s: %s:%d: %s\n", h_current, file, line, msg);
}

#define H_FAIL(...) h_fail(__FILE__, __LINE__, __VA_ARGS__)

/* Fails the case with a message and stops it. */
#define FAILX(...)                  \
	do {                        \
		H_FAIL(__VA_ARGS__); \
		h_abort_case();     \
	} while (0)

/* Stops the case as skipped: only for host conditions, never for ENOSYS. */
#define SKIP(...)                                                   \
	do {                                                        \
		char h_m_[512];                                     \
		snprintf(h_m_, sizeof(h_m_), __VA_ARGS__);          \
		h_out("SKIP %s: %s\n", h_current, h_m_);            \
		_exit(H_EXIT_SKIP);                                 \
	} while (0)

/* EXPECT_*: record a failure and go on. ASSERT_*: record it and stop. */
#define H_CMP(stop, a, op, b, sa, sb)                                                  \
	({                                                                     \
		long long h_a_ = (long long)(a);                               \
		long long h_b_ = (long long)(b);                               \
		int h_ok_ = h_a_ op h_b_;                                      \
		if (!h_ok_) {                                                  \
			H_FAIL("%s %s %s: expected %s%lld got %s", sa, #op, sb, \
			       #op[0] == '=' ? "" : #op " ", h_b_,              \
			       h_result(h_a_, errno));                          \
			if (stop)                                              \
				h_abort_case();                                \
		}                                                              \
		h_ok_;                                                         \
	})

#define EXPECT_EQ(a, b) H_CMP(0, a, ==, b, #a, #b)
#define EXPECT_NE(a, b) H_CMP(0, a, !=, b, #a, #b)
#define EXPECT_LT(a, b) H_CMP(0, a, <, b, #a, #b)
#define EXPECT_LE(a, b) H_CMP(0, a, <=, b, #a, #b)
#define EXPECT_GT(a, b) H_CMP(0, a, >, b, #a, #b)
#define EXPECT_GE(a, b) H_CMP(0, a, >=, b, #a, #b)
#define ASSERT_EQ(a, b) H_CMP(1, a, ==, b, #a, #b)
#define ASSERT_NE(a, b) H_CMP(1, a, !=, b, #a, #b)
#define ASSERT_GE(a, b) H_CMP(1, a, >=, b, #a, #b)
#define ASSERT_GT(a, b) H_CMP(1, a, >, b, #a, #b)
#define ASSERT_LE(a, b) H_CMP(1, a, <=, b, #a, #b)

/*
 * EXPECT_SAME(a, b): a == b for values that differ from run to run (pids,
 * addresses, times): a failure does not print them, only -1/errno if a is -1.
 */
#define EXPECT_SAME(a, b)                                                          \
	({                                                                         \
		errno = 0;                                                         \
		long long h_a_ = (long long)(a);                                   \
		int h_e_ = errno;                                                  \
		long long h_b_ = (long long)(b);                                   \
		int h_ok_ = h_a_ == h_b_;                                          \
		if (!h_ok_)                                                        \
			H_FAIL("%s == %s: %s", #a, #b,                             \
			       h_a_ == -1 ? h_result(-1, h_e_) : "values differ"); \
		h_ok_;                                                             \
	})

#define H_TRUE(stop, c, sc)                                          \
	({                                                       \
		int h_c_ = !!(c);                                \
		if (!h_c_) {                                     \
			H_FAIL("expected true: %s", sc);         \
			if (stop)                                \
				h_abort_case();                  \
		}                                                \
		h_c_;                                            \
	})
#define EXPECT_TRUE(c) H_TRUE(0, c, #c)
#define ASSERT_TRUE(c) H_TRUE(1, c, #c)

/* A syscall-style call that must succeed (>= 0); evaluates to its result. */
#define H_OK(stop, expr, sexpr)                                                       \
	({                                                                     \
		errno = 0;                                                     \
		long long h_r_ = (long long)(expr);                            \
		if (h_r_ < 0) {                                                \
			H_FAIL("%s: expected success got %s", sexpr,           \
			       h_result(h_r_, errno));                         \
			if (stop)                                              \
				h_abort_case();                                \
		}                                                              \
		h_r_;                                                          \
	})
#define EXPECT_OK(expr) H_OK(0, expr, #expr)
#define ASSERT_OK(expr) H_OK(1, expr, #expr)

/* A syscall-style call that must fail with -1 and errno e. */
#define H_ERRNO(stop, expr, e, sexpr)                                                 \
	({                                                                     \
		errno = 0;                                                     \
		long long h_r_ = (long long)(expr);                            \
		int h_e_ = errno;                                              \
		int h_ok_ = h_r_ == -1 && h_e_ == (e);                         \
		if (!h_ok_) {                                                  \
			H_FAIL("%s: expected -1/%s got %s", sexpr, h_errname(e), \
			       h_result(h_r_, h_e_));                          \
			if (stop)                                              \
				h_abort_case();                                \
		}                                                              \
		h_ok_;                                                         \
	})
#define EXPECT_ERRNO(expr, e) H_ERRNO(0, expr, e, #expr)
#define ASSERT_ERRNO(expr, e) H_ERRNO(1, expr, e, #expr)

#define EXPECT_STREQ(a, b)                                                  \
	({                                                                  \
		const char *h_sa_ = (a), *h_sb_ = (b);                      \
		int h_ok_ = h_sa_ && h_sb_ && strcmp(h_sa_, h_sb_) == 0;    \
		if (!h_ok_)                                                 \
			H_FAIL("%s: expected \"%s\" got \"%s\"", #a,        \
			       h_sb_ ? h_sb_ : "(null)",                    \
			       h_sa_ ? h_sa_ : "(null)");                   \
		h_ok_;                                                      \
	})

#define EXPECT_MEMEQ(a, b, n)                                            \
	({                                                               \
		int h_ok_ = memcmp((a), (b), (n)) == 0;                  \
		if (!h_ok_)                                              \
			H_FAIL("%s: %zu bytes differ from %s", #a,       \
			       (size_t)(n), #b);                         \
		h_ok_;                                                   \
	})

/* ---- helpers for cases ---- */

/* The case's own empty directory (under a fresh mkdtemp directory). */
static const char *h_tmp(void)
{
	if (!h_case_dir[0]) {
		snprintf(h_case_dir, sizeof(h_case_dir), "%s/%s", h_root, h_current);
		if (mkdir(h_case_dir, 0700) != 0 && errno != EEXIST)
			FAILX("mkdir of the case directory: %s", h_errname(errno));
	}
	return h_case_dir;
}

/* h_tmp()/REL in one of 8 rotating buffers. */
static const char *h_path(const char *rel)
{
	static char buf[8][768];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", h_tmp(), rel);
	return b;
}

/* The last component of a path (for messages that must not show tmp dirs). */
static const char *h_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && s[1] ? s + 1 : path;
}

/*
 * Creates a file with exactly the given mode (umask is ignored) and
 * contents, or truncates an existing one; stops the case on error.
 */
static void h_write_file_mode(const char *path, const void *data, size_t len, mode_t mode)
{
	mode_t old = umask(0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t off = 0;

	umask(old);
	if (fd < 0)
		FAILX("create %s: %s", h_base(path), h_errname(errno));
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w <= 0)
			FAILX("write %s: %s", h_base(path), h_errname(errno));
		off += w;
	}
	close(fd);
}

/* Same, mode 0644. */
static void h_write_file(const char *path, const void *data, size_t len)
{
	h_write_file_mode(path, data, len, 0644);
}

/* Reads up to cap-1 bytes of a file, NUL-terminates; returns the length. */
static ssize_t h_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off + 1 < cap) {
		ssize_t r = read(fd, buf + off, cap - 1 - off);

		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		off += r;
	}
	buf[off] = 0;
	close(fd);
	return off;
}

/* Catching a fault: h_touch(p, write, v) reads *p (or writes v there) and
 * returns 0, or the signal the access raised, with its si_addr and si_code
 * in h_fault_addr and h_fault_code. */
static sigjmp_buf h_fault_jmp;
static volatile int h_fault_sig;
static void *volatile h_fault_addr;
static volatile int h_fault_code;

static void h_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	h_fault_sig = sig;
	h_fault_addr = si->si_addr;
	h_fault_code = si->si_code;
	siglongjmp(h_fault_jmp, 1);
}

/* Sends SIGSEGV and SIGBUS to h_on_fault. */
static void h_catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static int h_touch(volatile char *p, int write, char v)
{
	h_catch_faults();
	h_fault_sig = 0;
	h_fault_addr = NULL;
	if (sigsetjmp(h_fault_jmp, 1) == 0) {
		if (write)
			*p = v;
		else
			(void)*p;
	}
	return h_fault_sig;
}

/* Waits for one child; returns its wait status (or -1). */
static int h_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return st;
}

/* Runs fn in a forked child that exits with fn's return value. */
static int h_in_child(int (*fn)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0)
		_exit(fn());
	return h_wait(pid);
}

/* Expect a wait status: exited with code, or killed by a signal. */
#define EXPECT_EXITED(st, code)                                                 \
	({                                                                      \
		int h_st_ = (st);                                               \
		int h_ok_ = WIFEXITED(h_st_) && WEXITSTATUS(h_st_) == (code);   \
		if (!h_ok_)                                                     \
			H_FAIL("%s: expected exit %d got %s %d", #st, (code),   \
			       WIFEXITED(h_st_) ? "exit" :                      \
			       WIFSIGNALED(h_st_) ? "signal" : "status",        \
			       WIFEXITED(h_st_) ? WEXITSTATUS(h_st_) :          \
			       WIFSIGNALED(h_st_) ? WTERMSIG(h_st_) : h_st_);   \
		h_ok_;                                                          \
	})
#define EXPECT_SIGNALED(st, sig)                                                \
	({                                                                      \
		int h_st_ = (st);                                               \
		int h_ok_ = WIFSIGNALED(h_st_) && WTERMSIG(h_st_) == (sig);     \
		if (!h_ok_)                                                     \
			H_FAIL("%s: expected signal %d got %s %d", #st, (sig),  \
			       WIFEXITED(h_st_) ? "exit" :                      \
			       WIFSIGNALED(h_st_) ? "signal" : "status",        \
			       WIFEXITED(h_st_) ? WEXITSTATUS(h_st_) :          \
			       WIFSIGNALED(h_st_) ? WTERMSIG(h_st_) : h_st_);   \
		h_ok_;                                                          \
	})

/* An address whose page is mapped PROT_NONE (so any access faults). */
static void *h_noaccess_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAILX("mmap: %s", h_errname(errno));
	return p;
}

/* ---- the driver ---- */

static void h_reset_signals(void)
{
	sigset_t all;

	for (int s = 1; s < 65; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		signal(s, SIG_DFL);
	}
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static int h_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Makes every directory writable and searchable again before removal. */
static int h_open_up(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | 0700);
	return 0;
}

static double h_timeout(void)
{
	const char *t = getenv("HARNESS_CASE_TIMEOUT");
	double v = t ? atof(t) : 0;

	return v > 0 ? v : 20;
}

/* Runs one case in a child; returns 0 passed, 1 failed, 2 skipped. */
static int h_run_case(const struct h_case *c)
{
	struct timespec start, now, nap;
	double limit = h_timeout();
	long nap_ns = 50000;
	pid_t pid;
	int st;

	h_current = c->name;
	h_case_dir[0] = 0;
	h_case_failures = 0;
	if (h_nofork) {
		c->fn();
		if (h_case_failures)
			return 1;
		h_out("ok %s\n", c->name);
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		h_out("FAIL %s: harness: fork: %s\n", c->name, h_errname(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		c->fn();
		_exit(h_case_failures ? H_EXIT_FAILED : 0);
	}
	/* Also from this side, so that kill(-pid) below cannot miss the group. */
	setpgid(pid, pid);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			h_out("FAIL %s: harness: waitpid: %s\n", c->name, h_errname(errno));
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > limit) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			h_wait(pid);
			h_out("FAIL %s: timed out after %g seconds\n", c->name, limit);
			return 1;
		}
		nap.tv_sec = 0;
		nap.tv_nsec = nap_ns;
		nanosleep(&nap, NULL);
		if (nap_ns < 20000000)
			nap_ns *= 2;
	}
	/* Reap whatever the case left behind in its process group. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		h_out("ok %s\n", c->name);
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == H_EXIT_SKIP)
		return 2;
	if (WIFEXITED(st) && WEXITSTATUS(st) == H_EXIT_FAILED)
		return 1;
	if (WIFSIGNALED(st))
		h_out("FAIL %s: killed by signal %d (%s)\n", c->name, WTERMSIG(st),
		      sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	else
		h_out("FAIL %s: exited with status %d\n", c->name, WEXITSTATUS(st));
	return 1;
}

static int h_main(int argc, char **argv)
{
	int counts[3] = {0, 0, 0};
	int ran = 0;

	h_prog = argv[0];
	h_argc = argc;
	h_argv = argv;
	if (!realpath(argv[0], h_self))
		snprintf(h_self, sizeof(h_self), "%s", argv[0]);
	if (argc > 1 && strncmp(argv[1], "--helper", 8) == 0 && h_helper)
		return h_helper(argc, argv);
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (int i = 0; i < h_ncases; i++)
			h_out("%s\n", h_cases[i].name);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		int found = 0;

		for (int j = 0; j < h_ncases; j++)
			found |= strcmp(argv[i], h_cases[j].name) == 0;
		if (!found) {
			h_out("# no case named %.64s\n", argv[i]);
			return 2;
		}
	}
	h_nofork = getenv("HARNESS_NOFORK") && *getenv("HARNESS_NOFORK") == '1';
	h_reset_signals();
	umask(022);
	snprintf(h_root, sizeof(h_root), "/tmp/syscalls-XXXXXX");
	if (!mkdtemp(h_root)) {
		dprintf(2, "harness: cannot create a directory in /tmp: %s\n", h_errname(errno));
		return 2;
	}
	for (int i = 0; i < h_ncases; i++) {
		int want = argc == 1;

		for (int j = 1; j < argc; j++)
			want |= strcmp(argv[j], h_cases[i].name) == 0;
		if (!want)
			continue;
		counts[h_run_case(&h_cases[i])]++;
		ran++;
	}
	nftw(h_root, h_open_up, 16, FTW_PHYS);
	nftw(h_root, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	h_out("summary: %d passed, %d failed, %d skipped\n", counts[0], counts[1], counts[2]);
	return counts[1] ? 1 : 0;
}

#define HARNESS_MAIN                             \
	int main(int argc, char **argv)          \
	{                                        \
		return h_main(argc, argv);       \
	}

#endif
