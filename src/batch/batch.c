/* batch.c - schema and record batch storage (see batch.h for the value layout). */
#include "batch/batch.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const type_names[BRONZE_T__COUNT] = {
    "BOOLEAN", "INT16", "INT32", "INT64", "FLOAT",     "DOUBLE",      "DECIMAL",
    "STRING",  "JSON",  "BYTES", "DATE",  "TIMESTAMP", "TIMESTAMPTZ", "TIME",
};

const char *bronze_type_name(bronze_type t)
{
    return (unsigned)t < BRONZE_T__COUNT ? type_names[t] : "?";
}

bool bronze_type_is_varlen(bronze_type t)
{
    return t == BRONZE_T_STRING || t == BRONZE_T_JSON || t == BRONZE_T_BYTES;
}

size_t bronze_type_width(bronze_type t)
{
    switch (t) {
    case BRONZE_T_BOOL:
        return 1;
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_DATE:
    case BRONZE_T_FLOAT:
        return 4;
    case BRONZE_T_INT64:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
    case BRONZE_T_TIME:
    case BRONZE_T_DOUBLE:
        return 8;
    case BRONZE_T_DECIMAL:
        return 16;
    default:
        return 0;
    }
}

bronze_schema *bronze_schema_new(size_t n)
{
    bronze_schema *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fields = calloc(n ? n : 1, sizeof *s->fields);
    if (!s->fields) {
        free(s);
        return NULL;
    }
    s->ncols = n;
    return s;
}

int bronze_schema_set(bronze_schema *s, size_t i, const char *name, bronze_type type, int precision,
                      int scale, bool nullable)
{
    char *copy = strdup(name && *name ? name : "column");
    if (!copy)
        return -1;
    free(s->fields[i].name);
    free(s->fields[i].source_name);
    s->fields[i] = (bronze_field){copy, NULL, type, precision, scale, nullable};
    return 0;
}

bronze_schema *bronze_schema_clone(const bronze_schema *src)
{
    bronze_schema *s = bronze_schema_new(src->ncols);
    if (!s)
        return NULL;
    for (size_t i = 0; i < src->ncols; i++) {
        const bronze_field *f = &src->fields[i];
        if (bronze_schema_set(s, i, f->name, f->type, f->precision, f->scale, f->nullable) ||
            (f->source_name && !(s->fields[i].source_name = strdup(f->source_name)))) {
            bronze_schema_free(s);
            return NULL;
        }
    }
    return s;
}

void bronze_schema_free(bronze_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++) {
        free(s->fields[i].name);
        free(s->fields[i].source_name);
    }
    free(s->fields);
    free(s);
}

static bool name_taken(const bronze_schema *s, size_t upto, const char *name)
{
    for (size_t j = 0; j < upto; j++)
        if (!strcmp(s->fields[j].name, name))
            return true;
    return false;
}

size_t bronze_schema_dedupe_names(bronze_schema *s)
{
    size_t renamed = 0;
    for (size_t i = 1; i < s->ncols; i++) {
        if (!name_taken(s, i, s->fields[i].name))
            continue;
        size_t len = strlen(s->fields[i].name) + 24;
        char *nm = malloc(len);
        if (!nm)
            continue;
        for (int k = 2;; k++) {
            snprintf(nm, len, "%s_%d", s->fields[i].name, k);
            if (!name_taken(s, s->ncols, nm))
                break;
        }
        if (!s->fields[i].source_name)
            s->fields[i].source_name = s->fields[i].name; /* the marker names it */
        else
            free(s->fields[i].name);
        s->fields[i].name = nm;
        renamed++;
    }
    return renamed;
}

void bronze_field_type_text(const bronze_field *f, char *out, size_t cap)
{
    if (f->type == BRONZE_T_DECIMAL)
        snprintf(out, cap, "DECIMAL(%d,%d)", f->precision, f->scale);
    else
        snprintf(out, cap, "%s", bronze_type_name(f->type));
}

int bronze_batch_init(bronze_batch *b, const bronze_schema *schema, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->schema = schema;
    b->cap = cap ? cap : 1;
    /* Wide schemas get fewer rows, so a batch never holds more than
     * BRONZE_BATCH_MAX_CELLS values: memory does not grow rows x columns. */
    if (schema->ncols && b->cap > BRONZE_BATCH_MAX_CELLS / schema->ncols)
        b->cap =
            BRONZE_BATCH_MAX_CELLS / schema->ncols ? BRONZE_BATCH_MAX_CELLS / schema->ncols : 1;
    b->cols = calloc(schema->ncols ? schema->ncols : 1, sizeof *b->cols);
    if (!b->cols)
        return -1;
    for (size_t i = 0; i < schema->ncols; i++) {
        bronze_column *c = &b->cols[i];
        bronze_type t = schema->fields[i].type;
        c->valid = calloc((b->cap + 7) / 8, 1);
        if (bronze_type_is_varlen(t))
            c->v.off = calloc(b->cap + 1, sizeof *c->v.off);
        else
            c->v.raw = calloc(b->cap, bronze_type_width(t));
        if (!c->valid || !c->v.raw) {
            bronze_batch_free(b);
            return -1;
        }
    }
    return 0;
}

