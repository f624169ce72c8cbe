/*
 * Memory: brk, madvise, the stack, and faults (SIGSEGV/SIGBUS delivery with
 * si_addr and si_code, handlers that repair a fault, default actions).
 */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <ucontext.h>

#define PG 4096

static long sys_brk(void *p)
{
	return syscall(SYS_brk, p);
}

static char *anon(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAILX("mmap anon: %s", h_errname(errno));
	return p;
}

/* ---- brk ---- */

CASE(brk_query_returns_current_break)
{
	long a = sys_brk(NULL);
	long b = sys_brk(NULL);

	EXPECT_GT(a, 0);
	EXPECT_EQ(a, b);
}

CASE(brk_grow_gives_zeroed_writable_memory)
{
	char *cur = (char *)sys_brk(NULL);
	char *end = cur + 5 * PG;
	int zero = 1;

	ASSERT_EQ(sys_brk(end), (long)end);
	EXPECT_EQ(sys_brk(NULL), (long)end);
	for (char *p = cur; p < end; p++)
		zero &= *p == 0;
	EXPECT_TRUE(zero);
	memset(cur, 0x5a, end - cur);
	EXPECT_EQ(cur[5 * PG - 1], 0x5a);
}

CASE(brk_shrink_unmaps)
{
	char *cur = (char *)sys_brk(NULL);
	/* Round up so that the page after the shrunk break is fully released. */
	char *base = (char *)(((uintptr_t)cur + PG - 1) & ~(uintptr_t)(PG - 1));

	ASSERT_EQ(sys_brk(base + 4 * PG), (long)(base + 4 * PG));
	base[3 * PG] = 1;
	ASSERT_EQ(sys_brk(base + PG), (long)(base + PG));
	EXPECT_EQ(h_touch(base + 3 * PG, 0, 0), SIGSEGV);
	EXPECT_EQ(h_touch(base, 1, 1), 0);
}

CASE(brk_regrow_is_zeroed)
{
	char *cur = (char *)sys_brk(NULL);
	char *base = (char *)(((uintptr_t)cur + PG - 1) & ~(uintptr_t)(PG - 1));

	ASSERT_EQ(sys_brk(base + 2 * PG), (long)(base + 2 * PG));
	base[PG + 5] = 9;
	ASSERT_EQ(sys_brk(base + PG), (long)(base + PG));
	ASSERT_EQ(sys_brk(base + 2 * PG), (long)(base + 2 * PG));
	EXPECT_EQ(base[PG + 5], 0);
}

CASE(brk_below_start_is_refused)
{
	long cur = sys_brk(NULL);

	/* A failed brk returns the current break, it does not set errno. */
	EXPECT_EQ(sys_brk((void *)(uintptr_t)PG), cur);
	EXPECT_EQ(sys_brk(NULL), cur);
}

CASE(brk_into_existing_mapping_is_refused)
{
	char *cur = (char *)sys_brk(NULL);
	char *base = (char *)(((uintptr_t)cur + PG - 1) & ~(uintptr_t)(PG - 1));
	char *block = mmap(base + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0);

	if (block == MAP_FAILED)
		SKIP("the page above the break is already in use");
	EXPECT_EQ(sys_brk(base + 4 * PG), (long)cur);
}

CASE(malloc_large_and_free)
{
	size_t n = 64 << 20;
	char *p = malloc(n);

	ASSERT_TRUE(p != NULL);
	for (size_t i = 0; i < n; i += PG)
		p[i] = (char)i;
	EXPECT_EQ(p[n - PG], (char)(n - PG));
	free(p);
}

/* ---- madvise ---- */

CASE(madvise_dontneed_zeroes_anonymous)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);

	memset(p, 0x11, 2 * PG);
	ASSERT_OK(madvise(p, PG, MADV_DONTNEED));
	EXPECT_EQ(p[0], 0);
	EXPECT_EQ(p[PG - 1], 0);
	EXPECT_EQ(p[PG], 0x11);
}

CASE(madvise_dontneed_private_file_rereads_file)
{
	const char *path = h_path("f");
	char *p;
	int fd;

	h_write_file(path, "file-content", 12);
	fd = ASSERT_OK(open(path, O_RDONLY));
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[0] = 'X';
	ASSERT_OK(madvise(p, PG, MADV_DONTNEED));
	EXPECT_EQ(p[0], 'f');
}

