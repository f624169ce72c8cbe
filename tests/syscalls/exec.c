/*
 * execve and execveat: errors, argv/envp, what survives exec (pid, fds
 * without FD_CLOEXEC, ignored signals, the signal mask, limits) and what
 * does not (handlers, FD_CLOEXEC fds), #! scripts.
 *
 * The exec'd program is this test binary again in helper mode: it checks
 * its state and reports with its exit status (0 = as expected).
 */
#include "harness.h"

#include <limits.h>
#include <sys/resource.h>

extern char **environ;

static char *const empty_env[] = {NULL};

/* Runs PROG(argv, envp) in a child via execve; returns the wait status. */
static int exec_status(const char *path, char *const argv[], char *const envp[])
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(100 + (errno & 0x3f));
	}
	return h_wait(pid);
}

/* Execs "SELF --helper-NAME args..." in a child; returns the wait status. */
static int helper(const char *name, const char *arg)
{
	char mode[64];
	char *argv[] = {(char *)h_self, mode, (char *)arg, NULL};

	snprintf(mode, sizeof(mode), "--helper-%s", name);
	return exec_status(h_self, argv, environ);
}

/* ---- errors ---- */

CASE(execve_missing_enoent)
{
	char *argv[] = {"x", NULL};

	EXPECT_ERRNO(execve(h_path("missing"), argv, empty_env), ENOENT);
	EXPECT_ERRNO(execve("", argv, empty_env), ENOENT);
}

CASE(execve_not_executable_eacces)
{
	char *argv[] = {"x", NULL};

	h_write_file_mode(h_path("f"), "#!/bin/sh\n", 10, 0644);
	EXPECT_ERRNO(execve(h_path("f"), argv, empty_env), EACCES);
}

CASE(execve_directory_eacces)
{
	char *argv[] = {"x", NULL};

	EXPECT_ERRNO(execve(h_tmp(), argv, empty_env), EACCES);
}

CASE(execve_bad_format_enoexec)
{
	char *argv[] = {"x", NULL};

	h_write_file_mode(h_path("f"), "this is not a program\n", 22, 0755);
	EXPECT_ERRNO(execve(h_path("f"), argv, empty_env), ENOEXEC);
}

CASE(execve_truncated_elf_fails)
{
	char *argv[] = {"x", NULL};
	char head[64];
	int fd = ASSERT_OK(open(h_self, O_RDONLY));
	int st;

	/* A valid ELF header with nothing after it cannot be loaded. */
	ASSERT_EQ(read(fd, head, sizeof(head)), sizeof(head));
	h_write_file_mode(h_path("f"), head, sizeof(head), 0755);
	st = exec_status(h_path("f"), argv, empty_env);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) >= 100);
}

CASE(execve_through_file_enotdir)
{
	char *argv[] = {"x", NULL};
	char p[1024];

	h_write_file_mode(h_path("f"), "", 0, 0755);
	snprintf(p, sizeof(p), "%s/x", h_path("f"));
	EXPECT_ERRNO(execve(p, argv, empty_env), ENOTDIR);
}

CASE(execve_bad_pointers_efault)
{
	char *argv[] = {"x", NULL};
	char *bad_argv[] = {"x", BAD_PTR, NULL};

	EXPECT_ERRNO(syscall(SYS_execve, BAD_PTR, argv, empty_env), EFAULT);
	EXPECT_ERRNO(syscall(SYS_execve, h_self, BAD_PTR, empty_env), EFAULT);
	EXPECT_ERRNO(syscall(SYS_execve, h_self, bad_argv, empty_env), EFAULT);
	EXPECT_ERRNO(syscall(SYS_execve, h_self, argv, BAD_PTR), EFAULT);
}

CASE(execve_argument_too_long_e2big)
{
	/* One string longer than MAX_ARG_STRLEN (32 pages). */
	size_t n = 32 * 4096 + 10;
	char *big = malloc(n + 1);
	char *argv[] = {"x", big, NULL};

	memset(big, 'a', n);
	big[n] = 0;
	EXPECT_ERRNO(execve(h_self, argv, empty_env), E2BIG);
}

