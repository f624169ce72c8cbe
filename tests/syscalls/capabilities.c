/*
 * Capabilities: capget/capset versions and data, raising and dropping
 * effective, permitted and inheritable sets, and how set*id calls change
 * them (PR_SET_KEEPCAPS).
 */
#include "harness.h"

#include <linux/capability.h>
#include <sys/prctl.h>

#define NOBODY 65534
#define NO_SUCH_PID 0x3ffffff0

static int cget(int version, int pid, struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = {.version = version, .pid = pid};

	return syscall(SYS_capget, &h, d);
}

static int cset(struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

	return syscall(SYS_capset, &h, d);
}

static int has(const struct __user_cap_data_struct *d, int cap, int which)
{
	uint32_t set = which == 0 ? d[cap / 32].effective :
		       which == 1 ? d[cap / 32].permitted : d[cap / 32].inheritable;

	return !!(set & (1u << (cap % 32)));
}

CASE(capget_version_probe)
{
	struct __user_cap_header_struct h = {.version = 0x12345678, .pid = 0};
	struct __user_cap_data_struct d[2];

	EXPECT_ERRNO(syscall(SYS_capget, &h, d), EINVAL);
	EXPECT_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = 0;
	EXPECT_OK(syscall(SYS_capget, &h, NULL));
	EXPECT_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
}

CASE(capget_versions_1_2_3)
{
	struct __user_cap_data_struct d[2];

	EXPECT_OK(cget(_LINUX_CAPABILITY_VERSION_1, 0, d));
	EXPECT_OK(cget(_LINUX_CAPABILITY_VERSION_2, 0, d));
	EXPECT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
}

CASE(capget_errors)
{
	struct __user_cap_data_struct d[2];
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = -1};

	EXPECT_ERRNO(cget(_LINUX_CAPABILITY_VERSION_3, NO_SUCH_PID, d), ESRCH);
	EXPECT_ERRNO(syscall(SYS_capget, &h, d), EINVAL);
	EXPECT_ERRNO(syscall(SYS_capget, BAD_PTR, d), EFAULT);
	EXPECT_ERRNO(cget(_LINUX_CAPABILITY_VERSION_3, 0, BAD_PTR), EFAULT);
}

CASE(capget_of_child_matches_self)
{
	struct __user_cap_data_struct mine[2], theirs[2];
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		pause();
		_exit(0);
	}
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, mine));
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, pid, theirs));
	EXPECT_EQ(theirs[0].effective, mine[0].effective);
	EXPECT_EQ(theirs[0].permitted, mine[0].permitted);
	EXPECT_EQ(theirs[1].permitted, mine[1].permitted);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(capset_drop_and_raise_effective)
{
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	if (!has(d, CAP_CHOWN, 1))
		SKIP("CAP_CHOWN is not permitted");
	d[0].effective &= ~(1u << CAP_CHOWN);
	ASSERT_OK(cset(d));
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	EXPECT_EQ(has(d, CAP_CHOWN, 0), 0);
	EXPECT_EQ(has(d, CAP_CHOWN, 1), 1);
	d[0].effective |= 1u << CAP_CHOWN;
	ASSERT_OK(cset(d));
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	EXPECT_EQ(has(d, CAP_CHOWN, 0), 1);
}

CASE(capset_cannot_regain_dropped_permitted)
{
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	d[0].effective &= ~(1u << CAP_KILL);
	d[0].permitted &= ~(1u << CAP_KILL);
	ASSERT_OK(cset(d));
	d[0].permitted |= 1u << CAP_KILL;
	EXPECT_ERRNO(cset(d), EPERM);
	d[0].permitted &= ~(1u << CAP_KILL);
	d[0].effective |= 1u << CAP_KILL;
	EXPECT_ERRNO(cset(d), EPERM);
}

CASE(capset_errors)
{
	struct __user_cap_data_struct d[2];
	struct __user_cap_header_struct h = {.version = 0x1234, .pid = 0};

	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	EXPECT_ERRNO(syscall(SYS_capset, &h, d), EINVAL);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = getppid();
	EXPECT_ERRNO(syscall(SYS_capset, &h, d), EPERM);
	h.pid = 0;
	EXPECT_ERRNO(syscall(SYS_capset, &h, BAD_PTR), EFAULT);
}

CASE(capabilities_cleared_by_setuid_to_nobody)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct __user_cap_data_struct d[2];

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		if (cget(_LINUX_CAPABILITY_VERSION_3, 0, d))
			_exit(3);
		_exit(d[0].effective == 0 && d[0].permitted == 0 && d[1].permitted == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(keepcaps_keeps_permitted_across_setuid)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct __user_cap_data_struct before[2], d[2];

		if (cget(_LINUX_CAPABILITY_VERSION_3, 0, before))
			_exit(3);
		if (prctl(PR_SET_KEEPCAPS, 1) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		if (cget(_LINUX_CAPABILITY_VERSION_3, 0, d))
			_exit(3);
		/* permitted kept, effective cleared */
		_exit(d[0].permitted == before[0].permitted && d[0].effective == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(seteuid_nonroot_clears_effective_only)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct __user_cap_data_struct d[2];

		if (setresuid(0, NOBODY, 0))
			_exit(2);
		if (cget(_LINUX_CAPABILITY_VERSION_3, 0, d))
			_exit(3);
		if (d[0].effective != 0 || d[0].permitted == 0)
			_exit(1);
		/* back to euid 0: effective = permitted again */
		if (setresuid(0, 0, 0) || cget(_LINUX_CAPABILITY_VERSION_3, 0, d))
			_exit(4);
		_exit(d[0].effective == d[0].permitted ? 0 : 5);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(dropped_cap_chown_makes_chown_eperm)
{
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	d[0].effective &= ~(1u << CAP_CHOWN);
	ASSERT_OK(cset(d));
	EXPECT_ERRNO(chown(h_path("f"), NOBODY, -1), EPERM);
}

CASE(inheritable_limited_by_bounding_and_permitted)
{
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	d[0].inheritable |= 1u << CAP_CHOWN;
	ASSERT_OK(cset(d));
	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	EXPECT_EQ(has(d, CAP_CHOWN, 2), 1);
	ASSERT_OK(prctl(PR_CAPBSET_DROP, CAP_FOWNER));
	d[0].inheritable |= 1u << CAP_FOWNER;
	EXPECT_ERRNO(cset(d), EPERM);
}

HARNESS_MAIN
