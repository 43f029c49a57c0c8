/*
 * parquet_writer.c - the Parquet encoder (bronze_encoder_parquet): file
 * layout, row groups, footer, and exact file-size control.
 *
 * Layout: "PAR1", row groups (per column: optional dictionary page, DataPage
 * V1 pages; then the row group's bloom filters, one per opted-in column),
 * the page index (every chunk's ColumnIndex, then every OffsetIndex, as
 * parquet-java lays them out), FileMetaData in Thrift compact, its 4-byte
 * length, "PAR1". Bloom filters follow their row group (arrow-rs's default)
 * so none waits in memory; the page index waits serialized (~60-200 bytes a
 * page) and is dropped for later chunks past PIDX_MAX_BYTES, which keeps
 * memory flat however many rows one part holds. A ColumnChunk's page index
 * references are only known at finish(): rg_meta keeps each chunk's struct
 * with a note of where its stop byte is, and the footer splices them in.
 * One row group lives in memory at a time; it is flushed at 1 Mi rows or when
 * the bytes it holds (compressed pages + open pages + dictionaries) reach
 * min(64 MiB, max_bytes / 10) (SPEC §7 "Memory").
 *
 * Size control (fit). Everything already written is exact; what is still in
 * memory has a worst-case bound (raw open pages and dictionaries through the
 * codec's worst-case expansion, page-header and footer bounds), and so do new
 * rows (their PLAIN + dictionary-index size, computed in O(columns) from the
 * batch offsets). While bound <= max_bytes, fit() answers at once. When it
 * would not hold, fit() flushes the row group (now exact) and, if the rows
 * still do not fit under the bound, *stages* them: it appends them to a fresh
 * row group in steps, closing and compressing the pages after each step so
 * that the bound becomes exact again, and stops when the next step cannot be
 * proven to fit. Steps are sized from the compression ratio seen so far (so
 * a few steps reach ~98% of the limit); a step that overshoots is undone by
 * rebuilding the staged rows from the step log. write() of exactly the staged
 * rows just keeps them; any other write() truncates the file back to where
 * staging began and replays the log (for a prefix) or writes normally.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/encoder.h"
#include "format/parquet/codec.h"
#include "format/parquet/col_pool.h"
#include "format/parquet/column_writer.h"
#include "format/parquet/rle.h"
#include "format/parquet/thrift_compact.h"
#include "util/sha256.h"

#ifndef BRONZE_VERSION
#define BRONZE_VERSION "0.0.0"
#endif

#define RG_MAX_ROWS ((size_t)1 << 20)
#define RG_MAX_BYTES ((uint64_t)64 << 20)
#define RG_MIN_BYTES ((uint64_t)64 << 10)
#define OUT_CHUNK ((size_t)1 << 20)
#define RG_META_FIXED 64 /* RowGroup fields besides its columns */
#define STAGE_MAX_STEPS 1024
#define PIDX_MAX_BYTES ((uint64_t)32 << 20)
/* ColumnChunk fields 4-7 (page index offsets and lengths), serialized */
#define PIDX_TAIL_MAX 34
#define BLOOM_MAX_BYTES ((size_t)1 << 20)

/* Where a flushed chunk's page index went, and where its ColumnChunk ends. */
typedef struct chunk_ref {
    size_t stop; /* rg_meta offset of the ColumnChunk's stop byte */
    uint64_t ci_off, oi_off;
    uint32_t ci_len, oi_len;
} chunk_ref;

enum { ACT_FINISH_PAGES = 1, ACT_FLUSH_RG = 2 };

typedef struct sched_entry {
    size_t pos; /* rows staged before the action */
    int act;
} sched_entry;

struct bronze_encoder {
    int fd;
    char *path;
    const bronze_schema *schema;
    size_t ncols;
    bronze_pq_col *cols;
    bronze_pq_ctx ctx;
    bronze_pq_pool *pool; /* column workers (parallel_workers > 1), else NULL */
    bronze_sha256 hash;   /* of every byte written; invalid after a truncation */
    uint64_t synced;      /* writeback started up to here */
    bronze_codec codec;
    bronze_pq_codec_linear lin;
    uint64_t max_bytes;
    uint64_t rg_cap;
    char *created_by;

    bronze_buf out;     /* buffered file bytes */
    uint64_t flushed;   /* bytes already in the file; file size = flushed + out.len */
    bronze_buf scratch; /* dictionary page / footer */
    bronze_buf rg_meta; /* serialized RowGroup structs of flushed row groups */
    bronze_buf ci, oi;  /* ColumnIndex / OffsetIndex structs of flushed chunks */
    chunk_ref *refs;    /* one per flushed chunk */
    size_t nrefs, refs_cap;
    bronze_buf groups;    /* finish(): rg_meta with the page index references */
    size_t nrg;           /* flushed row groups */
    uint64_t total_rows;  /* rows in flushed row groups */
    size_t rg_rows;       /* rows in the current row group */
    uint64_t footer_base; /* footer bound without row groups, incl. length + magic */
    uint64_t rg_meta_max; /* one RowGroup's metadata, upper bound */
    uint64_t page_ov;     /* per-page bound: header, codec constant, level/index slack */

