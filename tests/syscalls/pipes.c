/*
 * Pipes: pipe, pipe2, blocking and O_NONBLOCK reads and writes, EOF, EPIPE
 * and SIGPIPE, PIPE_BUF atomicity, capacity (F_GETPIPE_SZ/F_SETPIPE_SZ),
 * FIONREAD.
 */
#include "harness.h"

#include <grp.h>
#include <limits.h>
#include <sys/ioctl.h>

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Writes into a non-blocking pipe until it is full; returns the bytes written. */
static long fill(int fd)
{
	static char buf[4096];
	long total = 0;

	nonblock(fd);
	for (;;) {
		ssize_t w = write(fd, buf, sizeof(buf));

		if (w < 0)
			break;
		total += w;
	}
	return errno == EAGAIN ? total : -1;
}

CASE(pipe_roundtrip)
{
	int p[2];
	char buf[16] = {0};

	ASSERT_OK(pipe(p));
	EXPECT_EQ(write(p[1], "hello", 5), 5);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
	EXPECT_STREQ(buf, "hello");
}

CASE(pipe_uses_lowest_fds)
{
	int p[2], q[2];

	ASSERT_OK(pipe(p));
	EXPECT_EQ(p[1], p[0] + 1);
	ASSERT_OK(close(p[0]));
	ASSERT_OK(pipe(q));
	EXPECT_EQ(q[0], p[0]);
	EXPECT_EQ(q[1], p[1] + 1);
}

CASE(pipe_syscall_directly)
{
	int p[2];

	ASSERT_OK(syscall(SYS_pipe, p));
	EXPECT_EQ(write(p[1], "x", 1), 1);
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
}

CASE(pipe_wrong_direction_ebadf)
{
	int p[2];
	char c;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(write(p[0], "x", 1), EBADF);
	EXPECT_ERRNO(read(p[1], &c, 1), EBADF);
}

CASE(pipe_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_pipe, BAD_PTR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_pipe2, BAD_PTR, 0), EFAULT);
}

CASE(pipe2_flags)
{
	int p[2];

	ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	EXPECT_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	EXPECT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ASSERT_OK(pipe2(p, 0));
	EXPECT_EQ(fcntl(p[0], F_GETFD), 0);
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

CASE(pipe2_bad_flags_einval)
{
	int p[2];

	EXPECT_ERRNO(pipe2(p, O_APPEND), EINVAL);
	EXPECT_ERRNO(pipe2(p, 0x1), EINVAL);
	EXPECT_ERRNO(pipe2(p, O_RDWR), EINVAL);
}

CASE(pipe_fstat_is_fifo)
{
	int p[2];
	struct stat a, b;

	ASSERT_OK(pipe(p));
	ASSERT_OK(fstat(p[0], &a));
	ASSERT_OK(fstat(p[1], &b));
	EXPECT_TRUE(S_ISFIFO(a.st_mode));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

CASE(pipe_short_read_returns_available)
{
	int p[2];
	char buf[100];

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_EQ(write(p[1], "de", 2), 2);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
	EXPECT_MEMEQ(buf, "abcde", 5);
}

CASE(pipe_partial_reads_keep_order)
{
	int p[2];
	char buf[4] = {0};

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "abcdef", 6), 6);
	EXPECT_EQ(read(p[0], buf, 2), 2);
	EXPECT_STREQ(buf, "ab");
	EXPECT_EQ(read(p[0], buf, 3), 3);
	EXPECT_STREQ(buf, "cde");
	EXPECT_EQ(read(p[0], buf, 3), 1);
	EXPECT_EQ(buf[0], 'f');
}

CASE(pipe_eof_after_writers_close)
{
	int p[2];
	char c;

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "z", 1), 1);
	ASSERT_OK(close(p[1]));
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(read(p[0], &c, 1), 0);
	EXPECT_EQ(read(p[0], &c, 1), 0);
}