CASE(execve_failure_keeps_process)
{
	char *argv[] = {"x", NULL};
	int fd = ASSERT_OK(open("/dev/null", O_RDONLY | O_CLOEXEC));

	EXPECT_ERRNO(execve(h_path("missing"), argv, empty_env), ENOENT);
	/* A failed exec changes nothing: close-on-exec fds are still open. */
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

/* ---- what the new program sees ---- */

CASE(execve_passes_argv)
{
	char *argv[] = {(char *)h_self, "--helper-argv", "one", "", "three words", NULL};

	EXPECT_EXITED(exec_status(h_self, argv, empty_env), 0);
}

CASE(execve_passes_envp)
{
	char *argv[] = {(char *)h_self, "--helper-env", NULL};
	char *envp[] = {"SC_A=1", "SC_B=two=2", "SC_EMPTY=", NULL};

	EXPECT_EXITED(exec_status(h_self, argv, envp), 0);
}

CASE(execve_keeps_pid_and_ppid)
{
	int p[2];
	char fdarg[16];
	pid_t pid, got[2] = {0, 0};

	ASSERT_OK(pipe(p));
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *argv[] = {(char *)h_self, "--helper-pids", fdarg, NULL};

		execve(h_self, argv, environ);
		_exit(127);
	}
	close(p[1]);
	EXPECT_EQ(read(p[0], got, sizeof(got)), sizeof(got));
	EXPECT_SAME(got[0], pid);
	EXPECT_SAME(got[1], getpid());
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(execve_exit_status_propagates)
{
	EXPECT_EXITED(helper("exit", "33"), 33);
}

CASE(execve_closes_cloexec_keeps_others)
{
	int keep = ASSERT_OK(open("/dev/null", O_RDONLY));
	int drop = ASSERT_OK(open("/dev/null", O_RDONLY | O_CLOEXEC));
	char arg[32];

	snprintf(arg, sizeof(arg), "%d,%d", keep, drop);
	EXPECT_EXITED(helper("fds", arg), 0);
}

CASE(execve_resets_handlers_keeps_ignored)
{
	pid_t pid;

	signal(SIGUSR1, (void (*)(int))exit);
	signal(SIGUSR2, SIG_IGN);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char *argv[] = {(char *)h_self, "--helper-signals", NULL};

		execve(h_self, argv, environ);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(execve_keeps_signal_mask)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 2);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	EXPECT_EXITED(helper("mask", NULL), 0);
}

CASE(execve_keeps_pending_signal)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	/* Raised in the child: pending signals survive exec, blocked. */
	EXPECT_EXITED(helper("pending", NULL), 0);
}

CASE(execve_keeps_rlimits_and_umask)
{
	struct rlimit rl = {.rlim_cur = 77, .rlim_max = 1024};

	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	umask(0047);
	EXPECT_EXITED(helper("limits", NULL), 0);
}

CASE(execve_keeps_cwd)
{
	char want[PATH_MAX];

	ASSERT_TRUE(realpath(h_tmp(), want) != NULL);
	ASSERT_OK(chdir(h_tmp()));
	EXPECT_EXITED(helper("cwd", want), 0);
}

CASE(execve_resets_altstack)
{
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};

	ASSERT_OK(sigaltstack(&ss, NULL));
	EXPECT_EXITED(helper("altstack", NULL), 0);
}

CASE(execve_via_proc_self_exe)
{
	char *argv[] = {"whatever", "--helper-exit", "5", NULL};

	EXPECT_EXITED(exec_status("/proc/self/exe", argv, environ), 5);
}

CASE(execve_relative_path)
{
	char dir[PATH_MAX];
	char *slash;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s", h_self);
	slash = strrchr(dir, '/');
	ASSERT_TRUE(slash != NULL);
	*slash = 0;
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char rel[PATH_MAX];
		char *argv[] = {rel, "--helper-exit", "6", NULL};

		snprintf(rel, sizeof(rel), "./%s", slash + 1);
		if (chdir(dir) != 0)
			_exit(99);
		execve(rel, argv, environ);
		_exit(98);
	}
	EXPECT_EXITED(h_wait(pid), 6);
}

/* ---- #! scripts ---- */

CASE(execve_script_interpreter_argv)
{
	char script[1200];
	char *argv[] = {"script-argv0", "arg1", NULL};
	int n;

	n = snprintf(script, sizeof(script), "#!%s --helper-shebang\n", h_self);
	h_write_file_mode(h_path("s"), script, n, 0755);
	/* argv becomes: interpreter, its one optional argument, script path, arg1. */
	EXPECT_EXITED(exec_status(h_path("s"), argv, environ), 0);
}

CASE(execve_script_missing_interpreter_enoent)
{
	char *argv[] = {"s", NULL};

	h_write_file_mode(h_path("s"), "#!/nonexistent/interp\n", 22, 0755);
	EXPECT_ERRNO(execve(h_path("s"), argv, empty_env), ENOENT);
}

