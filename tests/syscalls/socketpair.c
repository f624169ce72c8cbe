/*
 * socketpair(2) for AF_UNIX: stream, datagram and seqpacket pairs, flags,
 * shutdown, EPIPE/SIGPIPE, MSG_PEEK/MSG_DONTWAIT/MSG_TRUNC, socket options,
 * SCM_RIGHTS and SCM_CREDENTIALS, errors.
 */
#include "harness.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static void pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type, 0, sv) != 0)
		FAILX("socketpair: %s", h_errname(errno));
}

CASE(socketpair_stream_is_bidirectional)
{
	int sv[2];
	char buf[8];

	pair(SOCK_STREAM, sv);
	EXPECT_EQ(write(sv[0], "ping", 4), 4);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_MEMEQ(buf, "ping", 4);
	EXPECT_EQ(write(sv[1], "pong!", 5), 5);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 5);
	EXPECT_MEMEQ(buf, "pong!", 5);
}

CASE(socketpair_stream_merges_writes)
{
	int sv[2];
	char buf[8];

	pair(SOCK_STREAM, sv);
	ASSERT_EQ(write(sv[0], "ab", 2), 2);
	ASSERT_EQ(write(sv[0], "cd", 2), 2);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_MEMEQ(buf, "abcd", 4);
}

CASE(socketpair_dgram_keeps_boundaries_and_truncates)
{
	int sv[2];
	char buf[8];

	pair(SOCK_DGRAM, sv);
	ASSERT_EQ(send(sv[0], "hello", 5, 0), 5);
	ASSERT_EQ(send(sv[0], "xy", 2, 0), 2);
	EXPECT_EQ(recv(sv[1], buf, 3, 0), 3);
	EXPECT_MEMEQ(buf, "hel", 3);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 2);
	EXPECT_MEMEQ(buf, "xy", 2);
}

CASE(socketpair_seqpacket_msg_trunc_reports_real_length)
{
	int sv[2];
	char buf[8];
	struct iovec iov = {.iov_base = buf, .iov_len = 2};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	pair(SOCK_SEQPACKET, sv);
	ASSERT_EQ(send(sv[0], "abcdef", 6, 0), 6);
	EXPECT_EQ(recvmsg(sv[1], &mh, MSG_TRUNC), 6);
	EXPECT_EQ(mh.msg_flags & MSG_TRUNC, MSG_TRUNC);
	EXPECT_MEMEQ(buf, "ab", 2);
}

CASE(socketpair_zero_length_dgram)
{
	int sv[2];
	char buf[4];

	pair(SOCK_DGRAM, sv);
	EXPECT_EQ(send(sv[0], "", 0, 0), 0);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 0);
	EXPECT_ERRNO(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(socketpair_flags)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
	EXPECT_EQ(fcntl(sv[0], F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(sv[1], F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(sv[0], F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDWR);
	EXPECT_EQ(fcntl(sv[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

CASE(socketpair_errors)
{
	int sv[2];

	EXPECT_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	EXPECT_ERRNO(socketpair(AF_UNIX, OPAQUE(99), 0, sv), EINVAL);
	EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, OPAQUE(2), sv), EPROTONOSUPPORT);
	EXPECT_ERRNO(socketpair(OPAQUE(4242), SOCK_STREAM, 0, sv), EAFNOSUPPORT);
	EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM | OPAQUE(0x100000), 0, sv), EINVAL);
	EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR), EFAULT);
}

CASE(socketpair_nonblocking_empty_eagain)
{
	int sv[2];
	char c;

	pair(SOCK_STREAM, sv);
	EXPECT_ERRNO(recv(sv[0], &c, 1, MSG_DONTWAIT), EAGAIN);
	EXPECT_ERRNO(recv(sv[0], &c, 1, MSG_DONTWAIT | MSG_PEEK), EAGAIN);
}

CASE(socketpair_peek_leaves_data)
{
	int sv[2];
	char buf[4];

	pair(SOCK_STREAM, sv);
	ASSERT_EQ(write(sv[0], "abc", 3), 3);
	EXPECT_EQ(recv(sv[1], buf, 2, MSG_PEEK), 2);
	EXPECT_MEMEQ(buf, "ab", 2);
	EXPECT_EQ(recv(sv[1], buf, 3, 0), 3);
	EXPECT_MEMEQ(buf, "abc", 3);
}

CASE(socketpair_shutdown_wr_gives_peer_eof)
{
	int sv[2];
	char c;

	pair(SOCK_STREAM, sv);
	ASSERT_OK(shutdown(sv[0], SHUT_WR));
	EXPECT_EQ(read(sv[1], &c, 1), 0);
	/* the other direction still works */
	EXPECT_EQ(write(sv[1], "z", 1), 1);
	EXPECT_EQ(read(sv[0], &c, 1), 1);
	EXPECT_ERRNO(send(sv[0], "q", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_ERRNO(shutdown(sv[0], OPAQUE(7)), EINVAL);
}

CASE(socketpair_write_after_peer_close_epipe_and_sigpipe)
{
	int sv[2];
	pid_t pid;

	pair(SOCK_STREAM, sv);
	close(sv[1]);
	EXPECT_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		write(sv[0], "x", 1);
		_exit(0);
	}
	EXPECT_SIGNALED(h_wait(pid), SIGPIPE);
}

CASE(socketpair_read_after_peer_close_eof)
{
	int sv[2];
	char c;

	pair(SOCK_STREAM, sv);
	ASSERT_EQ(write(sv[1], "k", 1), 1);
	close(sv[1]);
	EXPECT_EQ(read(sv[0], &c, 1), 1);
	EXPECT_EQ(read(sv[0], &c, 1), 0);
}

CASE(socketpair_socket_options)
{
	int sv[2], v = 0;
	socklen_t len = sizeof(v);

	pair(SOCK_SEQPACKET, sv);
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_SEQPACKET);
	EXPECT_EQ(len, sizeof(int));
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len));
	EXPECT_EQ(v, AF_UNIX);
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len));
	EXPECT_EQ(v, 0);
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &len));
	EXPECT_EQ(v, 0);
	EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
	EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, BAD_PTR, &len), EFAULT);
}

