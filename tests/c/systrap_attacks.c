/*
 * systrap_attacks: attacks on the platform from guest code, each in a child
 * process, one line per attack: "NAME: blocked (how)" or "NAME: ESCAPED
 * (detail)", then "survived" when the sandbox still serves syscalls after
 * all of them. Exits 0 when every attack was blocked.
 *
 * The host-only observable: a guest syscall that reached the host kernel
 * unfiltered would see host pids (getpid/getppid of the stub process), not
 * the sandbox's, which the parent knows from fork's return value.
 *
 * The systrap stub page and control region live in every stub process at
 * the top of the guest's usable address space; /proc/self/maps (the
 * Sentry's) must not show them, but a guest can find them: mmap with
 * MAP_FIXED_NOREPLACE succeeds below the highest address the Sentry hands
 * out and fails above it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define SLOT_SIZE (64UL * 1024)

static int failures;

/* Child exit codes. */
#define OK 0
#define LEAK 42
#define SETUP 43

static void report(const char *name, int escaped, const char *detail)
{
	printf("%s: %s (%s)\n", name, escaped ? "ESCAPED" : "blocked", detail);
	fflush(stdout);
	if (escaped)
		failures++;
}

/* LEAK unless raw getpid/getppid give the sandbox's pids. */
static int pids_are_sandboxed(pid_t me, pid_t parent)
{
	return syscall(SYS_getpid) == me && syscall(SYS_getppid) == parent;
}

static pid_t sandbox_parent;

/*
 * Runs attack(me) in a child. Returns its wait status; a child still
 * running after 10 s is killed (status of that kill).
 */
static int in_child(int (*attack)(pid_t me))
{
	pid_t pid;
	int status = 0;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int waited;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		sandbox_parent = getppid();
		_exit(attack(getpid()));
	}
	for (waited = 0; waited < 1000; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		nanosleep(&pause, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

static const char *describe(int status)
{
	static char buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "child exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "child killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "child status %#x", status);
	return buf;
}

/* Blocked when the child did not report a leak (any death is blocked). */
static void judge(const char *name, int status)
{
	report(name, WIFEXITED(status) && WEXITSTATUS(status) == LEAK, describe(status));
}

/* For attacks the Sentry must absorb as Linux would: the child must also
 * finish normally. */
static void judge_exit0(const char *name, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == OK) {
		report(name, 0, describe(status));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == LEAK) {
		report(name, 1, describe(status));
	} else {
		printf("%s: FAILED (%s)\n", name, describe(status));
		failures++;
	}
}

/* --- finding the stub area ------------------------------------------------ */

/* The guest's mappings, from /proc/self/maps. */
static unsigned long map_start[4096], map_end[4096];
static int maps;

static void read_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return;
	while (maps < 4096 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &map_start[maps], &map_end[maps]) == 2)
			maps++;
	fclose(f);
}

/* Whether addr is in the part of the address space the Sentry hands out:
 * a page can be mapped there, or a mapping of ours is there. */
static int mappable(uintptr_t addr)
{
	void *p = mmap((void *)addr, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int i;

	if (p != MAP_FAILED) {
		munmap(p, PAGE);
		return p == (void *)addr;
	}
	for (i = 0; i < maps; i++)
		if (addr >= map_start[i] && addr < map_end[i])
			return 1;
	return 0;
}

/* The first page the Sentry refuses to map: where the stub page would be. */
static uintptr_t top_of_guest_space(void)
{
	uintptr_t lo = 0x10000, hi = 1UL << 47;

	read_maps();
	while (hi - lo > PAGE) {
		uintptr_t mid = (lo + (hi - lo) / 2) & ~(PAGE - 1);

		if (mappable(mid))
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static uintptr_t stub_page;

/* --- attacks --------------------------------------------------------------- */

/* /proc/self/maps lists nothing at or above the top of the guest's space. */
static int maps_hide_the_stub(pid_t me)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return SETUP;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start = strtoul(line, NULL, 16);

		if (strstr(line, "runsc-systrap") || (start >= stub_page && start < stub_page + 2 * SLOT_SIZE)) {
			fprintf(stderr, "maps shows: %s", line);
			return LEAK;
		}
	}
	fclose(f);
	return pids_are_sandboxed(me, sandbox_parent) ? OK : LEAK;
}

/* Scribbles over the first slot of the control region (mailboxes, saved
 * registers, command), then makes syscalls. The Sentry reads only values
 * from there, so the worst this does is hand the guest its own garbage
 * registers (it then dies of a SIGSEGV). */
static int scribble_on_the_control_region(pid_t me)
{
	volatile uint64_t *slot = (volatile uint64_t *)(stub_page + PAGE);
	int i;

	for (i = 0; i < 96; i++)
		slot[i] = 0x4141414141414141ULL + (uint64_t)i;
	slot[0] = 1;		/* both mailboxes "full" */
	for (i = 0; i < 100; i++) {
		long pid = syscall(SYS_getpid);

		if (pid != me && pid > 0 && pid != 39 && pid != (long)0x4141414141414141ULL)
			return LEAK;
	}
	return pids_are_sandboxed(me, sandbox_parent) ? OK : LEAK;
}

/* Shared with the children: where a hijacked stub would write. */
static volatile uint64_t *fake_slot;

/* Jumps to every syscall instruction of the stub page with getpid in rax
 * and a fake slot (in shared memory) as the stub's slot register. */
static int jump_into_the_stub(pid_t me)
{
	const unsigned char *code = (const unsigned char *)stub_page;
	static unsigned long offsets[256];
	int count = 0, i;

	(void)me;
	for (i = 0; i + 1 < (int)PAGE && count < 256; i++)
		if (code[i] == 0x0f && code[i + 1] == 0x05)
			offsets[count++] = (unsigned long)i;
	if (count == 0)
		return SETUP;
	fprintf(stderr, "jumping to %d syscall instructions\n", count);
	for (i = 0; i < count; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			uintptr_t target = stub_page + offsets[i];

			__asm__ volatile("mov %0, %%r12\n\t"
					 "mov $39, %%eax\n\t"
					 "jmp *%1\n\t" ::"r"((uintptr_t)fake_slot),
					 "r"(target)
					 : "rax", "r12", "memory");
			_exit(OK);
		}
		if (pid > 0) {
			int status;

			/* Returning normally would mean the jump came back. */
			if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
				return LEAK;
		}
	}
	/* A syscall that ran would have left its result in the fake slot. */
	for (i = 0; i < (int)(SLOT_SIZE / 8); i++)
		if (fake_slot[i] != 0)
			return LEAK;
	return OK;
}

