#include "cli_signal.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t pending, quit;
static double last_sigint = -10.0;     /* only the handler touches it */

static void on_sigint(int sig)
{
    (void)sig;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* async-signal-safe */
    const double now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    if (quit) {             /* still busy after two: let the third one kill */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    if (pending || now - last_sigint < 1.0)
        quit = 1;
    pending = 1;
    last_sigint = now;
}

void bn_cli_signal_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
}

int bn_cli_interrupt_pending(void)
{
    return pending;
}

int bn_cli_take_interrupt(void)
{
    if (!pending)
        return 0;
    pending = 0;
    return 1;
}

int bn_cli_quit_requested(void)
{
    return quit;
}
