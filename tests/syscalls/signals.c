/*
 * Signal state: rt_sigaction, rt_sigprocmask, rt_sigpending, kill, tgkill,
 * tkill, raise, default actions, queueing of standard and real-time signals,
 * rt_sigtimedwait, rt_sigqueueinfo, signalfd.
 */
#include "harness.h"

#include <sys/signalfd.h>

#define NO_SUCH_PID 0x3ffffff0

static volatile int hits[65];
static volatile int order[16];
static volatile int norder;

static void count(int sig)
{
	hits[sig]++;
	if (norder < 16)
		order[norder++] = sig;
}

static void on(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	if (sigaction(sig, &sa, NULL) != 0)
		FAILX("sigaction(%d): %s", sig, h_errname(errno));
}

static void block(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void unblock(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static int is_pending(int sig)
{
	sigset_t s;

	sigpending(&s);
	return sigismember(&s, sig);
}

/* ---- rt_sigaction ---- */

CASE(sigaction_returns_previous)
{
	struct sigaction a, old;

	memset(&a, 0, sizeof(a));
	a.sa_handler = count;
	a.sa_flags = SA_RESTART;
	sigaddset(&a.sa_mask, SIGUSR2);
	ASSERT_OK(sigaction(SIGUSR1, &a, &old));
	EXPECT_TRUE(old.sa_handler == SIG_DFL);
	a.sa_handler = SIG_IGN;
	ASSERT_OK(sigaction(SIGUSR1, &a, &old));
	EXPECT_TRUE(old.sa_handler == count);
	EXPECT_EQ(old.sa_flags & SA_RESTART, SA_RESTART);
	EXPECT_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);
	EXPECT_EQ(sigismember(&old.sa_mask, SIGINT), 0);
}

CASE(sigaction_query_only)
{
	struct sigaction old;

	on(SIGUSR1, count);
	ASSERT_OK(sigaction(SIGUSR1, NULL, &old));
	EXPECT_TRUE(old.sa_handler == count);
	ASSERT_OK(sigaction(SIGUSR1, NULL, &old));
	EXPECT_TRUE(old.sa_handler == count);
}

CASE(sigaction_invalid_signal_einval)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_handler = count;
	EXPECT_ERRNO(sigaction(0, &a, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(65, &a, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, 0, NULL, NULL, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
}

CASE(sigaction_kill_and_stop_einval)
{
	struct sigaction a, old;

	memset(&a, 0, sizeof(a));
	a.sa_handler = SIG_IGN;
	EXPECT_ERRNO(sigaction(SIGKILL, &a, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(SIGSTOP, &a, NULL), EINVAL);
	a.sa_handler = count;
	EXPECT_ERRNO(sigaction(SIGKILL, &a, NULL), EINVAL);
	/* Querying them is allowed. */
	EXPECT_OK(sigaction(SIGKILL, NULL, &old));
	EXPECT_TRUE(old.sa_handler == SIG_DFL);
}

CASE(rt_sigaction_bad_sigsetsize_einval)
{
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 16), EINVAL);
}

CASE(rt_sigaction_bad_pointers_efault)
{
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, BAD_PTR, NULL, 8), EFAULT);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, BAD_PTR, 8), EFAULT);
}

CASE(sigaction_inherited_by_fork)
{
	pid_t pid;

	on(SIGUSR1, count);
	signal(SIGUSR2, SIG_IGN);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct sigaction a, b;

		sigaction(SIGUSR1, NULL, &a);
		sigaction(SIGUSR2, NULL, &b);
		_exit(a.sa_handler == count && b.sa_handler == SIG_IGN ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- rt_sigprocmask / rt_sigpending ---- */

CASE(sigprocmask_block_unblock_setmask)
{
	sigset_t s, old, cur;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &s, &old));
	EXPECT_EQ(sigismember(&old, SIGUSR1), 0);
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &cur));
	EXPECT_EQ(sigismember(&cur, SIGUSR1), 1);
	sigaddset(&s, SIGUSR2);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &s, NULL));
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_UNBLOCK, &s, NULL));
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &cur));
	EXPECT_EQ(sigismember(&cur, SIGUSR1), 0);
	EXPECT_EQ(sigismember(&cur, SIGUSR2), 1);
	sigemptyset(&s);
	ASSERT_OK(sigprocmask(SIG_SETMASK, &s, &old));
	EXPECT_EQ(sigismember(&old, SIGUSR2), 1);
}

