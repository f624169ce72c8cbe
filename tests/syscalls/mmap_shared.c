/*
 * Shared file mappings and their coherence with read/write: MAP_SHARED seen
 * by read() and by other mappings and processes, write() seen through
 * mappings, msync, truncation and SIGBUS past EOF, MAP_PRIVATE against
 * MAP_SHARED, fork, mremap, madvise, mincore and mlock on such mappings.
 */
#include "harness.h"

#include <linux/futex.h>
#include <setjmp.h>
#include <sys/resource.h>

#define PG 4096

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_KEEPONFORK
#define MADV_KEEPONFORK 19
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define ASSERT_MAPPED(p)                                                              \
	do {                                                                          \
		if ((void *)(p) == MAP_FAILED)                                        \
			FAILX("%s: expected a mapping got %s", #p, h_errname(errno)); \
	} while (0)

#define EXPECT_MMAP_ERRNO(expr, e)                                                       \
	({                                                                               \
		errno = 0;                                                               \
		void *m_ = (expr);                                                       \
		int ok_ = m_ == MAP_FAILED && errno == (e);                              \
		if (!ok_)                                                                \
			H_FAIL("%s: expected MAP_FAILED/%s got %s", #expr, h_errname(e), \
			       m_ == MAP_FAILED ? h_errname(errno) : "a mapping");        \
		ok_;                                                                     \
	})

/* h_path("file") with `len` bytes, byte i = 'a' + i % 26; an O_RDWR fd. */
static int data_file(size_t len)
{
	char *buf = malloc(len ? len : 1);
	const char *p = h_path("file");

	for (size_t i = 0; i < len; i++)
		buf[i] = 'a' + i % 26;
	h_write_file(p, buf, len);
	free(buf);
	return ASSERT_OK(open(p, O_RDWR));
}

static char *map_shared(int fd, size_t len, off_t off)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	ASSERT_MAPPED(p);
	return p;
}

static char byte_at(int fd, off_t off)
{
	char c = 0;

	if (pread(fd, &c, 1, off) != 1)
		FAILX("pread at %ld: %s", (long)off, h_errname(errno));
	return c;
}

static off_t size_of(int fd)
{
	struct stat st;

	ASSERT_OK(fstat(fd, &st));
	return st.st_size;
}

/* ---- the mapping and read/write ---- */

CASE(shared_store_seen_by_read)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);
	char buf[4];

	memcpy(p + 10, "WXYZ", 4);
	ASSERT_OK(lseek(fd, 10, SEEK_SET));
	EXPECT_EQ(read(fd, buf, 4), 4);
	EXPECT_MEMEQ(buf, "WXYZ", 4);
}

CASE(shared_store_in_second_page_seen_by_pread)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	p[PG + 7] = '#';
	EXPECT_EQ(byte_at(fd, PG + 7), '#');
	EXPECT_EQ(byte_at(fd, PG + 8), 'a' + (PG + 8) % 26);
}

CASE(pwrite_seen_through_mapping)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);

	EXPECT_EQ(pwrite(fd, "hello", 5, 100), 5);
	EXPECT_MEMEQ(p + 100, "hello", 5);
}

CASE(write_at_offset_seen_through_mapping)
{
	int fd = data_file(2 * PG);
	char *p = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_MAPPED(p);
	ASSERT_OK(lseek(fd, PG - 2, SEEK_SET));
	EXPECT_EQ(write(fd, "span", 4), 4);
	EXPECT_MEMEQ(p + PG - 2, "span", 4);
}

CASE(write_through_other_fd_seen_through_mapping)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	int fd2 = ASSERT_OK(open(h_path("file"), O_WRONLY));

	EXPECT_EQ(pwrite(fd2, "other", 5, 0), 5);
	EXPECT_MEMEQ(p, "other", 5);
}

CASE(two_mappings_in_one_process_alias)
{
	int fd = data_file(PG);
	char *a = map_shared(fd, PG, 0);
	char *b = map_shared(fd, PG, 0);

	EXPECT_TRUE(a != b);
	a[3] = '!';
	EXPECT_EQ(b[3], '!');
	b[4] = '?';
	EXPECT_EQ(a[4], '?');
}

