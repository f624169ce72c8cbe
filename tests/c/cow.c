/* Copy-on-write fork: a 64 MiB heap is shared until written, writes on
 * either side stay on that side (including writes made by the kernel, as
 * read() into a buffer), and MAP_SHARED memory stays shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (64 << 20)

static int all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	unsigned char *heap = malloc(SIZE);
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2];
	if (!heap || shared == MAP_FAILED || pipe(fds) != 0)
		return 1;
	memset(heap, 'A', SIZE);
	*shared = 1;
	if (write(fds[1], "kernel-wrote-this", 17) != 17)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		int ok = all(heap, SIZE, 'A');
		memset(heap, 'B', SIZE / 2);
		/* The kernel writes into a COW page of the child. */
		ok = ok && read(fds[0], heap + SIZE - 4096, 17) == 17;
		ok = ok && memcmp(heap + SIZE - 4096, "kernel-wrote-this", 17) == 0;
		*shared = 2;
		_exit(ok ? 0 : 1);
	}
	memset(heap + SIZE / 2, 'C', SIZE / 4);
	int status;
	waitpid(pid, &status, 0);
	printf("child saw the parent's heap and its own writes: %s\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
	printf("parent first half unchanged: %s\n", all(heap, SIZE / 2, 'A') ? "yes" : "no");
	printf("parent third quarter is its own: %s\n", all(heap + SIZE / 2, SIZE / 4, 'C') ? "yes" : "no");
	printf("parent last quarter unchanged by the child's read: %s\n",
	       all(heap + SIZE * 3 / 4, SIZE / 4, 'A') ? "yes" : "no");
	printf("MAP_SHARED memory shared: %s\n", *shared == 2 ? "yes" : "no");
	/* A second fork after the first child is gone. */
	pid = fork();
	if (pid == 0)
		_exit(all(heap, SIZE / 2, 'A') ? 0 : 1);
	waitpid(pid, &status, 0);
	printf("second child ok: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
	return 0;
}
