/* hello: prints one line; exits with argv[1] (a number) when given. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	printf("hello from the guest\n");
	return argc > 1 ? atoi(argv[1]) : 0;
}
