/*
 * membarrier(2) commands and registration; rseq(2) registration rules
 * (checked in a re-executed copy of this program with glibc's own rseq
 * registration turned off).
 */
#include "harness.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <linux/rseq.h>

#define RSEQ_SIG 0x53053053

static long mb(int cmd, unsigned int flags, int cpu)
{
	return syscall(SYS_membarrier, cmd, flags, cpu);
}

CASE(membarrier_query_lists_commands)
{
	long cmds = ASSERT_OK(mb(MEMBARRIER_CMD_QUERY, 0, 0));

	EXPECT_EQ(cmds & MEMBARRIER_CMD_QUERY, 0);
	EXPECT_NE(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
	EXPECT_NE(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0);
}

CASE(membarrier_errors)
{
	EXPECT_ERRNO(mb(OPAQUE(1 << 20), 0, 0), EINVAL);
	EXPECT_ERRNO(mb(MEMBARRIER_CMD_QUERY, 1, 0), EINVAL);
	EXPECT_ERRNO(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 4, 0), EINVAL);
}

CASE(membarrier_private_expedited_needs_registration)
{
	EXPECT_ERRNO(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), EPERM);
	ASSERT_OK(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
	EXPECT_EQ(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), 0);
	EXPECT_EQ(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0), 0);
}

CASE(membarrier_global)
{
	long cmds = ASSERT_OK(mb(MEMBARRIER_CMD_QUERY, 0, 0));

	if (cmds & MEMBARRIER_CMD_GLOBAL)
		EXPECT_EQ(mb(MEMBARRIER_CMD_GLOBAL, 0, 0), 0);
	EXPECT_NE(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0);
	EXPECT_EQ(mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0), 0);
}

static void *park(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* With a second thread the private barrier has work to do; a fork keeps the registration. */
CASE(membarrier_private_expedited_with_threads_and_fork)
{
	pthread_t t;
	pid_t pid;

	ASSERT_OK(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
	ASSERT_EQ(pthread_create(&t, NULL, park, NULL), 0);
	EXPECT_EQ(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), 0);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- rseq, in a copy of the program without glibc's registration ---- */

static struct rseq area __attribute__((aligned(32)));
static struct rseq other __attribute__((aligned(32)));

static long rs(struct rseq *r, uint32_t len, int flags, uint32_t sig)
{
	return syscall(SYS_rseq, r, len, flags, sig);
}

/* Exit codes: 0 ok; 10 + n: check n failed. */
int h_helper(int argc, char **argv)
{
	const char *what = argc > 2 ? argv[2] : "";

	(void)argv;
	if (strcmp(what, "register") == 0) {
		if (rs(&area, sizeof(area), 0, RSEQ_SIG) != 0)
			return 10;
		sched_yield();
		if ((int32_t)area.cpu_id < 0 || area.cpu_id_start != area.cpu_id)
			return 11;
		if (rs(&area, sizeof(area), 0, RSEQ_SIG) != -1 || errno != EBUSY)
			return 12;
		if (rs(&other, sizeof(other), 0, RSEQ_SIG) != -1 || errno != EINVAL)
			return 13;
		if (rs(&area, sizeof(area), 0, RSEQ_SIG + 1) != -1 || errno != EPERM)
			return 14;
		if (rs(&area, sizeof(area), RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1) != -1 || errno != EPERM)
			return 15;
		if (rs(&area, sizeof(area), RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
			return 16;
		if (rs(&area, sizeof(area), RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != -1 || errno != EINVAL)
			return 17;
		return 0;
	}
	if (strcmp(what, "errors") == 0) {
		if (rs(&area, 16, 0, RSEQ_SIG) != -1 || errno != EINVAL)
			return 10;
		if (rs((struct rseq *)((char *)&area + 4), sizeof(area), 0, RSEQ_SIG) != -1 ||
		    errno != EINVAL)
			return 11;
		if (rs(&area, sizeof(area), 2, RSEQ_SIG) != -1 || errno != EINVAL)
			return 12;
		if (rs(BAD_PTR, sizeof(area), 0, RSEQ_SIG) != -1 || errno != EINVAL)
			return 13;
		return 0;
	}
	if (strcmp(what, "fork") == 0) {
		pid_t pid;
		int st;

		if (rs(&area, sizeof(area), 0, RSEQ_SIG) != 0)
			return 10;
		pid = fork();
		if (pid == 0) {
			/* the registration is inherited: registering again is EBUSY */
			_exit(rs(&area, sizeof(area), 0, RSEQ_SIG) == -1 && errno == EBUSY ? 0 : 1);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 11;
		return 0;
	}
	return 99;
}

static int run_helper(const char *what)
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		char *argv[] = {h_self, "--helper", (char *)what, NULL};
		char *envp[] = {"GLIBC_TUNABLES=glibc.pthread.rseq=0", NULL};

		execve(h_self, argv, envp);
		_exit(127);
	}
	return h_wait(pid);
}

CASE(rseq_register_reports_cpu_and_rules)
{
	EXPECT_EXITED(run_helper("register"), 0);
}

CASE(rseq_argument_errors)
{
	EXPECT_EXITED(run_helper("errors"), 0);
}

CASE(rseq_registration_inherited_by_fork)
{
	EXPECT_EXITED(run_helper("fork"), 0);
}

HARNESS_MAIN
