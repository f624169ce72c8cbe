/*
 * /proc, continued: the fields of stat, statm and status checked against
 * the system calls that report the same facts; comm, auxv, limits,
 * mounts, mountinfo, fdinfo, oom_score_adj, task/ and thread-self; the
 * system-wide files (meminfo, cpuinfo, stat, uptime, loadavg, version) and
 * /proc/sys; and what writes, creations and removals do.
 */
#include "harness.h"

#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static char big[1 << 16];

static ssize_t slurp(const char *path)
{
	return h_read_file(path, big, sizeof(big));
}

/* The line of `big` that starts with `prefix`, or NULL. */
static const char *line_with(const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, n) == 0)
			return l;
	return NULL;
}

/* The value after "KEY:" in /proc/self/status (in `big`), or NULL. */
static const char *status_value(const char *key)
{
	char prefix[64];
	const char *l;

	snprintf(prefix, sizeof(prefix), "%s:", key);
	l = line_with(prefix);
	if (!l)
		return NULL;
	l += strlen(prefix);
	while (*l == ' ' || *l == '\t')
		l++;
	return l;
}

static unsigned long long status_hex(const char *key)
{
	const char *v = status_value(key);

	return v ? strtoull(v, NULL, 16) : ~0ULL;
}

static long long status_num(const char *key)
{
	const char *v = status_value(key);

	return v ? strtoll(v, NULL, 10) : -1;
}

/*
 * Field N (1-based, as in proc(5)) of a stat line in `big`, as a number;
 * fields 1 and 2 are pid and comm, so N >= 3 counts from after the ')'.
 */
static long long stat_field(int n)
{
	const char *p = strrchr(big, ')');

	if (!p || n < 3)
		return -1;
	p += 2;
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return strtoll(p, NULL, 10);
}

