/*
 * signalfd(2): blocked signals read as struct signalfd_siginfo records,
 * O_NONBLOCK/SFD_CLOEXEC, mask updates, poll readiness, SIGCHLD details,
 * argument errors.
 */
#include "harness.h"

#include <poll.h>
#include <sys/signalfd.h>

/* Blocks `sig` and returns a signalfd for it. */
static int sfd_for(int sig, int flags)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, flags);
	if (fd < 0)
		FAILX("signalfd: %s", h_errname(errno));
	return fd;
}

CASE(reads_a_blocked_signal)
{
	int fd = sfd_for(SIGUSR1, 0);
	struct signalfd_siginfo si;

	ASSERT_OK(kill(getpid(), SIGUSR1));
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, (uint32_t)SIGUSR1);
	EXPECT_EQ(si.ssi_code, SI_USER);
	EXPECT_SAME(si.ssi_pid, (uint32_t)getpid());
	EXPECT_EQ(si.ssi_uid, getuid());
	/* It was consumed: nothing is pending any more. */
	sigset_t pending;
	sigpending(&pending);
	EXPECT_EQ(sigismember(&pending, SIGUSR1), 0);
}

CASE(raise_is_si_tkill)
{
	int fd = sfd_for(SIGUSR1, 0);
	struct signalfd_siginfo si;

	ASSERT_OK(raise(SIGUSR1));
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_code, SI_TKILL);
}

CASE(sigqueue_value_arrives)
{
	int fd = sfd_for(SIGUSR2, 0);
	struct signalfd_siginfo si;

	ASSERT_OK(sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = 42}));
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_code, SI_QUEUE);
	EXPECT_EQ(si.ssi_int, 42);
}

CASE(several_records_in_one_read)
{
	sigset_t set;
	struct signalfd_siginfo si[4];
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = ASSERT_OK(signalfd(-1, &set, 0));
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	EXPECT_EQ(read(fd, si, sizeof(si)), (ssize_t)(2 * sizeof(si[0])));
}

CASE(nonblocking_empty_read_is_eagain)
{
	int fd = sfd_for(SIGUSR1, SFD_NONBLOCK);
	struct signalfd_siginfo si;

	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

CASE(cloexec_flag)
{
	int fd = sfd_for(SIGUSR1, SFD_CLOEXEC);

	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

CASE(short_buffer_is_einval_and_write_is_einval)
{
	int fd = sfd_for(SIGUSR1, SFD_NONBLOCK);
	char buf[200];

	EXPECT_ERRNO(read(fd, buf, 100), EINVAL);
	EXPECT_ERRNO(write(fd, buf, 128), EINVAL);
}

CASE(bad_arguments)
{
	sigset_t set;
	int p[2];

	sigemptyset(&set);
	EXPECT_ERRNO(signalfd(-1, &set, 0x4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &set, 4, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, BAD_PTR, 8, 0), EFAULT);
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(signalfd(p[0], &set, 0), EINVAL);
	EXPECT_ERRNO(signalfd(9999, &set, 0), EBADF);
	/* SIGKILL and SIGSTOP are silently left out. */
	sigaddset(&set, SIGKILL);
	sigaddset(&set, SIGSTOP);
	EXPECT_OK(close(ASSERT_OK(signalfd(-1, &set, 0))));
}

CASE(mask_can_be_replaced)
{
	int fd = sfd_for(SIGUSR1, SFD_NONBLOCK);
	struct signalfd_siginfo si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	EXPECT_EQ(signalfd(fd, &set, 0), fd);
	kill(getpid(), SIGUSR1);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	kill(getpid(), SIGUSR2);
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, (uint32_t)SIGUSR2);
}

CASE(poll_readiness)
{
	int fd = sfd_for(SIGUSR1, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	EXPECT_EQ(poll(&p, 1, 0), 0);
	kill(getpid(), SIGUSR1);
	EXPECT_EQ(poll(&p, 1, 1000), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(sigchld_carries_the_childs_status)
{
	int fd = sfd_for(SIGCHLD, 0);
	struct signalfd_siginfo si;
	pid_t pid = fork();

	if (pid == 0)
		_exit(7);
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, (uint32_t)SIGCHLD);
	EXPECT_EQ(si.ssi_code, CLD_EXITED);
	EXPECT_SAME(si.ssi_pid, (uint32_t)pid);
	EXPECT_EQ(si.ssi_status, 7);
	h_wait(pid);
}

CASE(blocking_read_wakes_when_a_signal_comes)
{
	int fd = sfd_for(SIGUSR1, 0);
	struct signalfd_siginfo si;
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		usleep(100000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	EXPECT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, (uint32_t)SIGUSR1);
	h_wait(pid);
}

static void on_alarm(int sig)
{
	(void)sig;
}

CASE(blocking_read_is_interrupted_by_a_handled_signal)
{
	int fd = sfd_for(SIGUSR1, 0);
	struct signalfd_siginfo si;
	struct sigaction sa = {.sa_handler = on_alarm};

	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EINTR);
}

CASE(proc_fd_link_names_it)
{
	int fd = sfd_for(SIGUSR1, 0);
	char path[64], target[64] = {0};

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_GT(readlink(path, target, sizeof(target) - 1), 0);
	EXPECT_STREQ(target, "anon_inode:[signalfd]");
}

HARNESS_MAIN
