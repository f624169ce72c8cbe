/*
 * Waiting for children in depth: waitid (idtypes, options, siginfo
 * fields, WNOWAIT, WNOHANG, NULL infop), wait4 status encodings,
 * stopped and continued children, __WCLONE/__WALL. (process.c has the basics.)
 */
#include "harness.h"

#include <sys/resource.h>

static pid_t child_exiting(int code)
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0)
		_exit(code);
	return pid;
}

static pid_t child_sleeping(void)
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

CASE(waitid_siginfo_fields_for_exit)
{
	siginfo_t si;
	pid_t pid = child_exiting(42);

	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_signo, SIGCHLD);
	EXPECT_EQ(si.si_code, CLD_EXITED);
	EXPECT_EQ(si.si_status, 42);
	EXPECT_SAME(si.si_pid, pid);
	EXPECT_EQ(si.si_uid, getuid());
	EXPECT_EQ(si.si_errno, 0);
}

CASE(waitid_killed_and_dumped_codes)
{
	siginfo_t si;
	pid_t pid = child_sleeping();

	kill(pid, SIGTERM);
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_code, CLD_KILLED);
	EXPECT_EQ(si.si_status, SIGTERM);
}

CASE(waitid_wnohang_clears_si_pid)
{
	siginfo_t si;
	pid_t pid = child_sleeping();

	memset(&si, 0x5a, sizeof(si));
	EXPECT_EQ(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
	EXPECT_EQ(si.si_pid, 0);
	EXPECT_EQ(si.si_signo, 0);
	kill(pid, SIGKILL);
	EXPECT_OK(waitid(P_PID, pid, &si, WEXITED));
}

CASE(waitid_wnowait_then_reap)
{
	siginfo_t si;
	pid_t pid = child_exiting(3);

	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_EQ(si.si_status, 3);
	ASSERT_OK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT));
	EXPECT_SAME(si.si_pid, pid);
	EXPECT_EXITED(h_wait(pid), 3);
	EXPECT_ERRNO(waitid(P_PID, pid, &si, WEXITED), ECHILD);
}

CASE(waitid_null_infop_reaps)
{
	pid_t pid = child_exiting(0);

	EXPECT_OK(syscall(SYS_waitid, P_PID, pid, NULL, WEXITED, NULL));
	EXPECT_ERRNO(waitpid(pid, NULL, 0), ECHILD);
}

CASE(waitid_option_errors)
{
	siginfo_t si;
	pid_t pid = child_exiting(0);

	EXPECT_ERRNO(waitid(P_PID, pid, &si, 0), EINVAL);
	EXPECT_ERRNO(waitid(P_PID, pid, &si, WNOHANG), EINVAL);
	EXPECT_ERRNO(waitid(P_PID, pid, &si, WEXITED | OPAQUE(0x10000000)), EINVAL);
	EXPECT_ERRNO(waitid((idtype_t)OPAQUE(42), pid, &si, WEXITED), EINVAL);
	EXPECT_ERRNO(waitid(P_PID, OPAQUE(-1), &si, WEXITED), EINVAL);
	EXPECT_ERRNO(syscall(SYS_waitid, P_PID, pid, BAD_PTR, WEXITED, NULL), EFAULT);
	h_wait(pid);
}

CASE(waitid_p_all_no_children_echild)
{
	siginfo_t si;

	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
}

CASE(waitid_rusage_is_filled)
{
	struct rusage ru;
	siginfo_t si;
	pid_t pid = fork();

	ASSERT_OK(pid);
	if (pid == 0) {
		volatile unsigned long x = 0;
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		do {
			for (int i = 0; i < 100000; i++)
				x += i;
			clock_gettime(CLOCK_MONOTONIC, &b);
		} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 50);
		_exit(0);
	}
	memset(&ru, 0, sizeof(ru));
	ASSERT_OK(syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru));
	EXPECT_GT(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
		  ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, 0);
	EXPECT_GT(ru.ru_maxrss, 0);
}

CASE(wait4_stopped_child_with_wuntraced)
{
	int st;
	pid_t pid = child_sleeping();

	ASSERT_OK(kill(pid, SIGSTOP));
	ASSERT_EQ(waitpid(pid, &st, WUNTRACED), pid);
	EXPECT_TRUE(WIFSTOPPED(st));
	EXPECT_EQ(WSTOPSIG(st), SIGSTOP);
	ASSERT_OK(kill(pid, SIGCONT));
	ASSERT_EQ(waitpid(pid, &st, WCONTINUED), pid);
	EXPECT_TRUE(WIFCONTINUED(st));
	kill(pid, SIGKILL);
	EXPECT_SIGNALED(h_wait(pid), SIGKILL);
}

CASE(waitid_stopped_and_continued_codes)
{
	siginfo_t si;
	pid_t pid = child_sleeping();

	ASSERT_OK(kill(pid, SIGTSTP));
	ASSERT_OK(waitid(P_PID, pid, &si, WSTOPPED));
	EXPECT_EQ(si.si_code, CLD_STOPPED);
	EXPECT_EQ(si.si_status, SIGTSTP);
	ASSERT_OK(kill(pid, SIGCONT));
	ASSERT_OK(waitid(P_PID, pid, &si, WCONTINUED));
	EXPECT_EQ(si.si_code, CLD_CONTINUED);
	EXPECT_EQ(si.si_status, SIGCONT);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(wait_without_wuntraced_ignores_stop)
{
	int st;
	pid_t pid = child_sleeping();

	ASSERT_OK(kill(pid, SIGSTOP));
	usleep(20000);
	EXPECT_EQ(waitpid(pid, &st, WNOHANG), 0);
	kill(pid, SIGKILL);
	EXPECT_SIGNALED(h_wait(pid), SIGKILL);
}

CASE(wait4_wclone_only_sees_clone_children)
{
	int st;
	pid_t normal = child_exiting(1);
	pid_t quiet = ASSERT_OK(syscall(SYS_clone, 0 /* no exit signal */, NULL, NULL, NULL, NULL));

	if (quiet == 0)
		_exit(2);
	usleep(20000);
	EXPECT_EQ(waitpid(quiet, &st, WNOHANG), -1);
	ASSERT_EQ(waitpid(quiet, &st, __WCLONE), quiet);
	EXPECT_EXITED(st, 2);
	ASSERT_EQ(waitpid(-1, &st, __WALL), normal);
	EXPECT_EXITED(st, 1);
}

CASE(wait4_sigquit_reports_signal)
{
	int st;
	pid_t pid = child_sleeping();

	kill(pid, SIGQUIT);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(WTERMSIG(st), SIGQUIT);
}

CASE(waitpid_status_of_exit_code_255)
{
	pid_t pid = child_exiting(255);
	int st;

	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_EQ(st, 0xff00);
}

HARNESS_MAIN
