/*
 * Directories: mkdir/mkdirat, rmdir, getdents64, chdir/fchdir, getcwd.
 */
#include "harness.h"

#include <limits.h>
#include <stddef.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static long sys_getdents64(int fd, void *buf, size_t n)
{
	return syscall(SYS_getdents64, fd, buf, n);
}

static void touch(const char *p)
{
	h_write_file(p, "", 0);
}

/*
 * Reads a whole directory with getdents64; returns the number of entries,
 * sets bit i of *seen when want[i] was listed, and counts in *others the
 * entries that are not in want (or listed twice).
 */
static int list_dir(const char *dir, const char *const *want, int nwant, unsigned *seen, int *others)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int total = 0;

	*seen = 0;
	*others = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		long n = sys_getdents64(fd, buf, sizeof(buf));

		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			int hit = 0;

			for (int i = 0; i < nwant; i++) {
				if (strcmp(d->d_name, want[i]) == 0) {
					if (*seen & (1u << i))
						(*others)++; /* duplicate */
					*seen |= 1u << i;
					hit = 1;
				}
			}
			if (!hit)
				(*others)++;
			total++;
			off += d->d_reclen;
		}
	}
	close(fd);
	return total;
}

/* ---- mkdir / mkdirat ---- */

CASE(mkdir_creates_with_umask)
{
	struct stat st;

	umask(022);
	ASSERT_OK(mkdir(h_path("d"), 0777));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0755);
	umask(077);
	ASSERT_OK(mkdir(h_path("e"), 0777));
	ASSERT_OK(stat(h_path("e"), &st));
	EXPECT_EQ(st.st_mode & 0777, 0700);
}

CASE(mkdir_existing_eexist)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(mkdir(h_path("d"), 0755), EEXIST);
	touch(h_path("f"));
	EXPECT_ERRNO(mkdir(h_path("f"), 0755), EEXIST);
}

CASE(mkdir_missing_parent_enoent)
{
	EXPECT_ERRNO(mkdir(h_path("a/b"), 0755), ENOENT);
}

CASE(mkdir_parent_is_file_enotdir)
{
	touch(h_path("f"));
	EXPECT_ERRNO(mkdir(h_path("f/d"), 0755), ENOTDIR);
}

CASE(mkdir_bad_path_efault)
{
	EXPECT_ERRNO(syscall(SYS_mkdir, BAD_PTR, 0755), EFAULT);
	EXPECT_ERRNO(syscall(SYS_mkdir, "", 0755), ENOENT);
}

CASE(mkdir_trailing_slash_ok)
{
	struct stat st;

	EXPECT_OK(mkdir(h_path("d/"), 0755));
	EXPECT_OK(stat(h_path("d"), &st));
}

CASE(mkdir_name_too_long)
{
	char name[300];

	memset(name, 'n', 256);
	name[256] = 0;
	EXPECT_ERRNO(mkdir(h_path(name), 0755), ENAMETOOLONG);
	name[255] = 0;
	EXPECT_OK(mkdir(h_path(name), 0755));
}

CASE(mkdirat_relative_to_dirfd)
{
	struct stat st;
	int dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_OK(mkdirat(dfd, "sub", 0700));
	EXPECT_OK(stat(h_path("sub"), &st));
	EXPECT_ERRNO(mkdirat(1000, "sub2", 0700), EBADF);
}

CASE(mkdir_increments_parent_nlink)
{
	struct stat before, after;

	ASSERT_OK(stat(h_tmp(), &before));
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(stat(h_tmp(), &after));
	EXPECT_EQ(after.st_nlink, before.st_nlink + 1);
	ASSERT_OK(rmdir(h_path("d")));
	ASSERT_OK(stat(h_tmp(), &after));
	EXPECT_EQ(after.st_nlink, before.st_nlink);
}

/* ---- rmdir ---- */

CASE(rmdir_removes_empty_dir)
{
	struct stat st;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_OK(rmdir(h_path("d")));
	EXPECT_ERRNO(stat(h_path("d"), &st), ENOENT);
}

CASE(rmdir_nonempty_enotempty)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	touch(h_path("d/f"));
	EXPECT_ERRNO(rmdir(h_path("d")), ENOTEMPTY);
}

CASE(rmdir_file_enotdir)
{
	touch(h_path("f"));
	EXPECT_ERRNO(rmdir(h_path("f")), ENOTDIR);
}

CASE(rmdir_missing_enoent)
{
	EXPECT_ERRNO(rmdir(h_path("missing")), ENOENT);
}

CASE(rmdir_dot_einval)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rmdir(h_path("d/.")), EINVAL);
}

CASE(rmdir_dotdot_enotempty)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rmdir(h_path("d/..")), ENOTEMPTY);
}

