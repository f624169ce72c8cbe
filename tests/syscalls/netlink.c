/*
 * netlink(7) NETLINK_ROUTE sockets as glibc and iproute2 use them: socket,
 * bind (port id auto-assignment), getsockname, sendto/sendmsg,
 * recvfrom/recvmsg with MSG_PEEK and MSG_TRUNC, RTM_GETLINK/GETADDR/GETROUTE
 * dumps and gets, acks, errors for changes and unknown types, options.
 *
 * The host's interfaces differ from the sandbox's: cases check structure
 * and agreement (netlink against getifaddrs and if_nametoindex), never
 * fixed values, and never change the host's network (the one change
 * request sent is made without CAP_NET_ADMIN).
 */
#include "harness.h"

#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif

#define BUFSZ 65536

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		FAILX("socket(AF_NETLINK): %s", h_errname(errno));
	return fd;
}

static unsigned nl_port(int fd)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);
	memset(&sa, 0xff, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		FAILX("getsockname: %s", h_errname(errno));
	return sa.nl_pid;
}

/* Sends one request with a payload of `len` bytes to the kernel. */
static void nl_send(int fd, int type, int flags, unsigned seq, const void *payload, size_t len)
{
	char buf[512];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(buf, 0, sizeof(buf));
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	if (len)
		memcpy(NLMSG_DATA(h), payload, len);
	if (sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)h->nlmsg_len)
		FAILX("sendto: %s", h_errname(errno));
}

/* Receives one datagram; checks that it came from the kernel. */
static ssize_t nl_recv(int fd, char *buf, size_t size)
{
	struct sockaddr_nl from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &len);
	if (n < 0)
		FAILX("recvfrom: %s", h_errname(errno));
	EXPECT_EQ(len, sizeof(struct sockaddr_nl));
	EXPECT_EQ(from.nl_family, AF_NETLINK);
	EXPECT_EQ(from.nl_pid, 0u);
	return n;
}

/* Calls fn on every message of a dump of `type` until NLMSG_DONE;
 * checks the framing of each. Returns the number of messages. */
static int nl_dump(int fd, int type, int family, void (*fn)(struct nlmsghdr *, void *), void *arg)
{
	static char buf[BUFSZ];
	struct rtgenmsg g = { .rtgen_family = family };
	struct ifinfomsg ifi = { .ifi_family = family };
	unsigned seq = 4242, port;
	int count = 0;

	/* ifinfomsg for links (strict checking needs the full header). */
	if (type == RTM_GETLINK)
		nl_send(fd, type, NLM_F_REQUEST | NLM_F_DUMP, seq, &ifi, sizeof(ifi));
	else
		nl_send(fd, type, NLM_F_REQUEST | NLM_F_DUMP, seq, &g, sizeof(g));
	port = nl_port(fd);
	EXPECT_NE(port, 0u);
	for (;;) {
		ssize_t n = nl_recv(fd, buf, sizeof(buf));
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			EXPECT_EQ(h->nlmsg_seq, seq);
			EXPECT_EQ(h->nlmsg_pid, port);
			EXPECT_TRUE(h->nlmsg_flags & NLM_F_MULTI);
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR)
				FAILX("dump answered error %d", ((struct nlmsgerr *)NLMSG_DATA(h))->error);
			EXPECT_EQ(h->nlmsg_type, type - 2); /* RTM_NEWxxx */
			count++;
			if (fn)
				fn(h, arg);
		}
		EXPECT_EQ(n, 0);
	}
}

static struct rtattr *find_attr(struct rtattr *rta, int len, int type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

/* Receives one message (the next datagram's first) and returns the
 * error of an NLMSG_ERROR, or 1 for another type. */
static int nl_recv_error(int fd, unsigned seq, struct nlmsghdr *out)
{
	static char buf[BUFSZ];
	ssize_t n = nl_recv(fd, buf, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, n))
		FAILX("short message (%zd bytes)", n);
	EXPECT_EQ(h->nlmsg_seq, seq);
	if (out)
		memcpy(out, h, sizeof(*h));
	if (h->nlmsg_type != NLMSG_ERROR)
		return 1;
	EXPECT_GE(h->nlmsg_len, NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

/* Drops CAP_NET_ADMIN from the effective set (changes need it). */
static void drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) != 0)
		FAILX("capget: %s", h_errname(errno));
	data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	if (syscall(SYS_capset, &hdr, data) != 0)
		FAILX("capset: %s", h_errname(errno));
}