CASE(pipe_dup_keeps_writer_alive)
{
	int p[2], d;
	char c;

	ASSERT_OK(pipe(p));
	d = ASSERT_OK(dup(p[1]));
	ASSERT_OK(close(p[1]));
	nonblock(p[0]);
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
	ASSERT_OK(close(d));
	EXPECT_EQ(read(p[0], &c, 1), 0);
}

CASE(pipe_nonblocking_empty_read_eagain)
{
	int p[2];
	char c;

	ASSERT_OK(pipe2(p, O_NONBLOCK));
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
}

CASE(pipe_zero_length_io)
{
	int p[2];
	char c;

	ASSERT_OK(pipe2(p, O_NONBLOCK));
	EXPECT_EQ(write(p[1], "x", 0), 0);
	EXPECT_EQ(read(p[0], &c, 0), 0);
}

CASE(pipe_epipe_when_no_readers)
{
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ASSERT_OK(pipe(p));
	ASSERT_OK(close(p[0]));
	EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
	EXPECT_ERRNO(write(p[1], "xy", 2), EPIPE);
}

static int write_no_reader(void)
{
	int p[2];

	if (pipe(p) != 0)
		return 2;
	close(p[0]);
	write(p[1], "x", 1);
	return 3;
}

CASE(pipe_sigpipe_kills_by_default)
{
	EXPECT_SIGNALED(h_in_child(write_no_reader), SIGPIPE);
}

static volatile int sigpipe_hits;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipe_hits++;
}

CASE(pipe_sigpipe_handler_then_epipe)
{
	int p[2];

	signal(SIGPIPE, on_sigpipe);
	ASSERT_OK(pipe(p));
	ASSERT_OK(close(p[0]));
	EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
	EXPECT_EQ(sigpipe_hits, 1);
}

CASE(pipe_default_capacity_64k)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
	EXPECT_EQ(fill(p[1]), 65536);
}

CASE(pipe_full_nonblocking_write_eagain)
{
	int p[2];

	ASSERT_OK(pipe(p));
	ASSERT_GT(fill(p[1]), 0);
	EXPECT_ERRNO(write(p[1], "x", 1), EAGAIN);
}

CASE(pipe_nonblocking_small_write_all_or_nothing)
{
	/* A write of at most PIPE_BUF bytes is never split: EAGAIN if it does not fit. */
	static char buf[65536];
	int p[2];

	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
	ASSERT_EQ(write(p[1], buf, 65536 - 10), 65536 - 10);
	EXPECT_ERRNO(write(p[1], buf, 100), EAGAIN);
	EXPECT_EQ(write(p[1], buf, 10), 10);
}

CASE(pipe_nonblocking_large_write_partial)
{
	static char buf[65536];
	int p[2];

	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
	ASSERT_EQ(write(p[1], buf, 65536 - 2 * 4096), 65536 - 2 * 4096);
	/* More than PIPE_BUF: as much as fits is written. */
	EXPECT_EQ(write(p[1], buf, 3 * 4096), 2 * 4096);
}

CASE(pipe_fionread_counts_unread_bytes)
{
	int p[2], n = -1;
	char buf[4];

	ASSERT_OK(pipe(p));
	ASSERT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_EQ(n, 0);
	ASSERT_EQ(write(p[1], "abcdefg", 7), 7);
	ASSERT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_EQ(n, 7);
	ASSERT_EQ(read(p[0], buf, 4), 4);
	ASSERT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_EQ(n, 3);
}

CASE(pipe_setpipe_sz)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_GE(fcntl(p[0], F_SETPIPE_SZ, 8192), 8192);
	EXPECT_EQ(fcntl(p[1], F_GETPIPE_SZ), 8192);
	EXPECT_EQ(fill(p[1]), 8192);
	/* Shrinking below what is buffered fails. */
	EXPECT_ERRNO(fcntl(p[0], F_SETPIPE_SZ, 4096), EBUSY);
}

