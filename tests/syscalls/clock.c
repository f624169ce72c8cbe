/*
 * Clocks beyond the basics in time.c: clock_settime/settimeofday
 * permissions and errors, clock_adjtime/adjtimex read-only queries,
 * CPU-time clocks of other processes and threads, clock_nanosleep
 * with TIMER_ABSTIME and signals, dynamic clock ids.
 */
#include "harness.h"

#include <pthread.h>
#include <sys/time.h>
#include <sys/timex.h>

#define NOBODY 65534

static void noop(int sig)
{
	(void)sig;
}

/* The CPU-time clock id of process pid (see clock_getcpuclockid(3)). */
static clockid_t process_cpu_clock(pid_t pid)
{
	return (~(clockid_t)pid << 3) | 2;
}

CASE(clock_settime_monotonic_einval)
{
	struct timespec ts;

	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &ts));
	EXPECT_ERRNO(clock_settime(CLOCK_MONOTONIC, &ts), EINVAL);
	EXPECT_ERRNO(clock_settime(CLOCK_BOOTTIME, &ts), EINVAL);
	EXPECT_ERRNO(clock_settime(OPAQUE(1234), &ts), EINVAL);
}

CASE(clock_settime_realtime_bad_values_einval)
{
	struct timespec ts = {1000, 1000000000L};

	if (geteuid() != 0)
		SKIP("the EPERM check comes first for other users");
	/* invalid values are rejected before anything changes */
	EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &ts), EINVAL);
	ts.tv_nsec = -1;
	EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &ts), EINVAL);
	ts = (struct timespec){-1, 0};
	EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &ts), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR), EFAULT);
}

CASE(clock_settime_unprivileged_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct timespec ts;
		struct timeval tv;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		clock_gettime(CLOCK_REALTIME, &ts);
		if (!(clock_settime(CLOCK_REALTIME, &ts) == -1 && errno == EPERM))
			_exit(1);
		gettimeofday(&tv, NULL);
		_exit(settimeofday(&tv, NULL) == -1 && errno == EPERM ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(adjtimex_read_only_query)
{
	struct timex tx;
	int state;

	memset(&tx, 0, sizeof(tx));
	state = adjtimex(&tx);
	EXPECT_GE(state, TIME_OK);
	EXPECT_LE(state, TIME_ERROR);
	EXPECT_GT(tx.tick, 0);
	EXPECT_GT(tx.time.tv_sec, 1000000000);
	EXPECT_ERRNO(syscall(SYS_adjtimex, BAD_PTR), EFAULT);
}

CASE(clock_adjtime_query_and_errors)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	EXPECT_GE(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx), 0);
	memset(&tx, 0, sizeof(tx));
	EXPECT_ERRNO(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx), EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_adjtime, OPAQUE(1234), &tx), EINVAL);
}

CASE(adjtimex_unprivileged_change_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct timex tx;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		memset(&tx, 0, sizeof(tx));
		tx.modes = ADJ_FREQUENCY;
		_exit(adjtimex(&tx) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(cpu_clock_of_child_process)
{
	struct timespec ts, res;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		volatile unsigned long x = 0;

		for (;;)
			x++;
	}
	/* wait (up to 5 s) until the child used 10 ms of CPU */
	for (int i = 0; i < 500; i++) {
		ASSERT_OK(clock_gettime(process_cpu_clock(pid), &ts));
		if (ts.tv_sec > 0 || ts.tv_nsec > 10000000)
			break;
		usleep(10000);
	}
	EXPECT_TRUE(ts.tv_sec > 0 || ts.tv_nsec > 10000000);
	EXPECT_OK(clock_getres(process_cpu_clock(pid), &res));
	kill(pid, SIGKILL);
	h_wait(pid);
	EXPECT_ERRNO(clock_gettime(process_cpu_clock(pid), &ts), EINVAL);
}

CASE(clock_getcpuclockid_of_child_matches_formula)
{
	clockid_t c;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pause();
		_exit(0);
	}
	EXPECT_EQ(clock_getcpuclockid(pid, &c), 0);
	EXPECT_EQ(c, process_cpu_clock(pid));
	kill(pid, SIGKILL);
	h_wait(pid);
}

static void *spin_thread(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	for (;;)
		x++;
	return NULL;
}

CASE(pthread_cpu_clock_of_other_thread)
{
	pthread_t t;
	clockid_t c;
	struct timespec ts;

	ASSERT_EQ(pthread_create(&t, NULL, spin_thread, NULL), 0);
	ASSERT_EQ(pthread_getcpuclockid(t, &c), 0);
	for (int i = 0; i < 500; i++) {
		ASSERT_OK(clock_gettime(c, &ts));
		if (ts.tv_sec > 0 || ts.tv_nsec > 10000000)
			break;
		usleep(10000);
	}
	EXPECT_TRUE(ts.tv_sec > 0 || ts.tv_nsec > 10000000);
}

CASE(clock_nanosleep_abstime_interrupted_keeps_remain)
{
	struct timespec until, rem = {77, 77};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &until));
	until.tv_sec += 5;
	alarm(1);
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, &rem), EINTR);
	/* rem is only written for relative sleeps */
	EXPECT_EQ(rem.tv_sec, 77);
	EXPECT_EQ(rem.tv_nsec, 77);
}

CASE(clock_nanosleep_relative_interrupted_writes_remain)
{
	struct timespec req = {5, 0}, rem = {0, 0};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem), EINTR);
	EXPECT_GE(rem.tv_sec, 3);
	EXPECT_LE(rem.tv_sec, 4);
}

CASE(clock_nanosleep_boottime_and_tai)
{
	struct timespec ts = {0, 1000000};
	struct timespec now;

	EXPECT_EQ(clock_nanosleep(CLOCK_BOOTTIME, 0, &ts, NULL), 0);
	EXPECT_EQ(clock_nanosleep(CLOCK_TAI, 0, &ts, NULL), 0);
	ASSERT_OK(clock_gettime(CLOCK_TAI, &now));
	EXPECT_EQ(clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME, &now, NULL), 0);
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &ts, NULL), ENOTSUP);
	EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME_COARSE, 0, &ts, NULL), ENOTSUP);
}

CASE(clock_tai_is_realtime_plus_offset)
{
	struct timespec rt, tai;

	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &rt));
	ASSERT_OK(clock_gettime(CLOCK_TAI, &tai));
	EXPECT_GE(tai.tv_sec, rt.tv_sec);
	EXPECT_LE(tai.tv_sec - rt.tv_sec, 40);
}

CASE(clock_getres_every_posix_clock)
{
	static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
					CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
					CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
					CLOCK_BOOTTIME, CLOCK_TAI};
	struct timespec r;

	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		r = (struct timespec){-1, -1};
		EXPECT_OK(clock_getres(ids[i], &r));
		EXPECT_EQ(r.tv_sec, 0);
		EXPECT_GT(r.tv_nsec, 0);
	}
	EXPECT_ERRNO(syscall(SYS_clock_getres, 16, &r), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_getres, 10 /* CLOCK_SGI_CYCLE, gone */, &r), EINVAL);
}

HARNESS_MAIN