CASE(execve_script_via_sh)
{
	char *argv[] = {"s", NULL};

	h_write_file_mode(h_path("s"), "#!/bin/sh\nexit 17\n", 18, 0755);
	EXPECT_EXITED(exec_status(h_path("s"), argv, empty_env), 17);
}

/* ---- execveat ---- */

CASE(execveat_empty_path_on_fd)
{
	char *argv[] = {"x", "--helper-exit", "8", NULL};
	int fd = ASSERT_OK(open(h_self, O_RDONLY));
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
		_exit(100 + (errno & 0x3f));
	}
	EXPECT_EXITED(h_wait(pid), 8);
}

CASE(execveat_bad_flags_einval)
{
	char *argv[] = {"x", NULL};

	EXPECT_ERRNO(syscall(SYS_execveat, AT_FDCWD, h_self, argv, empty_env, 0x1), EINVAL);
}

/* ---- helper side ---- */

int h_helper(int argc, char **argv)
{
	const char *mode = argv[1];

	if (strcmp(mode, "--helper-exit") == 0)
		return argc > 2 ? atoi(argv[2]) : 0;
	if (strcmp(mode, "--helper-argv") == 0)
		return !(argc == 5 && strcmp(argv[2], "one") == 0 && strcmp(argv[3], "") == 0 &&
			 strcmp(argv[4], "three words") == 0 && argv[5] == NULL);
	if (strcmp(mode, "--helper-env") == 0) {
		int n = 0;

		for (char **e = environ; *e; e++)
			n++;
		return !(n == 3 && strcmp(environ[0], "SC_A=1") == 0 && strcmp(environ[1], "SC_B=two=2") == 0 &&
			 strcmp(environ[2], "SC_EMPTY=") == 0);
	}
	if (strcmp(mode, "--helper-pids") == 0) {
		pid_t ids[2] = {getpid(), getppid()};

		return write(atoi(argv[2]), ids, sizeof(ids)) == sizeof(ids) ? 0 : 1;
	}
	if (strcmp(mode, "--helper-fds") == 0) {
		int keep, drop;

		if (sscanf(argv[2], "%d,%d", &keep, &drop) != 2)
			return 2;
		if (fcntl(keep, F_GETFD) != 0)
			return 3;
		if (fcntl(drop, F_GETFD) != -1 || errno != EBADF)
			return 4;
		return 0;
	}
	if (strcmp(mode, "--helper-signals") == 0) {
		struct sigaction a, b;

		sigaction(SIGUSR1, NULL, &a);
		sigaction(SIGUSR2, NULL, &b);
		if (a.sa_handler != SIG_DFL)
			return 3;
		if (b.sa_handler != SIG_IGN)
			return 4;
		return 0;
	}
	if (strcmp(mode, "--helper-mask") == 0) {
		sigset_t cur;

		sigprocmask(SIG_SETMASK, NULL, &cur);
		return !(sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGRTMIN + 2) == 1 &&
			 sigismember(&cur, SIGUSR2) == 0);
	}
	if (strcmp(mode, "--helper-pending") == 0) {
		sigset_t pend;

		/* The parent case blocked SIGUSR1; raise it before a second exec. */
		if (argc < 3) {
			char *args[] = {argv[0], "--helper-pending", "again", NULL};

			raise(SIGUSR1);
			execve(h_self, args, environ);
			return 5;
		}
		sigpending(&pend);
		return sigismember(&pend, SIGUSR1) == 1 ? 0 : 3;
	}
	if (strcmp(mode, "--helper-limits") == 0) {
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != 77 || rl.rlim_max != 1024)
			return 3;
		return umask(0) == 0047 ? 0 : 4;
	}
	if (strcmp(mode, "--helper-cwd") == 0) {
		char buf[PATH_MAX];

		return getcwd(buf, sizeof(buf)) && strcmp(buf, argv[2]) == 0 ? 0 : 3;
	}
	if (strcmp(mode, "--helper-altstack") == 0) {
		stack_t ss;

		sigaltstack(NULL, &ss);
		return ss.ss_flags == SS_DISABLE ? 0 : 3;
	}
	if (strncmp(mode, "--helper-shebang", 16) == 0) {
		/* argv: [self, "--helper-shebang", script, "arg1"] */
		if (argc != 4)
			return 3;
		if (strcmp(argv[1], "--helper-shebang") != 0)
			return 4;
		if (strstr(argv[2], "/s") == NULL || argv[2][0] != '/')
			return 5;
		return strcmp(argv[3], "arg1") == 0 ? 0 : 6;
	}
	return 99;
}

HARNESS_MAIN
