/*
 * Edge cases of the in-kernel data movers and shapers: memfd mappings and
 * seals, sendfile/splice/tee limits and offsets, copy_file_range ranges,
 * fallocate on memfds and devices, FIONREAD/FIOQSIZE, sync_file_range.
 */
#include "harness.h"

#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#ifndef FIOQSIZE
#define FIOQSIZE 0x5460
#endif

static int mfd(const char *name, unsigned int flags)
{
	return syscall(SYS_memfd_create, name, flags);
}

static int file_with(const char *name, const char *data)
{
	int fd;

	h_write_file(h_path(name), data, strlen(data));
	fd = open(h_path(name), O_RDWR);
	if (fd < 0)
		FAILX("open: %s", h_errname(errno));
	return fd;
}

/* ---- memfd ---- */

CASE(memfd_proc_fd_link_shows_name)
{
	int fd = ASSERT_OK(mfd("hello", 0));
	char path[64], target[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = ASSERT_OK(readlink(path, target, sizeof(target) - 1));
	target[n] = 0;
	EXPECT_STREQ(target, "/memfd:hello (deleted)");
}

CASE(memfd_default_mode_and_nlink)
{
	int fd = ASSERT_OK(mfd("m", 0));
	struct stat st;

	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0777);
	/* no directory lists it */
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(st.st_uid, getuid());
}

CASE(memfd_mmap_shared_is_coherent_with_io)
{
	int fd = ASSERT_OK(mfd("m", 0));
	char buf[4];
	char *p;

	ASSERT_OK(ftruncate(fd, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_EQ(pwrite(fd, "abc", 3, 10), 3);
	EXPECT_MEMEQ(p + 10, "abc", 3);
	memcpy(p + 100, "xyz", 3);
	EXPECT_EQ(pread(fd, buf, 3, 100), 3);
	EXPECT_MEMEQ(buf, "xyz", 3);
	munmap(p, 4096);
}

CASE(memfd_mmap_private_does_not_change_file)
{
	int fd = ASSERT_OK(mfd("m", 0));
	char buf[4];
	char *p;

	ASSERT_EQ(pwrite(fd, "orig", 4, 0), 4);
	ASSERT_OK(ftruncate(fd, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_MEMEQ(p, "orig", 4);
	memcpy(p, "copy", 4);
	EXPECT_EQ(pread(fd, buf, 4, 0), 4);
	EXPECT_MEMEQ(buf, "orig", 4);
	munmap(p, 4096);
}

CASE(memfd_seal_write_refuses_shared_writable_mmap)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	void *p;

	ASSERT_OK(ftruncate(fd, 4096));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_TRUE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	EXPECT_EQ(errno, EPERM);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_TRUE(p != MAP_FAILED);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_TRUE(p != MAP_FAILED);
}

CASE(memfd_seal_future_write)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	char c;

	ASSERT_EQ(write(fd, "ab", 2), 2);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_FUTURE_WRITE);
	EXPECT_ERRNO(pwrite(fd, "x", 1, 0), EPERM);
	EXPECT_TRUE(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(pread(fd, &c, 1, 1), 1);
	EXPECT_EQ(c, 'b');
}

CASE(memfd_future_write_keeps_existing_mapping_writable)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	char buf[4];
	char *p;

	ASSERT_OK(ftruncate(fd, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	memcpy(p, "map", 3);
	ASSERT_OK(msync(p, 4096, MS_SYNC));
	EXPECT_EQ(pread(fd, buf, 3, 0), 3);
	EXPECT_MEMEQ(buf, "map", 3);
	munmap(p, 4096);
}

CASE(memfd_seal_write_then_mprotect_write_eacces)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	void *p;

	ASSERT_OK(ftruncate(fd, 4096));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_ERRNO(mprotect(p, 4096, PROT_READ | PROT_WRITE), EACCES);
	munmap(p, 4096);
}

CASE(memfd_seal_write_busy_while_mapped_writable)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	void *p;

	ASSERT_OK(ftruncate(fd, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
	/* F_SEAL_FUTURE_WRITE leaves existing mappings alone */
	EXPECT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	munmap(p, 4096);
	EXPECT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	/* a private writable mapping does not count */
	fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));
	ASSERT_OK(ftruncate(fd, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
}

CASE(memfd_seal_grow_refuses_fallocate_past_size)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));

	ASSERT_OK(ftruncate(fd, 100));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	EXPECT_ERRNO(fallocate(fd, 0, 0, 200), EPERM);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, 50, 100), EPERM);
	EXPECT_OK(fallocate(fd, 0, 0, 100));
}