CASE(madvise_common_advice_accepted)
{
	char *p = anon(4 * PG, PROT_READ | PROT_WRITE);

	EXPECT_OK(madvise(p, 4 * PG, MADV_NORMAL));
	EXPECT_OK(madvise(p, 4 * PG, MADV_RANDOM));
	EXPECT_OK(madvise(p, 4 * PG, MADV_SEQUENTIAL));
	EXPECT_OK(madvise(p, 4 * PG, MADV_WILLNEED));
	EXPECT_OK(madvise(p, 4 * PG, MADV_DONTFORK));
	EXPECT_OK(madvise(p, 4 * PG, MADV_DOFORK));
	EXPECT_OK(madvise(p, 0, MADV_NORMAL));
}

CASE(madvise_errors)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);

	EXPECT_ERRNO(madvise(p, PG, 12345), EINVAL);
	EXPECT_ERRNO(madvise(p + 1, PG, MADV_NORMAL), EINVAL);
	ASSERT_OK(munmap(p, 2 * PG));
	EXPECT_ERRNO(madvise(p, PG, MADV_NORMAL), ENOMEM);
}

CASE(madvise_dontfork_hides_range_from_child)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);
	pid_t pid;

	p[0] = 1;
	ASSERT_OK(madvise(p, PG, MADV_DONTFORK));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(h_touch(p, 0, 0) == SIGSEGV ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- copy-on-write after fork, from several threads ---- */

#define COW_THREADS 8
#define COW_PAGES 16
static char cow_pages[COW_PAGES * PG];
static pthread_barrier_t cow_barrier;

/* Writes its id into every page, all threads at once; the odd threads map
 * and unmap memory in between, so that faults also wait for the address
 * space's lock. */
static void *cow_writer(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	pthread_barrier_wait(&cow_barrier);
	for (i = 0; i < COW_PAGES; i++) {
		if (id % 2) {
			void *scratch = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (scratch != MAP_FAILED)
				munmap(scratch, PG);
		}
		cow_pages[((i + id) % COW_PAGES) * PG + id] = (char)(id + 1);
	}
	return NULL;
}

/*
 * fork(2) makes the parent's private pages copy-on-write too; threads that
 * then write to the same pages at once, while the child still shares them,
 * each take a write fault, and every one must be resolved (none may end in
 * SIGSEGV), with no write lost; the child keeps seeing the old contents.
 */
CASE(threads_write_the_same_private_pages_after_fork)
{
	pthread_t threads[COW_THREADS];
	int round, i, p, fds[2];
	char byte;

	for (round = 0; round < 40; round++) {
		pid_t pid;

		memset(cow_pages, 0, sizeof(cow_pages));
		ASSERT_OK(pipe(fds));
		pid = ASSERT_OK(fork());
		if (pid == 0) {
			/* Keeps the pages shared until the threads are done. */
			close(fds[1]);
			_exit(read(fds[0], &byte, 1) == 0 && cow_pages[0] == 0 ? 0 : 1);
		}
		close(fds[0]);
		pthread_barrier_init(&cow_barrier, NULL, COW_THREADS);
		for (i = 0; i < COW_THREADS; i++)
			ASSERT_EQ(pthread_create(&threads[i], NULL, cow_writer, (void *)(intptr_t)i), 0);
		for (i = 0; i < COW_THREADS; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&cow_barrier);
		close(fds[1]);
		EXPECT_EXITED(h_wait(pid), 0);
		for (p = 0; p < COW_PAGES; p++)
			for (i = 0; i < COW_THREADS; i++)
				EXPECT_EQ(cow_pages[p * PG + i], i + 1);
	}
}

/* ---- faults ---- */

CASE(segv_unmapped_reports_address_and_maperr)
{
	char *p = anon(PG, PROT_READ);

	ASSERT_OK(munmap(p, PG));
	EXPECT_EQ(h_touch(p + 123, 0, 0), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p + 123);
	EXPECT_EQ(h_fault_code, SEGV_MAPERR);
}

CASE(segv_write_to_readonly_reports_accerr)
{
	char *p = anon(PG, PROT_READ);

	EXPECT_EQ(h_touch(p + 7, 1, 1), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p + 7);
	EXPECT_EQ(h_fault_code, SEGV_ACCERR);
}

CASE(segv_null_read_reports_address_zero)
{
	EXPECT_EQ(h_touch(OPAQUE((char *)NULL), 0, 0), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == NULL);
	EXPECT_EQ(h_fault_code, SEGV_MAPERR);
}

CASE(segv_execute_non_exec_page)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);
	void (*fn)(void) = (void (*)(void))(uintptr_t)p;

	p[0] = (char)0xc3; /* ret */
	h_catch_faults();
	h_fault_sig = 0;
	if (sigsetjmp(h_fault_jmp, 1) == 0)
		fn();
	EXPECT_EQ(h_fault_sig, SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p);
	EXPECT_EQ(h_fault_code, SEGV_ACCERR);
}

