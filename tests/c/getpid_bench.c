/*
 * getpid_bench [N]: makes N (default 1000000) raw getpid system calls
 * (syscall(SYS_getpid), so no libc caching) and prints the cost per call:
 *   getpid: N calls, X.Y ns/call
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long i, warm = n / 10 + 1;
	long long t0, t1;

	if (n <= 0) {
		fprintf(stderr, "usage: getpid_bench [N>0]\n");
		return 2;
	}
	for (i = 0; i < warm; i++)
		syscall(SYS_getpid);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	t1 = now_ns();
	printf("getpid: %ld calls, %.1f ns/call\n", n, (double)(t1 - t0) / (double)n);
	return 0;
}
