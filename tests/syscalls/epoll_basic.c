/*
 * epoll(7): epoll_create/epoll_create1, epoll_ctl (ADD, MOD, DEL and their
 * errors), epoll_wait, epoll_pwait, epoll_pwait2, level- and edge-triggered
 * readiness, EPOLLONESHOT, EPOLLEXCLUSIVE, hang-ups, the data round trip,
 * nested epoll instances, and registrations that last as long as the open
 * file description.
 */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/timerfd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int new_epoll(void)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		FAILX("epoll_create1: %s", h_errname(errno));
	return ep;
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		FAILX("epoll_ctl ADD %d: %s", fd, h_errname(errno));
}

static int ctl(int ep, int op, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = 0};

	return epoll_ctl(ep, op, fd, &ev);
}

/* One epoll_wait with `timeout` for a single event; returns the count. */
static int wait1(int ep, struct epoll_event *ev, int timeout)
{
	memset(ev, 0, sizeof(*ev));
	return epoll_wait(ep, ev, 1, timeout);
}

static void make_pipe(int p[2])
{
	if (pipe2(p, O_NONBLOCK) != 0)
		FAILX("pipe2: %s", h_errname(errno));
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		FAILX("write: %s", h_errname(errno));
}

static volatile int got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal++;
}

static void handle(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* A child that sleeps `ms`, sends `sig` to the parent (if any), then writes "x" to fd (if >= 0). */
static pid_t later(int ms, int sig, int fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		usleep(ms * 1000);
		if (sig)
			kill(parent, sig);
		if (fd >= 0) {
			if (sig)
				usleep(ms * 1000);
			if (write(fd, "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

/* A child that sends `sig` to the parent every `ms` until killed. */
static pid_t nagger(int ms, int sig)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		for (int i = 0; i < 1000; i++) {
			usleep(ms * 1000);
			kill(parent, sig);
		}
		_exit(0);
	}
	return pid;
}

/* ---- creation ---- */

CASE(epoll_create_size_must_be_positive)
{
	EXPECT_ERRNO(epoll_create(0), EINVAL);
	EXPECT_ERRNO(epoll_create(-1), EINVAL);
	EXPECT_OK(epoll_create(1));
	EXPECT_OK(epoll_create(100000));
}

CASE(epoll_create1_flags)
{
	int a = ASSERT_OK(epoll_create1(EPOLL_CLOEXEC));
	int b = ASSERT_OK(epoll_create1(0));

	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
	EXPECT_EQ(fcntl(b, F_GETFL) & O_ACCMODE, O_RDWR);
	EXPECT_ERRNO(epoll_create1(1), EINVAL);
	EXPECT_ERRNO(epoll_create1(O_NONBLOCK), EINVAL);
}

CASE(epoll_fd_is_not_readable_or_writable)
{
	int ep = new_epoll();
	char c;

	EXPECT_ERRNO(read(ep, &c, 1), EINVAL);
	EXPECT_ERRNO(write(ep, &c, 1), EINVAL);
}

CASE(epoll_fd_lseek_noop_and_fstat)
{
	int ep = new_epoll();
	struct stat st;

	EXPECT_EQ(lseek(ep, 3, SEEK_SET), 0);
	ASSERT_OK(fstat(ep, &st));
	/* An anonymous inode: rw for the owner and no file type. */
	EXPECT_EQ(st.st_mode, 0600);
}

CASE(epoll_proc_fd_link)
{
	int ep = new_epoll();
	char path[64], link[64] = {0};

	snprintf(path, sizeof(path), "/proc/self/fd/%d", ep);
	ASSERT_OK(readlink(path, link, sizeof(link) - 1));
	EXPECT_STREQ(link, "anon_inode:[eventpoll]");
}

/* ---- epoll_ctl errors ---- */

CASE(ctl_add_twice_eexist)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN));
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN), EEXIST);
}

CASE(ctl_mod_and_del_unregistered_enoent)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN), ENOENT);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_DEL, p[0], 0), ENOENT);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN));
	EXPECT_OK(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLOUT));
	EXPECT_OK(ctl(ep, EPOLL_CTL_DEL, p[0], 0));
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_DEL, p[0], 0), ENOENT);
}

CASE(ctl_bad_fds_ebadf)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	EXPECT_ERRNO(ctl(-1, EPOLL_CTL_ADD, p[0], EPOLLIN), EBADF);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, -1, EPOLLIN), EBADF);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, 1000, EPOLLIN), EBADF);
	close(p[1]);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLIN), EBADF);
}

