/*
 * Unix domain datagram and seqpacket sockets (unix(7)): message
 * boundaries, truncation and MSG_TRUNC, sender names, connected datagram
 * sockets, queue limits, EMSGSIZE, seqpacket connections and EOF,
 * sendmmsg/recvmmsg.
 */
#include "harness.h"
#include "net_helpers.h"

#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int bound(int type, const struct sockaddr_un *a, socklen_t len)
{
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || bind(s, (const struct sockaddr *)a, len) < 0)
		return -1;
	return s;
}

CASE(dgram_pair_keeps_boundaries)
{
	int sv[2];
	char buf[16] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "ab", 2), 2);
	EXPECT_EQ(write(sv[0], "cde", 3), 3);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 2);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "cde", 3);
}

CASE(dgram_truncation_and_msg_trunc)
{
	int sv[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "abcdefgh", 8), 8);
	EXPECT_EQ(write(sv[0], "12345678", 8), 8);
	EXPECT_EQ(recv(sv[1], buf, 3, 0), 3);
	/* The rest of the datagram was dropped. */
	EXPECT_EQ(recv(sv[1], buf, 2, MSG_TRUNC), 8);
	EXPECT_MEMEQ(buf, "12", 2);
	EXPECT_ERRNO(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(dgram_recvmsg_sets_msg_trunc_flag)
{
	int sv[2];
	char buf[4];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "abcdefgh", 8), 8);
	EXPECT_EQ(recvmsg(sv[1], &m, 0), 4);
	EXPECT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
}

CASE(dgram_zero_length_message)
{
	int sv[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(send(sv[0], "", 0, 0), 0);
	EXPECT_EQ(send(sv[0], "x", 1, 0), 1);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 0);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 1);
}

CASE(dgram_peek_reads_same_message)
{
	int sv[2];
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "one", 3), 3);
	EXPECT_EQ(write(sv[0], "two", 3), 3);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 3);
	EXPECT_STREQ(buf, "one");
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "one");
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "two");
}

CASE(dgram_sendto_and_recvfrom_names)
{
	struct sockaddr_un a, b, from;
	socklen_t la = path_addr(&a, "recv"), lb = path_addr(&b, "send"), fl = sizeof(from);
	char buf[8] = {0};
	int r = bound(SOCK_DGRAM, &a, la), s = bound(SOCK_DGRAM, &b, lb);

	ASSERT_GE(r, 0);
	ASSERT_GE(s, 0);
	EXPECT_EQ(sendto(s, "hey", 3, 0, (struct sockaddr *)&a, la), 3);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
	EXPECT_STREQ(buf, "hey");
	EXPECT_EQ(fl, lb);
	EXPECT_STREQ(from.sun_path, b.sun_path);
}

CASE(dgram_unnamed_sender_has_empty_name)
{
	struct sockaddr_un a, from;
	socklen_t la = abstract_addr(&a, "un"), fl = sizeof(from);
	char buf[8];
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	EXPECT_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), 1);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 1);
	EXPECT_EQ(fl, 0);
}

CASE(dgram_abstract_sender_name)
{
	struct sockaddr_un a, b, from;
	socklen_t la = abstract_addr(&a, "r"), lb = abstract_addr(&b, "s"), fl = sizeof(from);
	char buf[8];
	int r = bound(SOCK_DGRAM, &a, la), s = bound(SOCK_DGRAM, &b, lb);

	ASSERT_GE(r, 0);
	ASSERT_GE(s, 0);
	EXPECT_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), 1);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 1);
	EXPECT_EQ(fl, lb);
	EXPECT_MEMEQ(from.sun_path, b.sun_path, lb - offsetof(struct sockaddr_un, sun_path));
}

CASE(dgram_send_unconnected_enotconn)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);

	EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
}

