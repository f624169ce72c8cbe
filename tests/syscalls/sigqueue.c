/*
 * Queued signals and their permission rules: rt_sigqueueinfo and
 * rt_tgsigqueueinfo si_code restrictions, kill/sigqueue permission checks
 * between users, realtime queue order, siginfo from sigqueue, signal 0
 * probes, and the RLIMIT_SIGPENDING queue limit.
 */
#include "harness.h"

#include <sys/resource.h>

#define NOBODY 65534
#define NO_SUCH_PID 0x3ffffff0

static void block(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static int take(int sig, siginfo_t *si)
{
	sigset_t s;
	struct timespec ts = {2, 0};

	sigemptyset(&s);
	sigaddset(&s, sig);
	return sigtimedwait(&s, si, &ts);
}

static int queueinfo(pid_t pid, int sig, int code, int value)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = code;
	si.si_value.sival_int = value;
	si.si_pid = getpid();
	si.si_uid = getuid();
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

CASE(sigqueueinfo_to_self_any_code)
{
	siginfo_t si;

	block(SIGUSR1);
	ASSERT_OK(queueinfo(getpid(), SIGUSR1, SI_QUEUE, 5));
	ASSERT_EQ(take(SIGUSR1, &si), SIGUSR1);
	EXPECT_EQ(si.si_code, SI_QUEUE);
	EXPECT_EQ(si.si_value.sival_int, 5);
	/* to itself a process may even claim SI_USER or a positive code */
	ASSERT_OK(queueinfo(getpid(), SIGUSR1, SI_USER, 6));
	ASSERT_EQ(take(SIGUSR1, &si), SIGUSR1);
	EXPECT_EQ(si.si_code, SI_USER);
}

CASE(sigqueueinfo_to_other_process_forbidden_codes)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pause();
		_exit(0);
	}
	/* si_code >= 0 (SI_USER, kernel codes) and SI_TKILL may not be forged */
	EXPECT_ERRNO(queueinfo(pid, SIGUSR1, SI_USER, 0), EPERM);
	EXPECT_ERRNO(queueinfo(pid, SIGUSR1, SI_KERNEL, 0), EPERM);
	EXPECT_ERRNO(queueinfo(pid, SIGUSR1, SI_TKILL, 0), EPERM);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(sigqueueinfo_errors)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, NO_SUCH_PID, SIGUSR1, &si), ESRCH);
	EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, BAD_PTR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_rt_tgsigqueueinfo, getpid(), NO_SUCH_PID, SIGUSR1, &si), ESRCH);
	EXPECT_ERRNO(syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR1, &si), EINVAL);
}

CASE(tgsigqueueinfo_wrong_tgid_esrch)
{
	siginfo_t si;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pause();
		_exit(0);
	}
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	/* the child's tid does not belong to our thread group */
	EXPECT_ERRNO(syscall(SYS_rt_tgsigqueueinfo, getpid(), pid, SIGUSR1, &si), ESRCH);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(realtime_signals_delivered_lowest_first_fifo_within)
{
	siginfo_t si;
	union sigval v;
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	v.sival_int = 1;
	sigqueue(getpid(), SIGRTMIN + 1, v);
	v.sival_int = 2;
	sigqueue(getpid(), SIGRTMIN, v);
	v.sival_int = 3;
	sigqueue(getpid(), SIGRTMIN, v);
	ASSERT_EQ(sigwaitinfo(&s, &si), SIGRTMIN);
	EXPECT_EQ(si.si_value.sival_int, 2);
	ASSERT_EQ(sigwaitinfo(&s, &si), SIGRTMIN);
	EXPECT_EQ(si.si_value.sival_int, 3);
	ASSERT_EQ(sigwaitinfo(&s, &si), SIGRTMIN + 1);
	EXPECT_EQ(si.si_value.sival_int, 1);
}

CASE(standard_signals_before_realtime)
{
	siginfo_t si;
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	kill(getpid(), SIGRTMIN);
	kill(getpid(), SIGUSR2);
	EXPECT_EQ(sigwaitinfo(&s, &si), SIGUSR2);
	EXPECT_EQ(sigwaitinfo(&s, &si), SIGRTMIN);
}

CASE(kill_other_user_eperm)
{
	pid_t victim, pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	victim = ASSERT_OK(fork());
	if (victim == 0) {
		pause();
		_exit(0);
	}
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		if (!(kill(victim, SIGTERM) == -1 && errno == EPERM))
			_exit(1);
		/* signal 0 checks permission too */
		_exit(kill(victim, 0) == -1 && errno == EPERM ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(kill(victim, 0));
	kill(victim, SIGKILL);
	h_wait(victim);
}

/*
 * kill(2) to a process group answers EPERM when no member took the signal;
 * kill(-1) never reports EPERM (only ESRCH when there is no process at all).
 */
CASE(kill_group_eperm_and_minus_one_never_eperm)
{
	pid_t victim, pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	victim = ASSERT_OK(fork());
	if (victim == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(victim, victim);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		if (!(kill(-victim, SIGTERM) == -1 && errno == EPERM))
			_exit(1);
		_exit(kill(-1, 0) == 0 ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(kill(victim, 0));
	kill(victim, SIGKILL);
	h_wait(victim);
}

CASE(kill_same_real_uid_allowed)
{
	pid_t a, b;
	int p[2];

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	ASSERT_OK(pipe(p));
	a = ASSERT_OK(fork());
	if (a == 0) {
		if (setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		write(p[1], "r", 1);
		pause();
		_exit(0);
	}
	b = ASSERT_OK(fork());
	if (b == 0) {
		char c;

		if (setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		read(p[0], &c, 1);
		_exit(kill(a, SIGTERM) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(b), 0);
	EXPECT_SIGNALED(h_wait(a), SIGTERM);
}

CASE(sigcont_allowed_within_session)
{
	pid_t victim, pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	victim = ASSERT_OK(fork());
	if (victim == 0) {
		pause();
		_exit(0);
	}
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		/* SIGCONT is allowed to any process of the same session */
		_exit(kill(victim, SIGCONT) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	kill(victim, SIGKILL);
	h_wait(victim);
}

CASE(sigpending_rlimit_limits_queued_signals)
{
	struct rlimit rl = {4, 4};
	union sigval v = {.sival_int = 0};
	int ok = 0;

	block(SIGRTMIN);
	ASSERT_OK(setrlimit(RLIMIT_SIGPENDING, &rl));
	for (int i = 0; i < 10; i++)
		ok += sigqueue(getpid(), SIGRTMIN, v) == 0;
	EXPECT_LE(ok, 4);
	EXPECT_ERRNO(sigqueue(getpid(), SIGRTMIN, v), EAGAIN);
}

HARNESS_MAIN
