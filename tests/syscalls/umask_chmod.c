/*
 * File modes: umask(2) and how creation calls apply it; chmod, fchmod,
 * fchmodat, fchmodat2; special bits, ownership rules, errors.
 */
#include "harness.h"

#define NOBODY 65534

static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

CASE(umask_returns_previous_and_keeps_low_bits)
{
	EXPECT_EQ(umask(027), 022);
	EXPECT_EQ(umask(0), 027);
	EXPECT_EQ(syscall(SYS_umask, 0177777), 0);
	EXPECT_EQ(umask(022), 0777);
}

CASE(umask_applies_to_open_mkdir_mknod_mkfifo)
{
	umask(077);
	ASSERT_OK(open(h_path("f"), O_CREAT | O_WRONLY, 0666));
	ASSERT_OK(mkdir(h_path("d"), 0777));
	ASSERT_OK(mknod(h_path("n"), S_IFREG | 0666, 0));
	ASSERT_OK(mkfifo(h_path("p"), 0666));
	EXPECT_EQ(mode_of(h_path("f")), 0600);
	EXPECT_EQ(mode_of(h_path("d")), 0700);
	EXPECT_EQ(mode_of(h_path("n")), 0600);
	EXPECT_EQ(mode_of(h_path("p")), 0600);
}

CASE(umask_does_not_apply_to_symlinks_or_chmod)
{
	h_tmp(); /* created before the umask would make it unusable */
	umask(0777);
	ASSERT_OK(symlink("target", h_path("l")));
	EXPECT_EQ(mode_of(h_path("l")), 0777);
	ASSERT_OK(open(h_path("f"), O_CREAT | O_WRONLY, 0666));
	EXPECT_EQ(mode_of(h_path("f")), 0);
	ASSERT_OK(chmod(h_path("f"), 0666));
	EXPECT_EQ(mode_of(h_path("f")), 0666);
}

CASE(umask_inherited_by_fork)
{
	pid_t pid;

	umask(0033);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(umask(0) == 0033 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(chmod_special_bits_roundtrip)
{
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(chmod(h_path("f"), 07755));
	EXPECT_EQ(mode_of(h_path("f")), 07755);
	ASSERT_OK(chmod(h_path("f"), 0));
	EXPECT_EQ(mode_of(h_path("f")), 0);
	/* file type bits in the argument are ignored */
	ASSERT_OK(chmod(h_path("f"), S_IFDIR | 0640));
	EXPECT_EQ(mode_of(h_path("f")), 0640);
}

CASE(chmod_follows_symlinks)
{
	h_write_file_mode(h_path("f"), "", 0, 0600);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(chmod(h_path("l"), 0644));
	EXPECT_EQ(mode_of(h_path("f")), 0644);
	EXPECT_EQ(mode_of(h_path("l")), 0777);
}

CASE(fchmod_and_fchmodat)
{
	int fd, dir;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(fchmod(fd, 0604));
	EXPECT_EQ(mode_of(h_path("f")), 0604);
	ASSERT_OK(syscall(SYS_fchmodat, dir, "f", 0611));
	EXPECT_EQ(mode_of(h_path("f")), 0611);
}

CASE(chmod_errors)
{
	int p[2], opath;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(pipe(p));
	opath = ASSERT_OK(open(h_path("f"), O_PATH));
	EXPECT_ERRNO(chmod(h_path("missing"), 0644), ENOENT);
	EXPECT_ERRNO(chmod(h_path("f/x"), 0644), ENOTDIR);
	EXPECT_ERRNO(chmod(BAD_PTR, 0644), EFAULT);
	EXPECT_ERRNO(chmod("", 0644), ENOENT);
	EXPECT_ERRNO(fchmod(999, 0644), EBADF);
	EXPECT_ERRNO(fchmod(opath, 0644), EBADF);
	EXPECT_ERRNO(syscall(SYS_fchmodat, 999, "f", 0644), EBADF);
}

CASE(fchmodat2_symlink_nofollow_eopnotsupp)
{
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(symlink("f", h_path("l")));
	EXPECT_ERRNO(syscall(452 /* fchmodat2 */, AT_FDCWD, h_path("l"), 0600, AT_SYMLINK_NOFOLLOW),
		     EOPNOTSUPP);
	EXPECT_OK(syscall(452, AT_FDCWD, h_path("f"), 0600, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ(mode_of(h_path("f")), 0600);
	EXPECT_ERRNO(syscall(452, AT_FDCWD, h_path("f"), 0600, OPAQUE(1)), EINVAL);
}

CASE(chmod_unprivileged_non_owner_eperm)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("f"), "", 0, 0666);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(chmod(h_path("f"), 0600) == -1 && errno == EPERM ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(mode_of(h_path("f")), 0666);
}

CASE(chmod_owner_not_in_group_clears_setgid)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("f"), "", 0, 0644);
	/* owned by nobody, group 0 of which nobody is not a member */
	ASSERT_OK(chown(h_path("f"), NOBODY, 0));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(chmod(h_path("f"), 02755) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(mode_of(h_path("f")), 0755);
}

CASE(write_by_non_owner_clears_setuid)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file_mode(h_path("f"), "", 0, 0666);
	ASSERT_OK(chmod(h_path("f"), 04777));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int fd;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		fd = open(h_path("f"), O_WRONLY);
		_exit(fd >= 0 && write(fd, "x", 1) == 1 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(mode_of(h_path("f")), 0777);
}

CASE(chmod_updates_ctime)
{
	struct stat a, b;
	struct timespec nap = {0, 20000000};

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(stat(h_path("f"), &a));
	nanosleep(&nap, NULL);
	ASSERT_OK(chmod(h_path("f"), 0600));
	ASSERT_OK(stat(h_path("f"), &b));
	EXPECT_TRUE(b.st_ctim.tv_sec > a.st_ctim.tv_sec ||
		    (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec > a.st_ctim.tv_nsec));
	EXPECT_EQ(b.st_mtim.tv_sec, a.st_mtim.tv_sec);
	EXPECT_EQ(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
}

HARNESS_MAIN