CASE(dgram_sendto_missing_names)
{
	struct sockaddr_un a, b;
	socklen_t la = path_addr(&a, "missing"), lb = abstract_addr(&b, "missing");
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);

	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), ENOENT);
	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&b, lb), ECONNREFUSED);
	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&b, 1), EINVAL);
}

CASE(dgram_connect_then_send_and_getpeername)
{
	struct sockaddr_un a, got;
	socklen_t la = path_addr(&a, "r"), gl = sizeof(got);
	char buf[8] = {0};
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, la));
	ASSERT_OK(getpeername(s, (struct sockaddr *)&got, &gl));
	EXPECT_EQ(gl, la);
	EXPECT_STREQ(got.sun_path, a.sun_path);
	EXPECT_EQ(send(s, "abc", 3, 0), 3);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "abc");
}

CASE(dgram_connected_receiver_refuses_strangers)
{
	struct sockaddr_un a, b;
	socklen_t la = abstract_addr(&a, "r"), lb = abstract_addr(&b, "peer");
	int r = bound(SOCK_DGRAM, &a, la), peer = bound(SOCK_DGRAM, &b, lb);
	int stranger = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	ASSERT_GE(peer, 0);
	ASSERT_OK(connect(r, (struct sockaddr *)&b, lb));
	EXPECT_ERRNO(sendto(stranger, "x", 1, 0, (struct sockaddr *)&a, la), EPERM);
	EXPECT_EQ(sendto(peer, "x", 1, 0, (struct sockaddr *)&a, la), 1);
}

CASE(dgram_peer_closed_econnrefused_then_enotconn)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "gone");
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, la));
	ASSERT_OK(close(r));
	EXPECT_ERRNO(send(s, "x", 1, 0), ECONNREFUSED);
	EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
}

CASE(dgram_pair_peer_closed)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(close(sv[1]));
	EXPECT_ERRNO(send(sv[0], "x", 1, 0), ECONNREFUSED);
}

CASE(dgram_to_stream_socket_eprototype)
{
	struct sockaddr_un a;
	socklen_t la = path_addr(&a, "stream");
	int st = bound(SOCK_STREAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(st, 0);
	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), EPROTOTYPE);
	EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, la), EPROTOTYPE);
}

CASE(dgram_queue_limit_for_unconnected_senders)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "q");
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int sent = 0;

	ASSERT_GE(r, 0);
	while (sent < 100 && sendto(s, "x", 1, 0, (struct sockaddr *)&a, la) == 1)
		sent++;
	EXPECT_EQ(errno, EAGAIN);
	/* net.unix.max_dgram_qlen (10) plus one. */
	EXPECT_EQ(sent, 11);
}

CASE(dgram_poll_not_writable_when_peer_queue_full)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "pq");
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct pollfd p = {.events = POLLOUT};

	ASSERT_GE(r, 0);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, la));
	p.fd = s;
	EXPECT_EQ(poll(&p, 1, 0), 1);
	while (send(s, "x", 1, 0) == 1)
		;
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(poll(&p, 1, 0), 0);
	char buf[4];
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 1);
	EXPECT_EQ(poll(&p, 1, 0), 1);
}

CASE(dgram_pair_fills_send_buffer)
{
	int sv[2];
	static char chunk[1024];
	int sent = 0;
	struct pollfd p;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv));
	while (sent < 100000 && send(sv[0], chunk, sizeof(chunk), 0) > 0)
		sent++;
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_GT(sent, 11);
	p = (struct pollfd){.fd = sv[0], .events = POLLOUT};
	EXPECT_EQ(poll(&p, 1, 0), 0);
}

CASE(dgram_larger_than_send_buffer_emsgsize)
{
	int sv[2];
	int v = 4096;
	static char big[16384];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	EXPECT_ERRNO(send(sv[0], big, sizeof(big), 0), EMSGSIZE);
	EXPECT_EQ(send(sv[0], big, 4096, 0), 4096);
}

