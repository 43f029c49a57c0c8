/*
 * batch.h - the typed columnar record batch: the one interchange type between
 * sources and encoders.
 *
 * A schema is a list of fields (name, logical type, decimal precision/scale,
 * nullability). A batch holds up to `cap` rows of that schema, column by
 * column: a validity bitmap (bit set = value present) and either fixed-width
 * values or, for variable-length types, offsets into a byte arena.
 *
 * Value representation per type (what encoders read, what sources write):
 *   BOOL                 uint8_t  (0/1)              -> col->v.u8
 *   INT16, INT32, DATE   int32_t  (DATE: days since 1970-01-01)  -> col->v.i32
 *   INT64, TIMESTAMP, TIMESTAMPTZ, TIME
 *                        int64_t  (micros since 1970-01-01 UTC; TIME: micros
 *                                  since midnight)   -> col->v.i64
 *   FLOAT                float    -> col->v.f32
 *   DOUBLE               double   -> col->v.f64
 *   DECIMAL              __int128 unscaled value, field precision 1..38 and
 *                        scale                       -> col->v.i128
 *   STRING, JSON, BYTES  bytes [off[i], off[i+1]) of col->data (UTF-8 for
 *                        STRING/JSON; not NUL-terminated)
 * A null row's fixed-width slot is zero; a null row's var-len span is empty.
 * Infinite dates/timestamps (PostgreSQL's ±infinity) use DuckDB's encoding:
 * +infinity = INT32_MAX / INT64_MAX, -infinity = -INT32_MAX / -INT64_MAX
 * (BRONZE_DATE_NINF / BRONZE_TS_NINF), so DuckDB reads them back as ±infinity.
 *
 * Ownership: the batch owns its buffers and keeps them across
 * bronze_batch_clear(), so a source refills the same batch without allocating
 * (buffers only grow). The schema is not the batch's: it belongs to the
 * source, which keeps it until its close() (the one rule, in source.h).
 *
 * Filling: a source appends row by row with the bronze_batch_put_* calls,
 * one per column in column order per row, then bronze_batch_end_row(). Or it
 * writes columns directly (fixed-width) and sets nrows itself; see
 * bronze_batch_put_* for the invariants to keep.
 */
#ifndef BRONZE_BATCH_BATCH_H
#define BRONZE_BATCH_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/copy.h"

#define BRONZE_DATE_PINF INT32_MAX
#define BRONZE_DATE_NINF (-INT32_MAX)
#define BRONZE_TS_PINF INT64_MAX
#define BRONZE_TS_NINF (-INT64_MAX)

typedef enum {
    BRONZE_T_BOOL = 0,
    BRONZE_T_INT16,
    BRONZE_T_INT32,
    BRONZE_T_INT64,
    BRONZE_T_FLOAT,
    BRONZE_T_DOUBLE,
    BRONZE_T_DECIMAL,
    BRONZE_T_STRING,
    BRONZE_T_JSON,
    BRONZE_T_BYTES,
    BRONZE_T_DATE,
    BRONZE_T_TIMESTAMP,   /* local, not UTC-adjusted */
    BRONZE_T_TIMESTAMPTZ, /* UTC-adjusted */
    BRONZE_T_TIME,        /* micros since midnight, not UTC-adjusted */
    BRONZE_T__COUNT
} bronze_type;

typedef struct bronze_field {
    char *name;        /* owned by the schema, UTF-8, never empty */
    char *source_name; /* owned; the source's name when the output renamed it
                        * (batch/names.h), else NULL */
    bronze_type type;
    int precision; /* DECIMAL only: 1..38 */
    int scale;     /* DECIMAL only: 0..precision */
    bool nullable;
} bronze_field;

typedef struct bronze_schema {
    size_t ncols;
    bronze_field *fields; /* owned */
} bronze_schema;

typedef struct bronze_column {
    uint8_t *valid; /* bitmap, bit (i&7) of byte i>>3; 1 = present */
    union {
        void *raw;
        uint8_t *u8;
        int32_t *i32;
        int64_t *i64;
        float *f32;
        double *f64;
        __int128 *i128;
        uint64_t *off; /* var-len: cap+1 offsets into data, off[0] = 0 */
    } v;
    char *data; /* var-len arena */
    size_t data_len, data_cap;
    size_t null_count;
} bronze_column;

/* A batch is also full once its variable-length values pass this many bytes,
 * so wide rows (large text/bytea) cannot make one batch huge. */
#define BRONZE_BATCH_MAX_BYTES (16u << 20)
/* At most this many values (rows x columns) per batch: bronze_batch_init
 * lowers the row capacity of a schema wider than 128 columns (at 8,192 rows)
 * to fit, so a wide table's batches stay ~8 MiB of slots however many columns. */
#define BRONZE_BATCH_MAX_CELLS ((size_t)1 << 20)

typedef struct bronze_batch {
    const bronze_schema *schema;
    size_t nrows, cap;
    size_t var_bytes; /* bytes of variable-length values held */
    size_t cur_col;   /* row-wise filling: next column of the current row */
    bronze_column *cols;
} bronze_batch;

