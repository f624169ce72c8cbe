/*
 * Advisory locks: POSIX record locks (F_GETLK/F_SETLK/F_SETLKW), open file
 * description locks (F_OFD_*), and flock(2). See fcntl(2) "Advisory record
 * locking", "Open file description locks" and flock(2).
 *
 * A process's own locks never conflict with it, so conflicts are observed
 * from a forked child; pipes order the two processes.
 */
#include "harness.h"

#include <poll.h>
#include <sys/file.h>
#include <sys/time.h>

/* A 100-byte file "f" in the case directory, opened with flags. */
static int lockfile(int flags)
{
	static char data[100];
	const char *p = h_path("f");

	h_write_file(p, data, sizeof(data));
	return ASSERT_OK(open(p, flags));
}

static int reopen(int flags)
{
	return ASSERT_OK(open(h_path("f"), flags));
}

static int rec(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};

	return fcntl(fd, cmd, &fl);
}

static int setlk(int fd, short type, off_t start, off_t len)
{
	return rec(fd, F_SETLK, type, SEEK_SET, start, len);
}

/*
 * From a forked child (which owns no locks): tries F_SETLK of type on
 * start/len through fd. Returns 0 if granted, 1 if it conflicts
 * (EAGAIN/EACCES), 2 on any other error.
 */
static int child_try(int fd, short type, off_t start, off_t len)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		if (setlk(fd, type, start, len) == 0)
			_exit(0);
		_exit(errno == EAGAIN || errno == EACCES ? 1 : 2);
	}
	st = h_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

/* F_GETLK of a write lock on start/len from a forked child. */
static struct flock child_getlk(int fd, off_t start, off_t len)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		FAILX("pipe: %s", h_errname(errno));
	pid = fork();
	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		if (fcntl(fd, F_GETLK, &fl) != 0)
			fl.l_type = -1;
		write(p[1], &fl, sizeof(fl));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &fl, sizeof(fl)) != sizeof(fl))
		fl.l_type = -2;
	close(p[0]);
	h_wait(pid);
	return fl;
}

/* Waits until fd is readable or ms pass; returns 1 if readable. */
static int readable_within(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 1;
}

/* ---- F_GETLK ---- */

CASE(getlk_own_lock_reports_unlck_and_keeps_fields)
{
	int fd = lockfile(O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 4};

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	EXPECT_OK(fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_UNLCK);
	EXPECT_EQ(fl.l_start, 3);
	EXPECT_EQ(fl.l_len, 4);
}

CASE(getlk_reports_conflicting_lock_and_pid)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(setlk(fd, F_WRLCK, 10, 10));
	fl = child_getlk(fd, 0, 0);
	EXPECT_EQ(fl.l_type, F_WRLCK);
	EXPECT_EQ(fl.l_whence, SEEK_SET);
	EXPECT_EQ(fl.l_start, 10);
	EXPECT_EQ(fl.l_len, 10);
	EXPECT_SAME(fl.l_pid, getpid());
	fl = child_getlk(fd, 20, 5);
	EXPECT_EQ(fl.l_type, F_UNLCK);
}

CASE(getlk_reports_len_zero_for_lock_to_eof)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(setlk(fd, F_RDLCK, 5, 0));
	fl = child_getlk(fd, 1000000, 1);
	EXPECT_EQ(fl.l_type, F_RDLCK);
	EXPECT_EQ(fl.l_start, 5);
	EXPECT_EQ(fl.l_len, 0);
}

CASE(getlk_unlck_type_einval)
{
	int fd = lockfile(O_RDWR);

	EXPECT_ERRNO(rec(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1), EINVAL);
	EXPECT_ERRNO(rec(fd, F_GETLK, 7, SEEK_SET, 0, 1), EINVAL);
}

/* ---- read and write locks ---- */

CASE(read_locks_are_shared_write_locks_are_not)
{
	int fd = lockfile(O_RDWR);

	ASSERT_OK(setlk(fd, F_RDLCK, 0, 10));
	EXPECT_EQ(child_try(fd, F_RDLCK, 0, 10), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 5, 1), 1);
	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	EXPECT_EQ(child_try(fd, F_RDLCK, 9, 1), 1);
}

CASE(disjoint_ranges_do_not_conflict)
{
	int fd = lockfile(O_RDWR);

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	EXPECT_EQ(child_try(fd, F_WRLCK, 10, 10), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 9, 1), 1);
}

