/*
 * Permission checks: access, faccessat, faccessat2, umask, and the
 * permission checks open/mkdir/unlink make for an unprivileged user.
 *
 * Cases that need an unprivileged user fork a child that, when the suite
 * runs as root, drops to uid/gid 65534 ("nobody") first.
 */
#include "harness.h"

#include <grp.h>
#include <sys/fsuid.h>

#define NOBODY 65534

static const char *mkfile(const char *name, const char *content, mode_t mode)
{
	const char *p = h_path(name);

	h_write_file_mode(p, content, strlen(content), mode);
	return p;
}

/* In a child: become an unprivileged user (no-op when already one). */
static int drop_privileges(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		return -1;
	return 0;
}

/* Runs body() unprivileged in a child; the case fails unless it returns 0. */
#define AS_NOBODY(body)                                                 \
	do {                                                            \
		pid_t pid_ = fork();                                    \
		if (pid_ == 0) {                                        \
			if (drop_privileges() != 0) {                   \
				H_FAIL("drop privileges: %s", h_errname(errno)); \
				_exit(H_EXIT_FAILED);                   \
			}                                               \
			body;                                           \
			_exit(h_case_failures ? H_EXIT_FAILED : 0);     \
		}                                                       \
		int st_ = h_wait(pid_);                                 \
		if (!(WIFEXITED(st_) && WEXITSTATUS(st_) == 0))         \
			h_case_failures++;                              \
	} while (0)

/* Makes the case dir reachable for the unprivileged user. */
static void open_up_tmp(void)
{
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", h_tmp());
	chmod(parent, 0755);
	chmod(h_tmp(), 0777);
}

/* ---- access / faccessat ---- */

CASE(access_f_ok_existing_and_missing)
{
	const char *p = mkfile("f", "x", 0644);

	EXPECT_OK(access(p, F_OK));
	EXPECT_OK(access(h_tmp(), F_OK));
	EXPECT_ERRNO(access(h_path("missing"), F_OK), ENOENT);
	EXPECT_ERRNO(access("", F_OK), ENOENT);
}

CASE(access_through_file_enotdir)
{
	const char *p = mkfile("f", "x", 0644);
	char sub[1024];

	snprintf(sub, sizeof(sub), "%s/x", p);
	EXPECT_ERRNO(access(sub, F_OK), ENOTDIR);
}

CASE(access_bad_mode_einval)
{
	const char *p = mkfile("f", "x", 0644);

	EXPECT_ERRNO(access(p, 0x10), EINVAL);
	EXPECT_ERRNO(access(p, -1), EINVAL);
}

CASE(access_bad_path_efault)
{
	EXPECT_ERRNO(syscall(SYS_access, BAD_PTR, F_OK), EFAULT);
}

CASE(access_read_write_own_file)
{
	const char *p = mkfile("f", "x", 0600);

	EXPECT_OK(access(p, R_OK | W_OK));
}

CASE(access_x_ok_needs_an_exec_bit)
{
	/* Even root needs at least one execute bit to pass X_OK on a file. */
	const char *p = mkfile("f", "x", 0644);
	const char *q = mkfile("g", "x", 0744);
	const char *r = mkfile("h", "x", 0601);

	EXPECT_ERRNO(access(p, X_OK), EACCES);
	EXPECT_OK(access(q, X_OK));
	if (geteuid() == 0)
		EXPECT_OK(access(r, X_OK));
	EXPECT_OK(access(h_tmp(), X_OK));
}

CASE(faccessat_relative_to_dirfd)
{
	int dfd;

	mkfile("f", "x", 0644);
	dfd = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	EXPECT_OK(faccessat(dfd, "f", R_OK, 0));
	EXPECT_ERRNO(faccessat(dfd, "missing", F_OK, 0), ENOENT);
	EXPECT_ERRNO(faccessat(1000, "f", F_OK, 0), EBADF);
}

CASE(faccessat_bad_flags_einval)
{
	const char *p = mkfile("f", "x", 0644);

	/* The raw faccessat has no flags argument; faccessat2 checks them. */
	EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, p, F_OK, 0x1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, p, F_OK, AT_SYMLINK_FOLLOW), EINVAL);
}

CASE(faccessat2_symlink_nofollow)
{
	ASSERT_OK(symlink(h_path("nowhere"), h_path("l")));
	EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK, 0), ENOENT);
	EXPECT_OK(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK, AT_SYMLINK_NOFOLLOW));
}

