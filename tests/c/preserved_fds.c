/*
 * preserved_fds: what a process sees of the fds its runtime preserved
 * (runc's --preserve-fds). For each fd in argv[1..] it prints the file
 * type (fstat), the status flags that an exec'd process inherits (access
 * mode, O_APPEND, O_NONBLOCK; fcntl(2) F_GETFL), whether lseek works on it
 * (ESPIPE for pipes) and its offset, or the errno when the fd is not open.
 * The output is compared between Linux and runsc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "regular";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "chardev";
	case S_IFDIR: return "dir";
	default: return "other";
	}
}

static const char *access_of(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY: return "rdonly";
	case O_WRONLY: return "wronly";
	default: return "rdwr";
	}
}

static void describe(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("fd %d: fstat %s\n", fd, strerror(errno));
		return;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0) {
		printf("fd %d: F_GETFL %s\n", fd, strerror(errno));
		return;
	}
	off_t off = lseek(fd, 0, SEEK_CUR);
	printf("fd %d: %s %s%s%s lseek=", fd, type_of(st.st_mode), access_of(flags),
	       flags & O_APPEND ? " append" : "", flags & O_NONBLOCK ? " nonblock" : "");
	if (off < 0)
		printf("%s\n", strerror(errno));
	else
		printf("%lld\n", (long long)off);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		describe(atoi(argv[i]));
	return 0;
}
