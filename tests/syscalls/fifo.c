/*
 * Named pipes (fifo(7)): mkfifo/mknod, the blocking rules of open, data
 * between processes, EOF and EPIPE, O_RDWR, poll, hard links and unlink.
 */
#include "harness.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

static const char *fifo(void)
{
	const char *p = h_path("fifo");

	if (mkfifo(p, 0600) != 0)
		FAILX("mkfifo: %s", h_errname(errno));
	return p;
}

/* A child that opens `path` with `flags` after `delay_ms`, writes `msg` if
 * it opened for writing, and exits 0. */
static pid_t opener(const char *path, int flags, int delay_ms, const char *msg)
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		usleep(delay_ms * 1000);
		int fd = open(path, flags);

		if (fd < 0)
			_exit(1);
		if (msg && write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg))
			_exit(2);
		if (!msg) {
			char c;

			if (read(fd, &c, 1) < 0)
				_exit(3);
		}
		_exit(0);
	}
	return pid;
}

static void on_alarm(int sig)
{
	(void)sig;
}

CASE(mkfifo_makes_a_fifo_with_umask_applied)
{
	struct stat st;
	const char *p = h_path("f");
	mode_t old = umask(022);

	ASSERT_OK(mkfifo(p, 0666));
	umask(old);
	ASSERT_OK(stat(p, &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0644);
	EXPECT_EQ(st.st_size, 0);
}

CASE(mkfifo_existing_name_eexist)
{
	const char *p = fifo();

	EXPECT_ERRNO(mkfifo(p, 0600), EEXIST);
	EXPECT_ERRNO(mkfifo(h_path("missing/f"), 0600), ENOENT);
}

CASE(mknod_s_ififo_makes_a_fifo)
{
	struct stat st;
	const char *p = h_path("n");

	ASSERT_OK(mknod(p, S_IFIFO | 0640, 0));
	ASSERT_OK(lstat(p, &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

CASE(nonblocking_reader_opens_without_a_writer)
{
	char c;
	int fd = open(fifo(), O_RDONLY | O_NONBLOCK);

	ASSERT_GE(fd, 0);
	/* No writer: end of file, not EAGAIN (pipe(7)). */
	EXPECT_EQ(read(fd, &c, 1), 0);
}

CASE(nonblocking_writer_without_a_reader_enxio)
{
	EXPECT_ERRNO(open(fifo(), O_WRONLY | O_NONBLOCK), ENXIO);
}

CASE(nonblocking_writer_with_a_reader_opens)
{
	const char *p = fifo();
	int r = open(p, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(r, 0);
	int w = open(p, O_WRONLY | O_NONBLOCK);

	ASSERT_GE(w, 0);
	EXPECT_EQ(write(w, "x", 1), 1);
	char c = 0;

	EXPECT_EQ(read(r, &c, 1), 1);
	EXPECT_EQ(c, 'x');
}

CASE(rdwr_open_does_not_block)
{
	char buf[4] = {0};
	int fd = open(fifo(), O_RDWR);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(write(fd, "abc", 3), 3);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "abc");
}

CASE(blocking_reader_waits_for_a_writer)
{
	const char *p = fifo();
	pid_t pid = opener(p, O_WRONLY, 100, "hello");
	int fd = open(p, O_RDONLY);
	char buf[16] = {0};

	ASSERT_GE(fd, 0);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 5);
	EXPECT_STREQ(buf, "hello");
	EXPECT_EXITED(h_wait(pid), 0);
	/* The writer has gone: end of file. */
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
}

CASE(blocking_writer_waits_for_a_reader)
{
	const char *p = fifo();
	pid_t pid = opener(p, O_RDONLY, 100, NULL);
	int fd = open(p, O_WRONLY);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(write(fd, "z", 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(writer_after_reader_left_gets_epipe)
{
	const char *p = fifo();
	int r = open(p, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(r, 0);
	int w = open(p, O_WRONLY | O_NONBLOCK);

	ASSERT_GE(w, 0);
	ASSERT_OK(close(r));
	signal(SIGPIPE, SIG_IGN);
	EXPECT_ERRNO(write(w, "x", 1), EPIPE);
}

CASE(writer_after_reader_left_gets_sigpipe)
{
	const char *p = fifo();
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r = open(p, O_RDONLY | O_NONBLOCK);
		int w = open(p, O_WRONLY | O_NONBLOCK);

		close(r);
		(void)write(w, "x", 1);
		_exit(0);
	}
	EXPECT_SIGNALED(h_wait(pid), SIGPIPE);
}

CASE(blocking_open_interrupted_by_signal_eintr)
{
	struct sigaction sa = {.sa_handler = on_alarm};

	ASSERT_OK(sigaction(SIGALRM, &sa, NULL)); /* no SA_RESTART */
	alarm(1);
	EXPECT_ERRNO(open(fifo(), O_RDONLY), EINTR);
	alarm(0);
}

CASE(fstat_of_open_fifo_is_the_fifo_inode)
{
	struct stat by_path, by_fd;
	const char *p = fifo();
	int fd = open(p, O_RDWR);

	ASSERT_GE(fd, 0);
	ASSERT_OK(stat(p, &by_path));
	ASSERT_OK(fstat(fd, &by_fd));
	EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
	EXPECT_EQ(by_fd.st_dev, by_path.st_dev);
	EXPECT_TRUE(S_ISFIFO(by_fd.st_mode));
}

CASE(lseek_on_fifo_espipe)
{
	int fd = open(fifo(), O_RDWR);

	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(lseek(fd, 0, SEEK_SET), ESPIPE);
	EXPECT_ERRNO(pread(fd, (char[1]){0}, 1, 0), ESPIPE);
}

CASE(two_opens_share_one_buffer)
{
	const char *p = fifo();
	int a = open(p, O_RDWR);
	int b = open(p, O_RDWR);
	char buf[8] = {0};

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(write(a, "shared", 6), 6);
	EXPECT_EQ(read(b, buf, sizeof(buf)), 6);
	EXPECT_STREQ(buf, "shared");
}

CASE(hard_link_names_the_same_fifo)
{
	const char *p = fifo();
	const char *q = h_path("link");
	char buf[8] = {0};

	ASSERT_OK(link(p, q));
	int a = open(p, O_RDWR);
	int b = open(q, O_RDWR);

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(write(a, "ln", 2), 2);
	EXPECT_EQ(read(b, buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "ln");
}

CASE(unlinked_fifo_keeps_working_while_open)
{
	const char *p = fifo();
	int fd = open(p, O_RDWR);
	char buf[4] = {0};

	ASSERT_GE(fd, 0);
	ASSERT_OK(unlink(p));
	EXPECT_EQ(write(fd, "ok", 2), 2);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "ok");
}

CASE(data_is_gone_when_every_end_closes)
{
	const char *p = fifo();
	int fd = open(p, O_RDWR);
	char c;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(write(fd, "x", 1), 1);
	ASSERT_OK(close(fd));
	fd = open(p, O_RDWR | O_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(read(fd, &c, 1), EAGAIN);
}

CASE(poll_reader_sees_data_then_hangup)
{
	const char *p = fifo();
	int r = open(p, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(r, 0);
	int w = open(p, O_WRONLY);

	ASSERT_GE(w, 0);
	struct pollfd pfd = {.fd = r, .events = POLLIN};

	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	EXPECT_EQ(write(w, "d", 1), 1);
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_TRUE(pfd.revents & POLLIN);
	ASSERT_OK(close(w));
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_TRUE(pfd.revents & POLLHUP);
}

CASE(poll_writer_sees_pollerr_without_reader)
{
	const char *p = fifo();
	int r = open(p, O_RDONLY | O_NONBLOCK);
	int w = open(p, O_WRONLY | O_NONBLOCK);

	ASSERT_GE(w, 0);
	struct pollfd pfd = {.fd = w, .events = POLLOUT};

	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_TRUE(pfd.revents & POLLOUT);
	ASSERT_OK(close(r));
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_TRUE(pfd.revents & POLLERR);
}

CASE(fionread_counts_buffered_bytes)
{
	int fd = open(fifo(), O_RDWR);
	int n = -1;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(write(fd, "12345", 5), 5);
	ASSERT_OK(ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(n, 5);
}

CASE(fifo_pipe_size_is_shared_by_every_open)
{
	const char *p = fifo();
	int a = open(p, O_RDWR);
	int b = open(p, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(fcntl(a, F_GETPIPE_SZ), 65536);
	EXPECT_EQ(fcntl(a, F_SETPIPE_SZ, 8192), 8192);
	EXPECT_EQ(fcntl(b, F_GETPIPE_SZ), 8192);
}

CASE(o_trunc_on_fifo_is_ignored)
{
	int fd = open(fifo(), O_RDWR | O_TRUNC);

	EXPECT_GE(fd, 0);
}

CASE(write_only_fd_cannot_read_ebadf)
{
	const char *p = fifo();
	int r = open(p, O_RDONLY | O_NONBLOCK);
	int w = open(p, O_WRONLY | O_NONBLOCK);
	char c;

	ASSERT_GE(r, 0);
	ASSERT_GE(w, 0);
	EXPECT_ERRNO(read(w, &c, 1), EBADF);
	EXPECT_ERRNO(write(r, "x", 1), EBADF);
}

CASE(fifo_in_a_pipeline_between_two_children)
{
	const char *p = fifo();
	pid_t writer = opener(p, O_WRONLY, 0, "through");
	pid_t reader = fork();

	ASSERT_GE(reader, 0);
	if (reader == 0) {
		char buf[16] = {0};
		int fd = open(p, O_RDONLY);

		_exit(fd >= 0 && read(fd, buf, sizeof(buf)) == 7 && strcmp(buf, "through") == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(writer), 0);
	EXPECT_EXITED(h_wait(reader), 0);
}

CASE(mknod_device_node_needs_privilege)
{
	/* An unprivileged process may not make device nodes (mknod(2) EPERM). */
	const char *p = h_path("dev");

	ASSERT_OK(chmod(h_tmp(), 0777));
	ASSERT_OK(chmod(h_root, 0755));
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(mknod(p, S_IFCHR | 0600, makedev(1, 3)) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