    uint64_t part_raw; /* raw-cost bytes of the rows in the file (for the ratio) */
    double step_ratio; /* compressed / raw of the last staging step */

    /* staging (fit slow path) */
    bool staged;
    const bronze_batch *st_b;
    size_t st_off, st_n, st_k;
    uint64_t st_pos, st_total_rows, st_part_raw;
    size_t st_nrg, st_meta_len, st_nrefs, st_ci_len, st_oi_len;
    sched_entry *sched;
    size_t nsched, sched_cap;
};

static int oom(bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
}

/* ---- file output ---- */

static uint64_t file_pos(const bronze_encoder *e)
{
    return e->flushed + e->out.len;
}

#define WRITEBACK_STEP ((uint64_t)8 << 20)

static int write_all(bronze_encoder *e, const uint8_t *p, size_t n, bronze_err *err)
{
    while (n) {
        ssize_t w = write(e->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return bronze_err_set(err, BRONZE_E_RUNTIME, "writing %s: %s", e->path,
                                  strerror(errno));
        }
        bronze_sha256_update(&e->hash, p, (size_t)w);
        p += w;
        n -= (size_t)w;
        e->flushed += (uint64_t)w;
        /* Start writeback of every full 8 MiB behind us without waiting for
         * it, so finish()'s fsync has little left to flush. Advisory only. */
        if (e->flushed - e->synced >= WRITEBACK_STEP) {
            uint64_t end = e->flushed & ~(uint64_t)(WRITEBACK_STEP - 1);
            sync_file_range(e->fd, (off_t)e->synced, (off_t)(end - e->synced),
                            SYNC_FILE_RANGE_WRITE);
            e->synced = end;
        }
    }
    return 0;
}

static int out_flush(bronze_encoder *e, bronze_err *err)
{
    size_t n = e->out.len;
    e->out.len = 0;
    return write_all(e, e->out.data, n, err);
}

static int put(bronze_encoder *e, const void *p, size_t n, bronze_err *err)
{
    if (e->out.len + n <= OUT_CHUNK)
        return bronze_buf_append(&e->out, p, n) ? oom(err) : 0;
    if (out_flush(e, err))
        return -1;
    if (n >= OUT_CHUNK)
        return write_all(e, p, n, err);
    return bronze_buf_append(&e->out, p, n) ? oom(err) : 0;
}

static int truncate_to(bronze_encoder *e, uint64_t pos, bronze_err *err)
{
    if (pos >= e->flushed) {
        e->out.len = (size_t)(pos - e->flushed);
        return 0;
    }
    e->hash.valid = false; /* written bytes are undone: the roller reads the file */
    if (e->synced > pos)
        e->synced = pos & ~(uint64_t)(WRITEBACK_STEP - 1);
    e->out.len = 0;
    if (ftruncate(e->fd, (off_t)pos) != 0 || lseek(e->fd, (off_t)pos, SEEK_SET) < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "truncating %s: %s", e->path, strerror(errno));
    e->flushed = pos;
    return 0;
}

/* ---- footer ---- */

static void schema_leaf(bronze_tc *t, const bronze_pq_col *c)
{
    const bronze_field *f = c->f;
    bronze_tc_elem_struct(t);
    bronze_tc_field_i32(t, 1, c->ptype);
    if (c->ptype == PQ_FLBA)
        bronze_tc_field_i32(t, 2, c->width);
    bronze_tc_field_i32(t, 3, f->nullable ? 1 : 0); /* OPTIONAL : REQUIRED */
    bronze_tc_field_string(t, 4, f->name);
    switch (f->type) {
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
        bronze_tc_field_i32(t, 6, f->type == BRONZE_T_INT16 ? 16 : 17); /* INT_16 / INT_32 */
        bronze_tc_field_struct(t, 10);
        bronze_tc_field_struct(t, 10); /* INTEGER */
        bronze_tc_field_i8(t, 1, f->type == BRONZE_T_INT16 ? 16 : 32);
        bronze_tc_field_bool(t, 2, true);
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        break;
    case BRONZE_T_DECIMAL:
        bronze_tc_field_i32(t, 6, 5); /* DECIMAL */
        bronze_tc_field_i32(t, 7, f->scale);
        bronze_tc_field_i32(t, 8, f->precision);
        bronze_tc_field_struct(t, 10);
        bronze_tc_field_struct(t, 5);
        bronze_tc_field_i32(t, 1, f->scale);
        bronze_tc_field_i32(t, 2, f->precision);
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        break;
    case BRONZE_T_STRING:
    case BRONZE_T_JSON:
    case BRONZE_T_DATE: {
        int conv = f->type == BRONZE_T_STRING ? 0 : f->type == BRONZE_T_JSON ? 19 : 6;
        int logical = f->type == BRONZE_T_STRING ? 1 : f->type == BRONZE_T_JSON ? 12 : 6;
        bronze_tc_field_i32(t, 6, conv); /* UTF8 / JSON / DATE */
        bronze_tc_field_struct(t, 10);
        bronze_tc_field_struct(t, (int16_t)logical); /* empty struct */
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        break;
    }
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
    case BRONZE_T_TIME: {
        bool time = f->type == BRONZE_T_TIME;
        bronze_tc_field_i32(t, 6, time ? 8 : 10); /* TIME_MICROS / TIMESTAMP_MICROS */
        bronze_tc_field_struct(t, 10);
        bronze_tc_field_struct(t, time ? 7 : 8); /* TIME / TIMESTAMP */
        bronze_tc_field_bool(t, 1, f->type == BRONZE_T_TIMESTAMPTZ);
        bronze_tc_field_struct(t, 2); /* unit */
        bronze_tc_field_struct(t, 2); /* MICROS */
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        bronze_tc_struct_end(t);
        break;
    }
    default: /* BOOLEAN, INT64, FLOAT, DOUBLE, BYTES: the physical type says it all */
        break;
    }
    bronze_tc_struct_end(t);
}

