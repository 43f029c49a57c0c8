/* datetime.c - civil-date arithmetic (Hinnant's days_from_civil) and strict
 * ISO 8601 parsing/formatting, so that no code path depends on TZ or locale. */
#include "util/datetime.h"

#include "util/digits.h"

#include <stdio.h>
#include <string.h>

int64_t bronze_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void bronze_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    if (at + count > n)
        return -1;
    int v = 0;
    for (size_t i = 0; i < count; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The last two dates this thread parsed, by their 10 bytes: a timestamp
 * column repeats its date for thousands of rows; two entries, most recent
 * kept, so a date column and a timestamp column of one row do not evict each
 * other. Only valid dates are kept. */
static _Thread_local struct ymd_memo {
    uint64_t head;
    uint16_t tail;
    bool set;
    int64_t days;
} ymd_memo[2];
static _Thread_local unsigned ymd_recent;

static int parse_ymd_text(const char *s, size_t n, int64_t *days);

static int parse_ymd(const char *s, size_t n, int64_t *days)
{
    if (n < 10)
        return -1;
    uint64_t head;
    uint16_t tail;
    memcpy(&head, s, 8);
    memcpy(&tail, s + 8, 2);
    for (unsigned k = 0; k < 2; k++) {
        struct ymd_memo *e = &ymd_memo[k];
        if (e->set && e->head == head && e->tail == tail) {
            ymd_recent = k;
            *days = e->days;
            return 0;
        }
    }
    if (parse_ymd_text(s, n, days))
        return -1;
    ymd_recent ^= 1;
    ymd_memo[ymd_recent] = (struct ymd_memo){head, tail, true, *days};
    return 0;
}

static int parse_ymd_text(const char *s, size_t n, int64_t *days)
{
    int y, m, d;
    if (n < 10 || digits(s, n, 0, 4, &y) || s[4] != '-' || digits(s, n, 5, 2, &m) || s[7] != '-' ||
        digits(s, n, 8, 2, &d))
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return -1;
    *days = bronze_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int bronze_parse_date(const char *s, size_t n, int32_t *days)
{
    int64_t d;
    if (n != 10 || parse_ymd(s, n, &d))
        return -1;
    *days = (int32_t)d;
    return 0;
}

/* Parses HH:MM[:SS[.f]] at s[at..]; returns index after it or -1. */
/* "HH:MM:SS" at s[0..8) read with one load: the colons made '0' for the
 * eight-digit test, then each pair's two digits. */
static bool hms8(const char *s, int *h, int *mi, int *sec)
{
#ifdef BRONZE_SWAR_DIGITS
    if (s[2] != ':' || s[5] != ':')
        return false;
    uint64_t w;
    memcpy(&w, s, 8);
    w = (w & ~(0xFFULL << 16 | 0xFFULL << 40)) | (0x30ULL << 16 | 0x30ULL << 40);
    if (!bronze_digits8_ok(w))
        return false;
    w -= 0x3030303030303030ULL;
    *h = (int)((w & 0xFF) * 10 + (w >> 8 & 0xFF));
    *mi = (int)((w >> 24 & 0xFF) * 10 + (w >> 32 & 0xFF));
    *sec = (int)((w >> 48 & 0xFF) * 10 + (w >> 56 & 0xFF));
    return true;
#else
    (void)s, (void)h, (void)mi, (void)sec;
    return false;
#endif
}

static long parse_hms(const char *s, size_t n, size_t at, int64_t *micros)
{
    int h, mi, sec = 0;
    size_t i;
    bool has_sec;
    if (at + 8 <= n && hms8(s + at, &h, &mi, &sec)) {
        i = at + 8;
        has_sec = true;
    } else {
        if (digits(s, n, at, 2, &h) || at + 2 >= n || s[at + 2] != ':' ||
            digits(s, n, at + 3, 2, &mi))
            return -1;
        i = at + 5;
        has_sec = i < n && s[i] == ':';
        if (has_sec) {
            if (digits(s, n, i + 1, 2, &sec))
                return -1;
            i += 3;
        }
    }
    int64_t frac = 0;
    if (has_sec) {
        if (i < n && s[i] == '.') {
            i++;
            size_t k = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (k < 6)
                    frac = frac * 10 + (s[i] - '0');
                k++;
                i++;
            }
            if (k == 0 || k > 9)
                return -1;
            for (; k < 6; k++)
                frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    *micros = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + frac;
    return (long)i;
}

int bronze_parse_time(const char *s, size_t n, int64_t *micros)
{
    long e = parse_hms(s, n, 0, micros);
    return e == (long)n ? 0 : -1;
}

int bronze_parse_timestamp(const char *s, size_t n, int64_t *micros, bool *has_tz)
{
    int64_t days, tod;
    if (n < 16 || parse_ymd(s, 10, &days) || (s[10] != 'T' && s[10] != ' '))
        return -1;
    long e = parse_hms(s, n, 11, &tod);
    if (e < 0)
        return -1;
    size_t i = (size_t)e;
    int64_t off = 0;
    *has_tz = false;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        *has_tz = true;
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
        if (digits(s, n, i + 1, 2, &oh))
            return -1;
        i += 3;
        if (i < n && s[i] == ':')
            i++;
        if (i < n) {
            if (digits(s, n, i, 2, &om))
                return -1;
            i += 2;
        }
        if (oh > 23 || om > 59)
            return -1;
        off = sign * ((int64_t)oh * 3600 + om * 60) * 1000000;
        *has_tz = true;
    }
    if (i != n)
        return -1;
    *micros = days * 86400000000LL + tod - off;
    return 0;
}

static size_t fmt_ymd(int64_t days, char *out)
{
    int64_t y;
    unsigned m, d;
    bronze_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999)
        return (size_t)snprintf(out, BRONZE_DT_MAX, "%04d-%02u-%02u", (int)y, m, d);
    return (size_t)snprintf(out, BRONZE_DT_MAX, "%lld-%02u-%02u", (long long)y, m, d);
}

size_t bronze_fmt_date(int32_t days, char *out)
{
    if (days == INT32_MAX)
        return (size_t)snprintf(out, BRONZE_DT_MAX, "infinity");
    if (days == INT32_MIN || days == -INT32_MAX)
        return (size_t)snprintf(out, BRONZE_DT_MAX, "-infinity");
    return fmt_ymd(days, out);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* The one time-of-day formatter: HH:MM:SS plus the fraction as frac says. */
static size_t fmt_tod(int64_t tod, bronze_frac frac, char *out)
{
    int64_t secs = tod / 1000000, us = tod % 1000000;
    size_t n = (size_t)snprintf(out, BRONZE_DT_MAX, "%02d:%02d:%02d", (int)(secs / 3600),
                                (int)(secs / 60 % 60), (int)(secs % 60));
    if (us || frac == BRONZE_FRAC_ALWAYS) {
        char f[8];
        snprintf(f, sizeof f, "%06d", (int)us);
        size_t k = 6;
        while (frac == BRONZE_FRAC_TRIM && k > 0 && f[k - 1] == '0')
            k--;
        out[n++] = '.';
        memcpy(out + n, f, k);
        n += k;
        out[n] = 0;
    }
    return n;
}

size_t bronze_fmt_timestamp_frac(int64_t micros, char sep, bronze_frac frac, const char *suffix,
                                 char *out)
{
    if (micros == INT64_MAX)
        return (size_t)snprintf(out, BRONZE_DT_MAX, "infinity");
    if (micros == INT64_MIN || micros == -INT64_MAX)
        return (size_t)snprintf(out, BRONZE_DT_MAX, "-infinity");
    int64_t days = floordiv(micros, 86400000000LL);
    int64_t tod = micros - days * 86400000000LL;
    size_t n = fmt_ymd(days, out);
    out[n++] = sep;
    n += fmt_tod(tod, frac, out + n);
    n += (size_t)snprintf(out + n, BRONZE_DT_MAX - n, "%s", suffix);
    return n;
}

size_t bronze_fmt_timestamp(int64_t micros, char sep, const char *suffix, char *out)
{
    return bronze_fmt_timestamp_frac(micros, sep, BRONZE_FRAC_TRIM, suffix, out);
}

size_t bronze_fmt_timestamp_seed(int64_t micros, char *out)
{
    return bronze_fmt_timestamp_frac(micros, 'T', BRONZE_FRAC_ALWAYS, "", out);
}

size_t bronze_fmt_time_frac(int64_t micros, bronze_frac frac, char *out)
{
    return fmt_tod(micros, frac, out);
}

size_t bronze_fmt_time(int64_t micros, char *out)
{
    return fmt_tod(micros, BRONZE_FRAC_TRIM, out);
}
