/*
 * Miscellaneous: uname, sysinfo, getrandom, sched_getaffinity and friends,
 * sched_yield, prctl, arch_prctl, personality, unknown syscall numbers,
 * the auxiliary vector, getcpu.
 */
#include "harness.h"

#include <asm/prctl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---- uname ---- */

CASE(uname_identifies_linux_x86_64)
{
	struct utsname u;

	ASSERT_OK(uname(&u));
	EXPECT_STREQ(u.sysname, "Linux");
	EXPECT_STREQ(u.machine, "x86_64");
	EXPECT_GT(strlen(u.nodename), 0);
	EXPECT_GT(strlen(u.version), 0);
}

CASE(uname_release_is_dotted_version)
{
	struct utsname u;
	int major = -1, minor = -1;

	ASSERT_OK(uname(&u));
	EXPECT_EQ(sscanf(u.release, "%d.%d", &major, &minor), 2);
	EXPECT_GE(major, 3);
	EXPECT_GE(minor, 0);
}

CASE(uname_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_uname, BAD_PTR), EFAULT);
}

CASE(uname_nodename_matches_gethostname)
{
	struct utsname u;
	char host[256] = {0};

	ASSERT_OK(uname(&u));
	ASSERT_OK(gethostname(host, sizeof(host)));
	EXPECT_TRUE(strcmp(u.nodename, host) == 0);
}

CASE(proc_version_matches_uname)
{
	struct utsname u;
	char buf[1024];

	ASSERT_OK(uname(&u));
	ASSERT_GT(h_read_file("/proc/sys/kernel/osrelease", buf, sizeof(buf)), 0);
	buf[strcspn(buf, "\n")] = 0;
	EXPECT_TRUE(strcmp(buf, u.release) == 0);
}

/* ---- sysinfo ---- */

CASE(sysinfo_is_sane)
{
	struct sysinfo si;

	ASSERT_OK(sysinfo(&si));
	/* A sandbox may count uptime from its own start: it can be 0. */
	EXPECT_GE(si.uptime, 0);
	EXPECT_GT(si.totalram, 0);
	EXPECT_LE(si.freeram, si.totalram);
	EXPECT_GE(si.mem_unit, 1);
	EXPECT_GE(si.procs, 1);
}

CASE(sysinfo_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_sysinfo, BAD_PTR), EFAULT);
}

CASE(sysconf_values)
{
	EXPECT_EQ(sysconf(_SC_PAGESIZE), 4096);
	EXPECT_GE(sysconf(_SC_NPROCESSORS_ONLN), 1);
	EXPECT_GT(sysconf(_SC_CLK_TCK), 0);
	EXPECT_GE(sysconf(_SC_OPEN_MAX), 1);
}

/* ---- getrandom ---- */

CASE(getrandom_fills_buffer)
{
	unsigned char a[64], b[64];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	EXPECT_EQ(getrandom(a, sizeof(a), 0), sizeof(a));
	EXPECT_EQ(getrandom(b, sizeof(b), 0), sizeof(b));
	EXPECT_TRUE(!all_zero(a, sizeof(a)));
	EXPECT_TRUE(memcmp(a, b, sizeof(a)) != 0);
}

CASE(getrandom_flags)
{
	unsigned char a[32];

	EXPECT_EQ(getrandom(a, sizeof(a), GRND_NONBLOCK), sizeof(a));
	EXPECT_EQ(getrandom(a, sizeof(a), GRND_RANDOM | GRND_NONBLOCK), sizeof(a));
	EXPECT_EQ(getrandom(a, sizeof(a), GRND_INSECURE), sizeof(a));
	EXPECT_ERRNO(getrandom(a, sizeof(a), 0x100), EINVAL);
	EXPECT_ERRNO(getrandom(a, sizeof(a), GRND_INSECURE | GRND_RANDOM), EINVAL);
}

CASE(getrandom_zero_length)
{
	unsigned char a[1];

	EXPECT_EQ(getrandom(a, 0, 0), 0);
}

CASE(getrandom_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_getrandom, BAD_PTR, 16, 0), EFAULT);
}

CASE(getrandom_large_request)
{
	size_t n = 1 << 20;
	unsigned char *p = malloc(n);
	long r;

	r = getrandom(p, n, 0);
	EXPECT_GT(r, 0);
	EXPECT_LE(r, n);
	EXPECT_TRUE(!all_zero(p + r - 32, 32));
}

/* ---- scheduling ---- */

CASE(sched_getaffinity_has_cpus)
{
	cpu_set_t set;
	long r;

	CPU_ZERO(&set);
	r = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
	EXPECT_GT(r, 0);
	EXPECT_EQ(r % sizeof(long), 0);
	EXPECT_GE(CPU_COUNT(&set), 1);
	EXPECT_LE(CPU_COUNT(&set), sysconf(_SC_NPROCESSORS_CONF));
}

CASE(sched_getaffinity_errors)
{
	cpu_set_t set;

	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, &set), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0x3ffffff0, sizeof(set), &set), ESRCH);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof(set), BAD_PTR), EFAULT);
}

CASE(sched_getaffinity_of_child)
{
	cpu_set_t mine, theirs;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		usleep(200000);
		_exit(0);
	}
	ASSERT_OK(sched_getaffinity(0, sizeof(mine), &mine));
	EXPECT_OK(sched_getaffinity(pid, sizeof(theirs), &theirs));
	EXPECT_TRUE(CPU_EQUAL(&mine, &theirs));
	h_wait(pid);
}

