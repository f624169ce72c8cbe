/*
 * timers_creds: alarm, interval timers, POSIX timers, credentials,
 * capabilities, prctl, nice values and scheduling calls. Prints lines that
 * are the same on Linux and in the sandbox; run as root (the credential
 * part switches ids). Exits 0 when every check held.
 *
 * Nothing printed depends on the host's capability sets, its sysctls or
 * its RLIMIT_NICE/RTPRIO: values are compared, not shown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			failures++;                                     \
			printf("FAIL line %d: %s: ", __LINE__, #cond);  \
			printf(__VA_ARGS__);                            \
			printf(" (errno %d)\n", errno);                 \
		}                                                       \
	} while (0)

static volatile sig_atomic_t alarms, ticks, rt_hits, rt_code, rt_value, rt_tid;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	ticks++;
}

static void on_rt(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	rt_hits++;
	rt_code = info->si_code;
	rt_value = info->si_value.sival_int;
	rt_tid = info->si_timerid;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void handle_info(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static const char *err(int rc)
{
	if (rc == 0)
		return "ok";
	switch (errno) {
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ESRCH: return "ESRCH";
	case EFAULT: return "EFAULT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "other";
	}
}

static void test_alarm(void)
{
	unsigned left;

	handle(SIGALRM, on_alarm);
	left = alarm(10);
	printf("alarm first: %u\n", left);
	left = alarm(1);
	printf("alarm replaced: %u\n", left); /* 9.99s rounds to 10 */
	while (alarms == 0)
		pause();
	printf("alarm fired: %d\n", alarms);
	printf("alarm after: %u\n", alarm(0));
}

