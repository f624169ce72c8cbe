/*
 * net_helpers.h: socket set-up shared by the inet* and unix_* files of the
 * conformance suite. Include it after harness.h:
 *
 *	#include "harness.h"
 *	#include "net_helpers.h"
 *
 * - loopback(), loopback_bound(), loopback_listener(), loopback_connected():
 *   127.0.0.1 addresses and sockets on them (skipping natively when the
 *   shared host's lo has lost 127.0.0.1);
 * - path_addr(), abstract_addr(): AF_UNIX names in the case's directory and
 *   in the abstract namespace (unix(7));
 * - connected(): a new socket connected to an address, or -1 with errno;
 * - inet_checksum(): the Internet checksum of ICMP (RFC 1071).
 *
 * The helpers call FAILX/SKIP only where their comment says so.
 */
#ifndef SYSCALLS_NET_HELPERS_H
#define SYSCALLS_NET_HELPERS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* 127.0.0.1:port. */
static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/*
 * A socket of `type` bound to 127.0.0.1 and a kernel-chosen port (in *port),
 * listening (backlog 8) when it is a SOCK_STREAM one. FAILX on errors; SKIP
 * when natively the (shared) host's lo has lost 127.0.0.1.
 */
static int loopback_bound(int type, uint16_t *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, type, 0);

	if (s < 0)
		FAILX("socket: %s", h_errname(errno));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (errno == EADDRNOTAVAIL)
			SKIP("no 127.0.0.1 on this host's lo");
		FAILX("bind: %s", h_errname(errno));
	}
	if (type == SOCK_STREAM && listen(s, 8) != 0)
		FAILX("listen: %s", h_errname(errno));
	if (getsockname(s, (struct sockaddr *)&a, &len) != 0)
		FAILX("getsockname: %s", h_errname(errno));
	*port = ntohs(a.sin_port);
	return s;
}

/* A TCP socket listening on 127.0.0.1 and a kernel-chosen port (in *port). */
static int loopback_listener(uint16_t *port)
{
	return loopback_bound(SOCK_STREAM, port);
}

/* A new socket of `type` connected to `a` (any family); -1 with errno when
 * socket or connect fails (the socket is closed). */
static int connected(int type, const void *a, socklen_t len)
{
	int s = socket(((const struct sockaddr *)a)->sa_family, type, 0);

	if (s < 0)
		return -1;
	if (connect(s, (const struct sockaddr *)a, len) != 0) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* A TCP socket connected to 127.0.0.1:port, or -1 with errno. */
static int loopback_connected(uint16_t port)
{
	struct sockaddr_in a = loopback(port);

	return connected(SOCK_STREAM, &a, sizeof(a));
}

/* The AF_UNIX address of h_path(name) (a path in the case's directory); its length. */
static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", h_path(name));
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

/* An abstract AF_UNIX name (a leading NUL) unique to this process and `tag`; its length. */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *tag)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "h-unix-%d-%s", (int)getpid(), tag);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

/* The Internet checksum (RFC 1071) of n bytes: 0 over data that carries a correct one. */
static uint16_t inet_checksum(const unsigned char *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (p[i] << 8) | p[i + 1];
	if (n & 1)
		s += p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

#endif