CASE(mappings_at_different_offsets_alias)
{
	int fd = data_file(3 * PG);
	char *whole = map_shared(fd, 3 * PG, 0);
	char *second = map_shared(fd, PG, PG);

	second[5] = '%';
	EXPECT_EQ(whole[PG + 5], '%');
	whole[PG + 6] = '^';
	EXPECT_EQ(second[6], '^');
}

CASE(mapping_of_closed_fd_still_reaches_file)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	int fd2;

	ASSERT_OK(close(fd));
	p[0] = 'C';
	fd2 = ASSERT_OK(open(h_path("file"), O_RDONLY));
	EXPECT_EQ(byte_at(fd2, 0), 'C');
}

CASE(store_reaches_file_after_munmap)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	char buf[8];

	memcpy(p + 20, "unmapped", 8);
	ASSERT_OK(munmap(p, PG));
	ASSERT_OK(close(fd));
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	EXPECT_EQ(pread(fd, buf, 8, 20), 8);
	EXPECT_MEMEQ(buf, "unmapped", 8);
}

/* ---- other processes ---- */

CASE(shared_mapping_inherited_by_fork)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		p[0] = 'K';
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(p[0], 'K');
	EXPECT_EQ(byte_at(fd, 0), 'K');
}

CASE(parent_store_after_fork_seen_by_child)
{
	int fd = data_file(PG);
	volatile char *p = map_shared(fd, PG, 0);
	int go[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(go));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(p[1] == 'P' ? 0 : 1);
	}
	p[1] = 'P';
	EXPECT_EQ(write(go[1], "x", 1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(independent_mapping_in_other_process_shares_pages)
{
	int fd = data_file(PG);
	volatile char *p = map_shared(fd, PG, 0);
	int done[2];
	pid_t pid;
	char c;

	ASSERT_OK(pipe(done));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		/* Its own open and its own mapping of the same file. */
		int cfd = open(h_path("file"), O_RDWR);
		char *q = cfd < 0 ? MAP_FAILED : mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);

		if (q == MAP_FAILED)
			_exit(2);
		q[9] = 'I';
		if (write(done[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	ASSERT_EQ(read(done[0], &c, 1), 1);
	/* Seen while the other mapping still exists, without msync. */
	EXPECT_EQ(p[9], 'I');
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(futex_through_independent_file_mappings)
{
	int fd = data_file(PG);
	volatile int *word = (volatile int *)map_shared(fd, PG, 0);
	pid_t pid;
	int st = 0, reaped = 0;

	*word = 0;
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		int cfd = open(h_path("file"), O_RDWR);
		volatile int *w = cfd < 0 ? MAP_FAILED
					  : mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);

		if (w == MAP_FAILED)
			_exit(2);
		while (*w == 0)
			syscall(SYS_futex, w, FUTEX_WAIT, 0, NULL, NULL, 0);
		_exit(*w == 7 ? 0 : 1);
	}
	usleep(50000);
	*word = 7;
	for (int i = 0; i < 200; i++) {
		syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
		reaped = waitpid(pid, &st, WNOHANG) == pid;
		if (reaped)
			break;
		usleep(10000);
	}
	if (!reaped) {
		kill(pid, SIGKILL);
		h_wait(pid);
	}
	EXPECT_TRUE(reaped);
	EXPECT_EXITED(st, 0);
}

CASE(store_before_exit_reaches_file)
{
	int fd = data_file(PG);
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		char *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (q == MAP_FAILED)
			_exit(2);
		q[0] = 'E';
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(byte_at(fd, 0), 'E');
}

/* ---- MAP_PRIVATE against MAP_SHARED ---- */

CASE(private_store_reaches_neither_file_nor_shared_mapping)
{
	int fd = data_file(PG);
	char *shared = map_shared(fd, PG, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(priv);
	priv[0] = 'p';
	EXPECT_EQ(shared[0], 'a');
	EXPECT_EQ(byte_at(fd, 0), 'a');
}

CASE(private_written_page_ignores_later_shared_stores)
{
	int fd = data_file(PG);
	char *shared = map_shared(fd, PG, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(priv);
	priv[0] = 'p';
	shared[1] = 'S';
	EXPECT_EQ(priv[0], 'p');
	EXPECT_EQ(priv[1], 'b');
}

CASE(unwritten_private_page_sees_later_file_changes)
{
	int fd = data_file(PG);
	char *shared = map_shared(fd, PG, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(priv);
	EXPECT_EQ(pwrite(fd, "W", 1, 0), 1);
	EXPECT_EQ(priv[0], 'W');
	shared[1] = 'S';
	EXPECT_EQ(priv[1], 'S');
}

CASE(private_copy_inherited_by_fork_is_private)
{
	int fd = data_file(PG);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	pid_t pid;

	ASSERT_MAPPED(priv);
	priv[0] = 'p';
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		priv[0] = 'c';
		priv[1] = 'c';
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(priv[0], 'p');
	EXPECT_EQ(priv[1], 'b');
	EXPECT_EQ(byte_at(fd, 0), 'a');
}

CASE(new_private_mapping_sees_shared_stores)
{
	int fd = data_file(PG);
	char *shared = map_shared(fd, PG, 0);
	char *priv;

	shared[2] = 'N';
	priv = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_MAPPED(priv);
	EXPECT_EQ(priv[2], 'N');
}

CASE(dontneed_private_mapping_rereads_shared_stores)
{
	int fd = data_file(PG);
	char *shared = map_shared(fd, PG, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(priv);
	priv[0] = 'p';
	shared[0] = 'S';
	ASSERT_OK(madvise(priv, PG, MADV_DONTNEED));
	EXPECT_EQ(priv[0], 'S');
}

/* ---- msync ---- */

CASE(msync_sync_and_async_write_back)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);

	p[0] = '1';
	EXPECT_OK(msync(p, PG, MS_SYNC));
	EXPECT_EQ(byte_at(fd, 0), '1');
	p[1] = '2';
	EXPECT_OK(msync(p, PG, MS_ASYNC));
	EXPECT_OK(msync(p, PG, MS_SYNC | MS_INVALIDATE));
	EXPECT_EQ(byte_at(fd, 1), '2');
}

CASE(msync_errors)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_ERRNO(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
	EXPECT_ERRNO(msync(p + 1, PG, MS_SYNC), EINVAL);
	EXPECT_ERRNO(msync(p, PG, 0x40), EINVAL);
	EXPECT_OK(msync(p, 0, MS_SYNC));
	EXPECT_OK(msync(p, 1, MS_SYNC));
	EXPECT_OK(msync(p, PG, 0));
}

CASE(msync_partly_unmapped_enomem)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	ASSERT_OK(munmap(p + PG, PG));
	EXPECT_ERRNO(msync(p, 2 * PG, MS_SYNC), ENOMEM);
	EXPECT_OK(msync(p, PG, MS_SYNC));
}

CASE(msync_anonymous_ok)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	EXPECT_OK(msync(p, PG, MS_SYNC));
	EXPECT_OK(msync(p, PG, MS_ASYNC));
}

CASE(msync_invalidate_locked_ebusy)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);

	if (mlock(p, PG) != 0)
		SKIP("mlock: %s", h_errname(errno));
	EXPECT_ERRNO(msync(p, PG, MS_INVALIDATE), EBUSY);
	EXPECT_OK(msync(p, PG, MS_SYNC));
}

/* ---- EOF, truncation, SIGBUS ---- */

CASE(partial_last_page_zero_filled)
{
	int fd = data_file(100);
	char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	int zero = 1;

	ASSERT_MAPPED(p);
	EXPECT_EQ(p[99], 'a' + 99 % 26);
	for (int i = 100; i < PG; i++)
		zero &= p[i] == 0;
	EXPECT_TRUE(zero);
}

CASE(store_past_eof_in_last_page_does_not_grow_file)
{
	int fd = data_file(100);
	char *p = map_shared(fd, PG, 0);

	p[200] = 'x';
	EXPECT_OK(msync(p, PG, MS_SYNC));
	EXPECT_EQ(size_of(fd), 100);
}

CASE(shared_page_past_eof_sigbus_adrerr)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, 3 * PG, 0);

	EXPECT_EQ(h_touch(p + PG - 1, 1, 'x'), 0);
	EXPECT_EQ(h_touch(p + 2 * PG + 3, 0, 0), SIGBUS);
	EXPECT_TRUE(h_fault_addr == p + 2 * PG + 3);
	EXPECT_EQ(h_fault_code, BUS_ADRERR);
}

