/*
 * ICMP echo ("ping") sockets (icmp(7)): SOCK_DGRAM with IPPROTO_ICMP and
 * IPPROTO_ICMPV6 to the loopback addresses. Natively they need the caller's
 * group in net.ipv4.ping_group_range; cases skip when the host refuses. To
 * check them natively without touching the host's settings, run the binary
 * in a private network namespace:
 *   unshare -n sh -c 'echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range;
 *                     ip link set lo up; target/syscall-tests/inet_ping'
 */
#include "harness.h"
#include "net_helpers.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>

static int ping_socket(int family)
{
	int s = socket(family, SOCK_DGRAM, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (s < 0 && (errno == EACCES || errno == EPERM))
		SKIP("ping sockets not allowed here (ping_group_range)");
	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	return s;
}

CASE(ping_ipv4_loopback_echo)
{
	int s = ping_socket(AF_INET);
	struct sockaddr_in to = loopback(0), from;
	socklen_t len = sizeof(from);
	unsigned char req[16] = {ICMP_ECHO, 0, 0, 0, 0, 0, 0, 7, 'p', 'i', 'n', 'g'};
	unsigned char rep[64];
	struct pollfd p = {.fd = s, .events = POLLIN};

	EXPECT_EQ(sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)), sizeof(req));
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(recvfrom(s, rep, sizeof(rep), 0, (struct sockaddr *)&from, &len), sizeof(req));
	EXPECT_EQ(rep[0], ICMP_ECHOREPLY);
	EXPECT_EQ(rep[7], 7);
	EXPECT_MEMEQ(rep + 8, "ping", 4);
	EXPECT_EQ(inet_checksum(rep, sizeof(req)), 0);
	EXPECT_EQ(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
}

CASE(ping_identifier_is_the_bound_port)
{
	int s = ping_socket(AF_INET);
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	unsigned char req[8] = {ICMP_ECHO, 0, 0, 0, 0, 0, 0, 1}, rep[64];

	a.sin_port = htons(4242);
	ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &len));
	EXPECT_EQ(ntohs(a.sin_port), 4242);
	a.sin_port = 0;
	ASSERT_OK(connect(s, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(send(s, req, sizeof(req), 0), sizeof(req));
	EXPECT_EQ(recv(s, rep, sizeof(rep), 0), sizeof(req));
	EXPECT_EQ((rep[4] << 8) | rep[5], 4242);
}

CASE(ping_rejects_what_is_not_an_echo_request)
{
	int s = ping_socket(AF_INET);
	struct sockaddr_in to = loopback(0);
	unsigned char reply[8] = {ICMP_ECHOREPLY, 0, 0, 0, 0, 0, 0, 1};
	unsigned char coded[8] = {ICMP_ECHO, 1, 0, 0, 0, 0, 0, 1};

	EXPECT_ERRNO(sendto(s, reply, sizeof(reply), 0, (struct sockaddr *)&to, sizeof(to)), EINVAL);
	EXPECT_ERRNO(sendto(s, coded, sizeof(coded), 0, (struct sockaddr *)&to, sizeof(to)), EINVAL);
	EXPECT_ERRNO(sendto(s, reply, 4, 0, (struct sockaddr *)&to, sizeof(to)), EINVAL);
	EXPECT_ERRNO(recv(s, reply, sizeof(reply), MSG_DONTWAIT), EAGAIN);
}

CASE(ping_ipv6_loopback_echo)
{
	int s = ping_socket(AF_INET6);
	struct sockaddr_in6 to, from;
	socklen_t len = sizeof(from);
	unsigned char req[12] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 3, 's', 'i', 'x', '!'};
	unsigned char rep[64];

	memset(&to, 0, sizeof(to));
	to.sin6_family = AF_INET6;
	to.sin6_addr = in6addr_loopback;
	if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno == EADDRNOTAVAIL)
		SKIP("no ::1 here");
	EXPECT_EQ(recvfrom(s, rep, sizeof(rep), 0, (struct sockaddr *)&from, &len), sizeof(req));
	EXPECT_EQ(rep[0], ICMP6_ECHO_REPLY);
	EXPECT_MEMEQ(rep + 8, "six!", 4);
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
}

CASE(ping_socket_options)
{
	int s = ping_socket(AF_INET);
	int v = -1;
	socklen_t len = sizeof(v);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(v, IPPROTO_ICMP);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_DGRAM);
	EXPECT_ERRNO(listen(s, 1), EOPNOTSUPP);
}

HARNESS_MAIN
