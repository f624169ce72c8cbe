/*
 * Processes: fork, vfork, clone, exit/exit_group, wait4, waitid, getpid,
 * getppid, gettid, process groups and sessions, threads.
 *
 * Note: the harness runs each case as the leader of its own process group.
 */
#include "harness.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#define NO_SUCH_PID 0x3ffffff0

/* A pipe whose read end a child blocks on, so it stays alive until released. */
static int hold[2];

static pid_t spawn_blocked(void)
{
	pid_t pid;

	if (pipe(hold) != 0)
		FAILX("pipe: %s", h_errname(errno));
	pid = fork();
	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		char c;

		close(hold[1]);
		_exit(read(hold[0], &c, 1) == 1 ? c : 99);
	}
	close(hold[0]);
	return pid;
}

/* Releases the child started by spawn_blocked; it exits with `code`. */
static void release(char code)
{
	if (write(hold[1], &code, 1) != 1)
		FAILX("write: %s", h_errname(errno));
	close(hold[1]);
}

static pid_t spawn_exit(int code)
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0)
		_exit(code);
	return pid;
}

/* ---- fork ---- */

CASE(fork_returns_child_pid_and_zero)
{
	int p[2];
	pid_t pid, reported = 0;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		pid_t me = getpid();

		write(p[1], &me, sizeof(me));
		_exit(0);
	}
	EXPECT_EQ(read(p[0], &reported, sizeof(reported)), sizeof(reported));
	EXPECT_SAME(reported, pid);
	EXPECT_TRUE(pid != getpid());
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fork_child_parent_is_caller)
{
	pid_t parent = getpid();
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0)
		_exit(getppid() == parent ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fork_copies_memory)
{
	static volatile int global = 1;
	volatile int local = 2;
	char *heap = malloc(16);
	pid_t pid;

	strcpy(heap, "parent");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int ok = global == 1 && local == 2 && strcmp(heap, "parent") == 0;

		global = 10;
		local = 20;
		strcpy(heap, "child");
		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(global, 1);
	EXPECT_EQ(local, 2);
	EXPECT_STREQ(heap, "parent");
}

CASE(fork_shares_open_file_offsets)
{
	const char *p = h_path("f");
	pid_t pid;
	int fd;

	h_write_file(p, "0123456789", 10);
	fd = ASSERT_OK(open(p, O_RDONLY));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char buf[4];

		_exit(read(fd, buf, 4) == 4 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 4);
}

CASE(fork_child_fds_are_copies)
{
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		/* Closing in the child does not close the parent's descriptor. */
		close(p[1]);
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(write(p[1], "x", 1), 1);
	EXPECT_EQ(read(p[0], &c, 1), 1);
}

CASE(fork_many_children)
{
	pid_t pids[20];
	int ok = 1;

	for (int i = 0; i < 20; i++)
		pids[i] = spawn_exit(i);
	for (int i = 19; i >= 0; i--) {
		int st = h_wait(pids[i]);

		ok &= WIFEXITED(st) && WEXITSTATUS(st) == i;
	}
	EXPECT_TRUE(ok);
}

CASE(fork_in_child_grandchild)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pid_t me = getpid();
		pid_t g = fork();
		int st;

		if (g < 0)
			_exit(2);
		if (g == 0)
			_exit(getppid() == me ? 7 : 3);
		if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(4);
		_exit(WEXITSTATUS(st));
	}
	EXPECT_EXITED(h_wait(pid), 7);
}

/* ---- vfork ---- */

static volatile int vfork_flag;

CASE(vfork_shares_memory_until_exit)
{
	pid_t pid;

	vfork_flag = 0;
	pid = vfork();
	if (pid == 0) {
		vfork_flag = 1;
		_exit(5);
	}
	ASSERT_GT(pid, 0);
	/* The parent resumes only after the child exits, and sees its store. */
	EXPECT_EQ(vfork_flag, 1);
	EXPECT_EXITED(h_wait(pid), 5);
}

