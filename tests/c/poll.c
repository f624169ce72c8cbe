/* poll, ppoll, select and pselect on pipes: readiness, hang-up, invalid
 * fds, timeouts and interruption by a signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	struct pollfd fds[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {999, POLLIN, 0}};
	int n = poll(fds, 3, 0);
	printf("empty pipe: %d ready, read end %#x, write end %#x, bad fd %#x\n", n, fds[0].revents, fds[1].revents,
	       fds[2].revents);
	if (write(p[1], "x", 1) != 1)
		return 1;
	n = poll(fds, 2, 1000);
	printf("after a write: %d ready, read end %#x\n", n, fds[0].revents);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = {0, 0};
	n = select(p[0] + 1, &rd, NULL, NULL, &tv);
	printf("select: %d, read end set %d\n", n, FD_ISSET(p[0], &rd));
	char c;
	if (read(p[0], &c, 1) != 1)
		return 1;
	struct timespec ts = {0, 30000000};
	n = ppoll(fds, 1, &ts, NULL);
	printf("ppoll after draining: %d (timeout)\n", n);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	n = pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL);
	printf("pselect after draining: %d, set %d\n", n, FD_ISSET(p[0], &rd));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	n = poll(fds, 1, 5000);
	printf("poll interrupted: %d %s\n", n, strerror(errno));
	close(p[1]);
	n = poll(fds, 1, 1000);
	printf("writer closed: %d ready, read end %#x\n", n, fds[0].revents);
	FD_ZERO(&rd);
	FD_SET(999 % FD_SETSIZE, &rd);
	errno = 0;
	n = select(1000 % FD_SETSIZE + 1, &rd, NULL, NULL, &tv);
	printf("select on a closed fd: %d %s\n", n, strerror(errno));
	return 0;
}
