/*
 * mt_mmap_stress [SECONDS] [DIR]: memory-management stress for the platforms.
 * For SECONDS (default 10):
 *   - 4 mapper threads mmap private and shared anonymous memory and a
 *     MAP_SHARED window of a file in DIR, write a pattern, mprotect it
 *     read-only, verify it, and munmap it, in a loop;
 *   - 4 writer threads each own a page of a MAP_SHARED anonymous region and
 *     of a MAP_SHARED file mapping, and store an increasing counter into
 *     every word of both;
 *   - the writers also read the other writers' pages, and a forked child
 *     process reads all of them: every word must only ever grow and never
 *     exceed what its writer has published.
 * At the end every word must hold its writer's final count, in memory and
 * in the file read back with pread. Prints "ok N mapper loops, M writes"
 * and exits 0, or prints what went wrong and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAPPERS 4
#define WRITERS 4
#define PAGE 4096
#define WORDS (PAGE / 8)

static int seconds = 10;
static char dir[512] = "/tmp";
static int file_fd = -1;
static volatile uint64_t *shared_anon;	/* WRITERS pages */
static volatile uint64_t *shared_file;	/* WRITERS pages of the file */
static volatile uint64_t *published;	/* per writer: last count fully written (shared page) */
static volatile int stop;
static volatile int failed;
static uint64_t mapper_loops[MAPPERS];

static void fail(const char *what, long a, long b)
{
	if (!__sync_lock_test_and_set(&failed, 1))
		printf("FAILED: %s (%ld, %ld)\n", what, a, b);
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t next_rand(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* One round of a mapper: a mapping of `pages` pages of kind `kind`. */
static void map_round(int id, uint32_t *rng)
{
	int kind = next_rand(rng) % 3;
	size_t pages = 1 + next_rand(rng) % 32;
	size_t len = pages * PAGE, i;
	uint64_t tag = ((uint64_t)id << 48) | (mapper_loops[id] << 8);
	uint64_t *p;
	off_t off = (off_t)(WRITERS + 1 + id * 32) * PAGE;

	if (kind == 0)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else if (kind == 1)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	else
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, off);
	if (p == MAP_FAILED) {
		fail("mmap", kind, errno);
		return;
	}
	for (i = 0; i < len / 8; i += 61)
		p[i] = tag + i;
	if (mprotect(p, len, PROT_READ) != 0)
		fail("mprotect", kind, errno);
	for (i = 0; i < len / 8; i += 61)
		if (p[i] != tag + i)
			fail("mapper readback", (long)(p[i] - tag), (long)i);
	if (munmap(p, len) != 0)
		fail("munmap", kind, errno);
}

static void *mapper(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint32_t rng = 7919u * (uint32_t)(id + 1);

	while (!stop) {
		map_round(id, &rng);
		mapper_loops[id]++;
	}
	return NULL;
}

/* Every word of every writer's page in `region` only grows and never passes
 * what its writer published; `seen` holds the last values read. */
static void check_region(volatile uint64_t *region, uint64_t *seen, const char *what)
{
	int w, i;

	for (w = 0; w < WRITERS; w++) {
		uint64_t limit;

		for (i = 0; i < WORDS; i += 37) {
			uint64_t v = region[w * WORDS + i];

			limit = published[w] + 1;
			if (v < seen[w * WORDS + i] || v > limit) {
				fail(what, (long)v, (long)seen[w * WORDS + i]);
				return;
			}
			seen[w * WORDS + i] = v;
		}
	}
}

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	static uint64_t seen_anon[WRITERS][WRITERS * WORDS], seen_file[WRITERS][WRITERS * WORDS];
	uint64_t count = 0;
	int i;

	while (!stop) {
		count++;
		for (i = 0; i < WORDS; i++) {
			shared_anon[id * WORDS + i] = count;
			shared_file[id * WORDS + i] = count;
		}
		__sync_synchronize();
		published[id] = count;
		check_region(shared_anon, seen_anon[id], "shared anonymous word went back or ahead");
		check_region(shared_file, seen_file[id], "shared file word went back or ahead");
	}
	return NULL;
}

/* The forked reader: checks until told to stop (published[WRITERS] != 0). */
static int reader_process(void)
{
	static uint64_t seen_anon[WRITERS * WORDS], seen_file[WRITERS * WORDS];
	long rounds = 0;

	while (!published[WRITERS] && !failed) {
		check_region(shared_anon, seen_anon, "child: shared anonymous word went back or ahead");
		check_region(shared_file, seen_file, "child: shared file word went back or ahead");
		rounds++;
	}
	return failed ? 1 : (rounds > 0 ? 0 : 1);
}

static void *map_shared(size_t len, int fd)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap shared");
		exit(1);
	}
	return p;
}

/* Final check: every word holds its writer's last count, in memory and in
 * the file. */
static void check_final(void)
{
	static uint64_t page[WORDS];
	int w, i;

	for (w = 0; w < WRITERS; w++) {
		uint64_t want = published[w];

		if (pread(file_fd, page, PAGE, (off_t)w * PAGE) != PAGE)
			fail("pread", w, errno);
		for (i = 0; i < WORDS; i++) {
			if (shared_anon[w * WORDS + i] != want)
				fail("final anonymous word", (long)shared_anon[w * WORDS + i], (long)want);
			if (shared_file[w * WORDS + i] != want || page[i] != want)
				fail("final file word", (long)page[i], (long)want);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t threads[MAPPERS + WRITERS];
	char path[600];
	uint64_t loops = 0, writes = 0;
	double end;
	pid_t child;
	int i, status;

	if (argc > 1)
		seconds = atoi(argv[1]);
	if (argc > 2)
		snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(path, sizeof(path), "%s/mt_mmap_stress.XXXXXX", dir);
	file_fd = mkstemp(path);
	if (file_fd < 0 || unlink(path) != 0 ||
	    ftruncate(file_fd, (off_t)(WRITERS + 1 + MAPPERS * 32) * PAGE) != 0) {
		perror("file");
		return 1;
	}
	shared_anon = map_shared((size_t)WRITERS * PAGE, -1);
	shared_file = map_shared((size_t)WRITERS * PAGE, file_fd);
	published = map_shared(PAGE, -1);

	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0)
		_exit(reader_process());
	for (i = 0; i < MAPPERS; i++)
		pthread_create(&threads[i], NULL, mapper, (void *)(intptr_t)i);
	for (i = 0; i < WRITERS; i++)
		pthread_create(&threads[MAPPERS + i], NULL, writer, (void *)(intptr_t)i);
	end = now() + seconds;
	while (!stop && now() < end)
		usleep(100 * 1000);
	stop = 1;
	for (i = 0; i < MAPPERS + WRITERS; i++)
		pthread_join(threads[i], NULL);
	published[WRITERS] = 1;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("reader process", child, status);
	check_final();
	for (i = 0; i < MAPPERS; i++)
		loops += mapper_loops[i];
	for (i = 0; i < WRITERS; i++)
		writes += published[i];
	if (failed)
		return 1;
	printf("ok %llu mapper loops, %llu writes\n", (unsigned long long)loops, (unsigned long long)writes);
	return 0;
}
