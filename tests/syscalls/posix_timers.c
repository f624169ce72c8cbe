/*
 * POSIX timers in depth: timer_create defaults and notification kinds,
 * timer ids, absolute and periodic timers, overruns, CPU-time clocks,
 * fork and exec rules, errors. (timers.c has the basics.)
 */
#include "harness.h"

#include <sys/time.h>

static volatile int fired;
static volatile int last_value;
static volatile int last_code;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fired++;
	last_value = si->si_value.sival_int;
	last_code = si->si_code;
}

static void install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (sigaction(sig, &sa, NULL) != 0)
		FAILX("sigaction: %s", h_errname(errno));
}

static int raw_create(clockid_t clock, struct sigevent *ev, int *id)
{
	return syscall(SYS_timer_create, clock, ev, id);
}

static void wait_fired(int n)
{
	struct timespec nap = {0, 2000000};

	for (int i = 0; i < 2500 && fired < n; i++)
		nanosleep(&nap, NULL);
}

CASE(timer_create_null_sevp_sends_sigalrm_with_id)
{
	int id = -1;
	struct itimerspec its = {{0, 0}, {0, 5000000}};

	install(SIGALRM);
	ASSERT_OK(raw_create(CLOCK_MONOTONIC, NULL, &id));
	EXPECT_GE(id, 0);
	ASSERT_OK(syscall(SYS_timer_settime, id, 0, &its, NULL));
	wait_fired(1);
	EXPECT_EQ(fired, 1);
	EXPECT_EQ(last_code, SI_TIMER);
	EXPECT_EQ(last_value, id);
}

CASE(timer_ids_are_distinct_and_reusable)
{
	int a = -1, b = -1;

	ASSERT_OK(raw_create(CLOCK_MONOTONIC, NULL, &a));
	ASSERT_OK(raw_create(CLOCK_MONOTONIC, NULL, &b));
	EXPECT_NE(a, b);
	ASSERT_OK(syscall(SYS_timer_delete, a));
	EXPECT_ERRNO(syscall(SYS_timer_delete, a), EINVAL);
	EXPECT_OK(syscall(SYS_timer_delete, b));
}

CASE(timer_sigev_value_is_delivered)
{
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {0, 5000000}};
	timer_t t;

	install(SIGUSR1);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 31337;
	ASSERT_OK(timer_create(CLOCK_REALTIME, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	wait_fired(1);
	EXPECT_EQ(fired, 1);
	EXPECT_EQ(last_value, 31337);
}

CASE(timer_absolute_in_past_fires_at_once)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	struct itimerspec its;
	timer_t t;

	install(SIGUSR2);
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &its.it_value));
	its.it_value.tv_sec -= 1;
	its.it_interval = (struct timespec){0, 0};
	ASSERT_OK(timer_settime(t, TIMER_ABSTIME, &its, NULL));
	wait_fired(1);
	EXPECT_EQ(fired, 1);
	ASSERT_OK(timer_gettime(t, &its));
	EXPECT_EQ(its.it_value.tv_sec + its.it_value.tv_nsec, 0);
}

CASE(timer_periodic_overrun_counted_while_blocked)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	struct itimerspec its = {{0, 5000000}, {0, 5000000}};
	struct timespec nap = {0, 100000000};
	sigset_t s;
	timer_t t;
	int sig = 0;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	nanosleep(&nap, NULL);
	ASSERT_OK(sigwait(&s, &sig));
	EXPECT_EQ(sig, SIGUSR1);
	/* ~20 expirations while one signal was pending */
	EXPECT_GE(timer_getoverrun(t), 5);
}

CASE(timer_settime_returns_old_setting)
{
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {{1, 0}, {40, 0}}, old;
	timer_t t;

	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, &old));
	EXPECT_EQ(old.it_value.tv_sec + old.it_value.tv_nsec, 0);
	its = (struct itimerspec){{0, 0}, {0, 0}};
	ASSERT_OK(timer_settime(t, 0, &its, &old));
	EXPECT_EQ(old.it_interval.tv_sec, 1);
	EXPECT_GE(old.it_value.tv_sec, 38);
}

CASE(timer_settime_errors)
{
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {{0, 0}, {0, 1000000000L}};
	timer_t t;

	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	EXPECT_ERRNO(timer_settime(t, 0, &its, NULL), EINVAL);
	its.it_value.tv_nsec = -1;
	EXPECT_ERRNO(timer_settime(t, 0, &its, NULL), EINVAL);
	its = (struct itimerspec){{0, 0}, {1, 0}};
	EXPECT_ERRNO(syscall(SYS_timer_settime, 4242, 0, &its, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_settime, *(int *)&t, 0, BAD_PTR, NULL), EFAULT);
	EXPECT_ERRNO(syscall(SYS_timer_gettime, *(int *)&t, BAD_PTR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_timer_getoverrun, 4242), EINVAL);
}

CASE(timer_create_errors)
{
	struct sigevent ev;
	int id;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = 42;
	EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev._sigev_un._tid = 0x3ffffff0;
	EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, BAD_PTR, &id), EFAULT);
	ev.sigev_notify = SIGEV_NONE;
	EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &ev, BAD_PTR), EFAULT);
}

CASE(timer_on_process_cputime_fires_after_cpu_use)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	struct itimerspec its = {{0, 0}, {0, 50000000}};
	struct timespec a, b;
	timer_t t;

	install(SIGUSR1);
	ASSERT_OK(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	/* sleeping uses no CPU: it must not fire */
	usleep(150000);
	EXPECT_EQ(fired, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while (!fired && b.tv_sec - a.tv_sec < 5);
	EXPECT_EQ(fired, 1);
}

CASE(timers_not_inherited_by_fork)
{
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	timer_t t;
	pid_t pid;

	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct itimerspec cur;

		_exit(syscall(SYS_timer_gettime, *(int *)&t, &cur) == -1 && errno == EINVAL ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(timer_sigev_thread_id_targets_thread)
{
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {0, 5000000}};
	int id;

	install(SIGUSR1);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev._sigev_un._tid = gettid();
	ASSERT_OK(raw_create(CLOCK_MONOTONIC, &ev, &id));
	ASSERT_OK(syscall(SYS_timer_settime, id, 0, &its, NULL));
	wait_fired(1);
	EXPECT_EQ(fired, 1);
}

HARNESS_MAIN
