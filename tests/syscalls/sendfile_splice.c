/*
 * In-kernel copies: sendfile, splice, tee, copy_file_range; offsets,
 * pipe ends, errors.
 */
#include "harness.h"

#include <sys/sendfile.h>

static int file_with(const char *name, const char *data)
{
	int fd;

	h_write_file(h_path(name), data, strlen(data));
	fd = open(h_path(name), O_RDWR);
	if (fd < 0)
		FAILX("open: %s", h_errname(errno));
	return fd;
}

CASE(sendfile_file_to_file_advances_offset)
{
	int in = file_with("in", "0123456789");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	char buf[16];

	ASSERT_EQ(lseek(in, 2, SEEK_SET), 2);
	EXPECT_EQ(sendfile(out, in, NULL, 5), 5);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 7);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 5);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "23456", 5);
}

CASE(sendfile_with_offset_keeps_file_position)
{
	int in = file_with("in", "0123456789");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	off_t off = 6;
	char buf[16];

	EXPECT_EQ(sendfile(out, in, &off, 100), 4);
	EXPECT_EQ(off, 10);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 0);
	EXPECT_EQ(sendfile(out, in, &off, 100), 0);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 4);
	EXPECT_MEMEQ(buf, "6789", 4);
}

CASE(sendfile_to_pipe)
{
	int in = file_with("in", "abcdef");
	int p[2];
	char buf[8];

	ASSERT_OK(pipe(p));
	ASSERT_EQ(sendfile(p[1], in, NULL, 6), 6);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 6);
	EXPECT_MEMEQ(buf, "abcdef", 6);
}

CASE(sendfile_errors)
{
	int in = file_with("in", "abc");
	int ro = ASSERT_OK(open(h_path("in"), O_RDONLY));
	int wo = ASSERT_OK(open(h_path("in"), O_WRONLY));
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	off_t off = -1;

	EXPECT_ERRNO(sendfile(out, 999, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(999, in, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(out, wo, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(ro, in, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(out, in, &off, 1), EINVAL);
	EXPECT_ERRNO(sendfile(out, in, BAD_PTR, 1), EFAULT);
}

CASE(sendfile_append_output_einval)
{
	int in = file_with("in", "abc");
	int out = ASSERT_OK(open(h_path("out"), O_WRONLY | O_CREAT | O_APPEND, 0600));

	EXPECT_ERRNO(sendfile(out, in, NULL, 3), EINVAL);
}

CASE(splice_file_to_pipe_and_back)
{
	int in = file_with("in", "hello world");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	int p[2];
	loff_t off = 6;
	char buf[16];

	ASSERT_OK(pipe(p));
	ASSERT_EQ(splice(in, &off, p[1], NULL, 5, 0), 5);
	EXPECT_EQ(off, 11);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 0);
	EXPECT_EQ(splice(p[0], NULL, out, NULL, 5, 0), 5);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 5);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "world", 5);
}

CASE(splice_pipe_to_pipe)
{
	int a[2], b[2];
	char buf[8];

	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	ASSERT_EQ(write(a[1], "xyz", 3), 3);
	ASSERT_EQ(splice(a[0], NULL, b[1], NULL, 10, 0), 3);
	EXPECT_EQ(read(b[0], buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "xyz", 3);
}

CASE(splice_errors)
{
	int in = file_with("in", "abc");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	int p[2];
	loff_t off = 0;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(splice(in, NULL, out, NULL, 3, 0), EINVAL);
	EXPECT_ERRNO(splice(p[0], &off, out, NULL, 3, 0), ESPIPE);
	EXPECT_ERRNO(splice(999, NULL, p[1], NULL, 3, 0), EBADF);
	EXPECT_ERRNO(splice(p[1], NULL, out, NULL, 3, 0), EBADF);
	EXPECT_ERRNO(splice(in, NULL, p[1], NULL, 3, OPAQUE(0x100)), EINVAL);
}

CASE(splice_empty_pipe_nonblock_eagain)
{
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(splice(p[0], NULL, out, NULL, 3, SPLICE_F_NONBLOCK), EAGAIN);
	close(p[1]);
	EXPECT_EQ(splice(p[0], NULL, out, NULL, 3, 0), 0);
}

CASE(tee_duplicates_without_consuming)
{
	int a[2], b[2];
	char buf[8];

	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	ASSERT_EQ(write(a[1], "dup", 3), 3);
	ASSERT_EQ(tee(a[0], b[1], 10, 0), 3);
	EXPECT_EQ(read(b[0], buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "dup", 3);
	EXPECT_EQ(read(a[0], buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "dup", 3);
}

CASE(tee_errors)
{
	int in = file_with("in", "abc");
	int a[2];

	ASSERT_OK(pipe(a));
	EXPECT_ERRNO(tee(in, a[1], 3, 0), EINVAL);
	EXPECT_ERRNO(tee(a[0], a[1], 3, 0), EINVAL);
	EXPECT_ERRNO(tee(999, a[1], 3, 0), EBADF);
}

CASE(copy_file_range_copies_and_advances)
{
	int in = file_with("in", "0123456789");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	char buf[16];

	ASSERT_EQ(lseek(in, 3, SEEK_SET), 3);
	EXPECT_EQ(copy_file_range(in, NULL, out, NULL, 4, 0), 4);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 7);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 4);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 4);
	EXPECT_MEMEQ(buf, "3456", 4);
}

CASE(copy_file_range_with_offsets)
{
	int in = file_with("in", "abcdefgh");
	int out = file_with("out", "........");
	loff_t ioff = 4, ooff = 2;
	char buf[16];

	EXPECT_EQ(copy_file_range(in, &ioff, out, &ooff, 100, 0), 4);
	EXPECT_EQ(ioff, 8);
	EXPECT_EQ(ooff, 6);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 0);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 8);
	EXPECT_MEMEQ(buf, "..efgh..", 8);
	EXPECT_EQ(copy_file_range(in, &ioff, out, &ooff, 100, 0), 0);
}

CASE(copy_file_range_errors)
{
	int in = file_with("in", "abcdefgh");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	int ro = ASSERT_OK(open(h_path("in"), O_RDONLY));
	int p[2];
	loff_t a = 0, b = 2;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(copy_file_range(in, NULL, out, NULL, 1, OPAQUE(1)), EINVAL);
	EXPECT_ERRNO(copy_file_range(in, &a, in, &b, 4, 0), EINVAL);
	EXPECT_ERRNO(copy_file_range(in, NULL, ro, NULL, 1, 0), EBADF);
	EXPECT_ERRNO(copy_file_range(999, NULL, out, NULL, 1, 0), EBADF);
	EXPECT_ERRNO(copy_file_range(p[0], NULL, out, NULL, 1, 0), EINVAL);
	/* a directory is EISDIR before the access mode is looked at */
	EXPECT_ERRNO(copy_file_range(in, NULL, ASSERT_OK(open(h_tmp(), O_RDONLY)), NULL, 1, 0),
		     EISDIR);
}

HARNESS_MAIN
