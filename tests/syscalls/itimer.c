/*
 * Interval timers in depth: ITIMER_REAL/VIRTUAL/PROF values and rounding,
 * the link between alarm(2) and ITIMER_REAL, periodic delivery, CPU-time
 * semantics (a sleeping process does not advance VIRTUAL/PROF), fork
 * and exec rules.
 */
#include "harness.h"

#include <sys/time.h>

static volatile int fired;

static void count(int sig)
{
	(void)sig;
	fired++;
}

static void install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count;
	sa.sa_flags = SA_RESTART;
	if (sigaction(sig, &sa, NULL) != 0)
		FAILX("sigaction: %s", h_errname(errno));
}

static long usec(const struct timeval *tv)
{
	return tv->tv_sec * 1000000L + tv->tv_usec;
}

/* Calls a handler-free busy loop for about ms milliseconds of CPU. */
static void burn(int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

CASE(alarm_and_itimer_real_are_one_timer)
{
	struct itimerval v;

	alarm(100);
	ASSERT_OK(getitimer(ITIMER_REAL, &v));
	EXPECT_GE(v.it_value.tv_sec, 98);
	EXPECT_LE(v.it_value.tv_sec, 100);
	v = (struct itimerval){{0, 0}, {50, 0}};
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	EXPECT_GE(alarm(0), 49);
	ASSERT_OK(getitimer(ITIMER_REAL, &v));
	EXPECT_EQ(usec(&v.it_value), 0);
}

CASE(alarm_rounds_partial_seconds_up)
{
	struct itimerval v = {{0, 0}, {2, 900000}};

	/* alarm(2) reports the nearest whole second, but never 0 while armed */
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	EXPECT_EQ(alarm(0), 3);
	v = (struct itimerval){{0, 0}, {2, 100000}};
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	EXPECT_EQ(alarm(0), 2);
	v = (struct itimerval){{0, 0}, {0, 300000}};
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	EXPECT_EQ(alarm(0), 1);
}

CASE(itimer_real_periodic_delivers_repeatedly)
{
	struct itimerval v = {{0, 10000}, {0, 10000}};
	struct timespec nap = {0, 5000000};
	int i;

	install(SIGALRM);
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	for (i = 0; i < 400 && fired < 3; i++)
		nanosleep(&nap, NULL);
	EXPECT_GE(fired, 3);
	ASSERT_OK(getitimer(ITIMER_REAL, &v));
	EXPECT_EQ(usec(&v.it_interval), 10000);
	v = (struct itimerval){{0, 0}, {0, 0}};
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
}

CASE(setitimer_returns_old_interval_and_value)
{
	struct itimerval v = {{7, 0}, {30, 0}}, old;

	ASSERT_OK(setitimer(ITIMER_PROF, &v, NULL));
	v = (struct itimerval){{0, 0}, {0, 0}};
	ASSERT_OK(setitimer(ITIMER_PROF, &v, &old));
	EXPECT_EQ(old.it_interval.tv_sec, 7);
	EXPECT_GE(old.it_value.tv_sec, 29);
	EXPECT_LE(old.it_value.tv_sec, 30);
}

CASE(itimer_value_zero_disarms_even_with_interval)
{
	struct itimerval v = {{1, 0}, {0, 0}}, cur;

	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	ASSERT_OK(getitimer(ITIMER_REAL, &cur));
	EXPECT_EQ(usec(&cur.it_value), 0);
	/* an unarmed timer reports no interval either */
	EXPECT_EQ(usec(&cur.it_interval), 0);
}

CASE(itimer_virtual_does_not_run_while_sleeping)
{
	struct itimerval v = {{0, 0}, {0, 20000}}, cur;
	struct timespec nap = {0, 200000000};

	install(SIGVTALRM);
	ASSERT_OK(setitimer(ITIMER_VIRTUAL, &v, NULL));
	nanosleep(&nap, NULL);
	EXPECT_EQ(fired, 0);
	ASSERT_OK(getitimer(ITIMER_VIRTUAL, &cur));
	EXPECT_GT(usec(&cur.it_value), 10000);
}

CASE(itimer_prof_does_not_run_while_sleeping)
{
	struct itimerval v = {{0, 0}, {0, 20000}};
	struct timespec nap = {0, 200000000};

	install(SIGPROF);
	ASSERT_OK(setitimer(ITIMER_PROF, &v, NULL));
	nanosleep(&nap, NULL);
	EXPECT_EQ(fired, 0);
}

CASE(itimer_prof_fires_on_cpu_use)
{
	struct itimerval v = {{0, 0}, {0, 20000}};

	install(SIGPROF);
	ASSERT_OK(setitimer(ITIMER_PROF, &v, NULL));
	burn(300);
	EXPECT_EQ(fired, 1);
}

CASE(itimers_not_inherited_by_fork)
{
	struct itimerval v = {{0, 0}, {60, 0}};
	pid_t pid;

	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	ASSERT_OK(setitimer(ITIMER_VIRTUAL, &v, NULL));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct itimerval r, vt;

		getitimer(ITIMER_REAL, &r);
		getitimer(ITIMER_VIRTUAL, &vt);
		_exit(usec(&r.it_value) == 0 && usec(&vt.it_value) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(itimer_real_survives_exec)
{
	struct itimerval v = {{0, 0}, {60, 0}};
	pid_t pid;

	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *argv[] = {h_self, "--helper-real", NULL};

		setitimer(ITIMER_REAL, &v, NULL);
		execv(h_self, argv);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

int h_helper(int argc, char **argv)
{
	struct itimerval r;

	(void)argc;
	(void)argv;
	if (getitimer(ITIMER_REAL, &r) != 0)
		return 2;
	return r.it_value.tv_sec >= 55 && r.it_value.tv_sec <= 60 ? 0 : 1;
}

CASE(setitimer_value_errors)
{
	struct itimerval v = {{0, 0}, {0, -1}};

	EXPECT_ERRNO(setitimer(ITIMER_REAL, &v, NULL), EINVAL);
	v = (struct itimerval){{0, 1000000}, {1, 0}};
	EXPECT_ERRNO(setitimer(ITIMER_REAL, &v, NULL), EINVAL);
	v = (struct itimerval){{0, 0}, {-1, 0}};
	EXPECT_ERRNO(setitimer(ITIMER_REAL, &v, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, BAD_PTR, NULL), EFAULT);
	v = (struct itimerval){{0, 0}, {1, 0}};
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &v, BAD_PTR), EFAULT);
}

CASE(itimer_real_default_action_kills)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		struct itimerval v = {{0, 0}, {0, 10000}};

		setitimer(ITIMER_REAL, &v, NULL);
		for (;;)
			pause();
	}
	EXPECT_SIGNALED(h_wait(pid), SIGALRM);
}

HARNESS_MAIN
