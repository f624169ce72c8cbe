/*
 * Timers: alarm, setitimer/getitimer, POSIX timers (timer_create and
 * friends), timerfd.
 */
#include "harness.h"

#include <sys/time.h>
#include <sys/timerfd.h>

static volatile int fired;
static volatile siginfo_t info;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fired++;
	info = *si;
}

static void install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(sig, &sa, NULL) != 0)
		FAILX("sigaction: %s", h_errname(errno));
}

/* Waits (up to `ms`) for the handler to have run `n` times. */
static void wait_fired(int n, int ms)
{
	for (int i = 0; i < ms && fired < n; i++)
		usleep(1000);
}

/* ---- alarm ---- */

CASE(alarm_delivers_sigalrm)
{
	install(SIGALRM);
	EXPECT_EQ(alarm(1), 0);
	wait_fired(1, 3000);
	EXPECT_EQ(fired, 1);
	EXPECT_EQ(info.si_signo, SIGALRM);
}

CASE(alarm_returns_remaining_and_cancels)
{
	unsigned left;

	EXPECT_EQ(alarm(100), 0);
	left = alarm(0);
	EXPECT_GE(left, 99);
	EXPECT_LE(left, 100);
	EXPECT_EQ(alarm(0), 0);
}

static int alarm_default(void)
{
	alarm(1);
	for (int i = 0; i < 50; i++)
		usleep(100000);
	return 0;
}

CASE(alarm_default_action_kills)
{
	EXPECT_SIGNALED(h_in_child(alarm_default), SIGALRM);
}

/* ---- setitimer / getitimer ---- */

CASE(getitimer_initially_zero)
{
	struct itimerval v;

	ASSERT_OK(getitimer(ITIMER_REAL, &v));
	EXPECT_EQ(v.it_value.tv_sec + v.it_value.tv_usec, 0);
	EXPECT_EQ(v.it_interval.tv_sec + v.it_interval.tv_usec, 0);
	ASSERT_OK(getitimer(ITIMER_VIRTUAL, &v));
	ASSERT_OK(getitimer(ITIMER_PROF, &v));
}

CASE(setitimer_real_periodic)
{
	struct itimerval v = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};

	install(SIGALRM);
	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	wait_fired(3, 3000);
	EXPECT_GE(fired, 3);
	ASSERT_OK(setitimer(ITIMER_REAL, &off, &v));
	EXPECT_EQ(v.it_interval.tv_usec, 20000);
}

CASE(setitimer_reports_old_value)
{
	struct itimerval v = {{0, 0}, {50, 0}}, old;

	ASSERT_OK(setitimer(ITIMER_REAL, &v, NULL));
	ASSERT_OK(getitimer(ITIMER_REAL, &old));
	EXPECT_GE(old.it_value.tv_sec, 48);
	EXPECT_LE(old.it_value.tv_sec, 50);
	v.it_value.tv_sec = 0;
	ASSERT_OK(setitimer(ITIMER_REAL, &v, &old));
	EXPECT_GE(old.it_value.tv_sec, 48);
}

CASE(setitimer_errors)
{
	struct itimerval bad = {{0, 0}, {0, 1000000}};
	struct itimerval v;

	EXPECT_ERRNO(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
	EXPECT_ERRNO(setitimer(42, &bad, NULL), EINVAL);
	EXPECT_ERRNO(getitimer(42, &v), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getitimer, ITIMER_REAL, BAD_PTR), EFAULT);
}

CASE(itimer_virtual_counts_cpu)
{
	struct itimerval v = {{0, 0}, {0, 10000}};
	struct timespec t0, t1;

	install(SIGVTALRM);
	ASSERT_OK(setitimer(ITIMER_VIRTUAL, &v, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (!fired && t1.tv_sec - t0.tv_sec < 5);
	EXPECT_EQ(fired, 1);
}

/* ---- POSIX timers ---- */

CASE(timer_create_signal_notification)
{
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {0, 10000000}};
	timer_t t;

	install(SIGRTMIN);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_value.sival_int = 99;
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	wait_fired(1, 3000);
	EXPECT_EQ(fired, 1);
	EXPECT_EQ(info.si_code, SI_TIMER);
	EXPECT_EQ(info.si_value.sival_int, 99);
	EXPECT_OK(timer_delete(t));
}

CASE(timer_gettime_and_overrun)
{
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {30, 0}}, cur;
	timer_t t;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	ASSERT_OK(timer_create(CLOCK_REALTIME, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	ASSERT_OK(timer_gettime(t, &cur));
	EXPECT_GE(cur.it_value.tv_sec, 28);
	EXPECT_LE(cur.it_value.tv_sec, 30);
	EXPECT_EQ(timer_getoverrun(t), 0);
	EXPECT_OK(timer_delete(t));
}

CASE(timer_errors)
{
	struct sigevent ev;
	timer_t t;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 0;
	EXPECT_ERRNO(syscall(SYS_timer_create, 1234, NULL, &t), EINVAL);
	ev.sigev_signo = 65;
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &t), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_delete, 12345), EINVAL);
}

/* ---- timerfd ---- */

CASE(timerfd_expires_and_reads_count)
{
	struct itimerspec its = {{0, 0}, {0, 10000000}};
	uint64_t n = 0;
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));

	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_EQ(read(fd, &n, sizeof(n)), sizeof(n));
	EXPECT_EQ(n, 1);
}

CASE(timerfd_nonblocking_unarmed_eagain)
{
	uint64_t n;
	char small[4];
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));

	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	EXPECT_ERRNO(read(fd, small, sizeof(small)), EINVAL);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

CASE(timerfd_errors)
{
	EXPECT_ERRNO(timerfd_create(1234, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL);
}

HARNESS_MAIN