CASE(prot_none_page_past_eof_sigsegv)
{
	int fd = data_file(PG);
	char *p = mmap(NULL, 2 * PG, PROT_NONE, MAP_SHARED, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGSEGV);
	ASSERT_OK(mprotect(p, 2 * PG, PROT_READ));
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGBUS);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
}

CASE(ftruncate_shrink_then_touch_sigbus)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_EQ(h_touch(p + PG, 0, 0), 0);
	ASSERT_OK(ftruncate(fd, PG));
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGBUS);
	EXPECT_EQ(h_touch(p, 1, 'k'), 0);
	EXPECT_EQ(byte_at(fd, 0), 'k');
}

CASE(truncate_by_other_process_sigbus_here)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);
	pid_t pid;

	EXPECT_EQ(h_touch(p + PG, 0, 0), 0);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(truncate(h_path("file"), PG) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGBUS);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
}

CASE(truncate_makes_written_private_page_sigbus)
{
	int fd = data_file(2 * PG);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p + PG, 1, 'x'), 0);
	ASSERT_OK(ftruncate(fd, PG));
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGBUS);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
}

CASE(syscall_buffer_past_eof_efault)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, 2 * PG, 0);
	int other = ASSERT_OK(open(h_path("other"), O_RDWR | O_CREAT, 0600));

	EXPECT_EQ(write(other, "data", 4), 4);
	EXPECT_ERRNO(pread(other, p + PG, 4, 0), EFAULT);
	EXPECT_ERRNO(pwrite(other, p + PG, 4, 0), EFAULT);
	EXPECT_EQ(pread(other, p + PG - 4, 4, 0), 4);
	EXPECT_EQ(byte_at(fd, PG - 1), 'a');
}

