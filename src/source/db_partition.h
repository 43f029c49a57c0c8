/*
 * db_partition.h - splitting one query's rows by key range (SPEC §8,
 * source.db.partitioning), Spark JDBC's partitionColumn / numPartitions.
 *
 * A partition column is an integer, date or timestamp column; its values
 * are read as int64 keys (the integer, days since 1970-01-01, or micros since
 * 1970-01-01 UTC). [min, max] (from `SELECT min(col), max(col)` of the
 * filtered query, or the configured lower_bound / upper_bound) is cut into
 * num_partitions ranges at
 *     b_r = min + floor((max - min + 1) * r / n),   r = 1 .. n-1
 * and range r is [b_r, b_r+1), the first open below (and holding the NULL
 * keys), the last open above: every row falls in exactly one range whatever
 * the bounds, since neighbours test the same boundary with < and >=. With
 * more ranges than keys, or min == max, some ranges are empty; none
 * overlaps. Process shard I of K takes the contiguous ranges
 * [I*n/K, (I+1)*n/K) (K <= n), so its rows are one range too.
 *
 * The boundaries reach the database as parameters (SQLite, ODBC) or as
 * literals quoted by the driver and cast to the column's type (PostgreSQL's
 * COPY), exactly as the incremental cursor: never pasted raw.
 */
#ifndef BRONZE_SOURCE_DB_PARTITION_H
#define BRONZE_SOURCE_DB_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "batch/batch.h"
#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_dbp_range {
    bool lo_open;   /* no lower boundary; NULL keys belong here */
    bool hi_open;   /* no upper boundary */
    int64_t lo, hi; /* [lo, hi) where not open */
} bronze_dbp_range;

/* True for the column types a partition key can have. */
bool bronze_dbp_type_ok(bronze_type t);

/* Boundary r (1 <= r < n) of [min, max] cut into n ranges (min <= max). */
int64_t bronze_dbp_boundary(int64_t min, int64_t max, int n, int r);

/* The bounds a config did not give (have_* false) from the table's own
 * [dmin, dmax], kept min <= max against the one it did give. */
void bronze_dbp_fill_bounds(int64_t *min, bool have_min, int64_t *max, bool have_max, int64_t dmin,
                            int64_t dmax);

/* The range of partitions [first, last) of n over [min, max]. */
void bronze_dbp_range_of(int64_t min, int64_t max, int n, int first, int last,
                         bronze_dbp_range *out);

/* Shard `shard` of `nshards` takes partitions [*first, *last) of n. */
void bronze_dbp_shard_slice(int n, int shard, int nshards, int *first, int *last);

/* A key as text the database reads as the column's type: digits; DATE
 * "2025-01-12"; TIMESTAMP "2025-01-12 14:30:00.123456"; TIMESTAMPTZ the
 * same with "+00". NUL-terminated in out (>= 64 bytes). */
void bronze_dbp_key_text(bronze_type t, int64_t key, char *out);

/* A configured bound read as the column's type. 0, or -1 unreadable. */
int bronze_dbp_key_parse(bronze_type t, const char *text, int64_t *key);

/* Appends the range's condition on `key_sql` (an already-quoted column or
 * key expression) with `lo_rhs` / `hi_rhs` already safe (placeholders or
 * driver-quoted literals); "TRUE"-like "1 = 1" when both ends are open.
 * NUL-terminates. -1 on OOM. */
int bronze_dbp_condition(bronze_buf *out, const char *key_sql, const bronze_dbp_range *r,
                         const char *lo_rhs, const char *hi_rhs);

/* What a database source needs to cut its rows: the shard's slice of
 * the partitions (and connection sub's part of it, nsub > 1, see
 * run/fanin.h), or nothing to do (*active false: no partitioning, or one
 * reader of everything). nsub must not exceed the slice's length. */
typedef struct bronze_dbp_plan {
    bool active;
    int n, first, last; /* partitions [first, last) of n */
} bronze_dbp_plan;
int bronze_dbp_plan_for(const bronze_config *cfg, int shard, int nshards, int sub, int nsub,
                        bronze_dbp_plan *out, bronze_err *err);

/* The partition column's checks once its type is known: missing (idx < 0)
 * or of a type that has no key is a config error naming
 * source.db.partitioning.column. */
int bronze_dbp_check_column(const bronze_config *cfg, int idx, const bronze_field *f,
                            bronze_err *err);

/* [*min, *max] from the config's bounds where given; *have_min and *have_max
 * say which. A bound that does not read as the column's type is a config
 * error naming its key. */
int bronze_dbp_config_bounds(const bronze_config *cfg, bronze_type t, int64_t *min, bool *have_min,
                             int64_t *max, bool *have_max, bronze_err *err);

/* Records the bounds a shard used ("min..max" as key text, or "none") in
 * out (cap bytes), for the shard journal: shards of one batch must agree. */
void bronze_dbp_note(char *out, size_t cap, bronze_type t, bool have, int64_t min, int64_t max);

#endif
