/*
 * Extended attributes in the user namespace: setxattr, getxattr,
 * listxattr, removexattr and their l- and f- forms; flags, size queries,
 * ERANGE, namespaces, errors.
 */
#include "harness.h"

#include <sys/xattr.h>

/* Makes the case dir reachable for the unprivileged user. */
static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

static const char *file(void)
{
	const char *p = h_path("f");

	h_write_file(p, "data", 4);
	return p;
}

CASE(xattr_set_then_get)
{
	const char *f = file();
	char buf[16];

	ASSERT_OK(setxattr(f, "user.k", "value", 5, 0));
	EXPECT_EQ(getxattr(f, "user.k", buf, sizeof(buf)), 5);
	EXPECT_MEMEQ(buf, "value", 5);
}

CASE(xattr_size_query_and_erange)
{
	const char *f = file();
	char buf[2];

	ASSERT_OK(setxattr(f, "user.k", "value", 5, 0));
	EXPECT_EQ(getxattr(f, "user.k", NULL, 0), 5);
	EXPECT_ERRNO(getxattr(f, "user.k", buf, sizeof(buf)), ERANGE);
}

CASE(xattr_create_and_replace_flags)
{
	const char *f = file();
	char buf[8];

	EXPECT_ERRNO(setxattr(f, "user.k", "a", 1, XATTR_REPLACE), ENODATA);
	ASSERT_OK(setxattr(f, "user.k", "a", 1, XATTR_CREATE));
	EXPECT_ERRNO(setxattr(f, "user.k", "b", 1, XATTR_CREATE), EEXIST);
	ASSERT_OK(setxattr(f, "user.k", "cc", 2, XATTR_REPLACE));
	EXPECT_EQ(getxattr(f, "user.k", buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "cc", 2);
	EXPECT_ERRNO(setxattr(f, "user.k", "a", 1, OPAQUE(4)), EINVAL);
}

CASE(xattr_empty_value)
{
	const char *f = file();
	char buf[4];

	ASSERT_OK(setxattr(f, "user.empty", "", 0, 0));
	EXPECT_EQ(getxattr(f, "user.empty", buf, sizeof(buf)), 0);
}

CASE(xattr_list_names)
{
	const char *f = file();
	char buf[256];
	ssize_t n;
	int seen_a = 0, seen_b = 0;

	ASSERT_OK(setxattr(f, "user.a", "1", 1, 0));
	ASSERT_OK(setxattr(f, "user.bb", "2", 1, 0));
	n = listxattr(f, NULL, 0);
	EXPECT_GE(n, (ssize_t)(sizeof("user.a") + sizeof("user.bb")));
	n = ASSERT_OK(listxattr(f, buf, sizeof(buf)));
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		seen_a |= strcmp(p, "user.a") == 0;
		seen_b |= strcmp(p, "user.bb") == 0;
	}
	EXPECT_TRUE(seen_a && seen_b);
	EXPECT_ERRNO(listxattr(f, buf, 3), ERANGE);
}

CASE(xattr_remove)
{
	const char *f = file();

	ASSERT_OK(setxattr(f, "user.k", "v", 1, 0));
	ASSERT_OK(removexattr(f, "user.k"));
	EXPECT_ERRNO(getxattr(f, "user.k", NULL, 0), ENODATA);
	EXPECT_ERRNO(removexattr(f, "user.k"), ENODATA);
}

CASE(xattr_fd_forms)
{
	const char *f = file();
	int fd = ASSERT_OK(open(f, O_RDONLY));
	char buf[8];

	ASSERT_OK(fsetxattr(fd, "user.k", "fd", 2, 0));
	EXPECT_EQ(fgetxattr(fd, "user.k", buf, sizeof(buf)), 2);
	EXPECT_EQ(getxattr(f, "user.k", buf, sizeof(buf)), 2);
	EXPECT_GE(flistxattr(fd, buf, sizeof(buf)), (ssize_t)sizeof("user.k"));
	ASSERT_OK(fremovexattr(fd, "user.k"));
	EXPECT_ERRNO(fgetxattr(fd, "user.k", buf, sizeof(buf)), ENODATA);
	EXPECT_ERRNO(fgetxattr(999, "user.k", buf, sizeof(buf)), EBADF);
}

