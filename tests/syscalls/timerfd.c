/*
 * timerfd: timerfd_create, timerfd_settime, timerfd_gettime; relative and
 * absolute expirations, intervals and overrun counts, readiness, errors.
 */
#include "harness.h"

#include <poll.h>
#include <sys/timerfd.h>

static struct itimerspec its(long val_ns, long int_ns)
{
	struct itimerspec t;

	t.it_value.tv_sec = val_ns / 1000000000L;
	t.it_value.tv_nsec = val_ns % 1000000000L;
	t.it_interval.tv_sec = int_ns / 1000000000L;
	t.it_interval.tv_nsec = int_ns % 1000000000L;
	return t;
}

CASE(timerfd_create_clocks)
{
	EXPECT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	EXPECT_OK(timerfd_create(CLOCK_REALTIME, 0));
	EXPECT_OK(timerfd_create(CLOCK_BOOTTIME, 0));
	EXPECT_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(OPAQUE(-1), 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(OPAQUE(100), 0), EINVAL);
}

CASE(timerfd_create_flags)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));

	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, OPAQUE(1)), EINVAL);
}

CASE(timerfd_gettime_unarmed_is_zero)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec cur = its(1, 1);

	ASSERT_OK(timerfd_gettime(fd, &cur));
	EXPECT_EQ(cur.it_value.tv_sec, 0);
	EXPECT_EQ(cur.it_value.tv_nsec, 0);
	EXPECT_EQ(cur.it_interval.tv_sec, 0);
	EXPECT_EQ(cur.it_interval.tv_nsec, 0);
}

CASE(timerfd_gettime_reports_remaining_and_interval)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec t = its(10000000000L, 3000000000L), cur;

	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	ASSERT_OK(timerfd_gettime(fd, &cur));
	EXPECT_TRUE(cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10);
	EXPECT_EQ(cur.it_interval.tv_sec, 3);
	EXPECT_EQ(cur.it_interval.tv_nsec, 0);
}

CASE(timerfd_settime_returns_old_value)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec t = its(20000000000L, 0), old;

	ASSERT_OK(timerfd_settime(fd, 0, &t, &old));
	EXPECT_EQ(old.it_value.tv_sec + old.it_value.tv_nsec, 0);
	t = its(0, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &t, &old));
	EXPECT_TRUE(old.it_value.tv_sec >= 19 && old.it_value.tv_sec <= 20);
	ASSERT_OK(timerfd_gettime(fd, &old));
	EXPECT_EQ(old.it_value.tv_sec + old.it_value.tv_nsec, 0);
}

CASE(timerfd_settime_errors)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	int p[2];
	struct itimerspec t = its(1000000, 0);

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(timerfd_settime(fd, OPAQUE(4), &t, NULL), EINVAL);
	t.it_value.tv_nsec = 1000000000L;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &t, NULL), EINVAL);
	t = its(1000000, 0);
	t.it_interval.tv_nsec = -1;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &t, NULL), EINVAL);
	t = its(1000000, 0);
	EXPECT_ERRNO(timerfd_settime(p[0], 0, &t, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_settime(999, 0, &t, NULL), EBADF);
	EXPECT_ERRNO(timerfd_settime(fd, 0, BAD_PTR, NULL), EFAULT);
	EXPECT_ERRNO(timerfd_gettime(fd, BAD_PTR), EFAULT);
	EXPECT_ERRNO(timerfd_gettime(p[0], &t), EINVAL);
}

CASE(timerfd_absolute_past_fires_immediately)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	struct itimerspec t = its(1, 0);
	uint64_t n = 0;

	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL));
	EXPECT_EQ(read(fd, &n, 8), 8);
	EXPECT_EQ(n, 1);
}

CASE(timerfd_periodic_counts_expirations)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec t = its(10000000, 10000000);
	struct timespec a, b;
	uint64_t n = 0;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	usleep(100000);
	EXPECT_EQ(read(fd, &n, 8), 8);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	/* one expiration per 10 ms that passed, however late we woke up */
	EXPECT_GE(n, 9);
	EXPECT_LE(n, ms / 10 + 1);
}

CASE(timerfd_read_short_buffer_einval)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	uint32_t small;

	EXPECT_ERRNO(read(fd, &small, 4), EINVAL);
}

CASE(timerfd_write_einval)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	uint64_t v = 1;

	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
}

CASE(timerfd_disarm_cancels_pending_expiry)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	struct itimerspec t = its(1000000, 0);
	uint64_t n;

	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	usleep(20000);
	t = its(0, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	EXPECT_ERRNO(read(fd, &n, 8), EAGAIN);
}

CASE(timerfd_poll_readable_after_expiry)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
	struct itimerspec t = its(20000000, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	EXPECT_EQ(poll(&p, 1, 0), 0);
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(timerfd_blocking_read_waits)
{
	int fd = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec t = its(30000000, 0);
	struct timespec a, b;
	uint64_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_OK(timerfd_settime(fd, 0, &t, NULL));
	EXPECT_EQ(read(fd, &n, 8), 8);
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT_EQ(n, 1);
	EXPECT_GE((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 29);
}

HARNESS_MAIN