static unsigned long long stat_field_u(int n)
{
	const char *p = strrchr(big, ')');

	if (!p)
		return 0;
	p += 2;
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

/* ---- /proc/PID/stat ---- */

CASE(stat_has_52_fields)
{
	int n = 2;

	ASSERT_GT(slurp("/proc/self/stat"), 0);
	for (const char *p = strrchr(big, ')') + 1; *p && *p != '\n'; p++)
		n += *p == ' ';
	EXPECT_EQ(n, 52);
}

CASE(stat_session_after_setsid)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		if (setsid() < 0 || slurp("/proc/self/stat") <= 0)
			_exit(2);
		if (stat_field(6) != getpid() || stat_field(5) != getpid())
			_exit(3);
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(stat_pgrp_after_setpgid_in_child)
{
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0) {
		if (setpgid(0, 0) < 0 || slurp("/proc/self/stat") <= 0)
			_exit(2);
		_exit(stat_field(5) == getpid() && stat_field(6) == getsid(0) ? 0 : 3);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(stat_nice_and_priority)
{
	ASSERT_OK(setpriority(PRIO_PROCESS, 0, 5));
	ASSERT_GT(slurp("/proc/self/stat"), 0);
	EXPECT_EQ(stat_field(19), 5);
	EXPECT_EQ(stat_field(18), 25);
}

CASE(stat_exit_signal_is_sigchld)
{
	ASSERT_GT(slurp("/proc/self/stat"), 0);
	EXPECT_EQ(stat_field(38), SIGCHLD);
}

CASE(stat_starttime_within_uptime)
{
	double up = 0;
	long ticks = sysconf(_SC_CLK_TCK);
	unsigned long long start;

	ASSERT_GT(slurp("/proc/self/stat"), 0);
	start = stat_field_u(22);
	ASSERT_GT(slurp("/proc/uptime"), 0);
	ASSERT_EQ(sscanf(big, "%lf", &up), 1);
	EXPECT_TRUE((double)start / ticks <= up + 1.0);
}

CASE(stat_vsize_matches_statm)
{
	unsigned long long vsize, size, resident;

	ASSERT_GT(slurp("/proc/self/stat"), 0);
	vsize = stat_field_u(23);
	ASSERT_GT(slurp("/proc/self/statm"), 0);
	ASSERT_EQ(sscanf(big, "%llu %llu", &size, &resident), 2);
	EXPECT_EQ(size * sysconf(_SC_PAGESIZE), vsize);
	EXPECT_GT(resident, 0);
	EXPECT_LE(resident, size);
}

CASE(stat_child_state_is_sleeping_or_running)
{
	char path[64];
	int p[2];
	char c, state;
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ASSERT_GT(slurp(path), 0);
	state = strrchr(big, ')')[2];
	EXPECT_TRUE(state == 'S' || state == 'R');
	EXPECT_SAME(stat_field(4), getpid());
	close(p[1]);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(zombie_shows_until_reaped)
{
	char path[64];
	siginfo_t si;
	struct stat st;
	pid_t pid = ASSERT_OK(fork());

	if (pid == 0)
		_exit(0);
	/* Waits for the exit without reaping. */
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ASSERT_GT(slurp(path), 0);
	EXPECT_EQ(strrchr(big, ')')[2], 'Z');
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ASSERT_GT(slurp(path), 0);
	EXPECT_TRUE(line_with("State:\tZ (zombie)\n") != NULL);
	EXPECT_TRUE(line_with("VmSize:") == NULL);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	EXPECT_EQ(slurp(path), 0);
	EXPECT_EXITED(h_wait(pid), 0);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	EXPECT_ERRNO(stat(path, &st), ENOENT);
}

/* ---- /proc/PID/status ---- */

CASE(status_umask)
{
	umask(027);
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_TRUE(line_with("Umask:\t0027\n") != NULL);
}

CASE(status_ids_match_getres)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	char want[128];

	ASSERT_OK(getresuid(&r, &e, &s));
	ASSERT_OK(getresgid(&gr, &ge, &gs));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	snprintf(want, sizeof(want), "Uid:\t%u\t%u\t%u\t%u\n", r, e, s, e);
	EXPECT_TRUE(line_with(want) != NULL);
	snprintf(want, sizeof(want), "Gid:\t%u\t%u\t%u\t%u\n", gr, ge, gs, ge);
	EXPECT_TRUE(line_with(want) != NULL);
	snprintf(want, sizeof(want), "Tgid:\t%d\n", getpid());
	EXPECT_TRUE(line_with(want) != NULL);
	EXPECT_TRUE(line_with("TracerPid:\t0\n") != NULL);
}

CASE(status_groups_match_getgroups)
{
	gid_t want[64];
	int n = getgroups(64, want), seen = 0;
	const char *v;
	char *end;

	ASSERT_GE(n, 0);
	ASSERT_GT(slurp("/proc/self/status"), 0);
	v = status_value("Groups");
	ASSERT_TRUE(v != NULL);
	while (*v && *v != '\n') {
		unsigned long g = strtoul(v, &end, 10);
		int found = 0;

		if (end == v)
			break;
		for (int i = 0; i < n; i++)
			found |= want[i] == g;
		EXPECT_TRUE(found);
		seen++;
		v = end;
		while (*v == ' ')
			v++;
	}
	EXPECT_EQ(seen, n);
}

CASE(status_setgroups_shows_new_list)
{
	gid_t groups[] = {7, 42};

	if (geteuid() != 0)
		SKIP("needs root");
	ASSERT_OK(setgroups(2, groups));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_TRUE(line_with("Groups:\t7 42 \n") != NULL);
}

CASE(status_sigblk_follows_mask)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	ASSERT_OK(sigprocmask(SIG_SETMASK, &set, NULL));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_EQ(status_hex("SigBlk"), (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGTERM - 1)));
}

static void on_usr1(int sig)
{
	(void)sig;
}

CASE(status_sigign_and_sigcgt)
{
	struct sigaction sa = {.sa_handler = on_usr1};

	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	signal(SIGUSR2, SIG_IGN);
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_TRUE(status_hex("SigCgt") & (1ULL << (SIGUSR1 - 1)));
	EXPECT_TRUE(status_hex("SigIgn") & (1ULL << (SIGUSR2 - 1)));
	EXPECT_EQ(status_hex("SigIgn") & (1ULL << (SIGUSR1 - 1)), 0);
}

CASE(status_shdpnd_after_blocked_kill)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_OK(kill(getpid(), SIGUSR2));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_TRUE(status_hex("ShdPnd") & (1ULL << (SIGUSR2 - 1)));
	EXPECT_TRUE(line_with("SigQ:\t") != NULL);
}

CASE(status_capabilities_match_capget)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	unsigned long long eff, prm, inh;

	ASSERT_OK(syscall(SYS_capget, &hdr, data));
	eff = data[0].effective | ((unsigned long long)data[1].effective << 32);
	prm = data[0].permitted | ((unsigned long long)data[1].permitted << 32);
	inh = data[0].inheritable | ((unsigned long long)data[1].inheritable << 32);
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_EQ(status_hex("CapEff"), eff);
	EXPECT_EQ(status_hex("CapPrm"), prm);
	EXPECT_EQ(status_hex("CapInh"), inh);
	EXPECT_TRUE(status_value("CapBnd") != NULL);
	EXPECT_TRUE(status_value("CapAmb") != NULL);
}

