/*
 * Names: unlink/unlinkat, rename/renameat/renameat2, symlink/symlinkat,
 * readlink/readlinkat, link/linkat.
 */
#include "harness.h"

#include <limits.h>

static void touch(const char *p)
{
	h_write_file(p, "", 0);
}

static const char *mkfile(const char *name, const char *content)
{
	const char *p = h_path(name);

	h_write_file(p, content, strlen(content));
	return p;
}

static int exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* ---- unlink ---- */

CASE(unlink_removes_name)
{
	touch(h_path("f"));
	EXPECT_OK(unlink(h_path("f")));
	EXPECT_TRUE(!exists(h_path("f")));
}

CASE(unlink_errors)
{
	touch(h_path("f"));
	EXPECT_ERRNO(unlink(h_path("missing")), ENOENT);
	EXPECT_ERRNO(unlink(h_path("f/x")), ENOTDIR);
	EXPECT_ERRNO(unlink(""), ENOENT);
	EXPECT_ERRNO(syscall(SYS_unlink, BAD_PTR), EFAULT);
}

CASE(unlink_directory_eisdir)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(unlink(h_path("d")), EISDIR);
	EXPECT_TRUE(exists(h_path("d")));
}

CASE(unlink_open_file_stays_readable)
{
	const char *p = mkfile("f", "still here");
	char buf[16] = {0};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(unlink(p));
	EXPECT_TRUE(!exists(p));
	EXPECT_EQ(read(fd, buf, sizeof(buf) - 1), 10);
	EXPECT_STREQ(buf, "still here");
}

CASE(unlink_then_recreate_is_new_file)
{
	const char *p = mkfile("f", "old");
	char buf[16] = {0};
	int fd = ASSERT_OK(open(p, O_RDONLY));

	ASSERT_OK(unlink(p));
	mkfile("f", "new!");
	EXPECT_EQ(read(fd, buf, sizeof(buf) - 1), 3);
	EXPECT_STREQ(buf, "old");
}

CASE(unlinkat_removedir)
{
	int dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	ASSERT_OK(mkdir(h_path("d"), 0755));
	touch(h_path("f"));
	EXPECT_ERRNO(unlinkat(dfd, "f", AT_REMOVEDIR), ENOTDIR);
	EXPECT_ERRNO(unlinkat(dfd, "d", 0), EISDIR);
	EXPECT_OK(unlinkat(dfd, "d", AT_REMOVEDIR));
	EXPECT_OK(unlinkat(dfd, "f", 0));
	EXPECT_TRUE(!exists(h_path("d")));
	EXPECT_TRUE(!exists(h_path("f")));
}

CASE(unlinkat_bad_flags_einval)
{
	touch(h_path("f"));
	EXPECT_ERRNO(unlinkat(AT_FDCWD, h_path("f"), 0x1), EINVAL);
	EXPECT_ERRNO(unlinkat(AT_FDCWD, h_path("f"), AT_SYMLINK_NOFOLLOW), EINVAL);
	EXPECT_TRUE(exists(h_path("f")));
	EXPECT_ERRNO(unlinkat(1000, "f", 0), EBADF);
}

/* ---- rename ---- */

CASE(rename_moves_file)
{
	char buf[16];

	mkfile("a", "content");
	EXPECT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_TRUE(!exists(h_path("a")));
	EXPECT_EQ(h_read_file(h_path("b"), buf, sizeof(buf)), 7);
	EXPECT_STREQ(buf, "content");
}

