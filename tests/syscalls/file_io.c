/*
 * File I/O: open/openat/creat, read/write, pread64/pwrite64, readv/writev,
 * lseek, close, fsync, truncate/ftruncate.
 */
#include "harness.h"

#include <sys/uio.h>
#include <limits.h>

/* Creates h_path(name) holding `content`; returns its path. */
static const char *mkfile(const char *name, const char *content)
{
	const char *p = h_path(name);

	h_write_file(p, content, strlen(content));
	return p;
}

static off_t fsize(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	return st.st_size;
}

/* ---- open / openat / creat ---- */

CASE(open_returns_lowest_free_fd)
{
	const char *p = mkfile("f", "x");
	int a = ASSERT_OK(open(p, O_RDONLY));
	int b = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(b, a + 1);
	EXPECT_OK(close(a));
	EXPECT_EQ(open(p, O_RDONLY), a);
}

CASE(open_syscall_creat_and_read_back)
{
	const char *p = h_path("f");
	char buf[8] = {0};
	int fd = ASSERT_OK(syscall(SYS_open, p, O_RDWR | O_CREAT | O_EXCL, 0600));

	EXPECT_EQ(write(fd, "abc", 3), 3);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "abc");
}

CASE(open_missing_enoent)
{
	EXPECT_ERRNO(open(h_path("missing"), O_RDONLY), ENOENT);
}

CASE(open_empty_path_enoent)
{
	EXPECT_ERRNO(open("", O_RDONLY), ENOENT);
}

CASE(open_bad_path_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_open, BAD_PTR, O_RDONLY), EFAULT);
	EXPECT_ERRNO(syscall(SYS_openat, AT_FDCWD, BAD_PTR, O_RDONLY), EFAULT);
}

CASE(open_creat_excl_existing_eexist)
{
	const char *p = mkfile("f", "x");

	EXPECT_ERRNO(open(p, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
}

CASE(open_creat_existing_keeps_content)
{
	const char *p = mkfile("f", "hello");
	int fd = ASSERT_OK(open(p, O_RDWR | O_CREAT, 0600));

	EXPECT_EQ(fsize(fd), 5);
}

CASE(open_creat_mode_applies_umask)
{
	struct stat st;
	int fd;

	umask(027);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0777));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0750);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_size, 0);
}

CASE(open_creat_in_missing_dir_enoent)
{
	EXPECT_ERRNO(open(h_path("nodir/f"), O_WRONLY | O_CREAT, 0600), ENOENT);
}

CASE(open_through_file_enotdir)
{
	const char *p = mkfile("f", "x");
	char sub[1024];

	snprintf(sub, sizeof(sub), "%s/x", p);
	EXPECT_ERRNO(open(sub, O_RDONLY), ENOTDIR);
}

CASE(open_trailing_slash_on_file_enotdir)
{
	const char *p = mkfile("f", "x");
	char sub[1024];

	snprintf(sub, sizeof(sub), "%s/", p);
	EXPECT_ERRNO(open(sub, O_RDONLY), ENOTDIR);
}

CASE(open_creat_trailing_slash_eisdir)
{
	EXPECT_ERRNO(open(h_path("new/"), O_WRONLY | O_CREAT, 0600), EISDIR);
}

CASE(open_o_directory_on_file_enotdir)
{
	const char *p = mkfile("f", "x");

	EXPECT_ERRNO(open(p, O_RDONLY | O_DIRECTORY), ENOTDIR);
}

CASE(open_o_directory_on_dir_ok)
{
	EXPECT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
}

CASE(open_dir_for_writing_eisdir)
{
	EXPECT_ERRNO(open(h_tmp(), O_WRONLY), EISDIR);
	EXPECT_ERRNO(open(h_tmp(), O_RDWR), EISDIR);
}

CASE(open_name_too_long_enametoolong)
{
	char name[300];

	memset(name, 'a', 256);
	name[256] = 0;
	EXPECT_ERRNO(open(h_path(name), O_RDONLY), ENAMETOOLONG);
	EXPECT_ERRNO(open(h_path(name), O_RDWR | O_CREAT, 0600), ENAMETOOLONG);
}

