/*
 * column_writer.h - one leaf column of the Parquet writer: turns batch values
 * into DataPage V1 pages of the current row group's column chunk, keeps its
 * dictionary and statistics, and writes the chunk's ColumnMetaData.
 *
 * A page holds definition levels (nullable columns only; RLE hybrid with a
 * 4-byte length) then values, either PLAIN or RLE_DICTIONARY (bit-width byte
 * + hybrid indices). Pages are compressed as soon as they are full (~1 MiB or
 * 20,000 rows), so a chunk in memory is mostly compressed bytes; only the
 * open page and the dictionary are raw. The dictionary is PLAIN-encoded and
 * written before the data pages when the chunk is flushed.
 *
 * Dictionary policy (per chunk): 4/8-byte and byte-array columns start in
 * dictionary mode. When the first page closes, the dictionary must pay off
 * (dictionary + indices smaller than PLAIN) or that page is re-encoded PLAIN
 * and the dictionary dropped; when the dictionary would pass its limit (1 MiB,
 * less when row groups are small) the open page closes and the rest of the
 * chunk is PLAIN. Every decision depends only
 * on the values in order, so replaying the same rows gives the same bytes.
 *
 * Statistics are kept per page (values in PLAIN mode as they come; in
 * dictionary mode from the page's indices when it closes) and folded into
 * the chunk's, so the page index (ColumnIndex, OffsetIndex) costs one
 * bronze_pq_page per page. Floats count NaNs and keep min/max over the other
 * values. A page of NULLs only in a chunk whose dictionary is in use is
 * written RLE_DICTIONARY too (readers then keep dictionary pruning); such
 * pages before the chunk's first value wait (as row counts) until the first
 * page of values says whether the dictionary is used.
 *
 * Bloom filters (opt-in per column) are split-block filters over xxHash64 of
 * the PLAIN value: a filter of the largest size is filled as values arrive
 * (dictionary mode: once per new entry) and folded, when the chunk is
 * written, down to the size its distinct count needs (a power of two, which
 * makes folding exact: block i of the half-size filter is blocks 2i | 2i+1).
 *
 * Size accounting for the file-size control (parquet_writer.c):
 *   bronze_pq_col_bound()     worst-case bytes this chunk adds to the file now
 *                             (pages, dictionary, its page index entries)
 *   bronze_pq_col_mem()       bytes it holds in memory (row-group sizing)
 */
#ifndef BRONZE_FORMAT_PARQUET_COLUMN_WRITER_H
#define BRONZE_FORMAT_PARQUET_COLUMN_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "format/parquet/codec.h"
#include "format/parquet/thrift_compact.h"
#include "util/buf.h"
#include "util/err.h"

/* Parquet physical types (parquet.thrift Type). */
enum {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FLBA = 7,
};

#define BRONZE_PQ_PAGE_ROWS 20000
#define BRONZE_PQ_PAGE_BYTES (1u << 20)
#define BRONZE_PQ_DICT_BYTES (1u << 20)
/* Byte-array min/max in statistics and the column index are cut to this many
 * bytes (as parquet-java's column index and arrow-rs do): min becomes a
 * prefix, max a prefix with its last character (byte) incremented, and the
 * statistics say they are not exact. */
#define BRONZE_PQ_TRUNC 64
/* Longest serialized min/max: a truncated max may grow by an incremented
 * UTF-8 character. */
#define BRONZE_PQ_STAT_MAX (BRONZE_PQ_TRUNC + 4)
/* Upper bound of one serialized page header. */
#define BRONZE_PQ_HDR_MAX 48
/* Page index bytes per page (OffsetIndex PageLocation + ColumnIndex entries,
 * without the min/max values) and per chunk (list headers, boundary order,
 * the four ColumnChunk references). */
#define BRONZE_PQ_PIDX_PAGE 56
#define BRONZE_PQ_PIDX_CHUNK 96
/* Bloom filter: serialized BloomFilterHeader bound, smallest bitset. */
#define BRONZE_PQ_BLOOM_HDR 24
#define BRONZE_PQ_BLOOM_MIN 32
/* Pages of NULLs held back before a chunk's first value (then written PLAIN). */
#define BRONZE_PQ_PENDING_MAX 64

