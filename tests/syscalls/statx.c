/*
 * statx(2) in depth: masks and flags, AT_EMPTY_PATH, symlinks, agreement
 * with fstat, timestamps, errors. (stat.c has the basic cases.)
 */
#include "harness.h"

#include <sys/sysmacros.h>

static int do_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	return syscall(SYS_statx, dirfd, path, flags, mask, sx);
}

CASE(statx_matches_fstat)
{
	struct statx sx;
	struct stat st;
	int fd;

	h_write_file(h_path("f"), "hello", 5);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(fstat(fd, &st));
	ASSERT_OK(do_statx(AT_FDCWD, h_path("f"), 0, STATX_BASIC_STATS, &sx));
	EXPECT_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	EXPECT_EQ(sx.stx_size, 5);
	EXPECT_EQ(sx.stx_mode, st.st_mode);
	EXPECT_SAME(sx.stx_ino, st.st_ino);
	EXPECT_EQ(sx.stx_nlink, 1);
	EXPECT_EQ(sx.stx_uid, st.st_uid);
	EXPECT_EQ(sx.stx_gid, st.st_gid);
	EXPECT_EQ(sx.stx_blocks, st.st_blocks);
	EXPECT_EQ(sx.stx_blksize, st.st_blksize);
	EXPECT_SAME(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
	EXPECT_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
	EXPECT_EQ(sx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
	EXPECT_EQ(sx.stx_atime.tv_nsec, st.st_atim.tv_nsec);
}

CASE(statx_empty_path_on_fd)
{
	struct statx sx;
	int fd;

	h_write_file(h_path("f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(do_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
	EXPECT_EQ(sx.stx_size, 3);
	EXPECT_ERRNO(do_statx(fd, "", 0, STATX_SIZE, &sx), ENOENT);
}

CASE(statx_empty_path_on_o_path_fd)
{
	struct statx sx;
	int fd;

	h_write_file(h_path("f"), "abcd", 4);
	fd = ASSERT_OK(open(h_path("f"), O_PATH));
	ASSERT_OK(do_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
	EXPECT_EQ(sx.stx_size, 4);
}

CASE(statx_symlink_follow_and_nofollow)
{
	struct statx sx;

	h_write_file(h_path("f"), "abc", 3);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(do_statx(AT_FDCWD, h_path("l"), 0, STATX_BASIC_STATS, &sx));
	EXPECT_TRUE(S_ISREG(sx.stx_mode));
	EXPECT_EQ(sx.stx_size, 3);
	ASSERT_OK(do_statx(AT_FDCWD, h_path("l"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
	EXPECT_TRUE(S_ISLNK(sx.stx_mode));
	EXPECT_EQ(sx.stx_size, 1);
}

CASE(statx_relative_to_dirfd)
{
	struct statx sx;
	int dir;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "xy", 2);
	dir = ASSERT_OK(open(h_path("d"), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(do_statx(dir, "f", 0, STATX_SIZE, &sx));
	EXPECT_EQ(sx.stx_size, 2);
	ASSERT_OK(do_statx(dir, "", AT_EMPTY_PATH, STATX_TYPE, &sx));
	EXPECT_TRUE(S_ISDIR(sx.stx_mode));
	EXPECT_EQ(sx.stx_nlink, 2);
}

CASE(statx_directory_and_devices)
{
	struct statx sx;

	ASSERT_OK(do_statx(AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &sx));
	EXPECT_TRUE(S_ISCHR(sx.stx_mode));
	EXPECT_EQ(sx.stx_rdev_major, 1);
	EXPECT_EQ(sx.stx_rdev_minor, 3);
	ASSERT_OK(do_statx(AT_FDCWD, h_tmp(), 0, STATX_BASIC_STATS, &sx));
	EXPECT_TRUE(S_ISDIR(sx.stx_mode));
	EXPECT_EQ(sx.stx_rdev_major, 0);
}

CASE(statx_flag_errors)
{
	struct statx sx;

	EXPECT_ERRNO(do_statx(AT_FDCWD, "/", OPAQUE(0x80000000), STATX_BASIC_STATS, &sx), EINVAL);
	EXPECT_ERRNO(do_statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
			      STATX_BASIC_STATS, &sx),
		     EINVAL);
	EXPECT_ERRNO(do_statx(AT_FDCWD, "/", 0, OPAQUE(0x80000000u), &sx), EINVAL);
}

CASE(statx_sync_flags_accepted)
{
	struct statx sx;

	EXPECT_OK(do_statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx));
	EXPECT_OK(do_statx(AT_FDCWD, "/", AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx));
	EXPECT_OK(do_statx(AT_FDCWD, "/", AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx));
}

CASE(statx_path_errors)
{
	struct statx sx;
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	EXPECT_ERRNO(do_statx(AT_FDCWD, h_path("missing"), 0, STATX_BASIC_STATS, &sx), ENOENT);
	EXPECT_ERRNO(do_statx(AT_FDCWD, h_path("f/x"), 0, STATX_BASIC_STATS, &sx), ENOTDIR);
	EXPECT_ERRNO(do_statx(fd, "x", 0, STATX_BASIC_STATS, &sx), ENOTDIR);
	EXPECT_ERRNO(do_statx(999, "x", 0, STATX_BASIC_STATS, &sx), EBADF);
	EXPECT_ERRNO(do_statx(AT_FDCWD, BAD_PTR, 0, STATX_BASIC_STATS, &sx), EFAULT);
	EXPECT_ERRNO(do_statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, BAD_PTR), EFAULT);
}

CASE(statx_zero_mask_still_fills_basics)
{
	struct statx sx;

	memset(&sx, 0xff, sizeof(sx));
	h_write_file(h_path("f"), "abc", 3);
	ASSERT_OK(do_statx(AT_FDCWD, h_path("f"), 0, 0, &sx));
	EXPECT_EQ(sx.stx_size, 3);
	EXPECT_TRUE(S_ISREG(sx.stx_mode));
	EXPECT_EQ(sx.__spare0[0], 0);
}

CASE(statx_mtime_follows_writes_and_utimensat)
{
	struct statx sx;
	struct timespec t[2] = {{1234, 500}, {5678, 900}};

	h_write_file(h_path("f"), "abc", 3);
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), t, 0));
	ASSERT_OK(do_statx(AT_FDCWD, h_path("f"), 0, STATX_ATIME | STATX_MTIME, &sx));
	EXPECT_EQ(sx.stx_atime.tv_sec, 1234);
	EXPECT_EQ(sx.stx_atime.tv_nsec, 500);
	EXPECT_EQ(sx.stx_mtime.tv_sec, 5678);
	EXPECT_EQ(sx.stx_mtime.tv_nsec, 900);
}

CASE(statx_btime_is_not_before_ctime_epoch)
{
	struct statx sx;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(do_statx(AT_FDCWD, h_path("f"), 0, STATX_ALL, &sx));
	if (sx.stx_mask & STATX_BTIME)
		EXPECT_LE(sx.stx_btime.tv_sec, sx.stx_ctime.tv_sec);
	EXPECT_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
}

CASE(statx_pipe_through_empty_path)
{
	struct statx sx;
	int p[2];

	ASSERT_OK(pipe(p));
	ASSERT_OK(do_statx(p[0], "", AT_EMPTY_PATH, STATX_TYPE, &sx));
	EXPECT_TRUE(S_ISFIFO(sx.stx_mode));
}

HARNESS_MAIN
