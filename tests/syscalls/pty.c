/*
 * Pseudo-terminals (pty(7), pts(4)): /dev/ptmx and devpts, the glibc
 * posix_openpt/grantpt/unlockpt/ptsname sequence, TIOCGPTN, TIOCSPTLCK,
 * TIOCGPTPEER, the line discipline (termios(3): canonical and raw input,
 * echo, output processing, ISIG), window sizes and SIGWINCH, controlling
 * terminals (TIOCSCTTY, TIOCNOTTY, /dev/tty, TIOCGPGRP/TIOCSPGRP/TIOCGSID),
 * hang-ups (EIO on the master), poll and O_NONBLOCK.
 */
#include "harness.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* A new master and its slave, both O_NOCTTY; *num gets the pty number. */
static void open_pty(int *master, int *slave, int *num)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	int n = -1;

	if (m < 0)
		FAILX("posix_openpt: %s", h_errname(errno));
	if (grantpt(m) != 0 || unlockpt(m) != 0)
		FAILX("grantpt/unlockpt: %s", h_errname(errno));
	if (ioctl(m, TIOCGPTN, &n) != 0)
		FAILX("TIOCGPTN: %s", h_errname(errno));
	*master = m;
	if (slave) {
		*slave = open(ptsname(m), O_RDWR | O_NOCTTY);
		if (*slave < 0)
			FAILX("open slave: %s", h_errname(errno));
	}
	if (num)
		*num = n;
}

/* Reads until `want` bytes came or nothing arrives for `ms`; returns the count. */
static int read_for(int fd, char *buf, int want, int ms)
{
	int got = 0;

	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, ms) <= 0 || !(p.revents & POLLIN))
			break;
		r = read(fd, buf + got, want - got);
		if (r <= 0)
			break;
		got += r;
	}
	buf[got < want ? got : want] = 0;
	return got;
}

/* True when fd has something to read within `ms`. */
static int readable_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void set_raw(int fd, int vmin, int vtime)
{
	struct termios t;

	tcgetattr(fd, &t);
	cfmakeraw(&t);
	t.c_cc[VMIN] = vmin;
	t.c_cc[VTIME] = vtime;
	if (tcsetattr(fd, TCSANOW, &t) != 0)
		FAILX("tcsetattr: %s", h_errname(errno));
}

static void change_flags(int fd, tcflag_t *(*field)(struct termios *), tcflag_t on, tcflag_t off)
{
	struct termios t;

	tcgetattr(fd, &t);
	*field(&t) = (*field(&t) | on) & ~off;
	if (tcsetattr(fd, TCSANOW, &t) != 0)
		FAILX("tcsetattr: %s", h_errname(errno));
}

static tcflag_t *iflag(struct termios *t) { return &t->c_iflag; }
static tcflag_t *oflag(struct termios *t) { return &t->c_oflag; }
static tcflag_t *lflag(struct termios *t) { return &t->c_lflag; }

CASE(posix_openpt_grantpt_unlockpt_ptsname)
{
	int m = ASSERT_OK(posix_openpt(O_RDWR | O_NOCTTY));
	char name[64];

	EXPECT_OK(grantpt(m));
	EXPECT_OK(unlockpt(m));
	ASSERT_EQ(ptsname_r(m, name, sizeof(name)), 0);
	EXPECT_EQ(strncmp(name, "/dev/pts/", 9), 0);
	EXPECT_TRUE(isatty(m));
}

CASE(tiocgptn_matches_ptsname)
{
	int m, n;
	char want[64];

	open_pty(&m, NULL, &n);
	EXPECT_GE(n, 0);
	snprintf(want, sizeof(want), "/dev/pts/%d", n);
	EXPECT_STREQ(ptsname(m), want);
}

CASE(tiocgptn_numbers_differ)
{
	int a, b, c, na, nb, nc;

	open_pty(&a, NULL, &na);
	open_pty(&b, NULL, &nb);
	open_pty(&c, NULL, &nc);
	EXPECT_NE(na, nb);
	EXPECT_NE(nb, nc);
	EXPECT_NE(na, nc);
}

CASE(tiocgptn_on_slave_and_file_is_enotty_or_einval)
{
	int m, s, n = -1;
	int fd = ASSERT_OK(open("/dev/null", O_RDWR));

	open_pty(&m, &s, NULL);
	EXPECT_ERRNO(ioctl(fd, TIOCGPTN, &n), ENOTTY);
	EXPECT_ERRNO(ioctl(s, TIOCGPTN, &n), ENOTTY);
	EXPECT_ERRNO(ioctl(m, TIOCGPTN, BAD_PTR), EFAULT);
	EXPECT_EQ(ptsname_r(fd, (char[64]){0}, 64), ENOTTY);
}

