/*
 * Devices: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom,
 * /dev/fd, /dev/stdin..stderr.
 */
#include "harness.h"

#include <sys/sysmacros.h>

static int all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void expect_chr(const char *path, unsigned maj, unsigned min)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		H_FAIL("stat %s: %s", path, h_errname(errno));
		return;
	}
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), maj);
	EXPECT_EQ(minor(st.st_rdev), min);
	EXPECT_EQ(st.st_mode & 0666, 0666);
}

CASE(device_numbers)
{
	expect_chr("/dev/null", 1, 3);
	expect_chr("/dev/zero", 1, 5);
	expect_chr("/dev/full", 1, 7);
	expect_chr("/dev/random", 1, 8);
	expect_chr("/dev/urandom", 1, 9);
}

CASE(dev_null_reads_eof)
{
	char buf[16];
	int fd = ASSERT_OK(open("/dev/null", O_RDONLY));

	EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 100), 0);
}

CASE(dev_null_swallows_writes)
{
	static char buf[1 << 20];
	int fd = ASSERT_OK(open("/dev/null", O_WRONLY));

	EXPECT_EQ(write(fd, buf, sizeof(buf)), sizeof(buf));
	EXPECT_EQ(write(fd, "x", 1), 1);
	EXPECT_EQ(pwrite(fd, "x", 1, 12345), 1);
}

CASE(dev_null_lseek_is_zero)
{
	int fd = ASSERT_OK(open("/dev/null", O_RDWR));

	EXPECT_EQ(lseek(fd, 100, SEEK_SET), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_END), 0);
}

CASE(dev_null_open_with_creat_and_trunc)
{
	struct stat st;
	int fd = ASSERT_OK(open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600));

	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_ERRNO(open("/dev/null", O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
}

CASE(dev_zero_reads_zeros)
{
	static char buf[1 << 20];
	int fd = ASSERT_OK(open("/dev/zero", O_RDONLY));

	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(read(fd, buf, sizeof(buf)), sizeof(buf));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
}

CASE(dev_zero_accepts_writes)
{
	int fd = ASSERT_OK(open("/dev/zero", O_WRONLY));

	EXPECT_EQ(write(fd, "abc", 3), 3);
}

CASE(dev_zero_private_mapping)
{
	int fd = ASSERT_OK(open("/dev/zero", O_RDWR));
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_TRUE(all_zero(p, 8192));
	p[100] = 1;
	EXPECT_EQ(p[100], 1);
}

CASE(dev_zero_shared_mapping_shared_with_child)
{
	int fd = ASSERT_OK(open("/dev/zero", O_RDWR));
	volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pid_t pid;

	ASSERT_TRUE(p != MAP_FAILED);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		p[0] = 9;
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(p[0], 9);
}

CASE(dev_full_write_enospc)
{
	int fd = ASSERT_OK(open("/dev/full", O_WRONLY));

	EXPECT_ERRNO(write(fd, "x", 1), ENOSPC);
}

CASE(dev_full_reads_zeros)
{
	char buf[64];
	int fd = ASSERT_OK(open("/dev/full", O_RDONLY));

	memset(buf, 1, sizeof(buf));
	EXPECT_EQ(read(fd, buf, sizeof(buf)), sizeof(buf));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
}

CASE(dev_urandom_reads_random_bytes)
{
	char a[64], b[64];
	int fd = ASSERT_OK(open("/dev/urandom", O_RDONLY));

	EXPECT_EQ(read(fd, a, sizeof(a)), sizeof(a));
	EXPECT_EQ(read(fd, b, sizeof(b)), sizeof(b));
	EXPECT_TRUE(!all_zero(a, sizeof(a)));
	EXPECT_TRUE(memcmp(a, b, sizeof(a)) != 0);
}

CASE(dev_urandom_large_read)
{
	static char buf[1 << 20];
	int fd = ASSERT_OK(open("/dev/urandom", O_RDONLY));
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - got);

		if (r <= 0)
			break;
		got += r;
	}
	EXPECT_EQ(got, sizeof(buf));
	EXPECT_TRUE(!all_zero(buf + sizeof(buf) - 64, 64));
}

CASE(dev_urandom_accepts_writes)
{
	int fd = ASSERT_OK(open("/dev/urandom", O_WRONLY));

	EXPECT_EQ(write(fd, "entropy?", 8), 8);
}

CASE(dev_random_does_not_block)
{
	char buf[32];
	int fd = ASSERT_OK(open("/dev/random", O_RDONLY | O_NONBLOCK));

	EXPECT_EQ(read(fd, buf, sizeof(buf)), sizeof(buf));
}

CASE(dev_fd_reopens_descriptor)
{
	char path[32], c;
	int fd, again;

	h_write_file(h_path("f"), "xyz", 3);
	fd = ASSERT_OK(open(h_path("f"), O_RDONLY));
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	again = ASSERT_OK(open(path, O_RDONLY));
	EXPECT_EQ(read(again, &c, 1), 1);
	EXPECT_EQ(c, 'x');
}

CASE(dev_std_links)
{
	char buf[64] = {0};

	EXPECT_GT(readlink("/dev/stdin", buf, sizeof(buf) - 1), 0);
	EXPECT_STREQ(buf, "/proc/self/fd/0");
	memset(buf, 0, sizeof(buf));
	EXPECT_GT(readlink("/dev/stderr", buf, sizeof(buf) - 1), 0);
	EXPECT_STREQ(buf, "/proc/self/fd/2");
}

CASE(dev_directory_listing)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	int seen = 0;

	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d))) {
		seen |= (strcmp(e->d_name, "null") == 0) << 0;
		seen |= (strcmp(e->d_name, "zero") == 0) << 1;
		seen |= (strcmp(e->d_name, "urandom") == 0) << 2;
	}
	closedir(d);
	EXPECT_EQ(seen, 7);
}

HARNESS_MAIN
