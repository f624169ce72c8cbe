/*
 * Polling: poll, ppoll, select, pselect6 edge cases: POLLNVAL, POLLHUP,
 * POLLERR, negative fds, timeouts and their updates, signal masks, errors.
 */
#include "harness.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>

static void noop(int sig)
{
	(void)sig;
}

static long ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

CASE(poll_negative_fd_is_ignored)
{
	struct pollfd p = {.fd = -1, .events = POLLIN, .revents = 0x55};

	EXPECT_EQ(poll(&p, 1, 0), 0);
	EXPECT_EQ(p.revents, 0);
}

CASE(poll_closed_fd_reports_pollnval)
{
	struct pollfd p = {.fd = 999, .events = POLLIN};

	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLNVAL);
}

CASE(poll_pipe_states)
{
	int p[2];
	struct pollfd f[2];

	ASSERT_OK(pipe(p));
	f[0] = (struct pollfd){.fd = p[0], .events = POLLIN | POLLOUT};
	f[1] = (struct pollfd){.fd = p[1], .events = POLLIN | POLLOUT};
	EXPECT_EQ(poll(f, 2, 0), 1);
	EXPECT_EQ(f[0].revents, 0);
	EXPECT_EQ(f[1].revents, POLLOUT);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	EXPECT_EQ(poll(f, 2, 0), 2);
	EXPECT_EQ(f[0].revents, POLLIN);
}

CASE(poll_hup_reported_even_if_not_requested)
{
	int p[2];
	struct pollfd f;

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "x", 1), 1);
	close(p[1]);
	f = (struct pollfd){.fd = p[0], .events = 0};
	EXPECT_EQ(poll(&f, 1, 0), 1);
	EXPECT_EQ(f.revents, POLLHUP);
	f.events = POLLIN;
	EXPECT_EQ(poll(&f, 1, 0), 1);
	EXPECT_EQ(f.revents, POLLIN | POLLHUP);
}

CASE(poll_err_on_write_end_without_reader)
{
	int p[2];
	struct pollfd f;

	ASSERT_OK(pipe(p));
	close(p[0]);
	f = (struct pollfd){.fd = p[1], .events = 0};
	EXPECT_EQ(poll(&f, 1, 0), 1);
	EXPECT_EQ(f.revents, POLLERR);
}

CASE(poll_timeout_expires)
{
	int p[2];
	struct pollfd f;
	struct timespec a;

	ASSERT_OK(pipe(p));
	f = (struct pollfd){.fd = p[0], .events = POLLIN};
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(poll(&f, 1, 50), 0);
	EXPECT_GE(ms_since(&a), 49);
}

CASE(poll_no_fds_sleeps)
{
	struct timespec a;

	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(poll(NULL, 0, 30), 0);
	EXPECT_GE(ms_since(&a), 29);
}

CASE(poll_errors)
{
	struct rlimit rl;
	struct pollfd f = {.fd = 0, .events = POLLIN};

	EXPECT_ERRNO(poll(BAD_PTR, 1, 0), EFAULT);
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 64;
	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_ERRNO(poll(&f, 65, 0), EINVAL);
}

CASE(poll_interrupted_by_signal_eintr)
{
	int p[2];
	struct pollfd f;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	sa.sa_flags = SA_RESTART; /* poll with a timeout is not restarted */
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	ASSERT_OK(pipe(p));
	f = (struct pollfd){.fd = p[0], .events = POLLIN};
	alarm(1);
	EXPECT_ERRNO(poll(&f, 1, 5000), EINTR);
}

CASE(ppoll_errors)
{
	struct pollfd f = {.fd = -1};
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000000L};
	sigset_t s;

	sigemptyset(&s);
	EXPECT_ERRNO(ppoll(&f, 1, &ts, NULL), EINVAL);
	ts.tv_nsec = -1;
	EXPECT_ERRNO(ppoll(&f, 1, &ts, NULL), EINVAL);
	ts = (struct timespec){.tv_sec = -1, .tv_nsec = 0};
	EXPECT_ERRNO(ppoll(&f, 1, &ts, NULL), EINVAL);
	ts = (struct timespec){0, 0};
	EXPECT_ERRNO(syscall(SYS_ppoll, &f, 1, &ts, &s, 4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_ppoll, &f, 1, BAD_PTR, NULL, 8), EFAULT);
}

