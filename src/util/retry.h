/*
 * retry.h - the backoff between attempts of anything transient (a database
 * connection or stream today; S3 and HTTP can share it): exponential with
 * jitter, and a sleep that ends early on SIGINT/SIGTERM, so a run asked to
 * stop does not sit out a 30-second wait before it notices.
 */
#ifndef BRONZE_UTIL_RETRY_H
#define BRONZE_UTIL_RETRY_H

#include <stdint.h>

/* Delay before retry `attempt` (0-based): 500 ms * 2^attempt, capped at
 * 30 s, scaled by a jitter factor in [0.5, 1.0) drawn from `rnd`. */
unsigned bronze_retry_backoff_ms(int attempt, uint64_t rnd);
/* Sleeps bronze_retry_backoff_ms(attempt, <random>) with
 * bronze_interrupt_sleep_ms: 0 slept, -1 interrupted. */
int bronze_retry_backoff_sleep(int attempt);

#endif
