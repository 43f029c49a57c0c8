/*
 * column_writer.c - pages, dictionary and statistics of one column chunk
 * (see column_writer.h for the encoding and dictionary policy).
 *
 * The add loops are specialised per value kind (bool, 4/8-byte, decimal,
 * byte array) and touch no allocator per value: buffers grow by doubling and
 * are kept across pages and row groups. Dictionary statistics are updated only
 * when an entry is inserted, since repeats cannot move min or max.
 */
#include "format/parquet/column_writer.h"

#include <stdlib.h>
#include <string.h>

#include "format/parquet/rle.h"

/* PLAIN is little-endian; values are copied as they sit in memory. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet writer assumes a little-endian host"
#endif

static int oom(bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
}

int bronze_pq_decimal_width(int precision)
{
    if (precision < 1)
        precision = 1;
    if (precision > 38)
        precision = 38;
    unsigned __int128 maxv = 1;
    for (int i = 0; i < precision; i++)
        maxv *= 10;
    maxv -= 1;
    for (int n = 1; n < 16; n++)
        if (maxv < ((unsigned __int128)1 << (8 * n - 1)))
            return n;
    return 16;
}

int bronze_pq_col_init(bronze_pq_col *c, const bronze_field *f, bronze_err *err)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    c->nullable = f->nullable;
    switch (f->type) {
    case BRONZE_T_BOOL:
        c->ptype = PQ_BOOLEAN;
        c->stat_width = 1;
        break;
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_DATE:
        c->ptype = PQ_INT32;
        c->width = c->stat_width = 4;
        c->dict_capable = true;
        break;
    case BRONZE_T_INT64:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
    case BRONZE_T_TIME:
        c->ptype = PQ_INT64;
        c->width = c->stat_width = 8;
        c->dict_capable = true;
        break;
    case BRONZE_T_FLOAT:
        c->ptype = PQ_FLOAT;
        c->width = c->stat_width = 4;
        c->dict_capable = true;
        break;
    case BRONZE_T_DOUBLE:
        c->ptype = PQ_DOUBLE;
        c->width = c->stat_width = 8;
        c->dict_capable = true;
        break;
    case BRONZE_T_DECIMAL: {
        if (f->precision < 1 || f->precision > 38 || f->scale < 0 || f->scale > f->precision)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "column %s: DECIMAL(%d,%d) cannot be written to Parquet", f->name,
                                  f->precision, f->scale);
        c->ptype = PQ_FLBA;
        c->width = c->stat_width = bronze_pq_decimal_width(f->precision);
        __int128 m = 1;
        for (int i = 0; i < f->precision; i++)
            m *= 10;
        c->dec_max = m - 1;
        break;
    }
    case BRONZE_T_STRING:
    case BRONZE_T_JSON:
    case BRONZE_T_BYTES:
        c->ptype = PQ_BYTE_ARRAY;
        c->stat_width = BRONZE_PQ_STAT_MAX;
        c->dict_capable = true;
        break;
    default:
        return bronze_err_set(err, BRONZE_E_RUNTIME, "column %s: type %d has no Parquet mapping",
                              f->name, (int)f->type);
    }
    if (c->nullable && !(c->levels = malloc(BRONZE_PQ_PAGE_ROWS)))
        return oom(err);
    if (c->dict_capable && !(c->idx = malloc(BRONZE_PQ_PAGE_ROWS * sizeof *c->idx)))
        return oom(err);
    c->dict_on = c->dict_capable;
    return 0;
}

void bronze_pq_col_free(bronze_pq_col *c)
{
    bronze_buf_free(&c->pages);
    bronze_buf_free(&c->dict);
    bronze_buf_free(&c->plain);
    bronze_buf_free(&c->smin);
    bronze_buf_free(&c->smax);
    free(c->dict_pos);
    free(c->dict_hash);
    free(c->slots);
    free(c->levels);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

static void dict_clear(bronze_pq_col *c)
{
    c->dict.len = 0;
    c->dict_n = 0;
    if (c->slots)
        memset(c->slots, 0, (size_t)c->nslots * sizeof *c->slots);
}

void bronze_pq_col_reset_chunk(bronze_pq_col *c)
{
    c->pages.len = 0;
    c->pages_uncomp = 0;
    c->n_dict_pages = c->n_plain_pages = 0;
    c->num_values = c->null_count = 0;
    dict_clear(c);
    c->dict_on = c->dict_capable;
    c->dict_decided = false;
    c->page_rows = c->page_vals = 0;
    c->plain.len = 0;
    c->page_plain = 0;
    c->has_val = c->has_nan = c->too_long = false;
    c->smin.len = c->smax.len = 0;
}

/* ---- statistics ---- */