CASE(ctl_regular_file_and_directory_eperm)
{
	int ep = new_epoll();
	int f, d;

	h_write_file(h_path("f"), "abc", 3);
	f = ASSERT_OK(open(h_path("f"), O_RDONLY));
	d = ASSERT_OK(open(h_tmp(), O_RDONLY | O_DIRECTORY));
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN), EPERM);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN), EPERM);
}

CASE(ctl_epfd_not_epoll_einval)
{
	int p[2], e = ASSERT_OK(eventfd(0, 0));

	make_pipe(p);
	EXPECT_ERRNO(ctl(p[0], EPOLL_CTL_ADD, e, EPOLLIN), EINVAL);
	EXPECT_ERRNO(ctl(e, EPOLL_CTL_ADD, p[0], EPOLLIN), EINVAL);
}

CASE(ctl_adding_itself_einval)
{
	int ep = new_epoll();
	int dup_ep = ASSERT_OK(dup(ep));

	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN), EINVAL);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, dup_ep, EPOLLIN), EINVAL);
}

CASE(ctl_bad_op_einval)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	EXPECT_ERRNO(ctl(ep, 0, p[0], EPOLLIN), EINVAL);
	EXPECT_ERRNO(ctl(ep, 4, p[0], EPOLLIN), EINVAL);
}

CASE(ctl_bad_event_pointer)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], BAD_PTR), EFAULT);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], BAD_PTR), EFAULT);
	/* DEL ignores the event (epoll_ctl(2) BUGS: NULL is fine since 2.6.9). */
	EXPECT_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
}

CASE(ctl_exclusive_rules)
{
	int ep = new_epoll(), inner = new_epoll(), p[2], q[2];

	make_pipe(p);
	make_pipe(q);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLEXCLUSIVE));
	/* No MOD of an exclusive item, and no MOD asking for it. */
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN), EINVAL);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN));
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_MOD, q[0], EPOLLIN | EPOLLEXCLUSIVE), EINVAL);
	EXPECT_OK(ctl(ep, EPOLL_CTL_DEL, q[0], 0));
	/* Only some events go with it, and never on an epoll target. */
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLPRI | EPOLLEXCLUSIVE), EINVAL);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLONESHOT | EPOLLEXCLUSIVE), EINVAL);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE), EINVAL);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLET | EPOLLEXCLUSIVE));
	EXPECT_OK(ctl(ep, EPOLL_CTL_DEL, p[0], 0));
}

CASE(ctl_loop_eloop)
{
	int a = new_epoll(), b = new_epoll(), c = new_epoll();

	EXPECT_OK(ctl(a, EPOLL_CTL_ADD, b, EPOLLIN));
	EXPECT_OK(ctl(b, EPOLL_CTL_ADD, c, EPOLLIN));
	EXPECT_ERRNO(ctl(b, EPOLL_CTL_ADD, a, EPOLLIN), ELOOP);
	EXPECT_ERRNO(ctl(c, EPOLL_CTL_ADD, a, EPOLLIN), ELOOP);
	EXPECT_OK(ctl(a, EPOLL_CTL_ADD, c, EPOLLIN));
}

/* At most 5 instances in a chain, whichever end the link is added at. */
CASE(ctl_nesting_too_deep_eloop)
{
	int e[7], f[7];

	for (int i = 0; i < 7; i++) {
		e[i] = new_epoll();
		f[i] = new_epoll();
	}
	for (int i = 0; i < 4; i++)
		EXPECT_OK(ctl(e[i + 1], EPOLL_CTL_ADD, e[i], EPOLLIN));
	EXPECT_ERRNO(ctl(e[5], EPOLL_CTL_ADD, e[4], EPOLLIN), ELOOP);
	for (int i = 6; i > 2; i--)
		EXPECT_OK(ctl(f[i], EPOLL_CTL_ADD, f[i - 1], EPOLLIN));
	EXPECT_ERRNO(ctl(f[2], EPOLL_CTL_ADD, f[1], EPOLLIN), ELOOP);
	/* Dropping a link makes room again. */
	EXPECT_OK(ctl(f[6], EPOLL_CTL_DEL, f[5], 0));
	EXPECT_OK(ctl(f[2], EPOLL_CTL_ADD, f[1], EPOLLIN));
}

/* ---- epoll_wait arguments ---- */

