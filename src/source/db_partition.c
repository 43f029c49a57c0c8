/* db_partition.c - key ranges of source.db.partitioning (see db_partition.h). */
#include "source/db_partition.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/datetime.h"

bool bronze_dbp_type_ok(bronze_type t)
{
    return t == BRONZE_T_INT16 || t == BRONZE_T_INT32 || t == BRONZE_T_INT64 ||
           t == BRONZE_T_DATE || t == BRONZE_T_TIMESTAMP || t == BRONZE_T_TIMESTAMPTZ;
}

int64_t bronze_dbp_boundary(int64_t min, int64_t max, int n, int r)
{
    __int128 span = (__int128)max - (__int128)min + 1;
    return (int64_t)((__int128)min + span * r / n);
}

void bronze_dbp_fill_bounds(int64_t *min, bool have_min, int64_t *max, bool have_max, int64_t dmin,
                            int64_t dmax)
{
    if (!have_min)
        *min = have_max && dmin > *max ? *max : dmin;
    if (!have_max)
        *max = dmax < *min ? *min : dmax;
}

void bronze_dbp_range_of(int64_t min, int64_t max, int n, int first, int last,
                         bronze_dbp_range *out)
{
    memset(out, 0, sizeof *out);
    out->lo_open = first <= 0;
    out->hi_open = last >= n;
    if (!out->lo_open)
        out->lo = bronze_dbp_boundary(min, max, n, first);
    if (!out->hi_open)
        out->hi = bronze_dbp_boundary(min, max, n, last);
}

void bronze_dbp_shard_slice(int n, int shard, int nshards, int *first, int *last)
{
    *first = (int)((int64_t)shard * n / nshards);
    *last = (int)((int64_t)(shard + 1) * n / nshards);
}

void bronze_dbp_key_text(bronze_type t, int64_t key, char *out)
{
    switch (t) {
    case BRONZE_T_DATE:
        bronze_fmt_date((int32_t)key, out);
        break;
    case BRONZE_T_TIMESTAMP:
        bronze_fmt_timestamp_frac(key, ' ', BRONZE_FRAC_ALWAYS, "", out);
        break;
    case BRONZE_T_TIMESTAMPTZ:
        bronze_fmt_timestamp_frac(key, ' ', BRONZE_FRAC_ALWAYS, "+00", out);
        break;
    default:
        snprintf(out, 64, "%" PRId64, key);
    }
}

int bronze_dbp_key_parse(bronze_type t, const char *text, int64_t *key)
{
    size_t n = strlen(text);
    if (t == BRONZE_T_DATE) {
        int32_t d;
        if (bronze_parse_date(text, n, &d))
            return -1;
        *key = d;
        return 0;
    }
    if (t == BRONZE_T_TIMESTAMP || t == BRONZE_T_TIMESTAMPTZ) {
        bool tz;
        int32_t d;
        if (bronze_parse_timestamp(text, n, key, &tz) == 0)
            return 0;
        if (bronze_parse_date(text, n, &d)) /* a bare date: its midnight */
            return -1;
        *key = (int64_t)d * 86400000000LL;
        return 0;
    }
    char *end;
    long long v;
    if (!n)
        return -1;
    v = strtoll(text, &end, 10);
    if (*end)
        return -1;
    *key = (int64_t)v;
    return 0;
}

int bronze_dbp_condition(bronze_buf *out, const char *key_sql, const bronze_dbp_range *r,
                         const char *lo_rhs, const char *hi_rhs)
{
    int rc;
    if (r->lo_open && r->hi_open)
        rc = bronze_buf_printf(out, "1 = 1");
    else if (r->lo_open)
        rc = bronze_buf_printf(out, "(%s < %s OR %s IS NULL)", key_sql, hi_rhs, key_sql);
    else if (r->hi_open)
        rc = bronze_buf_printf(out, "%s >= %s", key_sql, lo_rhs);
    else
        rc = bronze_buf_printf(out, "(%s >= %s AND %s < %s)", key_sql, lo_rhs, key_sql, hi_rhs);
    return rc || bronze_buf_cstr(out) ? -1 : 0;
}

int bronze_dbp_plan_for(const bronze_config *cfg, int shard, int nshards, int sub, int nsub,
                        bronze_dbp_plan *out, bronze_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg->type != BRONZE_SRC_DB || !cfg->db.partitioning.column)
        return 0;
    int n = (int)cfg->db.partitioning.num_partitions;
    if (nshards <= 0) {
        shard = 0;
        nshards = 1;
    }
    if (nshards > n)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.num_partitions: %d shards need at "
                              "least %d partitions (it is %d)",
                              cfg->path, nshards, nshards, n);
    bronze_dbp_shard_slice(n, shard, nshards, &out->first, &out->last);
    if (nsub > 1) {
        int len = out->last - out->first, f = out->first;
        out->first = f + (int)((int64_t)sub * len / nsub);
        out->last = f + (int)((int64_t)(sub + 1) * len / nsub);
    }
    out->n = n;
    out->active = !(out->first == 0 && out->last == n);
    return 0;
}

int bronze_dbp_check_column(const bronze_config *cfg, int idx, const bronze_field *f,
                            bronze_err *err)
{
    if (idx < 0)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.column: column '%s' is not among the "
                              "query's columns",
                              cfg->path, cfg->db.partitioning.column);
    if (!bronze_dbp_type_ok(f->type)) {
        char ty[48];
        bronze_field_type_text(f, ty, sizeof ty);
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.column: column '%s' is %s; partition "
                              "on an integer, date or timestamp column",
                              cfg->path, f->name, ty);
    }
    return 0;
}

int bronze_dbp_config_bounds(const bronze_config *cfg, bronze_type t, int64_t *min, bool *have_min,
                             int64_t *max, bool *have_max, bronze_err *err)
{
    const char *lo = cfg->db.partitioning.lower_bound, *hi = cfg->db.partitioning.upper_bound;
    const char *what = t == BRONZE_T_DATE ? "a date (YYYY-MM-DD)"
                       : t == BRONZE_T_TIMESTAMP || t == BRONZE_T_TIMESTAMPTZ
                           ? "a timestamp (YYYY-MM-DD HH:MM:SS)"
                           : "an integer";
    *have_min = *have_max = false;
    if (lo && bronze_dbp_key_parse(t, lo, min))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.lower_bound: '%s' is not %s, the type of "
                              "column '%s'",
                              cfg->path, lo, what, cfg->db.partitioning.column);
    if (hi && bronze_dbp_key_parse(t, hi, max))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.upper_bound: '%s' is not %s, the type of "
                              "column '%s'",
                              cfg->path, hi, what, cfg->db.partitioning.column);
    *have_min = lo != NULL;
    *have_max = hi != NULL;
    if (lo && hi && *min > *max)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.partitioning.lower_bound: '%s' is above upper_bound "
                              "'%s'",
                              cfg->path, lo, hi);
    return 0;
}

void bronze_dbp_note(char *out, size_t cap, bronze_type t, bool have, int64_t min, int64_t max)
{
    if (!out || !cap)
        return;
    if (!have) {
        snprintf(out, cap, "none");
        return;
    }
    char a[64], b[64];
    bronze_dbp_key_text(t, min, a);
    bronze_dbp_key_text(t, max, b);
    snprintf(out, cap, "%s..%s", a, b);
}
