/* interrupt.c - see interrupt.h. */
#include "util/interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    signal(sig, SIG_DFL); /* a second one ends the process at once */
}

void bronze_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int bronze_interrupted(void)
{
    return g_signal;
}
