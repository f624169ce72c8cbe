/*
 * Scheduling calls in depth: sched_getparam/setparam, sched_setscheduler,
 * priority ranges, sched_rr_get_interval, sched_getattr/setattr,
 * sched_setaffinity, getcpu. (misc.c has the basics.)
 */
#include "harness.h"

#include <sched.h>
#include <sys/resource.h>

#define NO_SUCH_PID 0x3ffffff0

struct sched_attr_v1 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

CASE(sched_priority_ranges)
{
	EXPECT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
	EXPECT_EQ(sched_get_priority_min(SCHED_RR), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_RR), 99);
	EXPECT_EQ(sched_get_priority_min(SCHED_OTHER), 0);
	EXPECT_EQ(sched_get_priority_max(SCHED_BATCH), 0);
	EXPECT_EQ(sched_get_priority_max(SCHED_IDLE), 0);
	EXPECT_ERRNO(sched_get_priority_max(OPAQUE(42)), EINVAL);
	EXPECT_ERRNO(sched_get_priority_min(OPAQUE(-1)), EINVAL);
}

CASE(sched_getparam_of_self_and_errors)
{
	struct sched_param p = {.sched_priority = 77};

	ASSERT_OK(sched_getparam(0, &p));
	EXPECT_EQ(p.sched_priority, 0);
	ASSERT_OK(sched_getparam(getpid(), &p));
	EXPECT_ERRNO(sched_getparam(NO_SUCH_PID, &p), ESRCH);
	EXPECT_ERRNO(sched_getparam(OPAQUE(-1), &p), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getparam, 0, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getparam, 0, BAD_PTR), EFAULT);
}

CASE(sched_setscheduler_other_needs_priority_zero)
{
	struct sched_param p = {.sched_priority = 1};

	EXPECT_ERRNO(sched_setscheduler(0, SCHED_OTHER, &p), EINVAL);
	p.sched_priority = 0;
	EXPECT_OK(sched_setscheduler(0, SCHED_BATCH, &p));
	EXPECT_EQ(sched_getscheduler(0), SCHED_BATCH);
	EXPECT_OK(sched_setscheduler(0, SCHED_OTHER, &p));
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
	EXPECT_ERRNO(sched_setscheduler(0, OPAQUE(42), &p), EINVAL);
	EXPECT_ERRNO(sched_setscheduler(OPAQUE(-1), SCHED_OTHER, &p), EINVAL);
	EXPECT_ERRNO(sched_setscheduler(NO_SUCH_PID, SCHED_OTHER, &p), ESRCH);
}

CASE(sched_fifo_as_root_then_back)
{
	struct sched_param p = {.sched_priority = 10};

	if (geteuid() != 0)
		SKIP("needs root for real-time policies");
	ASSERT_OK(sched_setscheduler(0, SCHED_FIFO, &p));
	EXPECT_EQ(sched_getscheduler(0), SCHED_FIFO);
	p.sched_priority = 0;
	ASSERT_OK(sched_getparam(0, &p));
	EXPECT_EQ(p.sched_priority, 10);
	p.sched_priority = 100;
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &p), EINVAL);
	p.sched_priority = 0;
	ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &p));
}

CASE(sched_fifo_unprivileged_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct sched_param p = {.sched_priority = 10};
		struct rlimit rl = {0, 0};

		setrlimit(RLIMIT_RTPRIO, &rl);
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(sched_setscheduler(0, SCHED_FIFO, &p) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(sched_reset_on_fork_flag)
{
	struct sched_param p = {.sched_priority = 0};
	pid_t pid;

	ASSERT_OK(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &p));
	EXPECT_EQ(sched_getscheduler(0), SCHED_BATCH | SCHED_RESET_ON_FORK);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(sched_getscheduler(0));
	/* a SCHED_BATCH parent's child keeps the policy; the flag is cleared */
	EXPECT_EXITED(h_wait(pid), SCHED_BATCH);
}

CASE(sched_rr_get_interval_returns_timespec)
{
	struct timespec ts = {-1, -1};

	ASSERT_OK(sched_rr_get_interval(0, &ts));
	EXPECT_GE(ts.tv_sec, 0);
	EXPECT_GE(ts.tv_nsec, 0);
	EXPECT_ERRNO(sched_rr_get_interval(NO_SUCH_PID, &ts), ESRCH);
	EXPECT_ERRNO(sched_rr_get_interval(OPAQUE(-1), &ts), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_rr_get_interval, 0, BAD_PTR), EFAULT);
}

