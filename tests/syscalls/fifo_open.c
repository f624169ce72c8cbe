/*
 * Named pipes: mkfifo/mknod(S_IFIFO), open rules (O_NONBLOCK readers and
 * writers, ENXIO, blocking opens that wait for the other end, O_RDWR),
 * EOF, readiness, and the FIFO as a file (stat, lseek, unlink while open).
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

CASE(mkfifo_creates_fifo_inode)
{
	struct stat st;
	const char *p = fifo();

	ASSERT_OK(stat(p, &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0600);
	EXPECT_EQ(st.st_size, 0);
	EXPECT_ERRNO(mkfifo(p, 0600), EEXIST);
	EXPECT_ERRNO(mkfifo(h_path("missing/f"), 0600), ENOENT);
}

CASE(mknod_fifo_and_regular)
{
	struct stat st;

	ASSERT_OK(mknod(h_path("p"), S_IFIFO | 0640, 0));
	ASSERT_OK(stat(h_path("p"), &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_OK(mknod(h_path("r"), 0640, 0)); /* type 0 is a regular file */
	ASSERT_OK(stat(h_path("r"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_ERRNO(mknod(h_path("x"), 0170000 | 0640, 0), EINVAL);
	EXPECT_ERRNO(mknod(h_path("d"), S_IFDIR | 0755, 0), EPERM);
}

CASE(mknod_device_needs_privilege)
{
	pid_t pid;
	char parent[600];

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(mknod(h_path("null"), S_IFCHR | 0666, makedev(1, 3)) == -1 && errno == EPERM
			      ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fifo_nonblocking_reader_opens_alone)
{
	const char *p = fifo();
	int r = ASSERT_OK(open(p, O_RDONLY | O_NONBLOCK));
	char c;

	/* no writer has ever opened it: EOF, not EAGAIN */
	EXPECT_EQ(read(r, &c, 1), 0);
}

CASE(fifo_nonblocking_writer_without_reader_enxio)
{
	const char *p = fifo();

	EXPECT_ERRNO(open(p, O_WRONLY | O_NONBLOCK), ENXIO);
	ASSERT_OK(open(p, O_RDONLY | O_NONBLOCK));
	EXPECT_OK(open(p, O_WRONLY | O_NONBLOCK));
}

CASE(fifo_rdwr_open_does_not_block)
{
	const char *p = fifo();
	int fd = ASSERT_OK(open(p, O_RDWR));
	char buf[4];

	EXPECT_EQ(write(fd, "ab", 2), 2);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 2);
}

CASE(fifo_blocking_open_waits_for_writer)
{
	const char *p = fifo();
	pid_t pid = ASSERT_OK(fork());
	int r;
	char buf[8];

	if (pid == 0) {
		int w;

		usleep(50000);
		w = open(p, O_WRONLY);
		_exit(w >= 0 && write(w, "hello", 5) == 5 ? 0 : 1);
	}
	r = ASSERT_OK(open(p, O_RDONLY));
	EXPECT_EQ(read(r, buf, sizeof(buf)), 5);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(read(r, buf, sizeof(buf)), 0);
}

CASE(fifo_blocking_writer_open_waits_for_reader)
{
	const char *p = fifo();
	pid_t pid = ASSERT_OK(fork());
	int w;

	if (pid == 0) {
		int r;
		char c;

		usleep(50000);
		r = open(p, O_RDONLY);
		_exit(r >= 0 && read(r, &c, 1) == 1 && c == 'z' ? 0 : 1);
	}
	w = ASSERT_OK(open(p, O_WRONLY));
	EXPECT_EQ(write(w, "z", 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fifo_writer_without_reader_epipe)
{
	const char *p = fifo();
	int r = ASSERT_OK(open(p, O_RDONLY | O_NONBLOCK));
	int w = ASSERT_OK(open(p, O_WRONLY | O_NONBLOCK));

	signal(SIGPIPE, SIG_IGN);
	close(r);
	EXPECT_ERRNO(write(w, "x", 1), EPIPE);
}

CASE(fifo_poll_and_fionread)
{
	const char *p = fifo();
	int r = ASSERT_OK(open(p, O_RDONLY | O_NONBLOCK));
	int w = ASSERT_OK(open(p, O_WRONLY | O_NONBLOCK));
	struct pollfd f = {.fd = r, .events = POLLIN};
	int n = -1;

	EXPECT_EQ(poll(&f, 1, 0), 0);
	ASSERT_EQ(write(w, "abc", 3), 3);
	EXPECT_EQ(poll(&f, 1, 0), 1);
	EXPECT_EQ(f.revents, POLLIN);
	ASSERT_OK(ioctl(r, FIONREAD, &n));
	EXPECT_EQ(n, 3);
	close(w);
	EXPECT_EQ(poll(&f, 1, 0), 1);
	EXPECT_EQ(f.revents, POLLIN | POLLHUP);
}

CASE(fifo_lseek_espipe_and_fstat)
{
	const char *p = fifo();
	int fd = ASSERT_OK(open(p, O_RDWR));
	struct stat a, b;

	EXPECT_ERRNO(lseek(fd, 0, SEEK_SET), ESPIPE);
	EXPECT_ERRNO(pread(fd, &a, 1, 0), ESPIPE);
	ASSERT_OK(fstat(fd, &a));
	ASSERT_OK(stat(p, &b));
	EXPECT_TRUE(S_ISFIFO(a.st_mode));
	EXPECT_SAME(a.st_ino, b.st_ino);
}

CASE(fifo_unlinked_while_open_keeps_working)
{
	const char *p = fifo();
	int fd = ASSERT_OK(open(p, O_RDWR));
	char buf[4];

	ASSERT_OK(unlink(p));
	EXPECT_EQ(write(fd, "ok", 2), 2);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 2);
}

CASE(fifo_data_shared_between_two_opens)
{
	const char *p = fifo();
	int r = ASSERT_OK(open(p, O_RDONLY | O_NONBLOCK));
	int w = ASSERT_OK(open(p, O_WRONLY));
	char buf[4];

	ASSERT_EQ(write(w, "xy", 2), 2);
	EXPECT_EQ(read(r, buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "xy", 2);
	EXPECT_ERRNO(read(r, buf, sizeof(buf)), EAGAIN);
}

CASE(fifo_open_with_trunc_and_creat_ok)
{
	const char *p = fifo();
	int fd = ASSERT_OK(open(p, O_RDWR | O_TRUNC | O_CREAT, 0600));

	EXPECT_GE(fd, 0);
	EXPECT_ERRNO(open(p, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
}

HARNESS_MAIN
