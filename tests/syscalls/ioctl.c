/*
 * Generic ioctls on ordinary descriptors (no terminals): FIOCLEX,
 * FIONCLEX, FIONBIO, FIOASYNC, FIONREAD and FIOQSIZE on files, FIGETBSZ,
 * and ENOTTY/EBADF/EFAULT for the rest.
 */
#include "harness.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <termios.h>

static int file_with(const char *data)
{
	int fd;

	h_write_file(h_path("f"), data, strlen(data));
	fd = open(h_path("f"), O_RDWR);
	if (fd < 0)
		FAILX("open: %s", h_errname(errno));
	return fd;
}

CASE(fioclex_and_fionclex)
{
	int fd = file_with("");

	ASSERT_OK(ioctl(fd, FIOCLEX));
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	ASSERT_OK(ioctl(fd, FIONCLEX));
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

CASE(fionbio_sets_and_clears_nonblock)
{
	int p[2], on = 1, off = 0;
	char c;

	ASSERT_OK(pipe(p));
	ASSERT_OK(ioctl(p[0], FIONBIO, &on));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
	ASSERT_OK(ioctl(p[0], FIONBIO, &off));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	EXPECT_ERRNO(ioctl(p[0], FIONBIO, BAD_PTR), EFAULT);
}

CASE(fioasync_sets_o_async)
{
	int p[2], on = 1, off = 0;

	ASSERT_OK(pipe(p));
	ASSERT_OK(ioctl(p[0], FIOASYNC, &on));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_ASYNC, O_ASYNC);
	ASSERT_OK(ioctl(p[0], FIOASYNC, &off));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_ASYNC, 0);
	EXPECT_ERRNO(ioctl(p[0], FIOASYNC, BAD_PTR), EFAULT);
}

/*
 * A regular file has no fasync method: FIOASYNC is ENOTTY, and F_SETFL
 * succeeds but leaves O_ASYNC off (fcntl's setfl() lets ->fasync set it).
 */
CASE(fioasync_on_regular_file_enotty)
{
	int fd = file_with("x");
	int p[2], on = 1;

	EXPECT_ERRNO(ioctl(fd, FIOASYNC, &on), ENOTTY);
	ASSERT_OK(fcntl(fd, F_SETFL, O_ASYNC));
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_ASYNC, 0);
	ASSERT_OK(pipe(p));
	ASSERT_OK(fcntl(p[1], F_SETFL, O_ASYNC));
	EXPECT_EQ(fcntl(p[1], F_GETFL) & O_ASYNC, O_ASYNC);
}

CASE(fionread_on_regular_file_counts_rest)
{
	int fd = file_with("0123456789");
	int n = -1;

	ASSERT_OK(ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(n, 10);
	ASSERT_EQ(lseek(fd, 4, SEEK_SET), 4);
	ASSERT_OK(ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(n, 6);
	EXPECT_ERRNO(ioctl(fd, FIONREAD, BAD_PTR), EFAULT);
}

CASE(fioqsize_reports_allocated_bytes)
{
	int fd = file_with("abcdef");
	loff_t sz = -1;
	struct stat st;

	ASSERT_OK(fsync(fd));
	ASSERT_OK(ioctl(fd, FIOQSIZE, &sz));
	ASSERT_OK(fstat(fd, &st));
	/* the bytes in use (st_blocks), not st_size */
	EXPECT_EQ(sz, st.st_blocks * 512);
}

CASE(figetbsz_matches_st_blksize)
{
	int fd = file_with("x");
	int bsz = -1;
	struct stat st;

	ASSERT_OK(fstat(fd, &st));
	ASSERT_OK(ioctl(fd, FIGETBSZ, &bsz));
	EXPECT_GT(bsz, 0);
	EXPECT_EQ(bsz & (bsz - 1), 0);
	EXPECT_EQ(bsz, st.st_blksize);
}

CASE(terminal_ioctls_on_non_tty_enotty)
{
	int fd = file_with("x");
	int p[2];
	struct termios t;
	struct winsize ws;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(ioctl(fd, TCGETS, &t), ENOTTY);
	EXPECT_ERRNO(ioctl(p[0], TCGETS, &t), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
	EXPECT_ERRNO(ioctl(p[1], TIOCGWINSZ, &ws), ENOTTY);
	EXPECT_EQ(isatty(fd), 0);
	EXPECT_EQ(errno, ENOTTY);
}

CASE(unknown_ioctl_enotty)
{
	int fd = file_with("x");
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(ioctl(fd, 0x7a7a7a7a, 0), ENOTTY);
	EXPECT_ERRNO(ioctl(p[0], 0x7a7a7a7a, 0), ENOTTY);
}

CASE(ioctl_bad_fd_ebadf)
{
	int n;
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_PATH));
	EXPECT_ERRNO(ioctl(999, FIONREAD, &n), EBADF);
	EXPECT_ERRNO(ioctl(-1, FIOCLEX), EBADF);
	/* O_PATH descriptors take no ioctls at all */
	EXPECT_ERRNO(ioctl(fd, FIOCLEX), EBADF);
}

CASE(fionread_on_pipe_and_dev_null)
{
	int p[2], n = -1;
	int null = ASSERT_OK(open("/dev/null", O_RDONLY));

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_EQ(n, 3);
	EXPECT_ERRNO(ioctl(null, FIONREAD, &n), ENOTTY);
}

CASE(fionread_on_directory)
{
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int n = -1;

	EXPECT_ERRNO(ioctl(dir, FIONREAD, &n), ENOTTY);
}

HARNESS_MAIN
