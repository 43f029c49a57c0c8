/* partition.c - run dates, batch ids and the hive partition path (see partition.h). */
#include "run/partition.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/datetime.h"

int bronze_run_date_parse(const char *s, bronze_run_date *out)
{
    size_t n = strlen(s);
    memset(out, 0, sizeof *out);
    if (n == 10)
        return bronze_parse_date(s, n, &out->day);
    if (n != 16 || s[10] != 'T' || bronze_parse_date(s, 10, &out->day))
        return -1;
    int64_t tod;
    if (bronze_parse_time(s + 11, 5, &tod))
        return -1;
    out->pinned = true;
    out->hour = (int)(tod / 3600000000LL);
    out->minute = (int)(tod / 60000000LL % 60);
    return 0;
}

void bronze_run_date_today(time_t now, bronze_run_date *out)
{
    memset(out, 0, sizeof *out);
    out->day = (int32_t)(now / 86400 - (now % 86400 < 0));
}

void bronze_batch_id_auto(time_t now, char out[32])
{
    struct tm tm;
    gmtime_r(&now, &tm);
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint32_t)now ^ (uint32_t)getpid() * 2654435761u;
    snprintf(out, 32, "%04d%02d%02d_%02d%02d%02d_%08x", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, r);
}

/* Appends to out at *n; -1 (nothing more written) when it would not fit. */
static int put(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int put(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n) {
        out[*n] = 0;
        return -1;
    }
    *n += (size_t)k;
    return 0;
}

int bronze_partition_path(const bronze_config *cfg, const bronze_run_date *d, time_t start,
                          const char *batch_id, char *out, size_t cap)
{
    int hour = d->hour, minute = d->minute;
    if (!d->pinned) {
        struct tm tm;
        gmtime_r(&start, &tm);
        hour = tm.tm_hour;
        minute = tm.tm_min;
    }
    int64_t y;
    unsigned m, dd;
    bronze_civil_from_days(d->day, &y, &m, &dd);
    size_t n = 0;
    if (cap)
        out[0] = 0;
    if (put(out, cap, &n, "system=%s/table=%s/", cfg->system, cfg->table))
        return -1;
    if (cfg->use_dt_partition && put(out, cap, &n, "dt=%04lld-%02u-%02u/", (long long)y, m, dd))
        return -1;
    switch (cfg->strategy) {
    case BRONZE_PART_HOURLY:
        return put(out, cap, &n, "hour=%02d/", hour);
    case BRONZE_PART_TIMESTAMP:
        return put(out, cap, &n, "batch=%04lld%02u%02u_%02d%02d/", (long long)y, m, dd, hour,
                   minute);
    case BRONZE_PART_BATCH_ID:
        return put(out, cap, &n, "batch_id=%s/", batch_id);
    default:
        return 0;
    }
}
