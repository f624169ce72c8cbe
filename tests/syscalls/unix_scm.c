/*
 * Ancillary data on Unix domain sockets (unix(7), cmsg(3)): SCM_RIGHTS
 * (passing open file descriptions, MSG_CTRUNC, MSG_CMSG_CLOEXEC, files
 * closed when never received), SCM_CREDENTIALS with SO_PASSCRED, and
 * SO_PEERCRED.
 */
#include "harness.h"
#include "net_helpers.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

/* Sends `data` with the fds in `fds` (n of them) as SCM_RIGHTS. */
static ssize_t send_fds(int s, const char *data, const int *fds, int n)
{
	char ctl[CMSG_SPACE(sizeof(int) * 256)];
	struct iovec iov = {(void *)data, strlen(data)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	memset(ctl, 0, sizeof(ctl));
	if (n > 0) {
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(s, &m, MSG_NOSIGNAL);
}

/* Receives into buf with a control buffer of `ctl_len` bytes; the fds
 * received go to fds (up to *n, updated). Returns recvmsg's value. */
static ssize_t recv_fds(int s, char *buf, size_t len, int *fds, int *n, size_t ctl_len, int flags, int *msg_flags)
{
	char ctl[CMSG_SPACE(sizeof(int) * 256)];
	struct iovec iov = {buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl_len ? ctl : NULL, .msg_controllen = ctl_len};
	ssize_t r = recvmsg(s, &m, flags);
	int got = 0;

	if (r < 0)
		return r;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (int i = 0; i < k && got < *n; i++)
			memcpy(&fds[got++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	*n = got;
	if (msg_flags)
		*msg_flags = m.msg_flags;
	return r;
}

CASE(rights_pass_pipe_end)
{
	int sv[2], p[2], fd = -1, n = 1;
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "f", &p[1], 1), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	EXPECT_NE(fd, p[1]);
	EXPECT_EQ(write(fd, "via", 3), 3);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "via", 3);
}

CASE(rights_share_the_file_description)
{
	int sv[2], fd = -1, n = 1;
	char buf[4];
	const char *path = h_path("f");

	h_write_file(path, "0123456789", 10);
	int f = open(path, O_RDONLY);
	ASSERT_GE(f, 0);
	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(send_fds(sv[0], "x", &f, 1), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	/* The offset is shared with the sender's fd. */
	EXPECT_EQ(read(fd, buf, 4), 4);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 4);
}

CASE(rights_between_processes)
{
	int sv[2], fd = -1, n = 1;
	char buf[16] = {0};
	const char *path = h_path("secret");

	h_write_file(path, "from child", 10);
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid_t pid = fork();
	if (pid == 0) {
		int f = open(path, O_RDONLY);
		_exit(f >= 0 && send_fds(sv[1], "!", &f, 1) == 1 ? 0 : 1);
	}
	EXPECT_EQ(recv_fds(sv[0], buf, 1, &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 10);
	EXPECT_STREQ(buf, "from child");
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
}

CASE(rights_several_fds_in_order)
{
	int sv[2], p[2], q[2], fds[2] = {-1, -1}, n = 2;
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	ASSERT_OK(pipe(q));
	int out[2] = {p[1], q[1]};
	EXPECT_EQ(send_fds(sv[0], "2", out, 2), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), fds, &n, CMSG_SPACE(2 * sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 2);
	EXPECT_EQ(write(fds[1], "q", 1), 1);
	EXPECT_EQ(read(q[0], buf, 1), 1);
	EXPECT_EQ(buf[0], 'q');
}

CASE(rights_control_too_small_ctrunc)
{
	int sv[2], p[2], fds[2] = {-1, -1}, n = 2, flags = 0;
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	int out[2] = {p[1], p[1]};
	EXPECT_EQ(send_fds(sv[0], "2", out, 2), 1);
	/* CMSG_LEN(one int) leaves room for exactly one fd. */
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), fds, &n, CMSG_LEN(sizeof(int)), 0, &flags), 1);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(flags & MSG_CTRUNC, MSG_CTRUNC);
}

CASE(rights_without_control_buffer_are_closed)
{
	int sv[2], p[2], fd = -1, n = 1, flags = 0;
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "x", &p[1], 1), 1);
	ASSERT_OK(close(p[1]));
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, 0, 0, &flags), 1);
	EXPECT_EQ(n, 0);
	EXPECT_EQ(flags & MSG_CTRUNC, MSG_CTRUNC);
	/* The write end was dropped with the message: EOF. */
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);
}

CASE(rights_never_received_are_closed)
{
	int sv[2], p[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "x", &p[1], 1), 1);
	ASSERT_OK(close(p[1]));
	ASSERT_OK(close(sv[1]));
	ASSERT_OK(close(sv[0]));
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);
}