static inline void stat_i(bronze_pq_col *c, int64_t v)
{
    if (!c->has_val) {
        c->mn.i = c->mx.i = v;
        c->has_val = true;
    } else if (v < c->mn.i) {
        c->mn.i = v;
    } else if (v > c->mx.i) {
        c->mx.i = v;
    }
}

static inline void stat_d(bronze_pq_col *c, double v)
{
    if (v != v) {
        c->has_nan = true;
        return;
    }
    if (!c->has_val) {
        c->mn.d = c->mx.d = v;
        c->has_val = true;
    } else if (v < c->mn.d) {
        c->mn.d = v;
    } else if (v > c->mx.d) {
        c->mx.d = v;
    }
}

static inline void stat_dec(bronze_pq_col *c, __int128 v)
{
    if (!c->has_val) {
        c->mn.dec = c->mx.dec = v;
        c->has_val = true;
    } else if (v < c->mn.dec) {
        c->mn.dec = v;
    } else if (v > c->mx.dec) {
        c->mx.dec = v;
    }
}

/* Unsigned bytewise order, a proper prefix first. */
static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return an < bn ? -1 : an > bn;
}

static int set_bytes(bronze_buf *dst, const void *p, size_t n)
{
    dst->len = 0;
    return bronze_buf_append(dst, p, n);
}

static int stat_bytes(bronze_pq_col *c, const void *p, size_t n)
{
    if (c->too_long)
        return 0;
    bool lo = !c->has_val || bytes_cmp(p, n, c->smin.data, c->smin.len) < 0;
    bool hi = !c->has_val || bytes_cmp(p, n, c->smax.data, c->smax.len) > 0;
    c->has_val = true;
    if ((lo || hi) && n > BRONZE_PQ_STAT_MAX) {
        c->too_long = true; /* min/max would not be kept; stop tracking */
        return 0;
    }
    if (lo && set_bytes(&c->smin, p, n))
        return -1;
    if (hi && set_bytes(&c->smax, p, n))
        return -1;
    return 0;
}

/* ---- dictionary ---- */

static inline uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x87c37b91114253d5ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n) /* an empty value may come with p == NULL */
        memcpy(&w, p, n);
    return hash64(h ^ w);
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint64_t fixed_key(const bronze_pq_col *c, uint32_t id)
{
    uint64_t k = 0;
    memcpy(&k, c->dict.data + (size_t)id * (size_t)c->width, (size_t)c->width);
    return k;
}

static uint32_t entry_hash(const bronze_pq_col *c, uint32_t id)
{
    return c->width ? hash64(fixed_key(c, id)) : c->dict_hash[id];
}

/* Doubles the slot table, re-inserting entries in id order (so the table is
 * the same as if built by sequential inserts). */
static int grow_slots(bronze_pq_col *c)
{
    uint32_t n = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (uint32_t id = 0; id < c->dict_n; id++) {
        uint32_t at = entry_hash(c, id) & (n - 1);
        while (s[at])
            at = (at + 1) & (n - 1);
        s[at] = id + 1;
    }
    free(c->slots);
    c->slots = s;
    c->nslots = n;
    return 0;
}

/* Looks key up; inserts it when new. Returns 0 found, 1 inserted, 2 the
 * dictionary is full, -1 OOM. */
static inline int dict_fixed(bronze_pq_col *c, size_t limit, uint64_t key, uint32_t *id)
{
    if ((c->dict_n + 1) * 2 > c->nslots && grow_slots(c))
        return -1;
    uint32_t mask = c->nslots - 1, at = hash64(key) & mask;
    for (;;) {
        uint32_t e = c->slots[at];
        if (!e)
            break;
        if (fixed_key(c, e - 1) == key) {
            *id = e - 1;
            return 0;
        }
        at = (at + 1) & mask;
    }
    if (c->dict.len + (size_t)c->width > limit)
        return 2;
    if (bronze_buf_append(&c->dict, &key, (size_t)c->width)) /* little-endian host */
        return -1;
    c->slots[at] = c->dict_n + 1;
    *id = c->dict_n++;
    return 1;
}