/* Serializes FileMetaData (without length and magic) to the end of b. */
static bool footer(const bronze_encoder *e, bronze_buf *b, int64_t num_rows, bool with_groups)
{
    bronze_tc t;
    bronze_tc_init(&t, b);
    bronze_tc_field_i32(&t, 1, 1); /* version */
    bronze_tc_field_list(&t, 2, BRONZE_TC_STRUCT, e->ncols + 1);
    bronze_tc_elem_struct(&t); /* root */
    bronze_tc_field_string(&t, 4, "schema");
    bronze_tc_field_i32(&t, 5, (int32_t)e->ncols);
    bronze_tc_struct_end(&t);
    for (size_t i = 0; i < e->ncols; i++)
        schema_leaf(&t, &e->cols[i]);
    bronze_tc_field_i64(&t, 3, num_rows);
    size_t nrg = with_groups ? e->nrg : 0;
    bronze_tc_field_list(&t, 4, BRONZE_TC_STRUCT, nrg);
    if (nrg)
        bronze_tc_raw(&t, e->groups.data, e->groups.len);
    bronze_tc_field_string(&t, 6, e->created_by);
    bronze_tc_field_list(&t, 7, BRONZE_TC_STRUCT, e->ncols); /* column_orders */
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_tc_elem_struct(&t);
        bronze_tc_field_struct(&t, 1); /* TYPE_ORDER */
        bronze_tc_struct_end(&t);
        bronze_tc_struct_end(&t);
    }
    bronze_tc_struct_end(&t);
    return !t.failed;
}

/* ---- row groups ---- */

static uint64_t rg_mem(const bronze_encoder *e)
{
    uint64_t m = 0;
    for (size_t i = 0; i < e->ncols; i++)
        m += bronze_pq_col_mem(&e->cols[i]);
    return m;
}

static int flush_rg(bronze_encoder *e, bronze_err *err)
{
    if (!e->rg_rows)
        return 0;
    if (e->nrefs + e->ncols > e->refs_cap) {
        size_t cap = e->refs_cap ? e->refs_cap * 2 : 64;
        while (cap < e->nrefs + e->ncols)
            cap *= 2;
        chunk_ref *r = realloc(e->refs, cap * sizeof *r);
        if (!r)
            return oom(err);
        e->refs = r;
        e->refs_cap = cap;
    }
    uint64_t rg_start = file_pos(e), uncomp = 0, comp = 0;
    /* the chunks, then the row group's bloom filters */
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &e->cols[i];
        c->at_start = file_pos(e);
        e->scratch.len = 0;
        if (bronze_pq_col_close_chunk(c, &e->ctx, &e->scratch, &c->at_dict_uncomp, err) ||
            put(e, e->scratch.data, e->scratch.len, err) ||
            put(e, c->pages.data, c->pages.len, err))
            return -1;
        c->at_dict_len = e->scratch.len;
        uncomp += c->pages_uncomp + c->at_dict_uncomp;
        comp += c->pages.len + c->at_dict_len;
    }
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &e->cols[i];
        c->at_bloom = file_pos(e);
        e->scratch.len = 0;
        if (bronze_pq_col_bloom(c, &e->scratch))
            return oom(err);
        c->at_bloom_len = e->scratch.len;
        if (put(e, e->scratch.data, e->scratch.len, err))
            return -1;
    }
    bronze_tc t;
    bronze_tc_init(&t, &e->rg_meta);
    bronze_tc_field_list(&t, 1, BRONZE_TC_STRUCT, e->ncols);
    bool pidx = e->ci.len + e->oi.len < PIDX_MAX_BYTES;
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &e->cols[i];
        bronze_pq_col_meta(c, &t, e->codec);
        chunk_ref *r = &e->refs[e->nrefs++];
        r->stop = e->rg_meta.len - 1;
        r->ci_off = e->ci.len;
        r->oi_off = e->oi.len;
        r->ci_len = r->oi_len = 0;
        if (pidx) {
            if (bronze_pq_col_page_index(c, c->at_start + c->at_dict_len, &e->ci, &e->oi))
                return oom(err);
            r->ci_len = (uint32_t)(e->ci.len - r->ci_off);
            r->oi_len = (uint32_t)(e->oi.len - r->oi_off);
        }
        bronze_pq_col_reset_chunk(c);
    }
    bronze_tc_field_i64(&t, 2, (int64_t)uncomp); /* total_byte_size: uncompressed */
    bronze_tc_field_i64(&t, 3, (int64_t)e->rg_rows);
    bronze_tc_field_i64(&t, 5, (int64_t)rg_start);
    bronze_tc_field_i64(&t, 6, (int64_t)comp);
    bronze_tc_struct_end(&t);
    if (t.failed)
        return oom(err);
    e->nrg++;
    e->total_rows += e->rg_rows;
    e->rg_rows = 0;
    return 0;
}