CASE(sigprocmask_cannot_block_kill_stop)
{
	sigset_t all, cur;

	sigfillset(&all);
	ASSERT_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8));
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &cur));
	EXPECT_EQ(sigismember(&cur, SIGKILL), 0);
	EXPECT_EQ(sigismember(&cur, SIGSTOP), 0);
	EXPECT_EQ(sigismember(&cur, SIGTERM), 1);
	EXPECT_EQ(sigismember(&cur, SIGRTMAX), 1);
}

CASE(sigprocmask_errors)
{
	sigset_t s;

	sigemptyset(&s);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, 42, &s, NULL, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD_PTR, NULL, 8), EFAULT);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, BAD_PTR, 8), EFAULT);
}

CASE(sigprocmask_bad_how_ignored_without_set)
{
	sigset_t cur;

	/* With a NULL set, `how` is not looked at. */
	EXPECT_OK(syscall(SYS_rt_sigprocmask, 42, NULL, &cur, 8));
}

CASE(blocked_signal_stays_pending)
{
	on(SIGUSR1, count);
	block(SIGUSR1);
	ASSERT_OK(raise(SIGUSR1));
	EXPECT_EQ(hits[SIGUSR1], 0);
	EXPECT_EQ(is_pending(SIGUSR1), 1);
	EXPECT_EQ(is_pending(SIGUSR2), 0);
	unblock(SIGUSR1);
	/* Delivered before sigprocmask returns. */
	EXPECT_EQ(hits[SIGUSR1], 1);
	EXPECT_EQ(is_pending(SIGUSR1), 0);
}