CASE(rights_plain_read_discards_fds)
{
	int sv[2], p[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "x", &p[1], 1), 1);
	ASSERT_OK(close(p[1]));
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);
}

CASE(rights_cmsg_cloexec)
{
	int sv[2], p[2], fd = -1, n = 1;
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "a", &p[0], 1), 1);
	EXPECT_EQ(send_fds(sv[0], "b", &p[0], 1), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, 1, &fd, &n, CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC, NULL), 1);
	ASSERT_EQ(n, 1);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	n = 1;
	EXPECT_EQ(recv_fds(sv[1], buf, 1, &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

CASE(rights_bad_fd_ebadf)
{
	int sv[2], bad = 999;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(send_fds(sv[0], "x", &bad, 1), EBADF);
}

CASE(rights_too_many_fds_einval)
{
	int sv[2], fds[254];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	for (int i = 0; i < 254; i++)
		fds[i] = sv[0];
	EXPECT_ERRNO(send_fds(sv[0], "x", fds, 254), EINVAL);
	EXPECT_EQ(send_fds(sv[0], "x", fds, 253), 1);
}

CASE(rights_bad_cmsg_len_einval)
{
	int sv[2];
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {"x", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = (struct cmsghdr *)ctl;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = sizeof(ctl) + 8;
	EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
	c->cmsg_len = 4;
	EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
}

CASE(rights_peek_installs_copies)
{
	int sv[2], p[2], fd1 = -1, fd2 = -1, n = 1;
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send_fds(sv[0], "x", &p[1], 1), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd1, &n, CMSG_SPACE(sizeof(int)), MSG_PEEK, NULL), 1);
	EXPECT_EQ(n, 1);
	n = 1;
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd2, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	EXPECT_EQ(n, 1);
	EXPECT_NE(fd1, fd2);
}

CASE(rights_stream_read_ends_after_fds)
{
	int sv[2], p[2], fd = -1, n = 1;
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(pipe(p));
	EXPECT_EQ(send(sv[0], "a", 1, 0), 1);
	EXPECT_EQ(send_fds(sv[0], "b", &p[1], 1), 1);
	EXPECT_EQ(send(sv[0], "c", 1, 0), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 2);
	EXPECT_STREQ(buf, "ab");
	EXPECT_EQ(n, 1);
	n = 1;
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	EXPECT_EQ(n, 0);
}

CASE(rights_pass_a_socket)
{
	int sv[2], inner[2], fd = -1, n = 1;
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, inner));
	EXPECT_EQ(send_fds(sv[0], "s", &inner[1], 1), 1);
	ASSERT_OK(close(inner[1]));
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	EXPECT_EQ(write(fd, "hi", 2), 2);
	EXPECT_EQ(read(inner[0], buf, sizeof(buf)), 2);
}

CASE(rights_pass_o_path_fd)
{
	int sv[2], fd = -1, n = 1;
	char buf[4];
	struct stat a, b;
	const char *path = h_path("p");

	h_write_file(path, "x", 1);
	int f = open(path, O_PATH);
	ASSERT_GE(f, 0);
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(send_fds(sv[0], "o", &f, 1), 1);
	EXPECT_EQ(recv_fds(sv[1], buf, sizeof(buf), &fd, &n, CMSG_SPACE(sizeof(int)), 0, NULL), 1);
	ASSERT_EQ(n, 1);
	ASSERT_OK(fstat(fd, &a));
	ASSERT_OK(stat(path, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_ERRNO(read(fd, buf, 1), EBADF);
}

/* Receives one message and its SCM_CREDENTIALS; returns 1 if present. */
static int recv_creds(int s, struct ucred *uc)
{
	char buf[8], ctl[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};

	if (recvmsg(s, &m, 0) < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			memcpy(uc, CMSG_DATA(c), sizeof(*uc));
			return 1;
		}
	return 0;
}

static ssize_t send_creds(int s, struct ucred uc)
{
	char ctl[CMSG_SPACE(sizeof(struct ucred))] = {0};
	struct iovec iov = {"c", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(c), &uc, sizeof(uc));
	return sendmsg(s, &m, 0);
}

CASE(credentials_with_so_passcred)
{
	int sv[2], on = 1;
	struct ucred uc = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	EXPECT_EQ(write(sv[0], "x", 1), 1);
	EXPECT_EQ(recv_creds(sv[1], &uc), 1);
	EXPECT_SAME(uc.pid, getpid());
	EXPECT_EQ(uc.uid, getuid());
	EXPECT_EQ(uc.gid, getgid());
}

CASE(credentials_absent_without_so_passcred)
{
	int sv[2];
	struct ucred uc = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "x", 1), 1);
	EXPECT_EQ(recv_creds(sv[1], &uc), 0);
}