/* The page index (ColumnIndexes, then OffsetIndexes) at the current file
 * position, and e->groups = the RowGroup list with each ColumnChunk's
 * references to it spliced in before its stop byte. */
static int write_page_index(bronze_encoder *e, bronze_err *err)
{
    uint64_t ci_at = file_pos(e), oi_at = ci_at + e->ci.len;
    if (put(e, e->ci.data, e->ci.len, err) || put(e, e->oi.data, e->oi.len, err))
        return -1;
    bronze_buf *g = &e->groups;
    g->len = 0;
    size_t from = 0;
    for (size_t i = 0; i < e->nrefs; i++) {
        const chunk_ref *r = &e->refs[i];
        if (bronze_buf_append(g, e->rg_meta.data + from, r->stop - from))
            return oom(err);
        from = r->stop;
        bronze_tc t;
        bronze_tc_init(&t, g);
        t.last = 3; /* the ColumnChunk's meta_data was its last field */
        if (r->oi_len) {
            bronze_tc_field_i64(&t, 4, (int64_t)(oi_at + r->oi_off));
            bronze_tc_field_i32(&t, 5, (int32_t)r->oi_len);
        }
        if (r->ci_len) {
            bronze_tc_field_i64(&t, 6, (int64_t)(ci_at + r->ci_off));
            bronze_tc_field_i32(&t, 7, (int32_t)r->ci_len);
        }
        if (t.failed)
            return oom(err);
    }
    if (bronze_buf_append(g, e->rg_meta.data + from, e->rg_meta.len - from))
        return oom(err);
    return 0;
}

static int finish_one(bronze_pq_col *c, bronze_pq_ctx *x, size_t i, void *arg, bronze_err *err)
{
    (void)i;
    (void)arg;
    return bronze_pq_col_finish_page(c, x, err);
}

static int finish_pages(bronze_encoder *e, bronze_err *err)
{
    if (e->pool)
        return bronze_pq_pool_run(e->pool, e->cols, e->ncols, &e->ctx, finish_one, NULL, err);
    for (size_t i = 0; i < e->ncols; i++)
        if (bronze_pq_col_finish_page(&e->cols[i], &e->ctx, err))
            return -1;
    return 0;
}

/* ---- size bounds ---- */

/* Index width bound for a column after k more values. */
static int bw_after(const bronze_pq_col *c, size_t k)
{
    int bw = bronze_rle_bit_width((uint64_t)c->dict_n + k);
    return bw < 1 ? 1 : bw > 20 ? 20 : bw; /* a row group has at most 2^20 rows */
}

/* Raw cost of rows [off, off+k): *bits of encoded data (levels, PLAIN
 * values, dictionary entry + index), *mem of memory they may take. */
static void raw_cost(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t k,
                     uint64_t *bits, uint64_t *mem)
{
    uint64_t bt = 0, mm = 0;
    for (size_t i = 0; i < e->ncols; i++) {
        const bronze_pq_col *c = &e->cols[i];
        if (c->nullable) {
            bt += 2 * (uint64_t)k;
            mm += k;
        }
        uint64_t w = (uint64_t)c->width;
        switch (c->ptype) {
        case PQ_BOOLEAN:
            bt += k;
            mm += k;
            break;
        case PQ_FLBA:
            bt += 8 * w * k;
            mm += w * k;
            break;
        case PQ_BYTE_ARRAY: {
            const uint64_t *o = b->cols[i].v.off;
            uint64_t len = o[off + k] - o[off];
            bt += 8 * (4 * (uint64_t)k + len) + (uint64_t)k * (uint64_t)(bw_after(c, k) + 1);
            mm += 8 * (uint64_t)k + len;
            break;
        }
        default:
            bt += (uint64_t)k * (8 * w + (uint64_t)bw_after(c, k) + 1);
            mm += (w + 4) * k;
            break;
        }
    }
    *bits = bt;
    *mem = mm;
}

static uint64_t lin(const bronze_encoder *e, uint64_t x)
{
    return x + (x * e->lin.num + e->lin.den - 1) / e->lin.den;
}

/* Bloom filters of the open row group if rows [off, off+k) join it: sized
 * from its distinct count, which k rows raise by at most k while the
 * dictionary holds (it cannot fill up with k more entries), else bounded by
 * its non-null rows. Rows that open new groups are counted by bound_after. */
static uint64_t bloom_bound(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t k)
{
    uint64_t s = 0;
    if (!e->rg_rows && !k)
        return 0;
    for (size_t i = 0; i < e->ncols; i++) {
        const bronze_pq_col *c = &e->cols[i];
        if (!c->bloom)
            continue;
        uint64_t rows = c->num_values + c->pending_rows + c->page_rows - c->null_count + k;
        uint64_t ndv = rows;
        if (c->dict_on && c->dict_decided) {
            uint64_t add =
                c->width
                    ? (uint64_t)c->width * k
                    : 4 * (uint64_t)k + (k ? b->cols[i].v.off[off + k] - b->cols[i].v.off[off] : 0);
            if (c->dict.len + add <= e->ctx.dict_limit)
                ndv = c->dict_n + (uint64_t)k;
        }
        s += BRONZE_PQ_BLOOM_HDR + bronze_pq_col_bloom_bytes(c, ndv < rows ? ndv : rows);
    }
    return s;
}

