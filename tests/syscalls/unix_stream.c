/*
 * AF_UNIX stream sockets bound to paths: socket, bind, listen, connect,
 * accept, accept4, getsockname, getpeername, and their errors.
 */
#include "harness.h"
#include "net_helpers.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A listening socket bound to h_path(name). */
static int listener(const char *name)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, len) != 0)
		FAILX("bind: %s", h_errname(errno));
	if (listen(s, 8) != 0)
		FAILX("listen: %s", h_errname(errno));
	return s;
}

/* A stream socket connected to h_path(name), or -1 with errno. */
static int connect_to(const char *name)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, name);

	return connected(SOCK_STREAM, &a, len);
}

CASE(unix_bind_creates_socket_file)
{
	struct stat st;

	listener("s");
	ASSERT_OK(stat(h_path("s"), &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

CASE(unix_connect_accept_roundtrip)
{
	int l = listener("s");
	int c = ASSERT_OK(connect_to("s"));
	int a = ASSERT_OK(accept(l, NULL, NULL));
	char buf[8];

	EXPECT_EQ(write(c, "hi", 2), 2);
	EXPECT_EQ(read(a, buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "hi", 2);
	EXPECT_EQ(write(a, "yo", 2), 2);
	EXPECT_EQ(read(c, buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "yo", 2);
}

CASE(unix_bind_existing_path_eaddrinuse)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "s");
	int s;

	listener("s");
	s = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EADDRINUSE);
	h_write_file(h_path("file"), "", 0);
	len = path_addr(&a, "file");
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EADDRINUSE);
}

CASE(unix_bind_errors)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "nodir/s");
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));

	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), ENOENT);
	len = path_addr(&a, "s");
	a.sun_family = AF_INET;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EINVAL);
	a.sun_family = AF_UNIX;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, 1), EINVAL);
	EXPECT_ERRNO(bind(s, BAD_PTR, len), EFAULT);
	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	len = path_addr(&a, "t");
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EINVAL);
}

CASE(unix_connect_errors)
{
	struct sockaddr_un a;
	socklen_t len;
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));
	int d;

	len = path_addr(&a, "missing");
	EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, len), ENOENT);
	h_write_file(h_path("file"), "", 0);
	len = path_addr(&a, "file");
	EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, len), ECONNREFUSED);
	/* a bound socket that does not listen */
	d = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));
	len = path_addr(&a, "quiet");
	ASSERT_OK(bind(d, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, len), ECONNREFUSED);
	/* a datagram socket is the wrong type */
	close(d);
	d = ASSERT_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	len = path_addr(&a, "dg");
	ASSERT_OK(bind(d, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, len), EPROTOTYPE);
}

CASE(unix_connect_after_listener_closed_econnrefused)
{
	int l = listener("s");

	close(l);
	EXPECT_ERRNO(connect_to("s"), ECONNREFUSED);
}

CASE(unix_getsockname_and_getpeername)
{
	int l = listener("s");
	int c = ASSERT_OK(connect_to("s"));
	int a = ASSERT_OK(accept(l, NULL, NULL));
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	ASSERT_OK(getsockname(l, (struct sockaddr *)&sa, &len));
	EXPECT_STREQ(sa.sun_path, h_path("s"));
	len = sizeof(sa);
	ASSERT_OK(getpeername(c, (struct sockaddr *)&sa, &len));
	EXPECT_STREQ(sa.sun_path, h_path("s"));
	len = sizeof(sa);
	ASSERT_OK(getsockname(a, (struct sockaddr *)&sa, &len));
	EXPECT_STREQ(sa.sun_path, h_path("s"));
	len = sizeof(sa);
	ASSERT_OK(getpeername(a, (struct sockaddr *)&sa, &len));
	EXPECT_EQ(len, sizeof(sa_family_t));
	EXPECT_ERRNO(getpeername(l, (struct sockaddr *)&sa, &len), ENOTCONN);
}

CASE(unix_accept_errors)
{
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));
	int p[2];
	int l;

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(accept(s, NULL, NULL), EINVAL);
	EXPECT_ERRNO(accept(p[0], NULL, NULL), ENOTSOCK);
	EXPECT_ERRNO(accept(999, NULL, NULL), EBADF);
	l = listener("s");
	EXPECT_ERRNO(accept4(l, NULL, NULL, OPAQUE(1)), EINVAL);
	ASSERT_OK(fcntl(l, F_SETFL, O_NONBLOCK));
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
}

CASE(unix_accept4_flags)
{
	int l = listener("s");
	int c = ASSERT_OK(connect_to("s"));
	int a = ASSERT_OK(accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));

	(void)c;
	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

CASE(unix_listener_is_readable_when_connection_pending)
{
	int l = listener("s");
	struct pollfd p = {.fd = l, .events = POLLIN};
	int v = 0;
	socklen_t len = sizeof(v);

	ASSERT_OK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len));
	EXPECT_EQ(v, 1);
	EXPECT_EQ(poll(&p, 1, 0), 0);
	ASSERT_OK(connect_to("s"));
	EXPECT_EQ(poll(&p, 1, 1000), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(unix_io_on_unconnected_socket)
{
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_STREAM, 0));
	char c;

	EXPECT_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
	EXPECT_ERRNO(recv(s, &c, 1, 0), EINVAL);
	/* AF_UNIX accepts shutdown of an unconnected socket */
	EXPECT_OK(shutdown(s, SHUT_RDWR));
	EXPECT_ERRNO(shutdown(s, OPAQUE(3)), EINVAL);
}

CASE(unix_accept_blocks_until_child_connects)
{
	int l = listener("s");
	pid_t pid = ASSERT_OK(fork());
	int a;
	char c = 0;

	if (pid == 0) {
		int s;

		usleep(50000);
		s = connect_to("s");
		_exit(s >= 0 && write(s, "k", 1) == 1 ? 0 : 1);
	}
	a = ASSERT_OK(accept(l, NULL, NULL));
	EXPECT_EQ(read(a, &c, 1), 1);
	EXPECT_EQ(c, 'k');
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(unix_unlink_socket_file_keeps_listener)
{
	int l = listener("s");

	(void)l;
	ASSERT_OK(unlink(h_path("s")));
	EXPECT_ERRNO(connect_to("s"), ENOENT);
}

CASE(unix_socket_errors)
{
	EXPECT_ERRNO(socket(AF_UNIX, OPAQUE(99), 0), EINVAL);
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, OPAQUE(2)), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(OPAQUE(4242), SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM | OPAQUE(0x100000), 0), EINVAL);
}

HARNESS_MAIN