CASE(wait_bad_maxevents_einval)
{
	int ep = new_epoll();
	struct epoll_event ev;

	EXPECT_ERRNO(epoll_wait(ep, &ev, 0, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(ep, &ev, OPAQUE(-1), 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(ep, &ev, OPAQUE(0x7fffffff), 0), EINVAL);
}

CASE(wait_bad_epfd)
{
	int p[2];
	struct epoll_event ev;

	make_pipe(p);
	EXPECT_ERRNO(epoll_wait(-1, &ev, 1, 0), EBADF);
	EXPECT_ERRNO(epoll_wait(p[0], &ev, 1, 0), EINVAL);
}

CASE(wait_events_unwritable_efault)
{
	int ep = new_epoll(), p[2];

	make_pipe(p);
	add(ep, p[1], EPOLLOUT, 1);
	EXPECT_ERRNO(epoll_wait(ep, BAD_PTR, 1, 0), EFAULT);
}

CASE(wait_empty_times_out)
{
	int ep = new_epoll();
	struct epoll_event ev;
	long long start;

	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	start = now_ms();
	EXPECT_EQ(wait1(ep, &ev, 50), 0);
	EXPECT_GE(now_ms() - start, 49);
}

/* ---- readiness ---- */

CASE(level_triggered_reports_while_ready)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 7);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	put(p[1], "ab");
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(wait1(ep, &ev, 0), 1);
		EXPECT_EQ(ev.events, EPOLLIN);
		EXPECT_EQ(ev.data.u64, 7);
	}
}

CASE(data_round_trips)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 0x0123456789abcdefULL};

	make_pipe(p);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.data.u64, 0x0123456789abcdefULL);
	ev.events = EPOLLOUT;
	ev.data.ptr = &ev;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_TRUE(ev.data.ptr == &ev);
}

CASE(write_end_reports_pollout_only)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[1], EPOLLIN | EPOLLOUT, 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT);
}

CASE(several_ready_in_one_call)
{
	int ep = new_epoll(), p[2], q[2];
	struct epoll_event evs[4];
	uint64_t seen = 0;
	int n;

	make_pipe(p);
	make_pipe(q);
	add(ep, p[0], EPOLLIN, 1);
	add(ep, q[0], EPOLLIN, 2);
	add(ep, q[1], EPOLLOUT, 4);
	put(p[1], "x");
	put(q[1], "y");
	n = epoll_wait(ep, evs, 4, 0);
	EXPECT_EQ(n, 3);
	for (int i = 0; i < n && i < 4; i++)
		seen |= evs[i].data.u64;
	EXPECT_EQ(seen, 7);
}

CASE(small_maxevents_rotates)
{
	int ep = new_epoll(), p[2], q[2];
	struct epoll_event ev;
	uint64_t first, second;

	make_pipe(p);
	make_pipe(q);
	add(ep, p[0], EPOLLIN, 1);
	add(ep, q[0], EPOLLIN, 2);
	put(p[1], "x");
	put(q[1], "y");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	first = ev.data.u64;
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	second = ev.data.u64;
	EXPECT_EQ(first | second, 3);
}

CASE(edge_triggered_reports_once)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLET, 3);
	put(p[1], "ab");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLIN);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_EQ(wait1(ep, &ev, 20), 0);
}

CASE(edge_triggered_reports_new_data)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLET, 3);
	put(p[1], "a");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	put(p[1], "b");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
}

CASE(edge_triggered_partial_read_no_new_event)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	char c;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLET, 3);
	put(p[1], "abc");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
}

CASE(edge_triggered_initial_readiness_reported)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	put(p[1], "a");
	add(ep, p[0], EPOLLIN | EPOLLET, 3);
	add(ep, p[1], EPOLLOUT | EPOLLET, 4);
	EXPECT_EQ(epoll_wait(ep, (struct epoll_event[2]){}, 2, 0), 2);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
}

CASE(edge_triggered_pollout_when_a_full_pipe_drains)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	char buf[4096];

	make_pipe(p);
	add(ep, p[1], EPOLLOUT | EPOLLET, 6);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	/* A read from a pipe that was not full frees no room worth a wake-up. */
	put(p[1], "a");
	EXPECT_EQ(read(p[0], buf, 1), 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	memset(buf, 'x', sizeof(buf));
	while (write(p[1], buf, sizeof(buf)) > 0)
		;
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), sizeof(buf));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
}