CASE(open_path_too_long_enametoolong)
{
	static char path[PATH_MAX + 16];

	for (int i = 0; i < PATH_MAX + 8; i += 2) {
		path[i] = '/';
		path[i + 1] = '.';
	}
	path[PATH_MAX + 8] = 0;
	EXPECT_ERRNO(open(path, O_RDONLY), ENAMETOOLONG);
}

CASE(open_trunc_empties_file)
{
	const char *p = mkfile("f", "hello");
	int fd = ASSERT_OK(open(p, O_WRONLY | O_TRUNC));

	EXPECT_EQ(fsize(fd), 0);
}

CASE(open_append_writes_at_end)
{
	const char *p = mkfile("f", "hello");
	char buf[16] = {0};
	int fd = ASSERT_OK(open(p, O_WRONLY | O_APPEND));

	EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
	EXPECT_EQ(write(fd, "XY", 2), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 7);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 7);
	EXPECT_STREQ(buf, "helloXY");
}

CASE(open_cloexec_sets_fd_flag)
{
	const char *p = mkfile("f", "x");
	int a = ASSERT_OK(open(p, O_RDONLY | O_CLOEXEC));
	int b = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
}

CASE(open_flags_reported_by_getfl)
{
	const char *p = mkfile("f", "x");
	int fd = ASSERT_OK(open(p, O_RDWR | O_APPEND | O_NONBLOCK));
	int fl = ASSERT_OK(fcntl(fd, F_GETFL));

	EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
	EXPECT_EQ(fl & (O_APPEND | O_NONBLOCK), O_APPEND | O_NONBLOCK);
	EXPECT_EQ(fl & (O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC), 0);
}

CASE(open_rdonly_write_ebadf)
{
	const char *p = mkfile("f", "x");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(write(fd, "y", 1), EBADF);
	EXPECT_ERRNO(pwrite(fd, "y", 1, 0), EBADF);
}

CASE(open_wronly_read_ebadf)
{
	const char *p = mkfile("f", "x");
	char c;
	int fd = ASSERT_OK(open(p, O_WRONLY));

	EXPECT_ERRNO(read(fd, &c, 1), EBADF);
	EXPECT_ERRNO(pread(fd, &c, 1, 0), EBADF);
}

CASE(open_o_path_no_io_ebadf)
{
	const char *p = mkfile("f", "x");
	char c;
	int fd = ASSERT_OK(open(p, O_PATH));

	EXPECT_ERRNO(read(fd, &c, 1), EBADF);
	EXPECT_ERRNO(write(fd, &c, 1), EBADF);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
}

CASE(openat_relative_to_dirfd)
{
	char buf[8] = {0};
	int dfd, fd;

	mkfile("f", "dirfd");
	dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	fd = ASSERT_OK(openat(dfd, "f", O_RDONLY));
	EXPECT_EQ(read(fd, buf, 7), 5);
	EXPECT_STREQ(buf, "dirfd");
}

CASE(openat_bad_dirfd_ebadf)
{
	EXPECT_ERRNO(openat(1000, "f", O_RDONLY), EBADF);
	EXPECT_ERRNO(openat(-5, "f", O_RDONLY), EBADF);
}

CASE(openat_absolute_path_ignores_dirfd)
{
	const char *p = mkfile("f", "x");

	EXPECT_OK(openat(1000, p, O_RDONLY));
}

CASE(openat_dirfd_is_file_enotdir)
{
	const char *p = mkfile("f", "x");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(openat(fd, "x", O_RDONLY), ENOTDIR);
}

