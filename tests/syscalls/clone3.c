/*
 * clone3(2): struct clone_args validation, exit signals, CLONE_PARENT_SETTID,
 * CLONE_CLEAR_SIGHAND, CLONE_PIDFD, size handling.
 */
#include "harness.h"

#include <linux/sched.h>

#ifndef CLONE_ARGS_SIZE_VER0
#define CLONE_ARGS_SIZE_VER0 64
#endif

static long clone3_raw(struct clone_args *args, size_t size)
{
	return syscall(SYS_clone3, args, size);
}

static volatile int handled;

static void handler(int sig)
{
	(void)sig;
	handled = 1;
}

CASE(clone3_like_fork)
{
	struct clone_args a = {.exit_signal = SIGCHLD};
	long pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));

	if (pid == 0)
		_exit(getppid() > 0 ? 7 : 1);
	EXPECT_EXITED(h_wait(pid), 7);
}

CASE(clone3_ver0_size_accepted)
{
	struct clone_args a = {.exit_signal = SIGCHLD};
	long pid = ASSERT_OK(clone3_raw(&a, CLONE_ARGS_SIZE_VER0));

	if (pid == 0)
		_exit(0);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(clone3_size_errors)
{
	struct {
		struct clone_args a;
		uint64_t extra[4];
	} big;

	memset(&big, 0, sizeof(big));
	big.a.exit_signal = SIGCHLD;
	EXPECT_ERRNO(clone3_raw(&big.a, CLONE_ARGS_SIZE_VER0 - 8), EINVAL);
	EXPECT_ERRNO(clone3_raw(&big.a, 0), EINVAL);
	big.extra[1] = 1;
	EXPECT_ERRNO(clone3_raw(&big.a, sizeof(big)), E2BIG);
	EXPECT_ERRNO(clone3_raw(&big.a, 8192), E2BIG);
	EXPECT_ERRNO(clone3_raw(BAD_PTR, sizeof(big.a)), EFAULT);
}

CASE(clone3_bigger_zeroed_struct_accepted)
{
	struct {
		struct clone_args a;
		uint64_t extra[4];
	} big;
	long pid;

	memset(&big, 0, sizeof(big));
	big.a.exit_signal = SIGCHLD;
	pid = ASSERT_OK(clone3_raw(&big.a, sizeof(big)));
	if (pid == 0)
		_exit(0);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(clone3_flag_errors)
{
	struct clone_args a = {.exit_signal = SIGCHLD};

	a.exit_signal = 65;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
	a.exit_signal = SIGCHLD;
	a.flags = CLONE_THREAD;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
	a.flags = CLONE_SIGHAND;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
	a.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
	a.flags = 0xff; /* CSIGNAL bits belong in exit_signal */
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
	a.flags = 0;
	a.stack = 0;
	a.stack_size = 4096;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
}

CASE(clone3_parent_settid_and_child_settid)
{
	pid_t ptid = 0;
	static pid_t ctid;
	struct clone_args a = {.flags = CLONE_PARENT_SETTID | CLONE_CHILD_SETTID,
			       .parent_tid = (uintptr_t)&ptid,
			       .child_tid = (uintptr_t)&ctid,
			       .exit_signal = SIGCHLD};
	long pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));

	if (pid == 0)
		_exit(ctid == getpid() ? 0 : 1);
	EXPECT_SAME(ptid, pid);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(clone3_exit_signal_zero_needs_wclone)
{
	struct clone_args a = {.exit_signal = 0};
	long pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));
	int st;

	if (pid == 0)
		_exit(5);
	usleep(20000);
	EXPECT_EQ(waitpid(pid, &st, WNOHANG), -1);
	ASSERT_EQ(waitpid(pid, &st, __WCLONE), pid);
	EXPECT_EXITED(st, 5);
}

CASE(clone3_custom_exit_signal_delivered)
{
	struct clone_args a = {.exit_signal = SIGUSR1};
	sigset_t s;
	int sig = 0;
	long pid;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));
	if (pid == 0)
		_exit(0);
	sig = sigtimedwait(&s, NULL, &(struct timespec){5, 0});
	EXPECT_EQ(sig, SIGUSR1);
	EXPECT_EQ(waitpid(pid, NULL, __WALL), pid);
}

CASE(clone3_clear_sighand_resets_handlers)
{
	struct clone_args a = {.flags = CLONE_CLEAR_SIGHAND, .exit_signal = SIGCHLD};
	long pid;

	signal(SIGUSR1, handler);
	signal(SIGUSR2, SIG_IGN);
	pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));
	if (pid == 0) {
		struct sigaction sa1, sa2;

		sigaction(SIGUSR1, NULL, &sa1);
		sigaction(SIGUSR2, NULL, &sa2);
		/* handlers go back to SIG_DFL, SIG_IGN stays */
		_exit(sa1.sa_handler == SIG_DFL && sa2.sa_handler == SIG_IGN ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(clone3_pidfd_returned)
{
	int pidfd = -1;
	struct clone_args a = {.flags = CLONE_PIDFD, .pidfd = (uintptr_t)&pidfd,
			       .exit_signal = SIGCHLD};
	long pid = ASSERT_OK(clone3_raw(&a, sizeof(a)));

	if (pid == 0)
		_exit(0);
	EXPECT_GE(pidfd, 0);
	EXPECT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(clone3_set_tid_needs_privilege_or_is_checked)
{
	pid_t tid = 1; /* init's pid: always taken */
	struct clone_args a = {.set_tid = (uintptr_t)&tid, .set_tid_size = 1,
			       .exit_signal = SIGCHLD};

	EXPECT_TRUE(clone3_raw(&a, sizeof(a)) == -1 && (errno == EEXIST || errno == EPERM));
	a.set_tid_size = 100;
	EXPECT_ERRNO(clone3_raw(&a, sizeof(a)), EINVAL);
}

HARNESS_MAIN
