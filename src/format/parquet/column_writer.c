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

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "format/parquet/rle.h"
#include "util/copy.h"

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
    free(c->pg);
    free(c->bloom);
    free(c->stamp);
    free(c->dict_pos);
    free(c->dict_hash);
    free(c->slots);
    free(c->levels);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

static void stat_clear(bronze_pq_stat *s);

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
    c->npg = 0;
    c->npending = 0;
    c->pending_rows = 0;
    c->peak_mem = 0;
    stat_clear(&c->cs);
    stat_clear(&c->ps);
    if (c->bloom)
        memset(c->bloom, 0, c->bloom_cap);
}

/* ---- statistics ---- */

static inline void stat_i(bronze_pq_stat *s, int64_t v)
{
    if (!s->has_val) {
        s->mn.i = s->mx.i = v;
        s->has_val = true;
    } else if (v < s->mn.i) {
        s->mn.i = v;
    } else if (v > s->mx.i) {
        s->mx.i = v;
    }
}

static inline void stat_d(bronze_pq_stat *s, double v)
{
    if (v != v) {
        s->nans++;
        return;
    }
    if (!s->has_val) {
        s->mn.d = s->mx.d = v;
        s->has_val = true;
    } else if (v < s->mn.d) {
        s->mn.d = v;
    } else if (v > s->mx.d) {
        s->mx.d = v;
    }
}

static inline void stat_dec(bronze_pq_stat *s, __int128 v)
{
    if (!s->has_val) {
        s->mn.dec = s->mx.dec = v;
        s->has_val = true;
    } else if (v < s->mn.dec) {
        s->mn.dec = v;
    } else if (v > s->mx.dec) {
        s->mx.dec = v;
    }
}

/* memcmp's sign for m bytes, a word at a time: the short values of a text
 * column (often sharing a prefix, "customer 1", "customer 2") cost a
 * library call each otherwise. */
static inline int cmp_prefix(const uint8_t *a, const uint8_t *b, size_t m)
{
    for (; m >= 8; a += 8, b += 8, m -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
#endif
            return x < y ? -1 : 1;
        }
    }
    for (; m; a++, b++, m--)
        if (*a != *b)
            return *a < *b ? -1 : 1;
    return 0;
}

/* Folds a candidate extreme into a byte-array tracker (sp, *sl, *st): p holds
 * the first n <= BRONZE_PQ_TRUNC bytes of the candidate, trunc says it is
 * longer. Unsigned bytewise order, a proper prefix first. Where only the
 * stored prefixes are known and they are equal, the outcome is the same
 * truncated value either way; only exactness is decided. */
static inline void fold_bytes(uint8_t *sp, uint8_t *sl, bool *st, bool has, bool is_max,
                              const uint8_t *p, size_t n, bool trunc)
{
    bool take;
    if (!has) {
        take = true;
    } else {
        size_t m = n < *sl ? n : *sl;
        int r = cmp_prefix(p, sp, m);
        if (r)
            take = is_max ? r > 0 : r < 0;
        else if (n != *sl)
            take = is_max ? n > *sl : n < *sl;
        else
            take = is_max ? trunc && !*st : !trunc && *st;
    }
    if (take) {
        if (n)
            memcpy(sp, p, n);
        *sl = (uint8_t)n;
        *st = trunc;
    }
}

static inline void stat_bytes(bronze_pq_stat *s, const uint8_t *p, size_t n)
{
    bool trunc = n > BRONZE_PQ_TRUNC;
    if (trunc)
        n = BRONZE_PQ_TRUNC;
    fold_bytes(s->smin, &s->lmin, &s->tmin, s->has_val, false, p, n, trunc);
    fold_bytes(s->smax, &s->lmax, &s->tmax, s->has_val, true, p, n, trunc);
    s->has_val = true;
}

/* Folds page statistics into the chunk's. */
static void stat_merge(const bronze_pq_col *c, bronze_pq_stat *d, const bronze_pq_stat *s)
{
    d->nans += s->nans;
    if (!s->has_val)
        return;
    if (!d->has_val) {
        uint64_t nans = d->nans;
        *d = *s;
        d->nans = nans;
        return;
    }
    switch (c->ptype) {
    case PQ_FLOAT:
    case PQ_DOUBLE:
        if (s->mn.d < d->mn.d)
            d->mn.d = s->mn.d;
        if (s->mx.d > d->mx.d)
            d->mx.d = s->mx.d;
        break;
    case PQ_FLBA:
        if (s->mn.dec < d->mn.dec)
            d->mn.dec = s->mn.dec;
        if (s->mx.dec > d->mx.dec)
            d->mx.dec = s->mx.dec;
        break;
    case PQ_BYTE_ARRAY:
        fold_bytes(d->smin, &d->lmin, &d->tmin, true, false, s->smin, s->lmin, s->tmin);
        fold_bytes(d->smax, &d->lmax, &d->tmax, true, true, s->smax, s->lmax, s->tmax);
        break;
    default:
        if (s->mn.i < d->mn.i)
            d->mn.i = s->mn.i;
        if (s->mx.i > d->mx.i)
            d->mx.i = s->mx.i;
        break;
    }
}

