/*
 * Ownership: chown, fchown, lchown, fchownat (AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH); -1 arguments, clearing of set-user-ID and set-group-ID
 * bits, unprivileged rules, ctime, errors.
 */
#include "harness.h"

#define NOBODY 65534

static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

static struct stat st_of(const char *path)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (lstat(path, &st) != 0)
		FAILX("lstat: %s", h_errname(errno));
	return st;
}

CASE(chown_as_root_sets_both_ids)
{
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chown(h_path("f"), 1234, 5678));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_uid, 1234);
	EXPECT_EQ(st.st_gid, 5678);
}

CASE(chown_minus_one_keeps_id)
{
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chown(h_path("f"), 1234, 5678));
	ASSERT_OK(chown(h_path("f"), -1, 42));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_uid, 1234);
	EXPECT_EQ(st.st_gid, 42);
	ASSERT_OK(chown(h_path("f"), 7, -1));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_uid, 7);
	EXPECT_EQ(st.st_gid, 42);
}

CASE(chown_clears_setuid_and_group_exec_setgid)
{
	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chmod(h_path("f"), 06755));
	ASSERT_OK(chown(h_path("f"), 1234, 1234));
	EXPECT_EQ(st_of(h_path("f")).st_mode & 07777, 0755);
}

CASE(chown_keeps_setgid_without_group_exec)
{
	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	/* S_ISGID without group exec means mandatory locking: kept */
	ASSERT_OK(chmod(h_path("f"), 02644));
	ASSERT_OK(chown(h_path("f"), 1234, 1234));
	EXPECT_EQ(st_of(h_path("f")).st_mode & 07777, 02644);
}

CASE(chown_minus_one_both_still_clears_setuid)
{
	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chmod(h_path("f"), 04755));
	ASSERT_OK(chown(h_path("f"), -1, -1));
	EXPECT_EQ(st_of(h_path("f")).st_mode & 07777, 0755);
}

CASE(chown_directory_keeps_setgid)
{
	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(chmod(h_path("d"), 02775));
	ASSERT_OK(chown(h_path("d"), 1234, 1234));
	EXPECT_EQ(st_of(h_path("d")).st_mode & 07777, 02775);
}

CASE(lchown_and_fchownat_nofollow_change_link)
{
	struct stat st;
	int dir;

	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(lchown(h_path("l"), 11, 12));
	st = st_of(h_path("l"));
	EXPECT_EQ(st.st_uid, 11);
	EXPECT_EQ(st_of(h_path("f")).st_uid, 0);
	dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(fchownat(dir, "l", 21, 22, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ(st_of(h_path("l")).st_uid, 21);
	ASSERT_OK(fchownat(dir, "l", 31, 32, 0));
	EXPECT_EQ(st_of(h_path("f")).st_uid, 31);
	EXPECT_EQ(st_of(h_path("l")).st_uid, 21);
}

CASE(fchownat_empty_path_and_flags)
{
	int fd;

	if (geteuid() != 0)
		SKIP("needs root");
	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(fchownat(fd, "", 41, 42, AT_EMPTY_PATH));
	EXPECT_EQ(st_of(h_path("f")).st_uid, 41);
	EXPECT_ERRNO(fchownat(fd, "", 1, 1, 0), ENOENT);
	EXPECT_ERRNO(fchownat(AT_FDCWD, h_path("f"), 1, 1, OPAQUE(0x1)), EINVAL);
}

CASE(fchown_and_errors)
{
	int fd, opath;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	opath = ASSERT_OK(open(h_path("f"), O_PATH));
	EXPECT_OK(fchown(fd, -1, -1));
	EXPECT_ERRNO(fchown(999, 0, 0), EBADF);
	EXPECT_ERRNO(fchown(opath, -1, -1), EBADF);
	EXPECT_ERRNO(chown(h_path("missing"), 0, 0), ENOENT);
	EXPECT_ERRNO(chown(BAD_PTR, 0, 0), EFAULT);
	EXPECT_ERRNO(chown(h_path("f/x"), 0, 0), ENOTDIR);
}

CASE(chown_unprivileged_rules)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file(h_path("mine"), "", 0);
	h_write_file(h_path("theirs"), "", 0);
	ASSERT_OK(chown(h_path("mine"), NOBODY, NOBODY));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		/* giving a file away is never allowed */
		if (!(chown(h_path("mine"), 0, -1) == -1 && errno == EPERM))
			_exit(1);
		/* a no-op change of one's own file is */
		if (chown(h_path("mine"), NOBODY, NOBODY) != 0)
			_exit(3);
		/* taking someone else's file is not either */
		if (!(chown(h_path("theirs"), NOBODY, -1) == -1 && errno == EPERM))
			_exit(4);
		/* -1/-1 changes no id: allowed even on someone else's file */
		_exit(chown(h_path("theirs"), -1, -1) == 0 ? 0 : 5);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(chown_updates_ctime_only)
{
	struct stat a, b;
	struct timespec nap = {0, 20000000};

	h_write_file(h_path("f"), "", 0);
	a = st_of(h_path("f"));
	nanosleep(&nap, NULL);
	ASSERT_OK(chown(h_path("f"), -1, -1));
	b = st_of(h_path("f"));
	EXPECT_TRUE(b.st_ctim.tv_sec > a.st_ctim.tv_sec ||
		    (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec > a.st_ctim.tv_nsec));
	EXPECT_EQ(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
}

HARNESS_MAIN
