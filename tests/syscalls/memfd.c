/*
 * memfd_create(2) and file seals (fcntl F_ADD_SEALS / F_GET_SEALS):
 * flags, names, I/O, sizes, and what each seal forbids.
 */
#include "harness.h"

static int mfd(const char *name, unsigned int flags)
{
	return syscall(SYS_memfd_create, name, flags);
}

CASE(memfd_is_empty_regular_file)
{
	int fd = ASSERT_OK(mfd("test", 0));
	struct stat st;
	char buf[8];

	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_size, 0);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	EXPECT_EQ(write(fd, "hello", 5), 5);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "hello", 5);
}

CASE(memfd_flags)
{
	int fd = ASSERT_OK(mfd("a", MFD_CLOEXEC));

	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	fd = ASSERT_OK(mfd("b", 0));
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	EXPECT_ERRNO(mfd("c", OPAQUE(0x100)), EINVAL);
}

CASE(memfd_name_errors)
{
	char longname[300];

	memset(longname, 'n', sizeof(longname));
	longname[249] = 0;
	EXPECT_OK(mfd(longname, 0));
	longname[249] = 'n';
	longname[250] = 0;
	EXPECT_ERRNO(mfd(longname, 0), EINVAL);
	EXPECT_ERRNO(mfd(BAD_PTR, 0), EFAULT);
	EXPECT_OK(mfd("", 0));
}

CASE(memfd_truncate_and_seek)
{
	int fd = ASSERT_OK(mfd("t", 0));
	char buf[8];

	ASSERT_OK(ftruncate(fd, 4096));
	EXPECT_EQ(lseek(fd, 0, SEEK_END), 4096);
	EXPECT_EQ(pread(fd, buf, 4, 100), 4);
	EXPECT_MEMEQ(buf, "\0\0\0\0", 4);
	ASSERT_OK(ftruncate(fd, 2));
	EXPECT_EQ(lseek(fd, 0, SEEK_END), 2);
}

CASE(memfd_without_sealing_is_sealed_seal)
{
	int fd = ASSERT_OK(mfd("s", 0));

	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
}

CASE(memfd_allow_sealing_starts_unsealed)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));

	EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_GROW | F_SEAL_SHRINK);
}

CASE(memfd_seal_seal_forbids_more_seals)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));

	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
}

CASE(memfd_seal_write_forbids_writes)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));
	char c;

	ASSERT_EQ(write(fd, "ab", 2), 2);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_ERRNO(write(fd, "c", 1), EPERM);
	EXPECT_ERRNO(pwrite(fd, "c", 1, 0), EPERM);
	EXPECT_EQ(pread(fd, &c, 1, 0), 1);
	/* F_SEAL_WRITE does not restrict the size */
	EXPECT_OK(ftruncate(fd, 1));
}

CASE(memfd_seal_shrink_and_grow)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));

	ASSERT_OK(ftruncate(fd, 10));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	EXPECT_ERRNO(ftruncate(fd, 5), EPERM);
	EXPECT_OK(ftruncate(fd, 20));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	EXPECT_ERRNO(ftruncate(fd, 30), EPERM);
	EXPECT_OK(ftruncate(fd, 20));
	EXPECT_ERRNO(pwrite(fd, "x", 1, 20), EPERM);
	EXPECT_EQ(pwrite(fd, "x", 1, 19), 1);
}

CASE(seals_errors)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));
	int ro, p[2];

	h_write_file(h_path("f"), "x", 1);
	ro = ASSERT_OK(open(h_path("f"), O_RDWR));
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, OPAQUE(0x1000)), EINVAL);
	EXPECT_ERRNO(fcntl(p[0], F_GET_SEALS), EINVAL);
	EXPECT_ERRNO(fcntl(p[1], F_ADD_SEALS, F_SEAL_GROW), EINVAL);
	/* a regular file on a filesystem without seals */
	EXPECT_ERRNO(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EINVAL);
}

CASE(memfd_add_seals_needs_writable_fd)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING));
	char path[64];
	int ro;

	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	ro = open(path, O_RDONLY);
	if (ro < 0)
		FAILX("reopen through /dev/fd: %s", h_errname(errno));
	EXPECT_ERRNO(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	EXPECT_EQ(fcntl(ro, F_GET_SEALS), 0);
}

CASE(memfd_shared_by_fork)
{
	int fd = ASSERT_OK(mfd("s", 0));
	pid_t pid = ASSERT_OK(fork());
	char buf[4];

	if (pid == 0)
		_exit(pwrite(fd, "kid", 3, 0) == 3 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 3);
	EXPECT_MEMEQ(buf, "kid", 3);
}

CASE(memfd_noexec_seal_flags)
{
	int fd = ASSERT_OK(mfd("s", MFD_ALLOW_SEALING | 0x0008U /* MFD_NOEXEC_SEAL */));
	struct stat st;

	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 0111, 0);
	EXPECT_ERRNO(mfd("s", 0x0008U | 0x0010U /* NOEXEC_SEAL | EXEC */), EINVAL);
}

HARNESS_MAIN