static inline int dict_bytes(bronze_pq_col *c, size_t limit, const uint8_t *p, size_t n,
                             uint32_t *id)
{
    if ((c->dict_n + 1) * 2 > c->nslots && grow_slots(c))
        return -1;
    uint32_t h = hash_bytes(p, n);
    uint32_t mask = c->nslots - 1, at = h & mask;
    for (;;) {
        uint32_t e = c->slots[at];
        if (!e)
            break;
        if (c->dict_hash[e - 1] == h) {
            const uint8_t *q = c->dict.data + c->dict_pos[e - 1];
            if (get_le32(q) == n && (!n || !memcmp(q + 4, p, n))) {
                *id = e - 1;
                return 0;
            }
        }
        at = (at + 1) & mask;
    }
    if (c->dict.len + 4 + n > limit)
        return 2;
    if (c->dict_n == c->dict_cap) {
        uint32_t cap = c->dict_cap ? c->dict_cap * 2 : 1024;
        uint32_t *pos = realloc(c->dict_pos, cap * sizeof *pos);
        if (!pos)
            return -1;
        c->dict_pos = pos;
        uint32_t *hs = realloc(c->dict_hash, cap * sizeof *hs);
        if (!hs)
            return -1;
        c->dict_hash = hs;
        c->dict_cap = cap;
    }
    if (bronze_buf_reserve(&c->dict, 4 + n))
        return -1;
    c->dict_pos[c->dict_n] = (uint32_t)c->dict.len;
    c->dict_hash[c->dict_n] = h;
    put_le32(c->dict.data + c->dict.len, (uint32_t)n);
    if (n)
        memcpy(c->dict.data + c->dict.len + 4, p, n);
    c->dict.len += 4 + n;
    c->slots[at] = c->dict_n + 1;
    *id = c->dict_n++;
    return 1;
}

/* The dictionary is full: close the open page (dictionary-encoded) and write
 * the rest of the chunk PLAIN. */
static int dict_fallback(bronze_pq_col *c, bronze_pq_ctx *x, bronze_err *err)
{
    if (bronze_pq_col_finish_page(c, x, err))
        return -1;
    c->dict_on = false;
    c->dict_decided = true;
    return 0;
}

/* ---- pages ---- */

static int dict_index_width(const bronze_pq_col *c)
{
    int bw = bronze_rle_bit_width(c->dict_n ? c->dict_n - 1 : 0);
    return bw < 1 ? 1 : bw;
}

/* The first dictionary page did not pay off: rewrite it PLAIN, drop the dictionary. */
static int page_to_plain(bronze_pq_col *c)
{
    c->plain.len = 0;
    for (size_t i = 0; i < c->page_vals; i++) {
        uint32_t id = c->idx[i];
        int rc;
        if (c->width) {
            rc = bronze_buf_append(&c->plain, c->dict.data + (size_t)id * (size_t)c->width,
                                   (size_t)c->width);
        } else {
            const uint8_t *q = c->dict.data + c->dict_pos[id];
            rc = bronze_buf_append(&c->plain, q, 4 + (size_t)get_le32(q));
        }
        if (rc)
            return -1;
    }
    dict_clear(c);
    c->dict_on = false;
    return 0;
}

static int compress_body(bronze_pq_ctx *x, const bronze_buf *body, const uint8_t **p, size_t *n,
                         bronze_err *err)
{
    if (x->codec == BRONZE_CODEC_NONE) {
        *p = body->data;
        *n = body->len;
        return 0;
    }
    x->comp.len = 0;
    if (bronze_pq_codec_compress(x->cz, body->data, body->len, &x->comp, err))
        return -1;
    *p = x->comp.data;
    *n = x->comp.len;
    return 0;
}

