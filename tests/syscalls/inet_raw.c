/*
 * Raw ICMP sockets (raw(7)) over loopback: the guest is root in its sandbox,
 * so SOCK_RAW with IPPROTO_ICMP/IPPROTO_ICMPV6 works. IPv4 receives carry
 * the IP header, ICMPv6 ones do not; the kernel fills ICMPv6 checksums.
 */
#include "harness.h"
#include "net_helpers.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>

static int raw_socket(int family)
{
	int s = socket(family, SOCK_RAW, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (s < 0 && errno == EPERM)
		SKIP("raw sockets need CAP_NET_RAW");
	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	return s;
}

/* Receives until a packet whose ICMP part (at off) has type and id; returns its length. */
static ssize_t recv_icmp(int s, unsigned char *buf, size_t cap, size_t off, int type, int id)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 5000) != 1)
			return -1;
		n = recv(s, buf, cap, 0);
		if (n < 0)
			return -1;
		if ((size_t)n >= off + 8 && buf[off] == type && ((buf[off + 4] << 8) | buf[off + 5]) == id)
			return n;
	}
	return -1;
}

CASE(raw_ipv4_echo_sees_ip_header)
{
	int s = raw_socket(AF_INET);
	struct sockaddr_in to;
	unsigned char req[12] = {ICMP_ECHO, 0, 0, 0, 0x51, 0x7a, 0, 1, 'r', 'a', 'w', '4'};
	unsigned char buf[256];
	uint16_t c = inet_checksum(req, sizeof(req));
	ssize_t n;

	req[2] = c >> 8;
	req[3] = c & 0xff;
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)), sizeof(req));
	n = recv_icmp(s, buf, sizeof(buf), 20, ICMP_ECHOREPLY, 0x517a);
	ASSERT_EQ(n, 20 + (ssize_t)sizeof(req));
	EXPECT_EQ(buf[0], 0x45);
	EXPECT_EQ(buf[9], IPPROTO_ICMP);
	EXPECT_EQ(inet_checksum(buf, 20), 0);
	EXPECT_EQ(inet_checksum(buf + 20, sizeof(req)), 0);
	EXPECT_MEMEQ(buf + 28, "raw4", 4);
}

CASE(raw_ipv4_sees_its_own_request_on_loopback)
{
	int s = raw_socket(AF_INET);
	struct sockaddr_in to;
	unsigned char req[8] = {ICMP_ECHO, 0, 0, 0, 0x51, 0x7b, 0, 2};
	unsigned char buf[256];
	uint16_t c = inet_checksum(req, sizeof(req));

	req[2] = c >> 8;
	req[3] = c & 0xff;
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)), sizeof(req));
	EXPECT_EQ(recv_icmp(s, buf, sizeof(buf), 20, ICMP_ECHO, 0x517b), 28);
}

CASE(raw_ipv6_echo_without_header)
{
	int s = raw_socket(AF_INET6);
	struct sockaddr_in6 to, from;
	unsigned char req[12] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0x61, 0x7c, 0, 3, 'r', 'a', 'w', '6'};
	unsigned char buf[256];
	socklen_t len = sizeof(from);

	memset(&to, 0, sizeof(to));
	to.sin6_family = AF_INET6;
	to.sin6_addr = in6addr_loopback;
	if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		SKIP("no ::1 here: %s", h_errname(errno));
	ASSERT_EQ(recv_icmp(s, buf, sizeof(buf), 0, ICMP6_ECHO_REPLY, 0x617c), sizeof(req));
	EXPECT_MEMEQ(buf + 8, "raw6", 4);
	(void)from;
	(void)len;
}

CASE(raw_socket_identity_and_errors)
{
	int s = raw_socket(AF_INET);
	int v = -1;
	socklen_t len = sizeof(v);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_RAW);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(v, IPPROTO_ICMP);
	EXPECT_ERRNO(socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
	EXPECT_ERRNO(listen(s, 1), EOPNOTSUPP);
	EXPECT_ERRNO(send(s, "x", 1, 0), EDESTADDRREQ);
}

HARNESS_MAIN