static void stat_clear(bronze_pq_stat *s)
{
    s->has_val = s->tmin = s->tmax = false;
    s->lmin = s->lmax = 0;
    s->nans = 0;
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

/* The tail (n % 8 bytes) is read with at most two overlapping loads, never
 * byte by byte: bytes stored one at a time and read back as a word stall on
 * store forwarding (6% of the encoder's cycles on a 10-column CSV). */
static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
    size_t left = n;
    while (left >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x87c37b91114253d5ULL;
        h ^= h >> 31;
        p += 8;
        left -= 8;
    }
    uint64_t w = 0;
    if (left && n >= 8) { /* the last 8 bytes, overlapping the words above */
        memcpy(&w, p + left - 8, 8);
    } else if (left >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + left - 4, 4);
        w = (uint64_t)a << 32 | b;
    } else if (left) { /* an empty value may come with p == NULL */
        w = (uint64_t)p[0] | (uint64_t)p[left / 2] << 8 | (uint64_t)p[left - 1] << 16;
    }
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

/* Dictionary-capable fixed values are 4 or 8 bytes; constant-size loads
 * (a memcpy of c->width bytes was a library call per probe). */
static inline uint64_t fixed_key(const bronze_pq_col *c, uint32_t id)
{
    const uint8_t *p = c->dict.data + (size_t)id * (size_t)c->width;
    if (c->width == 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        return k;
    }
    uint32_t k;
    memcpy(&k, p, 4);
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
            if (get_le32(q) == n && !cmp_prefix(q + 4, p, n)) {
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
        uint32_t *st = realloc(c->stamp, cap * sizeof *st);
        if (!st)
            return -1;
        c->stamp = st;
        c->dict_cap = cap;
    }
    if (bronze_buf_reserve(&c->dict, 4 + n))
        return -1;
    c->dict_pos[c->dict_n] = (uint32_t)c->dict.len;
    c->dict_hash[c->dict_n] = h;
    c->stamp[c->dict_n] = 0;
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

/* ---- bloom filter (BloomFilter.md: split block, xxHash64 seed 0) ---- */

static const uint32_t SALT[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

static inline uint8_t *bloom_block(uint8_t *bits, size_t n, uint64_t h)
{
    uint64_t z = n / 32;
    return bits + (size_t)(((h >> 32) * z) >> 32) * 32;
}

static inline void bloom_insert(uint8_t *bits, size_t n, uint64_t h)
{
    uint8_t *b = bloom_block(bits, n, h);
    uint32_t x = (uint32_t)h;
    for (int i = 0; i < 8; i++) {
        uint32_t w;
        memcpy(&w, b + 4 * i, 4);
        w |= 1u << ((x * SALT[i]) >> 27);
        memcpy(b + 4 * i, &w, 4);
    }
}

bool bronze_pq_bloom_check(const uint8_t *bits, size_t n, uint64_t h)
{
    const uint8_t *b = bloom_block((uint8_t *)bits, n, h);
    uint32_t x = (uint32_t)h;
    for (int i = 0; i < 8; i++) {
        uint32_t w;
        memcpy(&w, b + 4 * i, 4);
        if (!(w & (1u << ((x * SALT[i]) >> 27))))
            return false;
    }
    return true;
}

/* The value's PLAIN bytes (byte arrays without their length) into the filter. */
static inline void bloom_add(bronze_pq_col *c, const void *p, size_t n)
{
    bloom_insert(c->bloom, c->bloom_cap, XXH64(p, n, 0));
}

/* False-positive rate of a split-block filter holding `per_block` values per
 * 256-bit block on average: the block loads are Poisson; a value not inserted
 * passes when its 8 bits (one per word) are all set. */
static double bloom_fpp(double per_block)
{
    double p = exp(-per_block), sum = 0;
    double miss = 1; /* (31/32)^k: one word's bit still unset after k inserts */
    size_t kmax = (size_t)(per_block + 20 * sqrt(per_block) + 50);
    for (size_t k = 0; k <= kmax; k++) {
        if (k) {
            p *= per_block / (double)k;
            miss *= 31.0 / 32.0;
        }
        sum += p * pow(1 - miss, 8);
    }
    return sum;
}

double bronze_pq_bloom_bits_per_value(double fpp)
{
    double lo = 1, hi = 256;
    for (int i = 0; i < 60; i++) {
        double mid = (lo + hi) / 2;
        if (bloom_fpp(256 / mid) <= fpp)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

int bronze_pq_col_bloom_init(bronze_pq_col *c, double fpp, size_t cap, bronze_err *err)
{
    if (c->ptype == PQ_BOOLEAN)
        return 0; /* two values: the statistics say it all */
    if (cap < BRONZE_PQ_BLOOM_MIN)
        cap = BRONZE_PQ_BLOOM_MIN;
    /* cache-line aligned: a 32-byte block never straddles two lines */
    if (!(c->bloom = aligned_alloc(64, cap)))
        return oom(err);
    memset(c->bloom, 0, cap);
    c->bloom_cap = cap;
    c->bloom_bpv = bronze_pq_bloom_bits_per_value(fpp);
    return 0;
}

uint64_t bronze_pq_col_ndv(const bronze_pq_col *c)
{
    if (c->dict_on)
        return c->dict_n; /* every value of the chunk went through the dictionary */
    return c->num_values + c->pending_rows + c->page_rows - c->null_count;
}

uint64_t bronze_pq_col_bloom_bytes(const bronze_pq_col *c, uint64_t ndv)
{
    double want = ceil((double)ndv * c->bloom_bpv / 8);
    uint64_t n = BRONZE_PQ_BLOOM_MIN;
    while (n < c->bloom_cap && (double)n < want)
        n *= 2;
    return n;
}

int bronze_pq_col_bloom(bronze_pq_col *c, bronze_buf *out)
{
    if (!c->bloom)
        return 0;
    size_t n = (size_t)bronze_pq_col_bloom_bytes(c, bronze_pq_col_ndv(c));
    size_t m = c->bloom_cap / n; /* powers of two: folding by m is exact */
    for (size_t j = 0; j < n / 32; j++) {
        uint8_t acc[32] = {0};
        for (size_t k = 0; k < m; k++) {
            const uint8_t *src = c->bloom + (j * m + k) * 32;
            for (int i = 0; i < 32; i++)
                acc[i] |= src[i];
        }
        memcpy(c->bloom + j * 32, acc, 32);
    }
    bronze_tc t;
    bronze_tc_init(&t, out);
    bronze_tc_field_i32(&t, 1, (int32_t)n);
    bronze_tc_field_struct(&t, 2); /* BloomFilterAlgorithm */
    bronze_tc_field_struct(&t, 1); /* BLOCK */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    bronze_tc_field_struct(&t, 3); /* BloomFilterHash */
    bronze_tc_field_struct(&t, 1); /* XXHASH */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    bronze_tc_field_struct(&t, 4); /* BloomFilterCompression */
    bronze_tc_field_struct(&t, 1); /* UNCOMPRESSED */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    bronze_tc_raw(&t, c->bloom, n);
    memset(c->bloom, 0, c->bloom_cap);
    return t.failed ? -1 : 0;
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

/* Statistics of the open page from its dictionary indices (dictionary mode
 * keeps none per value). Byte arrays compare each entry once per page. */
static void page_stats_from_dict(bronze_pq_col *c)
{
    bronze_pq_stat *st = &c->ps;
    const uint8_t *d = c->dict.data;
    const uint32_t *ix = c->idx;
    size_t n = c->page_vals;
    switch (c->ptype) {
    case PQ_INT32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, d + 4 * (size_t)ix[i], 4);
            stat_i(st, v);
        }
        break;
    case PQ_INT64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, d + 8 * (size_t)ix[i], 8);
            stat_i(st, v);
        }
        break;
    case PQ_FLOAT:
        for (size_t i = 0; i < n; i++) {
            float v;
            memcpy(&v, d + 4 * (size_t)ix[i], 4);
            stat_d(st, v);
        }
        break;
    case PQ_DOUBLE:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, d + 8 * (size_t)ix[i], 8);
            stat_d(st, v);
        }
        break;
    default: {
        uint32_t gen = ++c->stamp_gen;
        if (!gen) { /* wrapped: forget every stamp */
            memset(c->stamp, 0, (size_t)c->dict_cap * sizeof *c->stamp);
            gen = c->stamp_gen = 1;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t id = ix[i];
            if (c->stamp[id] == gen)
                continue;
            c->stamp[id] = gen;
            const uint8_t *q = d + c->dict_pos[id];
            stat_bytes(st, q + 4, get_le32(q));
        }
        break;
    }
    }
}

