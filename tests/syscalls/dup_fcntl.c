/*
 * Descriptor table: dup, dup2, dup3, fcntl (F_DUPFD*, F_GETFD/F_SETFD,
 * F_GETFL/F_SETFL, record locks), flock, close_range. More lock cases are
 * in locks.c.
 */
#include "harness.h"

#include <sched.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <linux/close_range.h>

static int tmpfd(int flags)
{
	const char *p = h_path("f");

	h_write_file(p, "0123456789", 10);
	return ASSERT_OK(open(p, flags));
}

/* ---- dup ---- */

CASE(dup_returns_lowest_free_fd)
{
	int fd = tmpfd(O_RDONLY);
	int a = ASSERT_OK(dup(fd));
	int b;

	EXPECT_EQ(a, fd + 1);
	ASSERT_OK(close(fd));
	b = ASSERT_OK(dup(a));
	EXPECT_EQ(b, fd);
}

CASE(dup_bad_fd_ebadf)
{
	EXPECT_ERRNO(dup(-1), EBADF);
	EXPECT_ERRNO(dup(1000), EBADF);
}

CASE(dup_shares_file_offset)
{
	int fd = tmpfd(O_RDONLY);
	int d = ASSERT_OK(dup(fd));
	char c;

	EXPECT_EQ(lseek(fd, 4, SEEK_SET), 4);
	EXPECT_EQ(lseek(d, 0, SEEK_CUR), 4);
	EXPECT_EQ(read(d, &c, 1), 1);
	EXPECT_EQ(c, '4');
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
}

CASE(dup_clears_cloexec)
{
	int fd = tmpfd(O_RDONLY | O_CLOEXEC);
	int d = ASSERT_OK(dup(fd));

	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(d, F_GETFD), 0);
}

CASE(dup_survives_close_of_original)
{
	int fd = tmpfd(O_RDONLY);
	int d = ASSERT_OK(dup(fd));
	char buf[4] = {0};

	ASSERT_OK(close(fd));
	EXPECT_EQ(read(d, buf, 3), 3);
	EXPECT_STREQ(buf, "012");
}

/* ---- dup2 / dup3 ---- */

CASE(dup2_to_chosen_fd)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_EQ(dup2(fd, 100), 100);
	EXPECT_EQ(fcntl(100, F_GETFD), 0);
	EXPECT_EQ(lseek(100, 2, SEEK_SET), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
}

CASE(dup2_same_valid_fd_returns_it)
{
	int fd = tmpfd(O_RDONLY | O_CLOEXEC);

	EXPECT_EQ(dup2(fd, fd), fd);
	/* dup2(fd, fd) does nothing, not even clear FD_CLOEXEC. */
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

CASE(dup2_same_invalid_fd_ebadf)
{
	EXPECT_ERRNO(dup2(500, 500), EBADF);
}

CASE(dup2_bad_oldfd_ebadf_keeps_newfd)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_ERRNO(dup2(500, fd), EBADF);
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

CASE(dup2_replaces_open_newfd)
{
	int p[2];
	int fd = tmpfd(O_RDONLY);
	char c;

	ASSERT_OK(pipe(p));
	EXPECT_EQ(dup2(fd, p[0]), p[0]);
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(c, '0');
	/* p[0] is now the file: seekable, and shares fd's offset. */
	EXPECT_EQ(lseek(p[0], 0, SEEK_CUR), 1);
}

CASE(dup2_newfd_out_of_range_ebadf)
{
	int fd = tmpfd(O_RDONLY);
	struct rlimit rl;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_ERRNO(dup2(fd, -1), EBADF);
	EXPECT_ERRNO(dup2(fd, (int)rl.rlim_cur), EBADF);
	EXPECT_ERRNO(dup2(fd, 0x7fffffff), EBADF);
}

CASE(dup3_sets_cloexec)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_EQ(dup3(fd, 50, O_CLOEXEC), 50);
	EXPECT_EQ(fcntl(50, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(dup3(fd, 51, 0), 51);
	EXPECT_EQ(fcntl(51, F_GETFD), 0);
}

CASE(dup3_same_fd_einval)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_ERRNO(dup3(fd, fd, 0), EINVAL);
	EXPECT_ERRNO(dup3(fd, fd, O_CLOEXEC), EINVAL);
}

CASE(dup3_bad_flags_einval)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_ERRNO(dup3(fd, 60, O_NONBLOCK), EINVAL);
	EXPECT_ERRNO(dup3(fd, 60, 1), EINVAL);
	EXPECT_ERRNO(fcntl(60, F_GETFD), EBADF);
}

