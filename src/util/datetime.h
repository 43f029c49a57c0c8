/*
 * datetime.h - civil dates and ISO 8601 text, UTC only, no libc time zones.
 *
 * Days are counted from 1970-01-01 (proleptic Gregorian), micros from
 * 1970-01-01T00:00:00Z. Parsers are strict (whole input must match) and
 * return 0 on success, -1 otherwise. Formatters write a NUL-terminated string
 * and return its length; `out` must hold BRONZE_DT_MAX bytes.
 */
#ifndef BRONZE_UTIL_DATETIME_H
#define BRONZE_UTIL_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRONZE_DT_MAX 48

int64_t bronze_days_from_civil(int64_t y, unsigned m, unsigned d);
void bronze_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* "YYYY-MM-DD" */
int bronze_parse_date(const char *s, size_t n, int32_t *days);
/* "YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]][Z|±HH[:MM]]"; *has_tz tells whether an
 * offset or Z was given (the value is then converted to UTC). */
int bronze_parse_timestamp(const char *s, size_t n, int64_t *micros, bool *has_tz);
/* "HH:MM[:SS[.ffffff]]" */
int bronze_parse_time(const char *s, size_t n, int64_t *micros);

/* How a fraction of a second is written. One formatter serves every caller
 * (CSV values, cursor text, batch timestamps); only this differs. */
typedef enum {
    BRONZE_FRAC_TRIM,   /* "14:30:00.1": trailing zeros trimmed, none when whole (CSV) */
    BRONZE_FRAC_SIX,    /* "14:30:00.100000": six digits when any (cursor text) */
    BRONZE_FRAC_ALWAYS, /* "14:30:00.000000": six digits always (batch timestamps) */
} bronze_frac;

/* 2025-01-12 (INT32 extremes: "infinity" / "-infinity") */
size_t bronze_fmt_date(int32_t days, char *out);
/* sep ' ' or 'T'; fraction trimmed of trailing zeros; suffix appended as is
 * ("", "Z", "+00"). INT64 extremes: "infinity" / "-infinity". */
size_t bronze_fmt_timestamp(int64_t micros, char sep, const char *suffix, char *out);
size_t bronze_fmt_time(int64_t micros, char *out);
/* The one timestamp formatter; the two above and below are its common forms. */
size_t bronze_fmt_timestamp_frac(int64_t micros, char sep, bronze_frac frac, const char *suffix,
                                 char *out);
size_t bronze_fmt_time_frac(int64_t micros, bronze_frac frac, char *out);
/* Seed form: 2025-01-12T14:30:15.123456 (always 6 fraction digits). */
size_t bronze_fmt_timestamp_seed(int64_t micros, char *out);

#endif
