/*
 * Unix domain stream sockets (unix(7)): socket and socketpair, bind to path
 * and abstract names, autobind, listen/accept/connect, names, shutdown,
 * EPIPE/SIGPIPE, poll readiness, blocking and non-blocking I/O, socket
 * options, and a server and client in two processes.
 */
#include "harness.h"
#include "net_helpers.h"

#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

/* A listening stream socket bound to `a`. */
static int listener(const struct sockaddr_un *a, socklen_t len, int backlog)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (const struct sockaddr *)a, len) < 0 || listen(s, backlog) < 0)
		return -1;
	return s;
}

static void on_signal(int sig)
{
	(void)sig;
}

CASE(socket_stream_fstat_is_socket)
{
	struct stat st;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(s, 0);
	ASSERT_OK(fstat(s, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

CASE(socket_proc_fd_link_names_inode)
{
	struct stat st;
	char link[64], want[64];
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(s, 0);
	ASSERT_OK(fstat(s, &st));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", s);
	char buf[64] = {0};
	ASSERT_GT(readlink(link, buf, sizeof(buf) - 1), 0);
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)st.st_ino);
	EXPECT_STREQ(buf, want);
}

CASE(socket_unknown_family_eafnosupport)
{
	EXPECT_ERRNO(socket(4242, SOCK_STREAM, 0), EAFNOSUPPORT);
}

CASE(socket_bad_type_and_protocol)
{
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_PACKET, 0), ESOCKTNOSUPPORT);
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
	int s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
	EXPECT_GE(s, 0);
}

CASE(socket_nonblock_and_cloexec_flags)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ASSERT_GE(s, 0);
	EXPECT_TRUE(fcntl(s, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(s, F_GETFL) & O_ACCMODE, O_RDWR);
}

CASE(socketpair_stream_roundtrip)
{
	int sv[2];
	char buf[16] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "ping", 4), 4);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "ping");
	EXPECT_EQ(send(sv[1], "pong!", 5, 0), 5);
	EXPECT_EQ(recv(sv[0], buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "pong!", 5);
}

CASE(socketpair_stream_merges_writes)
{
	int sv[2];
	char buf[16] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "ab", 2), 2);
	EXPECT_EQ(write(sv[0], "cd", 2), 2);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "abcd");
}

CASE(socketpair_unknown_family)
{
	int sv[2];

	EXPECT_ERRNO(socketpair(4242, SOCK_STREAM, 0, sv), EAFNOSUPPORT);
	EXPECT_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	EXPECT_ERRNO(socketpair(AF_INET6, SOCK_DGRAM, 0, sv), EOPNOTSUPP);
	EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR), EFAULT);
}

CASE(bind_path_creates_socket_file)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	struct stat st;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	umask(022);
	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	ASSERT_OK(stat(a.sun_path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0755);
}

CASE(bind_existing_name_eaddrinuse)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	int s1 = socket(AF_UNIX, SOCK_STREAM, 0), s2 = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s1, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
	ASSERT_OK(close(s1));
	/* The file stays after close: the name is still in use. */
	EXPECT_ERRNO(bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
	ASSERT_OK(unlink(a.sun_path));
	EXPECT_OK(bind(s2, (struct sockaddr *)&a, len));
}

CASE(bind_regular_file_eaddrinuse)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "file");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	h_write_file(a.sun_path, "x", 1);
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EADDRINUSE);
}

CASE(bind_twice_einval)
{
	struct sockaddr_un a, b;
	socklen_t la = path_addr(&a, "one"), lb = path_addr(&b, "two");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, la));
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&b, lb), EINVAL);
}

CASE(bind_missing_directory_enoent)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "nodir/sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), ENOENT);
}

CASE(bind_bad_lengths_and_family)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, 1), EINVAL);
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, sizeof(a) + 1), EINVAL);
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, -1), EINVAL);
	a.sun_family = AF_INET;
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&a, len), EINVAL);
	EXPECT_ERRNO(bind(s, BAD_PTR, len), EFAULT);
}

