/*
 * /proc: self, exe, cmdline, environ, cwd, root, fd/, maps, stat, status,
 * comm, and a few system-wide files.
 */
#include "harness.h"

#include <limits.h>
#include <sys/prctl.h>
#include <sys/socket.h>

extern char **environ;

static char big[1 << 16];

/* Reads a whole (proc) file into `big`; returns its length or -1. */
static ssize_t slurp(const char *path)
{
	return h_read_file(path, big, sizeof(big));
}

/* The line of `big` that starts with `prefix`, or NULL. */
static const char *line_with(const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, n) == 0)
			return l;
	return NULL;
}

CASE(proc_self_is_link_to_pid)
{
	char buf[64] = {0}, want[64];

	snprintf(want, sizeof(want), "%d", getpid());
	EXPECT_GT(readlink("/proc/self", buf, sizeof(buf) - 1), 0);
	EXPECT_TRUE(strcmp(buf, want) == 0);
}

CASE(proc_thread_self_link)
{
	char buf[64] = {0}, want[64];

	snprintf(want, sizeof(want), "%d/task/%d", getpid(), getpid());
	EXPECT_GT(readlink("/proc/thread-self", buf, sizeof(buf) - 1), 0);
	EXPECT_TRUE(strcmp(buf, want) == 0);
}

CASE(proc_self_exe_is_this_program)
{
	char buf[PATH_MAX] = {0};

	EXPECT_GT(readlink("/proc/self/exe", buf, sizeof(buf) - 1), 0);
	EXPECT_STREQ(buf, h_self);
}