int bronze_pq_col_finish_page(bronze_pq_col *c, bronze_pq_ctx *x, bronze_err *err)
{
    if (!c->page_rows)
        return 0;
    bool use_dict = c->dict_on && c->page_vals > 0;
    if (use_dict && !c->dict_decided) {
        c->dict_decided = true;
        uint64_t cost = c->dict.len + (c->page_vals * (uint64_t)dict_index_width(c) + 7) / 8;
        if (cost >= c->page_plain) {
            if (page_to_plain(c))
                return oom(err);
            use_dict = false;
        }
    } else if (c->page_vals > 0) {
        c->dict_decided = true;
    }
    bronze_buf *body = &x->body;
    body->len = 0;
    if (c->nullable) {
        if (bronze_buf_reserve(body, 4))
            return oom(err);
        body->len = 4;
        if (bronze_rle_encode_u8(body, c->levels, c->page_rows, 1))
            return oom(err);
        put_le32(body->data, (uint32_t)(body->len - 4));
    }
    if (use_dict) {
        int bw = dict_index_width(c);
        if (bronze_buf_putc(body, (uint8_t)bw) ||
            bronze_rle_encode_u32(body, c->idx, c->page_vals, bw))
            return oom(err);
    } else if (bronze_buf_append(body, c->plain.data, c->plain.len)) {
        return oom(err);
    }
    if (body->len > (size_t)INT32_MAX - 1024)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "column %s: a Parquet page would exceed 2 GiB (value too large)",
                              c->f->name);
    const uint8_t *cp;
    size_t clen;
    if (compress_body(x, body, &cp, &clen, err))
        return bronze_err_prefix(err, "column %s", c->f->name);

    bronze_tc t;
    x->hdr.len = 0;
    bronze_tc_init(&t, &x->hdr);
    bronze_tc_field_i32(&t, 1, 0); /* DATA_PAGE */
    bronze_tc_field_i32(&t, 2, (int32_t)body->len);
    bronze_tc_field_i32(&t, 3, (int32_t)clen);
    bronze_tc_field_struct(&t, 5); /* DataPageHeader */
    bronze_tc_field_i32(&t, 1, (int32_t)c->page_rows);
    bronze_tc_field_i32(&t, 2, use_dict ? 8 : 0); /* RLE_DICTIONARY : PLAIN */
    bronze_tc_field_i32(&t, 3, 3);                /* definition levels: RLE */
    bronze_tc_field_i32(&t, 4, 3);                /* repetition levels: RLE */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    if (t.failed || bronze_buf_reserve(&c->pages, x->hdr.len + clen))
        return oom(err);
    bronze_buf_append(&c->pages, x->hdr.data, x->hdr.len);
    bronze_buf_append(&c->pages, cp, clen);
    c->pages_uncomp += x->hdr.len + body->len;
    if (use_dict)
        c->n_dict_pages++;
    else
        c->n_plain_pages++;
    c->num_values += c->page_rows;
    c->page_rows = c->page_vals = 0;
    c->plain.len = 0;
    c->page_plain = 0;
    return 0;
}

static inline bool page_full(const bronze_pq_col *c)
{
    if (c->page_rows >= BRONZE_PQ_PAGE_ROWS)
        return true;
    size_t bytes = c->dict_on ? c->page_vals * 4 : c->plain.len;
    return bytes >= BRONZE_PQ_PAGE_BYTES;
}

static int null_error(const bronze_pq_col *c, size_t row, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "column %s: NULL in batch row %zu of a column declared NOT NULL",
                          c->f->name, row);
}

/* The per-row frame shared by every value kind: VALUE handles a present
 * value (and may close the page through a dictionary fallback first). */
#define ROW_LOOP(VALUE)                                                                            \
    for (size_t r = off; r < off + n; r++) {                                                       \
        bool valid = bronze_batch_is_valid(bc, r);                                                 \
        if (valid) {                                                                               \
            VALUE                                                                                  \
        } else if (!c->nullable) {                                                                 \
            return null_error(c, r, err);                                                          \
        } else {                                                                                   \
            c->null_count++;                                                                       \
        }                                                                                          \
        if (c->nullable)                                                                           \
            c->levels[c->page_rows] = (uint8_t)valid;                                              \
        c->page_rows++;                                                                            \
        if (page_full(c) && bronze_pq_col_finish_page(c, x, err))                                  \
            return -1;                                                                             \
    }                                                                                              \
    return 0;

/* 4- and 8-byte values: dictionary first, PLAIN after a fallback. */
#define FIXED_VALUE(T, STAT)                                                                       \
    T v = vals[r];                                                                                 \
    if (c->dict_on) {                                                                              \
        uint64_t key = 0;                                                                          \
        memcpy(&key, &v, sizeof v);                                                                \
        uint32_t id;                                                                               \
        int st = dict_fixed(c, x->dict_limit, key, &id);                                           \
        if (st < 0)                                                                                \
            return oom(err);                                                                       \
        if (st == 2) {                                                                             \
            if (dict_fallback(c, x, err))                                                          \
                return -1;                                                                         \
        } else {                                                                                   \
            if (st == 1)                                                                           \
                STAT(c, v);                                                                        \
            c->idx[c->page_vals++] = id;                                                           \
        }                                                                                          \
    }                                                                                              \
    if (!c->dict_on) {                                                                             \
        if (bronze_buf_append(&c->plain, &v, sizeof v))                                            \
            return oom(err);                                                                       \
        STAT(c, v);                                                                                \
        c->page_vals++;                                                                            \
    }                                                                                              \
    c->page_plain += sizeof v;