CASE(getsockname_path_length)
{
	struct sockaddr_un a, got;
	socklen_t len = path_addr(&a, "sock"), glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1);
	EXPECT_EQ(got.sun_family, AF_UNIX);
	EXPECT_STREQ(got.sun_path, a.sun_path);
}

CASE(getsockname_path_without_nul_terminator)
{
	struct sockaddr_un a, got;
	socklen_t len = path_addr(&a, "sock") - 1, glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, len + 1);
}

CASE(getsockname_relative_path_as_given)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX}, got;
	socklen_t glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(chdir(h_path("")));
	strcpy(a.sun_path, "rel.sock");
	ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_STREQ(got.sun_path, "rel.sock");
	EXPECT_EQ(glen, offsetof(struct sockaddr_un, sun_path) + 9);
}

CASE(getsockname_unbound_is_family_only)
{
	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, sizeof(sa_family_t));
	EXPECT_EQ(got.sun_family, AF_UNIX);
}

CASE(getsockname_short_buffer_reports_full_length)
{
	struct sockaddr_un a;
	char small[4];
	socklen_t len = path_addr(&a, "sock"), glen = sizeof(small);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	ASSERT_OK(getsockname(s, (struct sockaddr *)small, &glen));
	EXPECT_EQ(glen, len);
	glen = -1;
	EXPECT_ERRNO(getsockname(s, (struct sockaddr *)small, &glen), EINVAL);
}

CASE(getsockname_not_a_socket)
{
	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	int p[2];

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(getsockname(p[0], (struct sockaddr *)&got, &glen), ENOTSOCK);
	EXPECT_ERRNO(getsockname(-1, (struct sockaddr *)&got, &glen), EBADF);
	EXPECT_ERRNO(listen(p[0], 1), ENOTSOCK);
}

CASE(autobind_gives_abstract_name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX}, got;
	socklen_t glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, offsetof(struct sockaddr_un, sun_path) + 6);
	EXPECT_EQ(got.sun_path[0], 0);
	/* A name of five hex digits. */
	for (int i = 1; i < 6; i++)
		EXPECT_TRUE(strchr("0123456789abcdef", got.sun_path[i]) != NULL);
}

CASE(abstract_connect_accept_roundtrip)
{
	struct sockaddr_un a, got;
	socklen_t len = abstract_addr(&a, "rt"), glen = sizeof(got);
	char buf[8] = {0};
	int l = listener(&a, len, 4);

	ASSERT_GE(l, 0);
	ASSERT_OK(getsockname(l, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, len);
	EXPECT_MEMEQ(got.sun_path, a.sun_path, len - offsetof(struct sockaddr_un, sun_path));
	int c = connected(SOCK_STREAM, &a, len);
	ASSERT_GE(c, 0);
	int s = accept(l, NULL, NULL);
	ASSERT_GE(s, 0);
	EXPECT_EQ(write(c, "hi", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "hi");
}

CASE(abstract_name_in_use_until_closed)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "busy");
	int s1 = socket(AF_UNIX, SOCK_STREAM, 0), s2 = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s1, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
	ASSERT_OK(close(s1));
	EXPECT_OK(bind(s2, (struct sockaddr *)&a, len));
}

CASE(abstract_connect_without_listener_econnrefused)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "none");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
}

CASE(connect_missing_path_enoent)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "missing");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), ENOENT);
}

CASE(connect_bound_but_not_listening_econnrefused)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(s, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
}

CASE(connect_closed_listener_econnrefused)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	int l = listener(&a, len, 1), c = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(l, 0);
	ASSERT_OK(close(l));
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
}

CASE(connect_regular_file_econnrefused)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "file");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);

	h_write_file(a.sun_path, "x", 1);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
}

