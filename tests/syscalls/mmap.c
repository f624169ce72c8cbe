/*
 * Mappings: mmap (anonymous, file, fixed), munmap, mprotect, mremap, msync,
 * mincore, mlock. Faults are observed with a SIGSEGV/SIGBUS handler.
 */
#include "harness.h"

#include <setjmp.h>

#define PG 4096

/* mmap() must fail with errno e. */
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

/* mmap() must succeed. */
#define ASSERT_MAPPED(p)                                                              \
	do {                                                                          \
		if ((void *)(p) == MAP_FAILED)                                        \
			FAILX("%s: expected a mapping got %s", #p, h_errname(errno)); \
	} while (0)

static char *anon(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAILX("mmap anon: %s", h_errname(errno));
	return p;
}

/* A file of `pages` pages, byte i = 'a' + i % 26; returns an O_RDWR fd. */
static int pattern_file(int pages, size_t extra)
{
	size_t len = (size_t)pages * PG + extra;
	char *buf = malloc(len);
	const char *p = h_path("file");

	for (size_t i = 0; i < len; i++)
		buf[i] = 'a' + i % 26;
	h_write_file(p, buf, len);
	free(buf);
	return ASSERT_OK(open(p, O_RDWR));
}

/* ---- mmap ---- */

CASE(mmap_anonymous_is_zeroed_and_writable)
{
	char *p = anon(3 * PG, PROT_READ | PROT_WRITE);
	int zero = 1;

	EXPECT_EQ((uintptr_t)p % PG, 0);
	for (int i = 0; i < 3 * PG; i++)
		zero &= p[i] == 0;
	EXPECT_TRUE(zero);
	p[0] = 1;
	p[3 * PG - 1] = 2;
	EXPECT_EQ(p[0] + p[3 * PG - 1], 3);
}

CASE(mmap_length_zero_einval)
{
	EXPECT_MMAP_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
}

CASE(mmap_needs_private_or_shared)
{
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
}

CASE(mmap_shared_validate_rejects_unknown_flags)
{
	int fd = pattern_file(1, 0);

	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0), EOPNOTSUPP);
	EXPECT_TRUE(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE, fd, 0) != MAP_FAILED);
}

CASE(mmap_unaligned_offset_einval)
{
	int fd = pattern_file(2, 0);

	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
}

CASE(mmap_bad_fd_ebadf)
{
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 1000, 0), EBADF);
}

CASE(mmap_fixed_unaligned_einval)
{
	char *p = anon(2 * PG, PROT_READ);

	EXPECT_MMAP_ERRNO(mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
}

CASE(mmap_fixed_replaces_mapping)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);
	char *q;

	memset(p, 7, 2 * PG);
	q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT_TRUE(q == p + PG);
	EXPECT_EQ(p[0], 7);
	EXPECT_EQ(p[PG], 0);
}

CASE(mmap_fixed_noreplace_eexist)
{
	char *p = anon(2 * PG, PROT_READ);
	char *q;

	EXPECT_MMAP_ERRNO(mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
			  EEXIST);
	ASSERT_OK(munmap(p + PG, PG));
	q = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT_TRUE(q == p + PG);
}

