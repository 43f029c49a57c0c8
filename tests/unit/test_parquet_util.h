/*
 * test_parquet_util.h - helpers shared by the Parquet unit tests and the
 * fixture writer: schema building, and a roller-like loop that writes batches
 * through fit()/write() into numbered parts exactly as run/roller.c does.
 */
#ifndef BRONZE_TEST_PARQUET_UTIL_H
#define BRONZE_TEST_PARQUET_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/batch.h"
#include "format/encoder.h"

typedef struct tp_field {
    const char *name;
    bronze_type type;
    int precision, scale;
    bool nullable;
} tp_field;

static inline bronze_schema *tp_schema(const tp_field *f, size_t n)
{
    bronze_schema *s = bronze_schema_new(n);
    for (size_t i = 0; s && i < n; i++)
        if (bronze_schema_set(s, i, f[i].name, f[i].type, f[i].precision, f[i].scale,
                              f[i].nullable)) {
            bronze_schema_free(s);
            return NULL;
        }
    return s;
}

/* Parts written by tp_roller: paths, sizes and row counts. */
typedef struct tp_parts {
    char prefix[512]; /* part i is <prefix>-<i>.parquet */
    bronze_encoder_opts opts;
    const bronze_schema *schema;
    bronze_encoder *enc;
    unsigned n; /* parts finished */
    uint64_t bytes[4096];
    uint64_t rows[4096];
    uint64_t part_rows;
    /* When set, write() gets only half of what fit() allowed at the end of
     * each part and now and then, like a roller whose other format (CSV)
     * fits fewer rows; the part is then closed early. */
    bool halve;
    unsigned calls;
} tp_parts;

static inline void tp_part_path(const tp_parts *p, unsigned i, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%04u.parquet", p->prefix, i + 1);
}

static inline int tp_close(tp_parts *p, bronze_err *err)
{
    if (!p->enc)
        return 0;
    uint64_t bytes = 0;
    int rc = bronze_encoder_parquet.finish(p->enc, &bytes, err);
    bronze_encoder_parquet.destroy(p->enc);
    p->enc = NULL;
    if (rc)
        return -1;
    p->bytes[p->n] = bytes;
    p->rows[p->n] = p->part_rows;
    p->n++;
    return 0;
}

/* Writes all rows of b, rolling to a new part when fit() says fewer rows fit. */
static inline int tp_write(tp_parts *p, const bronze_batch *b, bronze_err *err)
{
    size_t off = 0, n = b->nrows;
    while (off < n) {
        if (!p->enc) {
            char path[600];
            tp_part_path(p, p->n, path, sizeof path);
            if (bronze_encoder_parquet.open(&p->enc, path, p->schema, &p->opts, err))
                return -1;
            p->part_rows = 0;
        }
        size_t want = n - off;
        size_t k = bronze_encoder_parquet.fit(p->enc, b, off, want, err);
        if (k == (size_t)-1)
            return -1;
        if (k == 0) {
            if (p->part_rows == 0) {
                bronze_err_set(err, BRONZE_E_RUNTIME, "a single row does not fit");
                return -1;
            }
            if (tp_close(p, err))
                return -1;
            continue;
        }
        size_t w = k;
        if (p->halve && k > 1 && (k < want || ++p->calls % 3 == 0))
            w = k / 2;
        if (bronze_encoder_parquet.write(p->enc, b, off, w, err))
            return -1;
        p->part_rows += w;
        off += w;
        if (w < want && tp_close(p, err))
            return -1;
    }
    return 0;
}

#endif
