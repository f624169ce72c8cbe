/*
 * AF_UNIX datagram sockets bound to paths: sendto, recvfrom with the
 * sender's address, connect filtering, sendmsg/recvmsg, errors.
 */
#include "harness.h"
#include "net_helpers.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int bound(const char *name)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, len) != 0)
		FAILX("bind: %s", h_errname(errno));
	return s;
}

static ssize_t send_to(int s, const char *name, const char *msg)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, name);

	return sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, len);
}

CASE(unix_dgram_sendto_and_recvfrom_sender)
{
	int r = bound("r"), s = bound("s");
	struct sockaddr_un from;
	socklen_t len = sizeof(from);
	char buf[16];

	EXPECT_EQ(send_to(s, "r", "hello"), 5);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5);
	EXPECT_MEMEQ(buf, "hello", 5);
	EXPECT_EQ(from.sun_family, AF_UNIX);
	EXPECT_STREQ(from.sun_path, h_path("s"));
}

CASE(unix_dgram_unbound_sender_has_no_name)
{
	int r = bound("r");
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	struct sockaddr_un from;
	socklen_t len = sizeof(from);
	char buf[16];

	EXPECT_EQ(send_to(s, "r", "x"), 1);
	EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 1);
	/* Linux reports no address at all for an unbound sender */
	EXPECT_EQ(len, 0);
}

CASE(unix_dgram_keeps_message_boundaries)
{
	int r = bound("r"), s = bound("s");
	char buf[16];

	ASSERT_EQ(send_to(s, "r", "one"), 3);
	ASSERT_EQ(send_to(s, "r", "three"), 5);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 3);
	EXPECT_EQ(recv(r, buf, 2, 0), 2);
	EXPECT_MEMEQ(buf, "th", 2);
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

CASE(unix_dgram_sendto_errors)
{
	int s = ASSERT_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	int gone = bound("gone");

	EXPECT_ERRNO(send_to(s, "missing", "x"), ENOENT);
	close(gone);
	EXPECT_ERRNO(send_to(s, "gone", "x"), ECONNREFUSED);
	EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
}

CASE(unix_dgram_connect_sets_default_destination)
{
	int r = bound("r"), s = bound("s");
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "r");
	char buf[8];

	ASSERT_OK(connect(s, (struct sockaddr *)&a, len));
	EXPECT_EQ(send(s, "abc", 3, 0), 3);
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 3);
	len = sizeof(a);
	ASSERT_OK(getpeername(s, (struct sockaddr *)&a, &len));
	EXPECT_STREQ(a.sun_path, h_path("r"));
}

CASE(unix_dgram_connected_receiver_filters_senders)
{
	int r = bound("r"), s = bound("s"), other = bound("o");
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "s");

	ASSERT_OK(connect(r, (struct sockaddr *)&a, len));
	EXPECT_ERRNO(send_to(other, "r", "x"), EPERM);
	EXPECT_EQ(send_to(s, "r", "x"), 1);
}

CASE(unix_dgram_sendmsg_recvmsg_iovecs)
{
	int r = bound("r"), s = bound("s");
	struct sockaddr_un a;
	char b1[3], b2[8];
	struct iovec out[2] = {{.iov_base = "abc", .iov_len = 3}, {.iov_base = "defg", .iov_len = 4}};
	struct iovec in[2] = {{.iov_base = b1, .iov_len = 3}, {.iov_base = b2, .iov_len = 8}};
	struct msghdr mh = {.msg_name = &a, .msg_namelen = path_addr(&a, "r"),
			    .msg_iov = out, .msg_iovlen = 2};

	EXPECT_EQ(sendmsg(s, &mh, 0), 7);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = in;
	mh.msg_iovlen = 2;
	EXPECT_EQ(recvmsg(r, &mh, 0), 7);
	EXPECT_MEMEQ(b1, "abc", 3);
	EXPECT_MEMEQ(b2, "defg", 4);
	EXPECT_EQ(mh.msg_flags, 0);
}

CASE(unix_dgram_recv_msg_trunc_flag)
{
	int r = bound("r"), s = bound("s");
	char buf[4];

	ASSERT_EQ(send_to(s, "r", "abcdefgh"), 8);
	EXPECT_EQ(recv(r, buf, sizeof(buf), MSG_TRUNC), 8);
	EXPECT_MEMEQ(buf, "abcd", 4);
}

CASE(unix_dgram_listen_and_accept_eopnotsupp)
{
	int s = bound("s");

	EXPECT_ERRNO(listen(s, 1), EOPNOTSUPP);
	EXPECT_ERRNO(accept(s, NULL, NULL), EOPNOTSUPP);
}

CASE(unix_dgram_blocking_recv_woken_by_child)
{
	int r = bound("r");
	pid_t pid = ASSERT_OK(fork());
	char buf[4];

	if (pid == 0) {
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);

		usleep(50000);
		_exit(send_to(s, "r", "z") == 1 ? 0 : 1);
	}
	EXPECT_EQ(recv(r, buf, sizeof(buf), 0), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
