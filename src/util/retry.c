/*
 * retry.c - backoff, Retry-After, an interruptible sleep and the
 * retry/final classifier (see retry.h).
 *
 * Dates are parsed by hand (sscanf of numbers and a month table), not with
 * strptime: %a/%b follow LC_TIME, and the tool sets a UTF-8 locale.
 */
#include "util/retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/interrupt.h"

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: plenty for jitter */
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t bronze_retry_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                 (uint64_t)(uintptr_t)pthread_self() ^ (uint64_t)(uintptr_t)&ts;
    return s ? s : 1;
}

uint64_t bronze_retry_backoff_ms(int attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t *rng)
{
    uint64_t ceil = base_ms;
    for (int i = 0; i < attempt && ceil < cap_ms; i++)
        ceil *= 2;
    if (ceil > cap_ms)
        ceil = cap_ms;
    return next_rand(rng) % (ceil + 1);
}

static int month_of(const char *m)
{
    static const char *names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (!strcmp(m, names[i]))
            return i;
    return -1;
}

static int parse_http_date(const char *v, time_t *out)
{
    char mon[4] = "";
    int d, y, h, mi, s;
    /* IMF-fixdate, RFC 850, asctime */
    if (sscanf(v, "%*[A-Za-z], %d %3[A-Za-z] %d %d:%d:%d GMT", &d, mon, &y, &h, &mi, &s) != 6 &&
        sscanf(v, "%*[A-Za-z], %d-%3[A-Za-z]-%d %d:%d:%d GMT", &d, mon, &y, &h, &mi, &s) != 6) {
        if (sscanf(v, "%*[A-Za-z] %3[A-Za-z] %d %d:%d:%d %d", mon, &d, &h, &mi, &s, &y) != 6)
            return -1;
    }
    if (y < 100)
        y += y < 70 ? 2000 : 1900;
    int m = month_of(mon);
    if (m < 0 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 ||
        y < 1970 || y > 9999)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *out = timegm(&tm);
    return *out == (time_t)-1 ? -1 : 0;
}

int bronze_retry_after_parse(const char *value, time_t now, uint64_t *ms)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        uint64_t secs = 0;
        const char *p = value;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (secs > UINT64_MAX / 10000)
                return -1;
            secs = secs * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p)
            return -1;
        *ms = secs * 1000;
        return 0;
    }
    time_t t;
    if (parse_http_date(value, &t))
        return -1;
    *ms = t > now ? (uint64_t)(t - now) * 1000 : 0;
    return 0;
}

uint64_t bronze_retry_delay_ms(int attempt, const char *retry_after, uint64_t *rng)
{
    uint64_t ms;
    if (retry_after && *retry_after && bronze_retry_after_parse(retry_after, time(NULL), &ms) == 0)
        return ms > BRONZE_RETRY_AFTER_MAX_MS ? BRONZE_RETRY_AFTER_MAX_MS : ms;
    return bronze_retry_backoff_ms(attempt, BRONZE_RETRY_BASE_MS, BRONZE_RETRY_CAP_MS, rng);
}

int bronze_retry_backoff_sleep(int attempt)
{
    static _Thread_local uint64_t rng;
    if (!rng)
        rng = bronze_retry_seed();
    /* "equal jitter": half the ceiling for sure, so a database that is
     * restarting gets a real pause, the other half random */
    uint64_t ceil = 500;
    for (int i = 0; i < attempt && ceil < 30000; i++)
        ceil *= 2;
    if (ceil > 30000)
        ceil = 30000;
    uint64_t ms = ceil / 2 + bronze_retry_backoff_ms(0, ceil / 2, ceil / 2, &rng);
    return bronze_interrupt_sleep_ms((unsigned)ms);
}

bool bronze_retry_http(long status, const char *code)
{
    if (code && (!strcmp(code, "SlowDown") || !strcmp(code, "RequestTimeout") ||
                 !strcmp(code, "InternalError") || !strcmp(code, "ServiceUnavailable") ||
                 !strcmp(code, "Throttling") || !strcmp(code, "ThrottlingException")))
        return true;
    switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        return true;
    default:
        return false;
    }
}

bool bronze_retry_transport(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}