CASE(connect_needs_write_permission_eacces)
{
	char dir[] = "/tmp/h-unix-XXXXXX";
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_OK(chmod(dir, 0755));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", dir);
	int l = listener(&a, sizeof(a), 1);
	ASSERT_GE(l, 0);
	ASSERT_OK(chmod(a.sun_path, 0555));
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		_exit(connect(c, (struct sockaddr *)&a, sizeof(a)) == -1 && errno == EACCES ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
	unlink(a.sun_path);
	rmdir(dir);
}

CASE(connect_through_symlink)
{
	struct sockaddr_un a, b;
	socklen_t la = path_addr(&a, "sock"), lb = path_addr(&b, "link");
	int l = listener(&a, la, 1);

	ASSERT_GE(l, 0);
	ASSERT_OK(symlink(a.sun_path, b.sun_path));
	EXPECT_GE(connected(SOCK_STREAM, &b, lb), 0);
}

CASE(connect_renamed_socket_file)
{
	struct sockaddr_un a, b;
	socklen_t la = path_addr(&a, "sock"), lb = path_addr(&b, "moved");
	int l = listener(&a, la, 1);

	ASSERT_GE(l, 0);
	ASSERT_OK(rename(a.sun_path, b.sun_path));
	EXPECT_GE(connected(SOCK_STREAM, &b, lb), 0);
}

CASE(connect_twice_eisconn)
{
	int sv[2];
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "twice");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(connect(sv[0], (struct sockaddr *)&a, len), EISCONN);
	EXPECT_ERRNO(connect(l, (struct sockaddr *)&a, len), EINVAL);
}

CASE(connect_stream_to_dgram_eprototype)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "dgram");
	int d = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(bind(d, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), EPROTOTYPE);
}

CASE(listen_unbound_einval)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	EXPECT_ERRNO(listen(s, 1), EINVAL);
}

CASE(listen_connected_einval_and_dgram_eopnotsupp)
{
	int sv[2];
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "dg");
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(listen(sv[0], 1), EINVAL);
	ASSERT_OK(bind(d, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(listen(d, 1), EOPNOTSUPP);
}

CASE(listen_again_is_allowed)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "again");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	EXPECT_OK(listen(l, 5));
}

CASE(accept_not_listening_einval)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0), d = socket(AF_UNIX, SOCK_DGRAM, 0);

	EXPECT_ERRNO(accept(s, NULL, NULL), EINVAL);
	EXPECT_ERRNO(accept(d, NULL, NULL), EOPNOTSUPP);
}

CASE(accept_nonblocking_eagain)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "nb");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	ASSERT_OK(fcntl(l, F_SETFL, O_NONBLOCK));
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
}

