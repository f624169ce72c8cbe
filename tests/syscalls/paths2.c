/*
 * More of the path features: openat2 corner cases (struct sizes, O_PATH
 * flags, scoped lookups through "..", magic links), chroot with symlinks
 * and fchdir, RLIMIT_FSIZE on the other write paths, RENAME_EXCHANGE of
 * directories, O_TMPFILE details, fchmodat2 and futimesat.
 */
#include "harness.h"

#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>

static int oa2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int open_dir(const char *rel)
{
	return ASSERT_OK(open(h_path(rel), O_RDONLY | O_DIRECTORY));
}

static ino_t ino_of_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		FAILX("fstat: %s", h_errname(errno));
	return st.st_ino;
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		FAILX("lstat %s: %s", path, h_errname(errno));
	return st.st_ino;
}

static void set_fsize(rlim_t cur)
{
	struct rlimit rl = {.rlim_cur = cur, .rlim_max = RLIM_INFINITY};

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		FAILX("setrlimit: %s", h_errname(errno));
}

/* ---- openat2 ---- */

CASE(openat2_size_ver0_accepted)
{
	struct open_how how = {.flags = O_RDONLY};

	h_write_file(h_path("f"), "x", 1);
	EXPECT_OK(syscall(SYS_openat2, AT_FDCWD, h_path("f"), &how, 24));
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, h_path("f"), &how, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, h_path("f"), &how, 23), EINVAL);
}

CASE(openat2_size_above_page_e2big)
{
	static char big[8192];

	h_write_file(h_path("f"), "x", 1);
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, h_path("f"), big, 4097), E2BIG);
	EXPECT_OK(syscall(SYS_openat2, AT_FDCWD, h_path("f"), big, 4096));
}

CASE(openat2_o_path_with_other_flags_einval)
{
	h_write_file(h_path("f"), "x", 1);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_path("f"), O_PATH | O_RDWR, 0, 0), EINVAL);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_path("f"), O_PATH | O_APPEND, 0, 0), EINVAL);
	EXPECT_OK(oa2(AT_FDCWD, h_path("f"), O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, 0));
	/* open(2) drops the same flags silently */
	EXPECT_OK(open(h_path("f"), O_PATH | O_APPEND));
}

CASE(openat2_creat_keeps_special_bits)
{
	struct stat st;

	umask(0);
	ASSERT_OK(oa2(AT_FDCWD, h_path("s"), O_CREAT | O_WRONLY, 04755, 0));
	ASSERT_OK(stat(h_path("s"), &st));
	EXPECT_EQ(st.st_mode & 07777, 04755);
}

CASE(openat2_tmpfile_takes_mode)
{
	int fd = ASSERT_OK(oa2(AT_FDCWD, h_tmp(), O_TMPFILE | O_RDWR, 0600, 0));
	struct stat st;

	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_tmp(), O_TMPFILE | O_RDWR, 0100600, 0), EINVAL);
}

CASE(openat2_cached_trunc_and_tmpfile_eagain)
{
	h_write_file(h_path("f"), "x", 1);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_path("f"), O_WRONLY | O_TRUNC, 0, RESOLVE_CACHED), EAGAIN);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_tmp(), O_TMPFILE | O_RDWR, 0600, RESOLVE_CACHED), EAGAIN);
}

CASE(openat2_beneath_dot_and_dotdot_inside)
{
	int d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(mkdir(h_path("d/sub"), 0755));
	d = open_dir("d");
	EXPECT_SAME(ino_of_fd(ASSERT_OK(oa2(d, ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH))), ino_of_fd(d));
	EXPECT_SAME(ino_of_fd(ASSERT_OK(oa2(d, "sub/..", O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH))),
		    ino_of_fd(d));
	EXPECT_ERRNO(oa2(d, "sub/../..", O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH), EXDEV);
}