CASE(credentials_of_child_sender)
{
	int sv[2], on = 1;
	struct ucred uc = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	pid_t pid = fork();
	if (pid == 0)
		_exit(write(sv[0], "x", 1) == 1 ? 0 : 1);
	EXPECT_EQ(recv_creds(sv[1], &uc), 1);
	EXPECT_SAME(uc.pid, pid);
	waitpid(pid, NULL, 0);
}

CASE(credentials_explicit_and_checked)
{
	int sv[2], on = 1;
	struct ucred uc = {.pid = getpid(), .uid = getuid(), .gid = getgid()}, got = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	EXPECT_EQ(send_creds(sv[0], uc), 1);
	EXPECT_EQ(recv_creds(sv[1], &got), 1);
	EXPECT_SAME(got.pid, uc.pid);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		struct ucred mine = {.pid = getpid(), .uid = 65534, .gid = 65534};
		struct ucred lie = {.pid = getpid(), .uid = 0, .gid = 65534};
		struct ucred other_pid = {.pid = 1, .uid = 65534, .gid = 65534};
		if (send_creds(sv[0], mine) != 1)
			_exit(3);
		if (send_creds(sv[0], lie) != -1 || errno != EPERM)
			_exit(4);
		if (send_creds(sv[0], other_pid) != -1 || errno != EPERM)
			_exit(5);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
	EXPECT_EQ(recv_creds(sv[1], &got), 1);
	EXPECT_EQ(got.uid, 65534);
}

CASE(credentials_keep_writers_apart_on_streams)
{
	int sv[2], on = 1;
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	EXPECT_EQ(write(sv[0], "a", 1), 1);
	pid_t pid = fork();
	if (pid == 0)
		_exit(write(sv[0], "b", 1) == 1 ? 0 : 1);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(write(sv[0], "c", 1), 1);
	/* Bytes of different senders are never read together. */
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
}

CASE(so_passcred_send_autobinds_only_message_sockets)
{
	int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	socklen_t want[3] = {sizeof(sa_family_t), offsetof(struct sockaddr_un, sun_path) + 6,
			     offsetof(struct sockaddr_un, sun_path) + 6};

	for (int i = 0; i < 3; i++) {
		int sv[2], on = 1;
		struct sockaddr_un got;
		socklen_t gl = sizeof(got);
		ASSERT_OK(socketpair(AF_UNIX, types[i], 0, sv));
		ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
		EXPECT_EQ(write(sv[0], "x", 1), 1);
		ASSERT_OK(getsockname(sv[0], (struct sockaddr *)&got, &gl));
		EXPECT_EQ(gl, want[i]);
	}
}

CASE(so_passcred_roundtrip)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0), on = 1, v = -1;
	socklen_t vl = sizeof(v);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &vl));
	EXPECT_EQ(v, 0);
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &vl));
	EXPECT_EQ(v, 1);
}

CASE(peercred_of_socketpair)
{
	int sv[2];
	struct ucred uc = {0};
	socklen_t len = sizeof(uc);

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(len, sizeof(uc));
	EXPECT_SAME(uc.pid, getpid());
	EXPECT_EQ(uc.uid, geteuid());
	EXPECT_EQ(uc.gid, getegid());
}

CASE(peercred_unconnected)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct ucred uc = {1, 1, 1};
	socklen_t len = sizeof(uc);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(uc.pid, 0);
	EXPECT_EQ(uc.uid, (uid_t)-1);
	EXPECT_EQ(uc.gid, (gid_t)-1);
}

CASE(peercred_across_processes)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "cred");
	int ready[2];

	ASSERT_OK(pipe(ready));
	pid_t pid = fork();
	if (pid == 0) {
		/* The server: reports its client's pid back through the connection. */
		int l = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(l, (struct sockaddr *)&a, la) || listen(l, 1))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		int s = accept(l, NULL, NULL);
		struct ucred uc;
		socklen_t len = sizeof(uc);
		if (s < 0 || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len))
			_exit(3);
		_exit(write(s, &uc.pid, sizeof(uc.pid)) == sizeof(uc.pid) ? 0 : 4);
	}
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, la));
	struct ucred uc = {0};
	socklen_t len = sizeof(uc);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_SAME(uc.pid, pid);
	pid_t seen = 0;
	EXPECT_EQ(read(s, &seen, sizeof(seen)), sizeof(seen));
	EXPECT_SAME(seen, getpid());
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
}

HARNESS_MAIN