CASE(open_nofollow_symlink_eloop)
{
	const char *p = mkfile("f", "x");

	ASSERT_OK(symlink(p, h_path("l")));
	EXPECT_ERRNO(open(h_path("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
	EXPECT_OK(open(h_path("l"), O_RDONLY));
}

CASE(creat_is_wronly_creat_trunc)
{
	const char *p = mkfile("f", "hello");
	char c;
	int fd = ASSERT_OK(syscall(SYS_creat, p, 0600));

	EXPECT_EQ(fsize(fd), 0);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT_ERRNO(read(fd, &c, 1), EBADF);
}

/* ---- read / write ---- */

CASE(read_whole_then_eof_zero)
{
	const char *p = mkfile("f", "0123456789");
	char buf[64];
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(read(fd, buf, sizeof(buf)), 10);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
}

CASE(read_short_count_advances)
{
	const char *p = mkfile("f", "0123456789");
	char buf[8] = {0};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(read(fd, buf, 3), 3);
	EXPECT_STREQ(buf, "012");
	EXPECT_EQ(read(fd, buf, 3), 3);
	EXPECT_STREQ(buf, "345");
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 6);
}

CASE(read_zero_count_returns_zero)
{
	const char *p = mkfile("f", "abc");
	char buf[4];
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(read(fd, buf, 0), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
}

CASE(read_bad_fd_ebadf)
{
	char c;

	EXPECT_ERRNO(read(-1, &c, 1), EBADF);
	EXPECT_ERRNO(read(1000, &c, 1), EBADF);
}

CASE(write_bad_fd_ebadf)
{
	EXPECT_ERRNO(write(-1, "x", 1), EBADF);
	EXPECT_ERRNO(write(1000, "x", 1), EBADF);
}

CASE(read_bad_buffer_efault)
{
	const char *p = mkfile("f", "abc");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(read(fd, BAD_PTR, 3), EFAULT);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_ERRNO(read(fd, h_noaccess_page(), 3), EFAULT);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
}

CASE(write_bad_buffer_efault)
{
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));

	EXPECT_ERRNO(write(fd, BAD_PTR, 3), EFAULT);
	EXPECT_ERRNO(write(fd, h_noaccess_page(), 3), EFAULT);
	EXPECT_EQ(fsize(fd), 0);
}

CASE(read_directory_eisdir)
{
	char buf[16];
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_ERRNO(read(fd, buf, sizeof(buf)), EISDIR);
}

CASE(write_advances_offset_and_size)
{
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));

	EXPECT_EQ(write(fd, "hello", 5), 5);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
	EXPECT_EQ(write(fd, " world", 6), 6);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 11);
	EXPECT_EQ(fsize(fd), 11);
}

CASE(write_overwrites_in_place)
{
	const char *p = mkfile("f", "abcdef");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_WRONLY));

	EXPECT_EQ(lseek(fd, 2, SEEK_SET), 2);
	EXPECT_EQ(write(fd, "XY", 2), 2);
	EXPECT_EQ(fsize(fd), 6);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 6);
	EXPECT_STREQ(buf, "abXYef");
}

CASE(write_zero_count_returns_zero)
{
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));

	EXPECT_EQ(write(fd, "x", 0), 0);
	EXPECT_EQ(fsize(fd), 0);
}

CASE(write_large_buffer_roundtrip)
{
	size_t n = 1 << 20;
	char *a = malloc(n), *b = malloc(n);
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));
	size_t got = 0;

	for (size_t i = 0; i < n; i++)
		a[i] = (char)(i * 7 + i / 4096);
	EXPECT_EQ(write(fd, a, n), n);
	EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);

		if (r <= 0)
			break;
		got += r;
	}
	EXPECT_EQ(got, n);
	EXPECT_MEMEQ(a, b, n);
}

/* ---- pread / pwrite ---- */

CASE(pread_keeps_offset)
{
	const char *p = mkfile("f", "0123456789");
	char buf[8] = {0};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(read(fd, buf, 2), 2);
	EXPECT_EQ(pread(fd, buf, 3, 5), 3);
	EXPECT_STREQ(buf, "567");
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
}

CASE(pwrite_keeps_offset)
{
	const char *p = mkfile("f", "0123456789");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_EQ(pwrite(fd, "AB", 2, 4), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 10);
	EXPECT_STREQ(buf, "0123AB6789");
}

CASE(pread_negative_offset_einval)
{
	const char *p = mkfile("f", "abc");
	char buf[4];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_ERRNO(pread(fd, buf, 1, -1), EINVAL);
	EXPECT_ERRNO(pwrite(fd, buf, 1, -1), EINVAL);
}

CASE(pread_past_eof_returns_zero)
{
	const char *p = mkfile("f", "abc");
	char buf[4];
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(pread(fd, buf, 4, 3), 0);
	EXPECT_EQ(pread(fd, buf, 4, 1000), 0);
	EXPECT_EQ(pread(fd, buf, 4, 2), 1);
}

