/*
 * UDP over the loopback interface (127.0.0.1 only): bind, sendto,
 * recvfrom, connect, MSG_TRUNC, zero-length datagrams, ICMP errors.
 */
#include "harness.h"
#include "net_helpers.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <arpa/inet.h>

/* A UDP socket bound to 127.0.0.1 and a kernel-chosen port (in *port). */
static int bound(uint16_t *port)
{
	return loopback_bound(SOCK_DGRAM, port);
}

static ssize_t send_to(int s, uint16_t port, const void *buf, size_t n)
{
	struct sockaddr_in a = loopback(port);

	return sendto(s, buf, n, 0, (struct sockaddr *)&a, sizeof(a));
}

CASE(udp_sendto_recvfrom_reports_sender)
{
	uint16_t rp, sp;
	int r = bound(&rp), s = bound(&sp);
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	char buf[16];

	EXPECT_EQ(send_to(s, rp, "hello", 5), 5);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5);
	EXPECT_MEMEQ(buf, "hello", 5);
	EXPECT_EQ(len, sizeof(from));
	EXPECT_EQ(ntohs(from.sin_port), sp);
	EXPECT_EQ(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
}

CASE(udp_unbound_sender_gets_autobound)
{
	uint16_t rp;
	int r = bound(&rp);
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	(void)r;
	ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &len));
	EXPECT_EQ(a.sin_port, 0);
	EXPECT_EQ(send_to(s, rp, "x", 1), 1);
	len = sizeof(a);
	ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &len));
	EXPECT_NE(a.sin_port, 0);
}

CASE(udp_datagrams_keep_boundaries_and_truncate)
{
	uint16_t rp, sp;
	int r = bound(&rp), s = bound(&sp);
	char buf[8];

	ASSERT_EQ(send_to(s, rp, "abcdef", 6), 6);
	ASSERT_EQ(send_to(s, rp, "gh", 2), 2);
	EXPECT_EQ(recv(r, buf, 3, 0), 3);
	EXPECT_MEMEQ(buf, "abc", 3);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 2);
	ASSERT_EQ(send_to(s, rp, "ijklmn", 6), 6);
	EXPECT_EQ(recv(r, buf, 2, MSG_TRUNC), 6);
}

CASE(udp_zero_length_datagram)
{
	uint16_t rp, sp;
	int r = bound(&rp), s = bound(&sp);
	char buf[4];

	EXPECT_EQ(send_to(s, rp, "", 0), 0);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 0);
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(udp_connect_filters_and_sets_peer)
{
	uint16_t rp, sp, op;
	int r = bound(&rp), s = bound(&sp), o = bound(&op);
	struct sockaddr_in a = loopback(sp);
	char buf[4];

	ASSERT_OK(connect(r, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(send_to(o, rp, "o", 1), 1);
	EXPECT_EQ(send_to(s, rp, "s", 1), 1);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 1);
	EXPECT_EQ(buf[0], 's');
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT_EQ(send(r, "back", 4, 0), 4);
	EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 4);
}

CASE(udp_connected_to_closed_port_econnrefused)
{
	uint16_t gp;
	int gone = bound(&gp);
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a = loopback(gp);
	struct pollfd p = {.fd = s, .events = POLLIN};
	char buf[4];

	close(gone);
	ASSERT_OK(connect(s, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(send(s, "x", 1, 0), 1);
	EXPECT_EQ(poll(&p, 1, 2000), 1);
	EXPECT_ERRNO(recv(s, buf, sizeof(buf), 0), ECONNREFUSED);
}

CASE(udp_send_unconnected_edestaddrreq)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	EXPECT_ERRNO(send(s, "x", 1, 0), EDESTADDRREQ);
	EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&a, &len), ENOTCONN);
}

CASE(udp_listen_eopnotsupp)
{
	uint16_t p;
	int s = bound(&p);

	EXPECT_ERRNO(listen(s, 1), EOPNOTSUPP);
	EXPECT_ERRNO(accept(s, NULL, NULL), EOPNOTSUPP);
}

CASE(udp_fionread_is_next_datagram_size)
{
	uint16_t rp, sp;
	int r = bound(&rp), s = bound(&sp);
	int n = -1;

	ASSERT_EQ(send_to(s, rp, "abc", 3), 3);
	ASSERT_EQ(send_to(s, rp, "defgh", 5), 5);
	usleep(10000);
	ASSERT_OK(ioctl(r, FIONREAD, &n));
	EXPECT_EQ(n, 3);
}

CASE(udp_sendto_bad_address_errors)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a = loopback(9);

	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a) - 1), EINVAL);
	EXPECT_ERRNO(sendto(s, "x", 1, 0, BAD_PTR, sizeof(a)), EFAULT);
	EXPECT_ERRNO(sendto(s, BAD_PTR, 1, 0, (struct sockaddr *)&a, sizeof(a)), EFAULT);
	a.sin_port = 0;
	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)), EINVAL);
}

CASE(udp_too_large_datagram_emsgsize)
{
	uint16_t rp;
	int r = bound(&rp);
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char *big = malloc(70000);

	(void)r;
	ASSERT_TRUE(big != NULL);
	memset(big, 'x', 70000);
	EXPECT_ERRNO(send_to(s, rp, big, 70000), EMSGSIZE);
}