CASE(slave_open_is_eio_while_locked)
{
	int m = ASSERT_OK(open("/dev/ptmx", O_RDWR | O_NOCTTY));
	int lock = -1, zero = 0, one = 1;
	char *name = ptsname(m);

	ASSERT_TRUE(name != NULL);
	EXPECT_OK(ioctl(m, TIOCGPTLCK, &lock));
	EXPECT_EQ(lock, 1);
	EXPECT_ERRNO(open(name, O_RDWR | O_NOCTTY), EIO);
	EXPECT_OK(ioctl(m, TIOCSPTLCK, &zero));
	EXPECT_OK(ioctl(m, TIOCGPTLCK, &lock));
	EXPECT_EQ(lock, 0);
	EXPECT_OK(close(ASSERT_OK(open(name, O_RDWR | O_NOCTTY))));
	EXPECT_OK(ioctl(m, TIOCSPTLCK, &one));
	EXPECT_ERRNO(open(name, O_RDWR | O_NOCTTY), EIO);
}

CASE(slave_node_is_char_136_n)
{
	int m, n;
	struct stat st;

	open_pty(&m, NULL, &n);
	ASSERT_OK(stat(ptsname(m), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 136u);
	EXPECT_EQ(minor(st.st_rdev), (unsigned)n);
}

CASE(ptmx_is_char_5_2)
{
	struct stat st;

	ASSERT_OK(stat("/dev/ptmx", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 5u);
	EXPECT_EQ(minor(st.st_rdev), 2u);
	ASSERT_OK(stat("/dev/pts", &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
}

CASE(slave_node_listed_and_removed_after_close)
{
	int m, n, found = 0;
	char name[64], num[16];
	struct dirent *e;
	DIR *d;

	open_pty(&m, NULL, &n);
	snprintf(name, sizeof(name), "%s", ptsname(m));
	snprintf(num, sizeof(num), "%d", n);
	d = opendir("/dev/pts");
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d)))
		found |= strcmp(e->d_name, num) == 0;
	closedir(d);
	EXPECT_TRUE(found);
	EXPECT_OK(access(name, F_OK));
	ASSERT_OK(close(m));
	EXPECT_ERRNO(access(name, F_OK), ENOENT);
}

CASE(slave_node_removed_when_master_closes_with_slave_open)
{
	int m, s;
	char name[64];

	open_pty(&m, &s, NULL);
	snprintf(name, sizeof(name), "%s", ptsname(m));
	ASSERT_OK(close(m));
	EXPECT_ERRNO(access(name, F_OK), ENOENT);
	EXPECT_OK(close(s));
}

CASE(dev_pts_ptmx_opens_a_master)
{
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
	int n = -1;

	if (m < 0 && errno == EACCES)
		SKIP("/dev/pts/ptmx is not accessible");
	ASSERT_GE(m, 0);
	EXPECT_OK(ioctl(m, TIOCGPTN, &n));
	EXPECT_GE(n, 0);
}

CASE(termios_defaults)
{
	int m, s;
	struct termios t;

	open_pty(&m, &s, NULL);
	ASSERT_OK(tcgetattr(s, &t));
	EXPECT_EQ(t.c_iflag, (tcflag_t)(ICRNL | IXON));
	EXPECT_EQ(t.c_oflag, (tcflag_t)(OPOST | ONLCR));
	EXPECT_EQ(t.c_lflag, (tcflag_t)(ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
	EXPECT_EQ(t.c_cflag & (CSIZE | CREAD), (tcflag_t)(CS8 | CREAD));
	EXPECT_EQ(cfgetospeed(&t), (speed_t)B38400);
	EXPECT_EQ(t.c_cc[VINTR], 3);
	EXPECT_EQ(t.c_cc[VQUIT], 034);
	EXPECT_EQ(t.c_cc[VERASE], 0177);
	EXPECT_EQ(t.c_cc[VKILL], 025);
	EXPECT_EQ(t.c_cc[VEOF], 4);
	EXPECT_EQ(t.c_cc[VSUSP], 032);
	EXPECT_EQ(t.c_cc[VMIN], 1);
	EXPECT_EQ(t.c_cc[VTIME], 0);
}

CASE(termios_set_on_master_is_the_slaves)
{
	int m, s;
	struct termios t;

	open_pty(&m, &s, NULL);
	ASSERT_OK(tcgetattr(m, &t));
	EXPECT_EQ(t.c_lflag & ICANON, (tcflag_t)ICANON);
	cfmakeraw(&t);
	t.c_cc[VMIN] = 3;
	ASSERT_OK(tcsetattr(m, TCSAFLUSH, &t));
	ASSERT_OK(tcgetattr(s, &t));
	EXPECT_EQ(t.c_lflag & (ICANON | ECHO | ISIG), 0u);
	EXPECT_EQ(t.c_oflag & OPOST, 0u);
	EXPECT_EQ(t.c_cc[VMIN], 3);
	ASSERT_OK(tcsetattr(s, TCSADRAIN, &t));
	EXPECT_ERRNO(tcgetattr(ASSERT_OK(open("/dev/null", O_RDONLY)), &t), ENOTTY);
	EXPECT_ERRNO(ioctl(s, TCGETS, BAD_PTR), EFAULT);
	EXPECT_ERRNO(ioctl(s, TCSETS, BAD_PTR), EFAULT);
}

CASE(canonical_read_waits_for_a_line)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	fcntl(s, F_SETFL, O_NONBLOCK);
	ASSERT_EQ(write(m, "hel", 3), 3);
	EXPECT_TRUE(!readable_within(s, 100));
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EAGAIN);
	ASSERT_EQ(write(m, "lo\n", 3), 3);
	ASSERT_TRUE(readable_within(s, 2000));
	EXPECT_EQ(read(s, buf, sizeof(buf)), 6);
	EXPECT_MEMEQ(buf, "hello\n", 6);
}

CASE(canonical_reads_one_line_at_a_time)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "one\ntwo\n", 8), 8);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 4);
	EXPECT_MEMEQ(buf, "one\n", 4);
	EXPECT_EQ(read(s, buf, 2), 2);
	EXPECT_MEMEQ(buf, "tw", 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "o\n", 2);
}