CASE(openat2_beneath_absolute_symlink_chain_exdev)
{
	int d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x", 1);
	ASSERT_OK(symlink("f", h_path("d/one")));
	ASSERT_OK(symlink(h_path("d/f"), h_path("d/two")));
	d = open_dir("d");
	EXPECT_OK(oa2(d, "one", O_RDONLY, 0, RESOLVE_BENEATH));
	/* even an absolute link that lands inside is refused */
	EXPECT_ERRNO(oa2(d, "two", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
}

CASE(openat2_in_root_dotdot_stays_at_scope)
{
	int d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	d = open_dir("d");
	EXPECT_SAME(ino_of_fd(ASSERT_OK(oa2(d, "../../../..", O_RDONLY | O_DIRECTORY, 0, RESOLVE_IN_ROOT))),
		    ino_of_fd(d));
	EXPECT_SAME(ino_of_fd(ASSERT_OK(oa2(d, "/", O_RDONLY | O_DIRECTORY, 0, RESOLVE_IN_ROOT))), ino_of_fd(d));
}

CASE(openat2_in_root_creates_inside)
{
	int d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	d = open_dir("d");
	ASSERT_OK(oa2(d, "/../new", O_CREAT | O_WRONLY, 0600, RESOLVE_IN_ROOT));
	EXPECT_OK(access(h_path("d/new"), F_OK));
	EXPECT_ERRNO(access(h_path("new"), F_OK), ENOENT);
}

CASE(openat2_scoped_magic_link_exdev)
{
	char name[16];
	int fd, fds;

	h_write_file(h_path("f"), "x", 1);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	fds = ASSERT_OK(open("/proc/self/fd", O_RDONLY | O_DIRECTORY));
	snprintf(name, sizeof(name), "%d", fd);
	EXPECT_ERRNO(oa2(fds, name, O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(oa2(fds, name, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
	EXPECT_OK(oa2(fds, name, O_RDONLY, 0, 0));
}

CASE(openat2_no_magiclinks_allows_proc_self)
{
	/* /proc/self is an ordinary symlink, not a magic link */
	EXPECT_OK(oa2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
}

CASE(openat2_no_xdev_within_one_mount)
{
	int d;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x", 1);
	d = open_dir("d");
	EXPECT_OK(oa2(d, "f", O_RDONLY, 0, RESOLVE_NO_XDEV));
	EXPECT_OK(oa2(d, "../d/f", O_RDONLY, 0, RESOLVE_NO_XDEV));
}

CASE(openat2_no_symlinks_nofollow_open_eloop)
{
	h_write_file(h_path("f"), "x", 1);
	ASSERT_OK(symlink("f", h_path("l")));
	EXPECT_ERRNO(oa2(AT_FDCWD, h_path("l"), O_RDONLY | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	EXPECT_ERRNO(oa2(AT_FDCWD, h_path("l"), O_WRONLY | O_CREAT, 0600, RESOLVE_NO_SYMLINKS), ELOOP);
}

/* ---- chroot ---- */

static void jail(void)
{
	ASSERT_OK(mkdir(h_path("jail"), 0755));
	ASSERT_OK(mkdir(h_path("jail/sub"), 0755));
	h_write_file(h_path("jail/inside"), "in", 2);
}

CASE(chroot_absolute_symlink_resolves_in_root)
{
	char buf[8];

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(symlink("/inside", h_path("jail/sub/l")));
	ASSERT_OK(chroot(h_path("jail")));
	EXPECT_EQ(h_read_file("/sub/l", buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "in");
}

CASE(chroot_getcwd_at_new_root_is_slash)
{
	char buf[64];

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chdir("/"));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	EXPECT_STREQ(buf, "/");
	EXPECT_SAME(ino_of("/.."), ino_of("/"));
}

CASE(chroot_fchdir_outside_is_unreachable)
{
	char big[1024];
	int out;

	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	out = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chdir("/"));
	ASSERT_OK(fchdir(out));
	ASSERT_GT(syscall(SYS_getcwd, big, sizeof(big)), 0);
	EXPECT_EQ(strncmp(big, "(unreachable)/", 14), 0);
	EXPECT_OK(access("jail/inside", F_OK));
}

CASE(chroot_twice_nests)
{
	if (geteuid() != 0)
		SKIP("needs CAP_SYS_CHROOT");
	jail();
	h_write_file(h_path("jail/sub/deep"), "d", 1);
	ASSERT_OK(chroot(h_path("jail")));
	ASSERT_OK(chroot("/sub"));
	EXPECT_OK(access("/deep", F_OK));
	EXPECT_ERRNO(access("/inside", F_OK), ENOENT);
}

/* ---- RLIMIT_FSIZE ---- */

CASE(fsize_writev_stops_at_limit)
{
	static char a[600], b[600];
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));

	set_fsize(1000);
	EXPECT_EQ(writev(fd, iov, 2), 1000);
	EXPECT_ERRNO(writev(fd, iov, 2), EFBIG);
}

CASE(fsize_pwrite_partial_at_the_edge)
{
	static char buf[200];
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT, 0600));

	set_fsize(1000);
	EXPECT_EQ(pwrite(fd, buf, sizeof(buf), 900), 100);
	EXPECT_ERRNO(pwrite(fd, buf, 1, 1000), EFBIG);
	EXPECT_EQ(pwrite(fd, buf, 0, 5000), 0);
}

CASE(fsize_ftruncate_grow_efbig_shrink_ok)
{
	int fd = ASSERT_OK(open(h_path("f"), O_RDWR | O_CREAT, 0600));
	struct stat st;

	ASSERT_OK(ftruncate(fd, 4000));
	set_fsize(1000);
	EXPECT_OK(ftruncate(fd, 3000));
	EXPECT_ERRNO(ftruncate(fd, 5000), EFBIG);
	EXPECT_ERRNO(truncate(h_path("f"), 5000), EFBIG);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 3000);
}

CASE(fsize_append_at_limit_efbig)
{
	int fd;

	h_write_file(h_path("f"), "0123456789", 10);
	fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_APPEND));
	set_fsize(10);
	EXPECT_ERRNO(write(fd, "x", 1), EFBIG);
}

CASE(fsize_does_not_limit_pipes)
{
	static char buf[4096];
	int p[2];

	ASSERT_OK(pipe(p));
	set_fsize(10);
	EXPECT_EQ(write(p[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

static int fsize_truncate_signal(void)
{
	int fd = open(h_path("f"), O_RDWR | O_CREAT, 0600);
	struct rlimit rl = {.rlim_cur = 10, .rlim_max = RLIM_INFINITY};

	setrlimit(RLIMIT_FSIZE, &rl);
	ftruncate(fd, 100);
	return 0;
}

CASE(fsize_truncate_raises_sigxfsz)
{
	EXPECT_SIGNALED(h_in_child(fsize_truncate_signal), SIGXFSZ);
}

/* ---- RENAME_EXCHANGE ---- */

CASE(exchange_directory_and_file_across_directories)
{
	struct stat st;

	ASSERT_OK(mkdir(h_path("p"), 0755));
	ASSERT_OK(mkdir(h_path("q"), 0755));
	ASSERT_OK(mkdir(h_path("p/dir"), 0755));
	h_write_file(h_path("q/file"), "x", 1);
	ASSERT_OK(renameat2(AT_FDCWD, h_path("p/dir"), AT_FDCWD, h_path("q/file"), RENAME_EXCHANGE));
	ASSERT_OK(lstat(h_path("q/file"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_OK(lstat(h_path("p/dir"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	/* the moved directory's ".." is its new parent, whose link count grew */
	EXPECT_SAME(ino_of(h_path("q/file/..")), ino_of(h_path("q")));
	ASSERT_OK(lstat(h_path("q"), &st));
	EXPECT_EQ(st.st_nlink, 3);
	ASSERT_OK(lstat(h_path("p"), &st));
	EXPECT_EQ(st.st_nlink, 2);
}

CASE(exchange_same_entry_is_noop)
{
	h_write_file(h_path("a"), "A", 1);
	EXPECT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("a"), RENAME_EXCHANGE));
	EXPECT_OK(access(h_path("a"), F_OK));
}

CASE(exchange_into_own_subtree_einval)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(mkdir(h_path("d/sub"), 0755));
	h_write_file(h_path("d/sub/f"), "x", 1);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("d"), AT_FDCWD, h_path("d/sub/f"), RENAME_EXCHANGE), EINVAL);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("d/sub/f"), AT_FDCWD, h_path("d"), RENAME_EXCHANGE), EINVAL);
}

CASE(exchange_missing_source_enoent_and_flags)
{
	h_write_file(h_path("b"), "B", 1);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("none"), AT_FDCWD, h_path("b"), RENAME_EXCHANGE), ENOENT);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("b"), AT_FDCWD, h_path("b"), RENAME_EXCHANGE | RENAME_WHITEOUT),
		     EINVAL);
}