CASE(netlink_socket_types_and_protocols)
{
	int fd;

	ASSERT_OK(fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	close(fd);
	ASSERT_OK(fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE));
	close(fd);
	EXPECT_ERRNO(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
	EXPECT_ERRNO(socket(AF_NETLINK, SOCK_RAW, MAX_LINKS), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(AF_NETLINK, SOCK_RAW, -1), EPROTONOSUPPORT);
}

CASE(netlink_socket_options_identify_it)
{
	int fd = nl_open(), v;
	socklen_t len = sizeof(v);

	ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len));
	EXPECT_EQ(v, AF_NETLINK);
	len = sizeof(v);
	ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(v, SOCK_RAW);
	len = sizeof(v);
	ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(v, NETLINK_ROUTE);
}

CASE(netlink_unbound_name_is_port_zero)
{
	int fd = nl_open();
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	ASSERT_OK(getsockname(fd, (struct sockaddr *)&sa, &len));
	EXPECT_EQ(len, sizeof(sa));
	EXPECT_EQ(sa.nl_family, AF_NETLINK);
	EXPECT_EQ(sa.nl_pid, 0u);
	EXPECT_EQ(sa.nl_groups, 0u);
}

CASE(netlink_bind_zero_assigns_pid_then_unique_ports)
{
	int a = nl_open(), b = nl_open();
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	ASSERT_OK(bind(a, (struct sockaddr *)&sa, sizeof(sa)));
	/* netlink_autobind: the first socket of a process gets its tgid. */
	EXPECT_EQ(nl_port(a), (unsigned)getpid());
	ASSERT_OK(bind(b, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_NE(nl_port(b), 0u);
	EXPECT_NE(nl_port(b), nl_port(a));
}

CASE(netlink_bind_errors)
{
	int a = nl_open(), b = nl_open();
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	EXPECT_ERRNO(bind(a, (struct sockaddr *)&sa, sizeof(sa) - 1), EINVAL);
	sa.nl_family = AF_INET;
	EXPECT_ERRNO(bind(a, (struct sockaddr *)&sa, sizeof(sa)), EINVAL);
	sa.nl_family = AF_NETLINK;
	sa.nl_pid = 0x7ffff00d;
	ASSERT_OK(bind(a, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_EQ(nl_port(a), 0x7ffff00du);
	/* Bound again to the same port is fine, to another EINVAL. */
	EXPECT_OK(bind(a, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_ERRNO(bind(b, (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE);
	sa.nl_pid = 0x7ffff00e;
	EXPECT_ERRNO(bind(a, (struct sockaddr *)&sa, sizeof(sa)), EINVAL);
	close(a);
	sa.nl_pid = 0x7ffff00d;
	EXPECT_OK(bind(b, (struct sockaddr *)&sa, sizeof(sa)));
}

CASE(netlink_send_autobinds)
{
	int fd = nl_open();
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

	EXPECT_EQ(nl_port(fd), 0u);
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &ifi, sizeof(ifi));
	EXPECT_NE(nl_port(fd), 0u);
}

CASE(netlink_unsupported_socket_calls)
{
	int fd = nl_open();
	int sv[2];

	EXPECT_ERRNO(listen(fd, 1), EOPNOTSUPP);
	EXPECT_ERRNO(accept(fd, NULL, NULL), EOPNOTSUPP);
	EXPECT_ERRNO(shutdown(fd, SHUT_RDWR), EOPNOTSUPP);
	EXPECT_ERRNO(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv), EOPNOTSUPP);
}

struct links {
	int n;
	int index[64];
	char name[64][IFNAMSIZ];
	unsigned flags[64];
};

static void collect_link(struct nlmsghdr *h, void *arg)
{
	struct links *l = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *name = find_attr(IFLA_RTA(ifi), IFLA_PAYLOAD(h), IFLA_IFNAME);
	struct rtattr *mtu = find_attr(IFLA_RTA(ifi), IFLA_PAYLOAD(h), IFLA_MTU);

	EXPECT_GT(ifi->ifi_index, 0);
	EXPECT_TRUE(name != NULL);
	EXPECT_TRUE(mtu != NULL);
	EXPECT_TRUE(find_attr(IFLA_RTA(ifi), IFLA_PAYLOAD(h), IFLA_ADDRESS) != NULL);
	if (!name || l->n == 64)
		return;
	l->index[l->n] = ifi->ifi_index;
	l->flags[l->n] = ifi->ifi_flags;
	snprintf(l->name[l->n], IFNAMSIZ, "%s", (char *)RTA_DATA(name));
	l->n++;
}

CASE(netlink_link_dump_lists_lo_and_agrees_with_if_nametoindex)
{
	int fd = nl_open();
	struct links l = { 0 };
	int have_lo = 0;

	EXPECT_GT(nl_dump(fd, RTM_GETLINK, AF_UNSPEC, collect_link, &l), 0);
	for (int i = 0; i < l.n; i++) {
		EXPECT_EQ(if_nametoindex(l.name[i]), (unsigned)l.index[i]);
		if (l.flags[i] & IFF_LOOPBACK) {
			have_lo = 1;
			EXPECT_STREQ(l.name[i], "lo");
		}
	}
	EXPECT_TRUE(have_lo);
}

CASE(netlink_link_dump_agrees_with_getifaddrs)
{
	int fd = nl_open();
	struct links l = { 0 };
	struct ifaddrs *ifa, *p;
	int packet_entries = 0;

	nl_dump(fd, RTM_GETLINK, AF_UNSPEC, collect_link, &l);
	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next) {
		int found = 0;
		for (int i = 0; i < l.n; i++)
			found |= strcmp(p->ifa_name, l.name[i]) == 0;
		EXPECT_TRUE(found);
		if (p->ifa_addr && p->ifa_addr->sa_family == AF_PACKET)
			packet_entries++;
	}
	/* getifaddrs has one AF_PACKET entry per link. */
	EXPECT_EQ(packet_entries, l.n);
	freeifaddrs(ifa);
}

struct addrs {
	int n4, n6;
	struct in_addr v4[64];
	int index4[64];
};

static void collect_addr(struct nlmsghdr *h, void *arg)
{
	struct addrs *a = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *addr = find_attr(IFA_RTA(ifa), IFA_PAYLOAD(h), IFA_ADDRESS);

	EXPECT_TRUE(addr != NULL);
	EXPECT_GT(ifa->ifa_index, 0u);
	if (ifa->ifa_family == AF_INET) {
		EXPECT_LE(ifa->ifa_prefixlen, 32);
		EXPECT_TRUE(find_attr(IFA_RTA(ifa), IFA_PAYLOAD(h), IFA_LOCAL) != NULL);
		EXPECT_TRUE(find_attr(IFA_RTA(ifa), IFA_PAYLOAD(h), IFA_LABEL) != NULL);
		if (addr && a->n4 < 64) {
			memcpy(&a->v4[a->n4], RTA_DATA(addr), 4);
			a->index4[a->n4++] = ifa->ifa_index;
		}
	} else {
		EXPECT_EQ(ifa->ifa_family, AF_INET6);
		EXPECT_LE(ifa->ifa_prefixlen, 128);
		a->n6++;
	}
}

CASE(netlink_addr_dump_agrees_with_getifaddrs)
{
	int fd = nl_open();
	struct addrs a = { 0 };
	struct ifaddrs *ifa, *p;
	int n4 = 0, n6 = 0;

	nl_dump(fd, RTM_GETADDR, AF_UNSPEC, collect_addr, &a);
	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr)
			continue;
		if (p->ifa_addr->sa_family == AF_INET6)
			n6++;
		if (p->ifa_addr->sa_family != AF_INET)
			continue;
		n4++;
		struct in_addr in = ((struct sockaddr_in *)p->ifa_addr)->sin_addr;
		int found = 0;
		for (int i = 0; i < a.n4; i++)
			found |= a.v4[i].s_addr == in.s_addr && a.index4[i] == (int)if_nametoindex(p->ifa_name);
		EXPECT_TRUE(found);
	}
	EXPECT_EQ(n4, a.n4);
	EXPECT_EQ(n6, a.n6);
	freeifaddrs(ifa);
}

static void expect_family(struct nlmsghdr *h, void *arg)
{
	EXPECT_EQ(((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_family, *(int *)arg);
}

CASE(netlink_addr_dump_filters_by_family)
{
	int fd = nl_open(), fam = AF_INET;

	nl_dump(fd, RTM_GETADDR, AF_INET, expect_family, &fam);
	fam = AF_INET6;
	nl_dump(fd, RTM_GETADDR, AF_INET6, expect_family, &fam);
}

static void check_route(struct nlmsghdr *h, void *arg)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	int fam = *(int *)arg;
	struct rtattr *table = find_attr(RTM_RTA(rt), RTM_PAYLOAD(h), RTA_TABLE);

	EXPECT_EQ(rt->rtm_family, fam);
	EXPECT_TRUE(table != NULL);
	if (table)
		EXPECT_EQ(*(unsigned *)RTA_DATA(table) & 0xff, rt->rtm_table);
	if (rt->rtm_dst_len > 0)
		EXPECT_TRUE(find_attr(RTM_RTA(rt), RTM_PAYLOAD(h), RTA_DST) != NULL);
}

CASE(netlink_route_dump_is_well_formed)
{
	int fd = nl_open(), fam = AF_INET;

	nl_dump(fd, RTM_GETROUTE, AF_INET, check_route, &fam);
	fam = AF_INET6;
	nl_dump(fd, RTM_GETROUTE, AF_INET6, check_route, &fam);
}

CASE(netlink_route_get_of_a_local_address_is_local)
{
	int fd = nl_open();
	struct addrs a = { 0 };
	struct {
		struct rtmsg rt;
		struct rtattr rta;
		struct in_addr dst;
	} req = { 0 };
	static char buf[BUFSZ];

	nl_dump(fd, RTM_GETADDR, AF_INET, collect_addr, &a);
	if (a.n4 == 0)
		SKIP("no IPv4 address");
	req.rt.rtm_family = AF_INET;
	req.rt.rtm_dst_len = 32;
	req.rta.rta_type = RTA_DST;
	req.rta.rta_len = RTA_LENGTH(4);
	req.dst = a.v4[0];
	nl_send(fd, RTM_GETROUTE, NLM_F_REQUEST, 7, &req, sizeof(req));
	ssize_t n = nl_recv(fd, buf, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ASSERT_TRUE(NLMSG_OK(h, n));
	ASSERT_EQ(h->nlmsg_type, RTM_NEWROUTE);
	struct rtmsg *rt = NLMSG_DATA(h);
	EXPECT_EQ(rt->rtm_type, RTN_LOCAL);
	EXPECT_EQ(rt->rtm_table, RT_TABLE_MAIN);
	struct rtattr *dst = find_attr(RTM_RTA(rt), RTM_PAYLOAD(h), RTA_DST);
	ASSERT_TRUE(dst != NULL);
	EXPECT_MEMEQ(RTA_DATA(dst), &a.v4[0], 4);
	EXPECT_TRUE(find_attr(RTM_RTA(rt), RTM_PAYLOAD(h), RTA_OIF) != NULL);
}

CASE(netlink_get_link_by_index_with_ack)
{
	int fd = nl_open();
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex("lo") };
	struct nlmsghdr h;

	ASSERT_GT(ifi.ifi_index, 0);
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 11, &ifi, sizeof(ifi));
	EXPECT_EQ(nl_recv_error(fd, 11, &h), 1);
	EXPECT_EQ(h.nlmsg_type, RTM_NEWLINK);
	EXPECT_EQ(h.nlmsg_flags & NLM_F_MULTI, 0);
	EXPECT_EQ(nl_recv_error(fd, 11, &h), 0);
	/* An ack quotes only the request's header. */
	EXPECT_EQ(h.nlmsg_len, NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	EXPECT_TRUE(h.nlmsg_flags & NLM_F_CAPPED);
}

CASE(netlink_get_link_by_name)
{
	int fd = nl_open();
	struct {
		struct ifinfomsg ifi;
		struct rtattr rta;
		char name[4];
	} req = { .ifi = { .ifi_family = AF_UNSPEC } };
	static char buf[BUFSZ];

	req.rta.rta_type = IFLA_IFNAME;
	req.rta.rta_len = RTA_LENGTH(3);
	memcpy(req.name, "lo", 3);
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 12, &req, sizeof(req));
	ssize_t n = nl_recv(fd, buf, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ASSERT_TRUE(NLMSG_OK(h, n));
	ASSERT_EQ(h->nlmsg_type, RTM_NEWLINK);
	EXPECT_EQ(((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index, (int)if_nametoindex("lo"));
}

CASE(netlink_get_unknown_link_is_enodev)
{
	int fd = nl_open();
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 0x7ffffff0 };
	static char buf[BUFSZ];

	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 13, &ifi, sizeof(ifi));
	ssize_t n = nl_recv(fd, buf, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ASSERT_TRUE(NLMSG_OK(h, n));
	ASSERT_EQ(h->nlmsg_type, NLMSG_ERROR);
	struct nlmsgerr *e = NLMSG_DATA(h);
	EXPECT_EQ(e->error, -ENODEV);
	/* An error quotes the whole request. */
	EXPECT_EQ(h->nlmsg_len, NLMSG_LENGTH(sizeof(int)) + NLMSG_LENGTH(sizeof(ifi)));
	EXPECT_EQ(e->msg.nlmsg_seq, 13u);
	EXPECT_EQ(e->msg.nlmsg_type, RTM_GETLINK);
}

CASE(netlink_change_without_net_admin_is_eperm)
{
	int fd;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 32 };

	drop_net_admin();
	fd = nl_open();
	nl_send(fd, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, 21, &ifa, sizeof(ifa));
	EXPECT_EQ(nl_recv_error(fd, 21, NULL), -EPERM);
	nl_send(fd, RTM_DELLINK, NLM_F_REQUEST, 22, &ifa, sizeof(ifa));
	EXPECT_EQ(nl_recv_error(fd, 22, NULL), -EPERM);
}

CASE(netlink_unicast_to_a_port_needs_net_admin)
{
	int a, b;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	drop_net_admin();
	a = nl_open();
	b = nl_open();
	ASSERT_OK(bind(b, (struct sockaddr *)&to, sizeof(to)));
	to.nl_pid = nl_port(b);
	EXPECT_ERRNO(sendto(a, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), EPERM);
}

CASE(netlink_unknown_type_is_eopnotsupp)
{
	int fd = nl_open();
	char body[4] = { 0 };

	nl_send(fd, 0x7ff0, NLM_F_REQUEST, 31, body, sizeof(body));
	EXPECT_EQ(nl_recv_error(fd, 31, NULL), -EOPNOTSUPP);
}

CASE(netlink_non_requests_and_empty_messages_are_only_acked)
{
	int fd = nl_open();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char body[4] = { 0 };

	/* Without NLM_F_REQUEST nothing is done; with NLM_F_ACK, acked. */
	nl_send(fd, RTM_GETLINK, NLM_F_ACK, 41, body, sizeof(body));
	EXPECT_EQ(nl_recv_error(fd, 41, NULL), 0);
	/* Control messages (NLMSG_NOOP) too. */
	nl_send(fd, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 42, NULL, 0);
	EXPECT_EQ(nl_recv_error(fd, 42, NULL), 0);
	/* A request with no payload is acknowledged and ignored. */
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 43, NULL, 0);
	EXPECT_EQ(nl_recv_error(fd, 43, NULL), 0);
	/* No ack asked: nothing at all. */
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 44, NULL, 0);
	EXPECT_EQ(poll(&p, 1, 50), 0);
}

CASE(netlink_peek_trunc_reports_length_then_reads_it)
{
	int fd = nl_open();
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	static char buf[BUFSZ];
	char small[8];
	ssize_t full, n;

	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 51, &ifi, sizeof(ifi));
	full = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	ASSERT_GT(full, (ssize_t)NLMSG_HDRLEN);
	n = recv(fd, buf, sizeof(buf), MSG_PEEK);
	EXPECT_EQ(n, full);
	/* recvmsg into a short buffer: cut, MSG_TRUNC, datagram gone. */
	struct iovec iov = { small, sizeof(small) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	EXPECT_EQ(recvmsg(fd, &m, 0), (ssize_t)sizeof(small));
	EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
	EXPECT_NE(recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC), full);
}

CASE(netlink_recv_blocks_and_polls)
{
	int fd = nl_open();
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	char buf[16];

	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_EQ(p.revents, POLLOUT);
	EXPECT_ERRNO(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	nl_send(fd, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 61, NULL, 0);
	EXPECT_EQ(poll(&p, 1, 1000), 1);
	EXPECT_EQ(p.revents, POLLIN | POLLOUT);
}

CASE(netlink_connect_then_send_without_address)
{
	int fd = nl_open();
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_NOOP,
			      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 71 };
	struct sockaddr_nl peer;
	socklen_t len = sizeof(peer);

	ASSERT_OK(connect(fd, (struct sockaddr *)&kernel, sizeof(kernel)));
	EXPECT_NE(nl_port(fd), 0u);
	ASSERT_OK(getpeername(fd, (struct sockaddr *)&peer, &len));
	EXPECT_EQ(peer.nl_pid, 0u);
	EXPECT_EQ(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	EXPECT_EQ(nl_recv_error(fd, 71, NULL), 0);
}

CASE(netlink_options_iproute2_sets)
{
	int fd = nl_open(), one = 1, v, grp = RTNLGRP_LINK;
	socklen_t len = sizeof(v);

	EXPECT_OK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ 32768 }, sizeof(int)));
	EXPECT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 1048576 }, sizeof(int)));
	EXPECT_OK(setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)));
	EXPECT_OK(setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)));
	ASSERT_OK(getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &len));
	EXPECT_EQ(v, 1);
	EXPECT_OK(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)));
	unsigned groups = 0;
	len = sizeof(groups);
	ASSERT_OK(getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, &groups, &len));
	EXPECT_EQ(groups, 1u << (RTNLGRP_LINK - 1));
	EXPECT_ERRNO(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &(int){ 0 }, sizeof(int)), EINVAL);
	EXPECT_ERRNO(setsockopt(fd, SOL_NETLINK, 999, &one, sizeof(one)), ENOPROTOOPT);
	/* A dump still works with strict checking on. */
	EXPECT_GT(nl_dump(fd, RTM_GETLINK, AF_UNSPEC, NULL, NULL), 0);
}

