/*
 * Time: clock_gettime, clock_getres, gettimeofday, time, nanosleep,
 * clock_nanosleep, times, getrusage. No case prints a time.
 */
#include "harness.h"

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>

#define JAN_2020 1577836800LL

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ns(&t);
}

static long sys_clock_gettime(clockid_t c, struct timespec *t)
{
	return syscall(SYS_clock_gettime, c, t);
}

static const clockid_t all_clocks[] = {
	CLOCK_REALTIME,	       CLOCK_MONOTONIC,		CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
	CLOCK_MONOTONIC_RAW,   CLOCK_REALTIME_COARSE,	CLOCK_MONOTONIC_COARSE,	  CLOCK_BOOTTIME,
};

/* ---- clock_gettime ---- */

CASE(clock_gettime_realtime_is_plausible)
{
	struct timespec t;

	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &t));
	EXPECT_GT(t.tv_sec, JAN_2020);
	ASSERT_OK(sys_clock_gettime(CLOCK_REALTIME, &t));
	EXPECT_GT(t.tv_sec, JAN_2020);
}

CASE(clock_gettime_all_clocks_valid)
{
	for (size_t i = 0; i < sizeof(all_clocks) / sizeof(all_clocks[0]); i++) {
		struct timespec t = {-1, -1};

		EXPECT_OK(sys_clock_gettime(all_clocks[i], &t));
		EXPECT_GE(t.tv_sec, 0);
		EXPECT_GE(t.tv_nsec, 0);
		EXPECT_LT(t.tv_nsec, 1000000000);
		t.tv_sec = t.tv_nsec = -1;
		EXPECT_OK(clock_gettime(all_clocks[i], &t));
		EXPECT_GE(t.tv_nsec, 0);
		EXPECT_LT(t.tv_nsec, 1000000000);
	}
}

CASE(clock_gettime_monotonic_never_goes_back)
{
	struct timespec a, b;
	int ok = 1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 2000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		ok &= ns(&b) >= ns(&a);
		a = b;
	}
	EXPECT_TRUE(ok);
}

CASE(clock_gettime_syscall_and_vdso_agree)
{
	struct timespec a, b, c;

	clock_gettime(CLOCK_MONOTONIC, &a);
	sys_clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_MONOTONIC, &c);
	EXPECT_TRUE(ns(&a) <= ns(&b) && ns(&b) <= ns(&c));
}

CASE(clock_gettime_boottime_not_behind_monotonic)
{
	struct timespec m, b;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	EXPECT_TRUE(ns(&b) >= ns(&m));
}

CASE(clock_gettime_invalid_clock_einval)
{
	struct timespec t;

	EXPECT_ERRNO(sys_clock_gettime(1234, &t), EINVAL);
	EXPECT_ERRNO(sys_clock_gettime(-1000000, &t), EINVAL);
	EXPECT_ERRNO(clock_gettime(1234, &t), EINVAL);
}

CASE(clock_gettime_bad_pointer_efault)
{
	EXPECT_ERRNO(sys_clock_gettime(CLOCK_REALTIME, BAD_PTR), EFAULT);
	EXPECT_ERRNO(sys_clock_gettime(CLOCK_MONOTONIC, BAD_PTR), EFAULT);
}

CASE(clock_gettime_process_cputime_advances)
{
	struct timespec a, b;
	long long end = mono_ns() + 50000000;
	volatile unsigned long spin = 0;

	ASSERT_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a));
	while (mono_ns() < end)
		for (int i = 0; i < 10000; i++)
			spin++;
	ASSERT_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b));
	EXPECT_GT(ns(&b), ns(&a));
}

CASE(clock_gettime_thread_cputime_advances)
{
	struct timespec a, b;
	long long end = mono_ns() + 50000000;
	volatile unsigned long spin = 0;

	ASSERT_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a));
	while (mono_ns() < end)
		for (int i = 0; i < 10000; i++)
			spin++;
	ASSERT_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b));
	EXPECT_GT(ns(&b), ns(&a));
}

CASE(clock_getcpuclockid_of_self)
{
	clockid_t c;
	struct timespec t;

	ASSERT_EQ(clock_getcpuclockid(0, &c), 0);
	EXPECT_OK(clock_gettime(c, &t));
}

/* ---- clock_getres ---- */

CASE(clock_getres_fine_clocks)
{
	static const clockid_t fine[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};

	for (size_t i = 0; i < 3; i++) {
		struct timespec r = {-1, -1};

		ASSERT_OK(syscall(SYS_clock_getres, fine[i], &r));
		EXPECT_EQ(r.tv_sec, 0);
		EXPECT_GT(r.tv_nsec, 0);
		EXPECT_LE(r.tv_nsec, 1000000);
	}
}

