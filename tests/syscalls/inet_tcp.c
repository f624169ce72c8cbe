/*
 * TCP over the loopback interface (127.0.0.1 only): socket, bind to port 0,
 * listen, connect, accept, shutdown, socket options, errors.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

/* A listening socket on 127.0.0.1 and a kernel-chosen port (in *port). */
static int listener(uint16_t *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 8) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		FAILX("bind/listen: %s", h_errname(errno));
	*port = ntohs(a.sin_port);
	return s;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	return s;
}

CASE(tcp_bind_port_zero_picks_a_port)
{
	uint16_t port = 0;

	listener(&port);
	EXPECT_NE(port, 0);
}

CASE(tcp_connect_accept_roundtrip)
{
	uint16_t port;
	int l = listener(&port);
	int c = ASSERT_OK(connect_to(port));
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int a = ASSERT_OK(accept(l, (struct sockaddr *)&peer, &len));
	char buf[8];

	EXPECT_EQ(len, sizeof(peer));
	EXPECT_EQ(peer.sin_family, AF_INET);
	EXPECT_EQ(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	EXPECT_EQ(send(c, "ping", 4, 0), 4);
	EXPECT_EQ(recv(a, buf, 4, MSG_WAITALL), 4);
	EXPECT_MEMEQ(buf, "ping", 4);
	EXPECT_EQ(send(a, "pong", 4, 0), 4);
	EXPECT_EQ(recv(c, buf, 4, MSG_WAITALL), 4);
	EXPECT_MEMEQ(buf, "pong", 4);
}

CASE(tcp_names_match_both_ends)
{
	uint16_t port;
	int l = listener(&port);
	int c = ASSERT_OK(connect_to(port));
	int a = ASSERT_OK(accept(l, NULL, NULL));
	struct sockaddr_in cl, ap;
	socklen_t len = sizeof(cl);

	ASSERT_OK(getsockname(c, (struct sockaddr *)&cl, &len));
	len = sizeof(ap);
	ASSERT_OK(getpeername(a, (struct sockaddr *)&ap, &len));
	EXPECT_EQ(cl.sin_port, ap.sin_port);
	len = sizeof(ap);
	ASSERT_OK(getpeername(c, (struct sockaddr *)&ap, &len));
	EXPECT_EQ(ntohs(ap.sin_port), port);
}

CASE(tcp_connect_to_closed_port_econnrefused)
{
	uint16_t port;
	int l = listener(&port);

	close(l);
	EXPECT_ERRNO(connect_to(port), ECONNREFUSED);
}

CASE(tcp_bind_same_port_eaddrinuse)
{
	uint16_t port;
	int l = listener(&port);
	struct sockaddr_in a = loopback(port);
	int s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));

	(void)l;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
}

CASE(tcp_bind_errors)
{
	struct sockaddr_in a = loopback(0);
	int s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));

	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a) - 1), EINVAL);
	a.sin_family = AF_UNIX;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EAFNOSUPPORT);
	a = loopback(0);
	a.sin_addr.s_addr = inet_addr("192.0.2.1"); /* not a local address */
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EADDRNOTAVAIL);
	a = loopback(0);
	ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a)), EINVAL);
}

CASE(tcp_shutdown_write_gives_eof)
{
	uint16_t port;
	int l = listener(&port);
	int c = ASSERT_OK(connect_to(port));
	int a = ASSERT_OK(accept(l, NULL, NULL));
	char ch;

	ASSERT_OK(shutdown(c, SHUT_WR));
	EXPECT_EQ(recv(a, &ch, 1, 0), 0);
	EXPECT_EQ(send(a, "r", 1, 0), 1);
	EXPECT_EQ(recv(c, &ch, 1, 0), 1);
}

CASE(tcp_unconnected_socket_errors)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char c;

	EXPECT_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_ERRNO(recv(s, &c, 1, 0), ENOTCONN);
	EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&a, &len), ENOTCONN);
	EXPECT_ERRNO(shutdown(s, SHUT_RDWR), ENOTCONN);
	EXPECT_ERRNO(accept(s, NULL, NULL), EINVAL);
}

CASE(tcp_nonblocking_connect_einprogress_then_writable)
{
	uint16_t port;
	int l = listener(&port);
	struct sockaddr_in a = loopback(port);
	int s = ASSERT_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
	struct pollfd p = {.fd = s, .events = POLLOUT};
	int err = -1;
	socklen_t len = sizeof(err);
	int r;

	(void)l;
	r = connect(s, (struct sockaddr *)&a, sizeof(a));
	EXPECT_TRUE(r == 0 || errno == EINPROGRESS);
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(err, 0);
}

CASE(tcp_socket_options)
{
	int s = ASSERT_OK(socket(AF_INET, SOCK_STREAM, 0));
	int v = 1;
	socklen_t len = sizeof(v);

	ASSERT_OK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
	v = 0;
	ASSERT_OK(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len));
	EXPECT_NE(v, 0);
	v = 1;
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	v = 0;
	len = sizeof(v);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &len));
	EXPECT_EQ(v, 1);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_STREAM);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(v, IPPROTO_TCP);
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 1), EINVAL);
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, BAD_PTR, sizeof(v)), EFAULT);
}

CASE(tcp_peer_close_gives_eof_then_epipe)
{
	uint16_t port;
	int l = listener(&port);
	int c = ASSERT_OK(connect_to(port));
	int a = ASSERT_OK(accept(l, NULL, NULL));
	char ch;
	int i, r = 0;

	close(a);
	EXPECT_EQ(recv(c, &ch, 1, 0), 0);
	/* the first write gets a RST, a later one fails */
	for (i = 0; i < 50 && r >= 0; i++) {
		r = send(c, "x", 1, MSG_NOSIGNAL);
		usleep(5000);
	}
	EXPECT_EQ(r, -1);
	EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET);
}

CASE(tcp_accept_blocks_until_child_connects)
{
	uint16_t port;
	int l = listener(&port);
	pid_t pid = ASSERT_OK(fork());
	int a;
	char ch = 0;

	if (pid == 0) {
		int s;

		usleep(50000);
		s = connect_to(port);
		_exit(s >= 0 && send(s, "k", 1, 0) == 1 ? 0 : 1);
	}
	a = ASSERT_OK(accept(l, NULL, NULL));
	EXPECT_EQ(recv(a, &ch, 1, MSG_WAITALL), 1);
	EXPECT_EQ(ch, 'k');
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(tcp_ipv6_loopback_roundtrip)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);
	int l = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	int c = ASSERT_OK(socket(AF_INET6, SOCK_STREAM, 0));
	int s;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	ASSERT_OK(bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(listen(l, 1));
	ASSERT_OK(getsockname(l, (struct sockaddr *)&a, &len));
	ASSERT_OK(connect(c, (struct sockaddr *)&a, sizeof(a)));
	s = ASSERT_OK(accept(l, NULL, NULL));
	EXPECT_EQ(send(c, "6", 1, 0), 1);
	EXPECT_EQ(recv(s, &a, 1, 0), 1);
}

HARNESS_MAIN
