/*
 * Capabilities: capget/capset versions and data, raising and dropping
 * effective, permitted and inheritable sets, and how set*id calls change
 * them (PR_SET_KEEPCAPS).
 */
#include "harness.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>

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

/* Drops `cap` from the effective set. */
static void drop_effective(int cap)
{
	struct __user_cap_data_struct d[2];

	ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, d));
	d[cap / 32].effective &= ~(1u << (cap % 32));
	ASSERT_OK(cset(d));
}

/* A file of `nobody` with mode `mode`, made while still privileged. */
static const char *nobodys(const char *name, mode_t mode, int dir)
{
	const char *p = h_path(name);

	if (dir)
		ASSERT_OK(mkdir(p, 0700));
	else
		h_write_file(p, "x", 1);
	ASSERT_OK(chown(p, NOBODY, NOBODY));
	ASSERT_OK(chmod(p, mode));
	return p;
}

/*
 * capabilities(7): root is held to the mode bits like anyone once
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH are gone; CAP_DAC_READ_SEARCH
 * alone reads files and searches directories but writes nothing.
 */
CASE(dropped_dac_caps_make_root_obey_mode_bits)
{
	const char *f, *d;
	char inner[600];

	if (geteuid() != 0)
		SKIP("needs root");
	f = nobodys("f", 0600, 0);
	d = nobodys("d", 0700, 1);
	snprintf(inner, sizeof(inner), "%s/inner", d);
	h_write_file(inner, "y", 1);
	drop_effective(CAP_DAC_OVERRIDE);
	drop_effective(CAP_DAC_READ_SEARCH);
	EXPECT_ERRNO(open(f, O_RDONLY), EACCES);
	EXPECT_ERRNO(open(f, O_WRONLY), EACCES);
	EXPECT_ERRNO(open(inner, O_RDONLY), EACCES);
	/* access(2) checks the real uid with root's permitted set: allowed */
	EXPECT_OK(access(f, R_OK | W_OK));
	{
		struct __user_cap_data_struct c[2];

		ASSERT_OK(cget(_LINUX_CAPABILITY_VERSION_3, 0, c));
		c[0].effective |= 1u << CAP_DAC_READ_SEARCH;
		ASSERT_OK(cset(c));
	}
	close(ASSERT_OK(open(f, O_RDONLY)));
	close(ASSERT_OK(open(inner, O_RDONLY)));
	EXPECT_ERRNO(open(f, O_WRONLY), EACCES);
}

/* Without CAP_FOWNER, chmod and explicit utimensat need ownership; without CAP_MKNOD, no devices. */
CASE(dropped_cap_fowner_and_mknod)
{
	const char *f;
	struct timespec ts[2] = {{1, 0}, {1, 0}};

	if (geteuid() != 0)
		SKIP("needs root");
	f = nobodys("f", 0666, 0);
	drop_effective(CAP_FOWNER);
	EXPECT_ERRNO(chmod(f, 0644), EPERM);
	EXPECT_ERRNO(utimensat(AT_FDCWD, f, ts, 0), EPERM);
	/* "now" needs only write permission, which 0666 gives */
	EXPECT_OK(utimensat(AT_FDCWD, f, NULL, 0));
	drop_effective(CAP_MKNOD);
	EXPECT_ERRNO(mknod(h_path("null"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
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