CASE(vfork_then_exec)
{
	char *argv[] = {"true", NULL};
	pid_t pid = vfork();

	if (pid == 0) {
		execve("/bin/true", argv, (char *[]){NULL});
		_exit(127);
	}
	ASSERT_GT(pid, 0);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- exit status ---- */

CASE(exit_status_low_byte_only)
{
	EXPECT_EXITED(h_wait(spawn_exit(0x1ff)), 0xff);
	EXPECT_EXITED(h_wait(spawn_exit(256 + 7)), 7);
	EXPECT_EXITED(h_wait(spawn_exit(0)), 0);
}

CASE(exit_group_syscall_status)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0)
		syscall(SYS_exit_group, 33);
	EXPECT_EXITED(h_wait(pid), 33);
}

CASE(exit_syscall_single_thread_status)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0)
		syscall(SYS_exit, 44);
	EXPECT_EXITED(h_wait(pid), 44);
}

static int self_term(void)
{
	kill(getpid(), SIGTERM);
	return 0;
}

CASE(killed_child_reports_signal)
{
	pid_t pid;

	EXPECT_SIGNALED(h_in_child(self_term), SIGTERM);
	pid = spawn_blocked();
	ASSERT_OK(kill(pid, SIGKILL));
	EXPECT_SIGNALED(h_wait(pid), SIGKILL);
}

/* ---- wait4 ---- */

CASE(wait4_no_children_echild)
{
	int st;

	EXPECT_ERRNO(wait4(-1, &st, 0, NULL), ECHILD);
	EXPECT_ERRNO(wait4(-1, &st, WNOHANG, NULL), ECHILD);
}

CASE(wait4_not_our_child_echild)
{
	int st;

	EXPECT_ERRNO(wait4(getpid(), &st, 0, NULL), ECHILD);
	EXPECT_ERRNO(wait4(NO_SUCH_PID, &st, 0, NULL), ECHILD);
}

CASE(wait4_wnohang_running_child)
{
	pid_t pid = spawn_blocked();
	int st = -1;

	EXPECT_EQ(wait4(pid, &st, WNOHANG, NULL), 0);
	release(12);
	EXPECT_SAME(wait4(pid, &st, 0, NULL), pid);
	EXPECT_EXITED(st, 12);
}

CASE(wait4_specific_pid_leaves_others)
{
	pid_t a = spawn_exit(1);
	pid_t b = spawn_exit(2);
	int st;

	EXPECT_SAME(wait4(b, &st, 0, NULL), b);
	EXPECT_EXITED(st, 2);
	EXPECT_SAME(wait4(-1, &st, 0, NULL), a);
	EXPECT_EXITED(st, 1);
	EXPECT_ERRNO(wait4(-1, &st, 0, NULL), ECHILD);
}

CASE(wait4_any_returns_each_child_once)
{
	pid_t a = spawn_exit(1), b = spawn_exit(2), c = spawn_exit(3);
	int seen = 0, st;

	for (int i = 0; i < 3; i++) {
		pid_t r = wait4(-1, &st, 0, NULL);

		seen |= (r == a) << 0 | (r == b) << 1 | (r == c) << 2;
	}
	EXPECT_EQ(seen, 7);
	EXPECT_ERRNO(wait4(-1, &st, 0, NULL), ECHILD);
}

CASE(wait4_process_group_selectors)
{
	pid_t a = spawn_blocked();
	int st;

	/* The child is in our process group (the case's own group). */
	release(4);
	EXPECT_SAME(wait4(0, &st, 0, NULL), a);
	EXPECT_EXITED(st, 4);
	a = spawn_exit(6);
	EXPECT_SAME(wait4(-getpgrp(), &st, 0, NULL), a);
	EXPECT_EXITED(st, 6);
}