CASE(setlk_conflict_is_eagain_or_eacces)
{
	int fd = lockfile(O_RDWR);
	pid_t pid;

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int r = setlk(fd, F_RDLCK, 0, 1);

		_exit(r == -1 && (errno == EAGAIN || errno == EACCES) ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- ranges ---- */

CASE(whence_seek_cur_is_relative_to_offset)
{
	int fd = lockfile(O_RDWR);

	ASSERT_EQ(lseek(fd, 20, SEEK_SET), 20);
	ASSERT_OK(rec(fd, F_SETLK, F_WRLCK, SEEK_CUR, -5, 10)); /* 15..24 */
	EXPECT_EQ(child_try(fd, F_WRLCK, 14, 1), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 15, 1), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 24, 1), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 25, 1), 0);
}

CASE(whence_seek_end_is_relative_to_size)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(rec(fd, F_SETLK, F_WRLCK, SEEK_END, -10, 5)); /* 90..94 */
	fl = child_getlk(fd, 0, 0);
	EXPECT_EQ(fl.l_type, F_WRLCK);
	EXPECT_EQ(fl.l_start, 90);
	EXPECT_EQ(fl.l_len, 5);
}

CASE(negative_len_covers_bytes_before_start)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(setlk(fd, F_WRLCK, 10, -5)); /* 5..9 */
	EXPECT_EQ(child_try(fd, F_WRLCK, 4, 1), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 5, 1), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 9, 1), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 10, 1), 0);
	fl = child_getlk(fd, 0, 0);
	EXPECT_EQ(fl.l_start, 5);
	EXPECT_EQ(fl.l_len, 5);
}

CASE(len_zero_extends_past_eof)
{
	int fd = lockfile(O_RDWR);

	ASSERT_OK(setlk(fd, F_WRLCK, 50, 0));
	EXPECT_EQ(child_try(fd, F_WRLCK, 49, 1), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 1 << 30, 1), 1);
}

CASE(bad_ranges_and_whence_einval)
{
	int fd = lockfile(O_RDWR);

	EXPECT_ERRNO(setlk(fd, F_WRLCK, -1, 1), EINVAL);
	EXPECT_ERRNO(setlk(fd, F_WRLCK, 5, -10), EINVAL);
	EXPECT_ERRNO(rec(fd, F_SETLK, F_WRLCK, SEEK_CUR, -1, 1), EINVAL);
	EXPECT_ERRNO(rec(fd, F_SETLK, F_WRLCK, 3, 0, 1), EINVAL);
	EXPECT_ERRNO(rec(fd, F_GETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL);
}

CASE(unlock_in_the_middle_splits_a_lock)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 100));
	ASSERT_OK(setlk(fd, F_UNLCK, 40, 20)); /* leaves 0..39 and 60..99 */
	EXPECT_EQ(child_try(fd, F_WRLCK, 40, 20), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 39, 1), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 60, 1), 1);
	fl = child_getlk(fd, 30, 15);
	EXPECT_EQ(fl.l_start, 0);
	EXPECT_EQ(fl.l_len, 40);
	fl = child_getlk(fd, 50, 20);
	EXPECT_EQ(fl.l_start, 60);
	EXPECT_EQ(fl.l_len, 40);
}

CASE(read_lock_inside_write_lock_downgrades_that_part)
{
	int fd = lockfile(O_RDWR);

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 100));
	ASSERT_OK(setlk(fd, F_RDLCK, 40, 20));
	EXPECT_EQ(child_try(fd, F_RDLCK, 40, 20), 0);
	EXPECT_EQ(child_try(fd, F_RDLCK, 39, 2), 1);
	EXPECT_EQ(child_try(fd, F_WRLCK, 50, 1), 1);
	EXPECT_EQ(child_try(fd, F_RDLCK, 60, 1), 1);
}

CASE(adjacent_locks_of_one_kind_merge)
{
	int fd = lockfile(O_RDWR);
	struct flock fl;

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	ASSERT_OK(setlk(fd, F_WRLCK, 10, 10));
	fl = child_getlk(fd, 0, 0);
	EXPECT_EQ(fl.l_start, 0);
	EXPECT_EQ(fl.l_len, 20);
}

CASE(unlock_of_unlocked_range_succeeds)
{
	int fd = lockfile(O_RDONLY);

	EXPECT_OK(setlk(fd, F_UNLCK, 0, 0));
}

/* ---- argument checks ---- */