CASE(status_no_new_privs)
{
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_EQ(status_num("NoNewPrivs"), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	ASSERT_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_EQ(status_num("NoNewPrivs"), 1);
	EXPECT_EQ(status_num("Seccomp"), 0);
}

CASE(status_vmsize_matches_statm)
{
	unsigned long long size;
	long long vmsize;

	ASSERT_GT(slurp("/proc/self/statm"), 0);
	ASSERT_EQ(sscanf(big, "%llu", &size), 1);
	ASSERT_GT(slurp("/proc/self/status"), 0);
	vmsize = status_num("VmSize");
	EXPECT_EQ((unsigned long long)vmsize, size * (sysconf(_SC_PAGESIZE) / 1024));
	EXPECT_GT(status_num("VmRSS"), 0);
	EXPECT_GT(status_num("VmStk"), 0);
	EXPECT_TRUE(line_with("VmRSS:\t") != NULL);
}

CASE(status_fdsize_covers_high_fd)
{
	ASSERT_OK(dup2(0, 200));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_GE(status_num("FDSize"), 201);
}

CASE(status_cpus_allowed_list_matches_affinity)
{
	cpu_set_t set;
	const char *v;
	int lo, hi, n;

	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	v = status_value("Cpus_allowed_list");
	ASSERT_TRUE(v != NULL);
	n = sscanf(v, "%d-%d", &lo, &hi);
	ASSERT_GE(n, 1);
	if (n == 1)
		hi = lo;
	EXPECT_EQ(hi - lo + 1, CPU_COUNT(&set));
}

CASE(status_name_follows_prctl)
{
	ASSERT_OK(prctl(PR_SET_NAME, "renamed-task", 0, 0, 0));
	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_TRUE(line_with("Name:\trenamed-task\n") != NULL);
	ASSERT_GT(slurp("/proc/self/stat"), 0);
	EXPECT_TRUE(strstr(big, "(renamed-task)") != NULL);
}

/* ---- maps, smaps ---- */

static int count_lines(const char *prefix)
{
	int n = 0;

	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

CASE(maps_path_starts_at_column_74)
{
	const char *l = NULL;

	ASSERT_GT(slurp("/proc/self/maps"), 0);
	for (const char *p = big; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *name = strchr(p, '/');
		const char *eol = strchr(p, '\n');

		if (name && eol && name < eol && strncmp(name, h_self, strlen(h_self)) == 0) {
			l = p;
			break;
		}
	}
	ASSERT_TRUE(l != NULL);
	EXPECT_EQ(strchr(l, '/') - l, 73);
}

CASE(smaps_has_one_block_per_mapping)
{
	int maps, sizes;

	ASSERT_GT(slurp("/proc/self/maps"), 0);
	maps = count_lines("");
	ASSERT_GT(slurp("/proc/self/smaps"), 0);
	sizes = count_lines("Size:");
	EXPECT_SAME(sizes, maps);
	EXPECT_EQ(count_lines("Rss:"), sizes);
	EXPECT_EQ(count_lines("VmFlags:"), sizes);
}

/* ---- comm ---- */

CASE(comm_write_sets_prctl_name)
{
	char name[17] = {0};
	int fd = ASSERT_OK(open("/proc/self/comm", O_WRONLY));

	EXPECT_EQ(write(fd, "viaproc", 7), 7);
	close(fd);
	ASSERT_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
	EXPECT_STREQ(name, "viaproc");
	ASSERT_GT(slurp("/proc/self/comm"), 0);
	EXPECT_STREQ(big, "viaproc\n");
}

CASE(comm_write_truncates_to_15_bytes)
{
	int fd = ASSERT_OK(open("/proc/self/comm", O_WRONLY));

	EXPECT_EQ(write(fd, "abcdefghijklmnopqrstuvwxyz", 26), 26);
	close(fd);
	ASSERT_GT(slurp("/proc/self/comm"), 0);
	EXPECT_STREQ(big, "abcdefghijklmno\n");
}

CASE(comm_write_of_other_process_einval)
{
	char path[64];
	int p[2], fd;
	char c;
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = ASSERT_OK(open(path, O_WRONLY));
	EXPECT_ERRNO(write(fd, "other", 5), EINVAL);
	close(fd);
	close(p[1]);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- threads: task/, thread-self ---- */

struct thread_report {
	pid_t tid;
	char self_link[64];
	char stat_head[64];
	int comm_written;
	char tid_status[4096];
	pthread_barrier_t *go, *done;
};

static void *thread_main(void *arg)
{
	struct thread_report *r = arg;
	char path[128];
	int fd;

	r->tid = syscall(SYS_gettid);
	readlink("/proc/thread-self", r->self_link, sizeof(r->self_link) - 1);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", r->tid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		read(fd, r->stat_head, sizeof(r->stat_head) - 1);
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", r->tid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		read(fd, r->tid_status, sizeof(r->tid_status) - 1);
		close(fd);
	}
	fd = open("/proc/thread-self/comm", O_WRONLY);
	if (fd >= 0) {
		r->comm_written = write(fd, "worker", 6) == 6;
		close(fd);
	}
	pthread_barrier_wait(r->go);
	pthread_barrier_wait(r->done);
	return NULL;
}

CASE(task_dir_and_thread_self)
{
	pthread_barrier_t go, done;
	struct thread_report r = {.go = &go, .done = &done};
	pthread_t t;
	char want[64], path[128];
	int saw_main = 0, saw_thread = 0;
	DIR *d;
	struct dirent *e;

	pthread_barrier_init(&go, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	ASSERT_EQ(pthread_create(&t, NULL, thread_main, &r), 0);
	pthread_barrier_wait(&go);

	snprintf(want, sizeof(want), "%d/task/%d", getpid(), r.tid);
	EXPECT_STREQ(r.self_link, want);
	snprintf(want, sizeof(want), "%d (", r.tid);
	EXPECT_EQ(strncmp(r.stat_head, want, strlen(want)), 0);
	EXPECT_TRUE(r.comm_written);

	d = opendir("/proc/self/task");
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d))) {
		saw_main |= atoi(e->d_name) == getpid();
		saw_thread |= atoi(e->d_name) == r.tid;
	}
	closedir(d);
	EXPECT_TRUE(saw_main);
	EXPECT_TRUE(saw_thread);

	/* /proc/TID is found but not listed, and shows the thread's side. */
	snprintf(want, sizeof(want), "\nPid:\t%d\n", r.tid);
	EXPECT_TRUE(strstr(r.tid_status, want) != NULL);
	snprintf(want, sizeof(want), "\nTgid:\t%d\n", getpid());
	EXPECT_TRUE(strstr(r.tid_status, want) != NULL);
	saw_thread = 0;
	d = opendir("/proc");
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d)))
		saw_thread |= atoi(e->d_name) == r.tid;
	closedir(d);
	EXPECT_TRUE(!saw_thread);

	ASSERT_GT(slurp("/proc/self/status"), 0);
	EXPECT_EQ(status_num("Threads"), 2);
	ASSERT_GT(slurp("/proc/self/stat"), 0);
	EXPECT_EQ(stat_field(20), 2);

	/* The thread renamed itself only. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", r.tid);
	ASSERT_GT(slurp(path), 0);
	EXPECT_STREQ(big, "worker\n");
	ASSERT_GT(slurp("/proc/self/comm"), 0);
	EXPECT_TRUE(strcmp(big, "worker\n") != 0);

	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
}

/* ---- auxv, limits ---- */