CASE(accept4_flags)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "a4");
	int l = listener(&a, len, 2);

	ASSERT_GE(l, 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	EXPECT_ERRNO(accept4(l, NULL, NULL, 0x4), EINVAL);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_GE(s, 0);
	EXPECT_TRUE(fcntl(s, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
	int t = accept4(l, NULL, NULL, 0);
	ASSERT_GE(t, 0);
	EXPECT_EQ(fcntl(t, F_GETFL) & O_NONBLOCK, 0);
	EXPECT_EQ(fcntl(t, F_GETFD), 0);
}

CASE(accept_reports_unnamed_client)
{
	struct sockaddr_un a, peer;
	socklen_t len = abstract_addr(&a, "peer"), plen = sizeof(peer);
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	ASSERT_GE(accept(l, (struct sockaddr *)&peer, &plen), 0);
	EXPECT_EQ(plen, sizeof(sa_family_t));
	EXPECT_EQ(peer.sun_family, AF_UNIX);
}

CASE(accept_reports_bound_client)
{
	struct sockaddr_un a, b, peer;
	socklen_t la = path_addr(&a, "srv"), lb = path_addr(&b, "cli"), plen = sizeof(peer);
	int l = listener(&a, la, 1), c = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(l, 0);
	ASSERT_OK(bind(c, (struct sockaddr *)&b, lb));
	ASSERT_OK(connect(c, (struct sockaddr *)&a, la));
	ASSERT_GE(accept(l, (struct sockaddr *)&peer, &plen), 0);
	EXPECT_EQ(plen, lb);
	EXPECT_STREQ(peer.sun_path, b.sun_path);
}

CASE(names_of_both_ends)
{
	struct sockaddr_un a, got;
	socklen_t len = path_addr(&a, "srv"), glen;
	int l = listener(&a, len, 1), c = connected(SOCK_STREAM, &a, len), s = accept(l, NULL, NULL);

	ASSERT_GE(s, 0);
	glen = sizeof(got);
	ASSERT_OK(getpeername(c, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, len);
	EXPECT_STREQ(got.sun_path, a.sun_path);
	glen = sizeof(got);
	ASSERT_OK(getsockname(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, len);
	EXPECT_STREQ(got.sun_path, a.sun_path);
	glen = sizeof(got);
	ASSERT_OK(getpeername(s, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, sizeof(sa_family_t));
	glen = sizeof(got);
	ASSERT_OK(getsockname(c, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, sizeof(sa_family_t));
}

CASE(getpeername_unconnected_enotconn)
{
	struct sockaddr_un a, got;
	socklen_t len = abstract_addr(&a, "gp"), glen = sizeof(got);
	int s = socket(AF_UNIX, SOCK_STREAM, 0), l = listener(&a, len, 1);

	EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&got, &glen), ENOTCONN);
	EXPECT_ERRNO(getpeername(l, (struct sockaddr *)&got, &glen), ENOTCONN);
}

CASE(write_before_accept_is_delivered)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "early");
	char buf[8] = {0};
	int l = listener(&a, len, 1), c = connected(SOCK_STREAM, &a, len);

	ASSERT_GE(c, 0);
	EXPECT_EQ(write(c, "early", 5), 5);
	int s = accept(l, NULL, NULL);
	ASSERT_GE(s, 0);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 5);
	EXPECT_STREQ(buf, "early");
}

CASE(backlog_full_nonblocking_connect_eagain)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "full");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	/* Linux admits backlog + 1 connections before accept. */
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, len), EAGAIN);
	ASSERT_GE(accept(l, NULL, NULL), 0);
	EXPECT_OK(connect(c, (struct sockaddr *)&a, len));
}

CASE(backlog_full_blocking_connect_waits_for_accept)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "wait");
	int l = listener(&a, len, 0);

	ASSERT_GE(l, 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(accept(l, NULL, NULL) >= 0 ? 0 : 1);
	}
	EXPECT_GE(connected(SOCK_STREAM, &a, len), 0);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

CASE(blocked_connect_refused_when_listener_closes)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "closing");
	int l = listener(&a, len, 0);

	ASSERT_GE(l, 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(l);
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(connect(c, (struct sockaddr *)&a, len) == -1 && errno == ECONNREFUSED ? 0 : 1);
	}
	usleep(100000);
	ASSERT_OK(close(l));
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

CASE(open_of_socket_file_enxio)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "sock");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	EXPECT_ERRNO(open(a.sun_path, O_RDWR), ENXIO);
}

CASE(shutdown_wr_gives_peer_eof)
{
	int sv[2];
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "x", 1), 1);
	ASSERT_OK(shutdown(sv[0], SHUT_WR));
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 0);
	EXPECT_ERRNO(send(sv[0], "y", 1, MSG_NOSIGNAL), EPIPE);
	/* The other direction still works. */
	EXPECT_EQ(write(sv[1], "z", 1), 1);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 1);
}

CASE(shutdown_rd_makes_peer_writes_fail)
{
	int sv[2];
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[1], "a", 1), 1);
	ASSERT_OK(shutdown(sv[0], SHUT_RD));
	EXPECT_ERRNO(send(sv[1], "b", 1, MSG_NOSIGNAL), EPIPE);
	/* Data queued before the shutdown is still read, then EOF. */
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 1);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 0);
}