CASE(udp_recvfrom_dontwait_eagain_and_peek)
{
	uint16_t rp;
	int r = bound(&rp), s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char buf[8];

	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT_EQ(send_to(s, rp, "peek", 4), 4);
	EXPECT_EQ(recv(r, buf, sizeof(buf), MSG_PEEK), 4);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 4);
	EXPECT_MEMEQ(buf, "peek", 4);
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(udp_msg_trunc_returns_real_length)
{
	uint16_t rp;
	int r = bound(&rp), s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char buf[4];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	EXPECT_EQ(send_to(s, rp, "0123456789", 10), 10);
	EXPECT_EQ(recv(r, buf, sizeof(buf), MSG_TRUNC), 10);
	EXPECT_EQ(send_to(s, rp, "0123456789", 10), 10);
	EXPECT_EQ(recvmsg(r, &m, 0), 4);
	EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
}

CASE(udp_sendmmsg_recvmmsg)
{
	uint16_t rp;
	int r = bound(&rp), s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in to = loopback(rp);
	char a[] = "one", b[] = "three", in[2][8];
	struct iovec out_iov[2] = {{a, 3}, {b, 5}}, in_iov[2] = {{in[0], 8}, {in[1], 8}};
	struct mmsghdr out[2], got[2];

	memset(out, 0, sizeof(out));
	memset(got, 0, sizeof(got));
	for (int i = 0; i < 2; i++) {
		out[i].msg_hdr.msg_name = &to;
		out[i].msg_hdr.msg_namelen = sizeof(to);
		out[i].msg_hdr.msg_iov = &out_iov[i];
		out[i].msg_hdr.msg_iovlen = 1;
		got[i].msg_hdr.msg_iov = &in_iov[i];
		got[i].msg_hdr.msg_iovlen = 1;
	}
	EXPECT_EQ(sendmmsg(s, out, 2, 0), 2);
	EXPECT_EQ(recvmmsg(r, got, 2, MSG_WAITFORONE, NULL), 2);
	EXPECT_EQ(got[0].msg_len, 3);
	EXPECT_EQ(got[1].msg_len, 5);
	EXPECT_MEMEQ(in[1], "three", 5);
}

CASE(udp_bind_rules)
{
	uint16_t rp;
	int r = bound(&rp);
	struct sockaddr_in a = loopback(rp);
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	int one = 1;

	(void)r;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
	a.sin_addr.s_addr = htonl(0x0a0b0c0d);
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRNOTAVAIL);
	/* two sockets with SO_REUSEADDR share a port */
	{
		int x = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
		int y = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
		struct sockaddr_in b = loopback(0);
		socklen_t len = sizeof(b);

		ASSERT_OK(setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		ASSERT_OK(setsockopt(y, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		ASSERT_OK(bind(x, (struct sockaddr *)&b, sizeof(b)));
		ASSERT_OK(getsockname(x, (struct sockaddr *)&b, &len));
		EXPECT_OK(bind(y, (struct sockaddr *)&b, sizeof(b)));
	}
}

CASE(udp_wildcard_bind_receives_on_loopback)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int r = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char buf[4];

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	ASSERT_OK(bind(r, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(r, (struct sockaddr *)&a, &len));
	EXPECT_EQ(a.sin_addr.s_addr, htonl(INADDR_ANY));
	EXPECT_EQ(send_to(s, ntohs(a.sin_port), "w", 1), 1);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 1);
}

CASE(udp_connected_getsockname_shows_source)
{
	uint16_t rp;
	int r = bound(&rp), s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a = loopback(rp);
	socklen_t len = sizeof(a);

	(void)r;
	ASSERT_OK(connect(s, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &len));
	EXPECT_EQ(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);
	EXPECT_NE(a.sin_port, 0);
	len = sizeof(a);
	ASSERT_OK(getpeername(s, (struct sockaddr *)&a, &len));
	EXPECT_EQ(ntohs(a.sin_port), rp);
	a.sin_family = AF_UNSPEC;
	ASSERT_OK(connect(s, (struct sockaddr *)&a, sizeof(a)));
	len = sizeof(a);
	EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&a, &len), ENOTCONN);
}

CASE(udp_poll_and_epoll_readiness)
{
	uint16_t rp;
	int r = bound(&rp), s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct pollfd p = {.fd = r, .events = POLLIN | POLLOUT};
	int ep = ASSERT_OK(epoll_create1(0));
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = r};

	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev));
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	EXPECT_EQ(send_to(s, rp, "e", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 1000), 1);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT);
}

CASE(udp_shutdown_unconnected_enotconn)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char c;

	EXPECT_ERRNO(shutdown(s, SHUT_RD), ENOTCONN);
	/* the shutdown still took effect: a blocking read sees end of file */
	EXPECT_ERRNO(recv(s, &c, 1, MSG_DONTWAIT), EAGAIN);
	EXPECT_EQ(recv(s, &c, 1, 0), 0);
}

CASE(udp_socket_options)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	int v = -1;
	socklen_t len = sizeof(v);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_DGRAM);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(v, IPPROTO_UDP);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len));
	EXPECT_EQ(v, 212992);
	EXPECT_ERRNO(getsockopt(s, IPPROTO_TCP, 1 /* TCP_NODELAY */, &v, &len), EOPNOTSUPP);
	EXPECT_ERRNO(setsockopt(s, IPPROTO_TCP, 1 /* TCP_NODELAY */, &v, sizeof(v)), ENOPROTOOPT);
	EXPECT_ERRNO(accept(s, NULL, NULL), EOPNOTSUPP);
}

HARNESS_MAIN
