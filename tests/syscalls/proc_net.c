/*
 * /proc/net (proc(5)): the link to self/net, and the files tools read:
 * dev, if_inet6, route, ipv6_route, unix, tcp/udp headers. The host's
 * interfaces differ from the sandbox's: cases check the format and that
 * the files agree with getifaddrs and with sockets the case opens.
 */
#include "harness.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static char text[1 << 20];

static char *read_proc(const char *path)
{
	if (h_read_file(path, text, sizeof(text)) < 0)
		FAILX("reading %s: %s", path, h_errname(errno));
	return text;
}

/* Number of links (AF_PACKET entries) getifaddrs reports. */
static int count_links(void)
{
	struct ifaddrs *ifa, *p;
	int n = 0;

	if (getifaddrs(&ifa) != 0)
		FAILX("getifaddrs: %s", h_errname(errno));
	for (p = ifa; p; p = p->ifa_next)
		n += p->ifa_addr && p->ifa_addr->sa_family == AF_PACKET;
	freeifaddrs(ifa);
	return n;
}

CASE(proc_net_is_a_link_to_self_net)
{
	char buf[64];
	ssize_t n = readlink("/proc/net", buf, sizeof(buf));
	struct stat st;

	ASSERT_GT(n, 0);
	EXPECT_MEMEQ(buf, "self/net", 8);
	EXPECT_EQ(n, 8);
	ASSERT_OK(stat("/proc/self/net", &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", getpid());
	EXPECT_OK(access(path, R_OK));
}

CASE(proc_net_dev_lists_every_link)
{
	char *t = read_proc("/proc/net/dev");
	char *line, *save;
	int rows = 0;

	line = strtok_r(t, "\n", &save);
	ASSERT_TRUE(line != NULL);
	EXPECT_STREQ(line, "Inter-|   Receive                                                |  Transmit");
	line = strtok_r(NULL, "\n", &save);
	ASSERT_TRUE(line != NULL);
	EXPECT_STREQ(line, " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
			   "packets errs drop fifo colls carrier compressed");
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[IFNAMSIZ + 1];
		unsigned long long v[16];
		char *colon = strchr(line, ':');
		ASSERT_TRUE(colon != NULL);
		EXPECT_EQ(sscanf(line, " %16[^:]:", name), 1);
		EXPECT_EQ(sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
				 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
				 &v[12], &v[13], &v[14], &v[15]),
			  16);
		EXPECT_GT(if_nametoindex(name), 0u);
		rows++;
	}
	EXPECT_EQ(rows, count_links());
}

CASE(proc_net_if_inet6_agrees_with_getifaddrs)
{
	char *t = read_proc("/proc/net/if_inet6");
	char *line, *save;
	struct ifaddrs *ifa, *p;
	int rows = 0, n6 = 0;

	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next)
		n6 += p->ifa_addr && p->ifa_addr->sa_family == AF_INET6;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char hex[33], name[IFNAMSIZ + 1];
		unsigned index, prefix, scope, flags;
		ASSERT_EQ(sscanf(line, "%32s %x %x %x %x %16s", hex, &index, &prefix, &scope, &flags, name), 6);
		EXPECT_EQ(strlen(hex), 32u);
		EXPECT_EQ(index, if_nametoindex(name));
		EXPECT_LE(prefix, 128u);
		/* The address is one getifaddrs reports on that interface. */
		struct in6_addr a;
		for (int i = 0; i < 16; i++)
			sscanf(hex + 2 * i, "%2hhx", &a.s6_addr[i]);
		int found = 0;
		for (p = ifa; p; p = p->ifa_next)
			found |= p->ifa_addr && p->ifa_addr->sa_family == AF_INET6 && strcmp(p->ifa_name, name) == 0 &&
				 memcmp(&((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, &a, 16) == 0;
		EXPECT_TRUE(found);
		rows++;
	}
	EXPECT_EQ(rows, n6);
	freeifaddrs(ifa);
}

CASE(proc_net_route_format)
{
	char *t = read_proc("/proc/net/route");
	char *line, *save;

	line = strtok_r(t, "\n", &save);
	ASSERT_TRUE(line != NULL);
	EXPECT_EQ(strlen(line), 127u);
	static const char head[] = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";
	EXPECT_MEMEQ(line, head, sizeof(head) - 1);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[IFNAMSIZ + 1];
		unsigned dst, gw, flags, mask;
		EXPECT_EQ(strlen(line), 127u);
		ASSERT_EQ(sscanf(line, "%16s %x %x %x %*d %*u %*d %x", name, &dst, &gw, &flags, &mask), 5);
		EXPECT_GT(if_nametoindex(name), 0u);
		EXPECT_TRUE(flags & 1); /* RTF_UP */
		EXPECT_EQ(dst & ~mask, 0u);
	}
}

CASE(proc_net_ipv6_route_format)
{
	char *t = read_proc("/proc/net/ipv6_route");
	char *line, *save;

	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dst[33], src[33], gw[33], name[IFNAMSIZ + 1];
		unsigned dlen, slen, metric, ref, use, flags;
		ASSERT_EQ(sscanf(line, "%32s %x %32s %x %32s %x %x %x %x %16s", dst, &dlen, src, &slen, gw, &metric, &ref,
				 &use, &flags, name),
			  10);
		EXPECT_LE(dlen, 128u);
		EXPECT_EQ(strlen(dst), 32u);
	}
}

