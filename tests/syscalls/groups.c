/*
 * Supplementary groups: getgroups/setgroups sizes and errors, and the
 * effect of supplementary groups on permission checks and on new files.
 */
#include "harness.h"

#include <grp.h>

#define NOBODY 65534

static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

CASE(setgroups_then_getgroups_exact_size)
{
	gid_t in[3] = {7, 8, 9}, out[3] = {0, 0, 0};

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(setgroups(3, in));
	EXPECT_EQ(getgroups(0, NULL), 3);
	EXPECT_EQ(getgroups(3, out), 3);
	EXPECT_EQ(out[0], 7);
	EXPECT_EQ(out[2], 9);
	EXPECT_ERRNO(getgroups(2, out), EINVAL);
}

CASE(setgroups_empty_list)
{
	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(setgroups(0, NULL));
	EXPECT_EQ(getgroups(0, NULL), 0);
}

CASE(setgroups_errors)
{
	gid_t g[2] = {1, (gid_t)-1};

	if (geteuid() != 0)
		SKIP("needs root");
	EXPECT_ERRNO(syscall(SYS_setgroups, 2, g), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgroups, -1, g), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgroups, 65537, g), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgroups, 1, BAD_PTR), EFAULT);
}

CASE(getgroups_errors)
{
	EXPECT_ERRNO(syscall(SYS_getgroups, -1, NULL), EINVAL);
	if (getgroups(0, NULL) > 0)
		EXPECT_ERRNO(syscall(SYS_getgroups, 64, BAD_PTR), EFAULT);
	else
		EXPECT_EQ(syscall(SYS_getgroups, 64, BAD_PTR), 0);
}

CASE(setgroups_large_list)
{
	static gid_t in[1000], out[1000];

	if (geteuid() != 0)
		SKIP("needs root");
	for (int i = 0; i < 1000; i++)
		in[i] = 1000 - i;
	ASSERT_OK(setgroups(1000, in));
	ASSERT_EQ(getgroups(1000, out), 1000);
	/* the kernel keeps the list sorted */
	EXPECT_EQ(out[0], 1);
	EXPECT_EQ(out[999], 1000);
}

CASE(setgroups_unprivileged_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		gid_t g = NOBODY;

		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(setgroups(1, &g) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(groups_inherited_by_fork)
{
	gid_t g[2] = {11, 12};
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(setgroups(2, g));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		gid_t out[4];

		_exit(getgroups(4, out) == 2 && out[0] == 11 && out[1] == 12 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(supplementary_group_grants_group_access)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("f"), "x", 1, 0640);
	ASSERT_OK(chown(h_path("f"), 0, 4242));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		gid_t g = 4242;

		if (setgroups(1, &g) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(open(h_path("f"), O_RDONLY) >= 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(dropping_group_removes_access)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("f"), "x", 1, 0640);
	ASSERT_OK(chown(h_path("f"), 0, 4242));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(open(h_path("f"), O_RDONLY) == -1 && errno == EACCES ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(chown_to_supplementary_group_by_owner)
{
	pid_t pid;
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chown(h_path("f"), NOBODY, NOBODY));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		gid_t g = 4242;

		if (setgroups(1, &g) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		if (chown(h_path("f"), -1, 4242) != 0)
			_exit(1);
		/* a group the owner is not in */
		_exit(chown(h_path("f"), -1, 4343) == -1 && errno == EPERM ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_gid, 4242);
}

CASE(setgid_directory_passes_group_to_new_files)
{
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root to give the directory another group");
	ASSERT_OK(mkdir(h_path("d"), 0775));
	ASSERT_OK(chown(h_path("d"), -1, 4242));
	ASSERT_OK(chmod(h_path("d"), 02775));
	h_write_file(h_path("d/f"), "", 0);
	ASSERT_OK(mkdir(h_path("d/sub"), 0755));
	ASSERT_OK(stat(h_path("d/f"), &st));
	EXPECT_EQ(st.st_gid, 4242);
	ASSERT_OK(stat(h_path("d/sub"), &st));
	EXPECT_EQ(st.st_gid, 4242);
	EXPECT_EQ(st.st_mode & S_ISGID, S_ISGID);
}

HARNESS_MAIN