CASE(auxv_matches_getauxval)
{
	unsigned long buf[256];
	ssize_t n;
	int fd = ASSERT_OK(open("/proc/self/auxv", O_RDONLY));
	int saw_entry = 0, saw_random = 0, ended = 0;

	n = read(fd, buf, sizeof(buf));
	close(fd);
	ASSERT_GT(n, 0);
	EXPECT_EQ(n % (2 * sizeof(long)), 0);
	for (ssize_t i = 0; i + 1 < n / (ssize_t)sizeof(long); i += 2) {
		if (buf[i] == AT_NULL) {
			ended = 1;
			break;
		}
		if (buf[i] == AT_ENTRY) {
			saw_entry = 1;
			EXPECT_TRUE(buf[i + 1] == getauxval(AT_ENTRY));
		}
		if (buf[i] == AT_RANDOM) {
			saw_random = 1;
			EXPECT_TRUE(buf[i + 1] == getauxval(AT_RANDOM));
		}
		if (buf[i] == AT_UID)
			EXPECT_EQ(buf[i + 1], getauxval(AT_UID));
	}
	EXPECT_TRUE(saw_entry);
	EXPECT_TRUE(saw_random);
	EXPECT_TRUE(ended);
}

/* The soft and hard columns of a /proc/self/limits row; -1 for unlimited. */
static int limits_row(const char *name, long long *soft, long long *hard)
{
	const char *l = line_with(name);
	char s[32], h[32];

	if (!l || sscanf(l + 26, "%31s %31s", s, h) != 2)
		return -1;
	*soft = strcmp(s, "unlimited") == 0 ? -1 : atoll(s);
	*hard = strcmp(h, "unlimited") == 0 ? -1 : atoll(h);
	return 0;
}