CASE(icrnl_turns_cr_into_nl)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "x\r", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "x\n", 2);
}

CASE(erase_and_kill_edit_the_line)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "abX\177c\n", 6), 6);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 4);
	EXPECT_MEMEQ(buf, "abc\n", 4);
	ASSERT_EQ(write(m, "junk\025ok\n", 8), 8);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "ok\n", 3);
}

CASE(veof_ends_a_line_without_itself_and_gives_eof)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "abc\004", 4), 4);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "abc", 3);
	ASSERT_EQ(write(m, "\004", 1), 1);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
}

CASE(veol_ends_a_line)
{
	int m, s;
	char buf[32];
	struct termios t;

	open_pty(&m, &s, NULL);
	tcgetattr(s, &t);
	t.c_cc[VEOL] = '#';
	ASSERT_OK(tcsetattr(s, TCSANOW, &t));
	ASSERT_EQ(write(m, "ab#", 3), 3);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "ab#", 3);
}

CASE(echo_goes_back_to_the_master_with_onlcr)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "hi\n", 3), 3);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 3);
	EXPECT_EQ(read_for(m, buf, 4, 2000), 4);
	EXPECT_MEMEQ(buf, "hi\r\n", 4);
}

CASE(echo_off_echoes_nothing)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	change_flags(s, lflag, 0, ECHO);
	ASSERT_EQ(write(m, "q\n", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_TRUE(!readable_within(m, 100));
}

CASE(echoe_erases_visually_and_echok_kills)
{
	int m, s;
	char buf[64];

	open_pty(&m, &s, NULL);
	change_flags(s, lflag, 0, ECHOKE);
	ASSERT_EQ(write(m, "ab\177\n", 4), 4);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_EQ(read_for(m, buf, 7, 2000), 7);
	EXPECT_MEMEQ(buf, "ab\b \b\r\n", 7);
	ASSERT_EQ(write(m, "xy\025\n", 4), 4);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 1);
	/* ECHOK without ECHOKE: the kill character then a newline. */
	EXPECT_EQ(read_for(m, buf, 8, 2000), 8);
	EXPECT_MEMEQ(buf, "xy^U\r\n\r\n", 8);
}

CASE(echonl_echoes_newline_without_echo)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	change_flags(s, lflag, ECHONL, ECHO);
	ASSERT_EQ(write(m, "x\n", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_EQ(read_for(m, buf, 2, 2000), 2);
	EXPECT_MEMEQ(buf, "\r\n", 2);
	EXPECT_TRUE(!readable_within(m, 50));
}

CASE(onlcr_on_slave_output)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(s, "a\nb", 3), 3);
	EXPECT_EQ(read_for(m, buf, 4, 2000), 4);
	EXPECT_MEMEQ(buf, "a\r\nb", 4);
}

CASE(opost_off_passes_output_through)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	change_flags(s, oflag, 0, OPOST);
	ASSERT_EQ(write(s, "a\nb", 3), 3);
	EXPECT_EQ(read_for(m, buf, 3, 2000), 3);
	EXPECT_MEMEQ(buf, "a\nb", 3);
	EXPECT_TRUE(!readable_within(m, 50));
}

CASE(inlcr_and_igncr)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	set_raw(s, 1, 0);
	change_flags(s, iflag, INLCR, 0);
	ASSERT_EQ(write(m, "a\nb", 3), 3);
	EXPECT_EQ(read_for(s, buf, 3, 2000), 3);
	EXPECT_MEMEQ(buf, "a\rb", 3);
	change_flags(s, iflag, IGNCR, INLCR);
	ASSERT_EQ(write(m, "c\rd", 3), 3);
	EXPECT_EQ(read_for(s, buf, 2, 2000), 2);
	EXPECT_MEMEQ(buf, "cd", 2);
}

CASE(raw_mode_vmin1_returns_what_is_there)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	set_raw(s, 1, 0);
	ASSERT_EQ(write(m, "ab\003\r", 4), 4);
	EXPECT_EQ(read_for(s, buf, 4, 2000), 4);
	EXPECT_MEMEQ(buf, "ab\003\r", 4);
	/* No echo in raw mode. */
	EXPECT_TRUE(!readable_within(m, 50));
}

CASE(raw_mode_vmin0_vtime0_polls)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	set_raw(s, 0, 0);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
	ASSERT_EQ(write(m, "z", 1), 1);
	ASSERT_TRUE(readable_within(s, 2000));
	EXPECT_EQ(read(s, buf, sizeof(buf)), 1);
}