CASE(socketpair_peercred_is_creator)
{
	int sv[2];
	struct ucred cr;
	socklen_t len = sizeof(cr);

	pair(SOCK_STREAM, sv);
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len));
	EXPECT_EQ(len, sizeof(cr));
	EXPECT_SAME(cr.pid, getpid());
	EXPECT_EQ(cr.uid, geteuid());
	EXPECT_EQ(cr.gid, getegid());
}

CASE(socketpair_fionread_and_poll)
{
	int sv[2], n = -1;
	struct pollfd p;

	pair(SOCK_STREAM, sv);
	p = (struct pollfd){.fd = sv[1], .events = POLLIN | POLLOUT};
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	ASSERT_EQ(write(sv[0], "hello", 5), 5);
	EXPECT_OK(ioctl(sv[1], FIONREAD, &n));
	EXPECT_EQ(n, 5);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT);
	close(sv[0]);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents & (POLLIN | POLLHUP | POLLRDHUP), POLLIN | POLLHUP);
}

CASE(socketpair_scm_rights_passes_fd)
{
	int sv[2], p[2], got = -1;
	char byte = 'x', buf[1];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;

	pair(SOCK_STREAM, sv);
	ASSERT_OK(pipe(p));
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[1], sizeof(int));
	ASSERT_EQ(sendmsg(sv[0], &mh, 0), 1);
	close(p[1]);
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = buf;
	mh.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(recvmsg(sv[1], &mh, 0), 1);
	c = CMSG_FIRSTHDR(&mh);
	ASSERT_TRUE(c != NULL);
	EXPECT_EQ(c->cmsg_type, SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(c), sizeof(int));
	ASSERT_GE(got, 0);
	EXPECT_EQ(write(got, "q", 1), 1);
	EXPECT_EQ(read(p[0], buf, 1), 1);
	EXPECT_EQ(buf[0], 'q');
}

CASE(socketpair_scm_credentials_with_passcred)
{
	int sv[2], on = 1;
	char byte = 'x';
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	struct ucred cr;

	pair(SOCK_DGRAM, sv);
	ASSERT_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	ASSERT_EQ(send(sv[0], "x", 1, 0), 1);
	ASSERT_EQ(recvmsg(sv[1], &mh, 0), 1);
	c = CMSG_FIRSTHDR(&mh);
	ASSERT_TRUE(c != NULL);
	EXPECT_EQ(c->cmsg_level, SOL_SOCKET);
	EXPECT_EQ(c->cmsg_type, SCM_CREDENTIALS);
	memcpy(&cr, CMSG_DATA(c), sizeof(cr));
	EXPECT_SAME(cr.pid, getpid());
	EXPECT_EQ(cr.uid, getuid());
}

CASE(socketpair_getsockname_is_unnamed)
{
	int sv[2];
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	pair(SOCK_STREAM, sv);
	ASSERT_OK(getsockname(sv[0], (struct sockaddr *)&a, &len));
	EXPECT_EQ(len, sizeof(sa_family_t));
	EXPECT_EQ(a.sun_family, AF_UNIX);
	len = sizeof(a);
	ASSERT_OK(getpeername(sv[0], (struct sockaddr *)&a, &len));
	EXPECT_EQ(len, sizeof(sa_family_t));
}

HARNESS_MAIN