CASE(dgram_nonblocking_recv_eagain)
{
	int sv[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_ERRNO(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(dgram_shutdown_rd_refuses_senders)
{
	int sv[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(shutdown(sv[1], SHUT_RD));
	EXPECT_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 0);
}

CASE(dgram_shutdown_wr_refuses_own_sends)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_OK(shutdown(sv[0], SHUT_WR));
	EXPECT_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ(send(sv[1], "y", 1, 0), 1);
}

CASE(dgram_readv_reads_one_message)
{
	int sv[2];
	char a[2], b[2];
	struct iovec in[2] = {{a, 2}, {b, 2}};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "xyz", 3), 3);
	EXPECT_EQ(write(sv[0], "next", 4), 4);
	EXPECT_EQ(readv(sv[1], in, 2), 3);
	EXPECT_MEMEQ(a, "xy", 2);
	EXPECT_EQ(b[0], 'z');
	EXPECT_EQ(read(sv[1], a, 2), 2);
	EXPECT_MEMEQ(a, "ne", 2);
}

CASE(dgram_writev_sends_one_message)
{
	int sv[2];
	char buf[16] = {0};
	struct iovec out[2] = {{"ab", 2}, {"cd", 2}};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(writev(sv[0], out, 2), 4);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "abcd");
}

CASE(dgram_fionread_is_next_message)
{
	int sv[2], n = -1;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(write(sv[0], "abc", 3), 3);
	EXPECT_EQ(write(sv[0], "defgh", 5), 5);
	ASSERT_OK(ioctl(sv[1], FIONREAD, &n));
	EXPECT_EQ(n, 3);
}

CASE(dgram_poll_pollin)
{
	int sv[2];
	struct pollfd p = {.events = POLLIN | POLLOUT};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	p.fd = sv[1];
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	EXPECT_EQ(write(sv[0], "x", 1), 1);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT);
}

CASE(dgram_types_and_raw_alias)
{
	int v = 0;
	socklen_t vl = sizeof(v);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0), r = socket(AF_UNIX, SOCK_RAW, 0), q = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	ASSERT_OK(getsockopt(d, SOL_SOCKET, SO_TYPE, &v, &vl));
	EXPECT_EQ(v, SOCK_DGRAM);
	ASSERT_OK(getsockopt(r, SOL_SOCKET, SO_TYPE, &v, &vl));
	EXPECT_EQ(v, SOCK_DGRAM);
	ASSERT_OK(getsockopt(q, SOL_SOCKET, SO_TYPE, &v, &vl));
	EXPECT_EQ(v, SOCK_SEQPACKET);
}

CASE(dgram_blocking_recv_from_another_process)
{
	struct sockaddr_un a;
	socklen_t la = path_addr(&a, "srv");
	char buf[8] = {0};
	int r = bound(SOCK_DGRAM, &a, la);

	ASSERT_GE(r, 0);
	pid_t pid = fork();
	if (pid == 0) {
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);
		usleep(50000);
		_exit(sendto(s, "late", 4, 0, (struct sockaddr *)&a, la) == 4 ? 0 : 1);
	}
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 4);
	EXPECT_STREQ(buf, "late");
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
}

CASE(seqpacket_keeps_boundaries_and_truncates)
{
	int sv[2];
	char buf[8] = {0};
	struct iovec iov = {buf, 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	EXPECT_EQ(write(sv[0], "abcdef", 6), 6);
	EXPECT_EQ(write(sv[0], "gh", 2), 2);
	EXPECT_EQ(recvmsg(sv[1], &m, 0), 3);
	EXPECT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "gh", 2);
}

CASE(seqpacket_eof_after_peer_close)
{
	int sv[2];
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	EXPECT_EQ(write(sv[0], "x", 1), 1);
	ASSERT_OK(close(sv[0]));
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 0);
	EXPECT_ERRNO(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
}

