/*
 * eventfd(2) and eventfd2: the 64-bit counter, EFD_SEMAPHORE, EFD_NONBLOCK,
 * EFD_CLOEXEC, short buffers, overflow, blocking and interrupted reads and
 * writes, and poll/select readiness.
 */
#include "harness.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#define MAXCOUNT 0xfffffffffffffffeULL

static uint64_t get(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != 8)
		FAILX("read: %s", h_errname(errno));
	return v;
}

static void put(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != 8)
		FAILX("write: %s", h_errname(errno));
}

static short revents(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	if (poll(&p, 1, 0) < 0)
		FAILX("poll: %s", h_errname(errno));
	return p.revents;
}

static volatile int got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal++;
}

static void handle(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* A child that sends `sig` to the parent every `ms` until killed. */
static pid_t nagger(int ms, int sig)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		for (int i = 0; i < 1000; i++) {
			usleep(ms * 1000);
			kill(parent, sig);
		}
		_exit(0);
	}
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	h_wait(pid);
}

/* A child that waits `ms`, then optionally signals the parent, then writes `v` to fd. */
static pid_t later(int fd, int ms, int sig, uint64_t v)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		usleep(ms * 1000);
		if (sig)
			kill(parent, sig);
		if (v) {
			usleep(ms * 1000);
			if (write(fd, &v, 8) != 8)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

CASE(eventfd_initial_value_then_eagain)
{
	int fd = ASSERT_OK(eventfd(5, EFD_NONBLOCK));
	uint64_t v;

	EXPECT_EQ(get(fd), 5);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_writes_add_up)
{
	int fd = ASSERT_OK(eventfd(0, 0));

	put(fd, 3);
	put(fd, 4);
	EXPECT_EQ(get(fd), 7);
}

CASE(eventfd_semaphore_reads_one_at_a_time)
{
	int fd = ASSERT_OK(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK));
	uint64_t v;

	EXPECT_EQ(get(fd), 1);
	EXPECT_EQ(get(fd), 1);
	put(fd, 5);
	for (int i = 0; i < 6; i++)
		EXPECT_EQ(get(fd), 1);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_short_buffers_einval)
{
	int fd = ASSERT_OK(eventfd(1, 0));
	char buf[7] = {0};

	EXPECT_ERRNO(read(fd, buf, 7), EINVAL);
	EXPECT_ERRNO(write(fd, buf, 7), EINVAL);
	EXPECT_EQ(get(fd), 1);
}