CASE(proc_self_exe_opens_the_binary)
{
	char head[4];
	struct stat a, b;
	int fd = ASSERT_OK(open("/proc/self/exe", O_RDONLY));

	EXPECT_EQ(read(fd, head, 4), 4);
	EXPECT_MEMEQ(head, "\177ELF", 4);
	ASSERT_OK(fstat(fd, &a));
	ASSERT_OK(stat(h_self, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

CASE(proc_pid_matches_self)
{
	char path[64], a[PATH_MAX] = {0}, b[PATH_MAX] = {0};

	snprintf(path, sizeof(path), "/proc/%d/exe", getpid());
	EXPECT_GT(readlink(path, a, sizeof(a) - 1), 0);
	EXPECT_GT(readlink("/proc/self/exe", b, sizeof(b) - 1), 0);
	EXPECT_STREQ(a, b);
}

CASE(proc_self_cmdline_is_argv)
{
	ssize_t n = slurp("/proc/self/cmdline");
	char want[4096];
	size_t len = 0;

	for (int i = 0; i < h_argc; i++) {
		size_t l = strlen(h_argv[i]) + 1;

		memcpy(want + len, h_argv[i], l);
		len += l;
	}
	EXPECT_EQ(n, len);
	EXPECT_MEMEQ(big, want, len);
}

CASE(proc_self_cmdline_after_exec)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		char *argv[] = {(char *)h_self, "--helper-cmdline", "a b", "", "c", NULL};

		execve(h_self, argv, environ);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(proc_self_environ_after_exec)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		char *argv[] = {(char *)h_self, "--helper-environ", NULL};
		char *envp[] = {"SC_ONE=1", "SC_TWO=two", NULL};

		execve(h_self, argv, envp);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(proc_self_cwd_and_root)
{
	char cwd[PATH_MAX], link[PATH_MAX] = {0};

	ASSERT_OK(chdir(h_tmp()));
	ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
	EXPECT_GT(readlink("/proc/self/cwd", link, sizeof(link) - 1), 0);
	EXPECT_STREQ(link, cwd);
	memset(link, 0, sizeof(link));
	EXPECT_EQ(readlink("/proc/self/root", link, sizeof(link) - 1), 1);
	EXPECT_STREQ(link, "/");
}

CASE(proc_self_fd_links_to_open_file)
{
	char path[64], link[PATH_MAX] = {0}, want[PATH_MAX];
	int fd;

	h_write_file(h_path("f"), "x", 1);
	ASSERT_TRUE(realpath(h_path("f"), want) != NULL);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	EXPECT_GT(readlink(path, link, sizeof(link) - 1), 0);
	EXPECT_STREQ(link, want);
}

CASE(proc_self_fd_pipe_link)
{
	char path[64], link[256] = {0};
	int p[2];
	struct stat st;

	ASSERT_OK(pipe(p));
	ASSERT_OK(fstat(p[0], &st));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	EXPECT_GT(readlink(path, link, sizeof(link) - 1), 0);
	EXPECT_EQ(strncmp(link, "pipe:[", 6), 0);
	EXPECT_EQ(strtoull(link + 6, NULL, 10), st.st_ino);
}

CASE(proc_self_fd_closed_enoent)
{
	char link[64];

	EXPECT_ERRNO(readlink("/proc/self/fd/999", link, sizeof(link)), ENOENT);
}

CASE(proc_self_fd_lists_descriptors)
{
	char name[16];
	int fd = ASSERT_OK(dup2(0, 77));
	int saw77 = 0, saw78 = 0, n = 0;
	DIR *d;
	struct dirent *e;

	(void)fd;
	d = opendir("/proc/self/fd");
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(name, sizeof(name), "%.15s", e->d_name);
		saw77 |= strcmp(name, "77") == 0;
		saw78 |= strcmp(name, "78") == 0;
	}
	closedir(d);
	EXPECT_TRUE(saw77);
	EXPECT_TRUE(!saw78);
	EXPECT_GE(n, 4);
}

CASE(proc_self_fd_reopen_is_new_description)
{
	char path[64], c;
	int fd, again;

	h_write_file(h_path("f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_EQ(read(fd, &c, 1), 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	again = ASSERT_OK(open(path, O_RDONLY));
	EXPECT_EQ(read(again, &c, 1), 1);
	EXPECT_EQ(c, 'a');
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 1);
}

CASE(proc_self_fdinfo_flags)
{
	char path[64];
	int fd;

	h_write_file(h_path("f"), "abc", 3);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY | O_CLOEXEC));
	ASSERT_EQ(lseek(fd, 2, SEEK_SET), 2);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ASSERT_GT(slurp(path), 0);
	EXPECT_TRUE(line_with("pos:\t2\n") != NULL);
	EXPECT_TRUE(line_with("flags:\t02") != NULL);
}

/* Finds the maps line for `addr` and copies its permission field. */
static int maps_perms(void *addr, char perms[5])
{
	unsigned long lo, hi;
	const char *l = big;

	if (slurp("/proc/self/maps") <= 0)
		return -1;
	while (l && *l) {
		if (sscanf(l, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (unsigned long)addr >= lo &&
		    (unsigned long)addr < hi)
			return 0;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -1;
}

CASE(proc_self_maps_shows_anonymous_mapping)
{
	char perms[5] = {0};
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(mprotect(p + 4096, 4096, PROT_READ));
	ASSERT_OK(maps_perms(p, perms));
	EXPECT_STREQ(perms, "rw-p");
	ASSERT_OK(maps_perms(p + 4096, perms));
	EXPECT_STREQ(perms, "r--p");
	ASSERT_OK(munmap(p, 3 * 4096));
	EXPECT_EQ(maps_perms(p + 8192, perms), -1);
}

CASE(proc_self_maps_shows_file_path)
{
	char want[PATH_MAX], line_path[PATH_MAX];
	unsigned long lo, hi;
	char *p;
	int fd, found = 0;

	h_write_file(h_path("mapped"), "data", 4);
	ASSERT_TRUE(realpath(h_path("mapped"), want) != NULL);
	fd = ASSERT_OK(open(h_path("mapped"), O_RDONLY));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_GT(slurp("/proc/self/maps"), 0);
	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char perms[5];
		if (sscanf(l, "%lx-%lx %4s %*s %*s %*s %4095s", &lo, &hi, perms, line_path) == 4 &&
		    lo == (unsigned long)p) {
			found = 1;
			EXPECT_STREQ(line_path, want);
			EXPECT_STREQ(perms, "r--s");
		}
	}
	EXPECT_TRUE(found);
}

CASE(proc_self_maps_has_stack_and_binary)
{
	ASSERT_GT(slurp("/proc/self/maps"), 0);
	EXPECT_TRUE(strstr(big, "[stack]") != NULL);
	EXPECT_TRUE(strstr(big, h_self) != NULL);
}

CASE(proc_self_stat_fields)
{
	int pid, ppid, pgrp, sess;
	char state;
	const char *close_paren;

	ASSERT_GT(slurp("/proc/self/stat"), 0);
	EXPECT_EQ(sscanf(big, "%d", &pid), 1);
	EXPECT_SAME(pid, getpid());
	close_paren = strrchr(big, ')');
	ASSERT_TRUE(close_paren != NULL);
	EXPECT_EQ(sscanf(close_paren + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sess), 4);
	EXPECT_EQ(state, 'R');
	EXPECT_SAME(ppid, getppid());
	EXPECT_SAME(pgrp, getpgrp());
	EXPECT_SAME(sess, getsid(0));
}

/*
 * An orphan's new parent shows in /proc/PID/stat and status, not the one
 * that forked it (exit(2): children go to a subreaper or init; proc(5)
 * ppid is the current parent).
 */
CASE(proc_stat_ppid_follows_reparenting)
{
	int fds[2];
	pid_t top = getpid(), middle;
	char verdict = 0;

	ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	ASSERT_OK(pipe(fds));
	middle = fork();
	ASSERT_GE(middle, 0);
	if (middle == 0) {
		if (fork() == 0) {
			char ok = 'n', want[64];
			int ppid = -1;
			const char *close_paren;

			for (int i = 0; i < 400 && getppid() != top; i++)
				usleep(5000);
			if (slurp("/proc/self/stat") > 0 && (close_paren = strrchr(big, ')')) &&
			    sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == top &&
			    getppid() == top) {
				snprintf(want, sizeof(want), "PPid:\t%d\n", top);
				if (slurp("/proc/self/status") > 0 && line_with(want))
					ok = 'y';
			}
			(void)!write(fds[1], &ok, 1);
			_exit(0);
		}
		_exit(0);
	}
	close(fds[1]);
	ASSERT_OK(waitpid(middle, NULL, 0));
	EXPECT_EQ(read(fds[0], &verdict, 1), 1);
	EXPECT_EQ(verdict, 'y');
	/* The grandchild is our child now. */
	EXPECT_GT(wait(NULL), 0);
	close(fds[0]);
}

CASE(proc_self_status_fields)
{
	char want[64];

	ASSERT_GT(slurp("/proc/self/status"), 0);
	snprintf(want, sizeof(want), "Pid:\t%d\n", getpid());
	EXPECT_TRUE(line_with(want) != NULL);
	snprintf(want, sizeof(want), "PPid:\t%d\n", getppid());
	EXPECT_TRUE(line_with(want) != NULL);
	snprintf(want, sizeof(want), "Uid:\t%d\t%d\t", getuid(), geteuid());
	EXPECT_TRUE(line_with(want) != NULL);
	EXPECT_TRUE(line_with("Name:\t") != NULL);
	EXPECT_TRUE(line_with("State:\tR (running)") != NULL);
	EXPECT_TRUE(line_with("Threads:\t1\n") != NULL);
}

CASE(proc_self_comm_is_truncated_name)
{
	const char *base = strrchr(h_self, '/') ? strrchr(h_self, '/') + 1 : h_self;
	char want[32];

	snprintf(want, 16, "%.15s", base);
	strcat(want, "\n");
	ASSERT_GT(slurp("/proc/self/comm"), 0);
	EXPECT_STREQ(big, want);
}

CASE(proc_child_stat_visible_to_parent)
{
	char path[64];
	int p[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	EXPECT_GT(slurp(path), 0);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	EXPECT_GT(slurp(path), 0);
	close(p[1]);
	h_wait(pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	EXPECT_EQ(slurp(path), -1);
}

CASE(proc_cannot_create_entries)
{
	/* Even root cannot create files in /proc/PID: the lookup fails first. */
	EXPECT_ERRNO(open("/proc/self/new-file", O_WRONLY | O_CREAT, 0600), ENOENT);
	EXPECT_ERRNO(mkdir("/proc/self/new-dir", 0700), ENOENT);
}

CASE(proc_missing_pid_enoent)
{
	struct stat st;

	EXPECT_ERRNO(stat("/proc/1073741823", &st), ENOENT);
	EXPECT_ERRNO(stat("/proc/self/nonexistent-entry", &st), ENOENT);
}

CASE(proc_meminfo_and_cpuinfo)
{
	ASSERT_GT(slurp("/proc/meminfo"), 0);
	EXPECT_TRUE(line_with("MemTotal:") != NULL);
	EXPECT_TRUE(line_with("MemFree:") != NULL);
	ASSERT_GT(slurp("/proc/cpuinfo"), 0);
	EXPECT_TRUE(line_with("processor") != NULL);
}

CASE(proc_uptime_and_loadavg_format)
{
	double up, idle, a, b, c;

	ASSERT_GT(slurp("/proc/uptime"), 0);
	EXPECT_EQ(sscanf(big, "%lf %lf", &up, &idle), 2);
	EXPECT_TRUE(up > 0);
	ASSERT_GT(slurp("/proc/loadavg"), 0);
	EXPECT_EQ(sscanf(big, "%lf %lf %lf", &a, &b, &c), 3);
}

CASE(proc_sys_kernel_values)
{
	ASSERT_GT(slurp("/proc/sys/kernel/ostype"), 0);
	EXPECT_STREQ(big, "Linux\n");
	ASSERT_GT(slurp("/proc/sys/kernel/pid_max"), 0);
	EXPECT_GT(atoi(big), 0);
}

CASE(proc_self_mounts_lists_root)
{
	ASSERT_GT(slurp("/proc/self/mounts"), 0);
	EXPECT_TRUE(strstr(big, " / ") != NULL);
}

int h_helper(int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "--helper-cmdline") == 0) {
		static const char want[] = "--helper-cmdline\0a b\0\0c";
		ssize_t n = slurp("/proc/self/cmdline");
		size_t self = strlen(h_self) + 1;

		if (n != (ssize_t)(self + sizeof(want)))
			return 3;
		if (memcmp(big, h_self, self) != 0)
			return 4;
		return memcmp(big + self, want, sizeof(want)) == 0 ? 0 : 5;
	}
	if (strcmp(argv[1], "--helper-environ") == 0) {
		static const char want[] = "SC_ONE=1\0SC_TWO=two";

		return slurp("/proc/self/environ") == sizeof(want) && memcmp(big, want, sizeof(want)) == 0 ? 0 : 3;
	}
	return 99;
}

/* The path of fd `fd`'s magic link. */
static const char *fd_path(int fd)
{
	static char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return path;
}

/*
 * proc(5): opening /proc/self/fd/N opens the file itself, not the link's
 * text ("pipe:[ino]"): a pipe gets a new end of the same pipe, without
 * waiting for a peer as a FIFO would.
 */
CASE(proc_fd_link_reopens_a_pipe)
{
	int p[2], r, w;
	char buf[8];

	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	r = ASSERT_OK(open(fd_path(p[0]), O_RDONLY));
	ASSERT_EQ(read(r, buf, sizeof(buf)), 2);
	EXPECT_EQ(memcmp(buf, "ab", 2), 0);
	w = ASSERT_OK(open(fd_path(p[1]), O_WRONLY));
	ASSERT_EQ(write(w, "c", 1), 1);
	ASSERT_EQ(read(p[0], buf, sizeof(buf)), 1);
	EXPECT_EQ(buf[0], 'c');
	close(p[1]);
	close(w);
	/* no writer left: end of file, not a wait for one */
	EXPECT_EQ(read(r, buf, sizeof(buf)), 0);
	close(r);
	r = ASSERT_OK(open(fd_path(p[0]), O_RDONLY | O_NONBLOCK));
	EXPECT_EQ(read(r, buf, sizeof(buf)), 0);
}

/* A deleted file stays reachable through its fd's link, as "... (deleted)". */
CASE(proc_fd_link_reopens_a_deleted_file)
{
	const char *name = h_path("deleted");
	int fd = ASSERT_OK(open(name, O_CREAT | O_RDWR | O_TRUNC, 0600));
	char buf[16] = {0}, link[PATH_MAX];
	struct stat st;
	ssize_t n;
	int again;

	ASSERT_EQ(write(fd, "kept", 4), 4);
	ASSERT_OK(unlink(name));
	n = ASSERT_OK(readlink(fd_path(fd), link, sizeof(link) - 1));
	link[n] = 0;
	EXPECT_TRUE(strstr(link, " (deleted)") != NULL);
	again = ASSERT_OK(open(fd_path(fd), O_RDONLY));
	ASSERT_EQ(read(again, buf, sizeof(buf)), 4);
	EXPECT_EQ(strcmp(buf, "kept"), 0);
	ASSERT_OK(fstat(again, &st));
	EXPECT_EQ(st.st_nlink, 0);
}

/* A directory fd's link can be walked through; a socket's cannot be opened. */
CASE(proc_fd_link_walks_into_a_directory_and_refuses_sockets)
{
	int dir = ASSERT_OK(open(h_path(""), O_RDONLY | O_DIRECTORY));
	int sv[2], fd;
	char path[96];

	close(ASSERT_OK(open(h_path("inside"), O_CREAT | O_WRONLY, 0600)));
	snprintf(path, sizeof(path), "/proc/self/fd/%d/inside", dir);
	fd = ASSERT_OK(open(path, O_RDONLY));
	close(fd);
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_ERRNO(open(fd_path(sv[0]), O_RDWR), ENXIO);
}

HARNESS_MAIN
