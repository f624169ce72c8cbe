/*
 * Flushing: fsync, fdatasync, sync, syncfs, sync_file_range on the kinds of
 * descriptors they accept and refuse.
 */
#include "harness.h"

static int file(void)
{
	int fd;

	h_write_file(h_path("f"), "data", 4);
	fd = open(h_path("f"), O_RDWR);
	if (fd < 0)
		FAILX("open: %s", h_errname(errno));
	return fd;
}

CASE(fsync_regular_file_and_directory)
{
	int fd = file();
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int ro = ASSERT_OK(open(h_path("f"), O_RDONLY));

	EXPECT_OK(fsync(fd));
	EXPECT_OK(fdatasync(fd));
	EXPECT_OK(fsync(dir));
	/* a read-only descriptor may be synced too */
	EXPECT_OK(fsync(ro));
}

CASE(fsync_pipe_einval)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(fsync(p[0]), EINVAL);
	EXPECT_ERRNO(fdatasync(p[1]), EINVAL);
}

CASE(fsync_bad_fd_ebadf)
{
	EXPECT_ERRNO(fsync(999), EBADF);
	EXPECT_ERRNO(fdatasync(-1), EBADF);
}

CASE(fsync_dev_null)
{
	int fd = ASSERT_OK(open("/dev/null", O_WRONLY));

	EXPECT_ERRNO(fsync(fd), EINVAL);
}

CASE(sync_returns)
{
	sync();
	EXPECT_OK(syscall(SYS_sync));
}

CASE(syncfs_file_and_errors)
{
	int fd = file();
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_OK(syncfs(fd));
	EXPECT_ERRNO(syncfs(999), EBADF);
	/* any fd names a filesystem, even a pipe's */
	EXPECT_OK(syncfs(p[0]));
}

CASE(sync_file_range_flags)
{
	int fd = file();

	EXPECT_OK(sync_file_range(fd, 0, 0, 0));
	EXPECT_OK(sync_file_range(fd, 0, 4, SYNC_FILE_RANGE_WRITE));
	EXPECT_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						   SYNC_FILE_RANGE_WAIT_AFTER));
	EXPECT_ERRNO(sync_file_range(fd, 0, 0, OPAQUE(8)), EINVAL);
	EXPECT_ERRNO(sync_file_range(fd, -1, 0, 0), EINVAL);
	EXPECT_ERRNO(sync_file_range(fd, 0, -1, 0), EINVAL);
}

CASE(sync_file_range_fd_kinds)
{
	int p[2];
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(sync_file_range(p[1], 0, 0, 0), ESPIPE);
	EXPECT_ERRNO(sync_file_range(999, 0, 0, 0), EBADF);
	EXPECT_OK(sync_file_range(dir, 0, 0, 0));
}

CASE(fsync_o_path_ebadf)
{
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_PATH));
	EXPECT_ERRNO(fsync(fd), EBADF);
	EXPECT_ERRNO(syncfs(fd), EBADF);
}

HARNESS_MAIN