CASE(edge_triggered_eventfd)
{
	int ep = new_epoll(), e = ASSERT_OK(eventfd(0, EFD_NONBLOCK));
	struct epoll_event ev;
	uint64_t one = 1;

	add(ep, e, EPOLLIN | EPOLLET, 9);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_EQ(write(e, &one, 8), 8);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_EQ(write(e, &one, 8), 8);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
}

CASE(edge_triggered_mod_rearms)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLET, 3);
	put(p[1], "a");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_OK(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
}

CASE(oneshot_disables_until_mod)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLONESHOT, 5);
	put(p[1], "a");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.data.u64, 5);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	put(p[1], "b");
	close(p[1]);
	/* Disabled: not even the hang-up is reported. */
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	/* Still registered: ADD says EEXIST, MOD re-arms. */
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN), EEXIST);
	EXPECT_OK(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLIN | EPOLLHUP);
}

CASE(hangup_reported_without_asking)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], 0, 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	close(p[1]);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLHUP);
}

CASE(error_on_write_end_without_reader)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[1], EPOLLOUT, 1);
	close(p[0]);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT | EPOLLERR);
}

CASE(rdhup_accepted_on_pipes)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLRDHUP, 1);
	put(p[1], "a");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLIN);
}

CASE(mod_changes_events)
{
	int ep = new_epoll(), e = ASSERT_OK(eventfd(0, 0));
	struct epoll_event ev;

	add(ep, e, EPOLLIN, 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	EXPECT_OK(ctl(ep, EPOLL_CTL_MOD, e, EPOLLOUT));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT);
}

CASE(del_stops_reports)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[1], EPOLLOUT, 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_OK(ctl(ep, EPOLL_CTL_DEL, p[1], 0));
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
}

/* ---- registrations and file descriptions ---- */

CASE(registration_survives_close_of_a_dup)
{
	int ep = new_epoll(), p[2], copy;
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 77);
	copy = ASSERT_OK(dup(p[0]));
	close(p[0]);
	put(p[1], "a");
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.data.u64, 77);
	/* The registration is keyed by the old fd number: the copy is not it. */
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_DEL, copy, 0), ENOENT);
	EXPECT_ERRNO(ctl(ep, EPOLL_CTL_DEL, p[0], 0), EBADF);
}

CASE(registration_goes_with_last_fd)
{
	int ep = new_epoll(), p[2], q[2];
	struct epoll_event ev;

	make_pipe(p);
	add(ep, p[1], EPOLLOUT, 1);
	close(p[1]);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	/* A new file under the same number is a new registration. */
	make_pipe(q);
	ASSERT_EQ(q[0], p[1]);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN));
}

CASE(same_description_under_two_fds)
{
	int ep = new_epoll(), p[2], copy;
	struct epoll_event evs[2];
	uint64_t seen;

	make_pipe(p);
	copy = ASSERT_OK(dup(p[1]));
	add(ep, p[1], EPOLLOUT, 1);
	add(ep, copy, EPOLLOUT, 2);
	EXPECT_EQ(epoll_wait(ep, evs, 2, 0), 2);
	seen = evs[0].data.u64 | evs[1].data.u64;
	EXPECT_EQ(seen, 3);
}

CASE(shared_with_a_forked_child)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	pid_t pid;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 12);
	pid = fork();
	if (pid == 0) {
		struct epoll_event cev;

		_exit(epoll_wait(ep, &cev, 1, 5000) == 1 && cev.data.u64 == 12 ? 0 : 1);
	}
	usleep(20000);
	put(p[1], "a");
	EXPECT_EXITED(h_wait(pid), 0);
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
}

/* ---- blocking and signals ---- */

