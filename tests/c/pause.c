/*
 * pause: prints "ready" once its SIGTERM handler is installed, then waits.
 * On SIGTERM it prints "got SIGTERM" and exits 42. Any other signal keeps
 * its default action (SIGKILL kills it: 137 through a runtime).
 *
 * The handler matters: a pid-namespace init (which this is inside a
 * container) ignores signals from outside that it has no handler for,
 * except SIGKILL and SIGSTOP.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

int main(void)
{
	struct sigaction sa;
	static const char ready[] = "ready\n";
	static const char term[] = "got SIGTERM\n";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0)
		return 1;
	if (write(1, ready, sizeof(ready) - 1) < 0)
		return 1;
	while (!got_term)
		pause();
	if (write(1, term, sizeof(term) - 1) < 0)
		return 1;
	return 42;
}
