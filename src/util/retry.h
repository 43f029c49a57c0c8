/*
 * retry.h - when and how long to wait before trying a request again, shared
 * by S3 and the HTTP API sources (the same rules: SOURCES_NOTES "S3", "HTTP
 * APIs").
 *
 * Backoff is "full jitter" (AWS Architecture Blog): a uniform random delay in
 * [0, min(cap, base * 2^attempt)], so many clients that failed together do
 * not retry together. A server's Retry-After (seconds or an HTTP-date) wins
 * over the backoff. Waits go through bronze_interrupt_sleep_ms (interrupt.h),
 * which wakes early on SIGINT/SIGTERM, so a stop is never held up by a wait.
 */
#ifndef BRONZE_UTIL_RETRY_H
#define BRONZE_UTIL_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define BRONZE_RETRY_BASE_MS 200
#define BRONZE_RETRY_CAP_MS 20000
/* The longest Retry-After honoured: a server cannot park us for a day. */
#define BRONZE_RETRY_AFTER_MAX_MS 300000

/* Full-jitter delay for attempt (0-based): uniform in
 * [0, min(cap_ms, base_ms * 2^attempt)], drawn from *rng (any non-zero seed;
 * updated). */
uint64_t bronze_retry_backoff_ms(int attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t *rng);

/* A seed for bronze_retry_backoff_ms (time, thread, address mixed). */
uint64_t bronze_retry_seed(void);

/* Parses a Retry-After value: delay-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", also the RFC 850 and asctime forms),
 * relative to now. A date in the past is 0 ms. Returns 0 with *ms set, -1 when
 * the value is neither. */
int bronze_retry_after_parse(const char *value, time_t now, uint64_t *ms);

/* The delay before retry `attempt`: Retry-After when given and parseable
 * (capped at BRONZE_RETRY_AFTER_MAX_MS), else the full-jitter backoff. */
uint64_t bronze_retry_delay_ms(int attempt, const char *retry_after, uint64_t *rng);

/* Sleeps the backoff of a database reconnect or stream restart: the ceiling
 * 500 ms * 2^attempt (cap 30 s), half of it for sure and half at random
 * ("equal jitter"), with bronze_interrupt_sleep_ms: 0 slept, -1 when a
 * signal asked the run to stop. */
int bronze_retry_backoff_sleep(int attempt);

/* True when an HTTP answer is worth another try: 500, 502, 503, 504, 429,
 * 408, and S3 error codes SlowDown, RequestTimeout, InternalError,
 * ServiceUnavailable (which S3 also sends inside a 200 body). code may be
 * NULL. Other 4xx are final. */
bool bronze_retry_http(long status, const char *code);

/* True when a transport failure (a CURLcode) is transient: timeouts, resets,
 * refused or failed connections, sends/receives cut short, DNS failures. TLS
 * verification failures and bad URLs are final. */
bool bronze_retry_transport(int curl_code);

#endif
