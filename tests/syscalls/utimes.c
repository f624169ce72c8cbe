/*
 * File times: utimensat (UTIME_NOW, UTIME_OMIT, AT_SYMLINK_NOFOLLOW, fd
 * form), futimesat, utimes, utime; permission rules; ctime side effects.
 */
#include "harness.h"

#include <sys/time.h>
#include <utime.h>

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

static int utimens(int dirfd, const char *path, const struct timespec *ts, int flags)
{
	return syscall(SYS_utimensat, dirfd, path, ts, flags);
}

CASE(utimensat_null_times_sets_now)
{
	struct timespec old[2] = {{1000, 0}, {1000, 0}};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), old, 0));
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), NULL, 0));
	st = st_of(h_path("f"));
	EXPECT_GT(st.st_atim.tv_sec, 1000000000);
	EXPECT_GT(st.st_mtim.tv_sec, 1000000000);
}

CASE(utimensat_now_and_omit_per_field)
{
	struct timespec t[2] = {{100, 1}, {200, 2}};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), t, 0));
	t[0].tv_nsec = UTIME_OMIT;
	t[1].tv_nsec = UTIME_NOW;
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), t, 0));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_atim.tv_sec, 100);
	EXPECT_EQ(st.st_atim.tv_nsec, 1);
	EXPECT_GT(st.st_mtim.tv_sec, 1000000000);
}

CASE(utimensat_both_omit_changes_nothing)
{
	struct timespec t[2] = {{100, 0}, {200, 0}};
	struct stat a, b;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), t, 0));
	a = st_of(h_path("f"));
	t[0].tv_nsec = UTIME_OMIT;
	t[1].tv_nsec = UTIME_OMIT;
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), t, 0));
	b = st_of(h_path("f"));
	EXPECT_EQ(b.st_atim.tv_sec, 100);
	EXPECT_EQ(b.st_mtim.tv_sec, 200);
	EXPECT_EQ(b.st_ctim.tv_sec, a.st_ctim.tv_sec);
	EXPECT_EQ(b.st_ctim.tv_nsec, a.st_ctim.tv_nsec);
}

CASE(utimensat_symlink_nofollow_changes_link)
{
	struct timespec t[2] = {{300, 0}, {400, 0}};
	struct stat l, f;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(utimens(AT_FDCWD, h_path("l"), t, AT_SYMLINK_NOFOLLOW));
	l = st_of(h_path("l"));
	f = st_of(h_path("f"));
	EXPECT_EQ(l.st_mtim.tv_sec, 400);
	EXPECT_NE(f.st_mtim.tv_sec, 400);
	ASSERT_OK(utimens(AT_FDCWD, h_path("l"), t, 0));
	f = st_of(h_path("f"));
	EXPECT_EQ(f.st_mtim.tv_sec, 400);
}

CASE(utimensat_fd_form_with_null_path)
{
	struct timespec t[2] = {{500, 0}, {600, 0}};
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(utimens(fd, NULL, t, 0));
	EXPECT_EQ(st_of(h_path("f")).st_mtim.tv_sec, 600);
	ASSERT_OK(futimens(fd, t));
	EXPECT_ERRNO(utimens(fd, NULL, t, AT_SYMLINK_NOFOLLOW), EINVAL);
}

CASE(utimensat_empty_path_flag)
{
	struct timespec t[2] = {{700, 0}, {800, 0}};
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(utimens(fd, "", t, AT_EMPTY_PATH));
	EXPECT_EQ(st_of(h_path("f")).st_mtim.tv_sec, 800);
	EXPECT_ERRNO(utimens(fd, "", t, 0), ENOENT);
}

CASE(utimensat_errors)
{
	struct timespec t[2] = {{1, 0}, {1, 1000000000L}};

	h_write_file(h_path("f"), "", 0);
	EXPECT_ERRNO(utimens(AT_FDCWD, h_path("f"), t, 0), EINVAL);
	t[1].tv_nsec = -5;
	EXPECT_ERRNO(utimens(AT_FDCWD, h_path("f"), t, 0), EINVAL);
	t[1].tv_nsec = 0;
	EXPECT_ERRNO(utimens(AT_FDCWD, h_path("f"), t, OPAQUE(0x1)), EINVAL);
	EXPECT_ERRNO(utimens(AT_FDCWD, h_path("missing"), t, 0), ENOENT);
	EXPECT_ERRNO(utimens(AT_FDCWD, h_path("f"), BAD_PTR, 0), EFAULT);
	EXPECT_ERRNO(utimens(999, NULL, t, 0), EBADF);
	EXPECT_ERRNO(utimens(AT_FDCWD, NULL, t, 0), EFAULT);
}

CASE(utimes_uses_microseconds)
{
	struct timeval tv[2] = {{900, 5}, {950, 7}};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(syscall(SYS_utimes, h_path("f"), tv));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_atim.tv_sec, 900);
	EXPECT_EQ(st.st_atim.tv_nsec, 5000);
	EXPECT_EQ(st.st_mtim.tv_nsec, 7000);
	tv[0].tv_usec = 1000000;
	EXPECT_ERRNO(syscall(SYS_utimes, h_path("f"), tv), EINVAL);
}

CASE(futimesat_relative_to_dirfd)
{
	struct timeval tv[2] = {{123, 0}, {456, 0}};
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(syscall(SYS_futimesat, dir, "f", tv));
	EXPECT_EQ(st_of(h_path("f")).st_mtim.tv_sec, 456);
}

CASE(utime_sets_whole_seconds)
{
	struct utimbuf ub = {.actime = 1111, .modtime = 2222};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(syscall(SYS_utime, h_path("f"), &ub));
	st = st_of(h_path("f"));
	EXPECT_EQ(st.st_atim.tv_sec, 1111);
	EXPECT_EQ(st.st_mtim.tv_sec, 2222);
	EXPECT_EQ(st.st_mtim.tv_nsec, 0);
}

CASE(utimensat_updates_ctime)
{
	struct timespec t[2] = {{10, 0}, {20, 0}};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(utimens(AT_FDCWD, h_path("f"), t, 0));
	st = st_of(h_path("f"));
	EXPECT_GT(st.st_ctim.tv_sec, 1000000000);
}

CASE(utimensat_unprivileged_permissions)
{
	struct timespec t[2] = {{10, 0}, {20, 0}};
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("ro"), "", 0, 0644);
	h_write_file_mode(h_path("rw"), "", 0, 0666);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		/* setting "now" needs write access or ownership */
		if (!(utimens(AT_FDCWD, h_path("ro"), NULL, 0) == -1 && errno == EACCES))
			_exit(3);
		if (utimens(AT_FDCWD, h_path("rw"), NULL, 0) != 0)
			_exit(4);
		/* explicit times need ownership */
		if (!(utimens(AT_FDCWD, h_path("rw"), t, 0) == -1 && errno == EPERM))
			_exit(5);
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
