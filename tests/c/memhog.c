/* memhog MIB: allocates and touches MIB MiB, 1 MiB at a time, printing each
 * 64 MiB; prints "survived" if it got them all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 1024;

	for (long i = 1; i <= mib; i++) {
		char *p = malloc(1 << 20);

		if (!p)
			return printf("malloc failed at %ld MiB\n", i), 1;
		memset(p, (int)i, 1 << 20);
		if (i % 64 == 0) {
			printf("%ld MiB\n", i);
			fflush(stdout);
		}
	}
	printf("survived\n");
	return 0;
}
