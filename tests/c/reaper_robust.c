/* PR_SET_CHILD_SUBREAPER adopts orphaned grandchildren; a robust mutex
 * whose owner thread dies is handed to the next locker with EOWNERDEAD. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	return NULL; /* exits without unlocking */
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("set subreaper: %d\n", prctl(PR_SET_CHILD_SUBREAPER, 1));
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		pid_t grandchild = fork();
		if (grandchild == 0) {
			char c;
			if (read(pipefd[0], &c, 1) != 1) /* wait until orphaned */
				_exit(9);
			_exit(getppid() == getppid() ? 7 : 8);
		}
		_exit(0); /* orphan the grandchild */
	}
	int status;
	waitpid(child, &status, 0);
	if (write(pipefd[1], "x", 1) != 1)
		return 1;
	pid_t reaped = wait(&status);
	printf("adopted grandchild reaped by us: %s, status %d\n", reaped > 0 && reaped != child ? "yes" : "no",
	       WEXITSTATUS(status));

	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m, &attr);
	pthread_t t;
	pthread_create(&t, NULL, die_holding, NULL);
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&m);
	printf("lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
	printf("consistent: %d\n", pthread_mutex_consistent(&m));
	printf("unlock: %d\n", pthread_mutex_unlock(&m));
	return 0;
}