/* Past TASK_SIZE (x86-64: 0x7ffffffff000) there is nothing to map (ENOMEM). */
CASE(mmap_fixed_past_user_space_enomem)
{
	void *high = (void *)0x800000000000UL;

	EXPECT_MMAP_ERRNO(mmap(high, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
			  ENOMEM);
	EXPECT_MMAP_ERRNO(mmap(high, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM);
	EXPECT_MMAP_ERRNO(mmap((void *)(0x7ffffffff000UL - PG), 2 * PG, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), ENOMEM);
}

CASE(mmap_hint_is_page_aligned)
{
	char *base = anon(4 * PG, PROT_NONE);
	char *p;

	ASSERT_OK(munmap(base, 4 * PG));
	p = mmap(base + 5, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_MAPPED(p);
	EXPECT_EQ((uintptr_t)p % PG, 0);
}

CASE(mmap_file_private_reads_content)
{
	int fd = pattern_file(2, 100);
	char *p = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(p[0], 'a');
	EXPECT_EQ(p[PG + 1], 'a' + (PG + 1) % 26);
	EXPECT_EQ(p[2 * PG + 99], 'a' + (2 * PG + 99) % 26);
	/* The rest of the last page, past the end of the file, reads as zero. */
	EXPECT_EQ(p[2 * PG + 100], 0);
	EXPECT_EQ(p[3 * PG - 1], 0);
}

CASE(mmap_file_with_offset)
{
	int fd = pattern_file(3, 0);
	char *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 2 * PG);

	ASSERT_MAPPED(p);
	EXPECT_EQ(p[0], 'a' + (2 * PG) % 26);
	EXPECT_EQ(p[10], 'a' + (2 * PG + 10) % 26);
}

CASE(mmap_file_private_writes_stay_private)
{
	int fd = pattern_file(1, 0);
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char c;

	ASSERT_MAPPED(p);
	p[0] = 'Z';
	EXPECT_EQ(pread(fd, &c, 1, 0), 1);
	EXPECT_EQ(c, 'a');
}

CASE(mmap_file_shared_writes_reach_file)
{
	int fd = pattern_file(1, 0);
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char c;

	ASSERT_MAPPED(p);
	p[5] = 'Z';
	EXPECT_EQ(pread(fd, &c, 1, 5), 1);
	EXPECT_EQ(c, 'Z');
	/* ... and writes to the file show through the mapping. */
	EXPECT_EQ(pwrite(fd, "Q", 1, 6), 1);
	EXPECT_EQ(p[6], 'Q');
}

CASE(mmap_shared_anonymous_shared_with_child)
{
	volatile int *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_MAPPED(p);
	*p = 1;
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		*p = 42;
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(*p, 42);
}

CASE(mmap_private_anonymous_not_shared_with_child)
{
	volatile int *p = (volatile int *)anon(PG, PROT_READ | PROT_WRITE);
	pid_t pid;

	*p = 1;
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		*p = 42;
		_exit(*p == 42 ? 0 : 1);
	}
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(*p, 1);
}

CASE(mmap_shared_write_on_readonly_fd_eacces)
{
	int fd;

	pattern_file(1, 0);
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
	/* A private writable mapping of a read-only fd is fine. */
	EXPECT_TRUE(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) != MAP_FAILED);
}

CASE(mmap_writeonly_fd_eacces)
{
	int fd;

	pattern_file(1, 0);
	fd = ASSERT_OK(open(h_path("file"), O_WRONLY));
	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), EACCES);
}

CASE(mmap_directory_fd_enodev)
{
	int fd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));

	EXPECT_MMAP_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV);
}

CASE(mmap_past_end_of_file_sigbus)
{
	int fd = pattern_file(1, 0);
	char *p = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_EQ(h_touch(p + PG - 1, 0, 0), 0);
	EXPECT_EQ(h_touch(p + PG + 8, 0, 0), SIGBUS);
	EXPECT_TRUE(h_fault_addr == p + PG + 8);
}

CASE(mmap_prot_none_faults)
{
	char *p = anon(PG, PROT_NONE);

	EXPECT_EQ(h_touch(p + 3, 0, 0), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p + 3);
	EXPECT_EQ(h_fault_code, SEGV_ACCERR);
}

/* ---- munmap ---- */

CASE(munmap_then_access_faults)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);

	p[0] = 1;
	ASSERT_OK(munmap(p, PG));
	EXPECT_EQ(h_touch(p + 16, 0, 0), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p + 16);
	EXPECT_EQ(h_fault_code, SEGV_MAPERR);
}

CASE(munmap_errors)
{
	char *p = anon(2 * PG, PROT_READ);

	EXPECT_ERRNO(munmap(p + 1, PG), EINVAL);
	EXPECT_ERRNO(munmap(p, 0), EINVAL);
	EXPECT_ERRNO(munmap((void *)(uintptr_t)-PG, PG), EINVAL);
}

CASE(munmap_unmapped_range_is_ok)
{
	char *p = anon(PG, PROT_READ);

	ASSERT_OK(munmap(p, PG));
	EXPECT_OK(munmap(p, PG));
}