CASE(dup3_bad_oldfd_ebadf)
{
	EXPECT_ERRNO(dup3(500, 60, 0), EBADF);
}

/* ---- fcntl: duplication ---- */

CASE(fcntl_dupfd_lowest_at_or_above_arg)
{
	int fd = tmpfd(O_RDONLY | O_CLOEXEC);

	EXPECT_EQ(fcntl(fd, F_DUPFD, 40), 40);
	EXPECT_EQ(fcntl(fd, F_DUPFD, 40), 41);
	EXPECT_EQ(fcntl(40, F_GETFD), 0);
	EXPECT_EQ(fcntl(fd, F_DUPFD, 0), fd + 1);
}

CASE(fcntl_dupfd_cloexec)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_EQ(fcntl(fd, F_DUPFD_CLOEXEC, 70), 70);
	EXPECT_EQ(fcntl(70, F_GETFD), FD_CLOEXEC);
}

CASE(fcntl_dupfd_bad_arg_einval)
{
	int fd = tmpfd(O_RDONLY);
	struct rlimit rl;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_ERRNO(fcntl(fd, F_DUPFD, -1), EINVAL);
	EXPECT_ERRNO(fcntl(fd, F_DUPFD, (int)rl.rlim_cur), EINVAL);
	EXPECT_ERRNO(fcntl(fd, F_DUPFD_CLOEXEC, (int)rl.rlim_cur), EINVAL);
}

/* ---- fcntl: descriptor and status flags ---- */

CASE(fcntl_setfd_getfd)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	EXPECT_OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_OK(fcntl(fd, F_SETFD, 0));
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

CASE(fcntl_fd_flags_not_shared_by_dup)
{
	int fd = tmpfd(O_RDONLY);
	int d = ASSERT_OK(dup(fd));

	EXPECT_OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
	EXPECT_EQ(fcntl(d, F_GETFD), 0);
}

CASE(fcntl_status_flags_shared_by_dup)
{
	int fd = tmpfd(O_RDWR);
	int d = ASSERT_OK(dup(fd));

	EXPECT_OK(fcntl(fd, F_SETFL, O_APPEND));
	EXPECT_EQ(fcntl(d, F_GETFL) & O_APPEND, O_APPEND);
}

CASE(fcntl_getfl_access_mode)
{
	const char *p = h_path("f");

	h_write_file(p, "x", 1);
	EXPECT_EQ(fcntl(ASSERT_OK(open(p, O_RDONLY)), F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fcntl(ASSERT_OK(open(p, O_WRONLY)), F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT_EQ(fcntl(ASSERT_OK(open(p, O_RDWR)), F_GETFL) & O_ACCMODE, O_RDWR);
}

CASE(fcntl_setfl_append_takes_effect)
{
	int fd = tmpfd(O_RDWR);
	char buf[16];

	EXPECT_OK(fcntl(fd, F_SETFL, O_APPEND));
	EXPECT_EQ(write(fd, "Z", 1), 1);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 11);
	EXPECT_OK(fcntl(fd, F_SETFL, 0));
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_APPEND, 0);
	EXPECT_EQ(pwrite(fd, "Y", 1, 0), 1);
	EXPECT_EQ(pread(fd, buf, 16, 0), 11);
	EXPECT_EQ(buf[0], 'Y');
}

CASE(fcntl_setfl_ignores_access_mode_and_creation_flags)
{
	int fd = tmpfd(O_RDONLY);
	int fl;

	EXPECT_OK(fcntl(fd, F_SETFL, O_RDWR | O_TRUNC | O_CREAT));
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(fl & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fl & (O_TRUNC | O_CREAT), 0);
	EXPECT_ERRNO(write(fd, "x", 1), EBADF);
}

CASE(fcntl_setfl_nonblock_on_pipe)
{
	int p[2];
	char c;

	ASSERT_OK(pipe(p));
	EXPECT_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
}

CASE(fcntl_bad_fd_ebadf)
{
	EXPECT_ERRNO(fcntl(1000, F_GETFD), EBADF);
	EXPECT_ERRNO(fcntl(-1, F_GETFL), EBADF);
	EXPECT_ERRNO(fcntl(1000, F_DUPFD, 0), EBADF);
}

CASE(fcntl_unknown_cmd_einval)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_ERRNO(fcntl(fd, 9999), EINVAL);
}