CASE(wait_woken_by_pipe_write)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	pid_t pid;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	pid = later(30, 0, p[1]);
	EXPECT_EQ(wait1(ep, &ev, 5000), 1);
	EXPECT_EQ(ev.events, EPOLLIN);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(wait_woken_by_eventfd)
{
	int ep = new_epoll(), e = ASSERT_OK(eventfd(0, 0));
	struct epoll_event ev;
	pid_t pid;

	add(ep, e, EPOLLIN, 1);
	pid = fork();
	if (pid == 0) {
		uint64_t one = 1;

		usleep(30000);
		_exit(write(e, &one, 8) == 8 ? 0 : 1);
	}
	EXPECT_EQ(wait1(ep, &ev, -1), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(wait_woken_by_timerfd)
{
	int ep = new_epoll(), t = ASSERT_OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec its = {.it_value = {0, 40000000}};
	struct epoll_event ev;
	long long start = now_ms();
	uint64_t n = 0;

	add(ep, t, EPOLLIN, 1);
	ASSERT_OK(timerfd_settime(t, 0, &its, NULL));
	EXPECT_EQ(wait1(ep, &ev, 5000), 1);
	EXPECT_GE(now_ms() - start, 39);
	EXPECT_EQ(read(t, &n, 8), 8);
	EXPECT_EQ(n, 1);
}

CASE(wait_woken_by_fifo_write)
{
	int ep = new_epoll(), r, w;
	struct epoll_event ev;
	pid_t pid;

	ASSERT_OK(mkfifo(h_path("fifo"), 0600));
	r = ASSERT_OK(open(h_path("fifo"), O_RDONLY | O_NONBLOCK));
	w = ASSERT_OK(open(h_path("fifo"), O_WRONLY));
	add(ep, r, EPOLLIN, 1);
	EXPECT_EQ(wait1(ep, &ev, 0), 0);
	pid = later(30, 0, w);
	EXPECT_EQ(wait1(ep, &ev, 5000), 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(wait_interrupted_eintr_even_with_sa_restart)
{
	int ep = new_epoll();
	struct epoll_event ev;
	pid_t pid;

	handle(SIGUSR1, SA_RESTART);
	pid = nagger(30, SIGUSR1);
	EXPECT_ERRNO(wait1(ep, &ev, 5000), EINTR);
	EXPECT_GE(got_signal, 1);
	kill(pid, SIGKILL);
	h_wait(pid);
}

CASE(pwait_mask_holds_off_a_signal)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	sigset_t block;
	pid_t pid;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	handle(SIGUSR1, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pid = later(20, SIGUSR1, p[1]);
	EXPECT_EQ(epoll_pwait(ep, &ev, 1, 5000, &block), 1);
	/* The signal was held off during the wait and delivered after it. */
	EXPECT_EQ(got_signal, 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(pwait_mask_lets_a_blocked_signal_in)
{
	int ep = new_epoll();
	struct epoll_event ev;
	sigset_t block, none, after;

	handle(SIGUSR1, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	EXPECT_EQ(got_signal, 0);
	sigemptyset(&none);
	EXPECT_ERRNO(epoll_pwait(ep, &ev, 1, 5000, &none), EINTR);
	EXPECT_EQ(got_signal, 1);
	sigprocmask(SIG_BLOCK, NULL, &after);
	EXPECT_TRUE(sigismember(&after, SIGUSR1));
}

CASE(pwait_bad_sigsetsize_einval)
{
	int ep = new_epoll();
	struct epoll_event ev;
	sigset_t none;

	sigemptyset(&none);
	EXPECT_ERRNO(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &none, 4), EINVAL);
	EXPECT_EQ(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, NULL, 4), 0);
}

CASE(pwait2_timespec_timeout)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	struct timespec ts = {0, 40000000};
	long long start = now_ms();

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	EXPECT_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8), 0);
	EXPECT_GE(now_ms() - start, 39);
	ts.tv_nsec = 0;
	EXPECT_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8), 0);
	put(p[1], "a");
	/* NULL: no timeout, and something is ready. */
	EXPECT_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, NULL, 8), 1);
}

CASE(pwait2_huge_timeout)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	struct timespec forever = {0x7fffffffffffffffLL, 999999999};
	struct pollfd pfd;

	make_pipe(p);
	add(ep, p[1], EPOLLOUT, 1);
	EXPECT_EQ(syscall(SYS_epoll_pwait2, ep, &ev, 1, &forever, NULL, 8), 1);
	pfd.fd = p[1];
	pfd.events = POLLOUT;
	EXPECT_EQ(ppoll(&pfd, 1, &forever, NULL), 1);
}

CASE(pwait2_invalid_timespec_einval)
{
	int ep = new_epoll();
	struct epoll_event ev;
	struct timespec bad = {0, 1000000000L}, neg = {-1, 0};

	EXPECT_ERRNO(syscall(SYS_epoll_pwait2, ep, &ev, 1, &bad, NULL, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_epoll_pwait2, ep, &ev, 1, &neg, NULL, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_epoll_pwait2, ep, &ev, 1, BAD_PTR, NULL, 8), EFAULT);
}

/* ---- epoll files watched by others ---- */