/* A longer read uses 8 bytes; a write must be exactly 8 bytes long. */
CASE(eventfd_long_read_uses_8_bytes_long_write_einval)
{
	int fd = ASSERT_OK(eventfd(9, EFD_NONBLOCK));
	uint64_t buf[2] = {0, 0x1234};

	EXPECT_EQ(read(fd, buf, sizeof(buf)), 8);
	EXPECT_EQ(buf[0], 9);
	EXPECT_EQ(buf[1], 0x1234);
	buf[0] = 2;
	EXPECT_ERRNO(write(fd, buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(write(fd, buf, 9), EINVAL);
	EXPECT_ERRNO(read(fd, buf, 8), EAGAIN);
}

CASE(eventfd_write_all_ones_einval)
{
	int fd = ASSERT_OK(eventfd(0, EFD_NONBLOCK));
	uint64_t v = ~0ULL;

	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_overflow_would_block)
{
	int fd = ASSERT_OK(eventfd(0, EFD_NONBLOCK));
	uint64_t v = MAXCOUNT;

	EXPECT_EQ(write(fd, &v, 8), 8);
	v = 1;
	EXPECT_ERRNO(write(fd, &v, 8), EAGAIN);
	v = 0;
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(get(fd), MAXCOUNT);
	v = 1;
	EXPECT_EQ(write(fd, &v, 8), 8);
}

CASE(eventfd_write_zero_is_not_readable)
{
	int fd = ASSERT_OK(eventfd(0, EFD_NONBLOCK));
	uint64_t v = 0;

	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	EXPECT_EQ(revents(fd, POLLIN), 0);
}

CASE(eventfd_bad_flags_einval)
{
	EXPECT_ERRNO(syscall(SYS_eventfd2, 0, 2), EINVAL);
	EXPECT_ERRNO(syscall(SYS_eventfd2, 0, O_RDWR | 0x40), EINVAL);
}

CASE(eventfd_flags_cloexec_nonblock)
{
	int a = ASSERT_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	int b = ASSERT_OK(eventfd(0, 0));

	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
	EXPECT_EQ(fcntl(a, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	EXPECT_EQ(fcntl(b, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
}

CASE(eventfd_plain_syscall_takes_no_flags)
{
	int fd = ASSERT_OK(syscall(SYS_eventfd, 4));

	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	EXPECT_EQ(get(fd), 4);
}

CASE(eventfd_fcntl_nonblock_applies)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	uint64_t v;

	ASSERT_OK(fcntl(fd, F_SETFL, O_NONBLOCK));
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

CASE(eventfd_poll_readiness)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	uint64_t v = MAXCOUNT - 1;

	EXPECT_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT);
	put(fd, 1);
	EXPECT_EQ(revents(fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(revents(fd, POLLIN | POLLOUT), POLLIN);
	get(fd);
	EXPECT_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT);
}

CASE(eventfd_select_readable)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	struct timeval tv = {0, 0};
	fd_set r;

	FD_ZERO(&r);
	FD_SET(fd, &r);
	EXPECT_EQ(select(fd + 1, &r, NULL, NULL, &tv), 0);
	put(fd, 1);
	FD_SET(fd, &r);
	EXPECT_EQ(select(fd + 1, &r, NULL, NULL, &tv), 1);
	EXPECT_TRUE(FD_ISSET(fd, &r));
}

CASE(eventfd_blocking_read_woken_by_write)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	pid_t pid = later(fd, 30, 0, 42);

	EXPECT_EQ(get(fd), 42);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(eventfd_blocking_write_woken_by_read)
{
	int fd = ASSERT_OK(eventfd(MAXCOUNT & 0xffffffff, 0));
	uint64_t v = MAXCOUNT - (MAXCOUNT & 0xffffffff);
	pid_t pid;

	EXPECT_EQ(write(fd, &v, 8), 8);
	pid = fork();
	if (pid == 0) {
		usleep(30000);
		_exit(get(fd) == MAXCOUNT ? 0 : 1);
	}
	v = 3;
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(get(fd), 3);
}

CASE(eventfd_poll_woken_by_write)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	pid_t pid = later(fd, 30, 0, 1);

	EXPECT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(p.revents, POLLIN);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(eventfd_read_interrupted_eintr)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	uint64_t v;
	pid_t pid;

	handle(SIGUSR1, 0);
	pid = nagger(30, SIGUSR1);
	EXPECT_ERRNO(read(fd, &v, 8), EINTR);
	EXPECT_GE(got_signal, 1);
	stop_child(pid);
}

CASE(eventfd_read_restarted_with_sa_restart)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	pid_t pid;

	handle(SIGUSR1, SA_RESTART);
	pid = later(fd, 30, SIGUSR1, 6);
	EXPECT_EQ(get(fd), 6);
	EXPECT_EQ(got_signal, 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(eventfd_bad_pointers_efault)
{
	int fd = ASSERT_OK(eventfd(2, 0));

	EXPECT_ERRNO(write(fd, BAD_PTR, 8), EFAULT);
	EXPECT_EQ(get(fd), 2);
}

/* noop_llseek: lseek succeeds at 0; pread is still ESPIPE. */
CASE(eventfd_lseek_noop_pread_espipe)
{
	int fd = ASSERT_OK(eventfd(3, 0));
	uint64_t v;

	EXPECT_EQ(lseek(fd, 5, SEEK_SET), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_ERRNO(pread(fd, &v, 8, 0), ESPIPE);
	EXPECT_ERRNO(pwrite(fd, &v, 8, 0), ESPIPE);
	EXPECT_EQ(get(fd), 3);
}

CASE(eventfd_shared_across_fork)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	pid_t pid = fork();

	if (pid == 0) {
		uint64_t v = 11;

		_exit(write(fd, &v, 8) == 8 ? 0 : 1);
	}
	EXPECT_EQ(get(fd), 11);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(eventfd_proc_fd_link)
{
	int fd = ASSERT_OK(eventfd(0, 0));
	char path[64], link[64] = {0};

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_OK(readlink(path, link, sizeof(link) - 1));
	EXPECT_STREQ(link, "anon_inode:[eventfd]");
}

HARNESS_MAIN
