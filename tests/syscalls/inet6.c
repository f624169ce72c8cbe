/*
 * IPv6 sockets over loopback (ipv6(7)): ::1, the wildcard, IPV6_V6ONLY,
 * v4-mapped addresses (::ffff:127.0.0.1) on AF_INET6 sockets, UDP to ::1.
 */
#include "harness.h"
#include "net_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct sockaddr_in6 v6addr(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1)
		FAILX("inet_pton %s", ip);
	return a;
}

/* Skips when the host (natively) has no ::1 or 127.0.0.1 on lo. */
static void need_loopback(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = v6addr("::1", 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		SKIP("no ::1 here: %s", h_errname(errno));
	close(s);
}

/* A TCP listener on ip (port chosen by the kernel, in *port). */
static int listen_on(const char *ip, int v6only, uint16_t *port)
{
	struct sockaddr_in6 a = v6addr(ip, 0);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET6, SOCK_STREAM, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (v6only >= 0 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
		FAILX("IPV6_V6ONLY: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 8) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		FAILX("bind/listen %s: %s", ip, h_errname(errno));
	*port = ntohs(a.sin6_port);
	return s;
}

CASE(ipv6_names_of_a_connection)
{
	uint16_t port;
	int l, c, a;
	struct sockaddr_in6 to, peer, name;
	socklen_t plen = sizeof(peer), nlen = sizeof(name);

	need_loopback();
	l = listen_on("::1", -1, &port);
	to = v6addr("::1", port);
	c = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	ASSERT_OK(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = ASSERT_OK(accept(l, (struct sockaddr *)&peer, &plen));
	EXPECT_EQ(plen, sizeof(peer));
	EXPECT_EQ(peer.sin6_family, AF_INET6);
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
	ASSERT_OK(getsockname(c, (struct sockaddr *)&name, &nlen));
	EXPECT_EQ(name.sin6_port, peer.sin6_port);
	EXPECT_EQ(send(a, "v6", 2, 0), 2);
	EXPECT_EQ(recv(c, &name, 2, 0), 2);
}

CASE(ipv6_wildcard_listener_accepts_ipv4_as_mapped)
{
	uint16_t port;
	int l, c, a;
	struct sockaddr_in6 peer;
	socklen_t len = sizeof(peer);
	char text[64];

	need_loopback();
	l = listen_on("::", 0, &port);
	c = ASSERT_OK(loopback_connected(port));
	a = ASSERT_OK(accept(l, (struct sockaddr *)&peer, &len));
	EXPECT_EQ(peer.sin6_family, AF_INET6);
	EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
	inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof(text));
	EXPECT_STREQ(text, "::ffff:127.0.0.1");
	(void)c;
	(void)a;
}

CASE(ipv6_v6only_listener_refuses_ipv4)
{
	uint16_t port;
	int l;

	need_loopback();
	l = listen_on("::", 1, &port);
	EXPECT_ERRNO(loopback_connected(port), ECONNREFUSED);
	(void)l;
}

CASE(ipv6_v6only_frees_the_ipv4_port)
{
	uint16_t port;
	int l, s;
	struct sockaddr_in a;

	need_loopback();
	l = listen_on("::", 1, &port);
	s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	EXPECT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
	(void)l;
}

CASE(ipv6_dual_stack_wildcard_blocks_ipv4_port)
{
	uint16_t port;
	int l, s;
	struct sockaddr_in a;

	need_loopback();
	l = listen_on("::", 0, &port);
	s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
	(void)l;
}

CASE(ipv6_connect_to_mapped_ipv4)
{
	uint16_t port;
	struct sockaddr_in l4;
	socklen_t len = sizeof(l4);
	int l = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));
	int c = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	struct sockaddr_in6 to, name;

	memset(&l4, 0, sizeof(l4));
	l4.sin_family = AF_INET;
	l4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_OK(bind(l, (struct sockaddr *)&l4, sizeof(l4)));
	ASSERT_OK(listen(l, 4));
	ASSERT_OK(getsockname(l, (struct sockaddr *)&l4, &len));
	port = ntohs(l4.sin_port);
	to = v6addr("::ffff:127.0.0.1", port);
	ASSERT_OK(connect(c, (struct sockaddr *)&to, sizeof(to)));
	len = sizeof(name);
	ASSERT_OK(getsockname(c, (struct sockaddr *)&name, &len));
	EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&name.sin6_addr));
}

CASE(ipv6_v6only_option_rules)
{
	int s = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	int v = -1;
	socklen_t len = sizeof(v);
	struct sockaddr_in6 a = v6addr("::ffff:127.0.0.1", 0);
	int four = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));

	ASSERT_OK(getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len));
	EXPECT_EQ(v, 0);
	v = 1;
	ASSERT_OK(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)));
	/* a v6-only socket cannot bind a v4-mapped address */
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EINVAL);
	/* IPV6_V6ONLY is not an option of AF_INET sockets */
	EXPECT_ERRNO(setsockopt(four, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)), ENOPROTOOPT);
}

CASE(ipv6_bind_errors)
{
	int s = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	struct sockaddr_in6 a = v6addr("2001:db8::1", 0);
	struct sockaddr_in four;

	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRNOTAVAIL);
	memset(&four, 0, sizeof(four));
	four.sin_family = AF_INET;
	/* a sockaddr_in is too short for an AF_INET6 socket */
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&four, sizeof(four)), EINVAL);
	a = v6addr("::1", 0);
	a.sin6_family = AF_INET;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EAFNOSUPPORT);
}

CASE(ipv6_udp_to_loopback)
{
	struct sockaddr_in6 a = v6addr("::1", 0), from;
	socklen_t len = sizeof(a), flen = sizeof(from);
	int r, s;
	char buf[8];

	need_loopback();
	r = ASSERT_OK(socket(AF_INET6, SOCK_DGRAM, 0));
	s = ASSERT_OK(socket(AF_INET6, SOCK_DGRAM, 0));
	ASSERT_OK(bind(r, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(r, (struct sockaddr *)&a, &len));
	EXPECT_EQ(sendto(s, "six", 3, 0, (struct sockaddr *)&a, sizeof(a)), 3);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 3);
	EXPECT_EQ(flen, sizeof(from));
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
}

CASE(ipv6_udp_dual_stack_hears_ipv4)
{
	struct sockaddr_in6 a = v6addr("::", 0), from;
	struct sockaddr_in to;
	socklen_t len = sizeof(a), flen = sizeof(from);
	int r = ASSERT_OK(socket(AF_INET6, SOCK_DGRAM, 0));
	int s = ASSERT_OK(socket(AF_INET, SOCK_DGRAM, 0));
	char buf[8];

	ASSERT_OK(bind(r, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(r, (struct sockaddr *)&a, &len));
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = a.sin6_port;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(sendto(s, "4to6", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 4);
	EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&from.sin6_addr));
}

HARNESS_MAIN
