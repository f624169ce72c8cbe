/*
 * Signal delivery: handler masks (sa_mask, SA_NODEFER, SA_RESETHAND),
 * siginfo contents, sigaltstack and SA_ONSTACK, sigsuspend, pause,
 * SA_RESTART vs EINTR, nested handlers, sigreturn restoring state.
 */
#include "harness.h"

#include <ucontext.h>

static volatile int hits;
static volatile int inner_hits;
static volatile int blocked_in_handler[65];
static volatile siginfo_t last_info;
static volatile int trace[8];
static volatile int ntrace;

static void note(int v)
{
	if (ntrace < 8)
		trace[ntrace++] = v;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, const sigset_t *mask)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	if (mask)
		sa.sa_mask = *mask;
	if (sigaction(sig, &sa, NULL) != 0)
		FAILX("sigaction(%d): %s", sig, h_errname(errno));
}

static void record_mask(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	(void)uc;
	hits++;
	last_info = *si;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	for (int s = 1; s < 65; s++)
		blocked_in_handler[s] = sigismember(&cur, s);
	(void)sig;
}

static int mask_has(int sig)
{
	sigset_t cur;

	sigprocmask(SIG_SETMASK, NULL, &cur);
	return sigismember(&cur, sig);
}

/* ---- handler masks and flags ---- */

CASE(handler_blocks_own_signal)
{
	install(SIGUSR1, record_mask, 0, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(blocked_in_handler[SIGUSR1], 1);
	EXPECT_EQ(blocked_in_handler[SIGUSR2], 0);
	/* The mask is restored when the handler returns. */
	EXPECT_EQ(mask_has(SIGUSR1), 0);
}

CASE(sa_nodefer_leaves_signal_unblocked)
{
	install(SIGUSR1, record_mask, SA_NODEFER, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(blocked_in_handler[SIGUSR1], 0);
}

CASE(sa_mask_blocked_during_handler)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGRTMIN);
	install(SIGUSR1, record_mask, 0, &m);
	raise(SIGUSR1);
	EXPECT_EQ(blocked_in_handler[SIGUSR2], 1);
	EXPECT_EQ(blocked_in_handler[SIGRTMIN], 1);
	EXPECT_EQ(blocked_in_handler[SIGTERM], 0);
	EXPECT_EQ(mask_has(SIGUSR2), 0);
}

CASE(sa_resethand_runs_once)
{
	struct sigaction now;

	install(SIGUSR1, record_mask, SA_RESETHAND, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	ASSERT_OK(sigaction(SIGUSR1, NULL, &now));
	EXPECT_TRUE(now.sa_handler == SIG_DFL);
}

static int resethand_twice(void)
{
	install(SIGUSR1, record_mask, SA_RESETHAND, NULL);
	raise(SIGUSR1);
	raise(SIGUSR1);
	return 0;
}

CASE(sa_resethand_second_signal_default_action)
{
	EXPECT_SIGNALED(h_in_child(resethand_twice), SIGUSR1);
}

static void nested_outer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	note(1);
	raise(SIGUSR2);
	note(3);
}

static void nested_inner(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	note(2);
}

CASE(nested_handlers_run_inside_each_other)
{
	install(SIGUSR1, nested_outer, 0, NULL);
	install(SIGUSR2, nested_inner, 0, NULL);
	raise(SIGUSR1);
	ASSERT_EQ(ntrace, 3);
	EXPECT_EQ(trace[0], 1);
	EXPECT_EQ(trace[1], 2);
	EXPECT_EQ(trace[2], 3);
}

static void self_again(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	note(10 + ntrace);
	if (ntrace == 1)
		raise(sig); /* blocked: runs after this handler returns */
}

CASE(same_signal_deferred_until_return)
{
	install(SIGUSR1, self_again, 0, NULL);
	raise(SIGUSR1);
	ASSERT_EQ(ntrace, 2);
	EXPECT_EQ(trace[0], 10);
	EXPECT_EQ(trace[1], 11);
}