/* ---- record locks and flock ---- */

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, cmd, &fl);
}

CASE(fcntl_setlk_and_getlk_own_lock)
{
	int fd = tmpfd(O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};

	EXPECT_OK(lock(fd, F_SETLK, F_WRLCK, 0, 5));
	/* A process's own locks never conflict with it. */
	EXPECT_OK(fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_UNLCK);
	EXPECT_OK(lock(fd, F_SETLK, F_UNLCK, 0, 5));
}

CASE(fcntl_setlk_conflict_in_other_process)
{
	int fd = tmpfd(O_RDWR);
	int go[2], done[2];
	pid_t pid;

	ASSERT_OK(pipe(go));
	ASSERT_OK(pipe(done));
	ASSERT_OK(lock(fd, F_SETLK, F_WRLCK, 0, 5));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
		int ok = 1;

		ok &= lock(fd, F_SETLK, F_RDLCK, 2, 1) == -1 && (errno == EAGAIN || errno == EACCES);
		ok &= lock(fd, F_SETLK, F_WRLCK, 5, 5) == 0;
		ok &= fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK &&
		      fl.l_pid == getppid() && fl.l_start == 0 && fl.l_len == 5;
		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fcntl_setlk_read_lock_on_wronly_ebadf)
{
	int fd = tmpfd(O_WRONLY);

	EXPECT_ERRNO(lock(fd, F_SETLK, F_RDLCK, 0, 1), EBADF);
	EXPECT_ERRNO(lock(fd, F_SETLK, 42, 0, 1), EINVAL);
}