static bool stat_out(const bronze_pq_col *c, const bronze_pq_stat *s, bool is_max, uint8_t *buf,
                     uint8_t *len, bool *exact);

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

/* Serializes one data page of `rows` rows, `vals` of them non-null: levels,
 * then dictionary indices (use_dict: c->idx) or the PLAIN bytes in `plain`;
 * records it for the page index with statistics `ps`. */
static int emit_page(bronze_pq_col *c, bronze_pq_ctx *x, const uint8_t *levels, size_t rows,
                     size_t vals, bool use_dict, const bronze_buf *plain, const bronze_pq_stat *ps,
                     bronze_err *err)
{
    if (c->npg == c->pg_cap) {
        size_t cap = c->pg_cap ? c->pg_cap * 2 : 16;
        bronze_pq_page *pg = realloc(c->pg, cap * sizeof *pg);
        if (!pg)
            return oom(err);
        c->pg = pg;
        c->pg_cap = cap;
    }
    bronze_buf *body = &x->body;
    body->len = 0;
    if (c->nullable) {
        if (bronze_buf_reserve(body, 4))
            return oom(err);
        body->len = 4;
        if (bronze_rle_encode_u8(body, levels, rows, 1))
            return oom(err);
        put_le32(body->data, (uint32_t)(body->len - 4));
    }
    if (use_dict) {
        int bw = dict_index_width(c);
        if (bronze_buf_putc(body, (uint8_t)bw) || bronze_rle_encode_u32(body, c->idx, vals, bw))
            return oom(err);
    }
    /* the PLAIN values follow the levels: compressed where they lie, or
     * appended to them when the page is stored uncompressed */
    const bronze_buf *tail = use_dict ? NULL : plain;
    size_t ulen = body->len + (tail ? tail->len : 0);
    if (ulen > (size_t)INT32_MAX - 1024)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "column %s: a Parquet page would exceed 2 GiB (value too large)",
                              c->f->name);
    const uint8_t *cp = NULL;
    size_t clen = 0;
    int crc;
    if (x->codec == BRONZE_CODEC_NONE || !tail) {
        if (tail && tail->len && bronze_buf_append(body, tail->data, tail->len))
            return oom(err);
        crc = compress_body(x, body, &cp, &clen, err);
    } else {
        x->comp.len = 0;
        crc = bronze_pq_codec_compress_pair(x->cz, body, tail->data, tail->len, &x->comp, err);
        cp = x->comp.data;
        clen = x->comp.len;
    }
    if (crc)
        return bronze_err_prefix(err, "column %s", c->f->name);

    bronze_tc t;
    x->hdr.len = 0;
    bronze_tc_init(&t, &x->hdr);
    bronze_tc_field_i32(&t, 1, 0); /* DATA_PAGE */
    bronze_tc_field_i32(&t, 2, (int32_t)ulen);
    bronze_tc_field_i32(&t, 3, (int32_t)clen);
    bronze_tc_field_struct(&t, 5); /* DataPageHeader */
    bronze_tc_field_i32(&t, 1, (int32_t)rows);
    bronze_tc_field_i32(&t, 2, use_dict ? 8 : 0); /* RLE_DICTIONARY : PLAIN */
    bronze_tc_field_i32(&t, 3, 3);                /* definition levels: RLE */
    bronze_tc_field_i32(&t, 4, 3);                /* repetition levels: RLE */
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    if (t.failed || bronze_buf_reserve(&c->pages, x->hdr.len + clen))
        return oom(err);
    bronze_pq_page *pe = &c->pg[c->npg++];
    pe->off = c->pages.len;
    pe->size = (uint32_t)(x->hdr.len + clen);
    pe->first_row = c->num_values;
    pe->nulls = rows - vals;
    pe->nans = ps->nans;
    pe->null_page = vals == 0;
    pe->nan_page = vals > 0 && !ps->has_val;
    bool exact;
    pe->has_minmax = ps->has_val && stat_out(c, ps, false, pe->min, &pe->lmin, &exact) &&
                     stat_out(c, ps, true, pe->max, &pe->lmax, &exact);
    stat_merge(c, &c->cs, ps);
    bronze_buf_append(&c->pages, x->hdr.data, x->hdr.len);
    bronze_buf_append(&c->pages, cp, clen);
    c->pages_uncomp += x->hdr.len + ulen;
    if (use_dict)
        c->n_dict_pages++;
    else
        c->n_plain_pages++;
    c->num_values += rows;
    return 0;
}