static void test_itimer(void)
{
	struct itimerval it, old, cur;

	memset(&cur, 0xff, sizeof(cur));
	getitimer(ITIMER_REAL, &cur);
	printf("getitimer idle: %ld %ld %ld %ld\n", (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec,
	       (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);

	ticks = 0;
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = 20000;
	it.it_value = it.it_interval;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
	getitimer(ITIMER_REAL, &cur);
	printf("getitimer armed: interval %ld value_ok %d\n", (long)cur.it_interval.tv_usec,
	       cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000);
	while (ticks < 5)
		pause();
	memset(&it, 0, sizeof(it));
	CHECK(setitimer(ITIMER_REAL, &it, &old) == 0, "disarm");
	printf("itimer periodic: ticks>=5 %d old interval %ld\n", ticks >= 5, (long)old.it_interval.tv_usec);
	getitimer(ITIMER_REAL, &cur);
	printf("getitimer disarmed: %ld %ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);

	it.it_value.tv_usec = 1000000;
	printf("setitimer bad usec: %s\n", err(setitimer(ITIMER_REAL, &it, NULL)));
	it.it_value.tv_usec = 0;
	printf("setitimer bad which: %s\n", err(setitimer(7, &it, NULL)));

	/* A virtual timer far in the future: set, read back, disarm. */
	it.it_value.tv_sec = 100;
	it.it_interval.tv_sec = 3;
	CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0, "virtual");
	getitimer(ITIMER_VIRTUAL, &cur);
	printf("virtual: interval %ld value_ok %d\n", (long)cur.it_interval.tv_sec,
	       cur.it_value.tv_sec >= 99 && cur.it_value.tv_sec <= 100);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_VIRTUAL, &it, NULL);
}

static void wait_rt(int n)
{
	sigset_t none;
	sigemptyset(&none);
	while (rt_hits < n)
		sigsuspend(&none);
}

static void test_posix_timers(void)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its, cur;
	struct timespec now;
	int sig = SIGRTMIN + 1;

	handle_info(sig);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = 42;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create");
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 10 * 1000 * 1000;
	its.it_interval.tv_nsec = 10 * 1000 * 1000;
	CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime");
	wait_rt(3);
	printf("posix periodic: hits>=3 %d si_code SI_TIMER %d value %d\n", rt_hits >= 3, rt_code == SI_TIMER,
	       (int)rt_value);
	CHECK(timer_gettime(t, &cur) == 0, "timer_gettime");
	printf("timer_gettime: interval %ld value_ok %d\n", cur.it_interval.tv_nsec,
	       cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 10000000);
	printf("timer_getoverrun: >=0 %d\n", timer_getoverrun(t) >= 0);
	memset(&its, 0, sizeof(its));
	CHECK(timer_settime(t, 0, &its, &cur) == 0, "disarm");
	printf("old interval %ld\n", cur.it_interval.tv_nsec);
	CHECK(timer_delete(t) == 0, "timer_delete");
	printf("deleted gettime: %s\n", err(timer_gettime(t, &cur)));
	printf("deleted delete: %s\n", err(timer_delete(t)));

	/* Absolute CLOCK_REALTIME, one shot. */
	rt_hits = 0;
	sev.sigev_value.sival_int = 7;
	CHECK(timer_create(CLOCK_REALTIME, &sev, &t) == 0, "timer_create realtime");
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = now.tv_sec;
	its.it_value.tv_nsec = now.tv_nsec + 30 * 1000 * 1000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0, "abstime");
	wait_rt(1);
	timer_gettime(t, &cur);
	printf("abstime: hits %d value %d after %ld %ld\n", (int)rt_hits, (int)rt_value, (long)cur.it_value.tv_sec,
	       cur.it_value.tv_nsec);
	/* In the past: fires at once. */
	its.it_value.tv_sec = 1;
	its.it_value.tv_nsec = 0;
	CHECK(timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0, "past");
	wait_rt(2);
	printf("abstime past: hits %d\n", (int)rt_hits);
	timer_delete(t);

	/* SIGEV_NONE: nothing is sent; the time runs down. */
	sev.sigev_notify = SIGEV_NONE;
	CHECK(timer_create(CLOCK_BOOTTIME, &sev, &t) == 0, "sigev_none");
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = 5;
	timer_settime(t, 0, &its, NULL);
	timer_gettime(t, &cur);
	printf("sigev_none: value_ok %d\n", cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5);
	timer_delete(t);

	/* SIGEV_THREAD_ID to this thread. */
	rt_hits = 0;
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	sev.sigev_value.sival_int = 99;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "thread_id");
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = 5 * 1000 * 1000;
	timer_settime(t, 0, &its, NULL);
	wait_rt(1);
	printf("thread_id: hits %d value %d\n", (int)rt_hits, (int)rt_value);
	timer_delete(t);

	/* No sigevent (the raw syscall: the C library may fill one in):
	 * SIGALRM with the kernel's timer id as si_value. */
	{
		int kid = -1;
		handle_info(SIGALRM);
		rt_hits = 0;
		CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &kid) == 0, "null sigevent");
		its.it_value.tv_nsec = 1000 * 1000;
		CHECK(syscall(SYS_timer_settime, kid, 0, &its, NULL) == 0, "settime raw");
		wait_rt(1);
		printf("null sigevent: value is the id %d, si_timerid too %d\n", rt_value == kid, rt_tid == kid);
		CHECK(syscall(SYS_timer_delete, kid) == 0, "delete raw");
		handle(SIGALRM, on_alarm);
	}

	/* Errors. */
	sev.sigev_notify = SIGEV_SIGNAL;
	printf("bad clock: %s\n", err(timer_create(12345, &sev, &t)));
	printf("raw clock: %s\n", err(timer_create(CLOCK_MONOTONIC_RAW, &sev, &t)));
	sev.sigev_signo = 0;
	printf("bad signo: %s\n", err(timer_create(CLOCK_MONOTONIC, &sev, &t)));
	sev.sigev_signo = sig;
	sev.sigev_notify = 77;
	printf("bad notify: %s\n", err(timer_create(CLOCK_MONOTONIC, &sev, &t)));
	sev.sigev_notify = SIGEV_SIGNAL;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create");
	its.it_value.tv_nsec = 1000000000;
	printf("bad nsec: %s\n", err(timer_settime(t, 0, &its, NULL)));
	printf("null new value: %s\n", err((int)syscall(SYS_timer_settime, t, 0, NULL, NULL)));
	timer_delete(t);
}

static void print_ids(const char *what)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("%s: uid %u %u %u gid %u %u %u\n", what, r, e, s, rg, eg, sg);
}

static void caps(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
}

