/*
 * UDP over the loopback interface (127.0.0.1 only): bind, sendto,
 * recvfrom, connect, MSG_TRUNC, zero-length datagrams, ICMP errors.
 */
#include "harness.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A UDP socket bound to 127.0.0.1 and a kernel-chosen port (in *port). */
static int bound(uint16_t *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		FAILX("bind: %s", h_errname(errno));
	*port = ntohs(a.sin_port);
	return s;
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

HARNESS_MAIN