CASE(memfd_seal_write_refuses_punch_hole)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));

	ASSERT_EQ(write(fd, "abcd", 4), 4);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2), EPERM);
}

CASE(memfd_noexec_seal_refuses_chmod_x)
{
	int fd = ASSERT_OK(mfd("m", 0x0008U /* MFD_NOEXEC_SEAL */));
	struct stat st;

	EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0x0020 /* F_SEAL_EXEC */);
	EXPECT_ERRNO(fchmod(fd, 0755), EPERM);
	EXPECT_OK(fchmod(fd, 0600));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0600);
}

CASE(memfd_seal_errors)
{
	int fd = ASSERT_OK(mfd("m", MFD_ALLOW_SEALING));

	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, OPAQUE(0x40)), EINVAL);
	EXPECT_ERRNO(mfd("m", OPAQUE(21U << 26)), EINVAL);
	EXPECT_ERRNO(mfd("m", OPAQUE(0x20U)), EINVAL);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
}

CASE(memfd_fallocate_modes)
{
	int fd = ASSERT_OK(mfd("m", 0));
	struct stat st;
	char buf[8];

	ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 0);
	EXPECT_GE(st.st_blocks * 512, 1 << 20);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 8), EOPNOTSUPP);
	ASSERT_EQ(write(fd, "abcdefgh", 8), 8);
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 4));
	EXPECT_EQ(pread(fd, buf, 8, 0), 8);
	EXPECT_MEMEQ(buf, "ab\0\0\0\0gh", 8);
	ASSERT_OK(ftruncate(fd, 0));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_blocks, 0);
}

CASE(memfd_punch_hole_seen_by_shared_mapping)
{
	int fd = ASSERT_OK(mfd("m", 0));
	char *p;

	ASSERT_OK(ftruncate(fd, 8192));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	memset(p, 'x', 8192);
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
	EXPECT_EQ(p[4095], 'x');
	EXPECT_EQ(p[4096], 0);
	EXPECT_EQ(p[8191], 0);
	munmap(p, 8192);
}

/* ---- sendfile ---- */

CASE(sendfile_count_zero_and_past_eof)
{
	int in = file_with("in", "abc");
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	off_t off = 10;

	EXPECT_EQ(sendfile(out, in, NULL, 0), 0);
	EXPECT_EQ(sendfile(out, in, &off, 5), 0);
	EXPECT_EQ(off, 10);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 0);
}

CASE(sendfile_from_pipe_or_directory_einval)
{
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int p[2];
	off_t off = 0;

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "x", 1), 1);
	EXPECT_ERRNO(sendfile(out, p[0], NULL, 1), EINVAL);
	EXPECT_ERRNO(sendfile(out, p[0], &off, 1), ESPIPE);
	EXPECT_ERRNO(sendfile(out, dir, NULL, 1), EINVAL);
}

CASE(sendfile_large_file_in_chunks)
{
	size_t size = 3 << 20, i;
	char *data = malloc(size), *back = malloc(size);
	int in = ASSERT_OK(open(h_path("in"), O_RDWR | O_CREAT, 0600));
	int out = ASSERT_OK(open(h_path("out"), O_RDWR | O_CREAT, 0600));
	ssize_t total = 0, n;

	ASSERT_TRUE(data && back);
	for (i = 0; i < size; i++)
		data[i] = (char)(i * 7 + i / 4096);
	ASSERT_EQ(write(in, data, size), (ssize_t)size);
	ASSERT_OK(lseek(in, 0, SEEK_SET));
	while ((n = sendfile(out, in, NULL, size)) > 0)
		total += n;
	EXPECT_EQ(n, 0);
	EXPECT_EQ(total, (ssize_t)size);
	EXPECT_EQ(pread(out, back, size, 0), (ssize_t)size);
	EXPECT_TRUE(memcmp(data, back, size) == 0);
}