CASE(ftruncate_shrink_zeroes_tail_of_last_page)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);

	ASSERT_OK(ftruncate(fd, 10));
	EXPECT_EQ(p[9], 'j');
	EXPECT_EQ(p[10], 0);
	EXPECT_EQ(p[PG - 1], 0);
}

CASE(ftruncate_grow_makes_page_accessible)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGBUS);
	ASSERT_OK(ftruncate(fd, 2 * PG));
	EXPECT_EQ(h_touch(p + PG, 1, 'g'), 0);
	EXPECT_EQ(byte_at(fd, PG), 'g');
}

CASE(write_past_eof_grows_file_into_mapping)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_EQ(pwrite(fd, "grown", 5, PG + 10), 5);
	EXPECT_EQ(h_touch(p + PG + 10, 0, 0), 0);
	EXPECT_MEMEQ(p + PG + 10, "grown", 5);
	EXPECT_EQ(p[PG], 0);
}

CASE(o_trunc_open_makes_mapping_past_eof_sigbus)
{
	int fd = data_file(PG);
	char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
	ASSERT_OK(close(ASSERT_OK(open(h_path("file"), O_WRONLY | O_TRUNC))));
	EXPECT_EQ(h_touch(p, 0, 0), SIGBUS);
}

CASE(private_mapping_past_eof_sigbus)
{
	int fd = data_file(10);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p + 50, 1, 'x'), 0);
	EXPECT_EQ(h_touch(p + PG, 1, 'x'), SIGBUS);
	EXPECT_EQ(h_fault_code, BUS_ADRERR);
}

/* ---- permissions and flags ---- */

CASE(shared_writable_mapping_of_rdonly_fd_eacces)
{
	int fd;

	close(data_file(PG));
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
	EXPECT_TRUE(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) != MAP_FAILED);
}

