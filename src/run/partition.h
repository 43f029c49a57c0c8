/*
 * partition.h - where a batch lands (SPEC §4, §7 "Dates and times").
 *
 *   system=<s>/table=<t>/[dt=YYYY-MM-DD/][hour=HH/ | batch=YYYYMMDD_HHMM/ | batch_id=<id>/]
 *
 * The day comes from --date (default: today UTC); hour and minute from the
 * batch's start time of day (or the time --date pinned).
 */
#ifndef BRONZE_RUN_PARTITION_H
#define BRONZE_RUN_PARTITION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"

typedef struct bronze_run_date {
    int32_t day; /* days since 1970-01-01 */
    bool pinned; /* --date gave HH:MM */
    int hour, minute;
} bronze_run_date;

/* Parses --date: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM". -1 when malformed. */
int bronze_run_date_parse(const char *s, bronze_run_date *out);
/* Today (UTC) from a wall-clock time. */
void bronze_run_date_today(time_t now, bronze_run_date *out);

/* "YYYYMMDD_HHMMSS_<8 hex>" from the wall clock and 4 random bytes. */
void bronze_batch_id_auto(time_t now, char out[32]);

/* Fills out with the relative partition path, trailing '/'. start = the
 * batch's start time (wall clock) for hour/batch when not pinned. Returns -1,
 * out holding a prefix, when the path needs cap bytes or more (config load
 * bounds it to BRONZE_PARTITION_PATH_MAX, so 512 bytes always suffice). */
int bronze_partition_path(const bronze_config *cfg, const bronze_run_date *d, time_t start,
                          const char *batch_id, char *out, size_t cap);

#endif
