/*
 * File system micro-benchmarks, run natively and in the sandbox:
 *   fs_bench write PATH MIB   write MIB MiB in 1 MiB writes, fsync: "write: N MiB, X MiB/s"
 *   fs_bench read PATH        read the file back in 1 MiB reads:     "read: N MiB, X MiB/s"
 *   fs_bench stat PATH N      N stat(2) calls:                       "stat: N calls, X ns/call"
 *   fs_bench mkfiles DIR N    creates DIR/f0 .. DIR/f(N-1), empty
 *   fs_bench statmany DIR N   stat(2) of each of them once:          "statmany: N calls, X ns/call"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_write(const char *path, long mib)
{
	char *buf = malloc(CHUNK);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (!buf || fd < 0)
		return perror("open"), 1;
	memset(buf, 'x', CHUNK);
	double t0 = now();
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, CHUNK) != CHUNK)
			return perror("write"), 1;
	if (fsync(fd) != 0)
		return perror("fsync"), 1;
	double t = now() - t0;
	printf("write: %ld MiB, %.1f MiB/s\n", mib, mib / t);
	return close(fd);
}

static int do_read(const char *path)
{
	char *buf = malloc(CHUNK);
	int fd = open(path, O_RDONLY);
	long total = 0;
	ssize_t n;

	if (!buf || fd < 0)
		return perror("open"), 1;
	double t0 = now();
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		return perror("read"), 1;
	double t = now() - t0;
	printf("read: %ld MiB, %.1f MiB/s\n", total >> 20, (total >> 20) / t);
	return close(fd);
}

static int do_stat(const char *path, long n)
{
	struct stat st;
	double t0 = now();

	for (long i = 0; i < n; i++)
		if (stat(path, &st) != 0)
			return perror("stat"), 1;
	double t = now() - t0;
	printf("stat: %ld calls, %.1f ns/call\n", n, t * 1e9 / n);
	return 0;
}

static int do_mkfiles(const char *dir, long n)
{
	char path[4096];

	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			return perror("open"), 1;
		close(fd);
	}
	return 0;
}

static int do_statmany(const char *dir, long n)
{
	char path[4096];
	struct stat st;
	double t0 = now();

	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		if (stat(path, &st) != 0)
			return perror("stat"), 1;
	}
	double t = now() - t0;
	printf("statmany: %ld calls, %.1f ns/call\n", n, t * 1e9 / n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return do_read(argv[2]);
	if (argc == 4 && strcmp(argv[1], "stat") == 0)
		return do_stat(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "mkfiles") == 0)
		return do_mkfiles(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "statmany") == 0)
		return do_statmany(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: fs_bench write PATH MIB | read PATH | stat PATH N | mkfiles DIR N | statmany DIR N\n");
	return 2;
}
