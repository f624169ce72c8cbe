/*
 * File sizes: fallocate (modes, errors), truncate and ftruncate edge cases.
 */
#include "harness.h"

#include <linux/falloc.h>

/* Makes the case dir reachable for the unprivileged user. */
static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

static int fresh(const char *name, const char *data)
{
	int fd;

	h_write_file(h_path(name), data, strlen(data));
	fd = open(h_path(name), O_RDWR);
	if (fd < 0)
		FAILX("open: %s", h_errname(errno));
	return fd;
}

static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

CASE(fallocate_extends_size_with_zeros)
{
	int fd = fresh("f", "ab");
	char buf[8];

	ASSERT_OK(fallocate(fd, 0, 0, 8));
	EXPECT_EQ(size_of(fd), 8);
	EXPECT_EQ(pread(fd, buf, 8, 0), 8);
	EXPECT_MEMEQ(buf, "ab\0\0\0\0\0\0", 8);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
}

CASE(fallocate_inside_file_keeps_size_and_data)
{
	int fd = fresh("f", "abcdef");
	char buf[8];

	ASSERT_OK(fallocate(fd, 0, 1, 2));
	EXPECT_EQ(size_of(fd), 6);
	EXPECT_EQ(pread(fd, buf, 8, 0), 6);
	EXPECT_MEMEQ(buf, "abcdef", 6);
}

CASE(fallocate_keep_size)
{
	int fd = fresh("f", "ab");
	struct stat st;

	ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 2);
	EXPECT_GE(st.st_blocks * 512, 1 << 20);
}

CASE(fallocate_punch_hole_zeroes_range)
{
	int fd = fresh("f", "");
	char buf[8192];

	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(write(fd, buf, sizeof(buf)), sizeof(buf));
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200));
	EXPECT_EQ(size_of(fd), 8192);
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), 8192);
	EXPECT_EQ(buf[99], 'x');
	EXPECT_EQ(buf[100], 0);
	EXPECT_EQ(buf[299], 0);
	EXPECT_EQ(buf[300], 'x');
}

CASE(fallocate_punch_hole_needs_keep_size)
{
	int fd = fresh("f", "abc");

	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1), EOPNOTSUPP);
}

CASE(fallocate_errors)
{
	int fd = fresh("f", "abc");
	int ro = ASSERT_OK(open(h_path("f"), O_RDONLY));
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, -1, 1), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, -1), EINVAL);
	EXPECT_ERRNO(fallocate(ro, 0, 0, 1), EBADF);
	EXPECT_ERRNO(fallocate(999, 0, 0, 1), EBADF);
	EXPECT_ERRNO(fallocate(p[1], 0, 0, 1), ESPIPE);
	EXPECT_ERRNO(fallocate(dir, 0, 0, 1), EBADF);
	EXPECT_ERRNO(fallocate(fd, OPAQUE(0x4000), 0, 1), EOPNOTSUPP);
}

CASE(fallocate_append_only_fd)
{
	int fd;

	h_write_file(h_path("f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_APPEND));
	EXPECT_OK(fallocate(fd, 0, 0, 16));
	EXPECT_EQ(size_of(fd), 16);
}

CASE(truncate_grows_and_shrinks_by_path)
{
	int fd = fresh("f", "abcdef");
	char buf[16];

	ASSERT_OK(truncate(h_path("f"), 3));
	EXPECT_EQ(size_of(fd), 3);
	ASSERT_OK(truncate(h_path("f"), 10));
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 10);
	EXPECT_MEMEQ(buf, "abc\0\0\0\0\0\0\0", 10);
}

CASE(truncate_errors)
{
	h_write_file(h_path("f"), "abc", 3);
	EXPECT_ERRNO(truncate(h_path("f"), -1), EINVAL);
	EXPECT_ERRNO(truncate(h_tmp(), 0), EISDIR);
	EXPECT_ERRNO(truncate(h_path("missing"), 0), ENOENT);
	EXPECT_ERRNO(truncate(h_path("f/x"), 0), ENOTDIR);
	EXPECT_ERRNO(truncate(BAD_PTR, 0), EFAULT);
	EXPECT_ERRNO(truncate("", 0), ENOENT);
}

CASE(ftruncate_fd_kinds)
{
	int ro, dir, p[2];

	h_write_file(h_path("f"), "abc", 3);
	ro = ASSERT_OK(open(h_path("f"), O_RDONLY));
	dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(ftruncate(ro, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(dir, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(p[1], 0), EINVAL);
	EXPECT_ERRNO(ftruncate(999, 0), EBADF);
}

CASE(truncate_unprivileged_needs_write_permission)
{
	pid_t pid;

	h_write_file_mode(h_path("f"), "abc", 3, 0644);
	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(truncate(h_path("f"), 0) == -1 && errno == EACCES ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(truncate_shrink_then_read_past_end)
{
	int fd = fresh("f", "abcdef");
	char c;

	ASSERT_EQ(lseek(fd, 5, SEEK_SET), 5);
	ASSERT_OK(ftruncate(fd, 2));
	EXPECT_EQ(read(fd, &c, 1), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
	EXPECT_EQ(write(fd, "z", 1), 1);
	EXPECT_EQ(size_of(fd), 6);
}

CASE(ftruncate_updates_mtime_and_ctime)
{
	int fd = fresh("f", "abc");
	struct stat a, b;
	struct timespec old[2] = {{1000, 0}, {1000, 0}};

	ASSERT_OK(futimens(fd, old));
	ASSERT_OK(fstat(fd, &a));
	ASSERT_OK(ftruncate(fd, 1));
	ASSERT_OK(fstat(fd, &b));
	EXPECT_GT(b.st_mtim.tv_sec, 1000);
	EXPECT_GE(b.st_ctim.tv_sec, a.st_ctim.tv_sec);
}

HARNESS_MAIN
