/* Job control: SIGSTOP stops a child (wait WUNTRACED sees it, the parent
 * gets SIGCHLD/CLD_STOPPED), SIGCONT resumes it (WCONTINUED), a handled
 * SIGTSTP does not stop, and SIGKILL ends a stopped child. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld_codes[8];
static volatile sig_atomic_t nchld;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (nchld < 8)
		chld_codes[nchld++] = si->si_code;
}

static void on_tstp(int sig) { (void)sig; }

static const char *describe(int status)
{
	static char buf[64];
	if (WIFSTOPPED(status))
		snprintf(buf, sizeof buf, "stopped by %d", WSTOPSIG(status));
	else if (WIFCONTINUED(status))
		snprintf(buf, sizeof buf, "continued");
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof buf, "killed by %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(status));
	return buf;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	int fds[2], ready[2];
	if (pipe(fds) != 0 || pipe(ready) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTSTP, on_tstp);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		char c;
		for (;;) {
			if (read(fds[0], &c, 1) != 1)
				_exit(2);
			if (c == 'q')
				_exit(3);
		}
	}
	int status;
	char r0;
	if (read(ready[0], &r0, 1) != 1) /* the child's handler is installed */
		return 1;
	kill(pid, SIGTSTP); /* handled: no stop */
	struct timespec pause = {0, 50000000};
	nanosleep(&pause, NULL);
	printf("after handled SIGTSTP, waitpid WNOHANG|WUNTRACED: %d\n", waitpid(pid, &status, WNOHANG | WUNTRACED));
	kill(pid, SIGSTOP);
	pid_t r = waitpid(pid, &status, WUNTRACED);
	printf("WUNTRACED: %s (%s)\n", r == pid ? "child" : "?", describe(status));
	kill(pid, SIGCONT);
	r = waitpid(pid, &status, WCONTINUED);
	printf("WCONTINUED: %s (%s)\n", r == pid ? "child" : "?", describe(status));
	if (write(fds[1], "x", 1) != 1)
		return 1;
	kill(pid, SIGSTOP);
	waitpid(pid, &status, WUNTRACED);
	printf("stopped again: %s\n", describe(status));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	printf("after SIGKILL: %s\n", describe(status));
	nanosleep(&pause, NULL);
	/* Standard signals coalesce, so how many SIGCHLDs arrive depends on
	 * timing; which kinds arrived does not. */
	int seen[3] = {0, 0, 0};
	for (int i = 0; i < nchld; i++) {
		seen[0] |= chld_codes[i] == CLD_STOPPED;
		seen[1] |= chld_codes[i] == CLD_CONTINUED;
		seen[2] |= chld_codes[i] == CLD_KILLED;
	}
	printf("SIGCHLD for stop %d, continue %d, kill %d\n", seen[0], seen[1], seen[2]);
	return 0;
}
