/* rowcopy.c - see rowcopy.h. */
#include "format/parquet/rowcopy.h"

#include <stdlib.h>
#include <string.h>

int bronze_pq_rows_init(bronze_pq_rows *r, const bronze_schema *schema)
{
    memset(r, 0, sizeof *r);
    r->b.schema = schema;
    r->b.cols = calloc(schema->ncols ? schema->ncols : 1, sizeof *r->b.cols);
    if (!r->b.cols)
        return -1;
    for (size_t i = 0; i < schema->ncols; i++)
        if (bronze_type_is_varlen(schema->fields[i].type) &&
            !(r->b.cols[i].v.off = calloc(1, sizeof(uint64_t))))
            return -1;
    return 0;
}

static int grow(bronze_pq_rows *r, size_t rows)
{
    if (rows <= r->b.cap)
        return 0;
    size_t cap = r->b.cap ? r->b.cap : 1024;
    while (cap < rows)
        cap *= 2;
    const bronze_schema *s = r->b.schema;
    for (size_t i = 0; i < s->ncols; i++) {
        bronze_column *c = &r->b.cols[i];
        uint8_t *v = realloc(c->valid, (cap + 7) / 8);
        if (!v)
            return -1;
        c->valid = v;
        bronze_type t = s->fields[i].type;
        size_t w = bronze_type_is_varlen(t) ? sizeof(uint64_t) : bronze_type_width(t);
        size_t slots = bronze_type_is_varlen(t) ? cap + 1 : cap;
        void *p = realloc(c->v.raw, slots * w);
        if (!p)
            return -1;
        c->v.raw = p;
    }
    r->b.cap = cap;
    return 0;
}

int bronze_pq_rows_append(bronze_pq_rows *r, const bronze_batch *src, size_t off, size_t n)
{
    if (!n)
        return 0;
    size_t at = r->b.nrows;
    if (grow(r, at + n))
        return -1;
    const bronze_schema *s = r->b.schema;
    for (size_t i = 0; i < s->ncols; i++) {
        bronze_column *d = &r->b.cols[i];
        const bronze_column *c = &src->cols[i];
        bronze_bits_copy(d->valid, at, c->valid, off, n);
        bronze_type t = s->fields[i].type;
        if (bronze_type_is_varlen(t)) {
            uint64_t base = c->v.off[off], len = c->v.off[off + n] - base, dbase = d->v.off[at];
            if (dbase + len > d->data_cap && bronze_batch_grow_data(d, (size_t)(dbase + len)))
                return -1;
            memcpy(d->data + dbase, c->data + base, (size_t)len);
            for (size_t j = 1; j <= n; j++)
                d->v.off[at + j] = dbase + (c->v.off[off + j] - base);
            d->data_len = (size_t)(dbase + len);
        } else {
            size_t w = bronze_type_width(t);
            memcpy((char *)d->v.raw + at * w, (const char *)c->v.raw + off * w, n * w);
        }
    }
    r->b.nrows = at + n;
    return 0;
}

void bronze_pq_rows_truncate(bronze_pq_rows *r, size_t n)
{
    if (n >= r->b.nrows)
        return;
    const bronze_schema *s = r->b.schema;
    for (size_t i = 0; i < s->ncols; i++)
        if (bronze_type_is_varlen(s->fields[i].type))
            r->b.cols[i].data_len = (size_t)r->b.cols[i].v.off[n];
    r->b.nrows = n;
}

size_t bronze_pq_rows_bytes(const bronze_pq_rows *r)
{
    size_t s = 0;
    const bronze_schema *sc = r->b.schema;
    for (size_t i = 0; i < sc->ncols; i++) {
        bronze_type t = sc->fields[i].type;
        s += bronze_type_is_varlen(t) ? r->b.cols[i].data_len + 8 * r->b.nrows
                                      : bronze_type_width(t) * r->b.nrows;
    }
    return s;
}

void bronze_pq_rows_free(bronze_pq_rows *r)
{
    if (!r->b.cols) {
        memset(r, 0, sizeof *r);
        return;
    }
    for (size_t i = 0; i < r->b.schema->ncols; i++) {
        free(r->b.cols[i].valid);
        free(r->b.cols[i].v.raw);
        free(r->b.cols[i].data);
    }
    free(r->b.cols);
    memset(r, 0, sizeof *r);
}
