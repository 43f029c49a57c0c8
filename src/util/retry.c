/* retry.c - see retry.h. */
#include "util/retry.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "util/interrupt.h"

unsigned bronze_retry_backoff_ms(int attempt, uint64_t rnd)
{
    double base = 500.0;
    for (int i = 0; i < attempt && base < 30000.0; i++)
        base *= 2;
    if (base > 30000.0)
        base = 30000.0;
    double jitter = 0.5 + (double)(rnd % 1000) / 2000.0;
    return (unsigned)(base * jitter);
}

int bronze_retry_backoff_sleep(int attempt)
{
    static _Thread_local uint64_t state;
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
                (uint64_t)(uintptr_t)&state;
        if (!state)
            state = 0x9e3779b97f4a7c15ULL;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return bronze_interrupt_sleep_ms(bronze_retry_backoff_ms(attempt, state));
}