CASE(rename_keeps_inode)
{
	struct stat a, b;

	touch(h_path("a"));
	ASSERT_OK(stat(h_path("a"), &a));
	ASSERT_OK(rename(h_path("a"), h_path("b")));
	ASSERT_OK(stat(h_path("b"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

CASE(rename_replaces_existing_file)
{
	char buf[16];

	mkfile("a", "new");
	mkfile("b", "old-content");
	EXPECT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_EQ(h_read_file(h_path("b"), buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "new");
	EXPECT_TRUE(!exists(h_path("a")));
}

CASE(rename_missing_enoent)
{
	EXPECT_ERRNO(rename(h_path("missing"), h_path("b")), ENOENT);
	touch(h_path("a"));
	EXPECT_ERRNO(rename(h_path("a"), h_path("nodir/b")), ENOENT);
	EXPECT_TRUE(exists(h_path("a")));
}

CASE(rename_dir_into_itself_einval)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rename(h_path("d"), h_path("d/sub")), EINVAL);
}

CASE(rename_file_over_dir_eisdir)
{
	touch(h_path("f"));
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rename(h_path("f"), h_path("d")), EISDIR);
}

CASE(rename_dir_over_file_enotdir)
{
	touch(h_path("f"));
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rename(h_path("d"), h_path("f")), ENOTDIR);
}

CASE(rename_dir_over_empty_dir)
{
	ASSERT_OK(mkdir(h_path("a"), 0755));
	touch(h_path("a/inner"));
	ASSERT_OK(mkdir(h_path("b"), 0755));
	EXPECT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_TRUE(exists(h_path("b/inner")));
	EXPECT_TRUE(!exists(h_path("a")));
}

CASE(rename_dir_over_nonempty_dir_enotempty)
{
	ASSERT_OK(mkdir(h_path("a"), 0755));
	ASSERT_OK(mkdir(h_path("b"), 0755));
	touch(h_path("b/x"));
	EXPECT_ERRNO(rename(h_path("a"), h_path("b")), ENOTEMPTY);
}

CASE(rename_same_path_is_noop)
{
	touch(h_path("a"));
	EXPECT_OK(rename(h_path("a"), h_path("a")));
	EXPECT_TRUE(exists(h_path("a")));
}

CASE(rename_hard_links_to_same_inode_noop)
{
	touch(h_path("a"));
	ASSERT_OK(link(h_path("a"), h_path("b")));
	EXPECT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_TRUE(exists(h_path("a")));
	EXPECT_TRUE(exists(h_path("b")));
}

CASE(rename_directory_moves_subtree)
{
	ASSERT_OK(mkdir(h_path("a"), 0755));
	ASSERT_OK(mkdir(h_path("a/b"), 0755));
	touch(h_path("a/b/f"));
	ASSERT_OK(mkdir(h_path("dst"), 0755));
	EXPECT_OK(rename(h_path("a"), h_path("dst/a2")));
	EXPECT_TRUE(exists(h_path("dst/a2/b/f")));
}

CASE(rename_open_file_keeps_fd_valid)
{
	char buf[8] = {0};
	int fd;

	mkfile("a", "data");
	fd = ASSERT_OK(open(h_path("a"), O_RDONLY));
	ASSERT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_EQ(read(fd, buf, 7), 4);
	EXPECT_STREQ(buf, "data");
}

CASE(renameat_with_dirfds)
{
	int a, b;

	ASSERT_OK(mkdir(h_path("x"), 0755));
	ASSERT_OK(mkdir(h_path("y"), 0755));
	touch(h_path("x/f"));
	a = ASSERT_OK(open(h_path("x"), O_RDONLY | O_DIRECTORY));
	b = ASSERT_OK(open(h_path("y"), O_RDONLY | O_DIRECTORY));
	EXPECT_OK(renameat(a, "f", b, "g"));
	EXPECT_TRUE(exists(h_path("y/g")));
	EXPECT_ERRNO(renameat(1000, "g", b, "h"), EBADF);
}

CASE(renameat2_noreplace)
{
	touch(h_path("a"));
	touch(h_path("b"));
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"), RENAME_NOREPLACE), EEXIST);
	EXPECT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("c"), RENAME_NOREPLACE));
	EXPECT_TRUE(exists(h_path("c")));
}

CASE(renameat2_exchange)
{
	char buf[8];

	mkfile("a", "A");
	mkfile("b", "B");
	EXPECT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"), RENAME_EXCHANGE));
	EXPECT_EQ(h_read_file(h_path("a"), buf, sizeof(buf)), 1);
	EXPECT_STREQ(buf, "B");
	EXPECT_EQ(h_read_file(h_path("b"), buf, sizeof(buf)), 1);
	EXPECT_STREQ(buf, "A");
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("zz"), RENAME_EXCHANGE), ENOENT);
}

CASE(renameat2_bad_flags_einval)
{
	touch(h_path("a"));
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"),
			       RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"), 0x100), EINVAL);
}

/* ---- symlink / readlink ---- */

CASE(symlink_and_readlink)
{
	char buf[256];

	EXPECT_OK(symlink("some/target", h_path("l")));
	EXPECT_EQ(readlink(h_path("l"), buf, sizeof(buf)), 11);
	buf[11] = 0;
	EXPECT_STREQ(buf, "some/target");
}

CASE(symlink_existing_eexist)
{
	touch(h_path("f"));
	EXPECT_ERRNO(symlink("x", h_path("f")), EEXIST);
	ASSERT_OK(symlink("x", h_path("l")));
	EXPECT_ERRNO(symlink("y", h_path("l")), EEXIST);
}

CASE(symlink_errors)
{
	EXPECT_ERRNO(symlink("x", h_path("nodir/l")), ENOENT);
	EXPECT_ERRNO(symlink("", h_path("l")), ENOENT);
	EXPECT_ERRNO(syscall(SYS_symlink, BAD_PTR, h_path("l")), EFAULT);
}