static const uint8_t ZEROS[BRONZE_PQ_PAGE_ROWS];

/* Writes the held-back pages of NULLs, in dictionary encoding or PLAIN as
 * the chunk's first page of values turned out. */
static int flush_pending(bronze_pq_col *c, bronze_pq_ctx *x, bool use_dict, bronze_err *err)
{
    static const bronze_buf none = BRONZE_BUF_INIT;
    bronze_pq_stat empty;
    memset(&empty, 0, sizeof empty);
    for (uint32_t i = 0; i < c->npending; i++)
        if (emit_page(c, x, ZEROS, c->pending[i], 0, use_dict, &none, &empty, err))
            return -1;
    c->npending = 0;
    c->pending_rows = 0;
    return 0;
}

int bronze_pq_col_finish_page(bronze_pq_col *c, bronze_pq_ctx *x, bronze_err *err)
{
    uint64_t mem = bronze_pq_col_mem(c);
    if (mem > c->peak_mem)
        c->peak_mem = mem;
    if (!c->page_rows)
        return 0;
    if (c->dict_on && c->page_vals)
        page_stats_from_dict(c);
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
    /* NULLs only, while the chunk's dictionary is in use: RLE_DICTIONARY too,
     * so that every data page of the chunk is dictionary-encoded. Before the
     * chunk's first value the choice is not known yet: hold the page back
     * (its rows are all it has) until a page of values or the chunk's end. */
    if (!c->page_vals && c->dict_on) {
        if (c->n_dict_pages) {
            use_dict = true;
        } else if (c->npending < BRONZE_PQ_PENDING_MAX) {
            c->pending[c->npending++] = (uint32_t)c->page_rows;
            c->pending_rows += c->page_rows;
            c->page_rows = 0;
            stat_clear(&c->ps);
            return 0;
        }
    }
    if (c->npending && flush_pending(c, x, use_dict, err))
        return -1;
    if (emit_page(c, x, c->levels, c->page_rows, c->page_vals, use_dict, &c->plain, &c->ps, err))
        return -1;
    stat_clear(&c->ps);
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

/* Row r's bookkeeping, its level at slot `at` of the open page: a row
 * without a value is counted, or an error in a NOT NULL column. */
static inline int row_frame(bronze_pq_col *c, size_t at, size_t r, bool valid, bronze_err *err)
{
    if (!valid) {
        if (!c->nullable)
            return null_error(c, r, err);
        c->null_count++;
    }
    if (c->nullable)
        c->levels[at] = (uint8_t)valid;
    return 0;
}

/* The per-row frame shared by every value kind: VALUE handles a present
 * value (and may close the page through a dictionary fallback first). */
#define ROW_LOOP(VALUE)                                                                            \
    for (size_t r = off; r < off + n; r++) {                                                       \
        bool valid = bronze_batch_is_valid(bc, r);                                                 \
        if (valid) {                                                                               \
            VALUE                                                                                  \
        }                                                                                          \
        if (row_frame(c, c->page_rows, r, valid, err))                                             \
            return -1;                                                                             \
        c->page_rows++;                                                                            \
        if (page_full(c) && bronze_pq_col_finish_page(c, x, err))                                  \
            return -1;                                                                             \
    }                                                                                              \
    return 0;

/* 4- and 8-byte values: dictionary first, PLAIN after a fallback. In
 * dictionary mode only a new entry reaches the bloom filter, and statistics
 * wait for the page to close. */
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
            if (st == 1 && c->bloom)                                                               \
                bloom_add(c, &v, sizeof v);                                                        \
            c->idx[c->page_vals++] = id;                                                           \
        }                                                                                          \
    }                                                                                              \
    if (!c->dict_on) {                                                                             \
        if (bronze_buf_append(&c->plain, &v, sizeof v))                                            \
            return oom(err);                                                                       \
        STAT(&c->ps, v);                                                                           \
        if (c->bloom)                                                                              \
            bloom_add(c, &v, sizeof v);                                                            \
        c->page_vals++;                                                                            \
    }                                                                                              \
    c->page_plain += sizeof v;