/* ---- schema ---- */
const char *bronze_type_name(bronze_type t);
bool bronze_type_is_varlen(bronze_type t);
/* Byte width of one fixed-width value (0 for var-len types). */
size_t bronze_type_width(bronze_type t);
/* Returns a schema with n fields zeroed (names NULL), or NULL on OOM. */
bronze_schema *bronze_schema_new(size_t n);
/* Copies name into field i. Returns -1 on OOM. */
int bronze_schema_set(bronze_schema *s, size_t i, const char *name, bronze_type type, int precision,
                      int scale, bool nullable);
bronze_schema *bronze_schema_clone(const bronze_schema *s);
void bronze_schema_free(bronze_schema *s);
/* Renames duplicate names deterministically (second "a" -> "a_2", ...),
 * keeping the name it had in source_name (unless one is set already).
 * Returns how many were renamed. */
size_t bronze_schema_dedupe_names(bronze_schema *s);
/* Type text as written to _metadata.json, e.g. "DECIMAL(10,2)", "INT64". */
void bronze_field_type_text(const bronze_field *f, char *out, size_t cap);

/* ---- batch ---- */
/* Allocates buffers for cap rows. Returns -1 on OOM. */
int bronze_batch_init(bronze_batch *b, const bronze_schema *schema, size_t cap);
void bronze_batch_free(bronze_batch *b);
/* Empties the batch, keeping its buffers. */
void bronze_batch_clear(bronze_batch *b);

static inline bool bronze_batch_is_valid(const bronze_column *c, size_t row)
{
    return (c->valid[row >> 3] >> (row & 7)) & 1;
}
/* Sources stop filling at this: the row cap, or BRONZE_BATCH_MAX_BYTES of
 * variable-length values (a batch always takes at least one row). */
static inline bool bronze_batch_full(const bronze_batch *b)
{
    return b->nrows >= b->cap || b->var_bytes >= BRONZE_BATCH_MAX_BYTES;
}
/* Var-len value i of a column. */
static inline const char *bronze_col_str(const bronze_column *c, size_t i, size_t *len)
{
    *len = (size_t)(c->v.off[i + 1] - c->v.off[i]);
    return c->data + c->v.off[i];
}

/* Row-wise filling. Call exactly one put per column, in order, then end_row.
 * The current row is b->nrows. Var-len puts copy the bytes. */
int bronze_batch_grow_data(bronze_column *c, size_t need);

static inline bronze_column *bronze__put_col(bronze_batch *b, bool valid)
{
    bronze_column *c = &b->cols[b->cur_col++];
    size_t r = b->nrows;
    if (valid)
        c->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    else {
        c->valid[r >> 3] &= (uint8_t) ~(1u << (r & 7));
        c->null_count++;
    }
    return c;
}
static inline void bronze_batch_put_null(bronze_batch *b)
{
    const bronze_field *f = &b->schema->fields[b->cur_col];
    bronze_column *c = bronze__put_col(b, false);
    size_t r = b->nrows;
    if (bronze_type_is_varlen(f->type))
        c->v.off[r + 1] = c->v.off[r];
    else
        memset((char *)c->v.raw + r * bronze_type_width(f->type), 0, bronze_type_width(f->type));
}
static inline void bronze_batch_put_bool(bronze_batch *b, bool v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.u8[b->nrows] = v ? 1 : 0;
}
/* INT16, INT32, DATE */
static inline void bronze_batch_put_i32(bronze_batch *b, int32_t v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.i32[b->nrows] = v;
}
/* INT64, TIMESTAMP, TIMESTAMPTZ, TIME */
static inline void bronze_batch_put_i64(bronze_batch *b, int64_t v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.i64[b->nrows] = v;
}
static inline void bronze_batch_put_f32(bronze_batch *b, float v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.f32[b->nrows] = v;
}
static inline void bronze_batch_put_f64(bronze_batch *b, double v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.f64[b->nrows] = v;
}
static inline void bronze_batch_put_dec(bronze_batch *b, __int128 v)
{
    bronze_column *c = bronze__put_col(b, true);
    c->v.i128[b->nrows] = v;
}
/* STRING, JSON, BYTES. Returns -1 on OOM (the row is then unusable: clear the batch). */
static inline int bronze_batch_put_bytes(bronze_batch *b, const void *p, size_t n)
{
    bronze_column *c = &b->cols[b->cur_col];
    if (c->data_len + n > c->data_cap && bronze_batch_grow_data(c, c->data_len + n))
        return -1;
    bronze__put_col(b, true);
    if (n) /* an empty value may come with data == NULL */
        bronze_copy(c->data + c->data_len, p, n);
    c->data_len += n;
    c->v.off[b->nrows + 1] = c->data_len;
    b->var_bytes += n;
    return 0;
}
static inline void bronze_batch_end_row(bronze_batch *b)
{
    b->nrows++;
    b->cur_col = 0;
}
/* Copies n validity bits from bit soff of src to bit doff of dst (bits of
 * dst outside [doff, doff+n) kept), eight at a time; returns how many of
 * them are 0 (nulls). */
size_t bronze_bits_copy(uint8_t *dst, size_t doff, const uint8_t *src, size_t soff, size_t n);
/* Drops a half-filled current row (e.g. after a conversion error). */
void bronze_batch_abort_row(bronze_batch *b);

#endif