CASE(clock_getres_coarse_clocks)
{
	struct timespec r = {-1, -1};

	ASSERT_OK(syscall(SYS_clock_getres, CLOCK_MONOTONIC_COARSE, &r));
	EXPECT_EQ(r.tv_sec, 0);
	EXPECT_GT(r.tv_nsec, 0);
	EXPECT_LE(r.tv_nsec, 100000000);
}

CASE(clock_getres_null_is_ok)
{
	EXPECT_OK(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
}

CASE(clock_getres_errors)
{
	struct timespec r;

	EXPECT_ERRNO(syscall(SYS_clock_getres, 1234, &r), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_getres, CLOCK_REALTIME, BAD_PTR), EFAULT);
}

/* ---- gettimeofday / time ---- */

CASE(gettimeofday_matches_realtime)
{
	struct timeval tv;
	struct timespec ts;

	ASSERT_OK(gettimeofday(&tv, NULL));
	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	EXPECT_GE(tv.tv_usec, 0);
	EXPECT_LT(tv.tv_usec, 1000000);
	EXPECT_LE(tv.tv_sec, ts.tv_sec);
	EXPECT_GE(tv.tv_sec + 2, ts.tv_sec);
}

CASE(gettimeofday_syscall_nulls_and_timezone)
{
	struct timeval tv;
	struct timezone tz;

	EXPECT_OK(syscall(SYS_gettimeofday, NULL, NULL));
	EXPECT_OK(syscall(SYS_gettimeofday, &tv, &tz));
	EXPECT_GT(tv.tv_sec, JAN_2020);
}

CASE(gettimeofday_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_gettimeofday, BAD_PTR, NULL), EFAULT);
}

CASE(time_matches_realtime_and_stores)
{
	time_t t = 0, r;
	struct timespec ts;

	r = syscall(SYS_time, &t);
	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	EXPECT_EQ(r, t);
	EXPECT_GT(r, JAN_2020);
	EXPECT_LE(r, ts.tv_sec);
	EXPECT_GE(r + 2, ts.tv_sec);
	EXPECT_GT(syscall(SYS_time, NULL), JAN_2020);
	EXPECT_GT(time(NULL), JAN_2020);
}

CASE(time_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_time, BAD_PTR), EFAULT);
}

/* ---- nanosleep / clock_nanosleep ---- */

CASE(nanosleep_sleeps_at_least)
{
	struct timespec ts = {0, 30000000};
	long long t0 = mono_ns();

	ASSERT_OK(nanosleep(&ts, NULL));
	EXPECT_GE(mono_ns() - t0, 30000000);
}

CASE(nanosleep_zero_returns)
{
	struct timespec ts = {0, 0};

	EXPECT_OK(nanosleep(&ts, NULL));
}

CASE(nanosleep_invalid_einval)
{
	struct timespec a = {0, 1000000000}, b = {0, -1}, c = {-1, 0};

	EXPECT_ERRNO(nanosleep(&a, NULL), EINVAL);
	EXPECT_ERRNO(nanosleep(&b, NULL), EINVAL);
	EXPECT_ERRNO(nanosleep(&c, NULL), EINVAL);
}

CASE(nanosleep_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_nanosleep, BAD_PTR, NULL), EFAULT);
}

static void noop(int sig)
{
	(void)sig;
}

CASE(nanosleep_interrupted_reports_remaining)
{
	struct timespec ts = {20, 0}, rem = {-1, -1};
	pid_t parent = getpid(), pid;

	signal(SIGUSR1, noop);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			usleep(30000);
			kill(parent, SIGUSR1);
		}
		_exit(0);
	}
	EXPECT_ERRNO(nanosleep(&ts, &rem), EINTR);
	EXPECT_TRUE(rem.tv_sec >= 0 && rem.tv_sec <= 20);
	EXPECT_TRUE(rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000);
	EXPECT_GE(rem.tv_sec, 10);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(clock_nanosleep_relative)
{
	struct timespec ts = {0, 20000000};
	long long t0 = mono_ns();

	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
	EXPECT_GE(mono_ns() - t0, 20000000);
}

CASE(clock_nanosleep_absolute)
{
	struct timespec target;
	long long want;

	clock_gettime(CLOCK_MONOTONIC, &target);
	want = ns(&target) + 30000000;
	target.tv_sec = want / 1000000000;
	target.tv_nsec = want % 1000000000;
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL), 0);
	EXPECT_GE(mono_ns(), want);
}

CASE(clock_nanosleep_absolute_in_past_returns)
{
	struct timespec past = {1, 0};
	long long t0 = mono_ns();

	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
	EXPECT_LT(mono_ns() - t0, 1000000000);
}

CASE(clock_nanosleep_realtime_absolute)
{
	struct timespec target;

	clock_gettime(CLOCK_REALTIME, &target);
	target.tv_nsec += 10000000;
	if (target.tv_nsec >= 1000000000) {
		target.tv_sec++;
		target.tv_nsec -= 1000000000;
	}
	EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL), 0);
}