CASE(lock_type_needs_matching_access_mode)
{
	int rd = lockfile(O_RDONLY);
	int wr = reopen(O_WRONLY);

	EXPECT_ERRNO(setlk(rd, F_WRLCK, 0, 1), EBADF);
	EXPECT_ERRNO(setlk(wr, F_RDLCK, 0, 1), EBADF);
	EXPECT_OK(setlk(rd, F_RDLCK, 0, 1));
	EXPECT_OK(setlk(wr, F_WRLCK, 1, 1));
	EXPECT_OK(setlk(rd, F_UNLCK, 0, 0));
	EXPECT_ERRNO(rec(rd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
}

CASE(bad_type_fd_and_pointer)
{
	int fd = lockfile(O_RDWR);
	int path = ASSERT_OK(open(h_path("f"), O_PATH));

	EXPECT_ERRNO(setlk(fd, 42, 0, 1), EINVAL);
	EXPECT_ERRNO(setlk(1000, F_WRLCK, 0, 1), EBADF);
	EXPECT_ERRNO(setlk(path, F_UNLCK, 0, 1), EBADF);
	EXPECT_ERRNO(fcntl(fd, F_SETLK, BAD_PTR), EFAULT);
	EXPECT_ERRNO(fcntl(fd, F_GETLK, BAD_PTR), EFAULT);
}

/* ---- owners and release ---- */

CASE(same_file_through_another_path_conflicts)
{
	int fd = lockfile(O_RDWR);
	int other;

	ASSERT_OK(mkdir(h_path("sub"), 0755));
	other = ASSERT_OK(open(h_path("sub/../f"), O_RDWR));
	ASSERT_OK(setlk(fd, F_WRLCK, 0, 1));
	EXPECT_EQ(child_try(other, F_WRLCK, 0, 1), 1);
	/* The same process may lock through either: the locks are one set. */
	EXPECT_OK(setlk(other, F_RDLCK, 0, 1));
	EXPECT_EQ(child_try(fd, F_RDLCK, 0, 1), 0);
}

CASE(closing_any_fd_of_the_file_drops_posix_locks)
{
	int fd = lockfile(O_RDWR);
	int other = reopen(O_RDONLY);
	int dupped = ASSERT_OK(dup(fd));

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	EXPECT_EQ(child_try(fd, F_WRLCK, 0, 1), 1);
	/* Even a dup of the locking fd: the locks are the process's. */
	ASSERT_OK(close(dupped));
	EXPECT_EQ(child_try(fd, F_WRLCK, 0, 1), 0);
	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	ASSERT_OK(close(other));
	EXPECT_EQ(child_try(fd, F_WRLCK, 0, 1), 0);
}

CASE(posix_locks_not_inherited_by_fork)
{
	int fd = lockfile(O_RDWR);
	pid_t pid;

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 0};
		int ok = 1;

		/* The parent's lock is someone else's here; unlocking is a no-op. */
		ok &= fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == getppid();
		ok &= setlk(fd, F_UNLCK, 0, 0) == 0;
		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(child_try(fd, F_WRLCK, 0, 1), 1);
}

CASE(posix_locks_released_at_exit)
{
	int fd = lockfile(O_RDWR);
	int ready[2], finish[2];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	pid_t pid;
	char c;

	ASSERT_OK(pipe(ready));
	ASSERT_OK(pipe(finish));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(finish[1]);
		if (setlk(fd, F_WRLCK, 0, 0) != 0)
			_exit(1);
		write(ready[1], "r", 1);
		read(finish[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_OK(fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_WRLCK);
	EXPECT_SAME(fl.l_pid, pid);
	EXPECT_ERRNO(setlk(fd, F_WRLCK, 0, 1), EAGAIN);
	close(finish[1]);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(setlk(fd, F_WRLCK, 0, 1));
}

/* ---- F_SETLKW ---- */

CASE(setlkw_waits_for_unlock)
{
	int fd = lockfile(O_RDWR);
	int got[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(got));
	ASSERT_OK(setlk(fd, F_WRLCK, 0, 10));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (rec(fd, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1) != 0)
			_exit(1);
		write(got[1], "g", 1);
		_exit(0);
	}
	close(got[1]);
	EXPECT_EQ(readable_within(got[0], 200), 0);
	ASSERT_OK(setlk(fd, F_UNLCK, 0, 10));
	EXPECT_EQ(read(got[0], &c, 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

CASE(setlkw_interrupted_by_signal_eintr)
{
	int fd = lockfile(O_RDWR);
	pid_t pid;

	ASSERT_OK(setlk(fd, F_WRLCK, 0, 1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
		struct itimerval it = {.it_value = {.tv_usec = 100000}};

		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		if (rec(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1) == 0)
			_exit(1);
		_exit(errno == EINTR ? 0 : 2);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(setlkw_deadlock_edeadlk)
{
	int fd = lockfile(O_RDWR);
	int ready[2], result[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(ready));
	ASSERT_OK(pipe(result));
	ASSERT_OK(setlk(fd, F_WRLCK, 0, 1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int r;

		if (setlk(fd, F_WRLCK, 1, 1) != 0)
			_exit(1);
		write(ready[1], "r", 1);
		/* Give the parent time to block on byte 1. */
		usleep(300000);
		r = rec(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		c = r == -1 && errno == EDEADLK ? 'd' : 'x';
		write(result[1], &c, 1);
		_exit(0);
	}
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	/* Blocks until the child exits (which releases byte 1). */
	EXPECT_OK(rec(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
	EXPECT_EQ(read(result[0], &c, 1), 1);
	EXPECT_EQ(c, 'd');
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- OFD locks ---- */

CASE(ofd_locks_conflict_between_open_files_of_one_process)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	ASSERT_OK(rec(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	EXPECT_ERRNO(rec(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 5, 1), EAGAIN);
	EXPECT_OK(rec(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 10, 1));
	EXPECT_OK(fcntl(b, F_OFD_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_WRLCK);
	EXPECT_EQ(fl.l_len, 10);
	EXPECT_EQ(fl.l_pid, -1);
}

CASE(ofd_and_posix_locks_of_one_process_conflict)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	ASSERT_OK(setlk(a, F_WRLCK, 0, 1));
	EXPECT_ERRNO(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EAGAIN);
	EXPECT_OK(fcntl(b, F_OFD_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_WRLCK);
	EXPECT_SAME(fl.l_pid, getpid());
}

CASE(ofd_lpid_must_be_zero)
{
	int fd = lockfile(O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1, .l_pid = 1};

	EXPECT_ERRNO(fcntl(fd, F_OFD_SETLK, &fl), EINVAL);
	EXPECT_ERRNO(fcntl(fd, F_OFD_GETLK, &fl), EINVAL);
	fl.l_pid = 0;
	EXPECT_OK(fcntl(fd, F_OFD_SETLK, &fl));
}

CASE(ofd_getlk_unlck_reports_own_lock)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	EXPECT_OK(fcntl(a, F_OFD_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_UNLCK);
	ASSERT_OK(rec(a, F_OFD_SETLK, F_RDLCK, SEEK_SET, 4, 2));
	ASSERT_OK(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 10, 2));
	/* F_UNLCK asks which locks this very description holds. */
	EXPECT_OK(fcntl(a, F_OFD_GETLK, &fl));
	EXPECT_EQ(fl.l_type, F_RDLCK);
	EXPECT_EQ(fl.l_start, 4);
	EXPECT_EQ(fl.l_len, 2);
	EXPECT_EQ(fl.l_pid, -1);
}

CASE(ofd_lock_lives_until_last_fd_of_description_closes)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	int c = reopen(O_RDONLY);
	int d = ASSERT_OK(dup(a));

	ASSERT_OK(rec(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	/* Unlike POSIX locks, closing other fds of the file does nothing. */
	ASSERT_OK(close(c));
	ASSERT_OK(close(a));
	EXPECT_ERRNO(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EAGAIN);
	ASSERT_OK(close(d));
	EXPECT_OK(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
}

CASE(ofd_lock_shared_with_fork_child)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	pid_t pid;

	ASSERT_OK(rec(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		/* Same description, same owner: the child may drop the lock. */
		_exit(rec(a, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
}

CASE(ofd_setlkw_waits_for_other_description)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);
	int got[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(got));
	ASSERT_OK(rec(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(a);
		if (rec(b, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1) != 0)
			_exit(1);
		write(got[1], "g", 1);
		_exit(0);
	}
	close(got[1]);
	EXPECT_EQ(readable_within(got[0], 200), 0);
	ASSERT_OK(close(a));
	EXPECT_EQ(read(got[0], &c, 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- flock ---- */

CASE(flock_shared_locks_coexist)
{
	int a = lockfile(O_RDONLY);
	int b = reopen(O_RDONLY);

	EXPECT_OK(flock(a, LOCK_SH));
	EXPECT_OK(flock(b, LOCK_SH | LOCK_NB));
	EXPECT_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
}

CASE(flock_upgrade_when_alone)
{
	int a = lockfile(O_RDONLY);
	int b = reopen(O_RDONLY);

	ASSERT_OK(flock(a, LOCK_SH));
	EXPECT_OK(flock(a, LOCK_EX | LOCK_NB));
	EXPECT_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	EXPECT_OK(flock(a, LOCK_SH));
	EXPECT_OK(flock(b, LOCK_SH | LOCK_NB));
}

CASE(flock_failed_conversion_drops_the_old_lock)
{
	int a = lockfile(O_RDONLY);
	int b = reopen(O_RDONLY);

	ASSERT_OK(flock(a, LOCK_SH));
	ASSERT_OK(flock(b, LOCK_SH));
	/* flock(2): a conversion removes the old lock first. */
	EXPECT_ERRNO(flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	EXPECT_OK(flock(b, LOCK_EX | LOCK_NB));
}

CASE(flock_shared_by_dup_released_on_last_close)
{
	int a = lockfile(O_RDONLY);
	int b = reopen(O_RDONLY);
	int d = ASSERT_OK(dup(a));

	ASSERT_OK(flock(a, LOCK_EX));
	ASSERT_OK(close(a));
	EXPECT_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	EXPECT_OK(flock(d, LOCK_EX | LOCK_NB));
	ASSERT_OK(close(d));
	EXPECT_OK(flock(b, LOCK_EX | LOCK_NB));
}

CASE(flock_inherited_by_fork_child)
{
	int a = lockfile(O_RDONLY);
	int b = reopen(O_RDONLY);
	pid_t pid;

	ASSERT_OK(flock(a, LOCK_EX));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(flock(a, LOCK_UN) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_OK(flock(b, LOCK_EX | LOCK_NB));
}

CASE(flock_blocks_until_unlock)
{
	int a = lockfile(O_RDONLY);
	int got[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(got));
	ASSERT_OK(flock(a, LOCK_EX));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int b = open(h_path("f"), O_RDONLY);

		if (b < 0 || flock(b, LOCK_SH) != 0)
			_exit(1);
		write(got[1], "g", 1);
		_exit(0);
	}
	close(got[1]);
	EXPECT_EQ(readable_within(got[0], 200), 0);
	ASSERT_OK(flock(a, LOCK_UN));
	EXPECT_EQ(read(got[0], &c, 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(flock_interrupted_by_signal_eintr)
{
	int a = lockfile(O_RDONLY);
	pid_t pid;

	ASSERT_OK(flock(a, LOCK_EX));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_alarm};
		struct itimerval it = {.it_value = {.tv_usec = 100000}};
		int b = open(h_path("f"), O_RDONLY);

		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		if (flock(b, LOCK_EX) == 0)
			_exit(1);
		_exit(errno == EINTR ? 0 : 2);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(flock_and_record_locks_are_independent)
{
	int a = lockfile(O_RDWR);
	int b = reopen(O_RDWR);

	ASSERT_OK(flock(a, LOCK_EX));
	EXPECT_OK(rec(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0));
	EXPECT_EQ(child_try(b, F_WRLCK, 0, 0), 1);
	EXPECT_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
}

CASE(flock_argument_errors)
{
	int fd = lockfile(O_RDONLY);
	int path = ASSERT_OK(open(h_path("f"), O_PATH));

	EXPECT_ERRNO(flock(fd, LOCK_NB), EINVAL);
	EXPECT_ERRNO(flock(fd, LOCK_UN | LOCK_EX), EINVAL);
	EXPECT_ERRNO(flock(fd, 16), EINVAL);
	/* The operation is checked before the fd. */
	EXPECT_ERRNO(flock(-1, 0), EINVAL);
	EXPECT_ERRNO(flock(-1, LOCK_SH), EBADF);
	EXPECT_ERRNO(flock(path, LOCK_SH), EBADF);
	EXPECT_ERRNO(flock(path, LOCK_UN), EBADF);
}

CASE(flock_works_on_directories_and_write_only_files)
{
	int dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	int wr = lockfile(O_WRONLY);

	EXPECT_OK(flock(dir, LOCK_EX | LOCK_NB));
	EXPECT_OK(flock(wr, LOCK_SH | LOCK_NB));
}

HARNESS_MAIN
