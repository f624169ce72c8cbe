/*
 * Path resolution (path_resolution(7)): component and path length limits,
 * trailing slashes, "." and "..", repeated slashes, symlink chains and the
 * 40-link limit, symlinks in the middle of paths, dangling links.
 */
#include "harness.h"

CASE(component_longer_than_255_enametoolong)
{
	char name[300];
	char path[1024];
	struct stat st;

	memset(name, 'a', sizeof(name));
	name[256] = 0;
	snprintf(path, sizeof(path), "%s/%s", h_tmp(), name);
	EXPECT_ERRNO(stat(path, &st), ENAMETOOLONG);
	EXPECT_ERRNO(mkdir(path, 0755), ENAMETOOLONG);
	name[255] = 0;
	snprintf(path, sizeof(path), "%s/%s", h_tmp(), name);
	EXPECT_OK(mkdir(path, 0755));
}

CASE(path_of_4096_bytes_enametoolong)
{
	static char path[5000];
	struct stat st;

	memset(path, '/', sizeof(path));
	path[4096] = 0;
	EXPECT_ERRNO(stat(path, &st), ENAMETOOLONG);
	path[4095] = 0;
	EXPECT_OK(stat(path, &st));
}

CASE(repeated_slashes_and_dots)
{
	char path[1024];
	struct stat a, b;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x", 1);
	snprintf(path, sizeof(path), "%s//./d/.//f", h_tmp());
	ASSERT_OK(stat(path, &a));
	ASSERT_OK(stat(h_path("d/f"), &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
}

CASE(dotdot_at_root_stays_at_root)
{
	struct stat a, b;

	ASSERT_OK(stat("/", &a));
	ASSERT_OK(stat("/../../..", &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
	ASSERT_OK(stat("/..//./tmp/..", &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
}

CASE(dotdot_after_file_component_enotdir)
{
	struct stat st;

	h_write_file(h_path("f"), "", 0);
	EXPECT_ERRNO(stat(h_path("f/.."), &st), ENOTDIR);
	EXPECT_ERRNO(stat(h_path("f/."), &st), ENOTDIR);
	EXPECT_ERRNO(stat(h_path("f/"), &st), ENOTDIR);
}

CASE(dotdot_after_missing_component_enoent)
{
	struct stat st;

	EXPECT_ERRNO(stat(h_path("missing/.."), &st), ENOENT);
}

CASE(trailing_slash_on_symlink_to_dir_follows)
{
	struct stat st;

	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(symlink("d", h_path("l")));
	ASSERT_OK(lstat(h_path("l"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_OK(lstat(h_path("l/"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	/* rmdir and unlink look at the last component without following it */
	EXPECT_ERRNO(rmdir(h_path("l/")), ENOTDIR);
	EXPECT_ERRNO(unlink(h_path("l/")), ENOTDIR);
	EXPECT_OK(access(h_path("d"), F_OK));
}

CASE(trailing_slash_on_dangling_symlink)
{
	struct stat st;

	ASSERT_OK(symlink("nowhere", h_path("l")));
	EXPECT_ERRNO(lstat(h_path("l/"), &st), ENOENT);
	EXPECT_ERRNO(mkdir(h_path("l/"), 0755), EEXIST);
}

CASE(symlink_chain_of_40_resolves_41_eloop)
{
	char name[32], target[32];
	struct stat st;

	h_write_file(h_path("l0"), "x", 1);
	for (int i = 1; i <= 41; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		snprintf(target, sizeof(target), "l%d", i - 1);
		ASSERT_OK(symlink(target, h_path(name)));
	}
	EXPECT_OK(stat(h_path("l40"), &st));
	EXPECT_ERRNO(stat(h_path("l41"), &st), ELOOP);
}

CASE(symlink_in_middle_of_path)
{
	char buf[8];

	ASSERT_OK(mkdir(h_path("real"), 0755));
	h_write_file(h_path("real/f"), "mid", 3);
	ASSERT_OK(symlink("real", h_path("link")));
	EXPECT_EQ(h_read_file(h_path("link/f"), buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "mid");
}

CASE(symlink_then_dotdot_is_physical)
{
	struct stat a, b;

	/* a/b/link -> ../../c; "link/.." is the parent of c, not a/b */
	ASSERT_OK(mkdir(h_path("a"), 0755));
	ASSERT_OK(mkdir(h_path("a/b"), 0755));
	ASSERT_OK(mkdir(h_path("c"), 0755));
	ASSERT_OK(mkdir(h_path("c/sub"), 0755));
	ASSERT_OK(symlink("../../c/sub", h_path("a/b/link")));
	ASSERT_OK(stat(h_path("a/b/link/.."), &a));
	ASSERT_OK(stat(h_path("c"), &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
}

CASE(absolute_symlink_restarts_at_root)
{
	char target[1024];
	struct stat st;

	h_write_file(h_path("f"), "x", 1);
	snprintf(target, sizeof(target), "%s/f", h_tmp());
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(symlink(target, h_path("d/abs")));
	ASSERT_OK(stat(h_path("d/abs"), &st));
	EXPECT_EQ(st.st_size, 1);
}

CASE(empty_symlink_target_enoent)
{
	struct stat st;

	EXPECT_ERRNO(symlink("", h_path("l")), ENOENT);
	EXPECT_ERRNO(lstat(h_path("l"), &st), ENOENT);
}

CASE(create_through_trailing_slash_rules)
{
	EXPECT_ERRNO(open(h_path("newfile/"), O_WRONLY | O_CREAT, 0600), EISDIR);
	EXPECT_OK(mkdir(h_path("newdir/"), 0755));
	EXPECT_ERRNO(symlink("x", h_path("sl/")), ENOENT);
	EXPECT_ERRNO(mknod(h_path("node/"), S_IFREG | 0600, 0), ENOENT);
}

CASE(rename_with_trailing_slashes)
{
	h_write_file(h_path("f"), "", 0);
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(rename(h_path("f/"), h_path("g")), ENOTDIR);
	EXPECT_ERRNO(rename(h_path("f"), h_path("g/")), ENOTDIR);
	EXPECT_OK(rename(h_path("d/"), h_path("e/")));
}

HARNESS_MAIN
