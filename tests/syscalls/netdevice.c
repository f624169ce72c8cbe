/*
 * netdevice(7) ioctls on sockets of several families: SIOCGIFCONF,
 * SIOCGIFNAME, SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR,
 * SIOCGIFTXQLEN, and (AF_INET only) SIOCGIFADDR, SIOCGIFNETMASK.
 *
 * The host's interfaces differ from the sandbox's: the cases check that
 * the ioctls agree with getifaddrs (netlink) and each other, never
 * fixed values; the one change attempted is made without CAP_NET_ADMIN
 * on an interface that does not exist.
 */
#include "harness.h"

#include <ifaddrs.h>
#include <linux/capability.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		FAILX("socket(AF_UNIX): %s", h_errname(errno));
	return fd;
}

static void set_name(struct ifreq *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ifr_name, IFNAMSIZ, "%s", name);
}

CASE(netdevice_ifconf_length_query_matches_getifaddrs)
{
	int fd = unix_socket();
	struct ifconf conf = { .ifc_len = 0, .ifc_req = NULL };
	struct ifaddrs *ifa, *p;
	int n4 = 0;

	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	EXPECT_EQ(conf.ifc_len % (int)sizeof(struct ifreq), 0);
	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next)
		n4 += p->ifa_addr && p->ifa_addr->sa_family == AF_INET;
	freeifaddrs(ifa);
	EXPECT_EQ(conf.ifc_len, n4 * (int)sizeof(struct ifreq));
}

CASE(netdevice_ifconf_lists_the_ipv4_addresses)
{
	int fd = unix_socket();
	struct ifreq reqs[64];
	struct ifconf conf = { .ifc_len = sizeof(reqs), .ifc_req = reqs };
	struct ifaddrs *ifa, *p;

	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	ASSERT_OK(getifaddrs(&ifa));
	for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&reqs[i].ifr_addr;
		int found = 0;
		EXPECT_EQ(sin->sin_family, AF_INET);
		for (p = ifa; p; p = p->ifa_next)
			found |= p->ifa_addr && p->ifa_addr->sa_family == AF_INET &&
				 ((struct sockaddr_in *)p->ifa_addr)->sin_addr.s_addr == sin->sin_addr.s_addr &&
				 strncmp(p->ifa_name, reqs[i].ifr_name, IFNAMSIZ) == 0;
		EXPECT_TRUE(found);
	}
	freeifaddrs(ifa);
}

CASE(netdevice_ifconf_fills_only_whole_entries)
{
	int fd = unix_socket();
	struct ifreq reqs[2];
	struct ifconf conf = { .ifc_len = 0, .ifc_req = NULL };

	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	if (conf.ifc_len == 0)
		SKIP("no IPv4 address");
	conf.ifc_len = sizeof(struct ifreq) + 7;
	conf.ifc_req = reqs;
	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	EXPECT_EQ(conf.ifc_len, (int)sizeof(struct ifreq));
	conf.ifc_len = sizeof(struct ifreq) - 1;
	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	EXPECT_EQ(conf.ifc_len, 0);
	EXPECT_ERRNO(ioctl(fd, SIOCGIFCONF, BAD_PTR), EFAULT);
}

CASE(netdevice_index_and_name_round_trip)
{
	int fd = unix_socket();
	struct if_nameindex *names = if_nameindex(), *n;
	struct ifreq r;

	ASSERT_TRUE(names != NULL);
	for (n = names; n->if_index; n++) {
		set_name(&r, n->if_name);
		ASSERT_OK(ioctl(fd, SIOCGIFINDEX, &r));
		EXPECT_EQ(r.ifr_ifindex, (int)n->if_index);
		memset(&r, 0, sizeof(r));
		r.ifr_ifindex = n->if_index;
		ASSERT_OK(ioctl(fd, SIOCGIFNAME, &r));
		EXPECT_STREQ(r.ifr_name, n->if_name);
	}
	if_freenameindex(names);
}

CASE(netdevice_unknown_interface_is_enodev)
{
	int fd = unix_socket();
	struct ifreq r;

	set_name(&r, "nosuchif0");
	EXPECT_ERRNO(ioctl(fd, SIOCGIFINDEX, &r), ENODEV);
	EXPECT_ERRNO(ioctl(fd, SIOCGIFFLAGS, &r), ENODEV);
	EXPECT_ERRNO(ioctl(fd, SIOCGIFMTU, &r), ENODEV);
	memset(&r, 0, sizeof(r));
	r.ifr_ifindex = 0x7ffffff0;
	EXPECT_ERRNO(ioctl(fd, SIOCGIFNAME, &r), ENODEV);
	EXPECT_ERRNO(ioctl(fd, SIOCGIFINDEX, BAD_PTR), EFAULT);
}