CASE(wait4_other_group_not_matched_by_zero)
{
	pid_t a = spawn_blocked();
	int st;

	ASSERT_OK(setpgid(a, a));
	release(8);
	EXPECT_ERRNO(wait4(0, &st, 0, NULL), ECHILD);
	EXPECT_SAME(wait4(-a, &st, 0, NULL), a);
	EXPECT_EXITED(st, 8);
}

CASE(wait4_bad_options_einval)
{
	int st;

	EXPECT_ERRNO(wait4(-1, &st, 0x10000000, NULL), EINVAL);
	EXPECT_ERRNO(wait4(-1, &st, 0x100, NULL), EINVAL);
}

CASE(wait4_null_status_and_rusage)
{
	pid_t pid = spawn_exit(3);
	struct rusage ru;

	EXPECT_SAME(wait4(pid, NULL, 0, &ru), pid);
}

CASE(wait4_bad_status_pointer_efault)
{
	pid_t pid = spawn_exit(3);

	EXPECT_ERRNO(wait4(pid, BAD_PTR, 0, NULL), EFAULT);
}

CASE(zombie_exists_until_reaped)
{
	pid_t pid = spawn_blocked();
	siginfo_t si;

	release(0);
	/* Wait for the exit without reaping, then the pid still exists. */
	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_OK(kill(pid, 0));
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_ERRNO(kill(pid, 0), ESRCH);
}

CASE(sigchld_ignored_autoreaps)
{
	pid_t pid;
	int st;

	signal(SIGCHLD, SIG_IGN);
	pid = spawn_exit(1);
	/* wait blocks until the child is gone, then reports no children. */
	EXPECT_ERRNO(wait4(pid, &st, 0, NULL), ECHILD);
	EXPECT_ERRNO(kill(pid, 0), ESRCH);
}

CASE(orphan_is_reparented)
{
	int p[2];
	pid_t mid;

	ASSERT_OK(pipe(p));
	mid = ASSERT_OK(fork());
	if (mid == 0) {
		pid_t before = getpid();
		pid_t g = fork();

		if (g == 0) {
			struct timespec t0, t1;
			int ok;

			/* Wait (up to 5 seconds) for the middle process to die. */
			clock_gettime(CLOCK_MONOTONIC, &t0);
			do {
				usleep(1000);
				clock_gettime(CLOCK_MONOTONIC, &t1);
			} while (getppid() == before && t1.tv_sec - t0.tv_sec < 5);
			ok = getppid() != before;
			write(p[1], &ok, sizeof(ok));
			_exit(0);
		}
		_exit(0);
	}
	EXPECT_EXITED(h_wait(mid), 0);
	{
		int ok = 0;

		close(p[1]);
		EXPECT_EQ(read(p[0], &ok, sizeof(ok)), sizeof(ok));
		EXPECT_EQ(ok, 1);
	}
}

/* ---- waitid ---- */

CASE(waitid_exited_child)
{
	pid_t pid = spawn_exit(9);
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_signo, SIGCHLD);
	EXPECT_EQ(si.si_code, CLD_EXITED);
	EXPECT_SAME(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 9);
	EXPECT_SAME(si.si_uid, getuid());
}

CASE(waitid_killed_child)
{
	pid_t pid = spawn_blocked();
	siginfo_t si;

	ASSERT_OK(kill(pid, SIGUSR1));
	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_code, CLD_KILLED);
	EXPECT_EQ(si.si_status, SIGUSR1);
	EXPECT_SAME(si.si_pid, pid);
}

CASE(waitid_wnohang_nothing_ready)
{
	pid_t pid = spawn_blocked();
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_pid = 12345;
	EXPECT_EQ(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), 0);
	EXPECT_EQ(si.si_pid, 0);
	release(0);
	EXPECT_OK(waitid(P_PID, pid, &si, WEXITED));
}