CASE(symlink_relative_target_resolves_from_link_dir)
{
	char buf[16];

	ASSERT_OK(mkdir(h_path("d"), 0755));
	mkfile("d/target", "rel");
	ASSERT_OK(symlink("target", h_path("d/l")));
	EXPECT_EQ(h_read_file(h_path("d/l"), buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "rel");
}

CASE(symlink_to_directory_traversal)
{
	struct stat st;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	touch(h_path("d/f"));
	ASSERT_OK(symlink("d", h_path("l")));
	EXPECT_OK(stat(h_path("l/f"), &st));
	EXPECT_ERRNO(rmdir(h_path("l")), ENOTDIR);
}

CASE(symlink_loop_eloop)
{
	struct stat st;

	ASSERT_OK(symlink("b", h_path("a")));
	ASSERT_OK(symlink("a", h_path("b")));
	EXPECT_ERRNO(open(h_path("a"), O_RDONLY), ELOOP);
	EXPECT_ERRNO(stat(h_path("a"), &st), ELOOP);
	EXPECT_OK(lstat(h_path("a"), &st));
}

CASE(symlink_dangling_creat_creates_target)
{
	struct stat st;

	ASSERT_OK(symlink("target", h_path("l")));
	EXPECT_ERRNO(open(h_path("l"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_OK(open(h_path("l"), O_WRONLY | O_CREAT, 0600));
	EXPECT_OK(stat(h_path("target"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

CASE(unlink_symlink_keeps_target)
{
	touch(h_path("t"));
	ASSERT_OK(symlink("t", h_path("l")));
	EXPECT_OK(unlink(h_path("l")));
	EXPECT_TRUE(exists(h_path("t")));
	EXPECT_TRUE(!exists(h_path("l")));
}

CASE(readlink_truncates_without_nul)
{
	char buf[8];

	ASSERT_OK(symlink("abcdefgh", h_path("l")));
	memset(buf, 'Z', sizeof(buf));
	EXPECT_EQ(readlink(h_path("l"), buf, 3), 3);
	EXPECT_MEMEQ(buf, "abcZ", 4);
}

CASE(readlink_not_a_link_einval)
{
	char buf[16];

	touch(h_path("f"));
	EXPECT_ERRNO(readlink(h_path("f"), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(readlink(h_tmp(), buf, sizeof(buf)), EINVAL);
}

CASE(readlink_errors)
{
	char buf[16];

	EXPECT_ERRNO(readlink(h_path("missing"), buf, sizeof(buf)), ENOENT);
	EXPECT_ERRNO(syscall(SYS_readlink, "/proc/self/exe", buf, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_readlink, "/proc/self/exe", buf, -1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_readlink, BAD_PTR, buf, sizeof(buf)), EFAULT);
	EXPECT_ERRNO(syscall(SYS_readlink, "/proc/self/exe", BAD_PTR, sizeof(buf)), EFAULT);
}

CASE(readlinkat_and_symlinkat_with_dirfd)
{
	char buf[16] = {0};
	int dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_OK(symlinkat("tgt", dfd, "l"));
	EXPECT_EQ(readlinkat(dfd, "l", buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "tgt");
}

CASE(readlinkat_empty_path_on_symlink_fd)
{
	char buf[16] = {0};
	int fd;

	ASSERT_OK(symlink("tgt", h_path("l")));
	fd = ASSERT_OK(open(h_path("l"), O_PATH | O_NOFOLLOW));
	EXPECT_EQ(readlinkat(fd, "", buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "tgt");
}

/* ---- link ---- */

CASE(link_creates_second_name)
{
	struct stat a, b;
	char buf[8];

	mkfile("a", "same");
	EXPECT_OK(link(h_path("a"), h_path("b")));
	ASSERT_OK(stat(h_path("a"), &a));
	ASSERT_OK(stat(h_path("b"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_nlink, 2);
	ASSERT_OK(unlink(h_path("a")));
	EXPECT_EQ(h_read_file(h_path("b"), buf, sizeof(buf)), 4);
}

CASE(link_errors)
{
	touch(h_path("a"));
	touch(h_path("b"));
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(link(h_path("a"), h_path("b")), EEXIST);
	EXPECT_ERRNO(link(h_path("missing"), h_path("c")), ENOENT);
	EXPECT_ERRNO(link(h_path("d"), h_path("e")), EPERM);
	EXPECT_ERRNO(link(h_path("a"), h_path("nodir/c")), ENOENT);
}

CASE(link_writes_visible_through_both)
{
	char buf[8];
	int fd;

	touch(h_path("a"));
	ASSERT_OK(link(h_path("a"), h_path("b")));
	fd = ASSERT_OK(open(h_path("a"), O_WRONLY));
	ASSERT_EQ(write(fd, "xyz", 3), 3);
	EXPECT_EQ(h_read_file(h_path("b"), buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "xyz");
}

CASE(linkat_symlink_follow)
{
	struct stat st, t;

	touch(h_path("t"));
	ASSERT_OK(symlink("t", h_path("l")));
	/* Without AT_SYMLINK_FOLLOW the new name is a link to the symlink itself. */
	EXPECT_OK(linkat(AT_FDCWD, h_path("l"), AT_FDCWD, h_path("n1"), 0));
	ASSERT_OK(lstat(h_path("n1"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_OK(linkat(AT_FDCWD, h_path("l"), AT_FDCWD, h_path("n2"), AT_SYMLINK_FOLLOW));
	ASSERT_OK(lstat(h_path("n2"), &st));
	ASSERT_OK(stat(h_path("t"), &t));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_ino, t.st_ino);
	EXPECT_ERRNO(linkat(AT_FDCWD, h_path("t"), AT_FDCWD, h_path("n3"), 0x1), EINVAL);
}

HARNESS_MAIN
