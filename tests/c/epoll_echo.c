/* An epoll echo server and a client with many concurrent connections, in one
 * program: the server listens on 127.0.0.1 (or ::1 with "6"), forks the client,
 * and serves with edge-triggered epoll until the client is done. The client
 * opens N non-blocking connections at once, sends each a distinct message in
 * two pieces and checks every echo. Prints "N echoes ok" on success.
 *
 * Usage: epoll_echo [N] [6]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG 64

static struct sockaddr_storage addr;
static socklen_t addr_len;

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static int listener(int v6)
{
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		addr_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&addr;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr_len = sizeof(*a);
	}
	if (bind(s, (struct sockaddr *)&addr, addr_len) != 0 || listen(s, SOMAXCONN) != 0 ||
	    getsockname(s, (struct sockaddr *)&addr, &addr_len) != 0)
		die("bind/listen");
	return s;
}

/* Echoes everything readable on fd; returns 0 at EOF or error. */
static int echo(int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == EAGAIN ? 1 : 0;
		if (write(fd, buf, n) != n)
			return 0;
	}
}

static void serve(int l, pid_t client)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	int status;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) != 0)
		die("epoll");
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 100);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				int c;
				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0)
						die("epoll_ctl");
				}
				if (errno != EAGAIN)
					die("accept4");
			} else if (!echo(fd)) {
				close(fd);
			}
		}
		if (waitpid(client, &status, WNOHANG) == client)
			exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
	}
}

static int run_client(int count)
{
	int *fds = calloc(count, sizeof(int));
	char *got = calloc(count, MSG);
	int *have = calloc(count, sizeof(int));
	struct pollfd *p = calloc(count, sizeof(struct pollfd));
	int done = 0;

	for (int i = 0; i < count; i++) {
		fds[i] = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0)
			die("client socket");
		if (connect(fds[i], (struct sockaddr *)&addr, addr_len) != 0 && errno != EINPROGRESS)
			die("connect");
	}
	/* Wait until every connection is writable, then send. */
	for (int i = 0; i < count; i++) {
		struct pollfd w = {.fd = fds[i], .events = POLLOUT};
		int err = 0;
		socklen_t len = sizeof(err);
		char msg[MSG];

		if (poll(&w, 1, 20000) != 1)
			die("poll connect");
		if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			errno = err;
			die("connect result");
		}
		memset(msg, 'a' + i % 26, MSG);
		snprintf(msg, MSG, "message %d", i);
		if (write(fds[i], msg, MSG / 2) != MSG / 2 || write(fds[i], msg + MSG / 2, MSG / 2) != MSG / 2)
			die("write");
	}
	while (done < count) {
		int n;
		for (int i = 0; i < count; i++) {
			p[i].fd = have[i] == MSG ? -1 : fds[i];
			p[i].events = POLLIN;
		}
		n = poll(p, count, 20000);
		if (n <= 0)
			die("poll echoes");
		for (int i = 0; i < count; i++) {
			ssize_t r;
			char want[MSG];

			if (!(p[i].revents & POLLIN))
				continue;
			r = read(fds[i], got + i * MSG + have[i], MSG - have[i]);
			if (r <= 0)
				die("read echo");
			have[i] += r;
			if (have[i] < MSG)
				continue;
			memset(want, 'a' + i % 26, MSG);
			snprintf(want, MSG, "message %d", i);
			if (memcmp(want, got + i * MSG, MSG) != 0) {
				fprintf(stderr, "echo %d differs\n", i);
				return 1;
			}
			close(fds[i]);
			done++;
		}
	}
	printf("%d echoes ok\n", count);
	return 0;
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 200;
	int v6 = argc > 2 && strcmp(argv[2], "6") == 0;
	int l = listener(v6);
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(l);
		exit(run_client(count));
	}
	serve(l, pid);
	return 0;
}