/* ---- siginfo ---- */

CASE(siginfo_from_kill)
{
	install(SIGUSR1, record_mask, 0, NULL);
	ASSERT_OK(kill(getpid(), SIGUSR1));
	EXPECT_EQ(last_info.si_signo, SIGUSR1);
	EXPECT_EQ(last_info.si_code, SI_USER);
	EXPECT_SAME(last_info.si_pid, getpid());
	EXPECT_SAME(last_info.si_uid, getuid());
}

CASE(siginfo_from_tgkill)
{
	install(SIGUSR1, record_mask, 0, NULL);
	ASSERT_OK(syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1));
	EXPECT_EQ(last_info.si_code, SI_TKILL);
	EXPECT_SAME(last_info.si_pid, getpid());
}

CASE(siginfo_from_child_sender)
{
	pid_t pid, parent = getpid();

	install(SIGUSR1, record_mask, 0, NULL);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(kill(parent, SIGUSR1) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	/* The signal may arrive during the wait; it has surely arrived now. */
	EXPECT_EQ(hits, 1);
	EXPECT_SAME(last_info.si_pid, pid);
	EXPECT_EQ(last_info.si_code, SI_USER);
}

CASE(sigchld_siginfo_on_child_exit)
{
	sigset_t m;
	pid_t pid;

	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	install(SIGCHLD, record_mask, 0, NULL);
	sigprocmask(SIG_BLOCK, &m, NULL);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(13);
	/* Wait without reaping so the SIGCHLD is surely queued, then take it. */
	{
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	}
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_signo, SIGCHLD);
	EXPECT_EQ(last_info.si_code, CLD_EXITED);
	EXPECT_EQ(last_info.si_status, 13);
	EXPECT_SAME(last_info.si_pid, pid);
	h_wait(pid);
}

static void check_ucontext(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	(void)sig;
	(void)si;
	hits++;
	/* The saved mask is the one from before the handler: SIGUSR2 only. */
	blocked_in_handler[SIGUSR1] = sigismember(&u->uc_sigmask, SIGUSR1);
	blocked_in_handler[SIGUSR2] = sigismember(&u->uc_sigmask, SIGUSR2);
	/* Changing it changes the mask restored by sigreturn. */
	sigaddset(&u->uc_sigmask, SIGTERM);
}

CASE(ucontext_sigmask_restored_by_sigreturn)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigprocmask(SIG_BLOCK, &m, NULL);
	install(SIGUSR1, check_ucontext, 0, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(blocked_in_handler[SIGUSR1], 0);
	EXPECT_EQ(blocked_in_handler[SIGUSR2], 1);
	EXPECT_EQ(mask_has(SIGTERM), 1);
	EXPECT_EQ(mask_has(SIGUSR2), 1);
}

static volatile double fp_value;

static void clobber_fp(int sig, siginfo_t *si, void *uc)
{
	volatile double x = 1.0;

	(void)sig;
	(void)si;
	(void)uc;
	for (int i = 0; i < 100; i++)
		x = x * 1.5 + 0.25;
	fp_value = x;
}

CASE(sigreturn_restores_fp_state)
{
	double a = 3.25, b = 0;

	install(SIGUSR1, clobber_fp, 0, NULL);
	__asm__ volatile("" : "+x"(a));
	raise(SIGUSR1);
	__asm__ volatile("" : "+x"(a));
	b = a * 2;
	EXPECT_EQ((long long)(b * 100), 650);
	EXPECT_TRUE(fp_value > 1.0);
}

/* ---- sigaltstack ---- */

static char *alt_base;
static size_t alt_size;
static volatile int on_alt;
static volatile int onstack_flag;

static void where_am_i(int sig, siginfo_t *si, void *uc)
{
	char here;
	stack_t cur;

	(void)sig;
	(void)si;
	(void)uc;
	on_alt = &here >= alt_base && &here < alt_base + alt_size;
	sigaltstack(NULL, &cur);
	onstack_flag = cur.ss_flags;
}