CASE(netdevice_flags_agree_with_getifaddrs)
{
	int fd = unix_socket();
	struct ifaddrs *ifa, *p;
	struct ifreq r;

	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next) {
		set_name(&r, p->ifa_name);
		ASSERT_OK(ioctl(fd, SIOCGIFFLAGS, &r));
		EXPECT_EQ((unsigned short)r.ifr_flags, (unsigned short)p->ifa_flags);
	}
	freeifaddrs(ifa);
	set_name(&r, "lo");
	ASSERT_OK(ioctl(fd, SIOCGIFFLAGS, &r));
	EXPECT_TRUE(r.ifr_flags & IFF_LOOPBACK);
}

CASE(netdevice_hwaddr_agrees_with_getifaddrs)
{
	int fd = unix_socket();
	struct ifaddrs *ifa, *p;
	struct ifreq r;

	ASSERT_OK(getifaddrs(&ifa));
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_PACKET)
			continue;
		struct sockaddr_ll *ll = (struct sockaddr_ll *)p->ifa_addr;
		set_name(&r, p->ifa_name);
		ASSERT_OK(ioctl(fd, SIOCGIFHWADDR, &r));
		EXPECT_EQ(r.ifr_hwaddr.sa_family, ll->sll_hatype);
		if (ll->sll_halen == 6)
			EXPECT_MEMEQ(r.ifr_hwaddr.sa_data, ll->sll_addr, 6);
	}
	freeifaddrs(ifa);
	set_name(&r, "lo");
	ASSERT_OK(ioctl(fd, SIOCGIFHWADDR, &r));
	EXPECT_EQ(r.ifr_hwaddr.sa_family, ARPHRD_LOOPBACK);
}

CASE(netdevice_mtu_and_txqlen_same_on_every_family)
{
	int u = unix_socket();
	int nl = socket(AF_NETLINK, SOCK_RAW, 0);
	struct ifreq a, b;

	ASSERT_OK(nl);
	set_name(&a, "lo");
	set_name(&b, "lo");
	ASSERT_OK(ioctl(u, SIOCGIFMTU, &a));
	ASSERT_OK(ioctl(nl, SIOCGIFMTU, &b));
	EXPECT_GT(a.ifr_mtu, 0);
	EXPECT_EQ(a.ifr_mtu, b.ifr_mtu);
	ASSERT_OK(ioctl(u, SIOCGIFTXQLEN, &a));
	EXPECT_GE(a.ifr_qlen, 0);
}

CASE(netdevice_address_ioctls_need_an_inet_socket)
{
	int fd = unix_socket();
	struct ifreq r;

	set_name(&r, "lo");
	EXPECT_ERRNO(ioctl(fd, SIOCGIFADDR, &r), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, SIOCGIFNETMASK, &r), ENOTTY);
}

CASE(netdevice_inet_address_agrees_with_ifconf)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq reqs[64], r;
	struct ifconf conf = { .ifc_len = sizeof(reqs), .ifc_req = reqs };

	ASSERT_OK(fd);
	ASSERT_OK(ioctl(fd, SIOCGIFCONF, &conf));
	for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++) {
		set_name(&r, reqs[i].ifr_name);
		ASSERT_OK(ioctl(fd, SIOCGIFADDR, &r));
		EXPECT_EQ(r.ifr_addr.sa_family, AF_INET);
		/* The first address of each interface is the one SIOCGIFADDR reports. */
		int first = 1;
		for (int j = 0; j < i; j++)
			first &= strncmp(reqs[j].ifr_name, reqs[i].ifr_name, IFNAMSIZ) != 0;
		if (first)
			EXPECT_MEMEQ(&r.ifr_addr, &reqs[i].ifr_addr, sizeof(struct sockaddr_in));
		ASSERT_OK(ioctl(fd, SIOCGIFNETMASK, &r));
		EXPECT_EQ(r.ifr_netmask.sa_family, AF_INET);
	}
}

CASE(netdevice_changes_without_net_admin_are_eperm)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int fd;
	struct ifreq r;

	ASSERT_OK(syscall(SYS_capget, &hdr, data));
	data[0].effective &= ~(1u << CAP_NET_ADMIN);
	ASSERT_OK(syscall(SYS_capset, &hdr, data));
	fd = unix_socket();
	/* An interface that does not exist: nothing could change anyway. */
	set_name(&r, "nosuchif0");
	r.ifr_mtu = 1400;
	EXPECT_ERRNO(ioctl(fd, SIOCSIFMTU, &r), EPERM);
	r.ifr_flags = IFF_UP;
	EXPECT_ERRNO(ioctl(fd, SIOCSIFFLAGS, &r), EPERM);
}

HARNESS_MAIN