CASE(sendfile_to_full_nonblocking_pipe_eagain)
{
	int in = file_with("in", "abc");
	int p[2];
	char fill[4096];

	memset(fill, 'f', sizeof(fill));
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	EXPECT_ERRNO(sendfile(p[1], in, NULL, 3), EAGAIN);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 0);
}

CASE(sendfile_to_unix_socket)
{
	int in = file_with("in", "over the socket");
	int sv[2];
	char buf[32];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(sendfile(sv[0], in, NULL, 100), 15);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 15);
	EXPECT_MEMEQ(buf, "over the socket", 15);
}

/* ---- splice and tee ---- */

CASE(splice_zero_len_returns_zero_before_fd_checks)
{
	EXPECT_EQ(splice(999, NULL, 998, NULL, 0, 0), 0);
}

CASE(splice_pipe_to_file_at_offset)
{
	int out = file_with("out", "..........");
	int p[2];
	loff_t off = 4;
	char buf[16];

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	EXPECT_EQ(splice(p[0], NULL, out, &off, 2, 0), 2);
	EXPECT_EQ(off, 6);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 0);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 10);
	EXPECT_MEMEQ(buf, "....ab....", 10);
}

CASE(splice_into_pipe_limited_by_room)
{
	int in = ASSERT_OK(open(h_path("in"), O_RDWR | O_CREAT, 0600));
	char data[10000];
	int p[2];

	memset(data, 'd', sizeof(data));
	ASSERT_EQ(write(in, data, sizeof(data)), (ssize_t)sizeof(data));
	ASSERT_OK(lseek(in, 0, SEEK_SET));
	ASSERT_OK(pipe(p));
	ASSERT_EQ(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	EXPECT_EQ(splice(in, NULL, p[1], NULL, sizeof(data), SPLICE_F_NONBLOCK), 4096);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 4096);
	EXPECT_ERRNO(splice(in, NULL, p[1], NULL, sizeof(data), SPLICE_F_NONBLOCK), EAGAIN);
}

CASE(splice_more_errors)
{
	int in = file_with("in", "abc");
	int app = ASSERT_OK(open(h_path("in"), O_WRONLY | O_APPEND));
	int p[2];
	loff_t neg = -1;

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "x", 1), 1);
	EXPECT_ERRNO(splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL);
	EXPECT_ERRNO(splice(p[0], NULL, app, NULL, 1, 0), EINVAL);
	EXPECT_ERRNO(splice(in, &neg, p[1], NULL, 1, 0), EINVAL);
	EXPECT_ERRNO(splice(in, BAD_PTR, p[1], NULL, 1, 0), EFAULT);
}

CASE(splice_unix_socket_to_pipe_and_back)
{
	int sv[2], p[2];
	char buf[16];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(sv[1], "sock", 4), 4);
	EXPECT_EQ(splice(sv[0], NULL, p[1], NULL, 100, 0), 4);
	EXPECT_ERRNO(splice(sv[0], NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK), EAGAIN);
	EXPECT_EQ(splice(p[0], NULL, sv[0], NULL, 100, 0), 4);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_MEMEQ(buf, "sock", 4);
}

CASE(tee_limits_and_eof)
{
	int a[2], b[2];
	char buf[8];

	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	EXPECT_ERRNO(tee(a[0], b[1], 4, SPLICE_F_NONBLOCK), EAGAIN);
	ASSERT_EQ(write(a[1], "hello", 5), 5);
	EXPECT_EQ(tee(a[0], b[1], 2, 0), 2);
	EXPECT_EQ(read(b[0], buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "he", 2);
	EXPECT_EQ(read(a[0], buf, sizeof(buf)), 5);
	close(a[1]);
	EXPECT_EQ(tee(a[0], b[1], 4, 0), 0);
	EXPECT_ERRNO(tee(a[0], b[1], 4, OPAQUE(0x10U)), EINVAL);
}

/* ---- copy_file_range ---- */

CASE(copy_file_range_past_eof_and_same_file)
{
	int fd = file_with("f", "abcdefgh");
	loff_t a = 20, b = 0;
	char buf[16];

	EXPECT_EQ(copy_file_range(fd, &a, fd, &b, 4, 0), 0);
	a = 0;
	b = 4;
	/* non-overlapping ranges of one file are fine */
	EXPECT_EQ(copy_file_range(fd, &a, fd, &b, 4, 0), 4);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 8);
	EXPECT_MEMEQ(buf, "abcdabcd", 8);
	/* overlap is judged on the length shortened to the end of the input */
	a = 6;
	b = 4;
	EXPECT_EQ(copy_file_range(fd, &a, fd, &b, 100, 0), 2);
}

