/*
 * Resource limits: getrlimit, setrlimit, prlimit64, and their enforcement
 * (RLIMIT_NOFILE on open/dup/pipe, RLIMIT_FSIZE, RLIMIT_AS).
 */
#include "harness.h"

#include <sys/resource.h>

#define NO_SUCH_PID 0x3ffffff0

static void set_nofile(rlim_t cur)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		FAILX("getrlimit: %s", h_errname(errno));
	rl.rlim_cur = cur;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		FAILX("setrlimit: %s", h_errname(errno));
}

/* Closes every fd from 3 up, so the table holds exactly 0, 1 and 2. */
static void close_above_stdio(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

CASE(getrlimit_every_resource)
{
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit rl;

		EXPECT_OK(getrlimit(r, &rl));
		EXPECT_TRUE(rl.rlim_cur <= rl.rlim_max);
	}
}

CASE(getrlimit_errors)
{
	struct rlimit rl;

	EXPECT_ERRNO(getrlimit(RLIM_NLIMITS, &rl), EINVAL);
	EXPECT_ERRNO(getrlimit(1000, &rl), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getrlimit, RLIMIT_NOFILE, BAD_PTR), EFAULT);
}

CASE(setrlimit_lower_soft)
{
	struct rlimit rl, got;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 100;
	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &got));
	EXPECT_EQ(got.rlim_cur, 100);
	EXPECT_EQ(got.rlim_max, rl.rlim_max);
}

CASE(setrlimit_soft_above_hard_einval)
{
	struct rlimit rl = {.rlim_cur = 200, .rlim_max = 100};

	EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &rl), EINVAL);
	EXPECT_ERRNO(setrlimit(RLIM_NLIMITS, &rl), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setrlimit, RLIMIT_NOFILE, BAD_PTR), EFAULT);
}

CASE(setrlimit_nofile_above_nr_open_eperm)
{
	struct rlimit rl = {.rlim_cur = 1u << 30, .rlim_max = 1u << 30};

	/* Above fs.nr_open (1048576 by default) even root is refused. */
	EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
}

static int raise_hard_unprivileged(void)
{
	struct rlimit rl;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 1;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_max = rl.rlim_cur = rl.rlim_max / 2;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	rl.rlim_max++;
	if (setrlimit(RLIMIT_NOFILE, &rl) != -1 || errno != EPERM)
		return 3;
	return 0;
}

CASE(raising_hard_limit_needs_privilege)
{
	EXPECT_EXITED(h_in_child(raise_hard_unprivileged), 0);
}

CASE(lowering_hard_limit_is_allowed)
{
	struct rlimit rl = {.rlim_cur = 50, .rlim_max = 60}, got;

	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &got));
	EXPECT_EQ(got.rlim_cur, 50);
	EXPECT_EQ(got.rlim_max, 60);
}

CASE(nofile_limits_open)
{
	int last = -1, fd;

	close_above_stdio();
	set_nofile(10);
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	EXPECT_EQ(errno, EMFILE);
	EXPECT_EQ(last, 9);
}

CASE(nofile_limits_dup_and_pipe)
{
	int p[2];

	close_above_stdio();
	set_nofile(5);
	ASSERT_EQ(dup(0), 3);
	ASSERT_EQ(dup(0), 4);
	EXPECT_ERRNO(dup(0), EMFILE);
	EXPECT_ERRNO(fcntl(0, F_DUPFD, 0), EMFILE);
	close(4);
	EXPECT_ERRNO(pipe(p), EMFILE);
	EXPECT_EQ(fcntl(4, F_GETFD), -1);
}

CASE(nofile_limits_dup2_target)
{
	close_above_stdio();
	set_nofile(8);
	EXPECT_EQ(dup2(0, 7), 7);
	EXPECT_ERRNO(dup2(0, 8), EBADF);
	EXPECT_ERRNO(dup3(0, 8, 0), EBADF);
	EXPECT_ERRNO(fcntl(0, F_DUPFD, 8), EINVAL);
}

CASE(nofile_lowered_below_open_fds)
{
	/* Existing descriptors above the new limit stay open. */
	close_above_stdio();
	ASSERT_EQ(dup2(0, 20), 20);
	set_nofile(10);
	EXPECT_EQ(fcntl(20, F_GETFD), 0);
	EXPECT_OK(close(20));
}

CASE(prlimit_get_matches_getrlimit)
{
	struct rlimit a, b;

	ASSERT_OK(getrlimit(RLIMIT_STACK, &a));
	ASSERT_OK(prlimit(0, RLIMIT_STACK, NULL, &b));
	EXPECT_EQ(a.rlim_cur, b.rlim_cur);
	EXPECT_EQ(a.rlim_max, b.rlim_max);
	ASSERT_OK(prlimit(getpid(), RLIMIT_STACK, NULL, &b));
	EXPECT_EQ(a.rlim_cur, b.rlim_cur);
}

