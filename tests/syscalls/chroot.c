/*
 * chroot(2): the new root for path lookups, ".." at the root, the cwd left
 * outside, inheritance by fork, permission and path errors. Each case
 * runs in its own process, so the host's root is never affected.
 */
#include "harness.h"

static void jail(void)
{
	ASSERT_OK(mkdir(h_path("jail"), 0755));
	ASSERT_OK(mkdir(h_path("jail/sub"), 0755));
	h_write_file(h_path("jail/inside"), "in", 2);
	h_write_file(h_path("outside"), "out", 3);
}

CASE(chroot_changes_absolute_lookups)
{
	char buf[8];

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chdir("/"));
	EXPECT_EQ(h_read_file("/inside", buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "in");
	EXPECT_ERRNO(access("/outside", F_OK), ENOENT);
}

CASE(chroot_dotdot_at_new_root_stays)
{
	struct stat a, b;

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chdir("/sub"));
	ASSERT_OK(stat("/", &a));
	ASSERT_OK(stat("../../..", &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
	EXPECT_OK(access("../../inside", F_OK));
}

CASE(chroot_getcwd_inside)
{
	char buf[256];

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chdir("/sub"));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	EXPECT_STREQ(buf, "/sub");
}

CASE(chroot_leaves_cwd_outside)
{
	char buf[8], big[1024];

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chdir(h_tmp()));
	ASSERT_OK(chroot(h_path("jail")));
	/* the cwd is still outside the new root: relative lookups see it */
	EXPECT_EQ(h_read_file("outside", buf, sizeof(buf)), 3);
	/* and the kernel's getcwd marks it as outside the root */
	ASSERT_GT(syscall(SYS_getcwd, big, sizeof(big)), 0);
	EXPECT_EQ(strncmp(big, "(unreachable)/", 14), 0);
}

CASE(chroot_inherited_by_fork)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chroot(h_path("jail")));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(access("/inside", F_OK) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(chroot_errors)
{
	if (geteuid() != 0)
		SKIP("EPERM comes first for other users");
	jail();
	EXPECT_ERRNO(chroot(h_path("outside")), ENOTDIR);
	EXPECT_ERRNO(chroot(h_path("missing")), ENOENT);
	EXPECT_ERRNO(chroot(BAD_PTR), EFAULT);
	EXPECT_ERRNO(chroot(""), ENOENT);
}

CASE(chroot_unprivileged_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(chroot("/") == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
