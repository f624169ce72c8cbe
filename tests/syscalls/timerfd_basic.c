/*
 * timerfd_create(2), timerfd_settime and timerfd_gettime: clocks, flags,
 * one-shot and interval timers with expiration counts, absolute times,
 * blocking, non-blocking and interrupted reads, poll readiness.
 */
#include "harness.h"

#include <poll.h>
#include <sys/timerfd.h>

#define MS 1000000L

static long long now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct itimerspec after_ms(long value, long interval)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = value / 1000;
	its.it_value.tv_nsec = (value % 1000) * MS;
	its.it_interval.tv_sec = interval / 1000;
	its.it_interval.tv_nsec = (interval % 1000) * MS;
	return its;
}

static int armed(clockid_t clock, int flags, long value_ms, long interval_ms)
{
	int fd = timerfd_create(clock, flags);
	struct itimerspec its = after_ms(value_ms, interval_ms);

	if (fd < 0)
		FAILX("timerfd_create: %s", h_errname(errno));
	if (timerfd_settime(fd, 0, &its, NULL) != 0)
		FAILX("timerfd_settime: %s", h_errname(errno));
	return fd;
}

static long long ticks(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != 8)
		return -1;
	return v;
}

static volatile int got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal++;
}

CASE(timerfd_create_bad_clock_einval)
{
	EXPECT_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(-1, 0), EINVAL);
}

CASE(timerfd_create_bad_flags_einval)
{
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, TFD_TIMER_ABSTIME), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, O_RDWR), EINVAL);
}

CASE(timerfd_create_flags)
{
	int a = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
	int b = ASSERT_OK(timerfd_create(CLOCK_REALTIME, 0));

	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
	EXPECT_EQ(fcntl(a, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	EXPECT_EQ(fcntl(b, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
}

CASE(timerfd_disarmed_gettime_is_zero)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec its;

	memset(&its, 0xff, sizeof(its));
	ASSERT_OK(timerfd_gettime(fd, &its));
	EXPECT_EQ(its.it_value.tv_sec, 0);
	EXPECT_EQ(its.it_value.tv_nsec, 0);
	EXPECT_EQ(its.it_interval.tv_sec, 0);
	EXPECT_EQ(its.it_interval.tv_nsec, 0);
}

CASE(timerfd_oneshot_read_blocks_until_expiry)
{
	long long start = now_ns(CLOCK_MONOTONIC);
	int fd = armed(CLOCK_MONOTONIC, 0, 40, 0);
	struct itimerspec its;

	EXPECT_EQ(ticks(fd), 1);
	EXPECT_GE(now_ns(CLOCK_MONOTONIC) - start, 39 * MS);
	ASSERT_OK(timerfd_gettime(fd, &its));
	EXPECT_EQ(its.it_value.tv_sec, 0);
	EXPECT_EQ(its.it_value.tv_nsec, 0);
}

CASE(timerfd_nonblocking_read_before_expiry_eagain)
{
	int fd = armed(CLOCK_MONOTONIC, TFD_NONBLOCK, 5000, 0);
	uint64_t v;

	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(timerfd_interval_counts_expirations)
{
	long long start = now_ns(CLOCK_MONOTONIC);
	int fd = armed(CLOCK_MONOTONIC, 0, 10, 10);
	long long n, elapsed_ms;

	usleep(105000);
	n = ticks(fd);
	elapsed_ms = (now_ns(CLOCK_MONOTONIC) - start) / MS;
	/* One per 10 ms since the first expiry at 10 ms. */
	EXPECT_GE(n, 5);
	EXPECT_LE(n, elapsed_ms / 10 + 1);
	/* The count restarts after a read, which waits for the next period. */
	start = now_ns(CLOCK_MONOTONIC);
	n = ticks(fd);
	elapsed_ms = (now_ns(CLOCK_MONOTONIC) - start) / MS;
	EXPECT_GE(n, 1);
	EXPECT_LE(n, elapsed_ms / 10 + 2);
}

CASE(timerfd_gettime_shows_remaining_and_interval)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 10000, 2500);
	struct itimerspec its;

	ASSERT_OK(timerfd_gettime(fd, &its));
	EXPECT_TRUE(its.it_value.tv_sec == 9 || (its.it_value.tv_sec == 10 && its.it_value.tv_nsec == 0));
	EXPECT_EQ(its.it_interval.tv_sec, 2);
	EXPECT_EQ(its.it_interval.tv_nsec, 500 * MS);
}

CASE(timerfd_settime_returns_old_value)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 10000, 1000);
	struct itimerspec its = after_ms(0, 0), old;

	memset(&old, 0, sizeof(old));
	ASSERT_OK(timerfd_settime(fd, 0, &its, &old));
	EXPECT_EQ(old.it_value.tv_sec, 9);
	EXPECT_EQ(old.it_interval.tv_sec, 1);
	EXPECT_EQ(old.it_interval.tv_nsec, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, &old));
	EXPECT_EQ(old.it_value.tv_sec, 0);
	EXPECT_EQ(old.it_value.tv_nsec, 0);
}