CASE(pwrite_past_eof_leaves_zero_hole)
{
	char buf[128];
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));
	int zeros = 1;

	EXPECT_EQ(pwrite(fd, "Z", 1, 100), 1);
	EXPECT_EQ(fsize(fd), 101);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 101);
	for (int i = 0; i < 100; i++)
		zeros &= buf[i] == 0;
	EXPECT_TRUE(zeros);
	EXPECT_EQ(buf[100], 'Z');
}

CASE(pwrite_with_o_append_appends)
{
	/* Linux ignores the offset of pwrite on an O_APPEND file (pwrite(2) BUGS). */
	const char *p = mkfile("f", "abc");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_WRONLY | O_APPEND));

	EXPECT_EQ(pwrite(fd, "Z", 1, 0), 1);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "abcZ");
}

CASE(pread_on_pipe_espipe)
{
	int p[2];
	char c;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(pread(p[0], &c, 1, 0), ESPIPE);
	EXPECT_ERRNO(pwrite(p[1], &c, 1, 0), ESPIPE);
}

/* ---- readv / writev ---- */

CASE(readv_scatters_in_order)
{
	const char *p = mkfile("f", "abcdefghij");
	char a[3] = {0}, b[4] = {0}, c[10] = {0};
	struct iovec iov[3] = {{a, 2}, {b, 3}, {c, 9}};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(readv(fd, iov, 3), 10);
	EXPECT_STREQ(a, "ab");
	EXPECT_STREQ(b, "cde");
	EXPECT_STREQ(c, "fghij");
}

CASE(writev_gathers_in_order)
{
	const char *p = h_path("f");
	char buf[16];
	struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
	int fd = ASSERT_OK(open(p, O_WRONLY | O_CREAT, 0600));

	EXPECT_EQ(writev(fd, iov, 3), 6);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 6);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 6);
	EXPECT_STREQ(buf, "abcdef");
}

CASE(writev_zero_iovcnt_returns_zero)
{
	struct iovec iov[1] = {{"x", 1}};
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));

	EXPECT_EQ(writev(fd, iov, 0), 0);
	EXPECT_EQ(fsize(fd), 0);
}

CASE(readv_negative_iovcnt_einval)
{
	const char *p = mkfile("f", "abc");
	char a[4];
	struct iovec iov[1] = {{a, 4}};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(readv(fd, iov, OPAQUE(-1)), EINVAL);
}

CASE(writev_iovcnt_over_iov_max_einval)
{
	static struct iovec iov[IOV_MAX + 1];
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));

	for (int i = 0; i <= IOV_MAX; i++) {
		iov[i].iov_base = "x";
		iov[i].iov_len = 1;
	}
	EXPECT_ERRNO(writev(fd, iov, IOV_MAX + 1), EINVAL);
	EXPECT_EQ(writev(fd, iov, IOV_MAX), IOV_MAX);
}

CASE(readv_bad_iov_pointer_efault)
{
	const char *p = mkfile("f", "abc");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(readv(fd, BAD_PTR, 1), EFAULT);
}

CASE(writev_bad_buffer_efault)
{
	struct iovec iov[1] = {{BAD_PTR, 4}};
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));

	EXPECT_ERRNO(writev(fd, iov, 1), EFAULT);
}

CASE(preadv_pwritev_at_offset)
{
	const char *p = mkfile("f", "0123456789");
	char a[3] = {0}, b[3] = {0};
	struct iovec r[2] = {{a, 2}, {b, 2}};
	struct iovec w[2] = {{"A", 1}, {"B", 1}};
	char buf[16];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_EQ(preadv(fd, r, 2, 3), 4);
	EXPECT_STREQ(a, "34");
	EXPECT_STREQ(b, "56");
	EXPECT_EQ(pwritev(fd, w, 2, 8), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 10);
	EXPECT_STREQ(buf, "01234567AB");
}

/* ---- lseek ---- */

CASE(lseek_set_cur_end)
{
	const char *p = mkfile("f", "0123456789");
	char c;
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(lseek(fd, 4, SEEK_SET), 4);
	EXPECT_EQ(lseek(fd, 2, SEEK_CUR), 6);
	EXPECT_EQ(lseek(fd, -3, SEEK_CUR), 3);
	EXPECT_EQ(lseek(fd, -1, SEEK_END), 9);
	EXPECT_EQ(read(fd, &c, 1), 1);
	EXPECT_EQ(c, '9');
	EXPECT_EQ(lseek(fd, 5, SEEK_END), 15);
}

