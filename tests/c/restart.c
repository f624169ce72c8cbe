/* A read() blocked on an empty pipe is interrupted by SIGUSR1: with
 * SA_RESTART the read is restarted (and then gets the data written by the
 * handler); without it, read fails with EINTR. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static int fds[2];
static volatile int handled;

static void on_signal(int sig) { (void)sig; handled++; if (write(fds[1], "x", 1) != 1) _exit(9); }

static void trial(int flags, const char *name)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(fds) != 0) { perror("pipe"); _exit(1); }
	pid_t child = fork();
	if (child == 0) {
		usleep(100000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	char c;
	errno = 0;
	ssize_t n = read(fds[0], &c, 1);
	printf("%s: read=%zd errno=%s handled=%d\n", name, n, n < 0 ? strerror(errno) : "0", handled);
	waitpid(child, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	handled = 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	trial(SA_RESTART, "SA_RESTART");
	trial(0, "no SA_RESTART");
	return 0;
}