CASE(seqpacket_listen_connect_accept)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "seq");
	char buf[8] = {0};
	int l = bound(SOCK_SEQPACKET, &a, la);

	ASSERT_GE(l, 0);
	ASSERT_OK(listen(l, 1));
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ASSERT_OK(connect(c, (struct sockaddr *)&a, la));
	int s = accept(l, NULL, NULL);
	ASSERT_GE(s, 0);
	EXPECT_EQ(send(c, "m1", 2, 0), 2);
	EXPECT_EQ(send(c, "m22", 3, 0), 3);
	EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 2);
	EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 3);
}

CASE(seqpacket_unconnected_errors)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	char buf[4];

	EXPECT_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
	EXPECT_ERRNO(recv(s, buf, sizeof(buf), 0), ENOTCONN);
}

CASE(abstract_names_are_per_socket_type)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "st");
	int l = bound(SOCK_STREAM, &a, la);

	ASSERT_GE(l, 0);
	ASSERT_OK(listen(l, 1));
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, la), ECONNREFUSED);
}

CASE(sendmmsg_and_recvmmsg)
{
	int sv[2];
	char b0[8] = {0}, b1[8] = {0}, b2[8] = {0};
	struct iovec out[3] = {{"one", 3}, {"three", 5}, {"xx", 2}};
	struct mmsghdr om[3], im[3];
	struct iovec in[3] = {{b0, 8}, {b1, 8}, {b2, 8}};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	memset(om, 0, sizeof(om));
	memset(im, 0, sizeof(im));
	for (int i = 0; i < 3; i++) {
		om[i].msg_hdr.msg_iov = &out[i];
		om[i].msg_hdr.msg_iovlen = 1;
		im[i].msg_hdr.msg_iov = &in[i];
		im[i].msg_hdr.msg_iovlen = 1;
	}
	EXPECT_EQ(sendmmsg(sv[0], om, 2, 0), 2);
	EXPECT_EQ(om[0].msg_len, 3);
	EXPECT_EQ(om[1].msg_len, 5);
	EXPECT_EQ(recvmmsg(sv[1], im, 3, MSG_DONTWAIT, NULL), 2);
	EXPECT_EQ(im[0].msg_len, 3);
	EXPECT_EQ(im[1].msg_len, 5);
	EXPECT_STREQ(b0, "one");
	EXPECT_STREQ(b1, "three");
}

CASE(recvmmsg_waitforone_returns_what_is_there)
{
	int sv[2];
	char b0[8], b1[8];
	struct mmsghdr im[2];
	struct iovec in[2] = {{b0, 8}, {b1, 8}};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	memset(im, 0, sizeof(im));
	for (int i = 0; i < 2; i++) {
		im[i].msg_hdr.msg_iov = &in[i];
		im[i].msg_hdr.msg_iovlen = 1;
	}
	EXPECT_EQ(write(sv[0], "a", 1), 1);
	EXPECT_EQ(recvmmsg(sv[1], im, 2, MSG_WAITFORONE, NULL), 1);
	EXPECT_ERRNO(recvmmsg(sv[1], im, 2, MSG_DONTWAIT, NULL), EAGAIN);
}

CASE(recvmsg_returns_sender_name)
{
	struct sockaddr_un a, b, from;
	socklen_t la = abstract_addr(&a, "r"), lb = path_addr(&b, "s");
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
	int r = bound(SOCK_DGRAM, &a, la), s = bound(SOCK_DGRAM, &b, lb);

	ASSERT_GE(r, 0);
	ASSERT_GE(s, 0);
	EXPECT_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), 1);
	EXPECT_EQ(recvmsg(r, &m, 0), 1);
	EXPECT_EQ(m.msg_namelen, lb);
	EXPECT_STREQ(from.sun_path, b.sun_path);
}