CASE(prlimit_set_returns_old)
{
	struct rlimit new = {.rlim_cur = 64, .rlim_max = 128}, old, got;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &got));
	ASSERT_OK(prlimit(0, RLIMIT_NOFILE, &new, &old));
	EXPECT_EQ(old.rlim_cur, got.rlim_cur);
	EXPECT_EQ(old.rlim_max, got.rlim_max);
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &got));
	EXPECT_EQ(got.rlim_cur, 64);
	EXPECT_EQ(got.rlim_max, 128);
}

CASE(prlimit_on_child)
{
	struct rlimit new = {.rlim_cur = 33, .rlim_max = 44}, got = {0, 0};
	int go[2], res[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(go));
	ASSERT_OK(pipe(res));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct rlimit mine;

		read(go[0], &c, 1);
		getrlimit(RLIMIT_NOFILE, &mine);
		_exit(mine.rlim_cur == 33 && mine.rlim_max == 44 ? 0 : 1);
	}
	EXPECT_OK(prlimit(pid, RLIMIT_NOFILE, &new, NULL));
	EXPECT_OK(prlimit(pid, RLIMIT_NOFILE, NULL, &got));
	EXPECT_EQ(got.rlim_cur, 33);
	write(go[1], "g", 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(prlimit_errors)
{
	struct rlimit rl;
	struct rlimit bad = {.rlim_cur = 10, .rlim_max = 5};

	EXPECT_ERRNO(prlimit(NO_SUCH_PID, RLIMIT_NOFILE, NULL, &rl), ESRCH);
	EXPECT_ERRNO(prlimit(0, 1000, NULL, &rl), EINVAL);
	EXPECT_ERRNO(prlimit(0, RLIMIT_NOFILE, &bad, NULL), EINVAL);
}

CASE(rlimits_inherited_by_fork)
{
	struct rlimit rl = {.rlim_cur = 42, .rlim_max = 420};
	pid_t pid;

	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct rlimit got;

		getrlimit(RLIMIT_NOFILE, &got);
		_exit(got.rlim_cur == 42 && got.rlim_max == 420 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(fsize_limit_truncates_and_efbig)
{
	struct rlimit rl = {.rlim_cur = 1000, .rlim_max = RLIM_INFINITY};
	static char buf[2000];
	int fd;

	signal(SIGXFSZ, SIG_IGN);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));
	ASSERT_OK(setrlimit(RLIMIT_FSIZE, &rl));
	EXPECT_EQ(write(fd, buf, sizeof(buf)), 1000);
	EXPECT_ERRNO(write(fd, buf, 1), EFBIG);
	EXPECT_ERRNO(pwrite(fd, buf, 1, 5000), EFBIG);
}

static int fsize_signal(void)
{
	struct rlimit rl = {.rlim_cur = 10, .rlim_max = RLIM_INFINITY};
	int fd = open(h_path("f"), O_WRONLY | O_CREAT, 0600);

	setrlimit(RLIMIT_FSIZE, &rl);
	write(fd, "0123456789", 10);
	write(fd, "x", 1);
	return 0;
}

CASE(fsize_limit_raises_sigxfsz)
{
	EXPECT_SIGNALED(h_in_child(fsize_signal), SIGXFSZ);
}

CASE(as_limit_refuses_large_mmap)
{
	struct rlimit rl = {.rlim_cur = 256 << 20, .rlim_max = RLIM_INFINITY};
	void *p;

	ASSERT_OK(setrlimit(RLIMIT_AS, &rl));
	p = mmap(NULL, 512 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_TRUE(p == MAP_FAILED);
	EXPECT_EQ(errno, ENOMEM);
	p = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_TRUE(p != MAP_FAILED);
}

CASE(core_limit_can_be_zeroed)
{
	struct rlimit rl = {0, 0}, got;

	EXPECT_OK(setrlimit(RLIMIT_CORE, &rl));
	ASSERT_OK(getrlimit(RLIMIT_CORE, &got));
	EXPECT_EQ(got.rlim_cur, 0);
	EXPECT_EQ(got.rlim_max, 0);
}

CASE(stack_limit_is_set)
{
	struct rlimit rl;

	ASSERT_OK(getrlimit(RLIMIT_STACK, &rl));
	EXPECT_GT(rl.rlim_cur, 0);
}

HARNESS_MAIN
