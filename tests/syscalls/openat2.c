/*
 * openat2(2): struct open_how, RESOLVE_* flags (BENEATH, IN_ROOT,
 * NO_SYMLINKS, NO_XDEV), size and flag validation.
 */
#include "harness.h"

#include <linux/openat2.h>

static int oa2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* h_tmp() with d/, d/f ("in"), f ("out") and a few symlinks */
static int tree(void)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "in", 2);
	h_write_file(h_path("f"), "out", 3);
	ASSERT_OK(symlink("f", h_path("d/rel")));
	ASSERT_OK(symlink("../f", h_path("d/up")));
	ASSERT_OK(symlink("/f", h_path("d/abs")));
	return ASSERT_OK(open(h_path("d"), O_RDONLY | O_DIRECTORY));
}

static int read_word(int fd, char *buf)
{
	ssize_t n = read(fd, buf, 7);

	buf[n > 0 ? n : 0] = 0;
	return n;
}

CASE(openat2_plain_open_like_openat)
{
	int d = tree();
	int fd = ASSERT_OK(oa2(d, "f", O_RDONLY, 0, 0));
	char buf[8];

	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	fd = ASSERT_OK(oa2(d, "f", O_RDONLY | O_CLOEXEC, 0, 0));
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

CASE(openat2_creat_uses_mode)
{
	int d = tree();
	struct stat st;

	umask(0);
	ASSERT_OK(oa2(d, "new", O_RDWR | O_CREAT | O_EXCL, 0640, 0));
	ASSERT_OK(stat(h_path("d/new"), &st));
	EXPECT_EQ(st.st_mode & 07777, 0640);
}

CASE(openat2_how_validation)
{
	int d = tree();
	struct open_how how = {.flags = O_RDONLY};
	struct {
		struct open_how how;
		uint64_t extra;
	} big = {{.flags = O_RDONLY}, 1};

	EXPECT_ERRNO(oa2(d, "f", O_RDONLY, 0644, 0), EINVAL);
	EXPECT_ERRNO(oa2(d, "f", O_RDONLY, 0, 1ULL << 40), EINVAL);
	EXPECT_ERRNO(oa2(d, "f", 1ULL << 40, 0, 0), EINVAL);
	EXPECT_ERRNO(oa2(d, "new", O_RDWR | O_CREAT, 010000, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_openat2, d, "f", &how, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_openat2, d, "f", &big, sizeof(big)), E2BIG);
	big.extra = 0;
	EXPECT_OK(syscall(SYS_openat2, d, "f", &big, sizeof(big)));
	EXPECT_ERRNO(syscall(SYS_openat2, d, "f", BAD_PTR, sizeof(how)), EFAULT);
	EXPECT_ERRNO(oa2(d, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL);
}

CASE(openat2_resolve_beneath_blocks_escape)
{
	int d = tree();

	EXPECT_ERRNO(oa2(d, "../f", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(oa2(d, h_path("f"), O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(oa2(d, "up", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(oa2(d, "abs", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
}

CASE(openat2_resolve_beneath_allows_inside)
{
	int d = tree();
	char buf[8];
	int fd;

	ASSERT_OK(mkdir(h_path("d/sub"), 0755));
	fd = ASSERT_OK(oa2(d, "sub/../f", O_RDONLY, 0, RESOLVE_BENEATH));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
	fd = ASSERT_OK(oa2(d, "rel", O_RDONLY, 0, RESOLVE_BENEATH));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
}

CASE(openat2_resolve_in_root_scopes_lookups)
{
	int d = tree();
	char buf[8];
	int fd;

	/* "/f" and "../f" both mean d/f when d is the root */
	fd = ASSERT_OK(oa2(d, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
	fd = ASSERT_OK(oa2(d, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
	fd = ASSERT_OK(oa2(d, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
	fd = ASSERT_OK(oa2(d, "up", O_RDONLY, 0, RESOLVE_IN_ROOT));
	read_word(fd, buf);
	EXPECT_STREQ(buf, "in");
}

CASE(openat2_resolve_no_symlinks)
{
	int d = tree();

	EXPECT_ERRNO(oa2(d, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	EXPECT_OK(oa2(d, "f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	/* the last component may be a link when it is not followed */
	EXPECT_OK(oa2(d, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
	ASSERT_OK(symlink(".", h_path("d/dot")));
	EXPECT_ERRNO(oa2(d, "dot/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
}

CASE(openat2_resolve_no_xdev)
{
	int root = ASSERT_OK(open("/", O_RDONLY | O_DIRECTORY));

	EXPECT_ERRNO(oa2(root, "proc/self", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
	EXPECT_ERRNO(oa2(root, "dev/null", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
}

CASE(openat2_resolve_no_magiclinks)
{
	int fd;
	char path[64];

	h_write_file(h_path("f"), "x", 1);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	EXPECT_ERRNO(oa2(AT_FDCWD, path, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
	EXPECT_OK(oa2(AT_FDCWD, path, O_RDONLY, 0, 0));
}

CASE(openat2_path_errors)
{
	int d = tree();
	int fd = ASSERT_OK(open(h_path("f"), O_RDONLY));

	EXPECT_ERRNO(oa2(d, "missing", O_RDONLY, 0, 0), ENOENT);
	EXPECT_ERRNO(oa2(999, "f", O_RDONLY, 0, 0), EBADF);
	EXPECT_ERRNO(oa2(fd, "f", O_RDONLY, 0, 0), ENOTDIR);
	EXPECT_ERRNO(oa2(d, BAD_PTR, O_RDONLY, 0, 0), EFAULT);
	EXPECT_ERRNO(oa2(d, "f", O_RDONLY | O_CREAT | O_EXCL, 0600, 0), EEXIST);
}

CASE(openat2_resolve_cached_lookup)
{
	int d = tree();
	int r;

	/* RESOLVE_CACHED: either served from the cache or EAGAIN */
	r = oa2(d, "f", O_RDONLY, 0, RESOLVE_CACHED);
	EXPECT_TRUE(r >= 0 || errno == EAGAIN);
	EXPECT_ERRNO(oa2(d, "f", O_RDWR | O_CREAT, 0600, RESOLVE_CACHED), EAGAIN);
}

HARNESS_MAIN