CASE(mapping_of_wronly_fd_eacces)
{
	int fd;

	close(data_file(PG));
	fd = ASSERT_OK(open(h_path("file"), O_WRONLY));
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0), EACCES);
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), EACCES);
}

CASE(mprotect_adds_write_to_shared_mapping_of_rdwr_fd)
{
	int fd = data_file(PG);
	char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p, 1, 'x'), SIGSEGV);
	ASSERT_OK(mprotect(p, PG, PROT_READ | PROT_WRITE));
	p[0] = 'M';
	EXPECT_EQ(byte_at(fd, 0), 'M');
}

CASE(mprotect_private_mapping_of_rdonly_fd_writable)
{
	int fd;
	char *p;

	close(data_file(PG));
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_MAPPED(p);
	EXPECT_OK(mprotect(p, PG, PROT_READ | PROT_WRITE));
	p[0] = 'w';
	EXPECT_EQ(byte_at(fd, 0), 'a');
}

CASE(shared_validate_accepts_known_flags)
{
	int fd = data_file(PG);
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_NORESERVE, fd, 0);

	ASSERT_MAPPED(p);
	p[0] = 'v';
	EXPECT_EQ(byte_at(fd, 0), 'v');
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x80000 /* MAP_SYNC */, fd, 0),
			  EOPNOTSUPP);
}

CASE(shared_validate_rejects_anonymous_and_noreplace)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	ASSERT_OK(munmap(p + PG, PG));
	/* MAP_FIXED_NOREPLACE is not in Linux's validated set. */
	EXPECT_MMAP_ERRNO(mmap(p + PG, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, fd, 0),
			  EOPNOTSUPP);
}

CASE(mapping_of_dev_null_enodev_and_huge_offset_eoverflow)
{
	int null = ASSERT_OK(open("/dev/null", O_RDWR));
	int fd = data_file(PG);

	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, null, 0), ENODEV);
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED, null, 0), ENODEV);
	EXPECT_MMAP_ERRNO(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0x7ffffffffffff000LL), EOVERFLOW);
}

CASE(fixed_noreplace_over_shared_mapping_eexist)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);

	EXPECT_MMAP_ERRNO(mmap(p + PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0), EEXIST);
	EXPECT_EQ(p[PG], 'a' + PG % 26);
}

CASE(map_fixed_over_shared_mapping_replaces_it)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);
	char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	ASSERT_TRUE(q == p + PG);
	EXPECT_EQ(q[0], 0);
	q[0] = 'z';
	EXPECT_EQ(byte_at(fd, PG), 'a' + PG % 26);
}

/* ---- /dev/zero and anonymous shared memory ---- */

CASE(dev_zero_shared_and_private_are_zeroed)
{
	int fd = ASSERT_OK(open("/dev/zero", O_RDWR));
	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(s);
	ASSERT_MAPPED(p);
	EXPECT_EQ(s[PG - 1] + p[PG - 1], 0);
	s[0] = 1;
	p[0] = 2;
	EXPECT_EQ(s[0] + p[0], 3);
}

CASE(shared_anonymous_child_store_seen_by_parent)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_MAPPED(p);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		p[5] = 55;
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(p[5], 55);
}

/* ---- mremap ---- */

CASE(mremap_grow_shared_file_mapping_maps_file)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, PG, 0);
	char *q = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE);

	ASSERT_MAPPED(q);
	EXPECT_EQ(q[PG + 1], 'a' + (PG + 1) % 26);
	q[PG + 1] = 'R';
	EXPECT_EQ(byte_at(fd, PG + 1), 'R');
}

CASE(mremap_moved_shared_mapping_still_shared)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	char *area = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q;

	ASSERT_MAPPED(area);
	p[0] = 'b';
	q = mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, area + 2 * PG);
	ASSERT_TRUE(q == area + 2 * PG);
	EXPECT_EQ(q[0], 'b');
	EXPECT_EQ(h_touch(p, 0, 0), SIGSEGV);
	q[1] = 'm';
	EXPECT_EQ(byte_at(fd, 1), 'm');
	EXPECT_OK(pwrite(fd, "W", 1, 2));
	EXPECT_EQ(q[2], 'W');
}