static long long rl_value(rlim_t v)
{
	return v == RLIM_INFINITY ? -1 : (long long)v;
}

CASE(limits_match_getrlimit)
{
	struct rlimit rl;
	long long soft, hard;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 100;
	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_GT(slurp("/proc/self/limits"), 0);
	EXPECT_TRUE(line_with("Limit                     Soft Limit           Hard Limit           Units     \n") != NULL);
	ASSERT_OK(limits_row("Max open files", &soft, &hard));
	EXPECT_EQ(soft, 100);
	EXPECT_EQ(hard, rl_value(rl.rlim_max));
	ASSERT_OK(getrlimit(RLIMIT_STACK, &rl));
	ASSERT_OK(limits_row("Max stack size", &soft, &hard));
	EXPECT_EQ(soft, rl_value(rl.rlim_cur));
	EXPECT_EQ(hard, rl_value(rl.rlim_max));
	ASSERT_OK(getrlimit(RLIMIT_CPU, &rl));
	ASSERT_OK(limits_row("Max cpu time", &soft, &hard));
	EXPECT_EQ(soft, rl_value(rl.rlim_cur));
}

/* ---- mounts, mountinfo, fdinfo ---- */

CASE(proc_mounts_is_link_to_self)
{
	char buf[64] = {0};
	struct stat st;

	EXPECT_GT(readlink("/proc/mounts", buf, sizeof(buf) - 1), 0);
	EXPECT_STREQ(buf, "self/mounts");
	ASSERT_OK(stat("/proc/self/net", &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
}

/* The mount id of the mountinfo line whose mount point is `point` and
 * whose type is `type`, or -1. */
static int mountinfo_id(const char *point, const char *type)
{
	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int id, parent;
		char mp[256], fstype[64];
		const char *dash = strstr(l, " - ");

		if (!dash || sscanf(l, "%d %d %*s %*s %255s", &id, &parent, mp) != 3)
			continue;
		if (sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(mp, point) == 0 && strcmp(fstype, type) == 0)
			return id;
	}
	return -1;
}

CASE(mountinfo_has_root_and_proc)
{
	const char *l;
	int found_root = 0;

	ASSERT_GT(slurp("/proc/self/mountinfo"), 0);
	EXPECT_GT(mountinfo_id("/proc", "proc"), 0);
	for (l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char mp[256];

		if (sscanf(l, "%*d %*d %*s %*s %255s", mp) == 1 && strcmp(mp, "/") == 0)
			found_root = 1;
	}
	EXPECT_TRUE(found_root);
}

CASE(fdinfo_mnt_id_matches_mountinfo)
{
	char path[64];
	int fd = ASSERT_OK(open("/proc/self/stat", O_RDONLY));
	int proc_id, mnt_id = -1;
	const char *l;

	ASSERT_GT(slurp("/proc/self/mountinfo"), 0);
	proc_id = mountinfo_id("/proc", "proc");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ASSERT_GT(slurp(path), 0);
	l = line_with("mnt_id:\t");
	ASSERT_TRUE(l != NULL);
	mnt_id = atoi(l + 8);
	EXPECT_SAME(mnt_id, proc_id);
}

/* The flags of fdinfo (in `big`), parsed as octal. */
static long fdinfo_flags(int fd)
{
	char path[64];
	const char *l;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (slurp(path) <= 0)
		return -1;
	l = line_with("flags:\t");
	return l ? strtol(l + 7, NULL, 8) : -1;
}

CASE(fdinfo_wronly_append)
{
	int fd = ASSERT_OK(open(h_path("f"), O_WRONLY | O_CREAT | O_APPEND, 0600));
	long flags;

	ASSERT_EQ(write(fd, "hello", 5), 5);
	flags = fdinfo_flags(fd);
	ASSERT_GE(flags, 0);
	EXPECT_EQ(flags & O_ACCMODE, O_WRONLY);
	EXPECT_TRUE(flags & O_APPEND);
	EXPECT_EQ(flags & O_CLOEXEC, 0);
	EXPECT_TRUE(line_with("pos:\t5\n") != NULL);
}

CASE(fdinfo_follows_fcntl)
{
	int p[2];
	long flags;

	ASSERT_OK(pipe(p));
	flags = fdinfo_flags(p[0]);
	EXPECT_EQ(flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC), O_RDONLY);
	ASSERT_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
	ASSERT_OK(fcntl(p[0], F_SETFD, FD_CLOEXEC));
	flags = fdinfo_flags(p[0]);
	EXPECT_TRUE(flags & O_NONBLOCK);
	EXPECT_TRUE(flags & O_CLOEXEC);
	EXPECT_EQ(fdinfo_flags(p[1]) & O_ACCMODE, O_WRONLY);
}