CASE(waitid_wnowait_leaves_child_waitable)
{
	pid_t pid = spawn_exit(2);
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_SAME(si.si_pid, pid);
	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_ALL, 0, &si, WEXITED));
	EXPECT_SAME(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 2);
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
}

CASE(waitid_p_pgid)
{
	pid_t pid = spawn_exit(5);
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PGID, getpgrp(), &si, WEXITED));
	EXPECT_SAME(si.si_pid, pid);
}

CASE(waitid_errors)
{
	siginfo_t si;

	EXPECT_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL);
	EXPECT_ERRNO(waitid(42, 0, &si, WEXITED), EINVAL);
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED | 0x10000000), EINVAL);
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
	EXPECT_ERRNO(waitid(P_PID, NO_SUCH_PID, &si, WEXITED), ECHILD);
}

/* ---- ids ---- */

CASE(getpid_is_stable_and_matches_syscall)
{
	EXPECT_SAME(getpid(), syscall(SYS_getpid));
	EXPECT_SAME(getpid(), getpid());
	EXPECT_GT(getpid(), 0);
	EXPECT_GT(getppid(), 0);
}

CASE(gettid_equals_pid_in_main_thread)
{
	EXPECT_SAME(syscall(SYS_gettid), getpid());
}

CASE(set_tid_address_returns_tid)
{
	static int word;

	EXPECT_SAME(syscall(SYS_set_tid_address, &word), getpid());
}

/* ---- process groups and sessions ---- */

CASE(harness_case_is_group_leader)
{
	EXPECT_SAME(getpgrp(), getpid());
	EXPECT_SAME(getpgid(0), getpid());
	EXPECT_SAME(getpgid(getpid()), getpid());
}

CASE(setsid_in_group_leader_eperm)
{
	EXPECT_ERRNO(setsid(), EPERM);
}

CASE(setsid_in_child_creates_session)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pid_t me = getpid();
		int ok = setsid() == me && getsid(0) == me && getpgrp() == me;

		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(getsid_of_child_matches_ours)
{
	pid_t pid = spawn_blocked();

	EXPECT_SAME(getsid(pid), getsid(0));
	EXPECT_ERRNO(getsid(NO_SUCH_PID), ESRCH);
	release(0);
	h_wait(pid);
}

CASE(setpgid_child_into_new_group)
{
	pid_t pid = spawn_blocked();

	EXPECT_SAME(getpgid(pid), getpgrp());
	EXPECT_OK(setpgid(pid, pid));
	EXPECT_SAME(getpgid(pid), pid);
	/* ... and back into ours (same session). */
	EXPECT_OK(setpgid(pid, getpgrp()));
	EXPECT_SAME(getpgid(pid), getpgrp());
	release(0);
	h_wait(pid);
}

CASE(setpgid_errors)
{
	pid_t pid = spawn_blocked();

	EXPECT_ERRNO(setpgid(0, -1), EINVAL);
	EXPECT_ERRNO(setpgid(NO_SUCH_PID, 0), ESRCH);
	EXPECT_ERRNO(getpgid(NO_SUCH_PID), ESRCH);
	/* Joining a group that does not exist in the session. */
	EXPECT_ERRNO(setpgid(pid, NO_SUCH_PID), EPERM);
	release(0);
	h_wait(pid);
}