static volatile sig_atomic_t sigsys_seen;

static void count_sigsys(int sig)
{
	(void)sig;
	sigsys_seen++;
}

/* The guest's own SIGSYS handler sees only guest-level SIGSYS, never the
 * platform's traps. */
static int own_sigsys_handler(pid_t me)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sigsys;
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return SETUP;
	for (i = 0; i < 100; i++)
		if (!pids_are_sandboxed(me, sandbox_parent))
			return LEAK;
	if (sigsys_seen != 0) {
		fprintf(stderr, "guest handler saw %d platform traps\n", (int)sigsys_seen);
		return LEAK;
	}
	kill(me, SIGSYS);
	if (sigsys_seen != 1)
		return LEAK;
	return OK;
}

/* Blocking SIGSYS (and the rest) changes the guest's mask only. */
static int block_sigsys(pid_t me)
{
	sigset_t all, pending;

	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, NULL) != 0)
		return SETUP;
	if (!pids_are_sandboxed(me, sandbox_parent))
		return LEAK;
	kill(me, SIGSYS);
	if (sigpending(&pending) != 0 || !sigismember(&pending, SIGSYS))
		return LEAK;
	return pids_are_sandboxed(me, sandbox_parent) ? OK : LEAK;
}

static pid_t forged_me;
static char forged_stack[65536] __attribute__((aligned(16)));

static void after_forged_sigreturn(void)
{
	sigset_t now;

	if (!pids_are_sandboxed(forged_me, sandbox_parent))
		_exit(LEAK);
	/* The forged mask is the guest's mask now, as on Linux. */
	if (sigprocmask(SIG_SETMASK, NULL, &now) != 0 || !sigismember(&now, SIGSYS))
		_exit(SETUP);
	_exit(OK);
}

/* rt_sigreturn with a frame built by hand: every signal blocked, rip in our
 * own code, no FP state. */
static int forged_sigreturn(pid_t me)
{
	static ucontext_t uc;
	greg_t *g = uc.uc_mcontext.gregs;

	forged_me = me;
	memset(&uc, 0, sizeof(uc));
	g[REG_RIP] = (greg_t)(uintptr_t)after_forged_sigreturn;
	g[REG_RSP] = (greg_t)(uintptr_t)(forged_stack + sizeof(forged_stack) - 8);
	g[REG_EFL] = 0x202;
	g[REG_CSGSFS] = 0x33 | (0x2bL << 48);
	uc.uc_mcontext.fpregs = NULL;
	memset(&uc.uc_sigmask, 0xff, sizeof(uc.uc_sigmask));
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"
			 "syscall\n\t"
			 "ud2\n\t" ::"r"(&uc)
			 : "rax", "memory");
	return SETUP;
}

/* seccomp(2) and prctl(PR_SET_SECCOMP) with a filter that would kill at the
 * next getppid if the host installed it. */
static int own_seccomp_filter(pid_t me)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	long r1, r2;

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	r1 = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	r2 = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	if (r1 == 0 || r2 == 0) {
		/* The Sentry would then have to enforce it itself: a later
		 * getppid kills us, which is Linux's behaviour, not a leak. */
		fprintf(stderr, "seccomp accepted (%ld, %ld)\n", r1, r2);
	}
	return pids_are_sandboxed(me, sandbox_parent) ? OK : LEAK;
}

int main(void)
{
	pid_t me = getpid();

	stub_page = top_of_guest_space();
	fake_slot = mmap(NULL, 2 * SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fake_slot == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	fake_slot = (volatile uint64_t *)(((uintptr_t)fake_slot + SLOT_SIZE - 1) & ~(SLOT_SIZE - 1));
	printf("top of the guest's address space found\n");
	fprintf(stderr, "top of the guest's address space: %#lx\n", (unsigned long)stub_page);

	judge_exit0("maps hide the stub", in_child(maps_hide_the_stub));
	judge("scribble on the control region", in_child(scribble_on_the_control_region));
	judge("jump into the stub code", in_child(jump_into_the_stub));
	judge_exit0("own SIGSYS handler", in_child(own_sigsys_handler));
	judge_exit0("block SIGSYS", in_child(block_sigsys));
	judge("forged rt_sigreturn", in_child(forged_sigreturn));
	judge_exit0("own seccomp filter", in_child(own_seccomp_filter));

	if (syscall(SYS_getpid) != me) {
		report("parent", 1, "getpid changed");
	} else {
		printf("survived\n");
	}
	return failures ? 1 : 0;
}