CASE(raw_mode_vmin0_vtime_times_out)
{
	int m, s;
	char buf[32];
	struct timespec a, b;
	long ms;

	open_pty(&m, &s, NULL);
	set_raw(s, 0, 2);
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	EXPECT_GE(ms, 150);
	EXPECT_LT(ms, 2000);
}

/* Set by the signal handlers of the session-leader children. */
static volatile sig_atomic_t got_signal[65];

static void record(int sig)
{
	got_signal[sig] = 1;
}

/*
 * Forks a child that becomes a session leader with the slave of `m` as
 * controlling terminal, records `sigs` (0-terminated), writes one byte to
 * `ready` and then runs `body`; the child exits with body's result.
 */
static pid_t session_child(int m, const int *sigs, int ready, int (*body)(int slave))
{
	pid_t pid = fork();

	if (pid < 0)
		FAILX("fork: %s", h_errname(errno));
	if (pid == 0) {
		int s;

		if (setsid() < 0)
			_exit(10);
		/* No O_NOCTTY: a session leader without one acquires it. */
		s = open(ptsname(m), O_RDWR);
		if (s < 0)
			_exit(11);
		for (; *sigs; sigs++) {
			struct sigaction sa = {.sa_handler = record};

			sigaction(*sigs, &sa, NULL);
		}
		if (write(ready, "r", 1) != 1)
			_exit(12);
		_exit(body(s));
	}
	return pid;
}

/* Waits up to 5 s for signal `sig` to be recorded. */
static int wait_signal(int sig)
{
	for (int i = 0; i < 500 && !got_signal[sig]; i++)
		usleep(10000);
	return got_signal[sig];
}

static int body_wait_sigint(int s)
{
	(void)s;
	return wait_signal(SIGINT) ? 0 : 20;
}

static int body_wait_quit_tstp(int s)
{
	(void)s;
	return wait_signal(SIGQUIT) && wait_signal(SIGTSTP) ? 0 : 21;
}

static int body_wait_winch(int s)
{
	struct winsize ws;

	if (!wait_signal(SIGWINCH))
		return 22;
	if (ioctl(s, TIOCGWINSZ, &ws) != 0 || ws.ws_row != 30 || ws.ws_col != 100)
		return 23;
	return 0;
}

/* Starts a session child and waits until it is ready. */
static pid_t start_session_child(int m, const int *sigs, int (*body)(int))
{
	int p[2];
	char c;
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = session_child(m, sigs, p[1], body);
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		FAILX("session child did not start");
	close(p[0]);
	return pid;
}

