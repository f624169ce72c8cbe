/*
 * Credentials: getuid/geteuid/getgid/getegid, getresuid/getresgid,
 * getgroups/setgroups, setuid/setgid/setreuid/setresuid, setfsuid,
 * capget. Cases that change credentials do so in a forked child; those that
 * need privilege skip when the suite does not run as root.
 */
#include "harness.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>

#define NOBODY 65534

static void need_root(void)
{
	if (geteuid() != 0)
		SKIP("needs root");
}

/* Runs fn in a child; the case fails unless it returns 0. */
static void in_child(int (*fn)(void))
{
	EXPECT_EXITED(h_in_child(fn), 0);
}

CASE(ids_are_consistent)
{
	/* Not a setuid program: real and effective ids agree. */
	EXPECT_EQ(getuid(), geteuid());
	EXPECT_EQ(getgid(), getegid());
	EXPECT_EQ(getuid(), syscall(SYS_getuid));
	EXPECT_EQ(getgid(), syscall(SYS_getgid));
}

CASE(getresuid_and_getresgid)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	ASSERT_OK(getresuid(&r, &e, &s));
	EXPECT_EQ(r, getuid());
	EXPECT_EQ(e, geteuid());
	EXPECT_EQ(s, geteuid());
	ASSERT_OK(getresgid(&gr, &ge, &gs));
	EXPECT_EQ(gr, getgid());
	EXPECT_EQ(ge, getegid());
	EXPECT_EQ(gs, getegid());
}

CASE(getresuid_bad_pointer_efault)
{
	uid_t a, b;

	EXPECT_ERRNO(syscall(SYS_getresuid, BAD_PTR, &a, &b), EFAULT);
	EXPECT_ERRNO(syscall(SYS_getresgid, &a, &b, BAD_PTR), EFAULT);
}

CASE(getgroups_count_then_fill)
{
	gid_t list[256];
	int n = ASSERT_OK(getgroups(0, NULL));

	EXPECT_LE(n, 256);
	EXPECT_EQ(getgroups(256, list), n);
}

CASE(getgroups_errors)
{
	gid_t list[4];

	EXPECT_ERRNO(getgroups(OPAQUE(-1), list), EINVAL);
	if (getgroups(0, NULL) > 0)
		EXPECT_ERRNO(syscall(SYS_getgroups, 256, BAD_PTR), EFAULT);
}

static int groups_roundtrip(void)
{
	gid_t set[3] = {10, 20, 30}, got[8];

	if (setgroups(3, set) != 0)
		return 1;
	if (getgroups(0, NULL) != 3)
		return 2;
	if (getgroups(8, got) != 3 || got[0] != 10 || got[1] != 20 || got[2] != 30)
		return 3;
	/* A buffer that is too small. */
	if (getgroups(2, got) != -1 || errno != EINVAL)
		return 4;
	if (setgroups(0, NULL) != 0 || getgroups(0, NULL) != 0)
		return 5;
	return 0;
}

CASE(setgroups_roundtrip)
{
	need_root();
	in_child(groups_roundtrip);
}

static int setuid_drops_everything(void)
{
	uid_t r, e, s;

	if (setuid(NOBODY) != 0)
		return 1;
	if (getresuid(&r, &e, &s) != 0 || r != NOBODY || e != NOBODY || s != NOBODY)
		return 2;
	/* There is no way back. */
	if (setuid(0) != -1 || errno != EPERM)
		return 3;
	if (seteuid(0) != -1 || errno != EPERM)
		return 4;
	return 0;
}

CASE(setuid_as_root_is_permanent)
{
	need_root();
	in_child(setuid_drops_everything);
}

static int saved_uid_allows_return(void)
{
	uid_t r, e, s;

	if (setresuid(NOBODY, NOBODY, 0) != 0)
		return 1;
	if (getresuid(&r, &e, &s) != 0 || r != NOBODY || e != NOBODY || s != 0)
		return 2;
	if (geteuid() != NOBODY)
		return 3;
	/* The saved uid 0 lets us become root again. */
	if (seteuid(0) != 0 || geteuid() != 0 || getuid() != NOBODY)
		return 4;
	return 0;
}

CASE(setresuid_saved_uid_allows_return)
{
	need_root();
	in_child(saved_uid_allows_return);
}

static int unprivileged_setuid_rules(void)
{
	if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		return 1;
	/* Setting to the current ids is allowed; anything else is not. */
	if (setuid(NOBODY) != 0)
		return 2;
	if (setuid(1) != -1 || errno != EPERM)
		return 3;
	if (setgid(1) != -1 || errno != EPERM)
		return 4;
	if (setreuid(-1, -1) != 0)
		return 5;
	if (setresuid(-1, -1, -1) != 0)
		return 6;
	if (setgroups(0, NULL) != -1 || errno != EPERM)
		return 7;
	return 0;
}

CASE(unprivileged_cannot_change_ids)
{
	need_root();
	in_child(unprivileged_setuid_rules);
}

static int setgid_changes_gids(void)
{
	gid_t r, e, s;

	if (setgid(NOBODY) != 0)
		return 1;
	if (getresgid(&r, &e, &s) != 0 || r != NOBODY || e != NOBODY || s != NOBODY)
		return 2;
	return getgid() == NOBODY && getegid() == NOBODY ? 0 : 3;
}

CASE(setgid_as_root)
{
	need_root();
	in_child(setgid_changes_gids);
}

static int setuid_loses_file_access(void)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/secret", h_tmp());
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return 1;
	close(fd);
	if (setuid(NOBODY) != 0)
		return 2;
	if (open(path, O_RDONLY) != -1 || errno != EACCES)
		return 3;
	return 0;
}

CASE(dropped_root_loses_file_access)
{
	need_root();
	/* The case directory must be searchable by the unprivileged user. */
	h_tmp();
	chmod(h_tmp(), 0755);
	chmod(h_root, 0755);
	in_child(setuid_loses_file_access);
}

static int ids_survive_fork(void)
{
	uid_t r, e, s;
	pid_t pid;
	int st;

	if (setresuid(NOBODY, NOBODY, 0) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		if (getresuid(&r, &e, &s) != 0)
			_exit(1);
		_exit(r == NOBODY && e == NOBODY && s == 0 ? 0 : 2);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 9;
}

CASE(credentials_inherited_by_fork)
{
	need_root();
	in_child(ids_survive_fork);
}

CASE(setfsuid_returns_previous)
{
	int prev = setfsuid(-1);

	EXPECT_EQ(prev, geteuid());
	EXPECT_EQ(setfsgid(-1), getegid());
}

CASE(capget_version_and_root_caps)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	ASSERT_OK(syscall(SYS_capget, &hdr, data));
	if (geteuid() == 0)
		EXPECT_NE(data[0].effective, 0);
	hdr.version = 0x12345;
	EXPECT_ERRNO(syscall(SYS_capget, &hdr, data), EINVAL);
	EXPECT_EQ(hdr.version, _LINUX_CAPABILITY_VERSION_3);
}

CASE(proc_status_reports_ids)
{
	char buf[8192], want[128];

	ASSERT_GT(h_read_file("/proc/self/status", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "\nUid:\t%d\t%d\t%d\t%d\n", getuid(), geteuid(), geteuid(), geteuid());
	EXPECT_TRUE(strstr(buf, want) != NULL);
	snprintf(want, sizeof(want), "\nGid:\t%d\t%d\t%d\t%d\n", getgid(), getegid(), getegid(), getegid());
	EXPECT_TRUE(strstr(buf, want) != NULL);
}

HARNESS_MAIN