static int add_i32(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const int32_t *vals = bc->v.i32;
    ROW_LOOP(FIXED_VALUE(int32_t, stat_i))
}

static int add_i64(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const int64_t *vals = bc->v.i64;
    ROW_LOOP(FIXED_VALUE(int64_t, stat_i))
}

static int add_f32(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const float *vals = bc->v.f32;
    ROW_LOOP(FIXED_VALUE(float, stat_d))
}

static int add_f64(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const double *vals = bc->v.f64;
    ROW_LOOP(FIXED_VALUE(double, stat_d))
}

static int add_bool(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                    size_t n, bronze_err *err)
{
    const uint8_t *vals = bc->v.u8;
    ROW_LOOP({
        uint8_t v = vals[r] ? 1 : 0;
        unsigned bit = (unsigned)(c->page_vals & 7);
        if (!bit && bronze_buf_putc(&c->plain, 0))
            return oom(err);
        c->plain.data[c->plain.len - 1] |= (uint8_t)(v << bit);
        c->page_vals++;
        stat_i(c, v);
    })
}

static int add_dec(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const __int128 *vals = bc->v.i128;
    const size_t w = (size_t)c->width;
    ROW_LOOP({
        __int128 v = vals[r];
        if (v > c->dec_max || v < -c->dec_max)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "column %s: batch row %zu holds a value with more than %d "
                                  "digits, beyond DECIMAL(%d,%d)",
                                  c->f->name, r, c->f->precision, c->f->precision, c->f->scale);
        if (bronze_buf_reserve(&c->plain, w))
            return oom(err);
        uint8_t *p = c->plain.data + c->plain.len;
        unsigned __int128 u = (unsigned __int128)v;
        for (size_t k = w; k-- > 0; u >>= 8)
            p[k] = (uint8_t)u;
        c->plain.len += w;
        c->page_vals++;
        c->page_plain += w;
        stat_dec(c, v);
    })
}

static int add_bytes(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                     size_t n, bronze_err *err)
{
    ROW_LOOP({
        size_t len;
        const uint8_t *p = (const uint8_t *)bronze_col_str(bc, r, &len);
        if (len > (size_t)INT32_MAX - 4096)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "column %s: batch row %zu holds a value of %zu bytes, more "
                                  "than Parquet allows",
                                  c->f->name, r, len);
        if (c->dict_on) {
            uint32_t id;
            int st = dict_bytes(c, x->dict_limit, p, len, &id);
            if (st < 0)
                return oom(err);
            if (st == 2) {
                if (dict_fallback(c, x, err))
                    return -1;
            } else {
                if (st == 1 && stat_bytes(c, p, len))
                    return oom(err);
                c->idx[c->page_vals++] = id;
            }
        }
        if (!c->dict_on) {
            if (bronze_buf_reserve(&c->plain, 4 + len))
                return oom(err);
            put_le32(c->plain.data + c->plain.len, (uint32_t)len);
            if (len)
                memcpy(c->plain.data + c->plain.len + 4, p, len);
            c->plain.len += 4 + len;
            if (stat_bytes(c, p, len))
                return oom(err);
            c->page_vals++;
        }
        c->page_plain += 4 + len;
    })
}

int bronze_pq_col_add(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                      size_t n, bronze_err *err)
{
    switch (c->ptype) {
    case PQ_BOOLEAN:
        return add_bool(c, x, bc, off, n, err);
    case PQ_INT32:
        return add_i32(c, x, bc, off, n, err);
    case PQ_INT64:
        return add_i64(c, x, bc, off, n, err);
    case PQ_FLOAT:
        return add_f32(c, x, bc, off, n, err);
    case PQ_DOUBLE:
        return add_f64(c, x, bc, off, n, err);
    case PQ_FLBA:
        return add_dec(c, x, bc, off, n, err);
    default:
        return add_bytes(c, x, bc, off, n, err);
    }
}