CASE(xattr_name_errors)
{
	const char *f = file();
	char longname[300];

	EXPECT_ERRNO(setxattr(f, "nonamespace", "v", 1, 0), EOPNOTSUPP);
	EXPECT_ERRNO(getxattr(f, "bogus.k", NULL, 0), EOPNOTSUPP);
	EXPECT_ERRNO(setxattr(f, "", "v", 1, 0), ERANGE);
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "user.", 5);
	longname[sizeof(longname) - 1] = 0;
	EXPECT_ERRNO(setxattr(f, longname, "v", 1, 0), ERANGE);
	EXPECT_ERRNO(setxattr(f, BAD_PTR, "v", 1, 0), EFAULT);
	EXPECT_ERRNO(setxattr(f, "user.k", BAD_PTR, 1, 0), EFAULT);
}

CASE(xattr_value_too_large_e2big)
{
	const char *f = file();
	static char big[65537];

	EXPECT_ERRNO(setxattr(f, "user.k", big, sizeof(big), 0), E2BIG);
}

CASE(xattr_path_errors)
{
	char buf[4];

	EXPECT_ERRNO(getxattr(h_path("missing"), "user.k", buf, sizeof(buf)), ENOENT);
	EXPECT_ERRNO(setxattr(h_path("missing"), "user.k", "v", 1, 0), ENOENT);
	EXPECT_ERRNO(listxattr(BAD_PTR, buf, sizeof(buf)), EFAULT);
}

CASE(xattr_user_namespace_on_symlink_eperm)
{
	const char *f = file();
	char buf[8];

	ASSERT_OK(symlink(f, h_path("l")));
	EXPECT_ERRNO(lsetxattr(h_path("l"), "user.k", "v", 1, 0), EPERM);
	/* the non-l form follows the link */
	ASSERT_OK(setxattr(h_path("l"), "user.k", "v", 1, 0));
	EXPECT_EQ(getxattr(f, "user.k", buf, sizeof(buf)), 1);
	EXPECT_ERRNO(lgetxattr(h_path("l"), "user.k", buf, sizeof(buf)), ENODATA);
}

CASE(xattr_on_directory)
{
	char buf[8];

	ASSERT_OK(setxattr(h_tmp(), "user.dir", "d", 1, 0));
	EXPECT_EQ(getxattr(h_tmp(), "user.dir", buf, sizeof(buf)), 1);
}

CASE(xattr_unprivileged_needs_write_permission)
{
	const char *f = file();
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	ASSERT_OK(chmod(f, 0644));
	ASSERT_OK(setxattr(f, "user.k", "v", 1, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char buf[4];

		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (getxattr(f, "user.k", buf, sizeof(buf)) != 1)
			_exit(3);
		_exit(setxattr(f, "user.k", "w", 1, 0) == -1 && errno == EACCES ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/*
 * xattr(7): trusted.* is for CAP_SYS_ADMIN: another user neither reads
 * (ENODATA), lists nor writes (EPERM) it, even on a file it owns.
 */
CASE(xattr_trusted_namespace_needs_cap_sys_admin)
{
	const char *f = file();
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	ASSERT_OK(chmod(f, 0666));
	ASSERT_OK(setxattr(f, "trusted.k", "t", 1, 0));
	ASSERT_OK(setxattr(f, "user.k", "u", 1, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char buf[256];
		ssize_t n;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (!(getxattr(f, "trusted.k", buf, sizeof(buf)) == -1 && errno == ENODATA))
			_exit(3);
		n = listxattr(f, buf, sizeof(buf));
		if (n != (ssize_t)sizeof("user.k") || strcmp(buf, "user.k") != 0)
			_exit(4);
		_exit(setxattr(f, "trusted.x", "v", 1, 0) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/* On a sticky directory only its owner (or CAP_FOWNER) may write user.*. */
CASE(xattr_sticky_directory_owner_only)
{
	const char *d = h_path("sticky");
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	ASSERT_OK(mkdir(d, 01777));
	ASSERT_OK(chmod(d, 01777));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(setxattr(d, "user.k", "v", 1, 0) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(setxattr(d, "user.k", "v", 1, 0));
}

CASE(xattr_fsetxattr_on_o_path_ebadf)
{
	const char *f = file();
	int fd = ASSERT_OK(open(f, O_PATH));

	EXPECT_ERRNO(fsetxattr(fd, "user.k", "v", 1, 0), EBADF);
}

HARNESS_MAIN