CASE(pipe_setpipe_sz_rounds_up)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_EQ(fcntl(p[0], F_SETPIPE_SZ, 5000), 8192);
	EXPECT_EQ(fcntl(p[0], F_SETPIPE_SZ, 1), 4096);
}

CASE(pipe_blocking_read_waits_for_writer)
{
	int p[2];
	char buf[8] = {0};
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		usleep(30000);
		write(p[1], "late", 4);
		_exit(0);
	}
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "late");
	h_wait(pid);
}

CASE(pipe_blocking_write_waits_for_reader)
{
	size_t total = 1 << 20;
	char *buf = malloc(total);
	int p[2];
	pid_t pid;

	ASSERT_OK(pipe(p));
	for (size_t i = 0; i < total; i++)
		buf[i] = (char)(i * 31 + 7);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *got = malloc(total);
		size_t off = 0;

		close(p[1]);
		while (off < total) {
			ssize_t r = read(p[0], got + off, total - off);

			if (r <= 0)
				_exit(1);
			off += r;
		}
		_exit(memcmp(got, buf, total) == 0 ? 0 : 2);
	}
	close(p[0]);
	/* Larger than the capacity: write blocks until it all went through. */
	EXPECT_EQ(write(p[1], buf, total), total);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(pipe_writer_blocked_then_reader_closes_epipe)
{
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		static char buf[1 << 18];
		ssize_t w;

		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		do
			w = write(p[1], buf, sizeof(buf));
		while (w > 0);
		_exit(w < 0 && errno == EPIPE ? 0 : 1);
	}
	close(p[1]);
	ASSERT_EQ(read(p[0], &c, 1), 1);
	usleep(20000);
	close(p[0]);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(pipe_buf_writes_are_atomic)
{
	/* Four writers each send 64 records of PIPE_BUF bytes filled with their id. */
	enum { WRITERS = 4, RECORDS = 64 };
	int p[2], bad = 0, counts[WRITERS] = {0};
	pid_t pids[WRITERS];
	static char rec[PIPE_BUF];

	ASSERT_OK(pipe(p));
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = ASSERT_OK(fork());
		if (pids[w] == 0) {
			memset(rec, 'A' + w, sizeof(rec));
			close(p[0]);
			for (int i = 0; i < RECORDS; i++)
				if (write(p[1], rec, sizeof(rec)) != sizeof(rec))
					_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	for (;;) {
		size_t off = 0;

		while (off < sizeof(rec)) {
			ssize_t r = read(p[0], rec + off, sizeof(rec) - off);

			if (r <= 0)
				break;
			off += r;
		}
		if (off == 0)
			break;
		if (off != sizeof(rec) || rec[0] < 'A' || rec[0] >= 'A' + WRITERS) {
			bad++;
			break;
		}
		for (size_t i = 1; i < sizeof(rec); i++)
			if (rec[i] != rec[0]) {
				bad++;
				break;
			}
		counts[rec[0] - 'A']++;
	}
	EXPECT_EQ(bad, 0);
	for (int w = 0; w < WRITERS; w++) {
		EXPECT_EQ(counts[w], RECORDS);
		EXPECT_EXITED(h_wait(pids[w]), 0);
	}
}

CASE(pipe_packet_mode_keeps_boundaries)
{
	int p[2];
	char buf[64];

	ASSERT_OK(pipe2(p, O_DIRECT | O_NONBLOCK));
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_EQ(write(p[1], "defg", 4), 4);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 3);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
}

CASE(pipe_packet_mode_truncates_to_read_size)
{
	int p[2];
	char buf[64];

	ASSERT_OK(pipe2(p, O_DIRECT | O_NONBLOCK));
	EXPECT_TRUE(fcntl(p[1], F_GETFL) & O_DIRECT);
	ASSERT_EQ(write(p[1], "abcdefghij", 10), 10);
	ASSERT_EQ(write(p[1], "kl", 2), 2);
	/* A short read takes part of one packet and drops the rest. */
	EXPECT_EQ(read(p[0], buf, 4), 4);
	EXPECT_MEMEQ(buf, "abcd", 4);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "kl", 2);
	EXPECT_ERRNO(read(p[0], buf, sizeof(buf)), EAGAIN);
}

