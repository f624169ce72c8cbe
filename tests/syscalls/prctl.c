/*
 * prctl(2) in depth: names, dumpable, pdeathsig, keepcaps, no_new_privs,
 * child subreaper (reparenting), capability bounding set, timer slack,
 * seccomp mode, errors. (misc.c has the basics.)
 */
#include "harness.h"

#include <linux/capability.h>
#include <sys/prctl.h>

CASE(prctl_set_name_truncates_to_15)
{
	char name[32];

	ASSERT_OK(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"));
	memset(name, 'X', sizeof(name));
	ASSERT_OK(prctl(PR_GET_NAME, name));
	EXPECT_STREQ(name, "abcdefghijklmno");
	ASSERT_OK(prctl(PR_SET_NAME, ""));
	ASSERT_OK(prctl(PR_GET_NAME, name));
	EXPECT_STREQ(name, "");
}

CASE(prctl_name_bad_pointers_efault)
{
	EXPECT_ERRNO(prctl(PR_SET_NAME, BAD_PTR), EFAULT);
	EXPECT_ERRNO(prctl(PR_GET_NAME, BAD_PTR), EFAULT);
}

CASE(prctl_name_is_per_thread_and_inherited_by_fork)
{
	pid_t pid;

	ASSERT_OK(prctl(PR_SET_NAME, "parentname"));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char name[16];

		prctl(PR_GET_NAME, name);
		_exit(strcmp(name, "parentname") == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(prctl_dumpable_values)
{
	EXPECT_EQ(prctl(PR_GET_DUMPABLE), 1);
	ASSERT_OK(prctl(PR_SET_DUMPABLE, 0));
	EXPECT_EQ(prctl(PR_GET_DUMPABLE), 0);
	EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, 2), EINVAL);
	EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, 3), EINVAL);
	ASSERT_OK(prctl(PR_SET_DUMPABLE, 1));
	EXPECT_EQ(prctl(PR_GET_DUMPABLE), 1);
}

CASE(prctl_pdeathsig_roundtrip_and_errors)
{
	int sig = -1;

	ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
	EXPECT_EQ(sig, 0);
	ASSERT_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2));
	ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
	EXPECT_EQ(sig, SIGUSR2);
	EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
	EXPECT_ERRNO(prctl(PR_GET_PDEATHSIG, BAD_PTR), EFAULT);
}

CASE(prctl_pdeathsig_cleared_in_fork_child)
{
	pid_t pid;

	ASSERT_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int sig = -1;

		prctl(PR_GET_PDEATHSIG, &sig);
		_exit(sig == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(prctl_keepcaps_roundtrip)
{
	EXPECT_EQ(prctl(PR_GET_KEEPCAPS), 0);
	ASSERT_OK(prctl(PR_SET_KEEPCAPS, 1));
	EXPECT_EQ(prctl(PR_GET_KEEPCAPS), 1);
	EXPECT_ERRNO(prctl(PR_SET_KEEPCAPS, 2), EINVAL);
}

CASE(prctl_no_new_privs_is_sticky)
{
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
	ASSERT_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
}

CASE(prctl_child_subreaper_roundtrip)
{
	int v = -1;

	ASSERT_OK(prctl(PR_GET_CHILD_SUBREAPER, &v));
	EXPECT_EQ(v, 0);
	ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_OK(prctl(PR_GET_CHILD_SUBREAPER, &v));
	EXPECT_EQ(v, 1);
}

CASE(prctl_child_subreaper_adopts_orphans)
{
	int p[2];
	pid_t mid, grandchild = 0, reaped;
	int st;

	ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_OK(pipe(p));
	mid = ASSERT_OK(fork());
	if (mid == 0) {
		pid_t g = fork();

		if (g == 0) {
			usleep(100000);
			_exit(9);
		}
		write(p[1], &g, sizeof(g));
		_exit(0);
	}
	ASSERT_EQ(read(p[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	EXPECT_EXITED(h_wait(mid), 0);
	reaped = waitpid(-1, &st, 0);
	EXPECT_SAME(reaped, grandchild);
	EXPECT_EXITED(st, 9);
}

CASE(prctl_capbset_read)
{
	EXPECT_GE(prctl(PR_CAPBSET_READ, CAP_CHOWN), 0);
	EXPECT_ERRNO(prctl(PR_CAPBSET_READ, 1000), EINVAL);
	EXPECT_ERRNO(prctl(PR_CAPBSET_READ, -1), EINVAL);
}

CASE(prctl_capbset_drop_as_root)
{
	if (geteuid() != 0)
		SKIP("needs CAP_SETPCAP");
	if (prctl(PR_CAPBSET_READ, CAP_NET_RAW) != 1)
		SKIP("CAP_NET_RAW is not in the bounding set");
	ASSERT_OK(prctl(PR_CAPBSET_DROP, CAP_NET_RAW));
	EXPECT_EQ(prctl(PR_CAPBSET_READ, CAP_NET_RAW), 0);
	EXPECT_ERRNO(prctl(PR_CAPBSET_DROP, 1000), EINVAL);
}

CASE(prctl_timerslack_roundtrip)
{
	long def = prctl(PR_GET_TIMERSLACK);

	EXPECT_GT(def, 0);
	ASSERT_OK(prctl(PR_SET_TIMERSLACK, 12345));
	EXPECT_EQ(prctl(PR_GET_TIMERSLACK), 12345);
	ASSERT_OK(prctl(PR_SET_TIMERSLACK, 0));
	EXPECT_EQ(prctl(PR_GET_TIMERSLACK), def);
}

/* A fork child's default slack (what 0 restores) is the parent's slack at fork. */
CASE(prctl_timerslack_default_comes_from_the_parent)
{
	pid_t pid;

	ASSERT_OK(prctl(PR_SET_TIMERSLACK, 77777));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (prctl(PR_GET_TIMERSLACK) != 77777 || prctl(PR_SET_TIMERSLACK, 1000) != 0)
			_exit(1);
		prctl(PR_SET_TIMERSLACK, 0);
		_exit(prctl(PR_GET_TIMERSLACK) == 77777 ? 0 : 2);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	ASSERT_OK(prctl(PR_SET_TIMERSLACK, 0));
}

CASE(prctl_get_seccomp_is_zero)
{
	EXPECT_EQ(prctl(PR_GET_SECCOMP), 0);
}

CASE(prctl_thp_disable_roundtrip)
{
	EXPECT_EQ(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
	ASSERT_OK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	EXPECT_EQ(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
}

CASE(prctl_unknown_options_einval)
{
	EXPECT_ERRNO(prctl(OPAQUE(0x7fff0000), 0, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(prctl(OPAQUE(-1), 0, 0, 0, 0), EINVAL);
}

HARNESS_MAIN