CASE(sigaltstack_initially_disabled)
{
	stack_t cur;

	ASSERT_OK(sigaltstack(NULL, &cur));
	EXPECT_EQ(cur.ss_flags, SS_DISABLE);
}

CASE(sigaltstack_set_and_query)
{
	stack_t ss, cur;

	alt_size = 64 * 1024;
	alt_base = malloc(alt_size);
	ss.ss_sp = alt_base;
	ss.ss_size = alt_size;
	ss.ss_flags = 0;
	ASSERT_OK(sigaltstack(&ss, NULL));
	ASSERT_OK(sigaltstack(NULL, &cur));
	EXPECT_TRUE(cur.ss_sp == alt_base);
	EXPECT_EQ(cur.ss_size, alt_size);
	EXPECT_EQ(cur.ss_flags, 0);
	ss.ss_flags = SS_DISABLE;
	ASSERT_OK(sigaltstack(&ss, NULL));
	ASSERT_OK(sigaltstack(NULL, &cur));
	EXPECT_EQ(cur.ss_flags, SS_DISABLE);
}

CASE(sa_onstack_handler_runs_on_altstack)
{
	stack_t ss;

	alt_size = 64 * 1024;
	alt_base = malloc(alt_size);
	ss.ss_sp = alt_base;
	ss.ss_size = alt_size;
	ss.ss_flags = 0;
	ASSERT_OK(sigaltstack(&ss, NULL));
	install(SIGUSR1, where_am_i, SA_ONSTACK, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(on_alt, 1);
	EXPECT_EQ(onstack_flag, SS_ONSTACK);
	/* Without SA_ONSTACK the normal stack is used. */
	install(SIGUSR2, where_am_i, 0, NULL);
	raise(SIGUSR2);
	EXPECT_EQ(on_alt, 0);
	EXPECT_EQ(onstack_flag, 0);
}

static volatile int change_result = -2;
static volatile int change_errno;

static void change_while_on(int sig, siginfo_t *si, void *uc)
{
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};

	(void)sig;
	(void)si;
	(void)uc;
	change_result = sigaltstack(&ss, NULL);
	change_errno = errno;
}

CASE(sigaltstack_change_while_on_it_eperm)
{
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};

	ASSERT_OK(sigaltstack(&ss, NULL));
	install(SIGUSR1, change_while_on, SA_ONSTACK, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(change_result, -1);
	EXPECT_EQ(change_errno, EPERM);
}

CASE(sigaltstack_errors)
{
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 1024, .ss_flags = 0};

	EXPECT_ERRNO(sigaltstack(&ss, NULL), ENOMEM);
	ss.ss_size = 65536;
	ss.ss_flags = 0x1234;
	EXPECT_ERRNO(sigaltstack(&ss, NULL), EINVAL);
	EXPECT_ERRNO(sigaltstack(BAD_PTR, NULL), EFAULT);
	EXPECT_ERRNO(sigaltstack(NULL, BAD_PTR), EFAULT);
}

CASE(sigaltstack_inherited_by_fork)
{
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
	pid_t pid;

	ASSERT_OK(sigaltstack(&ss, NULL));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		stack_t cur;

		sigaltstack(NULL, &cur);
		_exit(cur.ss_sp == ss.ss_sp && cur.ss_size == 65536 && cur.ss_flags == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- sigsuspend / pause ---- */

static void plain(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	hits++;
}

/* Forks a child that sends `sig` to us after a short delay, `n` times. */
static pid_t send_later(int sig, int n, long delay_us)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			usleep(delay_us);
			kill(parent, sig);
		}
		_exit(0);
	}
	return pid;
}