CASE(timerfd_zero_value_disarms)
{
	int fd = armed(CLOCK_MONOTONIC, TFD_NONBLOCK, 20, 0);
	struct itimerspec off = after_ms(0, 100);
	uint64_t v;

	ASSERT_OK(timerfd_settime(fd, 0, &off, NULL));
	usleep(40000);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(timerfd_settime_drops_unread_expirations)
{
	int fd = armed(CLOCK_MONOTONIC, TFD_NONBLOCK, 1, 0);
	struct itimerspec its = after_ms(5000, 0);
	uint64_t v;

	usleep(20000);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(timerfd_abstime_in_the_past_fires_at_once)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	clock_gettime(CLOCK_MONOTONIC, &its.it_value);
	its.it_value.tv_sec -= 1;
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	EXPECT_EQ(ticks(fd), 1);
}

CASE(timerfd_abstime_past_with_interval_counts_periods)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	struct itimerspec its;
	long long n;

	memset(&its, 0, sizeof(its));
	clock_gettime(CLOCK_MONOTONIC, &its.it_value);
	its.it_value.tv_sec -= 1;
	its.it_interval.tv_nsec = 100 * MS;
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	n = ticks(fd);
	EXPECT_GE(n, 10);
	EXPECT_LE(n, 15);
}

static void abstime_on(clockid_t clock)
{
	int fd = ASSERT_OK(timerfd_create(clock, 0));
	long long start = now_ns(clock);
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	clock_gettime(clock, &its.it_value);
	its.it_value.tv_nsec += 30 * MS;
	if (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_nsec -= 1000000000L;
		its.it_value.tv_sec++;
	}
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	EXPECT_EQ(ticks(fd), 1);
	EXPECT_GE(now_ns(clock) - start, 29 * MS);
}

CASE(timerfd_abstime_monotonic)
{
	abstime_on(CLOCK_MONOTONIC);
}

CASE(timerfd_abstime_realtime)
{
	abstime_on(CLOCK_REALTIME);
}

CASE(timerfd_abstime_boottime)
{
	abstime_on(CLOCK_BOOTTIME);
}

CASE(timerfd_relative_boottime_and_realtime)
{
	int a = armed(CLOCK_BOOTTIME, 0, 20, 0);
	int b = armed(CLOCK_REALTIME, 0, 20, 0);

	EXPECT_EQ(ticks(a), 1);
	EXPECT_EQ(ticks(b), 1);
}

CASE(timerfd_cancel_on_set_accepted)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_REALTIME, 0));
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	clock_gettime(CLOCK_REALTIME, &its.it_value);
	its.it_value.tv_sec += 100;
	EXPECT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
}

CASE(timerfd_settime_invalid_values_einval)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec its = after_ms(100, 0);

	its.it_value.tv_nsec = 1000000000L;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &its, NULL), EINVAL);
	its = after_ms(100, 0);
	its.it_interval.tv_nsec = -1;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &its, NULL), EINVAL);
	its = after_ms(100, 0);
	its.it_value.tv_sec = -1;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &its, NULL), EINVAL);
	its = after_ms(100, 0);
	EXPECT_ERRNO(timerfd_settime(fd, 4, &its, NULL), EINVAL);
}

CASE(timerfd_settime_bad_fds)
{
	struct itimerspec its = after_ms(100, 0);
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(timerfd_settime(p[0], 0, &its, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_gettime(p[0], &its), EINVAL);
	EXPECT_ERRNO(timerfd_settime(-1, 0, &its, NULL), EBADF);
	EXPECT_ERRNO(timerfd_gettime(1000, &its), EBADF);
}

CASE(timerfd_bad_pointers_efault)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec its = after_ms(100, 0);

	EXPECT_ERRNO(timerfd_settime(fd, 0, BAD_PTR, NULL), EFAULT);
	EXPECT_ERRNO(timerfd_gettime(fd, BAD_PTR), EFAULT);
	EXPECT_ERRNO(timerfd_settime(fd, 0, &its, BAD_PTR), EFAULT);
}

CASE(timerfd_short_read_and_write_einval)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 1, 0);
	uint64_t v = 1;

	usleep(5000);
	EXPECT_ERRNO(read(fd, &v, 4), EINVAL);
	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
	EXPECT_EQ(ticks(fd), 1);
}

CASE(timerfd_poll_readiness)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 30, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};

	EXPECT_EQ(poll(&p, 1, 0), 0);
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(p.revents, POLLIN);
	ticks(fd);
	EXPECT_EQ(poll(&p, 1, 0), 0);
}

CASE(timerfd_read_interrupted_eintr)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 10000, 0);
	struct sigaction sa;
	uint64_t v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGALRM, &sa, NULL);
	/* Repeated, so that a read that starts late is interrupted too. */
	ualarm(30000, 30000);
	EXPECT_ERRNO(read(fd, &v, 8), EINTR);
	ualarm(0, 0);
	EXPECT_GE(got_signal, 1);
}

CASE(timerfd_read_restarted_with_sa_restart)
{
	int fd = armed(CLOCK_MONOTONIC, 0, 80, 0);
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(20000, 0);
	EXPECT_EQ(ticks(fd), 1);
	EXPECT_EQ(got_signal, 1);
}

CASE(timerfd_lseek_noop)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));

	EXPECT_EQ(lseek(fd, 10, SEEK_SET), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_END), 0);
}

CASE(timerfd_proc_fd_link)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	char path[64], link[64] = {0};

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_OK(readlink(path, link, sizeof(link) - 1));
	EXPECT_STREQ(link, "anon_inode:[timerfd]");
}

HARNESS_MAIN