CASE(exec_page_runs_code)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);
	int (*fn)(void) = (int (*)(void))(uintptr_t)p;
	static const unsigned char code[] = {0xb8, 0x2a, 0, 0, 0, 0xc3}; /* mov $42,%eax; ret */

	memcpy(p, code, sizeof(code));
	ASSERT_OK(mprotect(p, PG, PROT_READ | PROT_EXEC));
	EXPECT_EQ(fn(), 42);
}

static char *repair_page;

static void repair(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((char *)si->si_addr >= repair_page && (char *)si->si_addr < repair_page + PG)
		mprotect(repair_page, PG, PROT_READ | PROT_WRITE);
	else
		_exit(3);
}

CASE(segv_handler_repairs_and_resumes)
{
	struct sigaction sa;

	repair_page = anon(PG, PROT_NONE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = repair;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_OK(sigaction(SIGSEGV, &sa, NULL));
	/* The faulting store is restarted after the handler returns. */
	((volatile char *)repair_page)[10] = 77;
	EXPECT_EQ(repair_page[10], 77);
}

static int null_deref(void)
{
	return *OPAQUE((volatile int *)NULL);
}

CASE(segv_default_action_kills)
{
	EXPECT_SIGNALED(h_in_child(null_deref), SIGSEGV);
}

static void ignore_handler(int sig)
{
	(void)sig;
}

static int blocked_fault(void)
{
	sigset_t set;

	signal(SIGSEGV, ignore_handler);
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return null_deref();
}

CASE(segv_while_blocked_kills)
{
	/* A synchronous fault with the signal blocked cannot be handled: it kills. */
	EXPECT_SIGNALED(h_in_child(blocked_fault), SIGSEGV);
}

static int ignored_fault(void)
{
	signal(SIGSEGV, SIG_IGN);
	return null_deref();
}

CASE(segv_while_ignored_kills)
{
	EXPECT_SIGNALED(h_in_child(ignored_fault), SIGSEGV);
}

static volatile int handler_mask_has_segv = -1;

static void check_mask(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	(void)sig;
	(void)si;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	handler_mask_has_segv = sigismember(&cur, SIGSEGV);
	/* ucontext's saved mask is the mask before the handler. */
	if (sigismember(&((ucontext_t *)uc)->uc_sigmask, SIGSEGV))
		handler_mask_has_segv = 2;
	mprotect(repair_page, PG, PROT_READ | PROT_WRITE);
}

CASE(segv_handler_runs_with_signal_blocked)
{
	struct sigaction sa;

	repair_page = anon(PG, PROT_NONE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = check_mask;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_OK(sigaction(SIGSEGV, &sa, NULL));
	((volatile char *)repair_page)[0] = 1;
	EXPECT_EQ(handler_mask_has_segv, 1);
}

static int recurse(int depth)
{
	volatile char buf[1024];

	buf[0] = (char)depth;
	if (depth == 0)
		return buf[0];
	return recurse(depth - 1) + buf[0];
}

CASE(stack_grows_on_demand)
{
	/* About 4 MiB of stack, well under the usual 8 MiB limit. */
	int want = 0;

	for (int d = 0; d <= 4000; d++)
		want += (char)d;
	EXPECT_EQ(recurse(4000), want);
}

static int overflow(void)
{
	return recurse(1 << 30);
}

CASE(stack_overflow_kills_with_segv)
{
	EXPECT_SIGNALED(h_in_child(overflow), SIGSEGV);
}

static sigjmp_buf alt_jmp;

static void on_overflow(int sig)
{
	(void)sig;
	siglongjmp(alt_jmp, 1);
}

CASE(stack_overflow_caught_on_altstack)
{
	stack_t ss = {.ss_sp = malloc(64 * 1024), .ss_size = 64 * 1024};
	struct sigaction sa;
	volatile int caught = 0;

	ASSERT_OK(sigaltstack(&ss, NULL));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_overflow;
	sa.sa_flags = SA_ONSTACK;
	ASSERT_OK(sigaction(SIGSEGV, &sa, NULL));
	if (sigsetjmp(alt_jmp, 1) == 0)
		recurse(1 << 30);
	else
		caught = 1;
	EXPECT_TRUE(caught);
}

HARNESS_MAIN