int bronze_pq_col_close_chunk(bronze_pq_col *c, bronze_pq_ctx *x, bronze_buf *dict_page,
                              uint64_t *dict_uncomp, bronze_err *err)
{
    if (bronze_pq_col_finish_page(c, x, err))
        return -1;
    dict_page->len = 0;
    *dict_uncomp = 0;
    if (!c->n_dict_pages)
        return 0;
    const uint8_t *cp;
    size_t clen;
    if (compress_body(x, &c->dict, &cp, &clen, err))
        return bronze_err_prefix(err, "column %s", c->f->name);
    bronze_tc t;
    bronze_tc_init(&t, dict_page);
    bronze_tc_field_i32(&t, 1, 2); /* DICTIONARY_PAGE */
    bronze_tc_field_i32(&t, 2, (int32_t)c->dict.len);
    bronze_tc_field_i32(&t, 3, (int32_t)clen);
    bronze_tc_field_struct(&t, 7); /* DictionaryPageHeader */
    bronze_tc_field_i32(&t, 1, (int32_t)c->dict_n);
    bronze_tc_field_i32(&t, 2, 0); /* PLAIN */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    size_t hlen = dict_page->len;
    bronze_tc_raw(&t, cp, clen);
    if (t.failed)
        return oom(err);
    *dict_uncomp = hlen + c->dict.len;
    return 0;
}

/* ---- footer metadata ---- */

static bool legacy_stats(const bronze_pq_col *c)
{
    /* the deprecated min/max are defined by signed comparison: only the
     * signed-order types (ints, dates, times, floats), as Arrow does */
    return c->ptype == PQ_INT32 || c->ptype == PQ_INT64 || c->ptype == PQ_FLOAT ||
           c->ptype == PQ_DOUBLE;
}

