/*
 * trap_bench [N]: the raw cost of one seccomp trap in-process, the floor of
 * the systrap platform. Installs a seccomp filter that returns
 * SECCOMP_RET_TRAP for getppid (and allows everything else), a SIGSYS
 * handler that writes a result into the signal frame's rax, then makes N
 * raw getppid calls: each is syscall -> seccomp -> SIGSYS frame -> handler
 * -> rt_sigreturn. Prints:
 *   trap: N calls, X.Y ns/call
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define TRAPPED_RESULT 4242

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_sigsys(int sig, siginfo_t *info, void *uc_void)
{
	ucontext_t *uc = uc_void;

	(void)sig;
	(void)info;
	uc->uc_mcontext.gregs[REG_RAX] = TRAPPED_RESULT;
}

static int install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long i, warm = n / 10 + 1;
	long long t0, t1;
	struct sigaction sa;

	if (n <= 0) {
		fprintf(stderr, "usage: trap_bench [N>0]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0 || install_filter() != 0) {
		perror("trap_bench: set-up");
		return 1;
	}
	if (syscall(SYS_getppid) != TRAPPED_RESULT) {
		fprintf(stderr, "trap_bench: getppid was not trapped\n");
		return 1;
	}
	for (i = 0; i < warm; i++)
		syscall(SYS_getppid);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	printf("trap: %ld calls, %.1f ns/call\n", n, (double)(t1 - t0) / (double)n);
	return 0;
}
