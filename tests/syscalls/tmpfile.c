/*
 * O_TMPFILE: unnamed files in a directory, and linkat(AT_EMPTY_PATH) to
 * give them (or any open file) a name.
 */
#include "harness.h"

static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

CASE(tmpfile_is_unnamed_regular_file)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR, 0600));
	struct stat st;
	char buf[8];

	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0600);
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(st.st_size, 0);
	EXPECT_EQ(count_entries(h_tmp()), 0);
	EXPECT_EQ(write(fd, "temp", 4), 4);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 4);
	EXPECT_MEMEQ(buf, "temp", 4);
}

CASE(tmpfile_mode_applies_umask)
{
	int fd;
	struct stat st;

	umask(027);
	fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_WRONLY, 0666));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0640);
}

CASE(tmpfile_linkat_empty_path_gives_name)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR, 0600));
	struct stat st;
	char buf[8];

	ASSERT_EQ(write(fd, "keep", 4), 4);
	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("named"), AT_EMPTY_PATH));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_nlink, 1);
	EXPECT_EQ(h_read_file(h_path("named"), buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "keep");
}

CASE(tmpfile_excl_cannot_be_linked)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR | O_EXCL, 0600));

	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("named"), AT_EMPTY_PATH), ENOENT);
}

CASE(tmpfile_errors)
{
	h_write_file(h_path("file"), "", 0);
	EXPECT_ERRNO(open(h_tmp(), O_TMPFILE | O_RDONLY, 0600), EINVAL);
	EXPECT_ERRNO(open(h_path("file"), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
	EXPECT_ERRNO(open(h_path("missing"), O_TMPFILE | O_RDWR, 0600), ENOENT);
	EXPECT_ERRNO(open(h_tmp(), O_TMPFILE | O_RDWR | O_CREAT, 0600), EINVAL);
}

CASE(tmpfile_unwritable_dir_eacces)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	ASSERT_OK(mkdir(h_path("ro"), 0755));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(h_path("ro"), O_TMPFILE | O_RDWR, 0600) == -1 && errno == EACCES ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(linkat_empty_path_on_regular_file)
{
	int fd;
	struct stat a, b;

	h_write_file(h_path("f"), "x", 1);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("g"), AT_EMPTY_PATH));
	ASSERT_OK(stat(h_path("f"), &a));
	ASSERT_OK(stat(h_path("g"), &b));
	EXPECT_SAME(a.st_ino, b.st_ino);
	EXPECT_EQ(b.st_nlink, 2);
}

CASE(linkat_empty_path_errors)
{
	int fd, dir;

	h_write_file(h_path("f"), "x", 1);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	dir = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("g"), 0), ENOENT);
	EXPECT_ERRNO(linkat(dir, "", AT_FDCWD, h_path("g"), AT_EMPTY_PATH), EPERM);
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("f"), AT_EMPTY_PATH), EEXIST);
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("g"), OPAQUE(0x8000)), EINVAL);
}

CASE(linkat_empty_path_unprivileged_enoent)
{
	pid_t pid;
	int fd;

	if (geteuid() != 0)
		SKIP("needs root to switch users");
	open_up_tmp();
	h_write_file(h_path("f"), "x", 1);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		/* needs CAP_DAC_READ_SEARCH */
		_exit(linkat(fd, "", AT_FDCWD, h_path("g"), AT_EMPTY_PATH) == -1 &&
		      errno == ENOENT ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(tmpfile_relink_after_last_unlink_enoent)
{
	int fd = ASSERT_OK(open(h_tmp(), O_TMPFILE | O_RDWR, 0600));

	ASSERT_OK(linkat(fd, "", AT_FDCWD, h_path("n"), AT_EMPTY_PATH));
	ASSERT_OK(unlink(h_path("n")));
	/* only a never-linked O_TMPFILE file may get a name from nlink 0 */
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, h_path("n2"), AT_EMPTY_PATH), ENOENT);
	EXPECT_EQ(count_entries(h_tmp()), 0);
}

HARNESS_MAIN