/* The same as ROW_LOOP(FIXED_VALUE(T, STAT)) for a column past its
 * dictionary (or without one) and without a bloom filter: one page's run of
 * rows per step, with the room reserved once and no per-row mode checks.
 * A step ends where ROW_LOOP's page_full() would: at the page's row cap, or
 * on the value that takes the PLAIN bytes to BRONZE_PQ_PAGE_BYTES. */
#define PLAIN_RUN(T, STAT)                                                                         \
    while (n) {                                                                                    \
        size_t k = BRONZE_PQ_PAGE_ROWS - c->page_rows;                                             \
        size_t room = (BRONZE_PQ_PAGE_BYTES - c->plain.len + sizeof(T) - 1) / sizeof(T);           \
        if (k > n)                                                                                 \
            k = n;                                                                                 \
        if (bronze_buf_reserve(&c->plain, (k < room ? k : room) * sizeof(T)))                      \
            return oom(err);                                                                       \
        uint8_t *dst = c->plain.data + c->plain.len;                                               \
        size_t done = 0, nv = 0;                                                                   \
        while (done < k && nv < room) {                                                            \
            size_t r = off + done;                                                                 \
            bool valid = bronze_batch_is_valid(bc, r);                                             \
            if (valid) {                                                                           \
                T v = vals[r];                                                                     \
                memcpy(dst + nv * sizeof(T), &v, sizeof(T));                                       \
                STAT(&c->ps, v);                                                                   \
                nv++;                                                                              \
            }                                                                                      \
            if (row_frame(c, c->page_rows + done, r, valid, err))                                  \
                return -1;                                                                         \
            done++;                                                                                \
        }                                                                                          \
        c->plain.len += nv * sizeof(T);                                                            \
        c->page_vals += nv;                                                                        \
        c->page_plain += nv * sizeof(T);                                                           \
        c->page_rows += done;                                                                      \
        off += done;                                                                               \
        n -= done;                                                                                 \
        if (page_full(c) && bronze_pq_col_finish_page(c, x, err))                                  \
            return -1;                                                                             \
    }                                                                                              \
    return 0;

/* Fixed values: the PLAIN run when nothing per value but the bytes and the
 * statistics is left to do, else the general loop. */
#define ADD_FIXED(T, STAT)                                                                         \
    if (!c->dict_on && !c->bloom) {                                                                \
        PLAIN_RUN(T, STAT)                                                                         \
    }                                                                                              \
    ROW_LOOP(FIXED_VALUE(T, STAT))

static int add_i32(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const int32_t *vals = bc->v.i32;
    ADD_FIXED(int32_t, stat_i)
}

static int add_i64(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const int64_t *vals = bc->v.i64;
    ADD_FIXED(int64_t, stat_i)
}

static int add_f32(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const float *vals = bc->v.f32;
    ADD_FIXED(float, stat_d)
}

static int add_f64(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                   size_t n, bronze_err *err)
{
    const double *vals = bc->v.f64;
    ADD_FIXED(double, stat_d)
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
        stat_i(&c->ps, v);
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
        if (c->bloom)
            bloom_add(c, p, w);
        c->plain.len += w;
        c->page_vals++;
        c->page_plain += w;
        stat_dec(&c->ps, v);
    })
}

/* A byte array longer than this does not fit a Parquet page (INT32 sizes,
 * with room for the page's header and levels). */
#define MAX_VALUE_BYTES ((size_t)INT32_MAX - 4096)

static int too_long(const bronze_pq_col *c, size_t r, size_t len, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "column %s: batch row %zu holds a value of %zu bytes, more than "
                          "Parquet allows",
                          c->f->name, r, len);
}

/* add_bytes() past the dictionary, without a bloom filter: a page's run of
 * rows per step, room for all of its values reserved once. A step ends
 * where ROW_LOOP's page_full() would. */