CASE(shutdown_bad_how_einval)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(shutdown(sv[0], 3), EINVAL);
	EXPECT_ERRNO(shutdown(sv[0], -1), EINVAL);
}

CASE(write_to_closed_peer_raises_sigpipe)
{
	int sv[2];
	sigset_t set, pending;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(close(sv[1]));
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	EXPECT_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	ASSERT_OK(sigpending(&pending));
	EXPECT_TRUE(!(sigismember(&pending, SIGPIPE)));
	EXPECT_ERRNO(write(sv[0], "x", 1), EPIPE);
	ASSERT_OK(sigpending(&pending));
	EXPECT_TRUE(sigismember(&pending, SIGPIPE));
}

CASE(read_after_peer_close_is_eof)
{
	int sv[2];
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[1], "abc", 3), 3);
	ASSERT_OK(shutdown(sv[1], SHUT_WR));
	ASSERT_OK(close(sv[1]));
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 3);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 0);
}

CASE(close_with_unread_data_resets_peer)
{
	int sv[2];
	char buf[8];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "abc", 3), 3);
	ASSERT_OK(close(sv[1]));
	EXPECT_ERRNO(read(sv[0], buf, sizeof(buf)), ECONNRESET);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 0);
}

CASE(unaccepted_connection_reset_when_listener_closes)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "reset");
	char buf[8];
	int l = listener(&a, len, 1), c = connected(SOCK_STREAM, &a, len);

	ASSERT_GE(c, 0);
	ASSERT_OK(close(l));
	EXPECT_ERRNO(read(c, buf, sizeof(buf)), ECONNRESET);
	EXPECT_EQ(read(c, buf, sizeof(buf)), 0);
}

CASE(read_and_send_unconnected)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[4];

	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
}

CASE(sendto_with_name_on_stream)
{
	int sv[2];
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "st");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, len), EISCONN);
	EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, len), EOPNOTSUPP);
}

CASE(nonblocking_read_eagain_and_msg_dontwait)
{
	int sv[2];
	char buf[4];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	ASSERT_OK(fcntl(sv[0], F_SETFL, O_NONBLOCK));
	EXPECT_ERRNO(read(sv[0], buf, sizeof(buf)), EAGAIN);
}

CASE(msg_peek_leaves_data)
{
	int sv[2];
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "ab", 2), 2);
	EXPECT_EQ(write(sv[0], "cd", 2), 2);
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 4);
	EXPECT_STREQ(buf, "abcd");
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(recv(sv[1], buf, 3, 0), 3);
	EXPECT_STREQ(buf, "abc");
	EXPECT_EQ(recv(sv[1], buf, sizeof(buf), 0), 1);
}

CASE(msg_waitall_collects_several_writes)
{
	int sv[2];
	char buf[8] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++) {
			usleep(20000);
			if (write(sv[1], "ab", 2) != 2)
				_exit(1);
		}
		_exit(0);
	}
	EXPECT_EQ(recv(sv[0], buf, 6, MSG_WAITALL), 6);
	EXPECT_STREQ(buf, "ababab");
	waitpid(pid, NULL, 0);
}

CASE(so_rcvlowat_waits_for_enough_bytes)
{
	int sv[2], low = 4, got = 0;
	socklen_t gl = sizeof(got);
	char buf[16] = {0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low)));
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &got, &gl));
	EXPECT_EQ(got, 4);
	EXPECT_EQ(write(sv[1], "ab", 2), 2);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(write(sv[1], "cd", 2) == 2 ? 0 : 1);
	}
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "abcd");
	waitpid(pid, NULL, 0);
}

CASE(blocking_read_interrupted_eintr)
{
	int sv[2];
	char buf[4];
	struct sigaction sa = {.sa_handler = on_signal};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_ERRNO(read(sv[0], buf, sizeof(buf)), EINTR);
}

