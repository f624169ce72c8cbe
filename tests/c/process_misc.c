/* Assorted process and signal calls: sigqueue + sigtimedwait, waitid with
 * WNOWAIT, setsid, clone3 threads, execveat, and an RLIMIT_NPROC fork bomb
 * as an unprivileged user. Output must match Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *thr(void *a) { return a; }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	union sigval v = {.sival_int = 42};
	printf("sigqueue: %d\n", sigqueue(getpid(), SIGUSR1, v));
	siginfo_t si;
	struct timespec ts = {1, 0};
	int sig = sigtimedwait(&set, &si, &ts);
	printf("sigtimedwait: %d code=%s value=%d\n", sig, si.si_code == SI_QUEUE ? "SI_QUEUE" : "other", si.si_value.sival_int);
	ts.tv_sec = 0; ts.tv_nsec = 10000000;
	errno = 0;
	int r = sigtimedwait(&set, &si, &ts);
	printf("sigtimedwait timeout: %d %s\n", r, strerror(errno));
	pid_t c = fork();
	if (c == 0) _exit(5);
	siginfo_t wi;
	memset(&wi, 0, sizeof wi);
	r = waitid(P_PID, c, &wi, WEXITED | WNOWAIT);
	printf("waitid nowait: %d", r);
	printf(" status=%d code=%d same=%d\n", wi.si_status, wi.si_code, wi.si_pid == c);
	memset(&wi, 0, sizeof wi);
	r = waitid(P_ALL, 0, &wi, WEXITED);
	printf("waitid: %d status=%d\n", r, wi.si_status);
	errno = 0;
	r = waitid(P_ALL, 0, &wi, WEXITED);
	printf("waitid again: %d %s\n", r, strerror(errno));
	setpgid(0, 0);
	errno = 0;
	r = setsid();
	printf("setsid as group leader: %d %s\n", r, strerror(errno));
	c = fork();
	if (c == 0) { pid_t s = setsid(); _exit(s == getpid() ? 0 : 1); }
	int st;
	waitpid(c, &st, 0);
	printf("child setsid ok: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, thr, (void *)7L);
	pthread_join(t, &ret);
	printf("thread (clone3 or clone): %ld\n", (long)ret);
	/* fexecve-style execveat of /bin/true through AT_EMPTY_PATH */
	c = fork();
	if (c == 0) {
		char *argv[] = {"true", NULL};
		syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, environ, 0);
		_exit(9);
	}
	waitpid(c, &st, 0);
	printf("execveat: %d\n", WEXITSTATUS(st));
	/* RLIMIT_NPROC as an unprivileged user */
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		if (setgid(65534) || setuid(65534)) _exit(3);
		struct rlimit rl = {20, 20};
		setrlimit(RLIMIT_NPROC, &rl);
		int made = 0, eagain = 0;
		for (int i = 0; i < 100; i++) {
			pid_t k = fork();
			if (k == 0) { pause(); _exit(0); }
			if (k < 0) { eagain = errno == EAGAIN; break; }
			made++;
		}
		kill(0, SIGKILL);
		_exit(eagain && made < 20 ? 0 : 1);
	}
	waitpid(c, &st, 0);
	printf("nproc bomb stopped with EAGAIN: %s\n", WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? "yes" : "no");
	return 0;
}