CASE(clock_nanosleep_errors)
{
	struct timespec ts = {0, 1000};
	struct timespec bad = {0, 1000000000};

	/* clock_nanosleep returns the error number instead of setting errno. */
	EXPECT_EQ(clock_nanosleep(1234, 0, &ts, NULL), EINVAL);
	EXPECT_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL), EINVAL);
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD_PTR, NULL), EFAULT);
}

/* ---- times / getrusage ---- */

CASE(times_returns_increasing_ticks)
{
	struct tms t;
	clock_t a, b;
	struct timespec ts = {0, 30000000};

	a = times(&t);
	EXPECT_TRUE(a != (clock_t)-1);
	EXPECT_GE(t.tms_utime, 0);
	EXPECT_GE(t.tms_stime, 0);
	EXPECT_GE(t.tms_cutime, 0);
	nanosleep(&ts, NULL);
	b = times(NULL);
	EXPECT_GT(b, a);
}

CASE(times_counts_reaped_children)
{
	struct tms t;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		long long end = mono_ns() + 100000000;
		volatile unsigned long spin = 0;

		while (mono_ns() < end)
			spin++;
		_exit(0);
	}
	h_wait(pid);
	times(&t);
	EXPECT_GT(t.tms_cutime + t.tms_cstime, 0);
}

/* Spins on the CPU for `ms` milliseconds of wall time. */
static void spin_ms(long ms)
{
	long long end = mono_ns() + ms * 1000000LL;
	volatile unsigned long spin = 0;

	while (mono_ns() < end)
		spin++;
}

static double seconds(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * getrusage(2) and wait4(2): CPU time spent in user code counts as user
 * time of the process, stays with it across execve-free forks, and is the
 * reaped child's in wait4's rusage and the parent's RUSAGE_CHILDREN.
 */
CASE(cpu_time_is_counted_for_self_and_reaped_children)
{
	struct rusage before, after, child, children;
	int status;
	pid_t pid;

	ASSERT_OK(getrusage(RUSAGE_SELF, &before));
	spin_ms(300);
	ASSERT_OK(getrusage(RUSAGE_SELF, &after));
	/* a loaded machine may not give us the whole 300 ms */
	EXPECT_GE(seconds(after.ru_utime) - seconds(before.ru_utime), 0.05);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		spin_ms(300);
		_exit(0);
	}
	ASSERT_EQ(wait4(pid, &status, 0, &child), pid);
	EXPECT_GE(seconds(child.ru_utime), 0.05);
	EXPECT_LE(seconds(child.ru_utime) + seconds(child.ru_stime), 5.0);
	ASSERT_OK(getrusage(RUSAGE_CHILDREN, &children));
	EXPECT_GE(seconds(children.ru_utime), seconds(child.ru_utime));
}

/* The CPU-time clocks of a single-threaded process count its user code. */
CASE(cpu_clocks_count_user_code)
{
	struct timespec p0, p1, t0, t1;

	ASSERT_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p0));
	ASSERT_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0));
	spin_ms(300);
	ASSERT_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p1));
	ASSERT_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1));
	EXPECT_GE((p1.tv_sec - p0.tv_sec) * 1000000000LL + (p1.tv_nsec - p0.tv_nsec), 50000000LL);
	EXPECT_GE((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec), 50000000LL);
}

/* proc(5): /proc/self/stat field 14 (utime) is in clock ticks, as times(2) counts. */
CASE(proc_stat_utime_follows_cpu_use)
{
	char buf[1024];
	struct tms t;
	long utime = -1;
	ssize_t n;
	char *p;

	spin_ms(300);
	n = ASSERT_OK(h_read_file("/proc/self/stat", buf, sizeof(buf) - 1));
	buf[n] = 0;
	p = strrchr(buf, ')');
	ASSERT_TRUE(p != NULL);
	/* state is field 3; utime is 11 fields after it */
	EXPECT_EQ(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld", &utime), 1);
	EXPECT_GE(utime, 5);
	times(&t);
	EXPECT_GE((long)t.tms_utime, utime);
}

CASE(getrusage_self_and_children)
{
	struct rusage ru;

	EXPECT_OK(getrusage(RUSAGE_SELF, &ru));
	EXPECT_GE(ru.ru_maxrss, 1);
	EXPECT_OK(getrusage(RUSAGE_CHILDREN, &ru));
	EXPECT_OK(getrusage(RUSAGE_THREAD, &ru));
	EXPECT_ERRNO(getrusage(42, &ru), EINVAL);
	EXPECT_ERRNO(getrusage(RUSAGE_SELF, BAD_PTR), EFAULT);
}

HARNESS_MAIN