CASE(blocking_read_restarted_with_sa_restart)
{
	int sv[2];
	char buf[4];
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	pid_t pid = fork();
	if (pid == 0) {
		usleep(400000);
		_exit(write(sv[1], "ok", 2) == 2 ? 0 : 1);
	}
	ualarm(100000, 0);
	EXPECT_EQ(read(sv[0], buf, sizeof(buf)), 2);
	waitpid(pid, NULL, 0);
}

CASE(so_rcvtimeo_times_out_with_eagain)
{
	int sv[2];
	char buf[4];
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000}, got;
	socklen_t glen = sizeof(got);
	struct timespec t0, t1;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &glen));
	EXPECT_EQ(glen, sizeof(got));
	EXPECT_EQ(got.tv_sec, 0);
	EXPECT_GT(got.tv_usec, 90000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_ERRNO(read(sv[0], buf, sizeof(buf)), EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_GE(ms, 90);
	tv.tv_usec = 1000000;
	EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, 4), EINVAL);
}

CASE(so_rcvtimeo_interrupted_is_not_restarted)
{
	int sv[2];
	char buf[4];
	struct timeval tv = {.tv_sec = 5};
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	/* socket(7): with a timeout set, an interrupted call fails with EINTR. */
	ualarm(100000, 0);
	EXPECT_ERRNO(read(sv[0], buf, sizeof(buf)), EINTR);
}

CASE(blocking_accept_interrupted_eintr)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "intr");
	struct sigaction sa = {.sa_handler = on_signal};
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	ualarm(100000, 0);
	EXPECT_ERRNO(accept(l, NULL, NULL), EINTR);
}

CASE(so_passcred_connect_autobinds)
{
	struct sockaddr_un a, got;
	socklen_t len = abstract_addr(&a, "pc"), glen = sizeof(got);
	int on = 1, l = listener(&a, len, 1), c = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(l, 0);
	ASSERT_OK(setsockopt(c, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
	ASSERT_OK(connect(c, (struct sockaddr *)&a, len));
	ASSERT_OK(getsockname(c, (struct sockaddr *)&got, &glen));
	EXPECT_EQ(glen, offsetof(struct sockaddr_un, sun_path) + 6);
	EXPECT_EQ(got.sun_path[0], 0);
}

CASE(so_sndtimeo_times_out_on_full_buffer)
{
	int sv[2];
	static char chunk[65536];
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ssize_t w;
	int rounds = 0;
	do {
		w = write(sv[0], chunk, sizeof(chunk));
	} while (w > 0 && ++rounds < 1000);
	EXPECT_EQ(w, -1);
	EXPECT_EQ(errno, EAGAIN);
}

CASE(full_buffer_nonblocking_write_and_poll)
{
	int sv[2];
	static char chunk[4096];
	struct pollfd p;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	long total = 0;
	for (;;) {
		ssize_t w = write(sv[0], chunk, sizeof(chunk));
		if (w < 0)
			break;
		total += w;
	}
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_GT(total, 4096);
	p = (struct pollfd){.fd = sv[0], .events = POLLOUT};
	EXPECT_EQ(poll(&p, 1, 0), 0);
	/* Draining makes it writable again. */
	char buf[4096];
	while (read(sv[1], buf, sizeof(buf)) > 0)
		;
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
}

CASE(poll_readiness_of_a_pair)
{
	int sv[2];
	struct pollfd p = {.events = POLLIN | POLLOUT | POLLRDHUP};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	p.fd = sv[0];
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	EXPECT_EQ(write(sv[1], "x", 1), 1);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT);
	ASSERT_OK(close(sv[1]));
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
}

CASE(poll_after_shutdown_wr_of_peer)
{
	int sv[2];
	struct pollfd p = {.events = POLLIN | POLLRDHUP};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_OK(shutdown(sv[1], SHUT_WR));
	p.fd = sv[0];
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLRDHUP);
}

