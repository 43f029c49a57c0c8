/*
 * test_parquet_util.h - helpers shared by the Parquet unit tests and the
 * fixture writer: schema building, a roller-like loop that writes batches
 * through fit()/write() into numbered parts exactly as run/roller.c does, and
 * a Thrift compact decoder into a tree (tp_tnode) for reading footers, page
 * headers, page indexes and bloom filter headers back.
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

/* ---- Thrift compact, decoded into a tree ---- */

/* A struct's fields (id = field id) or a list's elements (id = index). */
typedef struct tp_tnode {
    int type, id, elem; /* elem: a list's element type */
    int64_t i;          /* integers; booleans 0/1 */
    double d;
    const uint8_t *b; /* binary */
    size_t blen;
    struct tp_tnode *kids;
    size_t nkids;
} tp_tnode;

typedef struct tp_trd {
    const uint8_t *p, *end;
    bool bad;
} tp_trd;

static inline uint64_t tp_trd_varint(tp_trd *r)
{
    uint64_t v = 0;
    for (int s = 0; s < 70; s += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static inline int64_t tp_trd_zz(tp_trd *r)
{
    uint64_t v = tp_trd_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline tp_tnode *tp_tkid(tp_tnode *n)
{
    tp_tnode *k = realloc(n->kids, (n->nkids + 1) * sizeof *k);
    if (!k)
        abort();
    n->kids = k;
    memset(&k[n->nkids], 0, sizeof *k);
    return &k[n->nkids++];
}

static inline void tp_tvalue(tp_trd *r, tp_tnode *n, int type, bool in_list);

static inline void tp_tstruct(tp_trd *r, tp_tnode *n)
{
    n->type = 12;
    int last = 0;
    while (!r->bad) {
        if (r->p >= r->end) {
            r->bad = true;
            return;
        }
        uint8_t h = *r->p++;
        if (!h)
            return;
        int type = h & 15, id = (h >> 4) ? last + (h >> 4) : (int)tp_trd_zz(r);
        last = id;
        tp_tnode *k = tp_tkid(n);
        k->id = id;
        tp_tvalue(r, k, type, false);
    }
}

static inline void tp_tvalue(tp_trd *r, tp_tnode *n, int type, bool in_list)
{
    n->type = type;
    switch (type) {
    case 1: /* true (field), or a list element byte */
    case 2:
        if (in_list)
            n->i = r->p < r->end && *r->p++ == 1;
        else
            n->i = type == 1;
        n->type = 1;
        break;
    case 3:
        n->i = r->p < r->end ? (int8_t)*r->p++ : (r->bad = true, 0);
        break;
    case 4:
    case 5:
    case 6:
        n->i = tp_trd_zz(r);
        break;
    case 7:
        if (r->end - r->p < 8) {
            r->bad = true;
            break;
        }
        memcpy(&n->d, r->p, 8);
        r->p += 8;
        break;
    case 8: {
        uint64_t len = tp_trd_varint(r);
        if (len > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            break;
        }
        n->b = r->p;
        n->blen = (size_t)len;
        r->p += len;
        break;
    }
    case 9:
    case 10: {
        uint8_t h = r->p < r->end ? *r->p++ : (r->bad = true, 0);
        size_t cnt = h >> 4;
        if (cnt == 15)
            cnt = (size_t)tp_trd_varint(r);
        n->elem = h & 15;
        for (size_t i = 0; i < cnt && !r->bad; i++) {
            tp_tnode *k = tp_tkid(n);
            k->id = (int)i;
            tp_tvalue(r, k, n->elem, true);
        }
        break;
    }
    case 12:
        tp_tstruct(r, n);
        break;
    default:
        r->bad = true;
    }
}

/* Decodes one struct at p; *used gets its length. NULL when malformed. */
static inline tp_tnode *tp_tparse(const uint8_t *p, size_t n, size_t *used)
{
    tp_trd r = {p, p + n, false};
    tp_tnode *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    tp_tstruct(&r, t);
    if (used)
        *used = (size_t)(r.p - p);
    if (r.bad) {
        free(t); /* leaks kids of a malformed tree: tests fail anyway */
        return NULL;
    }
    return t;
}

static inline void tp_tfree_kids(tp_tnode *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        tp_tfree_kids(&n->kids[i]);
    free(n->kids);
}

static inline void tp_tfree(tp_tnode *n)
{
    if (n) {
        tp_tfree_kids(n);
        free(n);
    }
}

/* Field `id` of a struct, or NULL. */
static inline const tp_tnode *tp_tget(const tp_tnode *n, int id)
{
    for (size_t i = 0; n && i < n->nkids; i++)
        if (n->kids[i].id == id)
            return &n->kids[i];
    return NULL;
}

static inline int64_t tp_ti(const tp_tnode *n, int id, int64_t def)
{
    const tp_tnode *k = tp_tget(n, id);
    return k ? k->i : def;
}

#endif
