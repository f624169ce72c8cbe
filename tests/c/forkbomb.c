/* forkbomb: forks sleeping children until fork fails, then prints
 * "forks: N, then ERRNO-NAME", kills and reaps them all, and exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	static pid_t kids[100000];
	int n = 0, err = 0;

	while (n < 100000) {
		pid_t pid = fork();

		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			pause();
			_exit(0);
		}
		kids[n++] = pid;
	}
	printf("forks: %d, then %s\n", n, err == EAGAIN ? "EAGAIN" : strerror(err));
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}