CASE(munmap_middle_splits_mapping)
{
	char *p = anon(3 * PG, PROT_READ | PROT_WRITE);

	ASSERT_OK(munmap(p + PG, PG));
	EXPECT_EQ(h_touch(p, 1, 1), 0);
	EXPECT_EQ(h_touch(p + 2 * PG, 1, 2), 0);
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGSEGV);
	EXPECT_EQ(p[0] + p[2 * PG], 3);
}

CASE(munmap_unaligned_length_rounds_up)
{
	char *p = anon(2 * PG, PROT_READ);

	ASSERT_OK(munmap(p, 10));
	EXPECT_EQ(h_touch(p + PG - 1, 0, 0), SIGSEGV);
	EXPECT_EQ(h_touch(p + PG, 0, 0), 0);
}

/* ---- mprotect ---- */

CASE(mprotect_readonly_write_faults)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);

	p[0] = 5;
	ASSERT_OK(mprotect(p, PG, PROT_READ));
	EXPECT_EQ(h_touch(p + 1, 0, 0), 0);
	EXPECT_EQ(h_touch(p + 2, 1, 9), SIGSEGV);
	EXPECT_TRUE(h_fault_addr == p + 2);
	EXPECT_EQ(h_fault_code, SEGV_ACCERR);
	EXPECT_EQ(p[0], 5);
}

CASE(mprotect_none_then_restore)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);

	p[0] = 5;
	ASSERT_OK(mprotect(p, PG, PROT_NONE));
	EXPECT_EQ(h_touch(p, 0, 0), SIGSEGV);
	ASSERT_OK(mprotect(p, PG, PROT_READ | PROT_WRITE));
	EXPECT_EQ(h_touch(p, 1, 6), 0);
	EXPECT_EQ(p[0], 6);
}

CASE(mprotect_part_of_mapping)
{
	char *p = anon(3 * PG, PROT_READ | PROT_WRITE);

	ASSERT_OK(mprotect(p + PG, PG, PROT_READ));
	EXPECT_EQ(h_touch(p, 1, 1), 0);
	EXPECT_EQ(h_touch(p + PG, 1, 1), SIGSEGV);
	EXPECT_EQ(h_touch(p + 2 * PG, 1, 1), 0);
}

CASE(mprotect_errors)
{
	char *p = anon(2 * PG, PROT_READ);

	EXPECT_ERRNO(mprotect(p + 1, PG, PROT_READ), EINVAL);
	EXPECT_ERRNO(mprotect(p, PG, 0x80), EINVAL);
	ASSERT_OK(munmap(p + PG, PG));
	EXPECT_ERRNO(mprotect(p, 2 * PG, PROT_READ), ENOMEM);
	EXPECT_ERRNO(mprotect(p + PG, PG, PROT_READ), ENOMEM);
}

CASE(mprotect_write_on_readonly_shared_file_eacces)
{
	int fd;
	char *p;

	pattern_file(1, 0);
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_MAPPED(p);
	EXPECT_ERRNO(mprotect(p, PG, PROT_READ | PROT_WRITE), EACCES);
}

CASE(readonly_shared_file_odd_length_kept_by_fork)
{
	int fd;
	char *p;
	pid_t pid;

	pattern_file(1, 0);
	fd = ASSERT_OK(open(h_path("file"), O_RDONLY));
	/* a length that is not a page multiple still maps whole pages */
	p = mmap(NULL, 100, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_MAPPED(p);
	EXPECT_ERRNO(mprotect(p, PG, PROT_READ | PROT_WRITE), EACCES);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(p[0] == 'a' && p[PG - 1] == 'a' + (PG - 1) % 26 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
	pid = ASSERT_OK(vfork());
	if (pid == 0)
		_exit(0);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- mremap ---- */

CASE(mremap_grow_maymove_keeps_content)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);
	char *q;

	memset(p, 'x', 2 * PG);
	q = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	ASSERT_MAPPED(q);
	EXPECT_EQ(q[0], 'x');
	EXPECT_EQ(q[2 * PG - 1], 'x');
	EXPECT_EQ(q[2 * PG], 0);
	EXPECT_EQ(h_touch(q + 8 * PG - 1, 1, 1), 0);
}

CASE(mremap_shrink_in_place)
{
	char *p = anon(4 * PG, PROT_READ | PROT_WRITE);
	char *q;

	p[0] = 'k';
	q = mremap(p, 4 * PG, PG, 0);
	EXPECT_TRUE(q == p);
	EXPECT_EQ(p[0], 'k');
	EXPECT_EQ(h_touch(p + PG, 0, 0), SIGSEGV);
}

CASE(mremap_grow_blocked_without_maymove_enomem)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);

	/* The second page stays mapped, so the first cannot grow in place. */
	EXPECT_MMAP_ERRNO(mremap(p, PG, 2 * PG, 0), ENOMEM);
}