static int plain_bytes(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                       size_t n, bronze_err *err)
{
    while (n) {
        size_t k = BRONZE_PQ_PAGE_ROWS - c->page_rows;
        if (k > n)
            k = n;
        uint64_t span = bc->v.off[off + k] - bc->v.off[off];
        if (bronze_buf_reserve(&c->plain, (size_t)span + 4 * k))
            return oom(err);
        size_t done = 0;
        while (done < k) {
            size_t r = off + done++;
            bool valid = bronze_batch_is_valid(bc, r);
            if (valid) {
                size_t len;
                const uint8_t *p = (const uint8_t *)bronze_col_str(bc, r, &len);
                if (len > MAX_VALUE_BYTES)
                    return too_long(c, r, len, err);
                uint8_t *d = c->plain.data + c->plain.len;
                put_le32(d, (uint32_t)len);
                bronze_copy(d + 4, p, len);
                c->plain.len += 4 + len;
                c->page_plain += 4 + len;
                stat_bytes(&c->ps, p, len);
                c->page_vals++;
            }
            if (row_frame(c, c->page_rows, r, valid, err))
                return -1;
            c->page_rows++;
            if (c->plain.len >= BRONZE_PQ_PAGE_BYTES)
                break;
        }
        off += done;
        n -= done;
        if (page_full(c) && bronze_pq_col_finish_page(c, x, err))
            return -1;
    }
    return 0;
}