CASE(sched_getattr_reports_policy_and_nice)
{
	struct sched_attr_v1 at;

	ASSERT_OK(setpriority(PRIO_PROCESS, 0, 5));
	memset(&at, 0xff, sizeof(at));
	ASSERT_OK(syscall(SYS_sched_getattr, 0, &at, sizeof(at), 0));
	EXPECT_EQ(at.size, sizeof(at));
	EXPECT_EQ(at.sched_policy, SCHED_OTHER);
	EXPECT_EQ(at.sched_nice, 5);
	EXPECT_EQ(at.sched_priority, 0);
	EXPECT_ERRNO(syscall(SYS_sched_getattr, 0, &at, sizeof(at), 1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getattr, 0, &at, 8, 0), EINVAL);
}

CASE(sched_setattr_sets_nice)
{
	struct sched_attr_v1 at;

	memset(&at, 0, sizeof(at));
	at.size = sizeof(at);
	at.sched_policy = SCHED_OTHER;
	at.sched_nice = 3;
	ASSERT_OK(syscall(SYS_sched_setattr, 0, &at, 0));
	errno = 0;
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 3);
	at.sched_policy = 42;
	EXPECT_ERRNO(syscall(SYS_sched_setattr, 0, &at, 0), EINVAL);
}

/*
 * sched_setattr(2) E2BIG: a size below SCHED_ATTR_SIZE_VER0 (48), or unknown
 * trailing bytes that are not zero; the kernel writes back the size it
 * knows (56 since Linux 5.3). Size 0 means VER0; zero trailing bytes are fine.
 */
CASE(sched_setattr_size_rules)
{
	unsigned char buf[64];
	struct sched_attr_v1 *at = (struct sched_attr_v1 *)buf;

	memset(buf, 0, sizeof(buf));
	at->size = 40;
	EXPECT_ERRNO(syscall(SYS_sched_setattr, 0, at, 0), E2BIG);
	EXPECT_EQ(at->size, 56);
	at->size = 0;
	at->sched_policy = SCHED_OTHER;
	EXPECT_OK(syscall(SYS_sched_setattr, 0, at, 0));
	at->size = sizeof(buf);
	EXPECT_OK(syscall(SYS_sched_setattr, 0, at, 0));
	buf[60] = 1;
	EXPECT_ERRNO(syscall(SYS_sched_setattr, 0, at, 0), E2BIG);
	EXPECT_EQ(at->size, 56);
	EXPECT_ERRNO(syscall(SYS_sched_setattr, 0, at, 1), EINVAL);
}

CASE(sched_setaffinity_errors)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	EXPECT_ERRNO(sched_setaffinity(0, sizeof(set), &set), EINVAL);
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	EXPECT_ERRNO(sched_setaffinity(NO_SUCH_PID, sizeof(set), &set), ESRCH);
	EXPECT_ERRNO(syscall(SYS_sched_setaffinity, 0, sizeof(set), BAD_PTR), EFAULT);
}

CASE(sched_setaffinity_single_cpu_is_reported)
{
	cpu_set_t set, got;
	int cpu = -1;

	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	ASSERT_GE(cpu, 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_OK(sched_setaffinity(0, sizeof(set), &set));
	ASSERT_OK(sched_getaffinity(0, sizeof(got), &got));
	EXPECT_EQ(CPU_COUNT(&got), 1);
	EXPECT_TRUE(CPU_ISSET(cpu, &got));
	sched_yield();
	EXPECT_EQ(sched_getcpu(), cpu);
}

CASE(getcpu_null_arguments)
{
	unsigned int cpu = 9999, node = 9999;

	EXPECT_OK(syscall(SYS_getcpu, NULL, NULL, NULL));
	ASSERT_OK(syscall(SYS_getcpu, &cpu, &node, NULL));
	EXPECT_LT(cpu, 9999);
	EXPECT_LT(node, 9999);
	EXPECT_ERRNO(syscall(SYS_getcpu, BAD_PTR, NULL, NULL), EFAULT);
}

HARNESS_MAIN