CASE(pipe_packet_mode_splits_writes_into_pages)
{
	static char big[5000];
	static char buf[8192];
	int p[2];

	ASSERT_OK(pipe2(p, O_DIRECT | O_NONBLOCK));
	ASSERT_EQ(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4096);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5000 - 4096);
}

CASE(pipe_packet_mode_each_packet_takes_a_page)
{
	int p[2], n = 0;

	ASSERT_OK(pipe2(p, O_DIRECT | O_NONBLOCK));
	ASSERT_EQ(fcntl(p[1], F_SETPIPE_SZ, 4 * 4096), 4 * 4096);
	while (write(p[1], "x", 1) == 1 && n < 100)
		n++;
	EXPECT_EQ(n, 4);
	EXPECT_EQ(errno, EAGAIN);
}

CASE(pipe_small_writes_share_a_page)
{
	static char buf[4096];
	int p[2];

	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	ASSERT_EQ(write(p[1], buf, 100), 100);
	ASSERT_EQ(write(p[1], buf, 100), 100);
	EXPECT_EQ(write(p[1], buf, 4096 - 200), 4096 - 200);
	EXPECT_ERRNO(write(p[1], buf, 1), EAGAIN);
}

CASE(pipe_setpipe_sz_grows_capacity)
{
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_EQ(fcntl(p[1], F_SETPIPE_SZ, 100000), 131072);
	EXPECT_EQ(fcntl(p[0], F_GETPIPE_SZ), 131072);
	EXPECT_EQ(fill(p[1]), 131072);
}

CASE(pipe_setpipe_sz_bad_values)
{
	int p[2];
	int fd = ASSERT_OK(open("/", O_RDONLY | O_DIRECTORY));

	ASSERT_OK(pipe(p));
	/* Above 2^31 bytes the size cannot be rounded: EINVAL. */
	EXPECT_ERRNO(fcntl(p[0], F_SETPIPE_SZ, (1UL << 31) + 1), EINVAL);
	EXPECT_ERRNO(fcntl(p[0], F_SETPIPE_SZ, -1), EINVAL);
	EXPECT_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
	/* Not a pipe. */
	EXPECT_ERRNO(fcntl(fd, F_GETPIPE_SZ), EBADF);
	EXPECT_ERRNO(fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
}

CASE(pipe_setpipe_sz_above_max_eperm_unprivileged)
{
	int p[2];
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int ok = 1;

		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		/* /proc/sys/fs/pipe-max-size is 1 MiB by default. */
		ok &= fcntl(p[0], F_SETPIPE_SZ, (1 << 20) + 1) == -1 && errno == EPERM;
		ok &= fcntl(p[0], F_SETPIPE_SZ, 1 << 20) == 1 << 20;
		_exit(ok ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(pipe_setpipe_sz_ebusy_counts_pages_not_bytes)
{
	int p[2];

	ASSERT_OK(pipe(p));
	/* Three one-byte packets fill three pages. */
	ASSERT_OK(fcntl(p[1], F_SETFL, O_DIRECT));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	ASSERT_EQ(write(p[1], "c", 1), 1);
	EXPECT_ERRNO(fcntl(p[1], F_SETPIPE_SZ, 8192), EBUSY);
	EXPECT_EQ(fcntl(p[1], F_SETPIPE_SZ, 16384), 16384);
}

CASE(pipe_close_on_exec_closes_in_child_exec)
{
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe2(p, O_CLOEXEC));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *argv[] = {"true", NULL};

		execve("/bin/true", argv, (char *[]){NULL});
		_exit(127);
	}
	close(p[1]);
	/* The exec'd child does not hold the write end: EOF once it is gone. */
	EXPECT_EQ(read(p[0], &c, 1), 0);
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