CASE(vintr_sends_sigint_to_the_foreground_group)
{
	int m, st;
	char buf[32];
	static const int sigs[] = {SIGINT, 0};
	pid_t pid;

	open_pty(&m, NULL, NULL);
	pid = start_session_child(m, sigs, body_wait_sigint);
	ASSERT_EQ(write(m, "\003", 1), 1);
	st = h_wait(pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	EXPECT_EQ(read_for(m, buf, 2, 2000), 2);
	EXPECT_MEMEQ(buf, "^C", 2);
}

CASE(vintr_default_action_kills)
{
	int m, st;
	static const int none[] = {0};
	pid_t pid;

	open_pty(&m, NULL, NULL);
	pid = start_session_child(m, none, body_wait_sigint);
	ASSERT_EQ(write(m, "\003", 1), 1);
	st = h_wait(pid);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(WTERMSIG(st), SIGINT);
}

CASE(vquit_and_vsusp_send_sigquit_and_sigtstp)
{
	int m, st;
	static const int sigs[] = {SIGQUIT, SIGTSTP, 0};
	pid_t pid;

	open_pty(&m, NULL, NULL);
	pid = start_session_child(m, sigs, body_wait_quit_tstp);
	ASSERT_EQ(write(m, "\034", 1), 1);
	ASSERT_EQ(write(m, "\032", 1), 1);
	st = h_wait(pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

CASE(isig_off_passes_vintr_through)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	change_flags(s, lflag, 0, ISIG);
	ASSERT_EQ(write(m, "\003\n", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_EQ(buf[0], 3);
}

CASE(vintr_flushes_pending_input)
{
	int m, s;
	char buf[32];
	struct sigaction sa = {.sa_handler = SIG_IGN};

	open_pty(&m, &s, NULL);
	sigaction(SIGINT, &sa, NULL);
	ASSERT_EQ(write(m, "lost\003kept\n", 10), 10);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 5);
	EXPECT_MEMEQ(buf, "kept\n", 5);
}

CASE(winsize_starts_zero_and_round_trips)
{
	int m, s;
	struct winsize ws = {0}, set = {.ws_row = 24, .ws_col = 80, .ws_xpixel = 1, .ws_ypixel = 2};

	open_pty(&m, &s, NULL);
	ASSERT_OK(ioctl(s, TIOCGWINSZ, &ws));
	EXPECT_EQ(ws.ws_row, 0);
	EXPECT_EQ(ws.ws_col, 0);
	ASSERT_OK(ioctl(m, TIOCSWINSZ, &set));
	ASSERT_OK(ioctl(s, TIOCGWINSZ, &ws));
	EXPECT_EQ(ws.ws_row, 24);
	EXPECT_EQ(ws.ws_col, 80);
	EXPECT_EQ(ws.ws_ypixel, 2);
	ASSERT_OK(ioctl(m, TIOCGWINSZ, &ws));
	EXPECT_EQ(ws.ws_col, 80);
	EXPECT_ERRNO(ioctl(m, TIOCGWINSZ, BAD_PTR), EFAULT);
}

CASE(tiocswinsz_sends_sigwinch_to_the_foreground_group)
{
	int m, st;
	static const int sigs[] = {SIGWINCH, 0};
	struct winsize ws = {.ws_row = 30, .ws_col = 100};
	pid_t pid;

	open_pty(&m, NULL, NULL);
	pid = start_session_child(m, sigs, body_wait_winch);
	ASSERT_OK(ioctl(m, TIOCSWINSZ, &ws));
	st = h_wait(pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

static int body_ctty_queries(int s)
{
	pid_t pgrp = -1, sid = -1;
	int fd;

	if (ioctl(s, TIOCGPGRP, &pgrp) != 0 || pgrp != getpgrp())
		return 30;
	if (ioctl(s, TIOCGSID, &sid) != 0 || sid != getsid(0))
		return 31;
	if (tcgetpgrp(s) != getpid())
		return 32;
	/* Already its controlling terminal: TIOCSCTTY succeeds again. */
	if (ioctl(s, TIOCSCTTY, 0) != 0)
		return 33;
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0)
		return 34;
	if (write(fd, "via-tty", 7) != 7)
		return 35;
	if (!isatty(fd))
		return 36;
	/* Stay in the session until the parent has looked. */
	if (read(s, (char[8]){0}, 8) != 2)
		return 37;
	return 0;
}

CASE(controlling_terminal_queries_and_dev_tty)
{
	int m, st;
	char buf[32];
	static const int none[] = {0};
	pid_t pid, pgrp = -1;

	open_pty(&m, NULL, NULL);
	pid = start_session_child(m, none, body_ctty_queries);
	EXPECT_EQ(read_for(m, buf, 7, 5000), 7);
	EXPECT_MEMEQ(buf, "via-tty", 7);
	/* The master answers for its slave. */
	EXPECT_OK(ioctl(m, TIOCGPGRP, &pgrp));
	EXPECT_EQ(pgrp, pid);
	ASSERT_EQ(write(m, "k\n", 2), 2);
	st = h_wait(pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

static int tiocsctty_child(void)
{
	int m, s;
	pid_t pgrp = -1;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m))
		return 40;
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		return 41;
	/* A group leader is not a session leader. */
	if (setsid() < 0)
		return 42;
	/* O_NOCTTY: still no controlling terminal. */
	if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
		return 43;
	if (ioctl(s, TIOCGPGRP, &pgrp) == 0 || errno != ENOTTY)
		return 44;
	if (ioctl(s, TIOCSCTTY, 0) != 0)
		return 45;
	if (ioctl(s, TIOCGPGRP, &pgrp) != 0 || pgrp != getpid())
		return 46;
	return 0;
}

static int fork_and_run(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());
	st = h_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/*
 * What a container's init sees of its terminal: the slave, opened without
 * a path (TIOCGPTPEER, as the runtime opens it), dup'ed onto fds 0-2 of a
 * new session leader that makes it its controlling terminal.
 */
static int stdio_on_peer_child(void)
{
	struct winsize ws = {.ws_row = 33, .ws_col = 111}, got;
	char link[64], *name;
	pid_t pgrp = -1;
	ssize_t len;
	int m, s, fd;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ioctl(m, TIOCSWINSZ, &ws))
		return 40;
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (s < 0 || setsid() < 0)
		return 41;
	for (fd = 0; fd < 3; fd++)
		if (dup2(s, fd) != fd)
			return 42;
	close(s);
	if (ioctl(0, TIOCSCTTY, 0) != 0 || ioctl(0, TIOCGPGRP, &pgrp) != 0 || pgrp != getpid())
		return 43;
	name = ttyname(0);
	if (!name || strcmp(name, ptsname(m)) != 0)
		return 44;
	len = readlink("/proc/self/fd/2", link, sizeof(link) - 1);
	if (len < 0)
		return 45;
	link[len] = 0;
	if (strcmp(link, ptsname(m)) != 0)
		return 46;
	if (ioctl(1, TIOCGWINSZ, &got) != 0 || got.ws_row != 33 || got.ws_col != 111)
		return 47;
	if (!isatty(0) || !isatty(1) || !isatty(2))
		return 48;
	/* /dev/tty is the same terminal. */
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCGWINSZ, &got) != 0 || got.ws_col != 111)
		return 49;
	return 0;
}

CASE(peer_as_stdio_of_a_session_leader)
{
	EXPECT_EQ(fork_and_run(stdio_on_peer_child), 0);
}

CASE(tiocsctty_after_setsid_with_noctty)
{
	EXPECT_EQ(fork_and_run(tiocsctty_child), 0);
}

CASE(tiocsctty_needs_a_session_leader)
{
	int m, s;

	open_pty(&m, &s, NULL);
	/* Each case is a process-group leader, not a session leader. */
	EXPECT_ERRNO(ioctl(s, TIOCSCTTY, 0), EPERM);
	EXPECT_ERRNO(ioctl(ASSERT_OK(open("/dev/null", O_RDWR)), TIOCSCTTY, 0), ENOTTY);
}

static int second_session_steals(void)
{
	int m, s, p[2], st;
	char c;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || pipe(p))
		return 50;
	pid = fork();
	if (pid == 0) {
		setsid();
		if (open(ptsname(m), O_RDWR) < 0)
			_exit(1);
		write(p[1], "r", 1);
		pause();
		_exit(0);
	}
	if (read(p[0], &c, 1) != 1)
		return 51;
	setsid();
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	st = ioctl(s, TIOCSCTTY, 0) == -1 && errno == EPERM ? 0 : 52;
	kill(pid, SIGKILL);
	h_wait(pid);
	return st;
}