CASE(exchange_keeps_open_files)
{
	char buf[4];
	int fd;

	h_write_file(h_path("a"), "A", 1);
	h_write_file(h_path("b"), "B", 1);
	fd = ASSERT_OK(open(h_path("a"), O_RDONLY));
	ASSERT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"), RENAME_EXCHANGE));
	EXPECT_EQ(read(fd, buf, 1), 1);
	EXPECT_EQ(buf[0], 'A');
	EXPECT_SAME(ino_of_fd(fd), ino_of(h_path("b")));
}

/* ---- O_TMPFILE ---- */

CASE(tmpfile_proc_fd_link_says_deleted)
{
	char link[64], target[1024];
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR, 0600));
	ssize_t n;
	size_t dirlen = strlen(h_tmp());

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = ASSERT_OK(readlink(link, target, sizeof(target) - 1));
	target[n] = 0;
	EXPECT_EQ(strncmp(target, h_tmp(), dirlen), 0);
	EXPECT_EQ(strncmp(target + dirlen, "/#", 2), 0);
	EXPECT_TRUE(n > 10 && strcmp(target + n - 10, " (deleted)") == 0);
}

CASE(tmpfile_unlinked_name_links_again_enoent)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_WRONLY, 0600));
	struct stat st;

	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("a"), AT_EMPTY_PATH));
	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("b"), AT_EMPTY_PATH));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_nlink, 2);
	ASSERT_OK(unlink(h_path("a")));
	ASSERT_OK(unlink(h_path("b")));
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("c"), AT_EMPTY_PATH), ENOENT);
}

