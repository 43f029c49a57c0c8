/* interrupt.c - see interrupt.h. */
#include "util/interrupt.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* Set in the handler, read by every thread (the jobs, an API source's page
 * fetcher): a lock-free atomic, which is both async-signal-safe and free of
 * data races, where a volatile sig_atomic_t is only the former. */
static atomic_int g_signal;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal flag must be lock-free");

static void on_signal(int sig)
{
    atomic_store_explicit(&g_signal, sig, memory_order_relaxed);
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
    return atomic_load_explicit(&g_signal, memory_order_relaxed);
}

int bronze_interrupt_sleep_ms(unsigned ms)
{
    return bronze_interrupt_sleep_ms_or(ms, NULL);
}

/* Set: a signal arrived, or the caller's stop flag was raised. */
static bool cut_short(const atomic_bool *stop)
{
    return bronze_interrupted() || (stop && atomic_load(stop));
}

int bronze_interrupt_sleep_ms_or(unsigned ms, const atomic_bool *stop)
{
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)(ms / 1000);
    end.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L)
        end.tv_sec++, end.tv_nsec -= 1000000000L;
    for (;;) {
        if (cut_short(stop))
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left =
            (long long)(end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
        if (left <= 0)
            return 0;
        if (left > 50000000LL)
            left = 50000000LL;
        struct timespec slice = {0, (long)left};
        while (nanosleep(&slice, &slice) != 0) {
            if (errno != EINTR)
                return 0;
            if (cut_short(stop))
                return -1;
        }
    }
}