CASE(sched_setaffinity_to_current_set)
{
	cpu_set_t set, got;

	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	EXPECT_OK(sched_setaffinity(0, sizeof(set), &set));
	ASSERT_OK(sched_getaffinity(0, sizeof(got), &got));
	EXPECT_TRUE(CPU_EQUAL(&set, &got));
}

CASE(sched_yield_succeeds)
{
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(sched_yield(), 0);
}

CASE(sched_policy_is_other)
{
	struct sched_param sp = {.sched_priority = 99};

	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
	EXPECT_OK(sched_getparam(0, &sp));
	EXPECT_EQ(sp.sched_priority, 0);
	EXPECT_EQ(sched_get_priority_max(SCHED_OTHER), 0);
	EXPECT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
}

CASE(getpriority_and_nice)
{
	int p;

	errno = 0;
	p = getpriority(PRIO_PROCESS, 0);
	EXPECT_EQ(errno, 0);
	EXPECT_TRUE(p >= -20 && p <= 19);
	EXPECT_OK(setpriority(PRIO_PROCESS, 0, p < 19 ? p + 1 : p));
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), p < 19 ? p + 1 : p);
}

CASE(getcpu_in_affinity_set)
{
	unsigned cpu = 9999, node = 9999;
	cpu_set_t set;

	ASSERT_OK(syscall(SYS_getcpu, &cpu, &node, NULL));
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	EXPECT_TRUE(CPU_ISSET(cpu, &set));
	EXPECT_LT(node, 9999);
}

/* ---- prctl / arch_prctl / personality ---- */

CASE(prctl_name_roundtrip)
{
	char name[32] = {0};

	ASSERT_OK(prctl(PR_SET_NAME, "sc-test-name-long-truncated"));
	ASSERT_OK(prctl(PR_GET_NAME, name));
	EXPECT_STREQ(name, "sc-test-name-lo");
}

CASE(prctl_dumpable_and_pdeathsig)
{
	int sig = -1;

	EXPECT_OK(prctl(PR_SET_DUMPABLE, 1));
	EXPECT_EQ(prctl(PR_GET_DUMPABLE), 1);
	EXPECT_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1));
	EXPECT_OK(prctl(PR_GET_PDEATHSIG, &sig));
	EXPECT_EQ(sig, SIGUSR1);
	EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
}

CASE(prctl_no_new_privs)
{
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	EXPECT_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
}

CASE(prctl_unknown_option_einval)
{
	EXPECT_ERRNO(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
}

CASE(arch_prctl_fs_roundtrip)
{
	unsigned long fs = 0, again = 0;

	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
	EXPECT_NE(fs, 0);
	/* Setting the same value back keeps the thread pointer valid. */
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_SET_FS, fs));
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &again));
	EXPECT_TRUE(fs == again);
	EXPECT_ERRNO(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_GET_FS, BAD_PTR), EFAULT);
}

CASE(personality_query)
{
	int p = personality(0xffffffff);

	EXPECT_GE(p, 0);
	EXPECT_EQ(p & PER_MASK, PER_LINUX);
}

/* personality(2) returns the old persona and keeps the new one; fork keeps it. */
CASE(personality_set_and_inherited)
{
	int old = personality(0xffffffff);
	pid_t pid;

	ASSERT_GE(old, 0);
	EXPECT_EQ(personality(PER_LINUX | ADDR_NO_RANDOMIZE), old);
	EXPECT_EQ(personality(0xffffffff), PER_LINUX | ADDR_NO_RANDOMIZE);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(personality(old), PER_LINUX | ADDR_NO_RANDOMIZE);
}

/* ---- the system call table itself ---- */

CASE(unknown_syscall_enosys)
{
	EXPECT_ERRNO(syscall(1000), ENOSYS);
	EXPECT_ERRNO(syscall(100000), ENOSYS);
	EXPECT_ERRNO(syscall(-1), ENOSYS);
}

CASE(auxv_basics)
{
	EXPECT_EQ(getauxval(AT_PAGESZ), 4096);
	EXPECT_NE(getauxval(AT_ENTRY), 0);
	EXPECT_NE(getauxval(AT_RANDOM), 0);
	EXPECT_EQ(getauxval(AT_UID), getuid());
	EXPECT_EQ(getauxval(AT_EUID), geteuid());
	EXPECT_EQ(getauxval(AT_GID), getgid());
	EXPECT_EQ(getauxval(AT_SECURE), 0);
	EXPECT_GT(getauxval(AT_CLKTCK), 0);
}

CASE(auxv_execfn_is_path)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);

	ASSERT_TRUE(fn != NULL);
	EXPECT_STREQ(fn, h_argv[0]);
}

CASE(proc_self_auxv_matches_getauxval)
{
	unsigned long buf[512];
	ssize_t n;
	int found = 0;
	int fd = ASSERT_OK(open("/proc/self/auxv", O_RDONLY));

	n = read(fd, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	for (ssize_t i = 0; i + 1 < n / (ssize_t)sizeof(long); i += 2) {
		if (buf[i] == AT_PAGESZ) {
			found = 1;
			EXPECT_EQ(buf[i + 1], 4096);
		}
		if (buf[i] == AT_NULL)
			break;
	}
	EXPECT_TRUE(found);
}

HARNESS_MAIN
