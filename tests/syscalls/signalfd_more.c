/*
 * signalfd: signalfd, signalfd4; reading signals as signalfd_siginfo,
 * updating the mask, readiness, errors.
 */
#include "harness.h"

#include <poll.h>
#include <sys/signalfd.h>

static void block(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static int sfd(int fd, int sig, int flags)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	return signalfd(fd, &s, flags);
}

static int is_pending(int sig)
{
	sigset_t s;

	sigpending(&s);
	return sigismember(&s, sig);
}

CASE(signalfd_reads_kill_siginfo)
{
	struct signalfd_siginfo si;
	int fd;

	block(SIGUSR1);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, 0));
	ASSERT_OK(kill(getpid(), SIGUSR1));
	ASSERT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR1);
	EXPECT_EQ(si.ssi_code, SI_USER);
	EXPECT_SAME(si.ssi_pid, getpid());
	EXPECT_EQ(si.ssi_uid, getuid());
	EXPECT_EQ(is_pending(SIGUSR1), 0);
}

CASE(signalfd_reads_sigqueue_value)
{
	struct signalfd_siginfo si;
	union sigval v = {.sival_int = 4242};
	int fd;

	block(SIGRTMIN);
	fd = ASSERT_OK(sfd(-1, SIGRTMIN, 0));
	ASSERT_OK(sigqueue(getpid(), SIGRTMIN, v));
	ASSERT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGRTMIN);
	EXPECT_EQ(si.ssi_code, SI_QUEUE);
	EXPECT_EQ(si.ssi_int, 4242);
}

CASE(signalfd_nonblocking_empty_eagain)
{
	struct signalfd_siginfo si;
	int fd;

	block(SIGUSR1);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, SFD_NONBLOCK | SFD_CLOEXEC));
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
}

CASE(signalfd_short_buffer_einval)
{
	char buf[64];
	int fd;

	block(SIGUSR1);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, SFD_NONBLOCK));
	kill(getpid(), SIGUSR1);
	EXPECT_ERRNO(read(fd, buf, sizeof(buf)), EINVAL);
	EXPECT_EQ(is_pending(SIGUSR1), 1);
}

CASE(signalfd_reads_several_at_once)
{
	struct signalfd_siginfo si[4];
	sigset_t s;
	int fd;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	fd = ASSERT_OK(signalfd(-1, &s, SFD_NONBLOCK));
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	EXPECT_EQ(read(fd, si, sizeof(si)), 2 * sizeof(si[0]));
	EXPECT_ERRNO(read(fd, si, sizeof(si)), EAGAIN);
}

CASE(signalfd_leaves_other_signals_pending)
{
	struct signalfd_siginfo si;
	int fd;

	block(SIGUSR1);
	block(SIGUSR2);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, SFD_NONBLOCK));
	kill(getpid(), SIGUSR2);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	EXPECT_EQ(is_pending(SIGUSR2), 1);
}

CASE(signalfd_update_mask_in_place)
{
	struct signalfd_siginfo si;
	int fd, fd2;

	block(SIGUSR1);
	block(SIGUSR2);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, SFD_NONBLOCK));
	fd2 = ASSERT_OK(sfd(fd, SIGUSR2, 0));
	EXPECT_EQ(fd2, fd);
	kill(getpid(), SIGUSR2);
	ASSERT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR2);
}

CASE(signalfd_errors)
{
	sigset_t s;
	int p[2];

	sigemptyset(&s);
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(signalfd(p[0], &s, 0), EINVAL);
	EXPECT_ERRNO(signalfd(999, &s, 0), EBADF);
	EXPECT_ERRNO(signalfd(-1, &s, OPAQUE(1)), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, BAD_PTR, 8, 0), EFAULT);
}

CASE(signalfd_poll_readable_when_pending)
{
	struct pollfd p;
	int fd;

	block(SIGUSR1);
	fd = ASSERT_OK(sfd(-1, SIGUSR1, 0));
	p.fd = fd;
	p.events = POLLIN;
	EXPECT_EQ(poll(&p, 1, 0), 0);
	kill(getpid(), SIGUSR1);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(signalfd_blocking_read_woken_by_child_kill)
{
	struct signalfd_siginfo si;
	pid_t parent = getpid(), pid;
	int fd;

	block(SIGUSR2);
	fd = ASSERT_OK(sfd(-1, SIGUSR2, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		usleep(50000);
		_exit(kill(parent, SIGUSR2) == 0 ? 0 : 1);
	}
	ASSERT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR2);
	EXPECT_SAME(si.ssi_pid, pid);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(signalfd_sees_sigchld_of_child)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int fd;

	block(SIGCHLD);
	fd = ASSERT_OK(sfd(-1, SIGCHLD, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(7);
	ASSERT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGCHLD);
	EXPECT_EQ(si.ssi_code, CLD_EXITED);
	EXPECT_EQ(si.ssi_status, 7);
	EXPECT_SAME(si.ssi_pid, pid);
	EXPECT_EXITED(h_wait(pid), 7);
}

HARNESS_MAIN