CASE(sendmsg_with_name_to_unconnected)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "sm");
	char buf[8] = {0};
	struct iovec iov = {"msg", 3};
	struct msghdr m = {.msg_name = &a, .msg_namelen = la, .msg_iov = &iov, .msg_iovlen = 1};
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	EXPECT_EQ(sendmsg(s, &m, 0), 3);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 3);
	EXPECT_STREQ(buf, "msg");
	EXPECT_ERRNO(sendmsg(s, BAD_PTR, 0), EFAULT);
}

CASE(epipe_without_sigpipe_on_message_sockets)
{
	int types[2] = {SOCK_SEQPACKET, SOCK_DGRAM};
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	for (int i = 0; i < 2; i++) {
		int sv[2];
		ASSERT_OK(socketpair(AF_UNIX, types[i], 0, sv));
		ASSERT_OK(shutdown(sv[0], SHUT_WR));
		EXPECT_ERRNO(send(sv[0], "x", 1, 0), EPIPE);
		EXPECT_ERRNO(write(sv[0], "x", 1), EPIPE);
	}
	ASSERT_OK(sigpending(&pending));
	EXPECT_TRUE(!sigismember(&pending, SIGPIPE));
}

CASE(shutdown_unconnected_is_allowed)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), t = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_OK(shutdown(s, SHUT_RDWR));
	EXPECT_OK(shutdown(t, SHUT_RDWR));
}

CASE(dgram_blocked_sender_wakes_when_receiver_closes)
{
	struct sockaddr_un a;
	socklen_t la = abstract_addr(&a, "closing");
	int r = bound(SOCK_DGRAM, &a, la);

	ASSERT_GE(r, 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(r);
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);
		for (int i = 0; i < 100; i++)
			if (sendto(s, "x", 1, 0, (struct sockaddr *)&a, la) < 0)
				_exit(0);
		_exit(1);
	}
	usleep(100000);
	ASSERT_OK(close(r));
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

CASE(dgram_connect_af_unspec_disconnects)
{
	struct sockaddr_un a;
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	struct sockaddr_un got;
	socklen_t la = abstract_addr(&a, "unspec"), gl = sizeof(got);
	int r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, la));
	ASSERT_OK(connect(s, &unspec, sizeof(unspec)));
	EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&got, &gl), ENOTCONN);
	EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
}

CASE(msghdr_iovlen_too_large_emsgsize)
{
	int sv[2];
	char buf[4];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1025};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EMSGSIZE);
	EXPECT_ERRNO(recvmsg(sv[0], &m, MSG_DONTWAIT), EMSGSIZE);
}

CASE(recvmmsg_timeout_bounds_the_call)
{
	int sv[2];
	char b0[8], b1[8];
	struct mmsghdr im[2];
	struct iovec in[2] = {{b0, 8}, {b1, 8}};
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 1};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	memset(im, 0, sizeof(im));
	for (int i = 0; i < 2; i++) {
		im[i].msg_hdr.msg_iov = &in[i];
		im[i].msg_hdr.msg_iovlen = 1;
	}
	EXPECT_EQ(write(sv[0], "a", 1), 1);
	EXPECT_EQ(write(sv[0], "b", 1), 1);
	EXPECT_EQ(write(sv[0], "c", 1), 1);
	/* The timeout is only checked after each datagram. */
	usleep(1000);
	EXPECT_EQ(recvmmsg(sv[1], im, 2, 0, &ts), 1);
	ts.tv_nsec = 1000000000;
	EXPECT_ERRNO(recvmmsg(sv[1], im, 2, 0, &ts), EINVAL);
}

CASE(dgram_passcred_send_autobinds_sender)
{
	struct sockaddr_un a, from;
	socklen_t la = abstract_addr(&a, "pcs"), fl = sizeof(from);
	char buf[4];
	int on = 1, r = bound(SOCK_DGRAM, &a, la), s = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_GE(r, 0);
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	EXPECT_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&a, la), 1);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 1);
	EXPECT_EQ(fl, offsetof(struct sockaddr_un, sun_path) + 6);
}

HARNESS_MAIN