CASE(tiocsctty_of_another_sessions_terminal_is_eperm)
{
	EXPECT_EQ(fork_and_run(second_session_steals), 0);
}

static int tiocnotty_child(void)
{
	int m, s;
	struct sigaction sa = {.sa_handler = SIG_IGN};

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || setsid() < 0)
		return 60;
	s = open(ptsname(m), O_RDWR);
	if (s < 0)
		return 61;
	if (open("/dev/tty", O_RDWR) < 0)
		return 62;
	/* The leader giving up its terminal hangs up its foreground group. */
	sigaction(SIGHUP, &sa, NULL);
	if (ioctl(s, TIOCNOTTY) != 0)
		return 63;
	if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
		return 64;
	if (ioctl(s, TIOCNOTTY) == 0 || errno != ENOTTY)
		return 65;
	return 0;
}

CASE(tiocnotty_gives_up_the_terminal)
{
	EXPECT_EQ(fork_and_run(tiocnotty_child), 0);
}

static int tiocspgrp_child(void)
{
	int m, s;
	pid_t pid, pgrp = -1;
	struct sigaction sa = {.sa_handler = SIG_IGN};

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || setsid() < 0)
		return 70;
	s = open(ptsname(m), O_RDWR);
	if (s < 0)
		return 71;
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(pid, pid);
	/* A background group changing the foreground gets SIGTTOU unless ignored. */
	sigaction(SIGTTOU, &sa, NULL);
	if (tcsetpgrp(s, pid) != 0)
		return 72;
	if (ioctl(s, TIOCGPGRP, &pgrp) != 0 || pgrp != pid)
		return 73;
	if (tcsetpgrp(s, 999999) == 0 || errno != ESRCH)
		return 74;
	if (ioctl(s, TIOCSPGRP, BAD_PTR) == 0 || errno != EFAULT)
		return 75;
	if (tcsetpgrp(s, getpid()) != 0)
		return 76;
	kill(pid, SIGKILL);
	h_wait(pid);
	return 0;
}

CASE(tiocspgrp_moves_the_foreground_group)
{
	EXPECT_EQ(fork_and_run(tiocspgrp_child), 0);
}

CASE(dev_tty_without_controlling_terminal_is_enxio)
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		_exit(open("/dev/tty", O_RDWR) < 0 && errno == ENXIO ? 0 : 1);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

CASE(master_read_eio_after_last_slave_closes)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(s, "x", 1), 1);
	ASSERT_OK(close(s));
	/* Output written before the close can still be read. */
	EXPECT_EQ(read(m, buf, sizeof(buf)), 1);
	EXPECT_ERRNO(read(m, buf, sizeof(buf)), EIO);
	s = ASSERT_OK(open(ptsname(m), O_RDWR | O_NOCTTY));
	ASSERT_EQ(write(s, "y", 1), 1);
	EXPECT_EQ(read(m, buf, sizeof(buf)), 1);
}

CASE(master_before_any_slave_open_is_eagain)
{
	int m;
	char buf[8];

	open_pty(&m, NULL, NULL);
	fcntl(m, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(read(m, buf, sizeof(buf)), EAGAIN);
	/* Input written to the master waits for a slave. */
	EXPECT_EQ(write(m, "a", 1), 1);
}

CASE(slave_after_master_closes_hangs_up)
{
	int m, s;
	char buf[8];
	struct pollfd p;

	open_pty(&m, &s, NULL);
	ASSERT_OK(close(m));
	EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
	EXPECT_ERRNO(write(s, "x", 1), EIO);
	p = (struct pollfd){.fd = s, .events = POLLIN | POLLOUT};
	EXPECT_EQ(poll(&p, 1, 0), 1);
	EXPECT_TRUE(p.revents & POLLHUP);
}

CASE(poll_readiness)
{
	int m, s;
	struct pollfd p[2];
	char buf[8];

	open_pty(&m, &s, NULL);
	p[0] = (struct pollfd){.fd = m, .events = POLLIN | POLLOUT};
	p[1] = (struct pollfd){.fd = s, .events = POLLIN | POLLOUT};
	EXPECT_EQ(poll(p, 2, 0), 2);
	EXPECT_EQ(p[0].revents, POLLOUT);
	EXPECT_EQ(p[1].revents, POLLOUT);
	ASSERT_EQ(write(m, "a\n", 2), 2);
	ASSERT_TRUE(readable_within(s, 2000));
	ASSERT_EQ(write(s, "b", 1), 1);
	ASSERT_TRUE(readable_within(m, 2000));
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	ASSERT_OK(close(s));
	p[0] = (struct pollfd){.fd = m, .events = POLLIN};
	EXPECT_EQ(poll(p, 1, 1000), 1);
	EXPECT_TRUE(p[0].revents & POLLHUP);
}

CASE(select_sees_slave_input)
{
	int m, s;
	fd_set r;
	struct timeval tv = {.tv_sec = 2};

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "line\n", 5), 5);
	FD_ZERO(&r);
	FD_SET(s, &r);
	EXPECT_EQ(select(s + 1, &r, NULL, NULL, &tv), 1);
	EXPECT_TRUE(FD_ISSET(s, &r));
}

