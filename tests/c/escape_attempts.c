/*
 * escape_attempts HOST_PID HOST_PORT MARKER: from inside a container, try to
 * reach the host and print one line per attempt, "NAME: blocked" or
 * "NAME: ESCAPED (detail)". HOST_PID is a host process outside the sandbox,
 * HOST_PORT a TCP port listening on the host's 127.0.0.1, MARKER a string
 * only the host's environment holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, int escaped, const char *detail)
{
	if (escaped)
		printf("%s: ESCAPED (%s)\n", name, detail);
	else
		printf("%s: blocked\n", name);
}

/* 1 if `path` can be read and contains `needle`. */
static int file_contains(const char *path, const char *needle)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = '\n';
	return strstr(buf, needle) != NULL;
}

int main(int argc, char **argv)
{
	char path[256];

	if (argc != 4)
		return fprintf(stderr, "usage: escape_attempts HOST_PID HOST_PORT MARKER\n"), 2;
	int host_pid = atoi(argv[1]), port = atoi(argv[2]);
	const char *marker = argv[3];

	/* The host's process table: signal a host process, read its environ. */
	report("kill_host_pid", kill(host_pid, 0) == 0, "kill(host pid, 0) succeeded");
	snprintf(path, sizeof(path), "/proc/%d/environ", host_pid);
	report("read_host_environ", file_contains(path, marker), path);
	report("read_init_environ", file_contains("/proc/1/environ", marker), "/proc/1/environ");
	report("ptrace_host_pid", ptrace(PTRACE_ATTACH, host_pid, 0, 0) == 0, "PTRACE_ATTACH succeeded");
	report("ptrace_init", ptrace(PTRACE_ATTACH, 1, 0, 0) == 0 && getpid() != 1, "PTRACE_ATTACH 1 succeeded");

	/* Kernel-wide operations. */
	report("mount_tmpfs", mount("none", "/tmp", "tmpfs", 0, NULL) == 0 && getuid() != 0,
	       "mount as non-root succeeded");
	report("mount_proc_of_host", mount("/proc", "/mnt", NULL, MS_BIND, NULL) == 0 &&
	       file_contains("/mnt/1/environ", marker), "bind of /proc shows the host");
	report("init_module", syscall(SYS_init_module, "\0asm", 4, "") == 0, "init_module succeeded");
	report("finit_module", syscall(SYS_finit_module, 0, "", 0) == 0, "finit_module succeeded");
	report("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL) == 0,
	       "reboot returned 0");
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0) == 0, "kexec_load succeeded");

	/* The network: raw sockets, the host's loopback. */
	int raw = socket(AF_PACKET, SOCK_RAW, 0);

	report("af_packet_socket", raw >= 0, "AF_PACKET socket");
	/* A raw ICMP socket of the Sentry's own stack is allowed (the guest is
	 * root in its sandbox, docs/networking.md); one that sends off the
	 * sandbox's loopback-only network (to TEST-NET-1) is an escape. */
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	unsigned char echo[8] = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
	struct sockaddr_in off = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201)};
	report("raw_ip_socket", raw >= 0 && sendto(raw, echo, sizeof(echo), 0, (struct sockaddr *)&off,
						   sizeof(off)) == (ssize_t)sizeof(echo),
	       "SOCK_RAW socket sent to 192.0.2.1");
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	report("connect_host_loopback", tcp >= 0 && connect(tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	       "connected to the host's 127.0.0.1");

	/* The runtime's own binary and files. */
	char exe[256] = {0};

	readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	report("proc_self_exe_is_guest", strstr(exe, "runsc") != NULL, exe);
	int w = open("/proc/self/exe", O_WRONLY);

	report("write_proc_self_exe", w >= 0 && write(w, "x", 1) == 1 && strstr(exe, "runsc"), exe);
	report("proc_1_exe_is_guest", readlink("/proc/1/exe", path, sizeof(path)) > 0 &&
	       strstr(path, "runsc") != NULL, "/proc/1/exe names runsc");
	struct stat st;

	report("host_dev_sda", stat("/dev/sda", &st) == 0 || stat("/dev/vda", &st) == 0, "a host disk");
	report("host_dev_kmsg", open("/dev/kmsg", O_RDONLY) >= 0, "/dev/kmsg");
	report("host_sys_firmware", stat("/sys/firmware", &st) == 0, "/sys/firmware");
	printf("done\n");
	return 0;
}