CASE(proc_net_unix_lists_a_bound_listener)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char want[64];

	ASSERT_OK(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h_path("sock"));
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(fd, 1));
	ASSERT_OK(fstat(fd, &st));
	char *t = read_proc("/proc/net/unix");
	EXPECT_MEMEQ(t, "Num       RefCount Protocol Flags    Type St Inode Path\n", 56);
	/* Flags __SO_ACCEPTCON, type SOCK_STREAM, unconnected, our inode and path. */
	snprintf(want, sizeof(want), "00000000 00010000 0001 01 %5lu %s\n", (unsigned long)st.st_ino, sa.sun_path);
	EXPECT_TRUE(strstr(t, want) != NULL);
}

CASE(proc_net_unix_shows_abstract_names_with_at)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char want[96];
	int len;

	ASSERT_OK(fd);
	len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "proc-net-test-%d", getpid());
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + len));
	ASSERT_OK(fstat(fd, &st));
	char *t = read_proc("/proc/net/unix");
	snprintf(want, sizeof(want), " 0002 01 %5lu @%s\n", (unsigned long)st.st_ino, sa.sun_path + 1);
	EXPECT_TRUE(strstr(t, want) != NULL);
}

static void expect_first_line(const char *path, const char *want, size_t width)
{
	char *t = read_proc(path), *nl = strchr(t, '\n');
	ASSERT_TRUE(nl != NULL);
	EXPECT_EQ((size_t)(nl - t), width);
	EXPECT_MEMEQ(t, want, strlen(want));
}

CASE(proc_net_inet_files_have_their_headers)
{
	static const char tcp[] = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
	static const char udp[] = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
	static const char v6[] = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

	expect_first_line("/proc/net/tcp", tcp, 149);
	expect_first_line("/proc/net/udp", udp, 127);
	expect_first_line("/proc/net/tcp6", v6, strlen(v6));
	expect_first_line("/proc/net/udp6", v6, strlen(v6) + strlen(" ref pointer drops"));
}

/* The line of `file` holding `needle`, copied into `out`; 0 if none. */
static int line_with(const char *file, const char *needle, char *out, size_t cap)
{
	char *t = read_proc(file), *hit = strstr(t, needle);
	if (!hit)
		return 0;
	char *start = hit;
	while (start > t && start[-1] != '\n')
		start--;
	char *end = strchr(hit, '\n');
	size_t n = end ? (size_t)(end - start) : strlen(start);
	snprintf(out, cap, "%.*s", (int)n, start);
	return 1;
}

/* Binds an inet socket of `type` to 127.0.0.1, port chosen by the kernel. */
static int bound_loopback(int type, unsigned short *port, unsigned long *ino)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct stat st;
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || fstat(fd, &st) != 0)
		FAILX("inet socket: %s", h_errname(errno));
	*port = ntohs(sa.sin_port);
	*ino = st.st_ino;
	return fd;
}

CASE(proc_net_tcp_lists_a_listener)
{
	unsigned short port;
	unsigned long ino;
	int fd = bound_loopback(SOCK_STREAM, &port, &ino);
	char needle[64], line[512], inode[32];

	ASSERT_OK(listen(fd, 1));
	snprintf(needle, sizeof(needle), ": 0100007F:%04X 00000000:0000 0A ", port);
	ASSERT_TRUE(line_with("/proc/net/tcp", needle, line, sizeof(line)));
	snprintf(inode, sizeof(inode), " %lu ", ino);
	EXPECT_TRUE(strstr(line, inode) != NULL);
	/* Not in the IPv6 file. */
	EXPECT_TRUE(!line_with("/proc/net/tcp6", needle, line, sizeof(line)));
}

CASE(proc_net_udp_lists_a_bound_socket)
{
	unsigned short port;
	unsigned long ino;
	int fd = bound_loopback(SOCK_DGRAM, &port, &ino);
	char needle[64], line[512], inode[32];

	ASSERT_GE(fd, 0);
	snprintf(needle, sizeof(needle), ": 0100007F:%04X 00000000:0000 07 ", port);
	ASSERT_TRUE(line_with("/proc/net/udp", needle, line, sizeof(line)));
	snprintf(inode, sizeof(inode), " %lu ", ino);
	EXPECT_TRUE(strstr(line, inode) != NULL);
}

/* lo's received packets in /proc/net/dev. */
static unsigned long long lo_rx_packets(void)
{
	char *t = read_proc("/proc/net/dev"), *lo = strstr(t, " lo:");
	unsigned long long bytes = 0, packets = 0;

	if (!lo || sscanf(lo + 4, "%llu %llu", &bytes, &packets) != 2)
		FAILX("no lo row in /proc/net/dev");
	return packets;
}

CASE(proc_net_dev_counts_loopback_traffic)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char c;

	ASSERT_OK(fd);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		SKIP("no 127.0.0.1 on this host's lo");
	ASSERT_OK(getsockname(fd, (struct sockaddr *)&sa, &len));
	unsigned long long before = lo_rx_packets();
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
		ASSERT_EQ(recv(fd, &c, 1, 0), 1);
	}
	/* Other traffic on a shared host's lo only adds to it. */
	EXPECT_GE(lo_rx_packets(), before + 3);
}

HARNESS_MAIN