/* PLAIN form of min (is_max false) or max into buf; returns its length. */
static size_t stat_value(const bronze_pq_col *c, bool is_max, uint8_t *buf, const uint8_t **out)
{
    *out = buf;
    switch (c->ptype) {
    case PQ_BOOLEAN:
        buf[0] = (uint8_t)(is_max ? c->mx.i : c->mn.i);
        return 1;
    case PQ_INT32: {
        int32_t v = (int32_t)(is_max ? c->mx.i : c->mn.i);
        memcpy(buf, &v, 4);
        return 4;
    }
    case PQ_INT64: {
        int64_t v = is_max ? c->mx.i : c->mn.i;
        memcpy(buf, &v, 8);
        return 8;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE: {
        double v = is_max ? c->mx.d : c->mn.d;
        if (v == 0) /* -0.0 and +0.0 compare equal: widen to both */
            v = is_max ? 0.0 : -0.0;
        if (c->ptype == PQ_FLOAT) {
            float f = (float)v;
            memcpy(buf, &f, 4);
            return 4;
        }
        memcpy(buf, &v, 8);
        return 8;
    }
    case PQ_FLBA: {
        unsigned __int128 u = (unsigned __int128)(is_max ? c->mx.dec : c->mn.dec);
        for (int k = c->width; k-- > 0; u >>= 8)
            buf[k] = (uint8_t)u;
        return (size_t)c->width;
    }
    default: {
        const bronze_buf *b = is_max ? &c->smax : &c->smin;
        *out = b->data;
        return b->len;
    }
    }
}

void bronze_pq_col_meta(const bronze_pq_col *c, bronze_tc *t, bronze_codec codec, uint64_t start,
                        uint64_t dict_len, uint64_t dict_uncomp)
{
    bronze_tc_elem_struct(t); /* ColumnChunk */
    bronze_tc_field_i64(t, 2, 0);
    bronze_tc_field_struct(t, 3); /* ColumnMetaData */
    bronze_tc_field_i32(t, 1, c->ptype);
    bool plain = c->n_plain_pages || c->n_dict_pages; /* the dictionary page is PLAIN */
    size_t nenc = 1 + (plain ? 1 : 0) + (c->n_dict_pages ? 1 : 0);
    bronze_tc_field_list(t, 2, BRONZE_TC_I32, nenc);
    if (plain)
        bronze_tc_elem_i32(t, 0);
    bronze_tc_elem_i32(t, 3); /* RLE: levels */
    if (c->n_dict_pages)
        bronze_tc_elem_i32(t, 8);
    bronze_tc_field_list(t, 3, BRONZE_TC_BINARY, 1);
    bronze_tc_elem_binary(t, c->f->name, strlen(c->f->name));
    bronze_tc_field_i32(t, 4, bronze_pq_codec_thrift_id(codec));
    bronze_tc_field_i64(t, 5, (int64_t)c->num_values);
    bronze_tc_field_i64(t, 6, (int64_t)(c->pages_uncomp + dict_uncomp));
    bronze_tc_field_i64(t, 7, (int64_t)(c->pages.len + dict_len));
    bronze_tc_field_i64(t, 9, (int64_t)(start + dict_len));
    if (dict_len)
        bronze_tc_field_i64(t, 11, (int64_t)start);

    bronze_tc_field_struct(t, 12); /* Statistics */
    bool minmax = c->has_val && !c->has_nan && !c->too_long;
    uint8_t bmin[16], bmax[16];
    const uint8_t *pmin = NULL, *pmax = NULL;
    size_t lmin = 0, lmax = 0;
    if (minmax) {
        lmin = stat_value(c, false, bmin, &pmin);
        lmax = stat_value(c, true, bmax, &pmax);
    }
    if (minmax && legacy_stats(c)) {
        bronze_tc_field_binary(t, 1, pmax, lmax);
        bronze_tc_field_binary(t, 2, pmin, lmin);
    }
    bronze_tc_field_i64(t, 3, (int64_t)c->null_count);
    if (minmax) {
        bronze_tc_field_binary(t, 5, pmax, lmax);
        bronze_tc_field_binary(t, 6, pmin, lmin);
        bronze_tc_field_bool(t, 7, true);
        bronze_tc_field_bool(t, 8, true);
    }
    bronze_tc_struct_end(t);

    size_t nstats = (c->n_dict_pages ? 2 : 0) + (c->n_plain_pages ? 1 : 0);
    bronze_tc_field_list(t, 13, BRONZE_TC_STRUCT, nstats); /* PageEncodingStats */
    if (c->n_dict_pages) {
        bronze_tc_elem_struct(t);
        bronze_tc_field_i32(t, 1, 2); /* DICTIONARY_PAGE */
        bronze_tc_field_i32(t, 2, 0);
        bronze_tc_field_i32(t, 3, 1);
        bronze_tc_struct_end(t);
        bronze_tc_elem_struct(t);
        bronze_tc_field_i32(t, 1, 0);
        bronze_tc_field_i32(t, 2, 8);
        bronze_tc_field_i32(t, 3, (int32_t)c->n_dict_pages);
        bronze_tc_struct_end(t);
    }
    if (c->n_plain_pages) {
        bronze_tc_elem_struct(t);
        bronze_tc_field_i32(t, 1, 0);
        bronze_tc_field_i32(t, 2, 0);
        bronze_tc_field_i32(t, 3, (int32_t)c->n_plain_pages);
        bronze_tc_struct_end(t);
    }
    bronze_tc_struct_end(t); /* ColumnMetaData */
    bronze_tc_struct_end(t); /* ColumnChunk */
}

/* ---- size accounting ---- */

uint64_t bronze_pq_col_bound(const bronze_pq_col *c, bronze_codec codec, int bw)
{
    uint64_t b = c->pages.len;
    if (c->page_rows) {
        uint64_t raw = 0;
        if (c->nullable)
            raw += 4 + bronze_rle_bound(c->page_rows, 1);
        if (c->dict_on && c->page_vals) {
            int cur = dict_index_width(c);
            raw += 1 + bronze_rle_bound(c->page_vals, bw > cur ? bw : cur);
        } else {
            raw += c->plain.len;
        }
        b += BRONZE_PQ_HDR_MAX + bronze_pq_codec_bound(codec, raw);
    }
    if (c->dict.len)
        b += BRONZE_PQ_HDR_MAX + bronze_pq_codec_bound(codec, c->dict.len);
    return b;
}

uint64_t bronze_pq_col_mem(const bronze_pq_col *c)
{
    uint64_t m = c->pages.len + c->dict.len;
    if (c->nullable)
        m += c->page_rows;
    m += c->dict_on ? 4 * (uint64_t)c->page_vals : c->plain.len;
    return m;
}

uint64_t bronze_pq_col_meta_bound(const bronze_pq_col *c)
{
    /* fixed fields and headers < 130 bytes; the path; the min/max values
     * (current, and legacy ones for signed types) each with a header and a
     * length varint */
    return 200 + strlen(c->f->name) + (legacy_stats(c) ? 4 : 2) * (6 + (uint64_t)c->stat_width);
}
