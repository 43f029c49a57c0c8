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
 * Size accounting for the file-size control (parquet_writer.c):
 *   bronze_pq_col_bound()     worst-case bytes this chunk adds to the file now
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
/* Longest byte-array min/max kept in statistics; longer ones drop min/max. */
#define BRONZE_PQ_STAT_MAX 256
/* Upper bound of one serialized page header. */
#define BRONZE_PQ_HDR_MAX 48

/* Shared by all columns of one file: codec and page scratch buffers. */
typedef struct bronze_pq_ctx {
    bronze_codec codec;
    bronze_pq_codec *cz;
    bronze_buf body, comp, hdr;
    size_t dict_limit; /* bytes of one dictionary, <= BRONZE_PQ_DICT_BYTES */
} bronze_pq_ctx;

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

    /* dictionary */
    bool dict_on;       /* new values go through the dictionary */
    bool dict_decided;  /* the first-page pay-off check is done */
    bronze_buf dict;    /* PLAIN-encoded entries = the dictionary page body */
    uint32_t dict_n;    /* entries */
    uint32_t *dict_pos; /* byte arrays: entry start in dict */
    uint32_t *dict_hash;
    uint32_t dict_cap;
    uint32_t *slots; /* open addressing; 0 = empty, else entry id + 1 */
    uint32_t nslots;

    /* the open page */
    uint8_t *levels; /* one per row (nullable only) */
    uint32_t *idx;   /* dictionary indices (dictionary mode only) */
    size_t page_rows, page_vals;
    bronze_buf plain;    /* PLAIN values (booleans bit-packed) */
    uint64_t page_plain; /* PLAIN size of the open page's values */

    /* statistics of the chunk */
    bool has_val, has_nan, too_long;
    union {
        int64_t i;
        double d;
        __int128 dec;
    } mn, mx;
    bronze_buf smin, smax; /* byte arrays */
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
/* Serializes the ColumnChunk struct (as a list element) for a chunk that
 * starts at file offset `start` with a dictionary page of dict_len bytes. */
void bronze_pq_col_meta(const bronze_pq_col *c, bronze_tc *t, bronze_codec codec, uint64_t start,
                        uint64_t dict_len, uint64_t dict_uncomp);
/* Forgets the chunk (after it was written, or to roll back). Keeps buffers. */
void bronze_pq_col_reset_chunk(bronze_pq_col *c);

/* Worst-case bytes the chunk adds to the file if closed now, assuming the
 * dictionary indices end up at most `bw` bits wide. */
uint64_t bronze_pq_col_bound(const bronze_pq_col *c, bronze_codec codec, int bw);
/* Bytes held in memory (pages, open page, dictionary). */
uint64_t bronze_pq_col_mem(const bronze_pq_col *c);
/* Upper bound of the serialized ColumnChunk metadata of one chunk. */
uint64_t bronze_pq_col_meta_bound(const bronze_pq_col *c);

/* Byte width of a DECIMAL(p) as FIXED_LEN_BYTE_ARRAY (minimal two's complement). */
int bronze_pq_decimal_width(int precision);

#endif