CASE(mremap_moved_shared_anonymous_still_shared_with_child)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *area = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q;
	pid_t pid;

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(area);
	p[0] = 7;
	q = mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, area + PG);
	ASSERT_TRUE(q == area + PG);
	EXPECT_EQ(q[0], 7);
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		q[1] = 8;
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(q[1], 8);
}

CASE(mremap_shrink_shared_mapping_keeps_head)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);
	char *q = mremap(p, 2 * PG, PG, 0);

	ASSERT_TRUE(q == p);
	q[0] = 's';
	EXPECT_EQ(byte_at(fd, 0), 's');
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGSEGV);
}

CASE(mremap_old_size_zero_duplicates_shared_file_mapping)
{
	int fd = data_file(2 * PG);
	char *p = map_shared(fd, 2 * PG, 0);
	char *q = mremap(p + PG, 0, PG, MREMAP_MAYMOVE);

	ASSERT_MAPPED(q);
	EXPECT_TRUE(q != p + PG);
	q[0] = 'd';
	EXPECT_EQ(p[PG], 'd');
	p[PG + 1] = 'e';
	EXPECT_EQ(q[1], 'e');
	EXPECT_EQ(p[0], 'a');
}

CASE(mremap_old_size_zero_duplicates_shared_anonymous)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *q;

	ASSERT_MAPPED(p);
	q = mremap(p, 0, 3 * PG, MREMAP_MAYMOVE);
	ASSERT_MAPPED(q);
	q[0] = 1;
	EXPECT_EQ(p[0], 1);
	p[PG] = 2;
	EXPECT_EQ(q[PG], 2);
	/* Past the end of the shared object. */
	EXPECT_EQ(h_touch(q + 2 * PG, 0, 0), SIGBUS);
}

CASE(mremap_old_size_zero_errors)
{
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(priv);
	ASSERT_MAPPED(s);
	EXPECT_TRUE(mremap(priv, 0, PG, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL);
	EXPECT_TRUE(mremap(s, 0, PG, 0) == MAP_FAILED && errno == ENOMEM);
}

/* The raw system call: some glibc wrappers refuse MREMAP_DONTUNMAP. */
static char *raw_mremap(void *old, size_t old_len, size_t new_len, int flags)
{
	return (char *)syscall(SYS_mremap, old, old_len, new_len, flags, 0);
}

CASE(mremap_dontunmap_private_anonymous_leaves_zeros)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q;

	ASSERT_MAPPED(p);
	p[0] = 5;
	q = raw_mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	ASSERT_MAPPED(q);
	EXPECT_TRUE(q != p);
	EXPECT_EQ(q[0], 5);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
	EXPECT_EQ(p[0], 0);
}

CASE(mremap_dontunmap_file_mappings_show_the_file)
{
	int fd = data_file(PG);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *shared = map_shared(fd, PG, 0);
	char *q, *r;

	ASSERT_MAPPED(priv);
	priv[0] = 'X';
	q = raw_mremap(priv, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	ASSERT_MAPPED(q);
	EXPECT_EQ(q[0], 'X');
	EXPECT_EQ(priv[0], 'a');
	r = raw_mremap(shared, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	ASSERT_MAPPED(r);
	r[1] = 'Q';
	EXPECT_EQ(shared[1], 'Q');
	EXPECT_EQ(byte_at(fd, 1), 'Q');
}

CASE(mremap_dontunmap_errors)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	EXPECT_TRUE(raw_mremap(p, PG, PG, MREMAP_DONTUNMAP) == MAP_FAILED && errno == EINVAL);
	EXPECT_TRUE(raw_mremap(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP) == MAP_FAILED && errno == EINVAL);
}

/* ---- madvise, mincore, mlock ---- */

CASE(madvise_dontneed_shared_file_keeps_stores)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);

	p[0] = 'D';
	ASSERT_OK(madvise(p, PG, MADV_DONTNEED));
	EXPECT_EQ(p[0], 'D');
	EXPECT_EQ(byte_at(fd, 0), 'D');
}

