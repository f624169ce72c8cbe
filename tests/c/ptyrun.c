/*
 * ptyrun: a tiny script(1). Runs argv[1..] as a session leader on a new
 * pseudo-terminal (its controlling terminal, as stdin, stdout and stderr)
 * copies our stdin to the terminal as typed input, and copies everything
 * the terminal shows to our stdout, until the command has exited and its
 * side of the terminal is closed (EIO).
 * Exits with the command's exit status (128+N for signal N).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(const char *slave, char **argv)
{
	int fd;

	if (setsid() < 0) {
		perror("setsid");
		_exit(120);
	}
	/* No O_NOCTTY: the new session leader acquires the terminal. */
	fd = open(slave, O_RDWR);
	if (fd < 0) {
		perror("open slave");
		_exit(121);
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	execv(argv[0], argv);
	perror("execv");
	_exit(127);
}

/* Copies stdin to the master and the master to stdout until EIO. */
static int pump(int master)
{
	struct pollfd fds[2] = {{.fd = master, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
	char buf[4096];

	for (;;) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (fds[1].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0 || write(master, buf, n) != n)
				fds[1].fd = -1; /* stdin is done */
		}
		if (fds[0].revents) {
			n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0; /* EIO: every slave fd is closed */
			if (write(1, buf, n) != n)
				return -1;
		}
	}
}

int main(int argc, char **argv)
{
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	int master, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: ptyrun PROGRAM [ARG...]\n");
		return 2;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		perror("posix_openpt");
		return 3;
	}
	ioctl(master, TIOCSWINSZ, &ws);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 4;
	}
	if (pid == 0)
		child(ptsname(master), argv + 1);
	if (pump(master) != 0)
		return 5;
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return 6;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