CASE(fcntl_locks_released_on_close)
{
	int fd = tmpfd(O_RDWR);
	int other = ASSERT_OK(open(h_path("f"), O_RDWR));
	pid_t pid;

	ASSERT_OK(lock(fd, F_SETLK, F_WRLCK, 0, 0));
	/* Closing any descriptor of the file drops the process's locks. */
	ASSERT_OK(close(other));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(lock(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(flock_exclusive_conflicts_across_open_files)
{
	int a = tmpfd(O_RDONLY);
	int b = ASSERT_OK(open(h_path("f"), O_RDONLY));

	EXPECT_OK(flock(a, LOCK_EX));
	EXPECT_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	EXPECT_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	EXPECT_OK(flock(a, LOCK_UN));
	EXPECT_OK(flock(b, LOCK_SH | LOCK_NB));
	EXPECT_OK(flock(a, LOCK_SH | LOCK_NB));
}

CASE(flock_bad_operation_einval)
{
	int fd = tmpfd(O_RDONLY);

	EXPECT_ERRNO(flock(fd, 0), EINVAL);
	EXPECT_ERRNO(flock(fd, LOCK_SH | LOCK_EX), EINVAL);
	EXPECT_ERRNO(flock(1000, LOCK_SH), EBADF);
}

/* ---- close_range ---- */

CASE(close_range_closes_span)
{
	int fd = tmpfd(O_RDONLY);

	ASSERT_EQ(dup2(fd, 80), 80);
	ASSERT_EQ(dup2(fd, 81), 81);
	ASSERT_EQ(dup2(fd, 83), 83);
	EXPECT_OK(syscall(SYS_close_range, 80, 82, 0));
	EXPECT_ERRNO(fcntl(80, F_GETFD), EBADF);
	EXPECT_ERRNO(fcntl(81, F_GETFD), EBADF);
	EXPECT_EQ(fcntl(83, F_GETFD), 0);
	EXPECT_OK(syscall(SYS_close_range, 83, 83, CLOSE_RANGE_CLOEXEC));
	EXPECT_EQ(fcntl(83, F_GETFD), FD_CLOEXEC);
	EXPECT_ERRNO(syscall(SYS_close_range, 10, 5, 0), EINVAL);
}

CASE(close_range_bad_flags_einval)
{
	int fd = tmpfd(O_RDONLY);

	ASSERT_EQ(dup2(fd, 80), 80);
	EXPECT_ERRNO(syscall(SYS_close_range, 80, 80, 1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_close_range, 80, 80, 8), EINVAL);
	EXPECT_EQ(fcntl(80, F_GETFD), 0);
}

CASE(close_range_to_uint_max_closes_everything_above)
{
	int fd = tmpfd(O_RDONLY);

	ASSERT_EQ(dup2(fd, 90), 90);
	ASSERT_EQ(dup2(fd, 500), 500);
	EXPECT_OK(syscall(SYS_close_range, 90, ~0U, 0));
	EXPECT_ERRNO(fcntl(90, F_GETFD), EBADF);
	EXPECT_ERRNO(fcntl(500, F_GETFD), EBADF);
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	/* Nothing open in the range is fine too. */
	EXPECT_OK(syscall(SYS_close_range, 600, 700, 0));
}

CASE(close_range_cloexec_marks_without_closing)
{
	int fd = tmpfd(O_RDONLY);

	ASSERT_EQ(dup2(fd, 70), 70);
	ASSERT_EQ(dup2(fd, 72), 72);
	EXPECT_OK(syscall(SYS_close_range, 70, ~0U, CLOSE_RANGE_CLOEXEC));
	EXPECT_EQ(fcntl(70, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(72, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

CASE(close_range_releases_posix_locks)
{
	int fd = tmpfd(O_RDWR);
	pid_t pid;

	ASSERT_OK(lock(fd, F_SETLK, F_WRLCK, 0, 0));
	ASSERT_EQ(dup2(fd, 60), 60);
	ASSERT_OK(syscall(SYS_close_range, 60, 60, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(lock(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* A child sharing the fd table (clone CLONE_FILES) runs fn and exits. */
static int in_files_sharing_child(int (*fn)(void))
{
	pid_t pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);

	if (pid < 0)
		FAILX("clone: %s", h_errname(errno));
	if (pid == 0)
		_exit(fn());
	return h_wait(pid);
}

static int close_fd_50(void)
{
	return close(50) == 0 ? 0 : 1;
}

static int unshare_and_close_fd_50(void)
{
	if (syscall(SYS_close_range, 50, 50, CLOSE_RANGE_UNSHARE) != 0)
		return 1;
	return fcntl(50, F_GETFD) == -1 && errno == EBADF ? 0 : 2;
}

CASE(close_range_unshare_leaves_the_shared_table_alone)
{
	int fd = tmpfd(O_RDONLY);

	ASSERT_EQ(dup2(fd, 50), 50);
	/* Without CLOSE_RANGE_UNSHARE a close in the child closes ours. */
	EXPECT_EXITED(in_files_sharing_child(close_fd_50), 0);
	EXPECT_ERRNO(fcntl(50, F_GETFD), EBADF);
	ASSERT_EQ(dup2(fd, 50), 50);
	EXPECT_EXITED(in_files_sharing_child(unshare_and_close_fd_50), 0);
	EXPECT_EQ(fcntl(50, F_GETFD), 0);
}

HARNESS_MAIN
