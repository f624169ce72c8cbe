/* Loopback TCP benchmark: a server and a client forked from one program.
 *
 *   tcp_bench stream MIB   client sends MIB MiB in 64 KiB writes; prints MiB/s
 *   tcp_bench rr N         N 64-byte request/response round trips; prints per second
 *   tcp_bench conn N       N connect/accept/close cycles; prints per second
 *   tcp_bench unixrr N     rr over a unix socketpair, for comparison
 *
 * Times are taken in the server with CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("connect");
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

static void full(int fd, char *buf, size_t n, int writing)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
		if (r <= 0)
			die(writing ? "write" : "read");
		done += r;
	}
}

static void client(const char *mode, long n)
{
	static char buf[65536];

	if (strcmp(mode, "stream") == 0) {
		int s = dial();
		for (long i = 0; i < n * 16; i++)
			full(s, buf, sizeof(buf), 1);
		close(s);
	} else if (strcmp(mode, "rr") == 0) {
		int s = dial();
		for (long i = 0; i < n; i++) {
			full(s, buf, 64, 1);
			full(s, buf, 64, 0);
		}
		close(s);
	} else {
		for (long i = 0; i < n; i++) {
			int s = dial();
			char c;
			if (read(s, &c, 1) != 0)
				die("conn eof");
			close(s);
		}
	}
	exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "stream";
	long n = argc > 2 ? atol(argv[2]) : 256;
	socklen_t len = sizeof(addr);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	static char buf[65536];
	double start, secs;
	pid_t pid;

	if (strcmp(mode, "unixrr") == 0) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			die("socketpair");
		pid = fork();
		if (pid == 0) {
			for (long i = 0; i < n; i++) {
				full(sv[1], buf, 64, 1);
				full(sv[1], buf, 64, 0);
			}
			exit(0);
		}
		start = now();
		for (long i = 0; i < n; i++) {
			full(sv[0], buf, 64, 0);
			full(sv[0], buf, 64, 1);
		}
		printf("%.0f\n", n / (now() - start));
		waitpid(pid, NULL, 0);
		return 0;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(l, 128) != 0 ||
	    getsockname(l, (struct sockaddr *)&addr, &len) != 0)
		die("listen");
	pid = fork();
	if (pid == 0)
		client(mode, n);
	start = now();
	if (strcmp(mode, "stream") == 0) {
		int a = accept(l, NULL, NULL);
		long total = 0;
		ssize_t r;
		while ((r = read(a, buf, sizeof(buf))) > 0)
			total += r;
		secs = now() - start;
		if (total != n << 20)
			die("short stream");
		printf("%.1f\n", n / secs);
	} else if (strcmp(mode, "rr") == 0) {
		int a = accept(l, NULL, NULL);
		setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (long i = 0; i < n; i++) {
			full(a, buf, 64, 0);
			full(a, buf, 64, 1);
		}
		secs = now() - start;
		printf("%.0f\n", n / secs);
	} else {
		for (long i = 0; i < n; i++) {
			int a = accept(l, NULL, NULL);
			if (a < 0)
				die("accept");
			close(a);
		}
		secs = now() - start;
		printf("%.0f\n", n / secs);
	}
	waitpid(pid, NULL, 0);
	return 0;
}
