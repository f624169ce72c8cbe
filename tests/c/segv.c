/* segv: dereferences NULL; the process must die of SIGSEGV (exit 139 via a runtime). */
#include <stdio.h>

int main(void)
{
	volatile int *p = NULL;

	printf("about to fault\n");
	fflush(stdout);
	*p = 1;
	printf("still alive\n");
	return 0;
}