CASE(sigsuspend_waits_for_signal)
{
	sigset_t block, wait_mask;
	pid_t pid;

	install(SIGUSR1, plain, 0, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	pid = send_later(SIGUSR1, 1, 20000);
	sigemptyset(&wait_mask);
	EXPECT_ERRNO(sigsuspend(&wait_mask), EINTR);
	EXPECT_EQ(hits, 1);
	/* The original mask is back. */
	EXPECT_EQ(mask_has(SIGUSR1), 1);
	h_wait(pid);
}

CASE(sigsuspend_with_pending_returns_at_once)
{
	sigset_t block, wait_mask;

	install(SIGUSR1, plain, 0, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	sigemptyset(&wait_mask);
	EXPECT_ERRNO(sigsuspend(&wait_mask), EINTR);
	EXPECT_EQ(hits, 1);
}

CASE(sigsuspend_mask_keeps_other_signals_blocked)
{
	sigset_t block, wait_mask;
	sigset_t pend;

	install(SIGUSR1, plain, 0, NULL);
	install(SIGUSR2, plain, 0, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR2);
	raise(SIGUSR1);
	/* Only SIGUSR1 is unblocked while suspended. */
	sigemptyset(&wait_mask);
	sigaddset(&wait_mask, SIGUSR2);
	EXPECT_ERRNO(sigsuspend(&wait_mask), EINTR);
	EXPECT_EQ(hits, 1);
	sigpending(&pend);
	EXPECT_EQ(sigismember(&pend, SIGUSR2), 1);
}

CASE(pause_returns_eintr_after_handler)
{
	pid_t pid;

	install(SIGUSR1, plain, 0, NULL);
	pid = send_later(SIGUSR1, 50, 20000);
	EXPECT_ERRNO(pause(), EINTR);
	EXPECT_GE(hits, 1);
	kill(pid, SIGKILL);
	h_wait(pid);
}

/* ---- EINTR and SA_RESTART ---- */

CASE(blocking_read_interrupted_eintr)
{
	int p[2];
	char c;
	pid_t pid;

	ASSERT_OK(pipe(p));
	install(SIGUSR1, plain, 0, NULL);
	/* Keep signalling until the read is interrupted. */
	pid = send_later(SIGUSR1, 250, 20000);
	EXPECT_ERRNO(read(p[0], &c, 1), EINTR);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(sa_restart_restarts_read)
{
	int p[2];
	char c = 0;
	pid_t parent = getpid(), pid;

	ASSERT_OK(pipe(p));
	install(SIGUSR1, plain, SA_RESTART, NULL);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		for (int i = 0; i < 5; i++) {
			usleep(20000);
			kill(parent, SIGUSR1);
		}
		usleep(20000);
		write(p[1], "d", 1);
		_exit(0);
	}
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(c, 'd');
	EXPECT_GE(hits, 1);
	h_wait(pid);
}

CASE(sa_restart_restarts_wait4)
{
	int p[2];
	pid_t parent = getpid(), pid;
	int st;

	ASSERT_OK(pipe(p));
	install(SIGUSR1, plain, SA_RESTART, NULL);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		for (int i = 0; i < 3; i++) {
			usleep(20000);
			kill(parent, SIGUSR1);
		}
		usleep(20000);
		_exit(4);
	}
	EXPECT_SAME(waitpid(pid, &st, 0), pid);
	EXPECT_EXITED(st, 4);
}

CASE(nanosleep_interrupted_even_with_sa_restart)
{
	struct timespec ts = {10, 0}, rem = {0, 0};
	pid_t pid;

	install(SIGUSR1, plain, SA_RESTART, NULL);
	pid = send_later(SIGUSR1, 100, 30000);
	EXPECT_ERRNO(nanosleep(&ts, &rem), EINTR);
	EXPECT_TRUE(rem.tv_sec > 0 || rem.tv_nsec > 0);
	EXPECT_LE(rem.tv_sec, 10);
	kill(pid, SIGKILL);
	h_wait(pid);
}

HARNESS_MAIN
