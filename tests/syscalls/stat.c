/*
 * File status: stat, lstat, fstat, newfstatat, statx, and the attribute
 * changes they report (size, links, times, modes).
 */
#include "harness.h"

#include <sys/sysmacros.h>

static const char *mkfile(const char *name, const char *content)
{
	const char *p = h_path(name);

	h_write_file(p, content, strlen(content));
	return p;
}

/* The raw system calls, bypassing glibc's choice of stat variant. */
static long sys_stat(const char *p, void *st)
{
	return syscall(SYS_stat, p, st);
}

static long sys_lstat(const char *p, void *st)
{
	return syscall(SYS_lstat, p, st);
}

static long sys_fstat(int fd, void *st)
{
	return syscall(SYS_fstat, fd, st);
}

static long sys_fstatat(int dfd, const char *p, void *st, int flags)
{
	return syscall(SYS_newfstatat, dfd, p, st, flags);
}

CASE(stat_regular_file)
{
	const char *p = mkfile("f", "hello");
	struct stat st;

	ASSERT_OK(sys_stat(p, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0644);
	EXPECT_EQ(st.st_size, 5);
	EXPECT_EQ(st.st_nlink, 1);
	EXPECT_EQ(st.st_uid, geteuid());
	EXPECT_GT(st.st_blksize, 0);
	EXPECT_NE(st.st_ino, 0);
}

CASE(stat_directory)
{
	struct stat st;

	ASSERT_OK(sys_stat(h_tmp(), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0700);
	EXPECT_GE(st.st_nlink, 1);
}

CASE(stat_missing_enoent)
{
	struct stat st;

	EXPECT_ERRNO(sys_stat(h_path("missing"), &st), ENOENT);
	EXPECT_ERRNO(sys_lstat(h_path("missing"), &st), ENOENT);
	EXPECT_ERRNO(sys_stat("", &st), ENOENT);
}

CASE(stat_bad_path_efault)
{
	struct stat st;

	EXPECT_ERRNO(sys_stat(BAD_PTR, &st), EFAULT);
	EXPECT_ERRNO(sys_lstat(BAD_PTR, &st), EFAULT);
}

CASE(stat_bad_buffer_efault)
{
	const char *p = mkfile("f", "x");
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_ERRNO(sys_stat(p, BAD_PTR), EFAULT);
	EXPECT_ERRNO(sys_fstat(fd, BAD_PTR), EFAULT);
	EXPECT_ERRNO(sys_fstatat(AT_FDCWD, p, BAD_PTR, 0), EFAULT);
}

CASE(stat_through_file_enotdir)
{
	const char *p = mkfile("f", "x");
	char sub[1024];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/", p);
	EXPECT_ERRNO(sys_stat(sub, &st), ENOTDIR);
	snprintf(sub, sizeof(sub), "%s/x", p);
	EXPECT_ERRNO(sys_stat(sub, &st), ENOTDIR);
}

CASE(fstat_matches_stat)
{
	const char *p = mkfile("f", "abc");
	struct stat a, b;
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(sys_stat(p, &a));
	ASSERT_OK(sys_fstat(fd, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
	EXPECT_EQ(a.st_mode, b.st_mode);
	EXPECT_EQ(a.st_size, b.st_size);
}

CASE(fstat_bad_fd_ebadf)
{
	struct stat st;

	EXPECT_ERRNO(sys_fstat(-1, &st), EBADF);
	EXPECT_ERRNO(sys_fstat(1000, &st), EBADF);
}

CASE(fstat_sees_unlinked_file)
{
	const char *p = mkfile("f", "abc");
	struct stat st;
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(unlink(p));
	ASSERT_OK(sys_fstat(fd, &st));
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(st.st_size, 3);
}

CASE(fstat_pipe_is_fifo)
{
	int p[2];
	struct stat st;

	ASSERT_OK(pipe(p));
	ASSERT_OK(sys_fstat(p[0], &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

CASE(distinct_files_distinct_inodes)
{
	struct stat a, b;

	ASSERT_OK(sys_stat(mkfile("a", "1"), &a));
	ASSERT_OK(sys_stat(mkfile("b", "2"), &b));
	EXPECT_NE(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
}

CASE(stat_size_follows_writes)
{
	const char *p = mkfile("f", "");
	struct stat st;
	int fd = ASSERT_OK(open(p, O_WRONLY));

	ASSERT_EQ(write(fd, "12345678", 8), 8);
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_size, 8);
	ASSERT_EQ(pwrite(fd, "x", 1, 99), 1);
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_size, 100);
}

CASE(lstat_reports_symlink_itself)
{
	const char *p = mkfile("f", "hello");
	struct stat st;

	ASSERT_OK(symlink(p, h_path("l")));
	ASSERT_OK(sys_lstat(h_path("l"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_EQ(st.st_size, strlen(p));
	ASSERT_OK(sys_stat(h_path("l"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_size, 5);
}

CASE(lstat_on_regular_file_same_as_stat)
{
	const char *p = mkfile("f", "hello");
	struct stat a, b;

	ASSERT_OK(sys_stat(p, &a));
	ASSERT_OK(sys_lstat(p, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_mode, b.st_mode);
}

CASE(stat_dangling_symlink_enoent)
{
	struct stat st;

	ASSERT_OK(symlink(h_path("nowhere"), h_path("l")));
	EXPECT_ERRNO(sys_stat(h_path("l"), &st), ENOENT);
	EXPECT_OK(sys_lstat(h_path("l"), &st));
}

CASE(fstatat_relative_to_dirfd)
{
	struct stat st;
	int dfd;

	mkfile("f", "abcd");
	dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(sys_fstatat(dfd, "f", &st, 0));
	EXPECT_EQ(st.st_size, 4);
	EXPECT_ERRNO(sys_fstatat(dfd, "missing", &st, 0), ENOENT);
	EXPECT_ERRNO(sys_fstatat(1000, "f", &st, 0), EBADF);
}

CASE(fstatat_empty_path)
{
	const char *p = mkfile("f", "abcd");
	struct stat st;
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(sys_fstatat(fd, "", &st, AT_EMPTY_PATH));
	EXPECT_EQ(st.st_size, 4);
	EXPECT_ERRNO(sys_fstatat(fd, "", &st, 0), ENOENT);
}

CASE(fstatat_empty_path_on_cwd)
{
	struct stat a, b;

	ASSERT_OK(chdir(h_tmp()));
	ASSERT_OK(sys_fstatat(AT_FDCWD, "", &a, AT_EMPTY_PATH));
	ASSERT_OK(sys_stat(h_tmp(), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

CASE(fstatat_symlink_nofollow)
{
	struct stat st;

	ASSERT_OK(symlink("target-does-not-exist", h_path("l")));
	ASSERT_OK(sys_fstatat(AT_FDCWD, h_path("l"), &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_EQ(st.st_size, strlen("target-does-not-exist"));
}

CASE(fstatat_bad_flags_einval)
{
	const char *p = mkfile("f", "x");
	struct stat st;

	EXPECT_ERRNO(sys_fstatat(AT_FDCWD, p, &st, 0x1), EINVAL);
	EXPECT_ERRNO(sys_fstatat(AT_FDCWD, p, &st, AT_REMOVEDIR), EINVAL);
}

CASE(stat_dot_and_dotdot)
{
	struct stat dot, tmp, dotdot, parent;
	char buf[1024];

	ASSERT_OK(chdir(h_tmp()));
	ASSERT_OK(sys_stat(".", &dot));
	ASSERT_OK(sys_stat(h_tmp(), &tmp));
	EXPECT_EQ(dot.st_ino, tmp.st_ino);
	ASSERT_OK(sys_stat("..", &dotdot));
	snprintf(buf, sizeof(buf), "%s/..", h_tmp());
	ASSERT_OK(sys_stat(buf, &parent));
	EXPECT_EQ(dotdot.st_ino, parent.st_ino);
	EXPECT_NE(dotdot.st_ino, dot.st_ino);
}

CASE(stat_root_dotdot_is_root)
{
	struct stat a, b;

	ASSERT_OK(sys_stat("/", &a));
	ASSERT_OK(sys_stat("/..", &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
}

CASE(stat_dev_null_char_device)
{
	struct stat st;

	ASSERT_OK(sys_stat("/dev/null", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 1);
	EXPECT_EQ(minor(st.st_rdev), 3);
}

/* ---- statx ---- */

CASE(statx_basic_fields)
{
	const char *p = mkfile("f", "hello");
	struct statx sx;
	struct stat st;

	ASSERT_OK(statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &sx));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(sx.stx_mask & (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO | STATX_NLINK),
		  STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO | STATX_NLINK);
	EXPECT_EQ(sx.stx_size, 5);
	EXPECT_EQ(sx.stx_mode, st.st_mode);
	EXPECT_EQ(sx.stx_ino, st.st_ino);
	EXPECT_EQ(sx.stx_nlink, 1);
	EXPECT_EQ(sx.stx_uid, st.st_uid);
	EXPECT_EQ(sx.stx_dev_major, major(st.st_dev));
	EXPECT_EQ(sx.stx_dev_minor, minor(st.st_dev));
	EXPECT_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
}

CASE(statx_empty_path_and_nofollow)
{
	const char *p = mkfile("f", "hello");
	struct statx sx;
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
	EXPECT_EQ(sx.stx_size, 5);
	ASSERT_OK(symlink(p, h_path("l")));
	ASSERT_OK(statx(AT_FDCWD, h_path("l"), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx));
	EXPECT_TRUE(S_ISLNK(sx.stx_mode));
	ASSERT_OK(statx(AT_FDCWD, h_path("l"), 0, STATX_TYPE, &sx));
	EXPECT_TRUE(S_ISREG(sx.stx_mode));
}

CASE(statx_errors)
{
	const char *p = mkfile("f", "hello");
	struct statx sx;

	EXPECT_ERRNO(statx(AT_FDCWD, p, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx),
		     EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, p, 0, STATX__RESERVED, &sx), EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, p, 0x1, STATX_BASIC_STATS, &sx), EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, h_path("missing"), 0, STATX_BASIC_STATS, &sx), ENOENT);
	EXPECT_ERRNO(statx(1000, "f", 0, STATX_BASIC_STATS, &sx), EBADF);
	EXPECT_ERRNO(syscall(SYS_statx, AT_FDCWD, p, 0, STATX_BASIC_STATS, BAD_PTR), EFAULT);
}

/* ---- link counts and times ---- */

CASE(nlink_counts_hard_links)
{
	const char *p = mkfile("f", "x");
	struct stat st;

	ASSERT_OK(link(p, h_path("g")));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_nlink, 2);
	ASSERT_OK(unlink(h_path("g")));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_nlink, 1);
}

CASE(utimensat_sets_times)
{
	const char *p = mkfile("f", "x");
	struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
	struct stat st;

	ASSERT_OK(utimensat(AT_FDCWD, p, ts, 0));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
	EXPECT_EQ(st.st_atim.tv_nsec, 5);
	EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
	EXPECT_EQ(st.st_mtim.tv_nsec, 7);
}

CASE(utimensat_omit_and_bad_nsec)
{
	const char *p = mkfile("f", "x");
	struct timespec set[2] = {{1000000000, 0}, {1000000000, 0}};
	struct timespec omit[2] = {{1, UTIME_OMIT}, {1100000000, 0}};
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	struct stat st;

	ASSERT_OK(utimensat(AT_FDCWD, p, set, 0));
	ASSERT_OK(utimensat(AT_FDCWD, p, omit, 0));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
	EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
	EXPECT_ERRNO(utimensat(AT_FDCWD, p, bad, 0), EINVAL);
}

CASE(write_updates_mtime)
{
	const char *p = mkfile("f", "x");
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	struct stat st;
	int fd;

	ASSERT_OK(utimensat(AT_FDCWD, p, old, 0));
	fd = ASSERT_OK(open(p, O_WRONLY));
	ASSERT_EQ(write(fd, "y", 1), 1);
	ASSERT_OK(sys_fstat(fd, &st));
	EXPECT_GT(st.st_mtim.tv_sec, 1000000000);
	EXPECT_GT(st.st_ctim.tv_sec, 1000000000);
	EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
}

CASE(chmod_changes_mode_bits)
{
	const char *p = mkfile("f", "x");
	struct stat st;
	int fd;

	ASSERT_OK(chmod(p, 0604));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_mode & 07777, 0604);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	fd = ASSERT_OK(open(p, O_RDONLY));
	ASSERT_OK(fchmod(fd, 0640));
	ASSERT_OK(sys_fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0640);
	ASSERT_OK(fchmodat(AT_FDCWD, p, 0600, 0));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_mode & 07777, 0600);
}

CASE(chmod_errors)
{
	EXPECT_ERRNO(chmod(h_path("missing"), 0600), ENOENT);
	EXPECT_ERRNO(fchmod(1000, 0600), EBADF);
	EXPECT_ERRNO(syscall(SYS_chmod, BAD_PTR, 0600), EFAULT);
}

CASE(chown_to_same_owner)
{
	const char *p = mkfile("f", "x");
	struct stat st;

	ASSERT_OK(chown(p, geteuid(), getegid()));
	ASSERT_OK(lchown(p, -1, -1));
	ASSERT_OK(sys_stat(p, &st));
	EXPECT_EQ(st.st_uid, geteuid());
	EXPECT_EQ(st.st_gid, getegid());
	EXPECT_ERRNO(chown(h_path("missing"), -1, -1), ENOENT);
}

HARNESS_MAIN