CASE(setpgid_session_leader_eperm)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		/* A session leader cannot change its process group. */
		int ok = setsid() == getpid() && setpgid(0, 0) == -1 && errno == EPERM;

		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(setpgid_after_exec_eacces)
{
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char fdarg[16];

		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		close(p[0]);
		execl(h_self, h_self, "--helper-wait", fdarg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* The helper writes one byte after exec, then waits for EOF on stdin... */
	ASSERT_EQ(read(p[0], &c, 1), 1);
	EXPECT_ERRNO(setpgid(pid, pid), EACCES);
	kill(pid, SIGKILL);
	h_wait(pid);
}

/* ---- threads ---- */

static void *thread_body(void *arg)
{
	int *v = arg;

	*v = (int)syscall(SYS_gettid);
	return (void *)(uintptr_t)7;
}

CASE(pthread_create_and_join)
{
	pthread_t t;
	int tid = 0;
	void *ret = NULL;

	ASSERT_EQ(pthread_create(&t, NULL, thread_body, &tid), 0);
	ASSERT_EQ(pthread_join(t, &ret), 0);
	EXPECT_EQ((uintptr_t)ret, 7);
	EXPECT_GT(tid, 0);
	EXPECT_TRUE(tid != getpid());
}

static void *getpid_body(void *arg)
{
	*(pid_t *)arg = getpid();
	return NULL;
}

CASE(threads_share_pid)
{
	pthread_t t;
	pid_t seen = 0;

	ASSERT_EQ(pthread_create(&t, NULL, getpid_body, &seen), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	EXPECT_SAME(seen, getpid());
}

static void *exit_body(void *arg)
{
	(void)arg;
	exit(21);
}

CASE(exit_in_thread_ends_process)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, exit_body, NULL) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	EXPECT_EXITED(h_wait(pid), 21);
}

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
	}
	return NULL;
}

CASE(threads_mutex_protects_counter)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, count_body, NULL), 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pthread_join(t[i], NULL), 0);
	EXPECT_EQ(counter, 80000);
}

/* FUTEX_WAIT with a value that differs: EAGAIN at once, whatever the timeout. */
CASE(futex_wait_huge_timeout_value_differs)
{
	static int word = 1;
	struct timespec ts = {0x7fffffffffffffffLL, 999999999};

	EXPECT_ERRNO(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 2, &ts, NULL, 0), EAGAIN);
}

static volatile int thread_tid;
static volatile int handler_tid;

static void record_tid(int sig)
{
	(void)sig;
	handler_tid = (int)syscall(SYS_gettid);
}

static void *wait_for_signal(void *arg)
{
	struct timespec t0, t1;

	(void)arg;
	thread_tid = (int)syscall(SYS_gettid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t1);
	while (!handler_tid && t1.tv_sec - t0.tv_sec < 5);
	return NULL;
}

CASE(tgkill_reaches_the_named_thread)
{
	pthread_t t;

	signal(SIGUSR1, record_tid);
	ASSERT_EQ(pthread_create(&t, NULL, wait_for_signal, NULL), 0);
	while (!thread_tid)
		sched_yield();
	EXPECT_OK(syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR1));
	ASSERT_EQ(pthread_join(t, NULL), 0);
	EXPECT_SAME(handler_tid, thread_tid);
}

static void *exec_body(void *arg)
{
	char *argv[] = {(char *)h_self, "--helper-exit", NULL};

	(void)arg;
	execve(h_self, argv, (char *[]){NULL});
	_exit(99);
}

CASE(execve_from_thread_replaces_process)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, exec_body, NULL) != 0)
			_exit(98);
		for (;;)
			pause();
	}
	EXPECT_EXITED(h_wait(pid), 23);
}

static void *fork_body(void *arg)
{
	pid_t pid = fork();
	int st;

	(void)arg;
	if (pid == 0)
		_exit(31);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return (void *)1;
	return (void *)(uintptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
}

CASE(fork_from_thread)
{
	pthread_t t;
	void *ret = NULL;

	ASSERT_EQ(pthread_create(&t, NULL, fork_body, NULL), 0);
	ASSERT_EQ(pthread_join(t, &ret), 0);
	EXPECT_EQ((uintptr_t)ret, 31);
}

int h_helper(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--helper-exit") == 0)
		return 23;
	if (argc == 3 && strcmp(argv[1], "--helper-wait") == 0) {
		int fd = atoi(argv[2]);

		if (write(fd, "r", 1) != 1)
			return 2;
		/* Block until killed. */
		for (;;)
			pause();
	}
	return 2;
}

HARNESS_MAIN