static int add_bytes(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                     size_t n, bronze_err *err)
{
    if (!c->dict_on && !c->bloom)
        return plain_bytes(c, x, bc, off, n, err);
    ROW_LOOP({
        size_t len;
        const uint8_t *p = (const uint8_t *)bronze_col_str(bc, r, &len);
        if (len > MAX_VALUE_BYTES)
            return too_long(c, r, len, err);
        if (c->dict_on) {
            uint32_t id;
            int st = dict_bytes(c, x->dict_limit, p, len, &id);
            if (st < 0)
                return oom(err);
            if (st == 2) {
                if (dict_fallback(c, x, err))
                    return -1;
            } else {
                if (st == 1 && c->bloom)
                    bloom_add(c, p, len);
                c->idx[c->page_vals++] = id;
            }
        }
        if (!c->dict_on) {
            if (bronze_buf_reserve(&c->plain, 4 + len))
                return oom(err);
            put_le32(c->plain.data + c->plain.len, (uint32_t)len);
            bronze_copy(c->plain.data + c->plain.len + 4, p, len);
            c->plain.len += 4 + len;
            stat_bytes(&c->ps, p, len);
            if (c->bloom)
                bloom_add(c, p, len);
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
    if (c->npending && flush_pending(c, x, false, err)) /* NULLs only: no dictionary */
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

static bool is_utf8_type(const bronze_pq_col *c)
{
    return c->f->type == BRONZE_T_STRING || c->f->type == BRONZE_T_JSON;
}

/* Length of the longest prefix of p[0..n) (the start of a longer valid UTF-8
 * string) that ends on a character boundary. */
static size_t utf8_cut(const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    size_t s = n - 1;
    while (s > 0 && (p[s] & 0xC0) == 0x80)
        s--;
    uint8_t b = p[s];
    size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
    return s + len <= n ? s + len : s;
}

/* The smallest value greater than every value starting with p[0..n): the
 * prefix with its last character (strings: code point, kept valid UTF-8;
 * bytes: byte) incremented, dropping characters that cannot be. Returns the
 * new length, 0 when none exists. */
static size_t increment_prefix(uint8_t *p, size_t n, bool utf8)
{
    if (!utf8) {
        while (n > 0) {
            if (p[n - 1] != 0xFF) {
                p[n - 1]++;
                return n;
            }
            n--;
        }
        return 0;
    }
    while (n > 0) {
        size_t s = n - 1;
        while (s > 0 && (p[s] & 0xC0) == 0x80)
            s--;
        uint32_t cp;
        uint8_t b = p[s];
        size_t len = n - s;
        if (b < 0x80)
            cp = b;
        else if ((b & 0xE0) == 0xC0)
            cp = b & 0x1Fu;
        else if ((b & 0xF0) == 0xE0)
            cp = b & 0x0Fu;
        else
            cp = b & 0x07u;
        for (size_t k = 1; k < len; k++)
            cp = cp << 6 | (p[s + k] & 0x3Fu);
        cp++;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xE000;
        if (cp > 0x10FFFF) {
            n = s;
            continue;
        }
        uint8_t *q = p + s;
        if (cp < 0x80) {
            q[0] = (uint8_t)cp;
            return s + 1;
        }
        if (cp < 0x800) {
            q[0] = (uint8_t)(0xC0 | cp >> 6);
            q[1] = (uint8_t)(0x80 | (cp & 0x3F));
            return s + 2;
        }
        if (cp < 0x10000) {
            q[0] = (uint8_t)(0xE0 | cp >> 12);
            q[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            q[2] = (uint8_t)(0x80 | (cp & 0x3F));
            return s + 3;
        }
        q[0] = (uint8_t)(0xF0 | cp >> 18);
        q[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        q[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        q[3] = (uint8_t)(0x80 | (cp & 0x3F));
        return s + 4;
    }
    return 0;
}

/* PLAIN form (byte arrays without length) of min (is_max false) or max of s
 * into buf[BRONZE_PQ_STAT_MAX]. Returns false when there is none (no value,
 * or a truncated max that cannot be rounded up). */
static bool stat_out(const bronze_pq_col *c, const bronze_pq_stat *s, bool is_max, uint8_t *buf,
                     uint8_t *len, bool *exact)
{
    *exact = true;
    if (!s->has_val)
        return false;
    switch (c->ptype) {
    case PQ_BOOLEAN:
        buf[0] = (uint8_t)(is_max ? s->mx.i : s->mn.i);
        *len = 1;
        return true;
    case PQ_INT32: {
        int32_t v = (int32_t)(is_max ? s->mx.i : s->mn.i);
        memcpy(buf, &v, 4);
        *len = 4;
        return true;
    }
    case PQ_INT64: {
        int64_t v = is_max ? s->mx.i : s->mn.i;
        memcpy(buf, &v, 8);
        *len = 8;
        return true;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE: {
        double v = is_max ? s->mx.d : s->mn.d;
        if (v == 0) /* -0.0 and +0.0 compare equal: widen to both */
            v = is_max ? 0.0 : -0.0;
        if (c->ptype == PQ_FLOAT) {
            float f = (float)v;
            memcpy(buf, &f, 4);
            *len = 4;
            return true;
        }
        memcpy(buf, &v, 8);
        *len = 8;
        return true;
    }
    case PQ_FLBA: {
        unsigned __int128 u = (unsigned __int128)(is_max ? s->mx.dec : s->mn.dec);
        for (int k = c->width; k-- > 0; u >>= 8)
            buf[k] = (uint8_t)u;
        *len = (uint8_t)c->width;
        return true;
    }
    default: {
        size_t n = is_max ? s->lmax : s->lmin;
        bool trunc = is_max ? s->tmax : s->tmin;
        memcpy(buf, is_max ? s->smax : s->smin, n);
        if (trunc) {
            *exact = false;
            bool utf8 = is_utf8_type(c);
            if (utf8)
                n = utf8_cut(buf, n);
            if (is_max && !(n = increment_prefix(buf, n, utf8)))
                return false;
        }
        *len = (uint8_t)n;
        return true;
    }
    }
}

void bronze_pq_col_meta(const bronze_pq_col *c, bronze_tc *t, bronze_codec codec)
{
    uint64_t start = c->at_start, dict_len = c->at_dict_len;
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
    bronze_tc_field_i64(t, 6, (int64_t)(c->pages_uncomp + c->at_dict_uncomp));
    bronze_tc_field_i64(t, 7, (int64_t)(c->pages.len + dict_len));
    bronze_tc_field_i64(t, 9, (int64_t)(start + dict_len));
    if (dict_len)
        bronze_tc_field_i64(t, 11, (int64_t)start);

    bronze_tc_field_struct(t, 12); /* Statistics */
    const bronze_pq_stat *s = &c->cs;
    uint8_t bmin[BRONZE_PQ_STAT_MAX], bmax[BRONZE_PQ_STAT_MAX], lmin = 0, lmax = 0;
    bool xmin = true, xmax = true;
    bool has_min = stat_out(c, s, false, bmin, &lmin, &xmin);
    bool has_max = stat_out(c, s, true, bmax, &lmax, &xmax);
    bool is_float = c->ptype == PQ_FLOAT || c->ptype == PQ_DOUBLE;
    /* old readers know nothing of nan_count: no legacy min/max beside NaNs */
    if (has_min && has_max && legacy_stats(c) && !s->nans) {
        bronze_tc_field_binary(t, 1, bmax, lmax);
        bronze_tc_field_binary(t, 2, bmin, lmin);
    }
    bronze_tc_field_i64(t, 3, (int64_t)c->null_count);
    if (has_max)
        bronze_tc_field_binary(t, 5, bmax, lmax);
    if (has_min)
        bronze_tc_field_binary(t, 6, bmin, lmin);
    if (has_max)
        bronze_tc_field_bool(t, 7, xmax);
    if (has_min)
        bronze_tc_field_bool(t, 8, xmin);
    if (is_float)
        bronze_tc_field_i64(t, 9, (int64_t)s->nans);
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
    if (c->at_bloom_len) {
        bronze_tc_field_i64(t, 14, (int64_t)c->at_bloom);
        bronze_tc_field_i32(t, 15, (int32_t)c->at_bloom_len);
    }
    bronze_tc_struct_end(t); /* ColumnMetaData */
    bronze_tc_struct_end(t); /* ColumnChunk */
}

/* ---- page index ---- */

/* Unsigned bytewise order, a proper prefix first. */
static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return an < bn ? -1 : an > bn;
}

/* Compares two PLAIN min/max values in the column's order. */
static int plain_cmp(const bronze_pq_col *c, const uint8_t *a, size_t an, const uint8_t *b,
                     size_t bn)
{
    switch (c->ptype) {
    case PQ_INT32: {
        int32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case PQ_INT64: {
        int64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case PQ_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case PQ_FLBA: /* big-endian two's complement of one width */
        if ((int8_t)a[0] != (int8_t)b[0])
            return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
        return bytes_cmp(a + 1, an - 1, b + 1, bn - 1);
    default:
        return bytes_cmp(a, an, b, bn);
    }
}

int bronze_pq_col_page_index(const bronze_pq_col *c, uint64_t data_start, bronze_buf *ci,
                             bronze_buf *oi)
{
    bronze_tc t;
    bronze_tc_init(&t, oi);
    bronze_tc_field_list(&t, 1, BRONZE_TC_STRUCT, c->npg);
    for (size_t i = 0; i < c->npg; i++) {
        const bronze_pq_page *p = &c->pg[i];
        bronze_tc_elem_struct(&t); /* PageLocation */
        bronze_tc_field_i64(&t, 1, (int64_t)(data_start + p->off));
        bronze_tc_field_i32(&t, 2, (int32_t)p->size);
        bronze_tc_field_i64(&t, 3, (int64_t)p->first_row);
        bronze_tc_struct_end(&t);
    }
    bronze_tc_struct_end(&t);
    if (t.failed)
        return -1;

    /* PageIndex.md: no ColumnIndex when a float page holds only NaNs */
    bool asc = true, desc = true;
    const bronze_pq_page *prev = NULL;
    for (size_t i = 0; i < c->npg; i++) {
        const bronze_pq_page *p = &c->pg[i];
        if (p->nan_page || (!p->null_page && !p->has_minmax))
            return 0;
        if (p->null_page)
            continue;
        if (prev) {
            int lo = plain_cmp(c, prev->min, prev->lmin, p->min, p->lmin);
            int hi = plain_cmp(c, prev->max, prev->lmax, p->max, p->lmax);
            asc &= lo <= 0 && hi <= 0;
            desc &= lo >= 0 && hi >= 0;
        }
        prev = p;
    }
    bool is_float = c->ptype == PQ_FLOAT || c->ptype == PQ_DOUBLE;
    bronze_tc_init(&t, ci);
    bronze_tc_field_list(&t, 1, BRONZE_TC_TRUE, c->npg);
    for (size_t i = 0; i < c->npg; i++)
        bronze_tc_elem_bool(&t, c->pg[i].null_page);
    bronze_tc_field_list(&t, 2, BRONZE_TC_BINARY, c->npg);
    for (size_t i = 0; i < c->npg; i++)
        bronze_tc_elem_binary(&t, c->pg[i].min, c->pg[i].null_page ? 0 : c->pg[i].lmin);
    bronze_tc_field_list(&t, 3, BRONZE_TC_BINARY, c->npg);
    for (size_t i = 0; i < c->npg; i++)
        bronze_tc_elem_binary(&t, c->pg[i].max, c->pg[i].null_page ? 0 : c->pg[i].lmax);
    bronze_tc_field_i32(&t, 4, asc ? 1 : desc ? 2 : 0); /* BoundaryOrder */
    bronze_tc_field_list(&t, 5, BRONZE_TC_I64, c->npg);
    for (size_t i = 0; i < c->npg; i++)
        bronze_tc_elem_i64(&t, (int64_t)c->pg[i].nulls);
    if (is_float) {
        bronze_tc_field_list(&t, 8, BRONZE_TC_I64, c->npg);
        for (size_t i = 0; i < c->npg; i++)
            bronze_tc_elem_i64(&t, (int64_t)c->pg[i].nans);
    }
    bronze_tc_struct_end(&t);
    return t.failed ? -1 : 0;
}

/* ---- size accounting ---- */

uint64_t bronze_pq_col_pidx_page_bound(const bronze_pq_col *c)
{
    return BRONZE_PQ_PIDX_PAGE + 2 * (uint64_t)c->stat_width;
}

uint64_t bronze_pq_col_bound(const bronze_pq_col *c, bronze_codec codec, int bw)
{
    uint64_t b = c->pages.len + c->npg * bronze_pq_col_pidx_page_bound(c);
    if (c->npending) /* held-back pages of NULLs: header, levels, bit-width byte */
        b += c->npending *
             (BRONZE_PQ_HDR_MAX + bronze_pq_col_pidx_page_bound(c) +
              bronze_pq_codec_bound(codec, 4 + bronze_rle_bound(BRONZE_PQ_PAGE_ROWS, 1) + 1));
    if (c->page_rows) {
        uint64_t raw = 0;
        if (c->nullable)
            raw += 4 + bronze_rle_bound(c->page_rows, 1);
        if (c->dict_on && c->page_vals) {
            int cur = dict_index_width(c);
            raw += 1 + bronze_rle_bound(c->page_vals, bw > cur ? bw : cur);
        } else {
            raw += c->plain.len + 1; /* + 1: a page of NULLs may get a bit-width byte */
        }
        b += BRONZE_PQ_HDR_MAX + bronze_pq_codec_bound(codec, raw) +
             bronze_pq_col_pidx_page_bound(c);
    }
    if (c->dict.len)
        b += BRONZE_PQ_HDR_MAX + bronze_pq_codec_bound(codec, c->dict.len);
    return b;
}

void bronze_pq_ctx_free(bronze_pq_ctx *x)
{
    bronze_pq_codec_free(x->cz);
    x->cz = NULL;
    bronze_buf_free(&x->body);
    bronze_buf_free(&x->comp);
    bronze_buf_free(&x->hdr);
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
     * length varint; nan_count, exactness and bloom filter fields; the page
     * index's per-chunk part */
    return 200 + 40 + BRONZE_PQ_PIDX_CHUNK + strlen(c->f->name) +
           (legacy_stats(c) ? 4 : 2) * (6 + (uint64_t)c->stat_width);
}
