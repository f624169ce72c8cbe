/*
 * epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait;
 * level- and edge-triggered readiness, EPOLLONESHOT, errors.
 */
#include "harness.h"

#include <sys/epoll.h>

static void noop(int sig)
{
	(void)sig;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

CASE(epoll_create_size_must_be_positive)
{
	EXPECT_ERRNO(syscall(SYS_epoll_create, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_epoll_create, -1), EINVAL);
	EXPECT_OK(syscall(SYS_epoll_create, 1));
}

CASE(epoll_create1_flags)
{
	int ep = ASSERT_OK(epoll_create1(EPOLL_CLOEXEC));

	EXPECT_EQ(fcntl(ep, F_GETFD), FD_CLOEXEC);
	ep = ASSERT_OK(epoll_create1(0));
	EXPECT_EQ(fcntl(ep, F_GETFD), 0);
	EXPECT_ERRNO(epoll_create1(OPAQUE(1)), EINVAL);
	EXPECT_ERRNO(epoll_create1(OPAQUE(O_NONBLOCK)), EINVAL);
}

CASE(epoll_ctl_add_twice_eexist)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));

	ASSERT_OK(pipe(p));
	EXPECT_OK(add(ep, p[0], EPOLLIN, 1));
	EXPECT_ERRNO(add(ep, p[0], EPOLLIN, 1), EEXIST);
}

CASE(epoll_ctl_mod_and_del_unregistered_enoent)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev = {.events = EPOLLIN};

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev), ENOENT);
}

CASE(epoll_ctl_errors)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev = {.events = EPOLLIN};

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	EXPECT_ERRNO(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev), EBADF);
	EXPECT_ERRNO(epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, 42, p[0], &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], BAD_PTR), EFAULT);
}

CASE(epoll_ctl_regular_file_eperm)
{
	int ep = ASSERT_OK(epoll_create1(0));
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));

	EXPECT_ERRNO(add(ep, fd, EPOLLIN, 0), EPERM);
}

CASE(epoll_wait_reports_ready_pipe_with_data)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev[4];

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0x1122334455667788ULL));
	ASSERT_OK(add(ep, p[1], EPOLLOUT, 7));
	EXPECT_EQ(epoll_wait(ep, ev, 4, 0), 1);
	EXPECT_EQ(ev[0].data.u64, 7);
	EXPECT_EQ(ev[0].events, EPOLLOUT);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
	EXPECT_EQ(epoll_wait(ep, ev, 4, 0), 1);
	EXPECT_TRUE(ev[0].data.u64 == 0x1122334455667788ULL);
	EXPECT_EQ(ev[0].events, EPOLLIN);
}

CASE(epoll_wait_timeout_returns_zero)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;
	struct timespec a, b;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0));
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 30), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT_GE((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 29);
}

CASE(epoll_wait_errors)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(epoll_wait(ep, &ev, 0, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(ep, &ev, -1, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(p[0], &ev, 1, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(999, &ev, 1, 0), EBADF);
	ASSERT_OK(add(ep, p[1], EPOLLOUT, 0));
	EXPECT_ERRNO(epoll_wait(ep, BAD_PTR, 1, 0), EFAULT);
}

CASE(epoll_edge_triggered_reports_once_per_change)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN | EPOLLET, 0));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
}

CASE(epoll_level_triggered_reports_until_drained)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;
	char c[2];

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0));
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	ASSERT_EQ(read(p[0], c, 2), 2);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
}

CASE(epoll_oneshot_disarms_until_mod)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};

	ASSERT_OK(pipe(p));
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	ev.events = EPOLLIN | EPOLLONESHOT;
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
}

CASE(epoll_hup_when_writer_closes)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0));
	close(p[1]);
	ASSERT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	EXPECT_EQ(ev.events, EPOLLHUP);
}

CASE(epoll_err_on_write_end_without_reader)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[1], EPOLLOUT, 0));
	close(p[0]);
	ASSERT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT | EPOLLERR);
}

CASE(epoll_close_last_fd_removes_registration)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[1], EPOLLOUT, 0));
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	close(p[1]);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
}

CASE(epoll_wait_blocks_until_child_writes)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;
	pid_t pid;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 5));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		usleep(50000);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 5000), 1);
	EXPECT_EQ(ev.data.u64, 5);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(epoll_wait_interrupted_by_signal_eintr)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	sa.sa_flags = SA_RESTART; /* epoll_wait is never restarted */
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0));
	alarm(1);
	EXPECT_ERRNO(epoll_wait(ep, &ev, 1, 5000), EINTR);
}

CASE(epoll_pwait_mask_unblocks_signal)
{
	int p[2], ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;
	sigset_t block, empty;

	signal(SIGUSR1, noop);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_OK(pipe(p));
	ASSERT_OK(add(ep, p[0], EPOLLIN, 0));
	kill(getpid(), SIGUSR1);
	EXPECT_EQ(epoll_pwait(ep, &ev, 1, 0, &block), 0);
	EXPECT_ERRNO(epoll_pwait(ep, &ev, 1, 1000, &empty), EINTR);
}

CASE(epoll_nested_epoll_fd_is_readable)
{
	int p[2], outer = ASSERT_OK(epoll_create1(0)), inner = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev;

	ASSERT_OK(pipe(p));
	ASSERT_OK(add(inner, p[0], EPOLLIN, 0));
	ASSERT_OK(add(outer, inner, EPOLLIN, 9));
	EXPECT_EQ(epoll_wait(outer, &ev, 1, 0), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(epoll_wait(outer, &ev, 1, 0), 1);
	EXPECT_EQ(ev.data.u64, 9);
	EXPECT_ERRNO(add(inner, outer, EPOLLIN, 0), ELOOP);
}

HARNESS_MAIN