CASE(madvise_dontneed_anonymous_zeroes)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	p[0] = 1;
	p[PG] = 2;
	ASSERT_OK(madvise(p, PG, MADV_DONTNEED));
	EXPECT_EQ(p[0], 0);
	EXPECT_EQ(p[PG], 2);
}

CASE(madvise_remove_zeroes_shared_anonymous_for_all)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_MAPPED(p);
	ASSERT_MAPPED(priv);
	p[0] = 1;
	p[PG] = 2;
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(madvise(p, PG, MADV_REMOVE) == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(p[0], 0);
	EXPECT_EQ(p[PG], 2);
	EXPECT_ERRNO(madvise(priv, PG, MADV_REMOVE), EINVAL);
}

CASE(madvise_wipeonfork_child_sees_zeros)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_MAPPED(p);
	p[0] = 5;
	ASSERT_OK(madvise(p, PG, MADV_WIPEONFORK));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(p[0] == 0 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(p[0], 5);
	ASSERT_OK(madvise(p, PG, MADV_KEEPONFORK));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(p[0] == 5 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(madvise_wipeonfork_on_file_mapping_einval)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(s);
	EXPECT_ERRNO(madvise(p, PG, MADV_WIPEONFORK), EINVAL);
	EXPECT_ERRNO(madvise(s, PG, MADV_WIPEONFORK), EINVAL);
}

CASE(madvise_dofork_undoes_dontfork)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_MAPPED(p);
	p[0] = 3;
	ASSERT_OK(madvise(p, PG, MADV_DONTFORK));
	ASSERT_OK(madvise(p, PG, MADV_DOFORK));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(h_touch(p, 0, 0) == 0 && p[0] == 3 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(madvise_dontfork_shared_file_mapping_hidden_from_child)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, PG, 0);
	pid_t pid;

	ASSERT_OK(madvise(p, PG, MADV_DONTFORK));
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(h_touch(p, 0, 0) == SIGSEGV ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(h_touch(p, 0, 0), 0);
}

CASE(madvise_partly_unmapped_enomem)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	ASSERT_OK(munmap(p + PG, PG));
	EXPECT_ERRNO(madvise(p, 2 * PG, MADV_NORMAL), ENOMEM);
	EXPECT_OK(madvise(p, PG, MADV_NORMAL));
	EXPECT_OK(madvise(p, 0, MADV_NORMAL));
}

CASE(mincore_file_mapping_and_errors)
{
	int fd = data_file(PG);
	char *p = map_shared(fd, 2 * PG, 0);
	unsigned char vec[2] = {0xff, 0xff};

	ASSERT_OK(munmap(p + PG, PG));
	(void)*(volatile char *)p;
	ASSERT_OK(mincore(p, PG, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_EQ(vec[1], 0xff);
	EXPECT_ERRNO(mincore(p, PG, (unsigned char *)1), EFAULT);
	EXPECT_ERRNO(mincore(p + 1, PG, vec), EINVAL);
	EXPECT_ERRNO(mincore(p, 2 * PG, vec), ENOMEM);
	EXPECT_OK(mincore(p, 0, vec));
}

CASE(mlock_family_errors)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	EXPECT_OK(mlock(p + 1, 10));
	EXPECT_OK(munlock(p + 1, 10));
	EXPECT_ERRNO(syscall(SYS_mlock2, p, PG, 0x10), EINVAL);
	EXPECT_OK(syscall(SYS_mlock2, p, PG, MLOCK_ONFAULT));
	EXPECT_OK(munlockall());
	EXPECT_ERRNO(mlockall(0), EINVAL);
	EXPECT_ERRNO(mlockall(MCL_ONFAULT), EINVAL);
	EXPECT_ERRNO(mlockall(0x100), EINVAL);
	ASSERT_OK(munmap(p + PG, PG));
	EXPECT_ERRNO(mlock(p, 2 * PG), ENOMEM);
	EXPECT_ERRNO(munlock(p, 2 * PG), ENOMEM);
}

CASE(mlock_over_memlock_limit_enomem_without_cap)
{
	struct rlimit rl = {PG, PG};
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	if (geteuid() == 0)
		SKIP("root has CAP_IPC_LOCK");
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_OK(mlock(p, PG));
	EXPECT_ERRNO(mlock(p, 2 * PG), ENOMEM);
	EXPECT_OK(munlock(p, PG));
}

CASE(mlock_over_memlock_limit_after_dropping_root)
{
	struct rlimit rl = {PG, PG};
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_MAPPED(p);
	if (geteuid() != 0)
		SKIP("needs root to drop to an unprivileged uid");
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_OK(setresuid(65534, 65534, 65534));
	EXPECT_OK(mlock(p, PG));
	EXPECT_ERRNO(mlock(p, 2 * PG), ENOMEM);
	EXPECT_OK(munlock(p, PG));
	rl.rlim_cur = rl.rlim_max = 0;
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_ERRNO(mlock(p, PG), EPERM);
	EXPECT_ERRNO(mlockall(MCL_CURRENT), EPERM);
}

/* ---- /proc/self/maps ---- */

/* The /proc/self/maps lines overlapping [p, p+len); *exact set when one
 * line is exactly that range. */
static int maps_lines(char *p, size_t len, int *exact)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];
	int n = 0;

	if (!f)
		FAILX("fopen /proc/self/maps: %s", h_errname(errno));
	*exact = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (hi <= (unsigned long)p || lo >= (unsigned long)p + len)
			continue;
		n++;
		*exact |= lo == (unsigned long)p && hi == (unsigned long)p + len;
	}
	fclose(f);
	return n;
}

