/*
 * eventfd: eventfd, eventfd2; the counter, EFD_SEMAPHORE, EFD_NONBLOCK,
 * overflow, short buffers, readiness.
 */
#include "harness.h"

#include <poll.h>
#include <sys/eventfd.h>

static int efd(unsigned int init, int flags)
{
	return syscall(SYS_eventfd2, init, flags);
}

CASE(eventfd_initial_value_then_zero)
{
	int fd = ASSERT_OK(efd(5, EFD_NONBLOCK));
	uint64_t v = 0;

	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 5);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_writes_add_up)
{
	int fd = ASSERT_OK(efd(0, 0));
	uint64_t v = 3;

	EXPECT_EQ(write(fd, &v, 8), 8);
	v = 4;
	EXPECT_EQ(write(fd, &v, 8), 8);
	v = 0;
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 7);
}

CASE(eventfd_semaphore_reads_one)
{
	int fd = ASSERT_OK(efd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
	uint64_t v = 0;

	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 1);
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 1);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_short_buffers_einval)
{
	int fd = ASSERT_OK(efd(1, EFD_NONBLOCK));
	uint32_t small = 1;
	uint64_t big[2] = {0, 0};

	EXPECT_ERRNO(read(fd, &small, 4), EINVAL);
	EXPECT_ERRNO(write(fd, &small, 4), EINVAL);
	/* a larger buffer is fine: 8 bytes are used */
	EXPECT_EQ(read(fd, big, 16), 8);
	EXPECT_EQ(big[0], 1);
}

CASE(eventfd_write_all_ones_einval)
{
	int fd = ASSERT_OK(efd(0, EFD_NONBLOCK));
	uint64_t v = UINT64_MAX;

	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
}

CASE(eventfd_overflow_nonblocking_eagain)
{
	int fd = ASSERT_OK(efd(0, EFD_NONBLOCK));
	uint64_t v = UINT64_MAX - 1;

	EXPECT_EQ(write(fd, &v, 8), 8);
	v = 1;
	EXPECT_ERRNO(write(fd, &v, 8), EAGAIN);
	v = 0;
	EXPECT_EQ(write(fd, &v, 8), 8);
}

CASE(eventfd_bad_flags_einval)
{
	EXPECT_ERRNO(efd(0, OPAQUE(2)), EINVAL);
	EXPECT_ERRNO(efd(0, OPAQUE(O_APPEND)), EINVAL);
}

CASE(eventfd_flags_reported)
{
	int fd = ASSERT_OK(efd(0, EFD_CLOEXEC | EFD_NONBLOCK));

	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDWR);
	fd = ASSERT_OK(syscall(SYS_eventfd, 0));
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}

CASE(eventfd_bad_buffer_efault)
{
	int fd = ASSERT_OK(efd(1, EFD_NONBLOCK));

	EXPECT_ERRNO(read(fd, BAD_PTR, 8), EFAULT);
	EXPECT_ERRNO(write(fd, BAD_PTR, 8), EFAULT);
}

CASE(eventfd_poll_readiness)
{
	int fd = ASSERT_OK(efd(0, EFD_NONBLOCK));
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	uint64_t v = UINT64_MAX - 1;

	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	ASSERT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(eventfd_blocking_read_woken_by_child)
{
	int fd = ASSERT_OK(efd(0, 0));
	uint64_t v = 0;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		uint64_t one = 9;

		usleep(50000);
		_exit(write(fd, &one, 8) == 8 ? 0 : 1);
	}
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 9);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(eventfd_blocking_write_waits_for_reader)
{
	int fd = ASSERT_OK(efd(0, 0));
	uint64_t v = UINT64_MAX - 1;
	pid_t pid;

	ASSERT_EQ(write(fd, &v, 8), 8);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		uint64_t r;

		usleep(50000);
		_exit(read(fd, &r, 8) == 8 ? 0 : 1);
	}
	v = 1;
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 1);
}

CASE(eventfd_pread_espipe)
{
	int fd = ASSERT_OK(efd(1, 0));
	uint64_t v;

	EXPECT_ERRNO(pread(fd, &v, 8, 0), ESPIPE);
	EXPECT_ERRNO(pwrite(fd, &v, 8, 0), ESPIPE);
}

HARNESS_MAIN
