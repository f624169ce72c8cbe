/* Threads share the cwd, umask (CLONE_FS) and signal actions
 * (CLONE_SIGHAND); a forked child's changes stay in the child. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled = 1; }

static void *changer(void *arg)
{
	(void)arg;
	if (chdir("/tmp") != 0)
		return (void *)1;
	umask(077);
	signal(SIGUSR1, on_usr1);
	return NULL;
}

int main(void)
{
	char cwd[256];
	pthread_t t;
	if (chdir("/") != 0)
		return 1;
	umask(022);
	pthread_create(&t, NULL, changer, NULL);
	pthread_join(t, NULL);
	printf("cwd after a thread's chdir: %s\n", getcwd(cwd, sizeof cwd));
	mode_t old = umask(0);
	printf("umask after a thread's umask: %03o\n", (unsigned)old);
	raise(SIGUSR1);
	printf("handler installed by the thread ran: %d\n", handled);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_IGN);
		_exit(chdir("/proc") == 0 ? 0 : 1);
	}
	waitpid(pid, NULL, 0);
	printf("cwd after the child's chdir: %s\n", getcwd(cwd, sizeof cwd));
	handled = 0;
	raise(SIGUSR1);
	printf("handler still ours after the child ignored it: %d\n", handled);
	return 0;
}