/* Worst-case file size if rows [off, off+k) were added and the file closed. */
static uint64_t bound_after(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t k)
{
    uint64_t s = file_pos(e) + e->footer_base + e->rg_meta.len + e->ci.len + e->oi.len +
                 e->nrefs * PIDX_TAIL_MAX;
    if (e->rg_rows)
        s += e->rg_meta_max;
    uint64_t mem = 0;
    for (size_t i = 0; i < e->ncols; i++) {
        const bronze_pq_col *c = &e->cols[i];
        s += bronze_pq_col_bound(c, e->codec, bw_after(c, k));
        mem += bronze_pq_col_mem(c);
    }
    s += bloom_bound(e, b, off, k);
    if (!k)
        return s;
    uint64_t bits, kmem;
    raw_cost(e, b, off, k, &bits, &kmem);
    uint64_t bytes = (bits + 7) / 8;
    uint64_t pages = e->ncols * (3 + k / BRONZE_PQ_PAGE_ROWS) + bytes / BRONZE_PQ_PAGE_BYTES;
    uint64_t body = lin(e, bytes) + pages * e->page_ov;
    /* Every row group these rows open: its metadata, and per column one more
     * dictionary page and page split. A group is flushed at the row cap, or
     * holding >= cap/2 bytes in memory, or before a row of > cap/2 bytes, or
     * once more by staging (see stage()). */
    uint64_t groups =
        (e->rg_rows ? 0 : 1) + (e->rg_rows + k) / RG_MAX_ROWS + 2 * (mem + kmem) / e->rg_cap + 1;
    uint64_t per_group = e->rg_meta_max + e->ncols * e->page_ov;
    for (size_t i = 0; i < e->ncols; i++)
        if (e->cols[i].bloom)
            per_group += BRONZE_PQ_BLOOM_HDR + bronze_pq_col_bloom_bytes(&e->cols[i], k);
    return s + body + groups * per_group;
}

/* Raw cost bytes of rows (for the compression ratio). */
static uint64_t raw_bytes(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t k)
{
    uint64_t bits, mem;
    raw_cost(e, b, off, k, &bits, &mem);
    return (bits + 7) / 8;
}

