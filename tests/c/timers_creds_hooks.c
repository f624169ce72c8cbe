/*
 * timers_creds_hooks: what needs the Task hooks of syscalls/misc.rs
 * (on_exec, on_fork, on_process_exit) wired into Task::exec,
 * Task::clone_process and Task::process_exited: comm at exec, nice
 * inherited by fork, RUSAGE_CHILDREN's ru_maxrss, the parent-death signal,
 * POSIX timers deleted and interval timers kept by execve, capabilities
 * recomputed by execve. Prints the same lines on Linux and in the
 * sandbox; run as root.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on(int s) { (void)s; got++; }

static void caps(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	syscall(SYS_capget, &h, d);
}

int main(int argc, char **argv)
{
	char name[16] = {0};
	struct __user_cap_data_struct d[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_GET_NAME, name);
	if (argc > 1) {
		struct sigaction sa = {0};
		sa.sa_handler = on;
		sigaction(SIGALRM, &sa, NULL);
		printf("after exec: comm %s\n", name);
		caps(d);
		printf("after exec: effective full again %d\n", (d[0].effective >> CAP_SYS_BOOT) & 1);
		struct timespec ts = {0, 400 * 1000 * 1000};
		while (nanosleep(&ts, &ts) != 0)
			;
		printf("after exec: survived the posix timer; alarm got %d\n", (int)got);
		return 0;
	}
	printf("comm %s\n", name);
	/* fork: nice inherited, alarm not */
	setpriority(PRIO_PROCESS, 0, 7);
	alarm(5);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		printf("child nice %d alarm %u\n", getpriority(PRIO_PROCESS, 0), alarm(0));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	alarm(0);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("children maxrss>0 %d\n", ru.ru_maxrss > 0);

	/* pdeathsig */
	int p[2], r[2];
	pipe(p);
	pipe(r);
	fflush(stdout);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t g = fork();
		if (g == 0) {
			struct sigaction sa = {0};
			/* No signal within 5s: SIGALRM ends this child, the
			 * pipe closes and the parent reports it. */
			alarm(5);
			sigset_t none;
			sa.sa_handler = on;
			sigaction(SIGUSR1, &sa, NULL);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			write(r[1], "r", 1);
			sigemptyset(&none);
			while (!got)
				sigsuspend(&none);
			write(p[1], "pdeathsig delivered\n", 20);
			_exit(0);
		}
		char b;
		read(r[0], &b, 1);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	close(p[1]);
	char buf[64] = {0};
	if (read(p[0], buf, sizeof(buf) - 1) <= 0)
		strcpy(buf, "pdeathsig missing\n");
	printf("%s", buf);

	/* exec: posix timers go, itimers stay, caps recomputed */
	timer_t t;
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	timer_create(CLOCK_MONOTONIC, &sev, &t);
	struct itimerspec its = {{0, 0}, {0, 200 * 1000 * 1000}};
	timer_settime(t, 0, &its, NULL);
	struct sigaction sa = {0};
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval iv = {{0, 0}, {0, 300 * 1000}};
	setitimer(ITIMER_REAL, &iv, NULL);
	caps(d);
	d[0].effective &= ~(1u << CAP_SYS_BOOT);
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	syscall(SYS_capset, &h, d);
	caps(d);
	printf("before exec: sys_boot %d\n", (d[0].effective >> CAP_SYS_BOOT) & 1);
	fflush(stdout);
	execl("/proc/self/exe", "hooks-exec-with-a-long-name", "x", (char *)NULL);
	perror("exec");
	return 1;
}