CASE(fdinfo_lists_open_fds_only)
{
	char path[64];
	int fd = ASSERT_OK(dup(0));
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	EXPECT_OK(stat(path, &st));
	close(fd);
	EXPECT_ERRNO(stat(path, &st), ENOENT);
}

/* ---- oom_score_adj, cgroup, loginuid ---- */

static int read_oom_adj(void)
{
	return slurp("/proc/self/oom_score_adj") > 0 ? atoi(big) : -9999;
}

static ssize_t write_oom_adj(const char *text)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n;
}

CASE(oom_score_adj_raise_and_errors)
{
	int old = read_oom_adj();
	char text[16];

	ASSERT_GE(old, -1000);
	if (old >= 1000)
		SKIP("oom_score_adj already at the maximum");
	snprintf(text, sizeof(text), "%d\n", old + 1);
	EXPECT_EQ(write_oom_adj(text), (ssize_t)strlen(text));
	EXPECT_EQ(read_oom_adj(), old + 1);
	EXPECT_ERRNO(write_oom_adj("1001"), EINVAL);
	EXPECT_ERRNO(write_oom_adj("abc"), EINVAL);
	EXPECT_EQ(read_oom_adj(), old + 1);
}

CASE(oom_score_adj_inherited_by_child)
{
	int old = read_oom_adj();
	char text[16];
	pid_t pid;

	if (old >= 1000)
		SKIP("oom_score_adj already at the maximum");
	snprintf(text, sizeof(text), "%d", old + 1);
	ASSERT_GT(write_oom_adj(text), 0);
	pid = ASSERT_OK(fork());
	if (pid == 0)
		_exit(read_oom_adj() == old + 1 ? 0 : 3);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(cgroup_and_loginuid_readable)
{
	char *end;

	ASSERT_GT(slurp("/proc/self/cgroup"), 0);
	EXPECT_TRUE(line_with("0::/") != NULL);
	ASSERT_GT(slurp("/proc/self/loginuid"), 0);
	strtoul(big, &end, 10);
	EXPECT_TRUE(end != big);
}

/* ---- ownership and modes ---- */

CASE(pid_entries_modes)
{
	struct stat st;

	ASSERT_OK(stat("/proc/self/environ", &st));
	EXPECT_EQ(st.st_mode & 07777, 0400);
	ASSERT_OK(stat("/proc/self/comm", &st));
	EXPECT_EQ(st.st_mode & 07777, 0644);
	ASSERT_OK(stat("/proc/self/fd", &st));
	EXPECT_EQ(st.st_mode & 07777, 0500);
	ASSERT_OK(stat("/proc/self/stat", &st));
	EXPECT_EQ(st.st_mode & 07777, 0444);
	EXPECT_EQ(st.st_uid, geteuid());
}

CASE(pid_entries_owned_by_euid)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root");
	pid = ASSERT_OK(fork());
	if (pid == 0) {
		struct stat st;

		if (setresgid(1234, 1234, 1234) < 0 || setresuid(1234, 1234, 1234) < 0)
			_exit(2);
		/* A uid change makes the process non-dumpable: root owns it. */
		if (stat("/proc/self/status", &st) < 0 || st.st_uid != 0)
			_exit(3);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (stat("/proc/self/status", &st) < 0 || st.st_uid != 1234 || st.st_gid != 1234)
			_exit(4);
		_exit(0);
	}
	EXPECT_EXITED(h_wait(pid), 0);
}

/* ---- writes, creations, removals ---- */

CASE(write_to_read_only_entries)
{
	int fd;

	if (geteuid() != 0)
		SKIP("needs root (others get EACCES at open)");
	fd = ASSERT_OK(open("/proc/self/stat", O_WRONLY));
	EXPECT_ERRNO(write(fd, "x", 1), EINVAL);
	close(fd);
	fd = ASSERT_OK(open("/proc/meminfo", O_WRONLY));
	EXPECT_ERRNO(write(fd, "x", 1), EIO);
	close(fd);
	/* sysctls check their own mode, even for root. */
	EXPECT_ERRNO(open("/proc/sys/kernel/ostype", O_WRONLY), EACCES);
}