CASE(epoll_fd_polls_readable_when_it_has_events)
{
	int ep = new_epoll(), p[2];
	struct pollfd pfd = {.events = POLLIN | POLLOUT};

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	pfd.fd = ep;
	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	put(p[1], "a");
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_EQ(pfd.revents, POLLIN);
}

CASE(select_on_epoll_fd)
{
	int ep = new_epoll(), p[2];
	struct timeval tv = {5, 0};
	fd_set r;
	pid_t pid;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	FD_ZERO(&r);
	FD_SET(ep, &r);
	pid = later(30, 0, p[1]);
	EXPECT_EQ(select(ep + 1, &r, NULL, NULL, &tv), 1);
	EXPECT_TRUE(FD_ISSET(ep, &r));
	EXPECT_EXITED(h_wait(pid), 0);
}

CASE(nested_epoll_reports_inner_readiness)
{
	int outer = new_epoll(), inner = new_epoll(), p[2];
	struct epoll_event ev;
	pid_t pid;

	make_pipe(p);
	add(inner, p[0], EPOLLIN, 1);
	add(outer, inner, EPOLLIN, 2);
	EXPECT_EQ(wait1(outer, &ev, 0), 0);
	pid = later(30, 0, p[1]);
	EXPECT_EQ(wait1(outer, &ev, 5000), 1);
	EXPECT_EQ(ev.data.u64, 2);
	EXPECT_EQ(ev.events, EPOLLIN);
	/* Polling the inner instance does not consume its event. */
	EXPECT_EQ(wait1(inner, &ev, 0), 1);
	EXPECT_EQ(ev.data.u64, 1);
	EXPECT_EXITED(h_wait(pid), 0);
}

/* The runner reads the program's stdout through a pipe: a host stream in a sandbox. */
CASE(host_stdout_pipe_is_writable)
{
	int ep = new_epoll();
	struct epoll_event ev;
	struct stat st;

	ASSERT_OK(fstat(1, &st));
	if (!S_ISFIFO(st.st_mode))
		SKIP("stdout is not a pipe");
	add(ep, 1, EPOLLOUT, 5);
	EXPECT_EQ(wait1(ep, &ev, 1000), 1);
	EXPECT_EQ(ev.events, EPOLLOUT);
	EXPECT_EQ(ev.data.u64, 5);
}

CASE(wakeup_flag_accepted)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;

	make_pipe(p);
	EXPECT_OK(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLWAKEUP));
	EXPECT_EQ(wait1(ep, &ev, 0), 1);
	EXPECT_EQ(ev.events, EPOLLOUT);
}

CASE(exclusive_item_reports)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	pid_t pid;

	make_pipe(p);
	add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 4);
	pid = later(20, 0, p[1]);
	EXPECT_EQ(wait1(ep, &ev, 5000), 1);
	EXPECT_EQ(ev.data.u64, 4);
	EXPECT_EXITED(h_wait(pid), 0);
}

static void *wait_forever(void *arg)
{
	struct epoll_event ev;

	return (void *)(long)epoll_wait(*(int *)arg, &ev, 1, -1);
}

static void *write_later(void *arg)
{
	usleep(30000);
	return (void *)(long)write(*(int *)arg, "x", 1);
}

CASE(thread_write_wakes_thread_wait)
{
	int ep = new_epoll(), p[2];
	struct epoll_event ev;
	pthread_t t;

	make_pipe(p);
	add(ep, p[0], EPOLLIN, 8);
	ASSERT_EQ(pthread_create(&t, NULL, write_later, &p[1]), 0);
	EXPECT_EQ(wait1(ep, &ev, 5000), 1);
	EXPECT_EQ(ev.data.u64, 8);
	pthread_join(t, NULL);
}

static int exit_while_thread_waits(void)
{
	static int ep;
	pthread_t t;

	ep = epoll_create1(0);
	if (pthread_create(&t, NULL, wait_forever, &ep) != 0)
		return 1;
	usleep(20000);
	exit(7);
}

CASE(exit_ends_a_thread_in_epoll_wait)
{
	EXPECT_EXITED(h_in_child(exit_while_thread_waits), 7);
}

CASE(closed_epoll_fd_ebadf)
{
	int ep = new_epoll();
	struct epoll_event ev;

	close(ep);
	EXPECT_ERRNO(epoll_wait(ep, &ev, 1, 0), EBADF);
}

HARNESS_MAIN