CASE(tmpfile_excl_still_usable)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR | O_EXCL, 0600));
	char buf[4];

	EXPECT_EQ(write(fd, "abc", 3), 3);
	EXPECT_EQ(pread(fd, buf, 3, 0), 3);
	EXPECT_MEMEQ(buf, "abc", 3);
}

CASE(tmpfile_in_subdirectory_and_missing_parent)
{
	int fd;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	fd = ASSERT_OK(open(h_path("d"), O_TMPFILE | O_RDWR, 0600));
	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("d/named"), AT_EMPTY_PATH));
	EXPECT_OK(access(h_path("d/named"), F_OK));
	EXPECT_ERRNO(open(h_path("none/d"), O_TMPFILE | O_RDWR, 0600), ENOENT);
}

/* ---- fchmodat2, futimesat ---- */

CASE(fchmodat2_follows_without_flag)
{
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(syscall(452, AT_FDCWD, h_path("l"), 0640, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 0640);
	EXPECT_ERRNO(syscall(452, AT_FDCWD, h_path("missing"), 0640, 0), ENOENT);
	EXPECT_ERRNO(syscall(452, AT_FDCWD, BAD_PTR, 0640, 0), EFAULT);
}

CASE(fchmodat2_empty_path_changes_the_fd)
{
	struct stat st;
	int fd;

	h_write_file(h_path("f"), "", 0);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(syscall(452, fd, "", 0604, AT_EMPTY_PATH));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 0604);
	EXPECT_ERRNO(syscall(452, fd, "", 0600, 0), ENOENT);
}

CASE(futimesat_null_is_now_and_errors)
{
	struct timeval bad[2] = {{0, 1000000}, {0, 0}};
	struct stat st;
	time_t before = time(NULL);

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(syscall(SYS_futimesat, AT_FDCWD, h_path("f"), NULL));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_TRUE(st.st_mtime >= before - 1);
	EXPECT_ERRNO(syscall(SYS_futimesat, AT_FDCWD, h_path("f"), bad), EINVAL);
	EXPECT_ERRNO(syscall(SYS_futimesat, AT_FDCWD, h_path("f"), BAD_PTR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_futimesat, 999, "f", NULL), EBADF);
}

CASE(futimesat_absolute_path_ignores_dirfd)
{
	struct timeval tv[2] = {{100, 0}, {200, 0}};
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(syscall(SYS_futimesat, 999, h_path("f"), tv));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mtime, 200);
	EXPECT_EQ(st.st_atime, 100);
}

HARNESS_MAIN