CASE(mremap_fixed_moves_to_address)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);
	char *dst = anon(2 * PG, PROT_NONE);
	char *q;

	p[0] = 'm';
	q = mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	EXPECT_TRUE(q == dst);
	EXPECT_EQ(dst[0], 'm');
	EXPECT_EQ(h_touch(p, 0, 0), SIGSEGV);
}

CASE(mremap_errors)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);

	EXPECT_MMAP_ERRNO(mremap(p + 1, PG, PG, 0), EINVAL);
	EXPECT_MMAP_ERRNO(mremap(p, PG, 2 * PG, 0x80), EINVAL);
	/* MREMAP_FIXED without MREMAP_MAYMOVE. */
	EXPECT_MMAP_ERRNO(mremap(p, PG, PG, MREMAP_FIXED, p + PG), EINVAL);
	EXPECT_MMAP_ERRNO(mremap(p, PG, 0, 0), EINVAL);
}

CASE(mremap_unmapped_efault)
{
	char *p = anon(PG, PROT_READ);

	ASSERT_OK(munmap(p, PG));
	EXPECT_MMAP_ERRNO(mremap(p, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT);
}

/* ---- msync / mincore / mlock ---- */

CASE(msync_flags)
{
	int fd = pattern_file(1, 0);
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ASSERT_MAPPED(p);
	EXPECT_OK(msync(p, PG, MS_SYNC));
	EXPECT_OK(msync(p, PG, MS_ASYNC));
	EXPECT_ERRNO(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
	EXPECT_ERRNO(msync(p + 1, PG, MS_SYNC), EINVAL);
	EXPECT_ERRNO(msync(p, PG, 0x100), EINVAL);
}

CASE(msync_unmapped_enomem)
{
	char *p = anon(PG, PROT_READ);

	ASSERT_OK(munmap(p, PG));
	EXPECT_ERRNO(msync(p, PG, MS_SYNC), ENOMEM);
}

CASE(mincore_reports_resident_pages)
{
	char *p = anon(2 * PG, PROT_READ | PROT_WRITE);
	unsigned char vec[2] = {0xff, 0xff};

	p[0] = 1;
	ASSERT_OK(mincore(p, 2 * PG, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_ERRNO(mincore(p + 1, PG, vec), EINVAL);
	ASSERT_OK(munmap(p, 2 * PG));
	EXPECT_ERRNO(mincore(p, PG, vec), ENOMEM);
}

CASE(mlock_and_munlock)
{
	char *p = anon(PG, PROT_READ | PROT_WRITE);

	EXPECT_OK(mlock(p, PG));
	EXPECT_OK(munlock(p, PG));
}

CASE(many_small_mappings)
{
	char *maps[64];
	int ok = 1;

	for (int i = 0; i < 64; i++) {
		maps[i] = anon(PG, PROT_READ | PROT_WRITE);
		maps[i][0] = (char)i;
	}
	for (int i = 0; i < 64; i++)
		ok &= maps[i][0] == (char)i;
	EXPECT_TRUE(ok);
	for (int i = 0; i < 64; i += 2)
		EXPECT_OK(munmap(maps[i], PG));
	for (int i = 1; i < 64; i += 2)
		ok &= maps[i][0] == (char)i;
	EXPECT_TRUE(ok);
}

HARNESS_MAIN