CASE(standard_signals_do_not_queue)
{
	on(SIGUSR1, count);
	block(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	unblock(SIGUSR1);
	EXPECT_EQ(hits[SIGUSR1], 1);
}

CASE(realtime_signals_queue)
{
	int rt = SIGRTMIN + 1;

	on(rt, count);
	block(rt);
	kill(getpid(), rt);
	kill(getpid(), rt);
	kill(getpid(), rt);
	unblock(rt);
	EXPECT_EQ(hits[rt], 3);
}

CASE(pending_all_delivered_on_unblock)
{
	sigset_t all;

	on(SIGUSR2, count);
	on(SIGUSR1, count);
	on(SIGHUP, count);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	raise(SIGUSR2);
	raise(SIGHUP);
	raise(SIGUSR1);
	EXPECT_EQ(norder, 0);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* All of them run before sigprocmask returns (in an unspecified order). */
	EXPECT_EQ(norder, 3);
	EXPECT_EQ(hits[SIGHUP] + hits[SIGUSR1] + hits[SIGUSR2], 3);
	EXPECT_EQ(hits[SIGHUP] * hits[SIGUSR1] * hits[SIGUSR2], 1);
}

CASE(ignoring_pending_signal_discards_it)
{
	block(SIGUSR1);
	on(SIGUSR1, count);
	raise(SIGUSR1);
	EXPECT_EQ(is_pending(SIGUSR1), 1);
	signal(SIGUSR1, SIG_IGN);
	EXPECT_EQ(is_pending(SIGUSR1), 0);
}

CASE(blocked_ignored_signal_stays_pending)
{
	/* Linux queues a blocked signal even when ignored: the action may change. */
	block(SIGUSR1);
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	EXPECT_EQ(is_pending(SIGUSR1), 1);
	on(SIGUSR1, count);
	unblock(SIGUSR1);
	EXPECT_EQ(hits[SIGUSR1], 1);
}

CASE(unblocked_ignored_signal_is_discarded)
{
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	on(SIGUSR1, count);
	EXPECT_EQ(is_pending(SIGUSR1), 0);
	EXPECT_EQ(hits[SIGUSR1], 0);
}

CASE(sigpending_errors)
{
	EXPECT_ERRNO(syscall(SYS_rt_sigpending, BAD_PTR, 8), EFAULT);
	EXPECT_ERRNO(syscall(SYS_rt_sigpending, NULL, 100), EINVAL);
}

CASE(fork_inherits_mask_not_pending)
{
	pid_t pid;

	on(SIGUSR1, count);
	block(SIGUSR1);
	block(SIGUSR2);
	raise(SIGUSR1);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		sigset_t cur;

		sigprocmask(SIG_SETMASK, NULL, &cur);
		_exit(sigismember(&cur, SIGUSR2) == 1 && !is_pending(SIGUSR1) ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(is_pending(SIGUSR1), 1);
}

/* ---- kill / tgkill / tkill ---- */

CASE(kill_self_runs_handler)
{
	on(SIGUSR1, count);
	EXPECT_OK(kill(getpid(), SIGUSR1));
	EXPECT_EQ(hits[SIGUSR1], 1);
}

CASE(kill_signal_zero_probes)
{
	EXPECT_OK(kill(getpid(), 0));
	EXPECT_ERRNO(kill(NO_SUCH_PID, 0), ESRCH);
	EXPECT_ERRNO(kill(-NO_SUCH_PID, 0), ESRCH);
}

CASE(kill_invalid_signal_einval)
{
	EXPECT_ERRNO(kill(getpid(), 65), EINVAL);
	EXPECT_ERRNO(kill(getpid(), -1), EINVAL);
}

CASE(kill_child_default_terminates)
{
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	EXPECT_OK(kill(pid, SIGTERM));
	EXPECT_SIGNALED(h_wait(pid), SIGTERM);
}

/*
 * A signal whose default action kills ends the process when it is sent
 * (kernel/signal.c complete_signal): a SIGKILL sent right after it does not
 * change the status, though SIGKILL is the lower-numbered of the two.
 */
CASE(kill_fatal_default_fixes_status_at_send)
{
	int ready[2], hold[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(ready));
	ASSERT_OK(pipe(hold));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		write(ready[1], "r", 1);
		read(hold[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_OK(kill(pid, SIGTERM));
	EXPECT_OK(kill(pid, SIGKILL));
	EXPECT_SIGNALED(h_wait(pid), SIGTERM);
	close(ready[0]);
	close(hold[1]);
}

CASE(kill_process_group)
{
	int ready[2];
	pid_t kids[2];
	char c;

	ASSERT_OK(pipe(ready));
	signal(SIGUSR1, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		kids[i] = ASSERT_OK(fork());
		if (kids[i] == 0) {
			signal(SIGUSR1, SIG_DFL);
			write(ready[1], "r", 1);
			for (;;)
				pause();
		}
	}
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	/* kill(0) reaches every process in our group, ourselves included. */
	EXPECT_OK(kill(0, SIGUSR1));
	EXPECT_SIGNALED(h_wait(kids[0]), SIGUSR1);
	EXPECT_SIGNALED(h_wait(kids[1]), SIGUSR1);
}

CASE(kill_negative_pid_targets_group)
{
	int ready[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(ready));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		setpgid(0, 0);
		write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_OK(kill(-pid, SIGTERM));
	EXPECT_SIGNALED(h_wait(pid), SIGTERM);
}

CASE(default_ignored_signals_do_nothing)
{
	EXPECT_OK(raise(SIGCHLD));
	EXPECT_OK(raise(SIGWINCH));
	EXPECT_OK(raise(SIGURG));
}

CASE(sig_ign_prevents_termination)
{
	signal(SIGTERM, SIG_IGN);
	EXPECT_OK(raise(SIGTERM));
	signal(SIGUSR1, SIG_IGN);
	EXPECT_OK(kill(getpid(), SIGUSR1));
}

static int self_kill_9(void)
{
	signal(SIGTERM, SIG_IGN);
	kill(getpid(), SIGKILL);
	return 0;
}

CASE(sigkill_cannot_be_ignored)
{
	EXPECT_SIGNALED(h_in_child(self_kill_9), SIGKILL);
}

static int abort_child(void)
{
	abort();
}

CASE(abort_kills_with_sigabrt)
{
	EXPECT_SIGNALED(h_in_child(abort_child), SIGABRT);
}

CASE(tgkill_and_tkill_self)
{
	on(SIGUSR1, count);
	EXPECT_OK(syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1));
	EXPECT_OK(syscall(SYS_tkill, getpid(), SIGUSR1));
	EXPECT_EQ(hits[SIGUSR1], 2);
}

CASE(tgkill_errors)
{
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), NO_SUCH_PID, SIGUSR1), ESRCH);
	EXPECT_ERRNO(syscall(SYS_tgkill, NO_SUCH_PID, getpid(), SIGUSR1), ESRCH);
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), getpid(), 65), EINVAL);
	EXPECT_ERRNO(syscall(SYS_tgkill, 0, getpid(), SIGUSR1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_tkill, NO_SUCH_PID, SIGUSR1), ESRCH);
}