CASE(nonblocking_reads_are_eagain)
{
	int m = ASSERT_OK(posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK));
	int s;
	char buf[8];

	ASSERT_OK(grantpt(m));
	ASSERT_OK(unlockpt(m));
	s = ASSERT_OK(open(ptsname(m), O_RDWR | O_NOCTTY | O_NONBLOCK));
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EAGAIN);
	EXPECT_ERRNO(read(m, buf, sizeof(buf)), EAGAIN);
}

CASE(fionread_counts_complete_lines_in_canonical_mode)
{
	int m, s, n = -1;

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "abc", 3), 3);
	usleep(50000);
	EXPECT_OK(ioctl(s, FIONREAD, &n));
	EXPECT_EQ(n, 0);
	ASSERT_EQ(write(m, "\n", 1), 1);
	ASSERT_TRUE(readable_within(s, 2000));
	EXPECT_OK(ioctl(s, FIONREAD, &n));
	EXPECT_EQ(n, 4);
	/* The echo of "abc\n". */
	EXPECT_EQ(read_for(m, (char[8]){0}, 5, 2000), 5);
	ASSERT_EQ(write(s, "xy", 2), 2);
	ASSERT_TRUE(readable_within(m, 2000));
	EXPECT_OK(ioctl(m, FIONREAD, &n));
	EXPECT_EQ(n, 2);
}

CASE(tcflush_discards_input)
{
	int m, s;
	char buf[8];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "gone\n", 5), 5);
	ASSERT_TRUE(readable_within(s, 2000));
	ASSERT_OK(tcflush(s, TCIFLUSH));
	fcntl(s, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EAGAIN);
	EXPECT_ERRNO(tcflush(s, 7), EINVAL);
}

CASE(tiocoutq_on_master)
{
	int m, s, n = -1;

	open_pty(&m, &s, NULL);
	EXPECT_OK(ioctl(s, TIOCOUTQ, &n));
	EXPECT_EQ(n, 0);
}

CASE(tiocgptpeer_opens_the_slave)
{
	int m, n, s;
	struct stat st;
	char buf[8];

	open_pty(&m, NULL, &n);
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	ASSERT_GE(s, 0);
	ASSERT_OK(fstat(s, &st));
	EXPECT_EQ(major(st.st_rdev), 136u);
	EXPECT_EQ(minor(st.st_rdev), (unsigned)n);
	EXPECT_STREQ(ttyname(s), ptsname(m));
	ASSERT_EQ(write(m, "p\n", 2), 2);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	/* Only a master has a peer. */
	EXPECT_ERRNO(ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
}

CASE(ttyname_of_slave_is_its_node)
{
	int m, s;

	open_pty(&m, &s, NULL);
	EXPECT_TRUE(isatty(s));
	EXPECT_STREQ(ttyname(s), ptsname(m));
}

static void on_alarm(int sig)
{
	(void)sig;
}

CASE(blocking_slave_read_is_interrupted)
{
	int m, s;
	char buf[8];
	struct sigaction sa = {.sa_handler = on_alarm};

	open_pty(&m, &s, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EINTR);
}

CASE(blocking_slave_read_wakes_on_input)
{
	int m, s;
	char buf[8];
	pid_t pid;

	open_pty(&m, &s, NULL);
	pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(write(m, "w\n", 2) == 2 ? 0 : 1);
	}
	EXPECT_EQ(read(s, buf, sizeof(buf)), 2);
	EXPECT_EQ(h_wait(pid), 0);
}

static int isig_after_tiocsctty_child(void)
{
	int m, s, p[2];
	char c;
	pid_t pid;
	struct sigaction sa = {.sa_handler = record};

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || pipe(p))
		return 80;
	pid = fork();
	if (pid == 0) {
		if (setsid() < 0)
			_exit(1);
		s = open(ptsname(m), O_RDWR | O_NOCTTY);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) != 0)
			_exit(2);
		sigaction(SIGINT, &sa, NULL);
		write(p[1], "r", 1);
		_exit(wait_signal(SIGINT) ? 0 : 3);
	}
	if (read(p[0], &c, 1) != 1)
		return 81;
	if (write(m, "\003", 1) != 1)
		return 82;
	return WEXITSTATUS(h_wait(pid));
}