void bronze_batch_free(bronze_batch *b)
{
    if (!b->cols)
        return;
    for (size_t i = 0; i < b->schema->ncols; i++) {
        free(b->cols[i].valid);
        free(b->cols[i].v.raw);
        free(b->cols[i].data);
    }
    free(b->cols);
    memset(b, 0, sizeof *b);
}

void bronze_batch_clear(bronze_batch *b)
{
    for (size_t i = 0; i < b->schema->ncols; i++) {
        b->cols[i].data_len = 0;
        b->cols[i].null_count = 0;
    }
    b->nrows = 0;
    b->cur_col = 0;
    b->var_bytes = 0;
}

int bronze_batch_grow_data(bronze_column *c, size_t need)
{
    size_t cap = c->data_cap ? c->data_cap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(c->data, cap);
    if (!p)
        return -1;
    c->data = p;
    c->data_cap = cap;
    return 0;
}

void bronze_batch_abort_row(bronze_batch *b)
{
    size_t r = b->nrows;
    for (size_t i = 0; i < b->cur_col; i++) {
        bronze_column *c = &b->cols[i];
        if (!bronze_batch_is_valid(c, r))
            c->null_count--;
        if (bronze_type_is_varlen(b->schema->fields[i].type)) {
            b->var_bytes -= c->data_len - c->v.off[r];
            c->data_len = c->v.off[r];
        }
    }
    b->cur_col = 0;
}

/* Zero bits of a byte (a table: no popcount instruction is assumed). */
static const uint8_t ZEROS8[256] = {
#define Z1(v)                                                                                      \
    (8 - (((v)&1) + ((v) >> 1 & 1) + ((v) >> 2 & 1) + ((v) >> 3 & 1) + ((v) >> 4 & 1) +            \
          ((v) >> 5 & 1) + ((v) >> 6 & 1) + ((v) >> 7 & 1)))
#define Z4(v) Z1(v), Z1(v + 1), Z1(v + 2), Z1(v + 3)
#define Z16(v) Z4(v), Z4(v + 4), Z4(v + 8), Z4(v + 12)
#define Z64(v) Z16(v), Z16(v + 16), Z16(v + 32), Z16(v + 48)
    Z64(0), Z64(64), Z64(128), Z64(192)
#undef Z64
#undef Z16
#undef Z4
#undef Z1
};

size_t bronze_bits_copy(uint8_t *dst, size_t doff, const uint8_t *src, size_t soff, size_t n)
{
    size_t i = 0, zeros = 0;
    if (!(soff & 7) && !(doff & 7)) { /* byte-aligned: whole bytes, then the tail */
        const uint8_t *s = src + soff / 8;
        uint8_t *d = dst + doff / 8;
        size_t whole = n / 8;
        memcpy(d, s, whole);
        for (size_t k = 0; k < whole; k++)
            zeros += ZEROS8[s[k]];
        i = whole * 8;
    }
    for (; i + 8 <= n; i += 8) {
        size_t sb = soff + i, db = doff + i;
        unsigned ss = sb & 7, ds = db & 7;
        unsigned v = src[sb >> 3] >> ss;
        if (ss)
            v |= (unsigned)src[(sb >> 3) + 1] << (8 - ss); /* bits sb..sb+7 end in that byte */
        v &= 0xFF;
        zeros += ZEROS8[v];
        uint8_t *d = dst + (db >> 3);
        if (!ds) {
            d[0] = (uint8_t)v;
        } else {
            unsigned low = (1u << ds) - 1;
            d[0] = (uint8_t)((d[0] & low) | (v << ds));
            d[1] = (uint8_t)((d[1] & ~low) | (v >> (8 - ds)));
        }
    }
    for (; i < n; i++) {
        size_t d = doff + i, sb = soff + i;
        uint8_t bit = (uint8_t)(1u << (d & 7));
        if ((src[sb >> 3] >> (sb & 7)) & 1) {
            dst[d >> 3] |= bit;
        } else {
            dst[d >> 3] &= (uint8_t)~bit;
            zeros++;
        }
    }
    return zeros;
}