CASE(copy_file_range_more_errors)
{
	int in = file_with("in", "abc");
	int app = ASSERT_OK(open(h_path("out"), O_WRONLY | O_CREAT | O_APPEND, 0600));
	int out = ASSERT_OK(open(h_path("out"), O_WRONLY));
	loff_t neg = -1;

	EXPECT_ERRNO(copy_file_range(in, NULL, app, NULL, 1, 0), EBADF);
	/* the offset wraps in Linux's unsigned sum before it is checked */
	EXPECT_ERRNO(copy_file_range(in, &neg, out, NULL, 1, 0), EOVERFLOW);
	EXPECT_ERRNO(copy_file_range(in, &neg, out, NULL, 0, 0), EINVAL);
	EXPECT_ERRNO(copy_file_range(in, BAD_PTR, out, NULL, 1, 0), EFAULT);
}

CASE(copy_file_range_memfd_to_memfd)
{
	int a = ASSERT_OK(mfd("a", 0));
	int b = ASSERT_OK(mfd("b", 0));
	char buf[8];

	ASSERT_EQ(write(a, "memfd!", 6), 6);
	ASSERT_OK(lseek(a, 0, SEEK_SET));
	EXPECT_EQ(copy_file_range(a, NULL, b, NULL, 100, 0), 6);
	EXPECT_EQ(lseek(b, 0, SEEK_CUR), 6);
	EXPECT_EQ(pread(b, buf, sizeof(buf), 0), 6);
	EXPECT_MEMEQ(buf, "memfd!", 6);
}

/* ---- fallocate ---- */

CASE(fallocate_device_and_mode_errors)
{
	int null = ASSERT_OK(open("/dev/null", O_WRONLY));
	int fd = file_with("f", "abc");

	EXPECT_ERRNO(fallocate(null, 0, 0, 1), ENODEV);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, 0, 1, 0), EINVAL);
}

/* ---- ioctl ---- */

CASE(fionread_past_end_and_on_memfd)
{
	int fd = file_with("f", "0123456789");
	int m = ASSERT_OK(mfd("m", 0));
	int n = 0;

	ASSERT_EQ(lseek(fd, 14, SEEK_SET), 14);
	ASSERT_OK(ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(n, -4);
	ASSERT_EQ(write(m, "abc", 3), 3);
	ASSERT_OK(ioctl(m, FIONREAD, &n));
	EXPECT_EQ(n, 0);
	ASSERT_OK(lseek(m, 1, SEEK_SET));
	ASSERT_OK(ioctl(m, FIONREAD, &n));
	EXPECT_EQ(n, 2);
}

CASE(fioqsize_directory_and_pipe)
{
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int m = ASSERT_OK(mfd("m", 0));
	loff_t sz = -1;
	struct stat st;
	int p[2];

	ASSERT_OK(ioctl(dir, FIOQSIZE, &sz));
	ASSERT_OK(fstat(dir, &st));
	EXPECT_EQ(sz, st.st_blocks * 512);
	ASSERT_OK(ftruncate(m, 5000));
	ASSERT_OK(ioctl(m, FIOQSIZE, &sz));
	ASSERT_OK(fstat(m, &st));
	EXPECT_EQ(sz, st.st_blocks * 512);
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(ioctl(p[0], FIOQSIZE, &sz), ENOTTY);
	EXPECT_ERRNO(ioctl(dir, FIOQSIZE, BAD_PTR), EFAULT);
}

/* ---- sync ---- */

CASE(sync_file_range_memfd_and_overflow)
{
	int m = ASSERT_OK(mfd("m", 0));

	EXPECT_OK(sync_file_range(m, 0, 100, SYNC_FILE_RANGE_WRITE));
	EXPECT_ERRNO(sync_file_range(m, 0x7fffffffffffff00LL, 0x1000, 0), EINVAL);
	EXPECT_ERRNO(sync_file_range(m, 0, 0, OPAQUE(0x10U)), EINVAL);
	EXPECT_OK(syncfs(m));
}

HARNESS_MAIN