static void test_creds(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2], full[2];
	gid_t groups[8];
	int n, rc, status;
	pid_t child;

	print_ids("start");
	caps(full);
	printf("caps: effective==permitted %d setuid %d\n",
	       full[0].effective == full[0].permitted && full[1].effective == full[1].permitted,
	       !!(full[0].effective & (1u << CAP_SETUID)));

	/* Version probing. */
	h.version = 0x12345678;
	h.pid = 0;
	rc = (int)syscall(SYS_capget, &h, d);
	printf("capget bad version: %s version %#x\n", err(rc), h.version);
	h.version = 0x12345678;
	rc = (int)syscall(SYS_capget, &h, NULL);
	printf("capget probe: %s version %#x\n", err(rc), h.version);

	/* seteuid away from root and back. */
	printf("seteuid 1000: %s\n", err(setresuid(-1, 1000, -1)));
	print_ids("euid 1000");
	caps(d);
	printf("caps: effective empty %d permitted kept %d\n", d[0].effective == 0 && d[1].effective == 0,
	       d[0].permitted == full[0].permitted && d[1].permitted == full[1].permitted);
	printf("setresuid 5 unprivileged: %s\n", err(setresuid(-1, 5, -1)));
	printf("setfsuid: old %d\n", setfsuid(-1));
	printf("back to root: %s\n", err(setresuid(-1, 0, -1)));
	caps(d);
	printf("caps: restored %d\n", d[0].effective == full[0].effective && d[1].effective == full[1].effective);

	printf("setresgid: %s\n", err(setresgid(100, 200, 300)));
	print_ids("gids");
	printf("setregid: %s\n", err(setregid(-1, 100)));
	print_ids("regid");
	printf("setgid: %s\n", err(setgid(0)));
	print_ids("setgid 0");

	printf("setfsuid 1234: old %d\n", setfsuid(1234));
	printf("setfsuid query: old %d\n", setfsuid(-1));
	printf("setfsuid 0: old %d\n", setfsuid(0));
	printf("setfsgid 55: old %d\n", setfsgid(55));
	printf("setfsgid 0: old %d\n", setfsgid(0));

	groups[0] = 30;
	groups[1] = 10;
	groups[2] = 20;
	printf("setgroups: %s\n", err(setgroups(3, groups)));
	n = getgroups(0, NULL);
	printf("getgroups count %d\n", n);
	memset(groups, 0, sizeof(groups));
	n = getgroups(8, groups);
	printf("getgroups: %d: %u %u %u\n", n, groups[0], groups[1], groups[2]);
	printf("getgroups small: %s\n", err(getgroups(1, groups) < 0 ? -1 : 0));

	/* capset: drop CAP_SYS_BOOT from effective, then bring it back. */
	d[0] = full[0];
	d[1] = full[1];
	d[0].effective &= ~(1u << CAP_SYS_BOOT);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	printf("capset drop: %s\n", err((int)syscall(SYS_capset, &h, d)));
	d[0].effective = full[0].effective;
	printf("capset raise effective: %s\n", err((int)syscall(SYS_capset, &h, d)));
	h.pid = 1 << 30;
	printf("capset other pid: %s\n", err((int)syscall(SYS_capset, &h, d)));

	/* Dropping every root id is for good: in a child. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct rlimit rl = { 0, 0 };
		printf("child setuid 1000: %s\n", err(setuid(1000)));
		print_ids("child");
		caps(d);
		printf("child caps empty: %d\n", d[0].effective == 0 && d[0].permitted == 0 && d[1].permitted == 0);
		printf("child setuid 0: %s\n", err(setuid(0)));
		printf("child setgroups: %s\n", err(setgroups(0, NULL)));
		setrlimit(RLIMIT_NICE, &rl);
		printf("child nice up: %s\n", err(setpriority(PRIO_PROCESS, 0, 5)));
		printf("child nice down: %s\n", err(setpriority(PRIO_PROCESS, 0, 2)));
		printf("child setuid -1: %s\n", err(setuid(-1)));
		fflush(stdout);
		_exit(failures);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");

	/* With PR_SET_KEEPCAPS the permitted set survives; effective not. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		rc = prctl(PR_SET_KEEPCAPS, 1);
		printf("keepcaps child: set %s get %d\n", err(rc), prctl(PR_GET_KEEPCAPS));
		printf("keepcaps child setuid 1000: %s\n", err(setuid(1000)));
		caps(d);
		printf("keepcaps child: effective empty %d permitted kept %d\n", d[0].effective == 0 && d[1].effective == 0,
		       d[0].permitted == full[0].permitted && d[1].permitted == full[1].permitted);
		printf("keepcaps child setuid 0: %s\n", err(setuid(0)));
		/* Raise CAP_SETUID into effective: then going back works. */
		d[0].effective = 1u << CAP_SETUID;
		d[0].permitted = full[0].permitted;
		d[1].permitted = full[1].permitted;
		h.version = _LINUX_CAPABILITY_VERSION_3;
		h.pid = 0;
		printf("keepcaps child capset: %s\n", err((int)syscall(SYS_capset, &h, d)));
		printf("keepcaps child setuid 0 again: %s\n", err(setuid(0)));
		print_ids("keepcaps child");
		fflush(stdout);
		_exit(failures);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "keepcaps child");
}