CASE(rmdir_bad_path_efault)
{
	EXPECT_ERRNO(syscall(SYS_rmdir, BAD_PTR), EFAULT);
}

/* ---- getdents64 ---- */

CASE(getdents64_lists_all_entries)
{
	static const char *const want[] = {".", "..", "a", "b", "sub"};
	unsigned seen;
	int others;

	touch(h_path("a"));
	touch(h_path("b"));
	ASSERT_OK(mkdir(h_path("sub"), 0755));
	EXPECT_EQ(list_dir(h_tmp(), want, 5, &seen, &others), 5);
	EXPECT_EQ(seen, 0x1f);
	EXPECT_EQ(others, 0);
}

CASE(getdents64_empty_dir_has_dot_entries)
{
	static const char *const want[] = {".", ".."};
	unsigned seen;
	int others;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_EQ(list_dir(h_path("d"), want, 2, &seen, &others), 2);
	EXPECT_EQ(seen, 3);
}

CASE(getdents64_types_and_inodes)
{
	char buf[4096];
	struct stat fst, dst;
	int fd, seen = 0;
	long n;

	touch(h_path("f"));
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(stat(h_path("f"), &fst));
	ASSERT_OK(stat(h_path("d"), &dst));
	fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	n = sys_getdents64(fd, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	for (long off = 0; off < n;) {
		struct linux_dirent64 *d = (void *)(buf + off);

		if (strcmp(d->d_name, "f") == 0) {
			EXPECT_EQ(d->d_type, DT_REG);
			EXPECT_EQ(d->d_ino, fst.st_ino);
			seen |= 1;
		} else if (strcmp(d->d_name, "d") == 0) {
			EXPECT_EQ(d->d_type, DT_DIR);
			EXPECT_EQ(d->d_ino, dst.st_ino);
			seen |= 2;
		} else if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
			EXPECT_EQ(d->d_type, DT_DIR);
		}
		EXPECT_EQ(d->d_reclen % 8, 0);
		EXPECT_LE(offsetof(struct linux_dirent64, d_name) + strlen(d->d_name) + 1, d->d_reclen);
		off += d->d_reclen;
	}
	EXPECT_EQ(seen, 3);
}

CASE(getdents64_symlink_type)
{
	char buf[4096];
	int fd, found = 0;
	long n;

	ASSERT_OK(symlink("x", h_path("l")));
	fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	n = sys_getdents64(fd, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	for (long off = 0; off < n;) {
		struct linux_dirent64 *d = (void *)(buf + off);

		if (strcmp(d->d_name, "l") == 0) {
			EXPECT_EQ(d->d_type, DT_LNK);
			found = 1;
		}
		off += d->d_reclen;
	}
	EXPECT_TRUE(found);
}

CASE(getdents64_eof_returns_zero)
{
	char buf[4096];
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_GT(sys_getdents64(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ(sys_getdents64(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ(sys_getdents64(fd, buf, sizeof(buf)), 0);
}

CASE(getdents64_rewind_with_lseek)
{
	char buf[4096];
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	long first;

	touch(h_path("a"));
	first = sys_getdents64(fd, buf, sizeof(buf));
	ASSERT_GT(first, 0);
	EXPECT_EQ(sys_getdents64(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
	EXPECT_EQ(sys_getdents64(fd, buf, sizeof(buf)), first);
}

CASE(getdents64_small_buffers_resume)
{
	/* A buffer that holds one entry at a time still returns every entry once. */
	static const char *const want[] = {".", "..", "one", "two", "three", "four"};
	char buf[40];
	unsigned seen = 0;
	int fd, count = 0;

	for (int i = 2; i < 6; i++)
		touch(h_path(want[i]));
	fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	for (;;) {
		long n = sys_getdents64(fd, buf, sizeof(buf));

		ASSERT_GE(n, 0);
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);

			for (int i = 0; i < 6; i++)
				if (strcmp(d->d_name, want[i]) == 0)
					seen |= 1u << i;
			count++;
			off += d->d_reclen;
		}
	}
	EXPECT_EQ(count, 6);
	EXPECT_EQ(seen, 0x3f);
}

CASE(getdents64_buffer_too_small_einval)
{
	char buf[8];
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_ERRNO(sys_getdents64(fd, buf, 1), EINVAL);
	EXPECT_ERRNO(sys_getdents64(fd, buf, sizeof(buf)), EINVAL);
}

CASE(getdents64_on_file_enotdir)
{
	char buf[4096];
	int fd;

	touch(h_path("f"));
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	EXPECT_ERRNO(sys_getdents64(fd, buf, sizeof(buf)), ENOTDIR);
}

CASE(getdents64_bad_fd_ebadf)
{
	char buf[4096];

	EXPECT_ERRNO(sys_getdents64(1000, buf, sizeof(buf)), EBADF);
	EXPECT_ERRNO(sys_getdents64(-1, buf, sizeof(buf)), EBADF);
}

CASE(getdents64_bad_buffer_efault)
{
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_ERRNO(sys_getdents64(fd, BAD_PTR, 4096), EFAULT);
}

CASE(getdents64_after_unlink_and_create)
{
	static const char *const want[] = {".", "..", "keep", "new"};
	unsigned seen;
	int others;

	touch(h_path("keep"));
	touch(h_path("gone"));
	ASSERT_OK(unlink(h_path("gone")));
	touch(h_path("new"));
	EXPECT_EQ(list_dir(h_tmp(), want, 4, &seen, &others), 4);
	EXPECT_EQ(seen, 0xf);
	EXPECT_EQ(others, 0);
}

CASE(getdents64_many_entries)
{
	char name[32];
	unsigned seen;
	int others;

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name", i);
		touch(h_path(name));
	}
	EXPECT_EQ(list_dir(h_tmp(), NULL, 0, &seen, &others), 302);
}

/* ---- chdir / fchdir / getcwd ---- */

CASE(getcwd_after_chdir)
{
	char want[PATH_MAX], buf[PATH_MAX];

	ASSERT_TRUE(realpath(h_tmp(), want) != NULL);
	ASSERT_OK(chdir(h_tmp()));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	EXPECT_STREQ(buf, want);
}

CASE(getcwd_syscall_returns_length_with_nul)
{
	char buf[PATH_MAX];

	ASSERT_OK(chdir("/"));
	EXPECT_EQ(syscall(SYS_getcwd, buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "/");
}

CASE(getcwd_small_buffer_erange)
{
	char buf[PATH_MAX];
	size_t len;

	ASSERT_OK(chdir(h_tmp()));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	len = strlen(buf);
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, len), ERANGE);
	EXPECT_EQ(syscall(SYS_getcwd, buf, len + 1), len + 1);
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, 0), ERANGE);
}

CASE(getcwd_bad_buffer_efault)
{
	EXPECT_ERRNO(syscall(SYS_getcwd, BAD_PTR, 4096), EFAULT);
}

CASE(getcwd_of_removed_dir_enoent)
{
	char buf[PATH_MAX];

	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(chdir(h_path("d")));
	ASSERT_OK(rmdir(h_path("d")));
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, sizeof(buf)), ENOENT);
}

