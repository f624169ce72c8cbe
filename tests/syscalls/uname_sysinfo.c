/*
 * System identity: uname field layout, sethostname/setdomainname rules
 * (only checks that change nothing), gethostname, sysinfo consistency.
 * (misc.c has the basics.)
 */
#include "harness.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>

#define NOBODY 65534

static int nul_terminated(const char *field, size_t cap)
{
	return memchr(field, 0, cap) != NULL;
}

CASE(uname_fields_are_nul_terminated_and_set)
{
	struct utsname u;

	memset(&u, 'X', sizeof(u));
	ASSERT_OK(uname(&u));
	EXPECT_TRUE(nul_terminated(u.sysname, sizeof(u.sysname)));
	EXPECT_TRUE(nul_terminated(u.nodename, sizeof(u.nodename)));
	EXPECT_TRUE(nul_terminated(u.release, sizeof(u.release)));
	EXPECT_TRUE(nul_terminated(u.version, sizeof(u.version)));
	EXPECT_TRUE(nul_terminated(u.machine, sizeof(u.machine)));
	EXPECT_TRUE(nul_terminated(u.domainname, sizeof(u.domainname)));
	EXPECT_GT(strlen(u.version), 0);
	EXPECT_GT(strlen(u.release), 0);
}

CASE(getdomainname_matches_uname)
{
	struct utsname u;
	char buf[65];

	ASSERT_OK(uname(&u));
	ASSERT_OK(getdomainname(buf, sizeof(buf)));
	EXPECT_STREQ(buf, u.domainname);
}

CASE(sethostname_too_long_einval)
{
	char name[80];

	if (geteuid() != 0)
		SKIP("the EPERM check comes first for other users");
	memset(name, 'h', sizeof(name));
	/* rejected before anything changes */
	EXPECT_ERRNO(sethostname(name, 65), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sethostname, name, -1), EINVAL);
	EXPECT_ERRNO(setdomainname(name, 65), EINVAL);
}

CASE(sethostname_bad_pointer_efault)
{
	if (geteuid() != 0)
		SKIP("the EPERM check comes first for other users");
	EXPECT_ERRNO(syscall(SYS_sethostname, BAD_PTR, 4), EFAULT);
	EXPECT_ERRNO(syscall(SYS_setdomainname, BAD_PTR, 4), EFAULT);
}

CASE(sethostname_unprivileged_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		if (!(sethostname("x", 1) == -1 && errno == EPERM))
			_exit(1);
		_exit(setdomainname("x", 1) == -1 && errno == EPERM ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(gethostname_short_buffer_enametoolong)
{
	struct utsname u;
	char buf[2];

	ASSERT_OK(uname(&u));
	if (strlen(u.nodename) < 2)
		SKIP("host name too short for this check");
	EXPECT_ERRNO(gethostname(buf, 1), ENAMETOOLONG);
}

CASE(sysinfo_fields_consistent)
{
	struct sysinfo si;

	ASSERT_OK(sysinfo(&si));
	EXPECT_LE(si.freeswap, si.totalswap);
	EXPECT_LE(si.sharedram, si.totalram);
	EXPECT_LE(si.bufferram, si.totalram);
	EXPECT_LE(si.freehigh, si.totalhigh);
	EXPECT_EQ(si.mem_unit, 1);
}

CASE(sysinfo_uptime_matches_boottime)
{
	struct sysinfo si;
	struct timespec bt;

	ASSERT_OK(clock_gettime(CLOCK_BOOTTIME, &bt));
	ASSERT_OK(sysinfo(&si));
	EXPECT_GE(si.uptime, bt.tv_sec);
	EXPECT_LE(si.uptime, bt.tv_sec + 2);
}

CASE(sysinfo_procs_counts_new_children)
{
	struct sysinfo a, b;
	pid_t kids[4];

	ASSERT_OK(sysinfo(&a));
	for (int i = 0; i < 4; i++) {
		kids[i] = ASSERT_OK(fork());
		if (kids[i] == 0) {
			pause();
			_exit(0);
		}
	}
	ASSERT_OK(sysinfo(&b));
	/* other processes come and go on a host: only a lower bound holds */
	EXPECT_GE(b.procs, 5);
	for (int i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		h_wait(kids[i]);
	}
	(void)a;
}

CASE(uname_same_in_forked_child)
{
	struct utsname a, b;
	int p[2];
	pid_t pid;

	ASSERT_OK(uname(&a));
	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct utsname c;

		uname(&c);
		_exit(write(p[1], &c, sizeof(c)) == sizeof(c) ? 0 : 1);
	}
	ASSERT_EQ(read(p[0], &b, sizeof(b)), sizeof(b));
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_MEMEQ(&a, &b, sizeof(a));
}

HARNESS_MAIN