static void test_prctl(void)
{
	char name[32];
	int v = -1;

	printf("set name: %s\n", err(prctl(PR_SET_NAME, "timers-and-creds-test")));
	memset(name, 'x', sizeof(name));
	prctl(PR_GET_NAME, name);
	printf("get name: %s (len %zu)\n", name, strlen(name));

	printf("set pdeathsig: %s\n", err(prctl(PR_SET_PDEATHSIG, SIGTERM)));
	prctl(PR_GET_PDEATHSIG, &v);
	printf("get pdeathsig: %d\n", v);
	printf("bad pdeathsig: %s\n", err(prctl(PR_SET_PDEATHSIG, 65)));
	/* A change of effective uid clears it (prctl(2)). */
	setresuid(-1, 1, -1);
	setresuid(-1, 0, -1);
	prctl(PR_GET_PDEATHSIG, &v);
	printf("pdeathsig after euid change: %d\n", v);

	printf("set subreaper: %s\n", err(prctl(PR_SET_CHILD_SUBREAPER, 1)));
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	printf("get subreaper: %d\n", v);

	printf("dumpable set 1: %s\n", err(prctl(PR_SET_DUMPABLE, 1)));
	printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
	printf("dumpable set 0: %s\n", err(prctl(PR_SET_DUMPABLE, 0)));
	printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
	printf("dumpable set 2: %s\n", err(prctl(PR_SET_DUMPABLE, 2)));
	prctl(PR_SET_DUMPABLE, 1);

	printf("keepcaps: %d\n", prctl(PR_GET_KEEPCAPS));
	printf("keepcaps set 2: %s\n", err(prctl(PR_SET_KEEPCAPS, 2)));

	printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("no_new_privs set 0: %s\n", err(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)));
	printf("no_new_privs set 1: %s\n", err(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
	printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

	printf("capbset read setuid: %d\n", prctl(PR_CAPBSET_READ, CAP_SETUID));
	printf("capbset read 64: %s\n", err(prctl(PR_CAPBSET_READ, 64) < 0 ? -1 : 0));
	printf("unknown option: %s\n", err(prctl(0x7fff0000, 0, 0, 0, 0)));
}

static void test_sched(void)
{
	struct sched_param p;
	struct rusage ru;
	cpu_set_t set;
	unsigned cpu = 999, node = 999;
	int rc;

	printf("getpriority: %d\n", getpriority(PRIO_PROCESS, 0));
	printf("setpriority 5: %s\n", err(setpriority(PRIO_PROCESS, 0, 5)));
	printf("getpriority: %d\n", getpriority(PRIO_PROCESS, 0));
	printf("setpriority 100: %s\n", err(setpriority(PRIO_PROCESS, 0, 100)));
	printf("getpriority clamped: %d\n", getpriority(PRIO_PROCESS, 0));
	errno = 0;
	getpriority(PRIO_PROCESS, 1 << 30);
	printf("getpriority missing: %s\n", err(errno ? -1 : 0));
	printf("getpriority bad which: %s\n", err(getpriority(9, 0) == -1 && errno == EINVAL ? -1 : 0));
	setpriority(PRIO_PROCESS, 0, 0);

	printf("policy: %d\n", sched_getscheduler(0));
	p.sched_priority = 0;
	printf("set batch: %s\n", err(sched_setscheduler(0, SCHED_BATCH, &p)));
	printf("policy: %d\n", sched_getscheduler(0));
	printf("set other: %s\n", err(sched_setscheduler(0, SCHED_OTHER, &p)));
	p.sched_priority = 5;
	printf("other prio 5: %s\n", err(sched_setscheduler(0, SCHED_OTHER, &p)));
	printf("bad policy: %s\n", err(sched_setscheduler(0, 77, &p)));
	printf("deadline: %s\n", err(sched_setscheduler(0, SCHED_DEADLINE, &p)));
	p.sched_priority = 0;
	printf("setparam: %s\n", err(sched_setparam(0, &p)));
	p.sched_priority = 3;
	CHECK(sched_getparam(0, &p) == 0, "getparam");
	printf("getparam: %d\n", p.sched_priority);
	printf("max fifo %d min fifo %d max other %d min other %d bad %s\n", sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_OTHER),
	       sched_get_priority_min(SCHED_OTHER), err(sched_get_priority_max(42) < 0 ? -1 : 0));
	printf("getscheduler missing: %s\n", err(sched_getscheduler(1 << 30)));

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	printf("affinity cpu0: %s\n", err(sched_setaffinity(0, sizeof(set), &set)));
	CPU_ZERO(&set);
	printf("affinity empty: %s\n", err(sched_setaffinity(0, sizeof(set), &set)));
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);

	printf("getcpu: %s\n", err((int)syscall(SYS_getcpu, &cpu, &node, NULL)));
	printf("getcpu cpu ok %d node %u\n", cpu < 4096, node);

	memset(&ru, 0, sizeof(ru));
	rc = getrusage(RUSAGE_SELF, &ru);
	printf("getrusage self: %s maxrss>0 %d\n", err(rc), ru.ru_maxrss > 0);
	printf("getrusage thread: %s\n", err(getrusage(RUSAGE_THREAD, &ru)));
	printf("getrusage children: %s\n", err(getrusage(RUSAGE_CHILDREN, &ru)));
	printf("getrusage bad: %s\n", err(getrusage(5, &ru)));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_alarm();
	test_itimer();
	test_posix_timers();
	test_creds();
	test_prctl();
	test_sched();
	printf("failures: %d\n", failures);
	return failures != 0;
}