CASE(maps_shows_one_line_per_shared_file_mapping)
{
	int fd = data_file(3 * PG);
	char *mid = map_shared(fd, PG, PG);
	/* Its second page is already cached; its fourth lies past EOF. */
	char *all = map_shared(fd, 4 * PG, 0);
	int exact;

	mid[0] = 'm';
	EXPECT_EQ(all[PG], 'm');
	EXPECT_EQ(maps_lines(all, 4 * PG, &exact), 1);
	EXPECT_TRUE(exact);
}

/* ---- exec ---- */

CASE(exec_after_munmap_runs_contents_written_through_mapping)
{
	const char *path = h_path("script");
	const char *text = "#!/bin/sh\nexit 42\n";
	size_t len = strlen(text);
	int fd = ASSERT_OK(open(path, O_RDWR | O_CREAT, 0755));
	char *p;
	pid_t pid;

	ASSERT_OK(ftruncate(fd, len));
	p = map_shared(fd, len, 0);
	memcpy(p, text, len);
	ASSERT_OK(close(fd));
	/* A writable shared mapping would make execve ETXTBSY. */
	ASSERT_OK(munmap(p, len));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	EXPECT_EXITED(h_wait(pid), 42);
}

CASE(map_locked_over_memlock_limit_eagain)
{
	struct rlimit rl = {PG, PG};
	char *p;

	if (geteuid() != 0)
		SKIP("needs root to drop to an unprivileged uid");
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_OK(setresuid(65534, 65534, 65534));
	EXPECT_MMAP_ERRNO(mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	ASSERT_MAPPED(p);
	/* The limit is used up. */
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
	ASSERT_OK(munlock(p, PG));
	EXPECT_TRUE(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0) != MAP_FAILED);
}

CASE(mlockall_future_locks_new_mappings)
{
	struct rlimit rl = {2 * PG, 2 * PG};
	char *p;

	if (geteuid() != 0)
		SKIP("needs root to drop to an unprivileged uid");
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_OK(setresuid(65534, 65534, 65534));
	ASSERT_OK(mlockall(MCL_FUTURE));
	p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_MAPPED(p);
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EAGAIN);
	ASSERT_OK(munlockall());
	EXPECT_TRUE(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED);
}

/* ---- host files (the read-only lower layer under runsc) ---- */

CASE(shared_mapping_of_executable_matches_read)
{
	int fd = ASSERT_OK(open("/proc/self/exe", O_RDONLY));
	char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	char buf[64];

	ASSERT_MAPPED(p);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	EXPECT_MEMEQ(p, buf, sizeof(buf));
	EXPECT_MEMEQ(p, "\177ELF", 4);
}

HARNESS_MAIN