/* Most rows (<= n) that fit the row group's memory cap and row cap. */
static size_t rg_room(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n)
{
    if (n > RG_MAX_ROWS - e->rg_rows)
        n = RG_MAX_ROWS - e->rg_rows;
    uint64_t used = rg_mem(e);
    if (used >= e->rg_cap)
        return 0;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        uint64_t bits, mem;
        raw_cost(e, b, off, mid, &bits, &mem);
        if (used + mem <= e->rg_cap)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* ---- appending rows ---- */

typedef struct add_arg {
    const bronze_batch *b;
    size_t off, n;
} add_arg;

static int add_one(bronze_pq_col *c, bronze_pq_ctx *x, size_t i, void *arg, bronze_err *err)
{
    const add_arg *a = arg;
    return bronze_pq_col_add(c, x, &a->b->cols[i], a->off, a->n, err);
}

/* Below this many rows a slice is not worth waking the column workers. */
#define POOL_MIN_ROWS 256

static int add_rows(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err)
{
    if (!n)
        return 0;
    if (e->pool && n >= POOL_MIN_ROWS) {
        add_arg a = {b, off, n};
        if (bronze_pq_pool_run(e->pool, e->cols, e->ncols, &e->ctx, add_one, &a, err))
            return -1;
    } else {
        for (size_t i = 0; i < e->ncols; i++)
            if (bronze_pq_col_add(&e->cols[i], &e->ctx, &b->cols[i], off, n, err))
                return -1;
    }
    e->rg_rows += n;
    if (e->max_bytes)
        e->part_raw += raw_bytes(e, b, off, n);
    return 0;
}

/* Appends rows, flushing row groups at their caps. */
static int append_rows(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                       bronze_err *err)
{
    while (n) {
        size_t m = rg_room(e, b, off, n);
        if (!m) {
            if (e->rg_rows) {
                if (flush_rg(e, err))
                    return -1;
                continue;
            }
            m = 1; /* one row larger than a row group: it gets its own */
        }
        if (add_rows(e, b, off, m, err))
            return -1;
        off += m;
        n -= m;
        if (e->rg_rows >= RG_MAX_ROWS || rg_mem(e) >= e->rg_cap - e->rg_cap / 16)
            if (flush_rg(e, err))
                return -1;
    }
    return 0;
}

/* ---- staging ---- */

static int sched_push(bronze_encoder *e, size_t pos, int act, bronze_err *err)
{
    if (e->nsched == e->sched_cap) {
        size_t cap = e->sched_cap ? e->sched_cap * 2 : 16;
        sched_entry *s = realloc(e->sched, cap * sizeof *s);
        if (!s)
            return oom(err);
        e->sched = s;
        e->sched_cap = cap;
    }
    e->sched[e->nsched++] = (sched_entry){pos, act};
    return 0;
}

/* Back to the state before staging began (an empty row group). */
static int unstage(bronze_encoder *e, bronze_err *err)
{
    e->staged = false;
    if (truncate_to(e, e->st_pos, err))
        return -1;
    e->rg_meta.len = e->st_meta_len;
    e->nrefs = e->st_nrefs;
    e->ci.len = e->st_ci_len;
    e->oi.len = e->st_oi_len;
    e->nrg = e->st_nrg;
    e->total_rows = e->st_total_rows;
    e->part_raw = e->st_part_raw;
    for (size_t i = 0; i < e->ncols; i++)
        bronze_pq_col_reset_chunk(&e->cols[i]);
    e->rg_rows = 0;
    return 0;
}

/* Re-applies the first `steps` logged steps, then rows up to `upto`. */
static int replay(bronze_encoder *e, const bronze_batch *b, size_t off, size_t steps, size_t upto,
                  bronze_err *err)
{
    size_t k = 0;
    for (size_t i = 0; i < steps && e->sched[i].pos <= upto; i++) {
        if (add_rows(e, b, off + k, e->sched[i].pos - k, err))
            return -1;
        k = e->sched[i].pos;
        int rc = e->sched[i].act == ACT_FLUSH_RG ? flush_rg(e, err) : finish_pages(e, err);
        if (rc)
            return -1;
    }
    return add_rows(e, b, off + k, upto - k, err);
}

/* Bytes of the part that are exact now (file, finished pages, dictionaries). */
static uint64_t actual_bytes(const bronze_encoder *e)
{
    uint64_t s = file_pos(e);
    for (size_t i = 0; i < e->ncols; i++)
        s += e->cols[i].pages.len + e->cols[i].dict.len;
    return s > 4 ? s - 4 : 0;
}

static size_t largest(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                      uint64_t limit)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (bound_after(e, b, off, mid) <= limit)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Estimated rows whose compressed size stays within budget (after `fixed`
 * bytes of overhead), from the ratio of compressed to raw bytes seen in this
 * part times `margin`. */
static size_t estimate(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                       uint64_t budget, uint64_t fixed, double margin)
{
    /* nothing written yet: assume the codec gains nothing */
    double ratio = e->part_raw ? (double)actual_bytes(e) / (double)e->part_raw : 1.0;
    if (e->step_ratio > ratio) /* the data may have changed: trust the worse */
        ratio = e->step_ratio;
    if (ratio > 1.0)
        ratio = 1.0;
    if (ratio < 0.002)
        ratio = 0.002;
    ratio *= margin;
    if (budget <= fixed)
        return 0;
    double room = (double)(budget - fixed) / ratio;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if ((double)raw_bytes(e, b, off, mid) <= room)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Stages as many of rows [off, off+n) as provably fit (see the file comment).
 * The row group is empty on entry. Returns the count or (size_t)-1. */
static size_t stage(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err)
{
    e->staged = true;
    e->st_b = b;
    e->st_off = off;
    e->st_n = n;
    e->st_k = 0;
    e->st_pos = file_pos(e);
    e->st_nrg = e->nrg;
    e->st_meta_len = e->rg_meta.len;
    e->st_nrefs = e->nrefs;
    e->st_ci_len = e->ci.len;
    e->st_oi_len = e->oi.len;
    e->st_total_rows = e->total_rows;
    e->st_part_raw = e->part_raw;
    e->nsched = 0;
    e->step_ratio = 0;
    const uint64_t max = e->max_bytes;
    size_t k = 0;
    bool size_safe = false, rg_safe = false, tried_flush = false;
    for (int step = 0; k < n && step < STAGE_MAX_STEPS; step++) {
        if (e->rg_rows && (e->rg_rows >= RG_MAX_ROWS || rg_mem(e) >= e->rg_cap / 4 * 3)) {
            if (flush_rg(e, err) || sched_push(e, k, ACT_FLUSH_RG, err))
                return (size_t)-1;
            continue;
        }
        uint64_t now = bound_after(e, b, off + k, 0);
        if (now >= max)
            break;
        uint64_t room = max - now;
        if (room < max / 64)
            break; /* >= 98% full: close the part here */
        /* the row group's memory cap, judged by the compressed size the
         * rows are expected to keep once their pages are closed */
        size_t lim = rg_room(e, b, off + k, n - k), raw_lim = lim ? lim : 1;
        uint64_t mem = rg_mem(e);
        if (!rg_safe && mem < e->rg_cap) {
            size_t est =
                estimate(e, b, off + k, n - k, e->rg_cap - mem, e->ncols * e->page_ov, 1.25);
            if (est > lim)
                lim = est < RG_MAX_ROWS - e->rg_rows ? est : RG_MAX_ROWS - e->rg_rows;
        }
        if (!lim) {
            if (!e->rg_rows)
                lim = 1;
            else {
                if (flush_rg(e, err) || sched_push(e, k, ACT_FLUSH_RG, err))
                    return (size_t)-1;
                continue;
            }
        }
        size_t safe = largest(e, b, off + k, lim, max);
        size_t m = safe;
        if (!size_safe) {
            size_t opt = estimate(e, b, off + k, lim, room / 5 * 3,
                                  2 * e->ncols * e->page_ov + e->rg_meta_max, 1.25);
            if (opt > m)
                m = opt;
        }
        /* the dictionaries are the last inexact part: make them exact */
        if (!m && e->rg_rows && !tried_flush) {
            tried_flush = true;
            if (flush_rg(e, err) || sched_push(e, k, ACT_FLUSH_RG, err))
                return (size_t)-1;
            continue;
        }
        /* Nothing can be proven to fit. Rather than close the part early
         * because of worst-case codec expansion, try the rows the ratio says
         * fit and measure; undo them if they do not. */
        bool probe = false;
        if (!m) {
            m = estimate(e, b, off + k, lim, room, 0, 1.0);
            probe = true;
        }
        if (!m)
            break;
        uint64_t actual0 = actual_bytes(e), raw0 = e->part_raw;
        if (add_rows(e, b, off + k, m, err) || finish_pages(e, err) ||
            sched_push(e, k + m, ACT_FINISH_PAGES, err))
            return (size_t)-1;
        k += m;
        uint64_t actual1 = actual_bytes(e);
        if (e->part_raw > raw0 && actual1 > actual0)
            e->step_ratio = (double)(actual1 - actual0) / (double)(e->part_raw - raw0);
        bool over_size = m > safe && bound_after(e, b, off + k, 0) > max;
        bool over_rg = m > raw_lim && rg_mem(e) > e->rg_cap;
        if (over_size || over_rg) {
            /* too bold (over the size or the row-group cap): rebuild the
             * staged rows without the last step */
            size_t steps = e->nsched - 1;
            size_t back = steps ? e->sched[steps - 1].pos : 0;
            if (unstage(e, err))
                return (size_t)-1;
            e->staged = true;
            e->nsched = steps;
            if (replay(e, b, off, steps, back, err))
                return (size_t)-1;
            k = back;
            if (probe && over_size)
                break; /* the part is full */
            size_safe |= over_size;
            rg_safe |= over_rg;
        }
    }
    e->st_k = k;
    return k;
}

/* ---- the encoder interface ---- */

static void pq_destroy(bronze_encoder *e);

static int open_impl(bronze_encoder *e, const char *path, const bronze_schema *schema,
                     const bronze_encoder_opts *opts, bronze_err *err)
{
    e->schema = schema;
    e->ncols = schema->ncols;
    e->codec = opts->codec;
    e->max_bytes = opts->max_bytes;
    e->ctx.codec = opts->codec;
    e->lin = bronze_pq_codec_linear_bound(opts->codec);
    if (!(e->path = strdup(path)))
        return oom(err);
    if (opts->created_by && *opts->created_by) {
        e->created_by = strdup(opts->created_by);
    } else {
        bronze_buf cb = BRONZE_BUF_INIT;
        if (!bronze_buf_printf(&cb, "bronze-foundry version %s (build unknown)", BRONZE_VERSION) &&
            !bronze_buf_cstr(&cb))
            e->created_by = (char *)cb.data;
        else
            bronze_buf_free(&cb);
    }
    if (!e->created_by)
        return oom(err);
    if (bronze_pq_codec_new(&e->ctx.cz, opts->codec, err))
        return -1;
    bronze_sha256_begin(&e->hash); /* on failure the roller hashes the file itself */
    if (!(e->cols = calloc(e->ncols, sizeof *e->cols)))
        return oom(err);
    e->rg_meta_max = RG_META_FIXED;
    for (size_t i = 0; i < e->ncols; i++) {
        if (bronze_pq_col_init(&e->cols[i], &schema->fields[i], err))
            return -1;
        e->rg_meta_max += bronze_pq_col_meta_bound(&e->cols[i]);
    }
    e->rg_cap = RG_MAX_BYTES;
    if (e->max_bytes && e->max_bytes / 10 < e->rg_cap)
        e->rg_cap = e->max_bytes / 10 > RG_MIN_BYTES ? e->max_bytes / 10 : RG_MIN_BYTES;
    /* a dictionary may take up to an eighth of a row group */
    e->ctx.dict_limit = BRONZE_PQ_DICT_BYTES;
    if (e->rg_cap / 8 < e->ctx.dict_limit)
        e->ctx.dict_limit = e->rg_cap / 8;
    /* a bloom filter up to 1 MiB (parquet-java's cap), and a quarter of a row group */
    size_t bloom_cap = BLOOM_MAX_BYTES;
    while (bloom_cap > BRONZE_PQ_BLOOM_MIN && bloom_cap > e->rg_cap / 4)
        bloom_cap /= 2;
    double fpp = opts->bloom_fpp > 0 && opts->bloom_fpp < 1 ? opts->bloom_fpp : 0.01;
    uint64_t pidx_page = 0;
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &e->cols[i];
        for (size_t j = 0; j < opts->n_bloom_columns; j++)
            if (!strcmp(opts->bloom_columns[j], c->f->name) &&
                bronze_pq_col_bloom_init(c, fpp, bloom_cap, err))
                return -1;
        if (bronze_pq_col_pidx_page_bound(c) > pidx_page)
            pidx_page = bronze_pq_col_pidx_page_bound(c);
    }
    if (opts->workers > 1 && e->ncols > 1 &&
        bronze_pq_pool_new(&e->pool, opts->workers < (int)e->ncols ? opts->workers : (int)e->ncols,
                           &e->ctx, err))
        return -1;
    /* header, codec constant (+1 for rounding), level length, level and index
     * run slack, bit-width byte, boolean padding */
    e->page_ov = BRONZE_PQ_HDR_MAX + e->lin.per_call + 1 + 4 + 16 + 16 + 1 + 1 + pidx_page;
    if (!footer(e, &e->scratch, INT64_MAX, false))
        return oom(err);
    e->footer_base = e->scratch.len + 5 /* row-group list size */ + 8 /* length, magic */;

    e->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (e->fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating %s: %s", path, strerror(errno));
    return put(e, "PAR1", 4, err);
}

static int pq_open(bronze_encoder **out, const char *path, const bronze_schema *schema,
                   const bronze_encoder_opts *opts, bronze_err *err)
{
    *out = NULL;
    if (!schema->ncols)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: a Parquet file needs at least one column",
                              path);
    bronze_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return oom(err);
    e->fd = -1;
    if (open_impl(e, path, schema, opts, err)) {
        pq_destroy(e);
        return -1;
    }
    *out = e;
    return 0;
}

static size_t pq_fit(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                     bronze_err *err)
{
    if (!e->max_bytes || !n)
        return n;
    if (e->staged) {
        if (b == e->st_b && off == e->st_off && n == e->st_n)
            return e->st_k;
        if (unstage(e, err))
            return (size_t)-1;
    }
    if (bound_after(e, b, off, n) <= e->max_bytes)
        return n;
    if (e->rg_rows) {
        /* learn the real size of what is buffered */
        if (flush_rg(e, err))
            return (size_t)-1;
        if (bound_after(e, b, off, n) <= e->max_bytes)
            return n;
    }
    return stage(e, b, off, n, err);
}

static int pq_write(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err)
{
    if (e->staged) {
        bool same = b == e->st_b && off == e->st_off;
        if (same && n == e->st_k) {
            e->staged = false; /* the staged rows are the written rows */
            return 0;
        }
        size_t steps = e->nsched;
        if (unstage(e, err))
            return -1;
        if (same && n < e->st_k)
            return replay(e, b, off, steps, n, err);
    }
    return append_rows(e, b, off, n, err);
}

static int pq_finish(bronze_encoder *e, uint64_t *bytes, bronze_err *err)
{
    if (e->staged && unstage(e, err))
        return -1;
    if (flush_rg(e, err) || write_page_index(e, err))
        return -1;
    e->scratch.len = 0;
    if (!footer(e, &e->scratch, (int64_t)e->total_rows, true))
        return oom(err);
    uint32_t len = (uint32_t)e->scratch.len;
    uint8_t tail[8] = {(uint8_t)len,
                       (uint8_t)(len >> 8),
                       (uint8_t)(len >> 16),
                       (uint8_t)(len >> 24),
                       'P',
                       'A',
                       'R',
                       '1'};
    if (put(e, e->scratch.data, e->scratch.len, err) || put(e, tail, 8, err) || out_flush(e, err))
        return -1;
    int fd = e->fd;
    e->fd = -1;
    if (fsync(fd) != 0) {
        int saved = errno;
        close(fd);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing %s: %s", e->path, strerror(saved));
    }
    if (close(fd) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "closing %s: %s", e->path, strerror(errno));
    *bytes = e->flushed;
    if (e->max_bytes && e->flushed > e->max_bytes)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: Parquet part is %llu bytes, over the %llu-byte limit "
                              "(size bound violated; please report)",
                              e->path, (unsigned long long)e->flushed,
                              (unsigned long long)e->max_bytes);
    return 0;
}