/* ---- synchronous acceptance ---- */

CASE(sigtimedwait_takes_pending_signal)
{
	sigset_t s;
	siginfo_t si;
	struct timespec ts = {1, 0};

	block(SIGUSR1);
	raise(SIGUSR1);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(sigtimedwait(&s, &si, &ts), SIGUSR1);
	EXPECT_EQ(si.si_signo, SIGUSR1);
	EXPECT_EQ(is_pending(SIGUSR1), 0);
}

CASE(sigtimedwait_timeout_eagain)
{
	sigset_t s;
	struct timespec ts = {0, 1000000};

	block(SIGUSR1);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	EXPECT_ERRNO(sigtimedwait(&s, NULL, &ts), EAGAIN);
	ts.tv_nsec = 1000000000;
	EXPECT_ERRNO(sigtimedwait(&s, NULL, &ts), EINVAL);
}

/* A timeout of centuries is just long (the sandbox must not overflow its clock). */
CASE(sigtimedwait_huge_timeout)
{
	sigset_t s;
	struct timespec ts = {0x7fffffffffffffffLL, 999999999};

	block(SIGUSR1);
	raise(SIGUSR1);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	EXPECT_EQ(sigtimedwait(&s, NULL, &ts), SIGUSR1);
}

CASE(sigqueueinfo_carries_value)
{
	sigset_t s;
	siginfo_t si;
	struct timespec ts = {1, 0};
	union sigval v = {.sival_int = 4242};

	block(SIGRTMIN);
	ASSERT_OK(sigqueue(getpid(), SIGRTMIN, v));
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(sigtimedwait(&s, &si, &ts), SIGRTMIN);
	EXPECT_EQ(si.si_code, SI_QUEUE);
	EXPECT_EQ(si.si_value.sival_int, 4242);
	EXPECT_SAME(si.si_pid, getpid());
}

CASE(signalfd_reads_pending_signal)
{
	sigset_t s;
	struct signalfd_siginfo info;
	int fd;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	block(SIGUSR2);
	fd = ASSERT_OK(signalfd(-1, &s, SFD_NONBLOCK));
	EXPECT_ERRNO(read(fd, &info, sizeof(info)), EAGAIN);
	raise(SIGUSR2);
	EXPECT_EQ(read(fd, &info, sizeof(info)), sizeof(info));
	EXPECT_EQ(info.ssi_signo, SIGUSR2);
	EXPECT_EQ(is_pending(SIGUSR2), 0);
}

HARNESS_MAIN