CASE(faccessat2_empty_path)
{
	const char *p = mkfile("f", "x", 0644);
	int fd = ASSERT_OK(open(p, O_RDONLY));

	EXPECT_OK(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
	EXPECT_ERRNO(syscall(SYS_faccessat2, fd, "", R_OK, 0), ENOENT);
	EXPECT_OK(syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, AT_EACCESS));
}

/* ---- umask ---- */

CASE(umask_returns_previous)
{
	EXPECT_EQ(umask(0077), 022);
	EXPECT_EQ(umask(0027), 0077);
	EXPECT_EQ(umask(01777), 0027);
	/* Only the permission bits are kept. */
	EXPECT_EQ(umask(022), 0777);
}

CASE(umask_applies_to_mkdir_and_open)
{
	struct stat st;

	umask(0072);
	ASSERT_OK(mkdir(h_path("d"), 0777));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_EQ(st.st_mode & 0777, 0705);
	ASSERT_OK(open(h_path("f"), O_CREAT | O_WRONLY, 0666));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 0777, 0604);
}

CASE(umask_inherited_by_fork)
{
	pid_t pid;

	umask(0033);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(umask(0) == 0033 ? 0 : 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- unprivileged permission checks ---- */

CASE(unprivileged_access_denied)
{
	const char *ro = mkfile("ro", "x", 0444);
	const char *none = mkfile("none", "x", 0000);

	open_up_tmp();
	AS_NOBODY({
		EXPECT_OK(access(ro, R_OK));
		EXPECT_ERRNO(access(ro, W_OK), EACCES);
		EXPECT_ERRNO(access(none, R_OK), EACCES);
		EXPECT_OK(access(none, F_OK));
	});
}

CASE(unprivileged_open_denied)
{
	const char *ro = mkfile("ro", "x", 0444);
	const char *none = mkfile("none", "x", 0000);

	open_up_tmp();
	AS_NOBODY({
		EXPECT_ERRNO(open(ro, O_WRONLY), EACCES);
		EXPECT_OK(open(ro, O_RDONLY));
		EXPECT_ERRNO(open(none, O_RDONLY), EACCES);
	});
}

CASE(unprivileged_create_in_readonly_dir_denied)
{
	open_up_tmp();
	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x", 1);
	/* Root hands the directory to nobody read-only; a non-root owner drops w. */
	if (geteuid() != 0)
		ASSERT_OK(chmod(h_path("d"), 0555));
	AS_NOBODY({
		EXPECT_ERRNO(open(h_path("d/new"), O_CREAT | O_WRONLY, 0600), EACCES);
		EXPECT_ERRNO(mkdir(h_path("d/sub"), 0755), EACCES);
		EXPECT_ERRNO(unlink(h_path("d/f")), EACCES);
	});
}

CASE(unprivileged_search_permission_on_dir)
{
	open_up_tmp();
	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x", 1);
	ASSERT_OK(chmod(h_path("d"), 0644));
	AS_NOBODY({
		struct stat st;

		EXPECT_ERRNO(stat(h_path("d/f"), &st), EACCES);
		EXPECT_ERRNO(chdir(h_path("d")), EACCES);
		EXPECT_OK(stat(h_path("d"), &st));
	});
	chmod(h_path("d"), 0755);
}

CASE(sticky_dir_protects_others_files)
{
	open_up_tmp();
	ASSERT_OK(mkdir(h_path("d"), 0777));
	ASSERT_OK(chmod(h_path("d"), 01777));
	if (geteuid() != 0)
		SKIP("needs root to own a file the unprivileged user cannot remove");
	h_write_file(h_path("d/owned-by-root"), "x", 1);
	AS_NOBODY({
		EXPECT_ERRNO(unlink(h_path("d/owned-by-root")), EPERM);
		h_write_file(h_path("d/mine"), "x", 1);
		EXPECT_OK(unlink(h_path("d/mine")));
	});
}

CASE(access_uses_real_uid)
{
	/* access() checks with the real uid; AT_EACCESS with the effective one. */
	const char *p = mkfile("f", "x", 0600);

	if (geteuid() != 0)
		SKIP("needs root to switch the effective uid alone");
	open_up_tmp();
	{
		pid_t pid = fork();

		if (pid == 0) {
			int ok = setresuid(NOBODY, 0, 0) == 0 && access(p, R_OK) == -1 && errno == EACCES &&
				 faccessat(AT_FDCWD, p, R_OK, AT_EACCESS) == 0;
			_exit(ok ? 0 : 1);
		}
		EXPECT_EXITED(h_wait(pid), 0);
	}
}

HARNESS_MAIN
