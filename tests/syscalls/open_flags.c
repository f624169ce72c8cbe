/*
 * open(2) flag semantics beyond file_io.c: O_PATH descriptors (what works
 * and what is EBADF), O_NOFOLLOW|O_PATH on symlinks, O_DIRECTORY|O_CREAT,
 * O_TRUNC on read-only opens, status flags reported by F_GETFL (O_SYNC,
 * O_DSYNC, O_NOATIME, O_LARGEFILE), O_CLOEXEC across exec.
 */
#include "harness.h"

#include <sys/ioctl.h>

#ifndef O_LARGEFILE_KERNEL
#define O_LARGEFILE_KERNEL 0100000
#endif

CASE(o_path_fd_allows_fstat_dup_fchdir)
{
	struct stat st;
	int fd, d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("d/f"), O_PATH));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 3);
	EXPECT_OK(dup(fd));
	EXPECT_OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
	d = ASSERT_OK(open(h_path("d"), O_PATH | O_DIRECTORY));
	ASSERT_OK(fchdir(d));
	EXPECT_OK(access("f", R_OK));
	EXPECT_OK(openat(d, "f", O_RDONLY));
}

CASE(o_path_fd_refuses_io_and_attribute_calls)
{
	int fd;
	char c;

	h_write_file(h_path("f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("f"), O_PATH));
	EXPECT_ERRNO(read(fd, &c, 1), EBADF);
	EXPECT_ERRNO(write(fd, "x", 1), EBADF);
	EXPECT_ERRNO(pread(fd, &c, 1, 0), EBADF);
	EXPECT_ERRNO(fchmod(fd, 0600), EBADF);
	EXPECT_ERRNO(fchown(fd, -1, -1), EBADF);
	EXPECT_ERRNO(ftruncate(fd, 0), EBADF);
	EXPECT_ERRNO(fsync(fd), EBADF);
	EXPECT_ERRNO(lseek(fd, 0, SEEK_SET), EBADF);
	EXPECT_ERRNO(fcntl(fd, F_SETFL, O_NONBLOCK), EBADF);
}

CASE(o_path_getfl_reports_o_path_only)
{
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_PATH | O_RDWR | O_APPEND));
	/* everything except O_PATH, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW is dropped */
	EXPECT_EQ(fcntl(fd, F_GETFL), O_PATH);
}

CASE(o_path_nofollow_opens_the_symlink)
{
	struct stat st;
	char target[16];
	int fd;

	ASSERT_OK(symlink("nowhere", h_path("l")));
	fd = ASSERT_OK(open(h_path("l"), O_PATH | O_NOFOLLOW));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	memset(target, 0, sizeof(target));
	EXPECT_EQ(readlinkat(fd, "", target, sizeof(target)), 7);
	EXPECT_STREQ(target, "nowhere");
	EXPECT_ERRNO(open(h_path("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
}

CASE(o_path_on_unreadable_file)
{
	pid_t pid;
	char parent[600];

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
	h_write_file_mode(h_path("f"), "x", 1, 0000);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (open(h_path("f"), O_RDONLY) != -1 || errno != EACCES)
			_exit(3);
		/* O_PATH needs no permission on the file itself */
		_exit(open(h_path("f"), O_PATH) >= 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(o_directory_with_o_creat_einval)
{
	EXPECT_ERRNO(open(h_path("new"), O_RDWR | O_CREAT | O_DIRECTORY, 0600), EINVAL);
	EXPECT_ERRNO(access(h_path("new"), F_OK), ENOENT);
}

CASE(o_excl_without_o_creat_is_ignored)
{
	h_write_file(h_path("f"), "", 0);
	EXPECT_OK(open(h_path("f"), O_RDONLY | O_EXCL));
}

CASE(o_trunc_with_read_only_access_truncates)
{
	struct stat st;

	h_write_file(h_path("f"), "abcdef", 6);
	ASSERT_OK(open(h_path("f"), O_RDONLY | O_TRUNC));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_size, 0);
}

CASE(getfl_reports_sync_and_largefile_flags)
{
	int fd;
	int fl;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_SYNC));
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(fl & O_SYNC, O_SYNC);
	/* 64-bit kernels always add O_LARGEFILE */
	EXPECT_EQ(fl & O_LARGEFILE_KERNEL, O_LARGEFILE_KERNEL);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_DSYNC));
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_SYNC, O_DSYNC);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY | O_NOATIME));
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_NOATIME, O_NOATIME);
}

CASE(o_noatime_needs_ownership)
{
	pid_t pid;
	char parent[600];

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
	h_write_file_mode(h_path("f"), "x", 1, 0644);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(h_path("f"), O_RDONLY | O_NOATIME) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(setfl_can_toggle_o_append_and_o_noatime)
{
	int fd;

	h_write_file(h_path("f"), "ab", 2);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY));
	ASSERT_OK(fcntl(fd, F_SETFL, O_APPEND | O_NOATIME));
	EXPECT_EQ(fcntl(fd, F_GETFL) & (O_APPEND | O_NOATIME), O_APPEND | O_NOATIME);
	EXPECT_EQ(write(fd, "c", 1), 1);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 3);
}

CASE(o_cloexec_closes_on_exec)
{
	int fd, keep;
	pid_t pid;
	char arg1[16], arg2[16];

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY | O_CLOEXEC));
	keep = ASSERT_OK(open(h_path("f"), O_RDONLY));
	snprintf(arg1, sizeof(arg1), "%d", fd);
	snprintf(arg2, sizeof(arg2), "%d", keep);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *argv[] = {h_self, "--helper", arg1, arg2, NULL};

		execv(h_self, argv);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

int h_helper(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	if (fcntl(atoi(argv[2]), F_GETFD) != -1 || errno != EBADF)
		return 3;
	return fcntl(atoi(argv[3]), F_GETFD) == 0 ? 0 : 4;
}

CASE(open_flags_unknown_bits_ignored)
{
	int fd;

	h_write_file(h_path("f"), "", 0);
	/* open(2) ignores unknown flags (only openat2 checks them) */
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY | 0x40000000));
	EXPECT_EQ(fcntl(fd, F_GETFL) & 0x40000000, 0);
}

CASE(open_accmode_3_needs_read_and_write_permission)
{
	int fd;

	h_write_file(h_path("f"), "x", 1);
	/* O_ACCMODE 3: no read or write allowed, but permissions for both checked */
	fd = ASSERT_OK(open(h_path("f"), 3));
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, 3);
	EXPECT_ERRNO(read(fd, &fd, 1), EBADF);
	EXPECT_ERRNO(write(fd, "x", 1), EBADF);
}

HARNESS_MAIN