/* Shared by all columns of one file: codec and page scratch buffers. */
typedef struct bronze_pq_ctx {
    bronze_codec codec;
    bronze_pq_codec *cz;
    bronze_buf body, comp, hdr;
    size_t dict_limit; /* bytes of one dictionary, <= BRONZE_PQ_DICT_BYTES */
} bronze_pq_ctx;

/* Min/max/NaN statistics of a page or a chunk. Byte arrays keep at most
 * BRONZE_PQ_TRUNC bytes of each extreme; t* says the real value is longer. */
typedef struct bronze_pq_stat {
    bool has_val; /* a non-null, non-NaN value was seen */
    bool tmin, tmax;
    uint8_t lmin, lmax;
    uint64_t nans;
    union {
        int64_t i;
        double d;
        __int128 dec;
    } mn, mx;
    uint8_t smin[BRONZE_PQ_TRUNC], smax[BRONZE_PQ_TRUNC];
} bronze_pq_stat;

/* One finished data page, for the page index. */
typedef struct bronze_pq_page {
    uint64_t off;       /* in the chunk's pages buffer */
    uint64_t first_row; /* within the row group */
    uint64_t nulls, nans;
    uint32_t size;   /* header + compressed body */
    bool null_page;  /* only nulls */
    bool nan_page;   /* values, all NaN */
    bool has_minmax; /* min/max below are valid */
    uint8_t lmin, lmax;
    uint8_t min[BRONZE_PQ_STAT_MAX], max[BRONZE_PQ_STAT_MAX]; /* PLAIN form */
} bronze_pq_page;

typedef struct bronze_pq_col {
    const bronze_field *f;
    int ptype;     /* physical type */
    int width;     /* bytes of one PLAIN value for fixed types (FLBA width), 0 var-len */
    bool nullable; /* has definition levels */
    bool dict_capable;
    __int128 dec_max; /* DECIMAL: 10^precision - 1 */
    int stat_width;   /* bytes of one min/max value in the footer (bound) */

    /* the chunk of the current row group */
    bronze_buf pages;       /* finished data pages, header + compressed body each */
    uint64_t pages_uncomp;  /* the same pages' headers + uncompressed bodies */
    uint32_t n_dict_pages;  /* data pages encoded RLE_DICTIONARY */
    uint32_t n_plain_pages; /* data pages encoded PLAIN */
    uint64_t num_values;    /* rows in finished pages, nulls included */
    uint64_t null_count;    /* whole chunk */
    bronze_pq_page *pg;     /* finished data pages, for the page index */
    size_t npg, pg_cap;
    bronze_pq_stat cs, ps;                   /* chunk (finished pages) and open page statistics */
    uint32_t pending[BRONZE_PQ_PENDING_MAX]; /* rows of held-back pages of NULLs */
    uint32_t npending;
    uint64_t pending_rows;
    /* the most bronze_pq_col_mem() was since the chunk began (it only grows
     * between pages, so its value as each page closes is its peak): a row
     * group whose columns' peaks add up below the guard's cap never met it */
    uint64_t peak_mem;

    /* dictionary */
    bool dict_on;       /* new values go through the dictionary */
    bool dict_decided;  /* the first-page pay-off check is done */
    bronze_buf dict;    /* PLAIN-encoded entries = the dictionary page body */
    uint32_t dict_n;    /* entries */
    uint32_t *dict_pos; /* byte arrays: entry start in dict */
    uint32_t *dict_hash;
    uint32_t *stamp; /* byte arrays: last page (stamp_gen) an entry was seen on */
    uint32_t stamp_gen;
    uint32_t dict_cap;
    uint32_t *slots; /* open addressing; 0 = empty, else entry id + 1 */
    uint32_t nslots;

    /* the open page */
    uint8_t *levels; /* one per row (nullable only) */
    uint32_t *idx;   /* dictionary indices (dictionary mode only) */
    size_t page_rows, page_vals;
    bronze_buf plain;    /* PLAIN values (booleans bit-packed) */
    uint64_t page_plain; /* PLAIN size of the open page's values */

    /* split-block bloom filter (opt-in), built at `bloom_cap` bytes and
     * folded to the size the chunk's distinct count needs when written */
    uint8_t *bloom;
    size_t bloom_cap;
    double bloom_bpv; /* bits per distinct value for the configured rate */

    /* where the flushed chunk landed (set by the file writer) */
    uint64_t at_start, at_dict_len, at_dict_uncomp, at_bloom, at_bloom_len;
} bronze_pq_col;