CASE(ppoll_updates_timeout)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 50000000};

	EXPECT_EQ(syscall(SYS_ppoll, NULL, 0, &ts, NULL, 8), 0);
	EXPECT_EQ(ts.tv_sec, 0);
	EXPECT_EQ(ts.tv_nsec, 0);
}

CASE(ppoll_mask_delivers_blocked_signal)
{
	sigset_t block, empty;
	struct timespec ts = {.tv_sec = 5, .tv_nsec = 0};

	signal(SIGUSR1, noop);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	kill(getpid(), SIGUSR1);
	EXPECT_ERRNO(ppoll(NULL, 0, &ts, &empty), EINTR);
	/* the original mask is back */
	sigprocmask(SIG_BLOCK, NULL, &empty);
	EXPECT_EQ(sigismember(&empty, SIGUSR1), 1);
}

CASE(select_reports_ready_sets)
{
	int p[2];
	fd_set r, w;
	struct timeval tv = {0, 0};

	ASSERT_OK(pipe(p));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &w);
	EXPECT_EQ(select(p[1] + 1, &r, &w, NULL, &tv), 1);
	EXPECT_EQ(FD_ISSET(p[0], &r), 0);
	EXPECT_NE(FD_ISSET(p[1], &w), 0);
	EXPECT_EQ(FD_ISSET(p[0], &w), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	EXPECT_EQ(select(p[1] + 1, &r, NULL, NULL, &tv), 1);
	EXPECT_NE(FD_ISSET(p[0], &r), 0);
}

CASE(select_errors)
{
	fd_set r;
	struct timeval tv = {0, 0};

	/* a closed fd inside the descriptor table */
	ASSERT_EQ(dup2(0, 50), 50);
	close(50);
	FD_ZERO(&r);
	FD_SET(50, &r);
	EXPECT_ERRNO(select(51, &r, NULL, NULL, &tv), EBADF);
	EXPECT_ERRNO(select(OPAQUE(-1), NULL, NULL, NULL, &tv), EINVAL);
	tv.tv_usec = -1;
	EXPECT_ERRNO(select(0, NULL, NULL, NULL, &tv), EINVAL);
	tv.tv_usec = 0;
	EXPECT_ERRNO(select(1, BAD_PTR, NULL, NULL, &tv), EFAULT);
}

CASE(select_updates_timeout_to_remaining)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 40000};

	EXPECT_EQ(syscall(SYS_select, 0, NULL, NULL, NULL, &tv), 0);
	EXPECT_EQ(tv.tv_sec, 0);
	EXPECT_EQ(tv.tv_usec, 0);
}

CASE(select_beyond_nfds_ignored)
{
	int p[2];
	fd_set w;
	struct timeval tv = {0, 0};

	ASSERT_OK(pipe(p));
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	/* p[1] is not below nfds: not examined */
	EXPECT_EQ(select(p[1], NULL, &w, NULL, &tv), 0);
}

CASE(pselect6_errors_and_mask)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000000L};
	sigset_t block, empty;

	EXPECT_ERRNO(pselect(0, NULL, NULL, NULL, &ts, NULL), EINVAL);
	signal(SIGUSR1, noop);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	kill(getpid(), SIGUSR1);
	ts = (struct timespec){.tv_sec = 0, .tv_nsec = 0};
	EXPECT_EQ(pselect(0, NULL, NULL, NULL, &ts, &block), 0);
	ts.tv_sec = 5;
	EXPECT_ERRNO(pselect(0, NULL, NULL, NULL, &ts, &empty), EINTR);
}

HARNESS_MAIN