CASE(lseek_negative_result_einval)
{
	const char *p = mkfile("f", "0123456789");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(lseek(fd, 3, SEEK_SET), 3);
	EXPECT_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
	EXPECT_ERRNO(lseek(fd, -4, SEEK_CUR), EINVAL);
	EXPECT_ERRNO(lseek(fd, -11, SEEK_END), EINVAL);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 3);
}

CASE(lseek_bad_whence_einval)
{
	const char *p = mkfile("f", "abc");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(lseek(fd, 0, 42), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, -1), EINVAL);
}

CASE(lseek_bad_fd_ebadf)
{
	EXPECT_ERRNO(lseek(1000, 0, SEEK_SET), EBADF);
}

CASE(lseek_on_pipe_espipe)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(lseek(p[0], 0, SEEK_CUR), ESPIPE);
	EXPECT_ERRNO(lseek(p[1], 0, SEEK_SET), ESPIPE);
}

CASE(lseek_past_end_then_write_fills_zeros)
{
	const char *p = mkfile("f", "ab");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_EQ(lseek(fd, 3, SEEK_END), 5);
	EXPECT_EQ(fsize(fd), 2);
	EXPECT_EQ(write(fd, "c", 1), 1);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 6);
	EXPECT_MEMEQ(buf, "ab\0\0\0c", 6);
}

CASE(lseek_data_and_hole)
{
	const char *p = mkfile("f", "0123456789");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_EQ(lseek(fd, 0, SEEK_DATA), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 10);
	EXPECT_ERRNO(lseek(fd, 10, SEEK_DATA), ENXIO);
}

/* ---- close / fsync ---- */

CASE(close_bad_fd_ebadf)
{
	EXPECT_ERRNO(close(-1), EBADF);
	EXPECT_ERRNO(close(1000), EBADF);
}

CASE(close_twice_ebadf)
{
	const char *p = mkfile("f", "x");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_OK(close(fd));
	EXPECT_ERRNO(close(fd), EBADF);
	EXPECT_ERRNO(read(fd, (char[1]){0}, 1), EBADF);
}

CASE(fsync_and_fdatasync)
{
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));

	EXPECT_EQ(write(fd, "x", 1), 1);
	EXPECT_OK(fsync(fd));
	EXPECT_OK(fdatasync(fd));
	EXPECT_ERRNO(fsync(1000), EBADF);
	EXPECT_ERRNO(fdatasync(-1), EBADF);
}

/* ---- truncate ---- */

CASE(ftruncate_shrinks)
{
	const char *p = mkfile("f", "0123456789");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_OK(ftruncate(fd, 4));
	EXPECT_EQ(fsize(fd), 4);
	EXPECT_EQ(h_read_file(p, buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "0123");
}

CASE(ftruncate_extends_with_zeros)
{
	const char *p = mkfile("f", "ab");
	char buf[16];
	int fd = ASSERT_OK(open(p, O_RDWR));

	EXPECT_OK(ftruncate(fd, 5));
	EXPECT_EQ(fsize(fd), 5);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "ab\0\0\0", 5);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
}

CASE(ftruncate_errors)
{
	const char *p = mkfile("f", "ab");
	int ro = ASSERT_OK(open(p, O_RDONLY));
	int rw = ASSERT_OK(open(p, O_RDWR));

	EXPECT_ERRNO(ftruncate(ro, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(rw, -1), EINVAL);
	EXPECT_ERRNO(ftruncate(1000, 0), EBADF);
}

CASE(truncate_by_path)
{
	const char *p = mkfile("f", "0123456789");
	struct stat st;

	EXPECT_OK(truncate(p, 3));
	ASSERT_OK(stat(p, &st));
	EXPECT_EQ(st.st_size, 3);
	EXPECT_ERRNO(truncate(h_path("missing"), 0), ENOENT);
	EXPECT_ERRNO(truncate(h_tmp(), 0), EISDIR);
}

HARNESS_MAIN