CASE(chdir_errors)
{
	touch(h_path("f"));
	EXPECT_ERRNO(chdir(h_path("missing")), ENOENT);
	EXPECT_ERRNO(chdir(h_path("f")), ENOTDIR);
	EXPECT_ERRNO(chdir(""), ENOENT);
	EXPECT_ERRNO(syscall(SYS_chdir, BAD_PTR), EFAULT);
}

CASE(chdir_relative_and_dotdot)
{
	char want[PATH_MAX], buf[PATH_MAX];

	ASSERT_TRUE(realpath(h_tmp(), want) != NULL);
	ASSERT_OK(mkdir(h_path("a"), 0755));
	ASSERT_OK(mkdir(h_path("a/b"), 0755));
	ASSERT_OK(chdir(h_tmp()));
	ASSERT_OK(chdir("a/b"));
	ASSERT_OK(chdir("../.."));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	EXPECT_STREQ(buf, want);
}

CASE(chdir_changes_relative_lookups)
{
	struct stat st;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	touch(h_path("d/inner"));
	ASSERT_OK(chdir(h_path("d")));
	EXPECT_OK(stat("inner", &st));
	EXPECT_OK(open("created", O_CREAT | O_WRONLY, 0600));
	EXPECT_OK(stat(h_path("d/created"), &st));
}

CASE(fchdir_to_directory_fd)
{
	char want[PATH_MAX], buf[PATH_MAX];
	int fd;

	ASSERT_TRUE(realpath(h_tmp(), want) != NULL);
	fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	ASSERT_OK(chdir("/"));
	ASSERT_OK(fchdir(fd));
	ASSERT_TRUE(getcwd(buf, sizeof(buf)) != NULL);
	EXPECT_STREQ(buf, want);
}

CASE(fchdir_errors)
{
	int fd;

	touch(h_path("f"));
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	EXPECT_ERRNO(fchdir(fd), ENOTDIR);
	EXPECT_ERRNO(fchdir(1000), EBADF);
}

CASE(cwd_inherited_by_fork)
{
	char want[PATH_MAX];
	pid_t pid;

	ASSERT_TRUE(realpath(h_tmp(), want) != NULL);
	ASSERT_OK(chdir(h_tmp()));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		char buf[PATH_MAX];

		_exit(getcwd(buf, sizeof(buf)) && strcmp(buf, want) == 0 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

HARNESS_MAIN