CASE(proc_namespace_is_fixed)
{
	if (geteuid() != 0)
		SKIP("needs root (others get EACCES first)");
	EXPECT_ERRNO(mkdir("/proc/self", 0700), EEXIST);
	EXPECT_ERRNO(open("/proc/self/stat", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_ERRNO(open("/proc/new-entry", O_RDWR | O_CREAT, 0600), ENOENT);
	EXPECT_ERRNO(unlink("/proc/self/stat"), EPERM);
	EXPECT_ERRNO(unlink("/proc/self/no-such-entry"), ENOENT);
	EXPECT_ERRNO(rmdir("/proc/self/fd"), EPERM);
	EXPECT_ERRNO(chmod("/proc/self/stat", 0777), EPERM);
	EXPECT_ERRNO(symlink("x", "/proc/self/new-link"), ENOENT);
}

/* ---- system-wide files ---- */

CASE(meminfo_matches_sysinfo)
{
	struct sysinfo si;
	unsigned long long total;
	const char *l;

	ASSERT_OK(sysinfo(&si));
	ASSERT_GT(slurp("/proc/meminfo"), 0);
	l = line_with("MemTotal:");
	ASSERT_TRUE(l != NULL);
	total = strtoull(l + 9, NULL, 10);
	EXPECT_EQ(total, (unsigned long long)si.totalram * si.mem_unit / 1024);
	EXPECT_TRUE(line_with("MemAvailable:") != NULL);
	EXPECT_TRUE(line_with("SwapTotal:") != NULL);
	EXPECT_TRUE(line_with("Cached:") != NULL);
}

CASE(cpuinfo_counts_online_cpus)
{
	int n = 0;

	ASSERT_GT(slurp("/proc/cpuinfo"), 0);
	for (const char *l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, "processor\t:", 11) == 0;
	EXPECT_SAME(n, sysconf(_SC_NPROCESSORS_ONLN));
	EXPECT_TRUE(line_with("vendor_id\t:") != NULL);
	EXPECT_TRUE(line_with("model name\t:") != NULL);
	EXPECT_TRUE(line_with("flags\t\t:") != NULL);
}

CASE(proc_stat_cpus_and_btime)
{
	struct sysinfo si;
	const char *l;
	time_t now = time(NULL);
	long long btime;
	int cpus = 0;

	ASSERT_OK(sysinfo(&si));
	ASSERT_GT(slurp("/proc/stat"), 0);
	EXPECT_EQ(strncmp(big, "cpu  ", 5), 0);
	for (l = big; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		cpus += strncmp(l, "cpu", 3) == 0 && l[3] >= '0' && l[3] <= '9';
	EXPECT_SAME(cpus, sysconf(_SC_NPROCESSORS_ONLN));
	l = line_with("btime ");
	ASSERT_TRUE(l != NULL);
	btime = atoll(l + 6);
	EXPECT_TRUE(btime <= now && btime >= now - si.uptime - 2);
	l = line_with("processes ");
	ASSERT_TRUE(l != NULL);
	EXPECT_GE(atoll(l + 10), 1);
	l = line_with("procs_running ");
	ASSERT_TRUE(l != NULL);
	EXPECT_GE(atoll(l + 14), 1);
}

CASE(uptime_matches_sysinfo)
{
	struct sysinfo si;
	double up, idle;

	ASSERT_GT(slurp("/proc/uptime"), 0);
	ASSERT_EQ(sscanf(big, "%lf %lf", &up, &idle), 2);
	ASSERT_OK(sysinfo(&si));
	EXPECT_TRUE(si.uptime >= (long)up - 1 && si.uptime <= (long)up + 2);
	EXPECT_TRUE(idle >= 0);
}

CASE(loadavg_fields)
{
	double a, b, c;
	int running, total, last;

	ASSERT_GT(slurp("/proc/loadavg"), 0);
	ASSERT_EQ(sscanf(big, "%lf %lf %lf %d/%d %d", &a, &b, &c, &running, &total, &last), 6);
	EXPECT_GE(running, 1);
	EXPECT_GE(total, running);
	EXPECT_GE(last, getpid());
}

CASE(version_mentions_uname_release)
{
	struct utsname u;

	ASSERT_OK(uname(&u));
	ASSERT_GT(slurp("/proc/version"), 0);
	EXPECT_EQ(strncmp(big, "Linux version ", 14), 0);
	EXPECT_EQ(strncmp(big + 14, u.release, strlen(u.release)), 0);
	ASSERT_GT(slurp("/proc/filesystems"), 0);
	EXPECT_TRUE(strstr(big, "nodev\tproc\n") != NULL);
	EXPECT_TRUE(strstr(big, "nodev\ttmpfs\n") != NULL);
}

CASE(vmstat_and_swaps)
{
	ASSERT_GT(slurp("/proc/vmstat"), 0);
	EXPECT_TRUE(line_with("nr_free_pages ") != NULL);
	EXPECT_TRUE(line_with("pgpgin ") != NULL);
	EXPECT_TRUE(line_with("pswpout ") != NULL);
	ASSERT_GT(slurp("/proc/swaps"), 0);
	EXPECT_EQ(strncmp(big, "Filename\t", 9), 0);
}

/* ---- /proc/sys ---- */

CASE(sys_kernel_uts_names)
{
	struct utsname u;
	char want[128];

	ASSERT_OK(uname(&u));
	ASSERT_GT(slurp("/proc/sys/kernel/hostname"), 0);
	snprintf(want, sizeof(want), "%s\n", u.nodename);
	EXPECT_STREQ(big, want);
	ASSERT_GT(slurp("/proc/sys/kernel/domainname"), 0);
	snprintf(want, sizeof(want), "%s\n", u.domainname);
	EXPECT_STREQ(big, want);
	ASSERT_GT(slurp("/proc/sys/kernel/osrelease"), 0);
	snprintf(want, sizeof(want), "%s\n", u.release);
	EXPECT_STREQ(big, want);
}

CASE(sys_kernel_limits_agree)
{
	ASSERT_GT(slurp("/proc/sys/kernel/ngroups_max"), 0);
	EXPECT_EQ(atol(big), sysconf(_SC_NGROUPS_MAX));
	ASSERT_GT(slurp("/proc/sys/kernel/pid_max"), 0);
	EXPECT_GT(atol(big), getpid());
	ASSERT_GT(slurp("/proc/sys/kernel/cap_last_cap"), 0);
	EXPECT_GE(prctl(PR_CAPBSET_READ, atol(big), 0, 0, 0), 0);
	EXPECT_ERRNO(prctl(PR_CAPBSET_READ, atol(big) + 1, 0, 0, 0), EINVAL);
}

CASE(sys_random_ids)
{
	char boot[64], again[64], uuid[64];

	ASSERT_EQ(slurp("/proc/sys/kernel/random/boot_id"), 37);
	memcpy(boot, big, 38);
	ASSERT_EQ(slurp("/proc/sys/kernel/random/boot_id"), 37);
	memcpy(again, big, 38);
	EXPECT_STREQ(boot, again);
	ASSERT_EQ(slurp("/proc/sys/kernel/random/uuid"), 37);
	memcpy(uuid, big, 38);
	ASSERT_EQ(slurp("/proc/sys/kernel/random/uuid"), 37);
	EXPECT_TRUE(strcmp(uuid, big) != 0);
	EXPECT_EQ(big[8], '-');
	EXPECT_EQ(big[14], '4');
}

CASE(sys_fs_vm_net_values)
{
	struct rlimit rl;

	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_GT(slurp("/proc/sys/fs/nr_open"), 0);
	EXPECT_GE(strtoull(big, NULL, 10), rl.rlim_max);
	ASSERT_GT(slurp("/proc/sys/fs/file-max"), 0);
	EXPECT_GT(strtoull(big, NULL, 10), 0);
	ASSERT_GT(slurp("/proc/sys/fs/pipe-max-size"), 0);
	EXPECT_GE(atol(big), 65536);
	ASSERT_GT(slurp("/proc/sys/vm/overcommit_memory"), 0);
	EXPECT_TRUE(atoi(big) >= 0 && atoi(big) <= 2);
	ASSERT_GT(slurp("/proc/sys/net/core/somaxconn"), 0);
	EXPECT_GT(atoi(big), 0);
}

CASE(proc_fd_link_mode_follows_access_mode)
{
	int p[2];
	char path[64];
	struct stat st;

	ASSERT_OK(pipe(p));
	int rw = open("/dev/null", O_RDWR);

	ASSERT_GE(rw, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	ASSERT_OK(lstat(path, &st));
	EXPECT_EQ(st.st_mode, S_IFLNK | 0500);
	EXPECT_EQ(st.st_size, 64);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
	ASSERT_OK(lstat(path, &st));
	EXPECT_EQ(st.st_mode, S_IFLNK | 0300);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rw);
	ASSERT_OK(lstat(path, &st));
	EXPECT_EQ(st.st_mode, S_IFLNK | 0700);
}

HARNESS_MAIN