CASE(poll_unconnected_and_listening)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "poll");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};

	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT | POLLHUP);
	int l = listener(&a, len, 1);
	ASSERT_GE(l, 0);
	p.fd = l;
	EXPECT_EQ(poll(&p, 1, 0), 0);
	ASSERT_GE(connected(SOCK_STREAM, &a, len), 0);
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLIN);
}

CASE(poll_wakes_when_data_arrives)
{
	int sv[2];
	struct pollfd p = {.events = POLLIN};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	p.fd = sv[0];
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(write(sv[1], "x", 1) == 1 ? 0 : 1);
	}
	EXPECT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(p.revents, POLLIN);
	waitpid(pid, NULL, 0);
}

CASE(poll_both_ends_at_once)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid_t pid = fork();
	int mine = pid == 0 ? sv[1] : sv[0];
	struct pollfd p = {.fd = mine, .events = POLLIN | POLLOUT};
	int ok = 1;
	for (int i = 0; i < 3000; i++)
		ok &= poll(&p, 1, 0) == 1 && p.revents == POLLOUT;
	if (pid == 0)
		_exit(ok ? 0 : 1);
	EXPECT_TRUE(ok);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

CASE(select_sees_readable_socket)
{
	int sv[2];
	fd_set r;
	struct timeval tv = {0, 0};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	FD_ZERO(&r);
	FD_SET(sv[0], &r);
	EXPECT_EQ(select(sv[0] + 1, &r, NULL, NULL, &tv), 0);
	EXPECT_EQ(write(sv[1], "x", 1), 1);
	FD_SET(sv[0], &r);
	EXPECT_EQ(select(sv[0] + 1, &r, NULL, NULL, &tv), 1);
}

CASE(readv_and_writev)
{
	int sv[2];
	char a[3], b[5];
	struct iovec out[2] = {{"hel", 3}, {"lo wo", 5}};
	struct iovec in[2] = {{a, sizeof(a)}, {b, sizeof(b)}};

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(writev(sv[0], out, 2), 8);
	EXPECT_EQ(readv(sv[1], in, 2), 8);
	EXPECT_MEMEQ(a, "hel", 3);
	EXPECT_MEMEQ(b, "lo wo", 5);
}

CASE(fionread_counts_unread_bytes)
{
	int sv[2], n = -1;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(write(sv[0], "abc", 3), 3);
	EXPECT_EQ(write(sv[0], "de", 2), 2);
	ASSERT_OK(ioctl(sv[1], FIONREAD, &n));
	EXPECT_EQ(n, 5);
}

CASE(large_transfer_between_processes)
{
	int sv[2];
	enum { TOTAL = 4 << 20 };

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid_t pid = fork();
	if (pid == 0) {
		static char out[TOTAL];
		for (int i = 0; i < TOTAL; i++)
			out[i] = (char)(i * 7);
		_exit(write(sv[1], out, TOTAL) == TOTAL ? 0 : 1);
	}
	static char in[TOTAL];
	long got = 0;
	while (got < TOTAL) {
		ssize_t r = read(sv[0], in + got, TOTAL - got);
		if (r <= 0)
			break;
		got += r;
	}
	EXPECT_EQ(got, TOTAL);
	int bad = 0;
	for (int i = 0; i < TOTAL; i++)
		bad += in[i] != (char)(i * 7);
	EXPECT_EQ(bad, 0);
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
}

CASE(sockopt_identity)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "opt");
	int v = -1;
	socklen_t vl = sizeof(v);
	int s = socket(AF_UNIX, SOCK_STREAM, 0), l = listener(&a, len, 1);

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
	EXPECT_EQ(v, SOCK_STREAM);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl));
	EXPECT_EQ(v, AF_UNIX);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
	EXPECT_EQ(v, 0);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
	EXPECT_EQ(v, 0);
	ASSERT_OK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
	EXPECT_EQ(v, 1);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &vl));
	EXPECT_EQ(v, 0);
	EXPECT_EQ(vl, sizeof(int));
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), ENOPROTOOPT);
}