static void pq_destroy(bronze_encoder *e)
{
    if (!e)
        return;
    if (e->fd >= 0)
        close(e->fd);
    if (e->cols)
        for (size_t i = 0; i < e->ncols; i++)
            bronze_pq_col_free(&e->cols[i]);
    bronze_pq_pool_free(e->pool);
    bronze_sha256_free(&e->hash);
    free(e->cols);
    bronze_pq_codec_free(e->ctx.cz);
    bronze_buf_free(&e->ctx.body);
    bronze_buf_free(&e->ctx.comp);
    bronze_buf_free(&e->ctx.hdr);
    bronze_buf_free(&e->out);
    bronze_buf_free(&e->scratch);
    bronze_buf_free(&e->rg_meta);
    bronze_buf_free(&e->ci);
    bronze_buf_free(&e->oi);
    bronze_buf_free(&e->groups);
    free(e->refs);
    free(e->sched);
    free(e->created_by);
    free(e->path);
    free(e);
}

static const char *pq_sha256(bronze_encoder *e)
{
    return bronze_sha256_end(&e->hash);
}

const bronze_encoder_vt bronze_encoder_parquet = {
    .ext = "parquet",
    .open = pq_open,
    .fit = pq_fit,
    .write = pq_write,
    .finish = pq_finish,
    .sha256 = pq_sha256,
    .destroy = pq_destroy,
};