CASE(netlink_bind_groups_show_in_name)
{
	int fd = nl_open();
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR };
	struct sockaddr_nl got;
	socklen_t len = sizeof(got);

	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(getsockname(fd, (struct sockaddr *)&got, &len));
	EXPECT_EQ(got.nl_groups, (unsigned)(RTMGRP_LINK | RTMGRP_IPV4_IFADDR));
}

CASE(netlink_unread_replies_overrun_with_enobufs)
{
	int fd = nl_open(), size = 4096, replies = 0, enobufs = 0;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex("lo") };
	static char buf[BUFSZ];

	/* A small receive buffer and many replies nobody reads yet: the
	 * replies that do not fit are dropped and the next receive says so. */
	ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)));
	for (int i = 0; i < 64; i++)
		nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 100 + i, &ifi, sizeof(ifi));
	for (int i = 0; i < 200; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			replies++;
		else if (errno == ENOBUFS)
			enobufs++;
		else
			break;
	}
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_GT(replies, 0);
	EXPECT_LT(replies, 64);
	EXPECT_EQ(enobufs, 1);
}

static void check_neigh(struct nlmsghdr *h, void *arg)
{
	struct ndmsg *nd = NLMSG_DATA(h);
	(void)arg;
	EXPECT_TRUE(nd->ndm_family == AF_INET || nd->ndm_family == AF_INET6);
	EXPECT_GT(nd->ndm_ifindex, 0);
	EXPECT_TRUE(find_attr((struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))), h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)), NDA_DST) != NULL);
}

CASE(netlink_neigh_dump_is_well_formed)
{
	int fd = nl_open();

	/* Possibly empty (a fresh namespace has no neighbours). */
	EXPECT_GE(nl_dump(fd, RTM_GETNEIGH, AF_UNSPEC, check_neigh, NULL), 0);
}

HARNESS_MAIN
