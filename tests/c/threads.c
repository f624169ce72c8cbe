/* 8 threads contend on a mutex and a condition variable; every thread
 * takes turns by ticket, so the condvar is exercised on every step.
 * Prints the total, which must be THREADS * ITERS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long total;
static long iters = 100000;
static int turn;

static void *worker(void *arg)
{
	int me = (int)(long)arg;
	for (long i = 0; i < iters; i++) {
		pthread_mutex_lock(&lock);
		total++;
		if (i % 1000 == 0) {
			/* Every 1000 steps, pass the baton in order. */
			while (turn != me)
				pthread_cond_wait(&turn_changed, &lock);
			turn = (turn + 1) % THREADS;
			pthread_cond_broadcast(&turn_changed);
		}
		pthread_mutex_unlock(&lock);
	}
	return (void *)(long)me;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];
	if (argc > 1)
		iters = atol(argv[1]);
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	long joined = 0;
	for (int i = 0; i < THREADS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		joined += (long)ret;
	}
	printf("total %ld expected %ld joined %ld\n", total, (long)THREADS * iters, joined);
	return total == (long)THREADS * iters ? 0 : 1;
}