/* Sets up column c for field f. Returns -1 on OOM. */
int bronze_pq_col_init(bronze_pq_col *c, const bronze_field *f, bronze_err *err);
void bronze_pq_col_free(bronze_pq_col *c);

/* Appends rows [off, off+n) of batch column bc. May close (compress) pages. */
int bronze_pq_col_add(bronze_pq_col *c, bronze_pq_ctx *x, const bronze_column *bc, size_t off,
                      size_t n, bronze_err *err);
/* Closes the open page, if any. */
int bronze_pq_col_finish_page(bronze_pq_col *c, bronze_pq_ctx *x, bronze_err *err);
/* Closes the open page and builds the dictionary page (header + compressed
 * body) into `dict_page`, empty when the chunk has no dictionary-encoded page.
 * *dict_uncomp gets its header + uncompressed size. */
int bronze_pq_col_close_chunk(bronze_pq_col *c, bronze_pq_ctx *x, bronze_buf *dict_page,
                              uint64_t *dict_uncomp, bronze_err *err);
/* Serializes the ColumnChunk struct (as a list element) for a chunk placed at
 * c->at_* (start, dictionary page, bloom filter), up to and including its
 * meta_data field: the caller adds the page index references and the stop
 * byte (bronze_pq_col_meta_tail) once the page index has a place. */
void bronze_pq_col_meta(const bronze_pq_col *c, bronze_tc *t, bronze_codec codec);
/* Page index of the chunk: appends its OffsetIndex to `oi` and, unless the
 * chunk cannot have one (a float page of NaNs only, a max that cannot be
 * rounded up), its ColumnIndex to `ci`. `data_start` is the file offset of
 * its first data page. Returns -1 on OOM. */
int bronze_pq_col_page_index(const bronze_pq_col *c, uint64_t data_start, bronze_buf *ci,
                             bronze_buf *oi);
/* Bloom filter of the chunk (header + bitset) appended to out; nothing when
 * the column has none. Clears the filter. Returns -1 on OOM. */
int bronze_pq_col_bloom(bronze_pq_col *c, bronze_buf *out);
/* Bitset bytes of the chunk's bloom filter for `ndv` distinct values. */
uint64_t bronze_pq_col_bloom_bytes(const bronze_pq_col *c, uint64_t ndv);
/* Distinct values of the chunk so far, or an upper bound. */
uint64_t bronze_pq_col_ndv(const bronze_pq_col *c);
/* Turns the bloom filter on: fpp false-positive rate, at most cap bytes (a
 * power of two). Returns -1 on OOM. */
int bronze_pq_col_bloom_init(bronze_pq_col *c, double fpp, size_t cap, bronze_err *err);
/* Bits per distinct value a split-block bloom filter needs for rate fpp. */
double bronze_pq_bloom_bits_per_value(double fpp);
/* Block check of a split-block bloom filter bitset of n bytes (tests, readers). */
bool bronze_pq_bloom_check(const uint8_t *bits, size_t n, uint64_t hash);
/* Forgets the chunk (after it was written, or to roll back). Keeps buffers. */
void bronze_pq_col_reset_chunk(bronze_pq_col *c);

/* Worst-case bytes the chunk adds to the file if closed now, assuming the
 * dictionary indices end up at most `bw` bits wide. */
uint64_t bronze_pq_col_bound(const bronze_pq_col *c, bronze_codec codec, int bw);
/* Bytes held in memory (pages, open page, dictionary). */
uint64_t bronze_pq_col_mem(const bronze_pq_col *c);
/* Frees a context's codec and scratch buffers. */
void bronze_pq_ctx_free(bronze_pq_ctx *x);
/* Upper bound of the serialized ColumnChunk metadata of one chunk, with its
 * page index references and the page index's per-chunk part. */
uint64_t bronze_pq_col_meta_bound(const bronze_pq_col *c);
/* Page index bytes of one page of this column. */
uint64_t bronze_pq_col_pidx_page_bound(const bronze_pq_col *c);

/* Byte width of a DECIMAL(p) as FIXED_LEN_BYTE_ARRAY (minimal two's complement). */
int bronze_pq_decimal_width(int precision);

#endif
