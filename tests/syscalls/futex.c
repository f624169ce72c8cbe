/*
 * futex(2): FUTEX_WAIT/WAKE (private and shared), timeouts, bitsets,
 * REQUEUE/CMP_REQUEUE, WAKE_OP, PI futexes, errors.
 */
#include "harness.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>

static long fx(void *uaddr, int op, uint32_t val, const void *timeout, void *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static _Atomic uint32_t word;
static _Atomic uint32_t word2;
static _Atomic int woken;
static _Atomic int ready;

static void *waiter(void *arg)
{
	int op = (int)(intptr_t)arg;

	atomic_fetch_add(&ready, 1);
	if (fx(&word, op, 0, NULL, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
		atomic_fetch_add(&woken, 1);
	return NULL;
}

static void noop(int sig)
{
	(void)sig;
}

/* Waits until n waiter threads started, then gives them time to block in FUTEX_WAIT. */
static void settle(int n)
{
	struct timespec nap = {0, 100000000}, tick = {0, 1000000};

	for (int i = 0; i < 5000 && atomic_load(&ready) < n; i++)
		nanosleep(&tick, NULL);
	nanosleep(&nap, NULL);
}

CASE(futex_wait_value_mismatch_eagain)
{
	uint32_t w = 1;

	EXPECT_ERRNO(fx(&w, FUTEX_WAIT, 0, NULL, NULL, 0), EAGAIN);
	EXPECT_ERRNO(fx(&w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
}

CASE(futex_wait_relative_timeout_etimedout)
{
	uint32_t w = 0;
	struct timespec ts = {0, 30000000}, a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_ERRNO(fx(&w, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT_GE((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 29);
}

CASE(futex_wait_bitset_absolute_timeout)
{
	uint32_t w = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	EXPECT_ERRNO(fx(&w, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY),
		     ETIMEDOUT);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec -= 1;
	EXPECT_ERRNO(fx(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, NULL,
			FUTEX_BITSET_MATCH_ANY),
		     ETIMEDOUT);
}

CASE(futex_wake_without_waiters_returns_zero)
{
	uint32_t w = 0;

	EXPECT_EQ(fx(&w, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
	EXPECT_EQ(fx(&w, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0), 0);
}

CASE(futex_errors)
{
	uint32_t w[2] = {0, 0};
	struct timespec bad = {0, 1000000000L};

	EXPECT_ERRNO(fx((char *)w + 1, FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL);
	EXPECT_ERRNO(fx(BAD_PTR, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
	EXPECT_ERRNO(fx(w, FUTEX_WAIT, 0, &bad, NULL, 0), EINVAL);
	EXPECT_ERRNO(fx(w, FUTEX_WAIT, 0, BAD_PTR, NULL, 0), EFAULT);
	EXPECT_ERRNO(fx(w, 99, 0, NULL, NULL, 0), ENOSYS);
	EXPECT_ERRNO(fx(w, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0), EINVAL);
	EXPECT_ERRNO(fx(w, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL);
	/* FUTEX_CLOCK_REALTIME is only for the absolute-time operations */
	bad.tv_nsec = 100000000;
	EXPECT_ERRNO(fx(w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &bad, NULL, 0), ENOSYS);
}

CASE(futex_wake_wakes_requested_count)
{
	pthread_t t[3];

	atomic_store(&word, 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, waiter, (void *)(intptr_t)FUTEX_WAIT_PRIVATE), 0);
	settle(3);
	EXPECT_EQ(fx(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0), 2);
	settle(0);
	EXPECT_EQ(atomic_load(&woken), 2);
	EXPECT_EQ(fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0), 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(atomic_load(&woken), 3);
}

CASE(futex_wake_bitset_matches_only_overlapping)
{
	pthread_t t;

	atomic_store(&word, 0);
	ASSERT_EQ(pthread_create(&t, NULL, waiter, (void *)(intptr_t)FUTEX_WAIT_BITSET_PRIVATE), 0);
	settle(1);
	/* a waiter with MATCH_ANY is woken by any nonzero bitset */
	EXPECT_EQ(fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x4), 1);
	pthread_join(t, NULL);
	EXPECT_EQ(atomic_load(&woken), 1);
}

static void *bitset_waiter(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ready, 1);
	if (fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0x1) == 0)
		atomic_fetch_add(&woken, 1);
	return NULL;
}

CASE(futex_wake_bitset_skips_disjoint_waiter)
{
	pthread_t t;

	atomic_store(&word, 0);
	ASSERT_EQ(pthread_create(&t, NULL, bitset_waiter, NULL), 0);
	settle(1);
	EXPECT_EQ(fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2), 0);
	EXPECT_EQ(fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x3), 1);
	pthread_join(t, NULL);
}

CASE(futex_cmp_requeue_moves_waiters)
{
	pthread_t t[3];

	atomic_store(&word, 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, waiter, (void *)(intptr_t)FUTEX_WAIT_PRIVATE), 0);
	settle(3);
	EXPECT_ERRNO(fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2, &word2, 5), EAGAIN);
	/* wake 1, move 2 to word2: returns woken + requeued */
	EXPECT_EQ(fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2, &word2, 0), 3);
	EXPECT_EQ(fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0), 0);
	EXPECT_EQ(fx(&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0), 2);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
}

CASE(futex_wake_op_changes_second_word)
{
	uint32_t a = 0;
	uint32_t b = 5;

	/* *b += 3; wake on a; then wake on b if old *b > 4 */
	EXPECT_EQ(fx(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &b,
		     FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_GT, 4)),
		  0);
	EXPECT_EQ(b, 8);
}

CASE(futex_forked_copy_is_a_different_futex)
{
	pid_t pid;
	int st;

	atomic_store(&word, 0);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct timespec ts = {0, 100000000};

		/* different address spaces: a private wait here never sees a wake there */
		_exit(fx(&word, FUTEX_WAIT, 0, &ts, NULL, 0) == -1 && errno == ETIMEDOUT ? 0 : 1);
	}
	usleep(20000);
	EXPECT_EQ(fx(&word, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
	st = h_wait(pid);
	EXPECT_EXITED(st, 0);
}

CASE(futex_lock_pi_and_unlock_pi)
{
	uint32_t w = 0;
	pid_t tid = gettid();

	ASSERT_OK(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	EXPECT_SAME(w & FUTEX_TID_MASK, (uint32_t)tid);
	EXPECT_ERRNO(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
	ASSERT_OK(fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	EXPECT_EQ(w, 0);
	EXPECT_ERRNO(fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
}

CASE(futex_trylock_pi)
{
	uint32_t w = 0;

	ASSERT_OK(fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	EXPECT_SAME(w & FUTEX_TID_MASK, (uint32_t)gettid());
	EXPECT_ERRNO(fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
}

static pthread_mutex_t pi_mutex;
static long pi_counter;

static void *pi_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&pi_mutex);
		pi_counter++;
		pthread_mutex_unlock(&pi_mutex);
	}
	return NULL;
}

/*
 * A PTHREAD_PRIO_INHERIT mutex under contention: glibc takes it in user
 * space and calls FUTEX_LOCK_PI / FUTEX_UNLOCK_PI when it is contended;
 * no increment may be lost and nobody may hang.
 */
CASE(futex_pi_mutex_under_contention)
{
	pthread_mutexattr_t attr;
	pthread_t t[4];

	ASSERT_OK(-pthread_mutexattr_init(&attr));
	ASSERT_OK(-pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT));
	ASSERT_OK(-pthread_mutex_init(&pi_mutex, &attr));
	for (int i = 0; i < 4; i++)
		ASSERT_OK(-pthread_create(&t[i], NULL, pi_worker, NULL));
	for (int i = 0; i < 4; i++)
		ASSERT_OK(-pthread_join(t[i], NULL));
	EXPECT_EQ(pi_counter, 4 * 20000);
}

/* The owner's tid in a PI word must be a thread: ESRCH otherwise, for trylock too. */
CASE(futex_lock_pi_of_a_dead_owner_esrch)
{
	uint32_t w = 0x3ffffff0;

	EXPECT_ERRNO(fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
	EXPECT_ERRNO(fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
}

CASE(futex_wait_interrupted_by_signal_eintr)
{
	uint32_t w = 0;
	struct sigaction sa;
	struct timespec ts = {5, 0};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_ERRNO(fx(&w, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), EINTR);
}

HARNESS_MAIN
