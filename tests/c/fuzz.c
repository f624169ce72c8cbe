/*
 * fuzz N SEED: N raw system calls with random numbers (0..450) and random
 * arguments, made by a succession of forked children so that a child that
 * breaks itself (closes its stdout, blocks its signals, gets a random signal)
 * is simply replaced. Only calls that would destroy the fuzzer's own process
 * image are never made (exit, rt_sigreturn, execve, munmap, signal actions,
 * TLS, forks). A ticker (SIGALRM every millisecond, without SA_RESTART)
 * interrupts calls that block.
 *
 * Prints "fuzz: N calls, C children, K ended by signals" and exits 0. The
 * point is the sandbox: whatever the guest asks, the Sentry must survive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_NR 450
#define PER_CHILD 2000

static const int never[] = {
	SYS_exit, SYS_exit_group, SYS_rt_sigreturn, SYS_execve, SYS_execveat,
	SYS_munmap, SYS_mmap, SYS_mremap, SYS_mprotect, SYS_brk, SYS_madvise,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_arch_prctl,
	SYS_fork, SYS_vfork, SYS_clone, SYS_clone3, SYS_shmdt, SYS_pkey_mprotect,
	SYS_rt_sigsuspend, SYS_setitimer, SYS_alarm, SYS_vhangup,
	SYS_set_thread_area, SYS_modify_ldt, SYS_rseq, SYS_prctl,
	/* Signals to random pids (kill(-1, SIGKILL) would end the run). */
	SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
	SYS_pidfd_send_signal,
};

static uint64_t state;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static char scratch[1 << 16];

/* An argument: small numbers, -1, flags-like values, pointers into a
 * scratch buffer full of random bytes, bad pointers, huge values. */
static long arg(void)
{
	switch (next() % 10) {
	case 0: return 0;
	case 1: return -1;
	case 2: return (long)(next() % 64);
	case 3: return (long)(next() % 4096);
	case 4: return (long)(scratch + next() % (sizeof(scratch) - 64));
	case 5: return (long)(scratch + next() % (sizeof(scratch) - 64));
	case 6: return (long)(next() % 0x10000);	/* a bad low pointer */
	case 7: return (long)(0xffff800000000000ull + next() % 0x100000);
	case 8: return (long)(1ul << (next() % 64));
	default: return (long)next();
	}
}

static int allowed(long nr)
{
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (never[i] == nr)
			return 0;
	return 1;
}

static void tick(int sig)
{
	(void)sig;
}

static void child(volatile long *done, uint64_t seed)
{
	struct sigaction sa = {.sa_handler = tick};
	struct itimerval it = {{0, 1000}, {0, 1000}};

	state = seed | 1;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < PER_CHILD; i++) {
		long nr = (long)(next() % (MAX_NR + 1));

		if (!allowed(nr))
			continue;
		for (size_t j = 0; j < 64; j++)
			scratch[next() % sizeof(scratch)] = (char)next();
		syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
		__atomic_add_fetch(done, 1, __ATOMIC_RELAXED);
	}
	syscall(SYS_exit_group, 0);
}

int main(int argc, char **argv)
{
	long target = argc > 1 ? atol(argv[1]) : 100000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x9e3779b97f4a7c15ull;
	volatile long *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long children = 0, signaled = 0;

	if (done == MAP_FAILED)
		return perror("mmap"), 1;
	while (*done < target) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return perror("fork"), 1;
		if (pid == 0)
			child(done, seed + (uint64_t)children * 0x100000001b3ull);
		children++;
		/* A child may have become a session leader or changed its
		 * process group; wait for exactly this pid. */
		while (waitpid(pid, &st, __WALL) < 0)
			if (errno != EINTR)
				return perror("waitpid"), 1;
		if (WIFSIGNALED(st))
			signaled++;
	}
	printf("fuzz: %ld calls, %ld children, %ld ended by signals\n", *done, children, signaled);
	return 0;
}