CASE(sockopt_buffer_sizes_double)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int v = 10000, got = 0;
	socklen_t gl = sizeof(got);

	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &got, &gl));
	EXPECT_EQ(got, 20000);
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &got, &gl));
	EXPECT_EQ(got, 20000);
	v = 1;
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &got, &gl));
	EXPECT_EQ(got, 4608);
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &got, &gl));
	EXPECT_EQ(got, 2304);
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
}

CASE(sockopt_flags_and_linger)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int on = 1, got = 0;
	socklen_t gl = sizeof(got);
	struct linger lg = {.l_onoff = 1, .l_linger = 5}, lgot;
	socklen_t ll = sizeof(lgot);

	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &got, &gl));
	EXPECT_EQ(got, 1);
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lgot, &ll));
	EXPECT_EQ(ll, sizeof(lgot));
	EXPECT_EQ(lgot.l_onoff, 1);
	EXPECT_EQ(lgot.l_linger, 5);
	EXPECT_ERRNO(getsockopt(s, SOL_SOCKET, 9999, &got, &gl), ENOPROTOOPT);
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, 9999, &on, sizeof(on)), ENOPROTOOPT);
}

CASE(sockopt_other_levels_and_fixed_values)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0), v = 1;
	socklen_t vl = sizeof(v);

	EXPECT_ERRNO(setsockopt(s, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, &v, sizeof(v)), EOPNOTSUPP);
	EXPECT_ERRNO(getsockopt(s, 6, 1, &v, &vl), EOPNOTSUPP);
	EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_SNDLOWAT, &v, sizeof(v)), ENOPROTOOPT);
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_SNDLOWAT, &v, &vl));
	EXPECT_EQ(v, 1);
	v = -1;
	ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, &vl));
	EXPECT_EQ(v, 0x7fffffff);
}

CASE(getsockopt_short_length_truncates)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	unsigned char b = 0xff;
	socklen_t len = 1;

	ASSERT_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &b, &len));
	EXPECT_EQ(len, 1);
	EXPECT_EQ(b, SOCK_STREAM);
	len = -1;
	EXPECT_ERRNO(getsockopt(s, SOL_SOCKET, SO_TYPE, &b, &len), EINVAL);
}

CASE(server_and_client_processes)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "server");
	int l = listener(&a, len, 4);

	ASSERT_GE(l, 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* The client: two requests on two connections. */
		for (int i = 0; i < 2; i++) {
			char buf[16] = {0};
			int c = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(c, (struct sockaddr *)&a, len) < 0)
				_exit(1);
			if (write(c, "ping", 4) != 4 || read(c, buf, sizeof(buf)) != 4 || strcmp(buf, "pong"))
				_exit(2);
			close(c);
		}
		_exit(0);
	}
	for (int i = 0; i < 2; i++) {
		char buf[16] = {0};
		int s = accept(l, NULL, NULL);
		ASSERT_GE(s, 0);
		EXPECT_EQ(read(s, buf, sizeof(buf)), 4);
		EXPECT_STREQ(buf, "ping");
		EXPECT_EQ(write(s, "pong", 4), 4);
		EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
		close(s);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

CASE(connect_to_server_in_child)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "exec");
	int l = listener(&a, len, 1);

	ASSERT_GE(l, 0);
	pid_t pid = fork();
	if (pid == 0) {
		int s = accept(l, NULL, NULL);
		_exit(s >= 0 && write(s, "srv", 3) == 3 ? 0 : 1);
	}
	char buf[8] = {0};
	int c = connected(SOCK_STREAM, &a, len);
	ASSERT_GE(c, 0);
	EXPECT_EQ(read(c, buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "srv");
	int status;
	waitpid(pid, &status, 0);
	EXPECT_EQ(status, 0);
}

HARNESS_MAIN