CASE(vintr_reaches_a_child_that_did_setsid_and_tiocsctty)
{
	EXPECT_EQ(fork_and_run(isig_after_tiocsctty_child), 0);
}

CASE(tcsetsf_flushes_pending_input)
{
	int m, s;
	char buf[8];
	struct termios t;

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "old\n", 4), 4);
	ASSERT_TRUE(readable_within(s, 2000));
	tcgetattr(s, &t);
	ASSERT_OK(tcsetattr(s, TCSAFLUSH, &t));
	fcntl(s, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), EAGAIN);
}

CASE(raw_mode_vmin_waits_for_that_many)
{
	int m, s;
	char buf[8];

	open_pty(&m, &s, NULL);
	set_raw(s, 3, 0);
	ASSERT_EQ(write(m, "ab", 2), 2);
	usleep(50000);
	ASSERT_EQ(write(m, "c", 1), 1);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 3);
	EXPECT_MEMEQ(buf, "abc", 3);
}

CASE(vwerase_erases_a_word)
{
	int m, s;
	char buf[32];

	open_pty(&m, &s, NULL);
	ASSERT_EQ(write(m, "one two\027three\n", 14), 14);
	EXPECT_EQ(read(s, buf, sizeof(buf)), 10);
	EXPECT_MEMEQ(buf, "one three\n", 10);
}

CASE(slave_node_belongs_to_the_opener)
{
	int m;
	struct stat st;

	open_pty(&m, NULL, NULL);
	ASSERT_OK(stat(ptsname(m), &st));
	EXPECT_EQ(st.st_uid, geteuid());
	ASSERT_OK(fstat(m, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

CASE(dup_of_master_keeps_the_node)
{
	int m, d;
	char name[64];

	open_pty(&m, NULL, NULL);
	snprintf(name, sizeof(name), "%s", ptsname(m));
	d = ASSERT_OK(dup(m));
	ASSERT_OK(close(m));
	EXPECT_OK(access(name, F_OK));
	ASSERT_OK(close(d));
	EXPECT_ERRNO(access(name, F_OK), ENOENT);
}

/*
 * A session leader on a new pty forks `fn` into a background group of its
 * session and reports how it ended: 'I' or 'O' for a stop by SIGTTIN or
 * SIGTTOU (then it is killed), or its exit code.
 */
static int in_background(int (*fn)(int slave))
{
	int m, s, st;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || setsid() < 0)
		return 90;
	s = open(ptsname(m), O_RDWR);
	if (s < 0)
		return 91;
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		_exit(fn(s));
	}
	setpgid(pid, pid);
	if (waitpid(pid, &st, WUNTRACED) != pid)
		return 92;
	if (WIFSTOPPED(st)) {
		int sig = WSTOPSIG(st);

		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return sig == SIGTTIN ? 'I' : sig == SIGTTOU ? 'O' : 'T';
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static int bg_read(int s)
{
	char c;

	return read(s, &c, 1) < 0 && errno == EIO ? 1 : 2;
}

static int bg_read_ignoring_sigttin(int s)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigaction(SIGTTIN, &sa, NULL);
	return bg_read(s);
}

static int bg_write(int s)
{
	return write(s, "x", 1) == 1 ? 3 : 4;
}

static int bg_write_with_tostop(int s)
{
	struct termios t;

	tcgetattr(s, &t);
	t.c_lflag |= TOSTOP;
	/* SIGTTOU is ignored while setting TOSTOP from the background. */
	signal(SIGTTOU, SIG_IGN);
	if (tcsetattr(s, TCSANOW, &t) != 0)
		return 5;
	signal(SIGTTOU, SIG_DFL);
	return bg_write(s);
}

static int bg_tcsetattr(int s)
{
	struct termios t;

	tcgetattr(s, &t);
	return tcsetattr(s, TCSANOW, &t) == 0 ? 6 : 7;
}

static int run_bg_read(void) { return in_background(bg_read); }
static int run_bg_read_ignored(void) { return in_background(bg_read_ignoring_sigttin); }
static int run_bg_write(void) { return in_background(bg_write); }
static int run_bg_write_tostop(void) { return in_background(bg_write_with_tostop); }
static int run_bg_tcsetattr(void) { return in_background(bg_tcsetattr); }

CASE(background_read_stops_with_sigttin)
{
	EXPECT_EQ(fork_and_run(run_bg_read), 'I');
}

CASE(background_read_with_sigttin_ignored_is_eio)
{
	EXPECT_EQ(fork_and_run(run_bg_read_ignored), 1);
}

CASE(background_write_without_tostop_succeeds)
{
	EXPECT_EQ(fork_and_run(run_bg_write), 3);
}

CASE(background_write_with_tostop_stops_with_sigttou)
{
	EXPECT_EQ(fork_and_run(run_bg_write_tostop), 'O');
}

CASE(background_tcsetattr_stops_with_sigttou)
{
	EXPECT_EQ(fork_and_run(run_bg_tcsetattr), 'O');
}

HARNESS_MAIN
