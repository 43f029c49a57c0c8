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
 * One row group lives in memory at a time per worker (SPEC §7 "Memory": 64 MiB,
 * 1 Mi rows, and a tenth of max_file_size_mb: rg_cap = min(64 MiB,
 * max_bytes / 10)).
 *
 * Row groups. Rows are cut into *chunks* on their PLAIN bits (plain_bits():
 * validity, values, byte-array lengths; a function of the values alone that
 * adds up over rows, so a cut does not depend on batch slicing, codec state
 * or threads): at 1 Mi rows, at RG_RAW_MAX (64 MiB) of PLAIN bytes, and at
 * rg_cap * RG_TARGET (0.85) over the ratio held-bytes / PLAIN of the chunk
 * RG_LAG (8) back (or of the part's first), so a chunk normally is one row
 * group that holds ~0.85 of rg_cap. The part's first chunk has no ratio and
 * ends at the guard. The guard keeps every row group at most rg_cap held
 * (compressed pages + raw dictionaries, bronze_pq_col_mem()): it looks at
 * row counts derived from the group's own rows only (guard_step()), closes
 * the pages when the cap is reached and, if that does not free enough, cuts
 * the row group there (its chunk goes on in a new one). Ordinary data: one
 * row group per chunk of ~3/4 rg_cap (7-10 MiB at max_file_size_mb 128,
 * 16-27 MiB / 64 MiB PLAIN with no limit), never a run of small ones.
 *
 * Chunk workers (parallel_workers > 1). A chunk is copied (rowcopy.h) and
 * handed to the workers (job_pool.h) while this thread goes on cutting;
 * finished chunks are written here strictly in order. Its columns are
 * tasks any worker takes (job_column()), oldest chunk first, so the last
 * chunks of a part keep every worker busy too; the guard is not run, and
 * job_done() accepts the result only when the columns' peaks of bytes held
 * add up below rg_cap, where the guard could never have acted (else the
 * chunk is encoded again by job_run(), guard and all; the next one goes to
 * a single worker whole). Every decision (cuts, pages, fit()'s answers) is
 * the one a single worker makes: cuts use PLAIN bits and the history of a
 * chunk RG_LAG back; fit()'s fast check (check_bound()) counts chunks in
 * flight by their worst-case bound, which is never below what they write,
 * so when it passes the single-worker check passes too, and when it fails
 * the chunks in flight are written and the open chunk encoded here
 * (catch_up()) - the single-worker state - before anything else is decided.
 * With a size limit a part's first chunk is encoded here as it comes (the
 * guard ends it), and a chunk waits for its history before it begins. With
 * none, the first chunk goes to the workers too, cut at its PLAIN cap
 * (redo_first() runs it through this thread again when its peaks reached
 * rg_cap: the guard may have ended it earlier), and a chunk begins before
 * its history is written, taking rows up to the largest cap there can be
 * (spec); resolve() cuts it where its cap turns out to be and carries the
 * rows past it to the next chunk. Parts are byte-identical for any worker
 * count; memory grows by one chunk (its rows and its encoding) per worker,
 * plus the open chunk's rows.
 *
 * Size control (fit). Everything already written is exact; what is still in
 * memory has a worst-case bound (raw open pages and dictionaries through the
 * codec's worst-case expansion, page-header and footer bounds), and so do new
 * rows (their PLAIN + dictionary-index size, computed in O(columns) from the
 * batch offsets). While bound <= max_bytes, fit() answers at once. When it
 * would not hold, fit() closes the open pages (the row group stays open:
 * flushing it here gave runs of one-batch row groups) and, if the rows still
 * do not fit under the bound, enters the *zone*: from the open row group's
 * first row (its rows are kept in e->tail whenever max_bytes is set) every
 * row is copied into e->tail and every step logged, and rows are *staged*:
 * appended in steps, closing and compressing the pages after each step so
 * that the bound becomes exact again, until the next step cannot be proven
 * to fit. Steps are sized from the compression ratio seen so far (so a few
 * steps reach ~98% of the limit); a step that overshoots is undone by
 * truncating the file back to the zone's start and replaying the log over
 * e->tail. write() of exactly the staged rows just keeps them; any other
 * write() replays the log (for a prefix) or adds its rows afresh. The zone
 * lasts to the part's end (it restarts after ZONE_MAX_BYTES of rows), so a
 * part ends in one or two row groups cut by staging, not in a run of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/encoder.h"
#include "format/parquet/codec.h"
#include "format/parquet/col_pool.h"
#include "format/parquet/column_writer.h"
#include "format/parquet/job_pool.h"
#include "format/parquet/rle.h"
#include "format/parquet/rowcopy.h"
#include "format/parquet/thrift_compact.h"
#include "util/out_file.h"

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
#define ZONE_MAX_BYTES ((size_t)16 << 20)
/* the guard's check steps (rows) */
#define GUARD_MIN 16
#define GUARD_MAX 65536
#define CHUNK_WORKERS_MAX 64
/* Chunk cuts on PLAIN bytes (see "Row groups" above): a chunk's PLAIN size
 * is held under RG_RAW_MAX and under rg_cap * RG_TARGET / ratio, the ratio
 * being held-bytes / PLAIN of the chunk RG_LAG chunks back. */
#define RG_RAW_MAX ((uint64_t)64 << 20)
#define RG_TARGET 0.85
#define RG_LAG 8

/* Where a flushed chunk's page index went, and where its ColumnChunk ends. */
typedef struct chunk_ref {
    size_t stop; /* rg_meta offset of the ColumnChunk's stop byte */
    uint64_t ci_off, oi_off;
    uint32_t ci_len, oi_len;
} chunk_ref;

/* Log actions: close the pages; cut the row group inside its chunk (a
 * guard cut); end the chunk (its row group with it). */
enum { ACT_FINISH_PAGES = 1, ACT_FLUSH_RG = 2, ACT_END_CHUNK = 3 };

typedef struct sched_entry {
    size_t pos; /* rows staged before the action */
    int act;
} sched_entry;

/* One chunk (a row group, or more after guard cuts) encoded by a chunk
 * worker: its rows, its own column writers and codec context. */
typedef struct rg_job {
    bronze_pq_rows rows;
    bronze_pq_col *cols;
    bronze_pq_ctx ctx;
    bronze_buf *dicts;     /* per column: the dictionary page */
    uint64_t *dict_uncomp; /* per column */
    size_t from, taken;    /* rows [from, taken) are this pass's row group */
    size_t next_check;     /* the guard's next check (rows in the group) */
    uint64_t mm;           /* the group's raw memory estimate so far */
    uint64_t plain;        /* PLAIN bits of the chunk */
    uint64_t bound;        /* worst-case bytes the chunk adds to the file */
    size_t index;          /* chunk number in the part */
    uint64_t held;         /* this pass's row group, pages closed (write_group()) */
    uint64_t rg_cap;
    bronze_pq_ctx *tctx; /* the workers' contexts, by thread (column tasks) */
    uint64_t *col_held;  /* per column: bytes held once its pages closed */
    bool whole;          /* one task: job_run() (else one per column) */
    size_t *order;       /* column tasks, largest PLAIN size first */
    uint64_t *weight;    /* per column: its PLAIN bits in the chunk */
    bool redone;         /* its columns' peaks reached the cap: job_run() ran */
    struct rg_job *next_free;
} rg_job;

/* The file state at the open chunk's start (for the fast size check). */
typedef struct mark {
    uint64_t pos;
    size_t meta_len, ci_len, oi_len, nrefs;
} mark;

struct bronze_encoder {
    bronze_out_file file; /* written, hashed; the hash is invalid after a truncation */
    char *path;
    const bronze_schema *schema;
    size_t ncols;
    bronze_pq_col *cols;
    bronze_pq_ctx ctx;
    bronze_pq_pool *pool; /* column workers for the caller's thread, else NULL */
    bronze_codec codec;
    bronze_pq_codec_linear lin;
    uint64_t max_bytes;
    uint64_t rg_cap;
    char *created_by;
    char *const *bloom_names; /* bloom filter columns (not owned) */
    size_t n_bloom;
    double bloom_fpp;
    size_t bloom_cap;

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

    uint64_t part_raw; /* PLAIN bits of the rows in the part (for the ratio) */
    double step_ratio; /* compressed / raw of the last staging step */

    /* Chunks (see "Row groups"): the open one is number nchunk; its rows
     * since its start are ch_rows (ch_plain PLAIN bits), ch_comp the bytes of
     * its row groups already cut by the guard. */
    size_t nchunk;
    size_t ch_rows;
    uint64_t ch_plain, ch_comp;
    mark ch_mark;
    uint64_t *hist_comp, *hist_plain; /* per ended chunk */
    size_t hist_cap;
    /* the open row group: rows since the pages were closed, the guard's next
     * check, its raw memory estimate */
    size_t open_rows, next_check;
    uint64_t rg_mm;
    /* rows of the open chunk (whenever max_bytes is set or chunk workers
     * run); g_start: the open row group's first row in it */
    bronze_pq_rows tail;
    size_t g_start;
    bronze_pq_rows spare;

    /* chunk workers (parallel_workers > 1) */
    bronze_pq_jobs *jobs;
    bronze_pq_ctx *tctx; /* one per chunk worker thread */
    rg_job **all_jobs, *free_jobs;
    size_t njobs, max_jobs, inflight, nhist;
    uint64_t inflight_bound;
    bool raw; /* the open chunk's rows are in `tail` only (not encoded yet) */
    /* the last chunk written had to be encoded again with the guard (the
     * next goes whole to one worker: chunks at the cap come in runs) */
    bool last_redone;
    bool serial_first; /* the part's first chunk is encoded here (redo_first()) */
    /* no size limit: the open raw chunk was begun before the history its
     * cap needs was written, and takes rows up to the largest cap there can
     * be; once the cap is known, resolve() moves the rows past it to carry,
     * which append_rows() takes before any new row */
    bool spec;
    bronze_pq_rows carry;
    size_t carry_off;

    /* staging (fit slow path): from the zone's start (an empty row group at
     * st_pos) the rows go through `tail`, so any step can be undone by
     * replaying the log over it */
    bool zone;
    size_t tail_n, tail_sched;
    bool staged;
    const bronze_batch *st_b;
    size_t st_off, st_n, st_k;
    uint64_t st_pos, st_total_rows, st_part_raw;
    size_t st_nrg, st_meta_len, st_nrefs, st_ci_len, st_oi_len;
    size_t st_nchunk, st_ch_rows;
    uint64_t st_ch_plain, st_ch_comp;
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
    return e->file.written + e->out.len;
}

static int out_flush(bronze_encoder *e, bronze_err *err)
{
    size_t n = e->out.len;
    e->out.len = 0;
    return bronze_out_file_write(&e->file, e->out.data, n, err);
}

static int put(bronze_encoder *e, const void *p, size_t n, bronze_err *err)
{
    if (e->out.len + n <= OUT_CHUNK)
        return bronze_buf_append(&e->out, p, n) ? oom(err) : 0;
    if (out_flush(e, err))
        return -1;
    if (n >= OUT_CHUNK)
        return bronze_out_file_write(&e->file, p, n, err);
    return bronze_buf_append(&e->out, p, n) ? oom(err) : 0;
}

static int truncate_to(bronze_encoder *e, uint64_t pos, bronze_err *err)
{
    if (pos >= e->file.written) {
        e->out.len = (size_t)(pos - e->file.written);
        return 0;
    }
    e->out.len = 0;
    return bronze_out_file_truncate(&e->file, pos, err);
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

static uint64_t cols_mem(const bronze_pq_col *cols, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += bronze_pq_col_mem(&cols[i]);
    return m;
}

static uint64_t rg_mem(const bronze_encoder *e)
{
    return cols_mem(e->cols, e->ncols);
}

/* PLAIN bits of rows [off, off+k): validity, values, byte-array lengths.
 * Depends on the values only (not on dictionaries or codecs) and adds up
 * over rows, so where it cuts does not depend on how batches are sliced. */
static uint64_t col_plain_bits(const bronze_pq_col *c, const bronze_column *bc, size_t off,
                               size_t k)
{
    uint64_t bt = c->nullable ? k : 0;
    switch (c->ptype) {
    case PQ_BOOLEAN:
        return bt + k;
    case PQ_BYTE_ARRAY:
        return bt + 8 * (4 * (uint64_t)k + (bc->v.off[off + k] - bc->v.off[off]));
    default:
        return bt + 8 * (uint64_t)c->width * k;
    }
}

static uint64_t plain_bits(const bronze_pq_col *cols, size_t ncols, const bronze_batch *b,
                           size_t off, size_t k)
{
    uint64_t bt = 0;
    for (size_t i = 0; i < ncols; i++)
        bt += col_plain_bits(&cols[i], &b->cols[i], off, k);
    return bt;
}

/* Memory rows [off, off+k) may take in a row group before their pages are
 * compressed (levels, PLAIN values or indices); also adds up over rows. */
static uint64_t mem_est(const bronze_pq_col *cols, size_t ncols, const bronze_batch *b, size_t off,
                        size_t k)
{
    uint64_t mm = 0;
    for (size_t i = 0; i < ncols; i++) {
        const bronze_pq_col *c = &cols[i];
        uint64_t w = (uint64_t)c->width;
        if (c->nullable)
            mm += k;
        switch (c->ptype) {
        case PQ_BOOLEAN:
            mm += k;
            break;
        case PQ_FLBA:
            mm += w * k;
            break;
        case PQ_BYTE_ARRAY:
            mm += 8 * (uint64_t)k + (b->cols[i].v.off[off + k] - b->cols[i].v.off[off]);
            break;
        default:
            mm += (w + 4) * k;
            break;
        }
    }
    return mm;
}

static int hist_put(bronze_encoder *e, size_t k, uint64_t comp, uint64_t plain, bronze_err *err)
{
    if (k >= e->hist_cap) {
        size_t cap = e->hist_cap ? e->hist_cap * 2 : 64;
        while (cap <= k)
            cap *= 2;
        uint64_t *hc = realloc(e->hist_comp, cap * sizeof *hc);
        if (!hc)
            return oom(err);
        e->hist_comp = hc;
        uint64_t *hp = realloc(e->hist_plain, cap * sizeof *hp);
        if (!hp)
            return oom(err);
        e->hist_plain = hp;
        e->hist_cap = cap;
    }
    e->hist_comp[k] = comp;
    e->hist_plain[k] = plain;
    return 0;
}

/* The chunk that ratio_chunk(k) reads. */
static size_t ratio_chunk(size_t k)
{
    return k > RG_LAG ? k - RG_LAG : 0;
}

/* The open chunk's cap in PLAIN bits, or 0 for the part's first chunk, which
 * ends at its first guard cut (no ratio known yet). Needs the history of
 * chunk ratio_chunk(nchunk) (chunk_begin() waits for it). */
static uint64_t chunk_pcap(const bronze_encoder *e)
{
    size_t k = e->nchunk;
    if (!k)
        return 0;
    size_t j = ratio_chunk(k);
    double ratio =
        e->hist_plain[j] ? (double)e->hist_comp[j] * 8.0 / (double)e->hist_plain[j] : 1.0;
    double cap = (double)e->rg_cap * RG_TARGET / (ratio > 1e-6 ? ratio : 1e-6);
    uint64_t lo = e->rg_cap / 4, c = cap > (double)RG_RAW_MAX ? RG_RAW_MAX : (uint64_t)cap;
    return 8 * (c < lo ? lo : c);
}

/* Rows (<= n) of [off, off+n) that still belong to the open chunk. */
static size_t rg_room(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n)
{
    if (n > RG_MAX_ROWS - e->ch_rows)
        n = RG_MAX_ROWS - e->ch_rows;
    uint64_t pcap = e->spec ? 0 : chunk_pcap(e); /* every cap is <= RG_RAW_MAX */
    uint64_t lim = pcap ? pcap : 8 * RG_RAW_MAX;
    if (e->ch_plain >= lim)
        return 0;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (plain_bits(e->cols, e->ncols, b, off, mid) <= lim - e->ch_plain)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Most rows (<= n) whose memory estimate fits the row group's cap. */
static size_t mem_room(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n)
{
    uint64_t used = rg_mem(e);
    if (used >= e->rg_cap)
        return 0;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (used + mem_est(e->cols, e->ncols, b, off, mid) <= e->rg_cap)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* The guard (a row group's bytes held <= rg_cap whatever the ratio said) looks again after this
 * many more rows: as many as the group's raw memory per row says fit. Depends on the group's own
 * rows only. */
static size_t guard_step(uint64_t full, uint64_t mem, size_t rows, uint64_t mm)
{
    if (!rows || !mm || mem >= full)
        return GUARD_MIN;
    uint64_t per = mm / rows ? mm / rows : 1, st = (full - mem) / per;
    return st < GUARD_MIN ? GUARD_MIN : st > GUARD_MAX ? GUARD_MAX : (size_t)st;
}

static int finish_one(bronze_pq_col *c, bronze_pq_ctx *x, size_t i, void *arg, bronze_err *err)
{
    (void)i;
    (void)arg;
    return bronze_pq_col_finish_page(c, x, err);
}

static int finish_cols(bronze_pq_pool *pool, bronze_pq_col *cols, size_t n, bronze_pq_ctx *x,
                       bronze_err *err)
{
    if (pool)
        return bronze_pq_pool_run(pool, cols, n, x, finish_one, NULL, err);
    for (size_t i = 0; i < n; i++)
        if (bronze_pq_col_finish_page(&cols[i], x, err))
            return -1;
    return 0;
}

static int finish_pages(bronze_encoder *e, bronze_err *err)
{
    e->open_rows = 0;
    return finish_cols(e->pool, e->cols, e->ncols, &e->ctx, err);
}

/* The guard's check of a row group of `rows` rows (the same on the caller's
 * thread and in a chunk worker): at rg_cap, the pages are closed
 * first, and if the bytes held are still over, *cut. */
static int guard_check(uint64_t rg_cap, bronze_pq_pool *pool, bronze_pq_col *cols, size_t ncols,
                       bronze_pq_ctx *x, size_t rows, uint64_t mm, size_t *open_rows,
                       size_t *next_check, bool *cut, bronze_err *err)
{
    const uint64_t full = rg_cap;
    uint64_t mem = cols_mem(cols, ncols);
    *cut = false;
    if (mem >= full && *open_rows) {
        if (finish_cols(pool, cols, ncols, x, err))
            return -1;
        *open_rows = 0;
        mem = cols_mem(cols, ncols);
    }
    if (mem >= full) {
        *cut = true;
        return 0;
    }
    *next_check = rows + guard_step(full, mem, rows, mm);
    return 0;
}

/* Writes a row group from cols (closing each chunk here when dicts is NULL,
 * else with the dictionary pages a worker made). *held = the bytes it held
 * with its pages closed, as bronze_pq_col_mem() counts them (compressed
 * pages, raw dictionaries): the guard's units, in which chunk ratios are
 * kept (a worker's job counts them itself, the same way). */
static int write_group(bronze_encoder *e, bronze_pq_col *cols, bronze_buf *dicts,
                       const uint64_t *dict_uncomp, size_t rows, uint64_t *held, bronze_err *err)
{
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
    *held = 0;
    /* the chunks, then the row group's bloom filters */
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &cols[i];
        c->at_start = file_pos(e);
        const bronze_buf *dp = dicts ? &dicts[i] : &e->scratch;
        if (dicts) {
            c->at_dict_uncomp = dict_uncomp[i];
        } else {
            e->scratch.len = 0;
            if (bronze_pq_col_finish_page(c, &e->ctx, err))
                return -1;
            *held += bronze_pq_col_mem(c);
            if (bronze_pq_col_close_chunk(c, &e->ctx, &e->scratch, &c->at_dict_uncomp, err))
                return -1;
        }
        if (put(e, dp->data, dp->len, err) || put(e, c->pages.data, c->pages.len, err))
            return -1;
        c->at_dict_len = dp->len;
        uncomp += c->pages_uncomp + c->at_dict_uncomp;
        comp += c->pages.len + c->at_dict_len;
    }
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &cols[i];
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
        bronze_pq_col *c = &cols[i];
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
    bronze_tc_field_i64(&t, 3, (int64_t)rows);
    bronze_tc_field_i64(&t, 5, (int64_t)rg_start);
    bronze_tc_field_i64(&t, 6, (int64_t)comp);
    bronze_tc_struct_end(&t);
    if (t.failed)
        return oom(err);
    e->nrg++;
    e->total_rows += rows;
    return 0;
}

/* Writes the open row group (of the caller's thread); *held = its bytes
 * held once closed (see write_group()). */
/* The open row group is empty again (its columns reset by the caller). */
static void group_clear(bronze_encoder *e)
{
    e->rg_rows = 0;
    e->open_rows = 0;
    e->rg_mm = 0;
    e->next_check = GUARD_MIN;
}

/* The open row group is dropped: its columns start over, empty. */
static void group_discard(bronze_encoder *e)
{
    for (size_t i = 0; i < e->ncols; i++)
        bronze_pq_col_reset_chunk(&e->cols[i]);
    group_clear(e);
}

static int flush_rg(bronze_encoder *e, uint64_t *held, bronze_err *err)
{
    *held = 0;
    if (!e->rg_rows)
        return 0;
    if (write_group(e, e->cols, NULL, NULL, e->rg_rows, held, err))
        return -1;
    group_clear(e);
    return 0;
}

/* A guard cut: the open row group ends, its chunk goes on (the first chunk
 * of a part ends with it). */
static int end_chunk(bronze_encoder *e, bronze_err *err);

static int group_cut(bronze_encoder *e, bronze_err *err)
{
    if (!e->nchunk)
        return end_chunk(e, err);
    uint64_t comp;
    if (flush_rg(e, &comp, err))
        return -1;
    e->ch_comp += comp;
    e->g_start = e->ch_rows;
    return 0;
}

static void mark_now(bronze_encoder *e)
{
    e->ch_mark = (mark){file_pos(e), e->rg_meta.len, e->ci.len, e->oi.len, e->nrefs};
}

/* ---- chunk workers ---- */

static int job_init(bronze_encoder *e, rg_job *j, bronze_err *err);
static void job_free(bronze_encoder *e, rg_job *j);

/* A chunk worker's pass over a job: rows from j->from on, as one row group,
 * until its chunk ends or the guard cuts it (j->taken), pages and
 * dictionaries closed and compressed. The same steps as append_rows(). */
static int job_run(void *arg, bronze_err *err)
{
    rg_job *j = arg;
    const bronze_batch *b = &j->rows.b;
    size_t ncols = b->schema->ncols, n = b->nrows, r = j->from, open = 0;
    j->next_check = GUARD_MIN;
    j->mm = 0;
    while (r < n) {
        size_t g = r - j->from;
        if (g && g == j->next_check) {
            bool cut;
            if (guard_check(j->rg_cap, NULL, j->cols, ncols, &j->ctx, g, j->mm, &open,
                            &j->next_check, &cut, err))
                return -1;
            if (cut)
                break;
        }
        size_t m = n - r;
        if (m > j->next_check - g)
            m = j->next_check - g;
        for (size_t i = 0; i < ncols; i++)
            if (bronze_pq_col_add(&j->cols[i], &j->ctx, &b->cols[i], r, m, err))
                return -1;
        j->mm += mem_est(j->cols, ncols, b, r, m);
        open += m;
        r += m;
    }
    j->taken = r;
    j->held = 0;
    for (size_t i = 0; i < ncols; i++) {
        bronze_pq_col *c = &j->cols[i];
        if (bronze_pq_col_finish_page(c, &j->ctx, err))
            return -1;
        j->held += bronze_pq_col_mem(c);
        if (bronze_pq_col_close_chunk(c, &j->ctx, &j->dicts[i], &j->dict_uncomp[i], err))
            return -1;
    }
    return 0;
}

/* A chunk's column on a chunk worker (a job's task): every row of the
 * chunk as one row group, its pages and dictionary closed, as job_run()
 * would if the guard never acted. job_done() checks that it never would. */
static int job_column(void *arg, size_t i, int tid, bronze_err *err)
{
    rg_job *j = arg;
    if (j->whole)
        return job_run(j, err);
    const bronze_batch *b = &j->rows.b;
    i = j->order[i];
    bronze_pq_col *c = &j->cols[i];
    bronze_pq_ctx *x = &j->tctx[tid];
    if (bronze_pq_col_add(c, x, &b->cols[i], 0, b->nrows, err) ||
        bronze_pq_col_finish_page(c, x, err))
        return -1;
    j->col_held[i] = bronze_pq_col_mem(c);
    return bronze_pq_col_close_chunk(c, x, &j->dicts[i], &j->dict_uncomp[i], err);
}

/* Once a chunk's columns are encoded: the guard checks the sum of the
 * columns' bytes held at its check points, which never passes the sum of
 * their peaks; below the cap the guard never acted, and the row group is
 * the one job_run() makes. Else it is made again by job_run(), guard and
 * all (a chunk at the edge of the cap; rare). */
static int job_done(void *arg, int tid, bronze_err *err)
{
    (void)tid;
    rg_job *j = arg;
    if (j->whole)
        return 0;
    size_t ncols = j->rows.b.schema->ncols;
    uint64_t peak = 0, held = 0;
    for (size_t i = 0; i < ncols; i++) {
        peak += j->cols[i].peak_mem;
        held += j->col_held[i];
    }
    if (peak < j->rg_cap) {
        j->taken = j->rows.b.nrows;
        j->held = held;
        return 0;
    }
    j->redone = true;
    if (!j->index)
        return 0; /* a part's first chunk ends at a guard cut: write_job() redoes it */
    for (size_t i = 0; i < ncols; i++)
        bronze_pq_col_reset_chunk(&j->cols[i]);
    return job_run(j, err);
}

/* A written job's row buffers go to the open chunk when that has smaller
 * ones and no rows (the usual case: submit_chunk() just gave the open
 * chunk's buffers to a job and took the free job's), so the buffers of the
 * chunks in flight and of the open chunk take turns: with submit_chunk()'s
 * wait, two sets of rows for two workers, not a third kept by a free job. */
static void release_job(bronze_encoder *e, rg_job *j)
{
    e->inflight--;
    e->inflight_bound -= j->bound;
    bronze_pq_rows_truncate(&j->rows, 0);
    if (!e->tail.b.nrows && e->tail.b.cap < j->rows.b.cap) {
        bronze_pq_rows t = e->tail;
        e->tail = j->rows;
        j->rows = t;
    }
    j->next_free = e->free_jobs;
    e->free_jobs = j;
}

/* Rows [off, off+n) of src, then the carry not taken yet, become the carry. */
static int carry_front(bronze_encoder *e, const bronze_batch *src, size_t off, size_t n,
                       bronze_err *err)
{
    bronze_pq_rows_truncate(&e->spare, 0);
    if ((n && bronze_pq_rows_append(&e->spare, src, off, n)) ||
        (e->carry_off < e->carry.b.nrows &&
         bronze_pq_rows_append(&e->spare, &e->carry.b, e->carry_off,
                               e->carry.b.nrows - e->carry_off)))
        return oom(err);
    bronze_pq_rows t = e->carry;
    e->carry = e->spare;
    e->spare = t;
    bronze_pq_rows_truncate(&e->spare, 0);
    e->carry_off = 0;
    return 0;
}

/* A part's first chunk went to the workers whole (no size limit) but its
 * columns' peaks reached the cap: the guard may have cut it shorter, so its
 * rows, the open chunk's after them, go through this thread again as a
 * single worker takes them (chunk 0 encoded here, the rows after its guard
 * cut starting chunk 1). No other chunk is in flight: chunk 1 is not
 * submitted before chunk 0's history is written. */
static int redo_first(bronze_encoder *e, rg_job *j, bronze_err *err)
{
    for (size_t i = 0; i < e->ncols; i++)
        bronze_pq_col_reset_chunk(&j->cols[i]);
    if (carry_front(e, &e->tail.b, 0, e->ch_rows, err) ||
        carry_front(e, &j->rows.b, 0, j->rows.b.nrows, err))
        return -1;
    e->part_raw -= j->plain + e->ch_plain;
    release_job(e, j);
    bronze_pq_rows_truncate(&e->tail, 0);
    e->ch_rows = 0;
    e->ch_plain = 0;
    e->nchunk = e->nhist = 0;
    e->raw = e->spec = false;
    e->serial_first = true;
    return 0;
}

/* Writes a collected job's row groups (running the passes after a guard cut
 * here), records its chunk's history, frees the job for reuse. */
static int write_job(bronze_encoder *e, rg_job *j, bronze_err *err)
{
    if (!j->index && j->redone)
        return redo_first(e, j, err);
    uint64_t total = 0;
    for (;;) {
        uint64_t unused;
        if (write_group(e, j->cols, j->dicts, j->dict_uncomp, j->taken - j->from, &unused, err))
            return -1;
        total += j->held;
        if (j->taken >= j->rows.b.nrows)
            break;
        j->from = j->taken;
        if (job_run(j, err))
            return -1;
    }
    if (hist_put(e, j->index, total, j->plain, err))
        return -1;
    e->last_redone = j->redone;
    e->nhist = j->index + 1;
    release_job(e, j);
    return 0;
}

/* Writes the oldest job once it has run (waiting for it when `wait`).
 * 1 when one was written, 0 when none was ready, -1 on error. */
static int collect_one(bronze_encoder *e, bool wait, bronze_err *err)
{
    if (!e->jobs || !e->inflight)
        return 0;
    int rc = 0;
    rg_job *j = bronze_pq_jobs_collect(e->jobs, wait, &rc, err);
    if (!j)
        return 0;
    if (rc || write_job(e, j, err))
        return -1;
    return 1;
}

static int drain(bronze_encoder *e, bronze_err *err)
{
    while (e->inflight)
        if (collect_one(e, true, err) < 0)
            return -1;
    return 0;
}

static uint64_t rows_bound(const bronze_encoder *e, const bronze_batch *b1, size_t off1, size_t k1,
                           const bronze_batch *b2, size_t off2, size_t k2);

/* The column tasks of a job, the largest first (by PLAIN size, which the
 * codec's work follows), so that the last to start are the quick ones and
 * the workers finish a chunk together. Insertion sort: stable, and columns
 * are few. */
static void order_columns(const bronze_encoder *e, rg_job *j)
{
    for (size_t i = 0; i < e->ncols; i++) {
        uint64_t w = col_plain_bits(&e->cols[i], &j->rows.b.cols[i], 0, j->rows.b.nrows);
        size_t k = i;
        while (k && j->weight[j->order[k - 1]] < w) {
            j->order[k] = j->order[k - 1];
            k--;
        }
        j->weight[i] = w;
        j->order[k] = i;
    }
}

/* The open chunk (its rows in e->tail) goes to a chunk worker. */
static int submit_chunk(bronze_encoder *e, bronze_err *err)
{
    while (e->inflight >= e->max_jobs)
        if (collect_one(e, true, err) < 0)
            return -1;
    rg_job *j = e->free_jobs;
    if (j) {
        e->free_jobs = j->next_free;
    } else {
        if (!(j = calloc(1, sizeof *j)))
            return oom(err);
        if (job_init(e, j, err)) {
            job_free(e, j);
            return -1;
        }
        j->next_free = NULL;
        e->all_jobs[e->njobs++] = j;
    }
    bronze_pq_rows t = j->rows;
    j->rows = e->tail;
    e->tail = t;
    bronze_pq_rows_truncate(&e->tail, 0);
    j->plain = e->ch_plain;
    j->index = e->nchunk;
    j->from = j->taken = 0;
    j->bound = rows_bound(e, &j->rows.b, 0, j->rows.b.nrows, NULL, 0, 0);
    j->whole = e->nchunk && (e->last_redone || e->ncols == 1);
    j->redone = false;
    if (!j->whole)
        order_columns(e, j);
    if (bronze_pq_jobs_submit(e->jobs, j, j->whole ? 1 : e->ncols, err))
        return -1;
    e->inflight++;
    e->inflight_bound += j->bound;
    e->nchunk++;
    e->ch_rows = 0;
    e->ch_plain = e->ch_comp = 0;
    e->g_start = 0;
    e->raw = e->spec = false;
    /* No chunk is cut while max_jobs are in flight: each chunk worker holds
     * one row group (its rows and their encoding; SPEC §7), and the next
     * chunk's rows begin only once the oldest is written. The workers stay
     * busy meanwhile: the chunk just submitted has its tasks queued. */
    while (e->inflight >= e->max_jobs)
        if (collect_one(e, true, err) < 0)
            return -1;
    return 0;
}

/* The open chunk ends (its row group with it). */
static int end_chunk(bronze_encoder *e, bronze_err *err)
{
    if (e->raw)
        return submit_chunk(e, err);
    uint64_t comp;
    if (flush_rg(e, &comp, err) || hist_put(e, e->nchunk, e->ch_comp + comp, e->ch_plain, err))
        return -1;
    e->nchunk++;
    e->nhist = e->nchunk;
    e->ch_rows = 0;
    e->ch_plain = e->ch_comp = 0;
    e->g_start = 0;
    if (!e->zone)
        bronze_pq_rows_truncate(&e->tail, 0);
    return 0;
}

/* The history the open chunk's cap needs is written by the chunks in
 * flight: the oldest one is written (waiting for it). */
static int await_history(bronze_encoder *e, bronze_err *err)
{
    int rc = collect_one(e, true, err);
    if (rc < 0)
        return -1;
    return rc ? 0
              : bronze_err_set(err, BRONZE_E_RUNTIME, "internal: chunk %zu has no history",
                               ratio_chunk(e->nchunk));
}

/* A chunk starts: it is encoded by a chunk worker (raw: rows only copied
 * here) unless it is a part's first with a size limit (cut by the guard, so
 * it must be encoded as it comes); the history its cap needs is written
 * first, or, with no size limit, later (spec: see resolve()). */
static int chunk_begin(bronze_encoder *e, bronze_err *err)
{
    /* a part's first chunk goes to the workers too when no size limit
     * can stop it early (it is redone here if the guard may have cut it) */
    e->raw = e->jobs && !e->zone && (e->nchunk || (!e->max_bytes && !e->serial_first));
    e->spec = e->raw && !e->max_bytes && e->nchunk && e->nhist <= ratio_chunk(e->nchunk);
    while (!e->spec && e->nchunk && e->nhist <= ratio_chunk(e->nchunk))
        if (await_history(e, err))
            return -1;
    if (!e->inflight)
        mark_now(e);
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
 * values, dictionary entry + index), *mem of memory they may take. With
 * fresh != 0 the rows go into new row groups of `fresh` rows in all (index
 * width from that, whatever the open row group's dictionary holds). */
static void raw_cost(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t k,
                     size_t fresh, uint64_t *bits, uint64_t *mem)
{
    uint64_t bt = 0, mm = 0;
    int fbw = bronze_rle_bit_width((uint64_t)fresh);
    fbw = fbw < 1 ? 1 : fbw > 20 ? 20 : fbw;
    for (size_t i = 0; i < e->ncols; i++) {
        const bronze_pq_col *c = &e->cols[i];
        int bw = fresh ? fbw : bw_after(c, k);
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
            bt += 8 * (4 * (uint64_t)k + len) + (uint64_t)k * (uint64_t)(bw + 1);
            mm += 8 * (uint64_t)k + len;
            break;
        }
        default:
            bt += (uint64_t)k * (8 * w + (uint64_t)bw + 1);
            mm += (w + 4) * k;
            break;
        }
    }
    *bits += bt;
    *mem += mm;
}

static uint64_t lin(const bronze_encoder *e, uint64_t x)
{
    return x + (x * e->lin.num + e->lin.den - 1) / e->lin.den;
}

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
    uint64_t bits = 0, kmem = 0;
    raw_cost(e, b, off, k, 0, &bits, &kmem);
    uint64_t bytes = (bits + 7) / 8;
    uint64_t pages = e->ncols * (3 + k / BRONZE_PQ_PAGE_ROWS) + bytes / BRONZE_PQ_PAGE_BYTES;
    uint64_t body = lin(e, bytes) + pages * e->page_ov;
    /* Every row group these rows open: its metadata, and per column one more
     * dictionary page and page split. A group is flushed at the row cap, or
     * holding >= cap/2 bytes in memory, or before a row of > cap/2 bytes, or
     * at its chunk's PLAIN cap (>= cap/4 bytes), or once more by staging. */
    uint64_t groups =
        (e->rg_rows ? 0 : 1) + (e->rg_rows + k) / RG_MAX_ROWS + 2 * (mem + kmem) / e->rg_cap +
        (e->ch_plain + plain_bits(e->cols, e->ncols, b, off, k)) / (2 * e->rg_cap) + 1;
    uint64_t per_group = e->rg_meta_max + e->ncols * e->page_ov;
    for (size_t i = 0; i < e->ncols; i++)
        if (e->cols[i].bloom)
            per_group += BRONZE_PQ_BLOOM_HDR + bronze_pq_col_bloom_bytes(&e->cols[i], k);
    return s + body + groups * per_group;
}

/* Worst-case bytes rows [off1, off1+k1) of b1 then [off2, off2+k2) of b2
 * add to the file in new row groups of their own (bound_after()'s rows term
 * for an empty row group): the same whichever thread encodes them. */
static uint64_t rows_bound(const bronze_encoder *e, const bronze_batch *b1, size_t off1, size_t k1,
                           const bronze_batch *b2, size_t off2, size_t k2)
{
    size_t k = k1 + k2;
    if (!k)
        return 0;
    uint64_t bits = 0, mem = 0, plain = 0;
    if (k1) {
        raw_cost(e, b1, off1, k1, k, &bits, &mem);
        plain += plain_bits(e->cols, e->ncols, b1, off1, k1);
    }
    if (k2) {
        raw_cost(e, b2, off2, k2, k, &bits, &mem);
        plain += plain_bits(e->cols, e->ncols, b2, off2, k2);
    }
    uint64_t bytes = (bits + 7) / 8;
    uint64_t pages = e->ncols * (3 + k / BRONZE_PQ_PAGE_ROWS) + bytes / BRONZE_PQ_PAGE_BYTES;
    uint64_t body = lin(e, bytes) + pages * e->page_ov;
    uint64_t groups = 1 + k / RG_MAX_ROWS + 2 * mem / e->rg_cap + plain / (2 * e->rg_cap) + 1;
    uint64_t per_group = e->rg_meta_max + e->ncols * e->page_ov, blooms = 0;
    for (size_t i = 0; i < e->ncols; i++)
        if (e->cols[i].bloom) {
            uint64_t bb = BRONZE_PQ_BLOOM_HDR + bronze_pq_col_bloom_bytes(&e->cols[i], k);
            per_group += bb;
            blooms += bb;
        }
    return body + groups * per_group + blooms;
}

/* The fast size check, the same quantity for every worker count: the file
 * as written before the open chunk (or as written now plus the bounds of
 * the chunks in flight, which are >= what they will write) and the open
 * chunk's rows with the new ones, bounded as new row groups. */
static uint64_t check_bound(const bronze_encoder *e, const bronze_batch *b, size_t off, size_t n)
{
    mark m =
        e->raw ? (mark){file_pos(e), e->rg_meta.len, e->ci.len, e->oi.len, e->nrefs} : e->ch_mark;
    uint64_t s = m.pos + e->footer_base + m.meta_len + m.ci_len + m.oi_len +
                 m.nrefs * PIDX_TAIL_MAX + e->inflight_bound;
    return s + rows_bound(e, &e->tail.b, 0, e->ch_rows, b, off, n);
}

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

/* Adds rows to the open row group (this thread's column writers). */
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
    uint64_t p = plain_bits(e->cols, e->ncols, b, off, n);
    e->rg_rows += n;
    e->open_rows += n;
    e->rg_mm += mem_est(e->cols, e->ncols, b, off, n);
    e->ch_rows += n;
    e->ch_plain += p;
    e->part_raw += p;
    return 0;
}

/* One step of appending to the open row group: at a guard point the guard
 * may cut the group (returns 1: nothing added, the caller asks again);
 * else adds up to *m rows, at most to the next guard point, keeping a copy
 * when a size limit is set (*m: the rows added; returns 0). */
static int guarded_add(bronze_encoder *e, const bronze_batch *b, size_t off, size_t *m,
                       bronze_err *err)
{
    if (e->rg_rows && e->rg_rows == e->next_check) {
        bool cut;
        if (guard_check(e->rg_cap, e->pool, e->cols, e->ncols, &e->ctx, e->rg_rows, e->rg_mm,
                        &e->open_rows, &e->next_check, &cut, err))
            return -1;
        if (cut)
            return group_cut(e, err) ? -1 : 1;
    }
    if (*m > e->next_check - e->rg_rows)
        *m = e->next_check - e->rg_rows;
    if (add_rows(e, b, off, *m, err))
        return -1;
    if (e->max_bytes && bronze_pq_rows_append(&e->tail, b, off, *m))
        return oom(err);
    return 0;
}

/* The open raw chunk was begun before the history its cap needs was
 * written (spec): once it is (waiting for it when `wait`), the rows past
 * the cap go to the carry and the chunk is submitted, cut where a single
 * worker cuts it (the cap on a prefix of PLAIN bits, at least one row). */
static int resolve(bronze_encoder *e, bool wait, bronze_err *err)
{
    while (e->spec && e->nhist <= ratio_chunk(e->nchunk)) {
        if (!wait)
            return 0;
        if (await_history(e, err))
            return -1;
    }
    if (!e->spec) /* a first chunk redone meanwhile (redo_first()) */
        return 0;
    e->spec = false;
    uint64_t lim = chunk_pcap(e);
    if (e->ch_plain <= lim)
        return 0;
    const bronze_batch *t = &e->tail.b;
    size_t lo = 1, hi = e->ch_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (plain_bits(e->cols, e->ncols, t, 0, mid) <= lim)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo < e->ch_rows) {
        uint64_t keep = plain_bits(e->cols, e->ncols, t, 0, lo);
        if (carry_front(e, t, lo, e->ch_rows - lo, err))
            return -1;
        bronze_pq_rows_truncate(&e->tail, lo);
        e->part_raw -= e->ch_plain - keep;
        e->ch_plain = keep;
        e->ch_rows = lo;
    }
    return submit_chunk(e, err);
}

/* One step of appending rows [off, off+n) of b: a chunk begins or ends, or
 * *used rows join the open one (a raw chunk's rows are only copied, for a
 * worker; else encoded here, row groups inside the chunk cut at the guard).
 * A step that waits for a worker (which may move rows to the carry) takes
 * no row. */
static int append_step(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, size_t *used,
                       bronze_err *err)
{
    *used = 0;
    if (!e->ch_rows && chunk_begin(e, err))
        return -1;
    size_t m = rg_room(e, b, off, n);
    if (!m) {
        if (e->ch_rows)
            return e->spec ? resolve(e, true, err) : end_chunk(e, err);
        m = 1; /* one row larger than a row group: it gets its own */
    }
    if (e->raw) {
        if (bronze_pq_rows_append(&e->tail, b, off, m))
            return oom(err);
        uint64_t p = plain_bits(e->cols, e->ncols, b, off, m);
        e->ch_rows += m;
        e->ch_plain += p;
        e->part_raw += p;
        *used = m;
        return 0;
    }
    int rc = guarded_add(e, b, off, &m, err);
    if (rc < 0)
        return -1;
    if (!rc)
        *used = m;
    return 0;
}

/* Appends rows: chunks end at their caps (rg_room()); rows in the carry go
 * first. b may be NULL with n 0 (the carry only). */
static int append_rows(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                       bronze_err *err)
{
    for (;;) {
        bool from_carry = e->carry_off < e->carry.b.nrows;
        const bronze_batch *src = from_carry ? &e->carry.b : b;
        size_t so = from_carry ? e->carry_off : off;
        size_t sn = from_carry ? e->carry.b.nrows - e->carry_off : n;
        if (!sn)
            return 0;
        size_t used;
        if (append_step(e, src, so, sn, &used, err))
            return -1;
        if (from_carry) {
            e->carry_off += used;
            if (e->carry_off == e->carry.b.nrows) {
                bronze_pq_rows_truncate(&e->carry, 0);
                e->carry_off = 0;
            }
        } else {
            off += used;
            n -= used;
        }
        /* write what is done meanwhile; a cap that became known cuts */
        if (used && e->raw &&
            (collect_one(e, false, err) < 0 || (e->spec && resolve(e, false, err))))
            return -1;
    }
}

/* After the chunks in flight are written: the open raw chunk's rows are
 * encoded here, as a single worker would have encoded them as they came. */
static int catch_up(bronze_encoder *e, bronze_err *err)
{
    if (!e->raw)
        return 0;
    e->raw = false;
    mark_now(e);
    bronze_pq_rows t = e->spare;
    e->spare = e->tail;
    e->tail = t;
    bronze_pq_rows_truncate(&e->tail, 0);
    size_t n = e->ch_rows;
    e->part_raw -= e->ch_plain;
    e->ch_rows = 0;
    e->ch_plain = 0;
    e->raw = false;
    /* append_rows() must not start a new chunk: the rows are the open one's */
    while (e->ch_rows < n) {
        size_t done = e->ch_rows, m = n - done;
        const bronze_batch *b = &e->spare.b;
        if (guarded_add(e, b, done, &m, err) < 0)
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
    e->nchunk = e->nhist = e->st_nchunk;
    e->ch_rows = e->st_ch_rows;
    e->ch_plain = e->st_ch_plain;
    e->ch_comp = e->st_ch_comp;
    group_discard(e);
    return 0;
}

/* Re-applies the first `steps` logged steps, then rows up to `upto`. */
/* One logged action (see the enum). */
static int do_act(bronze_encoder *e, int act, bronze_err *err)
{
    return act == ACT_END_CHUNK  ? end_chunk(e, err)
           : act == ACT_FLUSH_RG ? group_cut(e, err)
                                 : finish_pages(e, err);
}

/* Cutting the open row group: a guard cut, or the end of the first chunk. */
static int cut_act(const bronze_encoder *e)
{
    return e->nchunk ? ACT_FLUSH_RG : ACT_END_CHUNK;
}

static int replay(bronze_encoder *e, const bronze_batch *b, size_t off, size_t steps, size_t upto,
                  bronze_err *err)
{
    size_t k = 0;
    for (size_t i = 0; i < steps && e->sched[i].pos <= upto; i++) {
        if (add_rows(e, b, off + k, e->sched[i].pos - k, err))
            return -1;
        k = e->sched[i].pos;
        if (do_act(e, e->sched[i].act, err))
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
    double ratio = e->part_raw ? (double)actual_bytes(e) * 8.0 / (double)e->part_raw : 1.0;
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
        if ((double)plain_bits(e->cols, e->ncols, b, off, mid) / 8.0 <= room)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Starts the staging zone: the row group is empty, and from here on every
 * row goes through e->tail and every step into the log. */
static void zone_begin(bronze_encoder *e, size_t keep)
{
    e->zone = true;
    e->staged = false;
    e->st_pos = file_pos(e); /* the open row group is in memory only */
    e->st_nrg = e->nrg;
    e->st_meta_len = e->rg_meta.len;
    e->st_nrefs = e->nrefs;
    e->st_ci_len = e->ci.len;
    e->st_oi_len = e->oi.len;
    e->st_total_rows = e->total_rows;
    e->st_part_raw = e->part_raw;
    e->st_nchunk = e->nchunk;
    e->st_ch_rows = e->ch_rows;
    e->st_ch_plain = e->ch_plain;
    e->st_ch_comp = e->ch_comp;
    e->nsched = 0;
    e->tail_n = e->tail_sched = 0;
    bronze_pq_rows_truncate(&e->tail, keep);
    e->step_ratio = 0;
}

/* Stages rows [k0, n) of the zone's rows b (rows [0, k0) are in the row
 * groups already, as the log says) as far as they provably fit (see the
 * file comment). Returns the rows staged in all, >= k0, or (size_t)-1. */
static size_t stage(bronze_encoder *e, const bronze_batch *b, size_t k0, size_t n, bronze_err *err)
{
    const size_t off = 0;
    const uint64_t max = e->max_bytes;
    size_t k = k0;
    bool size_safe = false, rg_safe = false, tried_flush = false;
    for (int step = 0; k < n && step < STAGE_MAX_STEPS; step++) {
        if (e->rg_rows && !rg_room(e, b, off + k, n - k)) {
            if (end_chunk(e, err) || sched_push(e, k, ACT_END_CHUNK, err))
                return (size_t)-1;
            continue;
        }
        if (e->rg_rows && rg_mem(e) >= e->rg_cap - e->rg_cap / 16) {
            int act = cut_act(e);
            if (do_act(e, act, err) || sched_push(e, k, act, err))
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
        size_t lim = rg_room(e, b, off + k, n - k);
        uint64_t mem = rg_mem(e);
        size_t by_mem_lim = mem_room(e, b, off + k, lim);
        if (by_mem_lim < lim)
            lim = by_mem_lim;
        size_t raw_lim = lim ? lim : 1;
        bool by_mem = true;
        if (by_mem && !rg_safe && mem < e->rg_cap) {
            size_t est =
                estimate(e, b, off + k, n - k, e->rg_cap - mem, e->ncols * e->page_ov, 1.25);
            size_t chunk_lim = rg_room(e, b, off + k, n - k);
            if (est > lim)
                lim = est < chunk_lim ? est : chunk_lim;
        }
        if (!lim) {
            if (!e->rg_rows)
                lim = 1;
            else {
                int act = rg_room(e, b, off + k, n - k) ? cut_act(e) : ACT_END_CHUNK;
                if (do_act(e, act, err) || sched_push(e, k, act, err))
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
            int act = cut_act(e);
            if (do_act(e, act, err) || sched_push(e, k, act, err))
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
            e->step_ratio = (double)(actual1 - actual0) * 8.0 / (double)(e->part_raw - raw0);
        bool over_size = m > safe && bound_after(e, b, off + k, 0) > max;
        bool over_rg = by_mem && m > raw_lim && rg_mem(e) > e->rg_cap;
        if (over_size || over_rg) {
            /* too bold (over the size or the row-group cap): rebuild the
             * staged rows without the last step */
            size_t steps = e->nsched - 1;
            size_t back = steps ? e->sched[steps - 1].pos : 0;
            if (unstage(e, err))
                return (size_t)-1;
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
    return k;
}

/* Number of log entries at or before row `upto`. */
static size_t sched_upto(const bronze_encoder *e, size_t upto)
{
    size_t i = 0;
    while (i < e->nsched && e->sched[i].pos <= upto)
        i++;
    return i;
}

/* Back to the zone's accepted rows (drops the staged ones). */
static int zone_restore(bronze_encoder *e, size_t upto, bronze_err *err)
{
    size_t steps = sched_upto(e, upto);
    if (unstage(e, err) || replay(e, &e->tail.b, 0, steps, upto, err))
        return -1;
    e->nsched = steps;
    return 0;
}

/* After rows [tail_n, upto) were accepted: the log ends at a step at upto. */
static int zone_accept(bronze_encoder *e, size_t upto, bronze_err *err)
{
    e->nsched = sched_upto(e, upto);
    if (upto > (e->nsched ? e->sched[e->nsched - 1].pos : 0) &&
        (finish_pages(e, err) || sched_push(e, upto, ACT_FINISH_PAGES, err)))
        return -1;
    e->tail_n = upto;
    e->tail_sched = e->nsched;
    bronze_pq_rows_truncate(&e->tail, upto);
    e->staged = false;
    /* a zone that grew past a few row groups of rows (data that compresses
     * far better than its bound) starts again after its rows */
    if (bronze_pq_rows_bytes(&e->tail) > ZONE_MAX_BYTES) {
        if (e->rg_rows && group_cut(e, err))
            return -1;
        zone_begin(e, 0);
    }
    return 0;
}

/* Rows [off, off+n) of b appended to the zone without a fit(): added like
 * append_rows() does, each row-group cut logged. */
static int zone_add(bronze_encoder *e, size_t k, size_t n, bronze_err *err)
{
    const bronze_batch *b = &e->tail.b;
    while (k < n) {
        size_t m = rg_room(e, b, k, n - k);
        if (!m) {
            if (e->ch_rows) {
                if (end_chunk(e, err) || sched_push(e, k, ACT_END_CHUNK, err))
                    return -1;
                continue;
            }
            m = 1;
        }
        if (e->rg_rows && e->rg_rows >= e->next_check) {
            bool cut;
            size_t open0 = e->open_rows;
            if (guard_check(e->rg_cap, e->pool, e->cols, e->ncols, &e->ctx, e->rg_rows, e->rg_mm,
                            &e->open_rows, &e->next_check, &cut, err))
                return -1;
            if (open0 && !e->open_rows && sched_push(e, k, ACT_FINISH_PAGES, err))
                return -1;
            if (cut) {
                int act = cut_act(e);
                if (do_act(e, act, err) || sched_push(e, k, act, err))
                    return -1;
                continue;
            }
        }
        if (e->next_check > e->rg_rows && m > e->next_check - e->rg_rows)
            m = e->next_check - e->rg_rows;
        if (add_rows(e, b, k, m, err))
            return -1;
        k += m;
    }
    return 0;
}

static size_t zone_fit(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                       bronze_err *err)
{
    if (e->staged) {
        if (b == e->st_b && off == e->st_off && n == e->st_n)
            return e->st_k;
        if (zone_restore(e, e->tail_n, err))
            return (size_t)-1;
        e->staged = false;
    }
    bronze_pq_rows_truncate(&e->tail, e->tail_n);
    if (bronze_pq_rows_append(&e->tail, b, off, n))
        return oom(err), (size_t)-1;
    size_t k = stage(e, &e->tail.b, e->tail_n, e->tail_n + n, err);
    if (k == (size_t)-1)
        return k;
    e->staged = true;
    e->st_b = b;
    e->st_off = off;
    e->st_n = n;
    e->st_k = k - e->tail_n;
    return e->st_k;
}

static int zone_write(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                      bronze_err *err)
{
    size_t t = e->tail_n;
    if (e->staged && b == e->st_b && off == e->st_off && n <= e->st_k) {
        if (n < e->st_k && zone_restore(e, t + n, err)) /* a prefix of the staged rows */
            return -1;
        return zone_accept(e, t + n, err);
    }
    if (e->staged && zone_restore(e, t, err))
        return -1;
    bronze_pq_rows_truncate(&e->tail, t);
    if (bronze_pq_rows_append(&e->tail, b, off, n))
        return oom(err);
    if (zone_add(e, t, t + n, err))
        return -1;
    return zone_accept(e, t + n, err);
}

/* ---- the encoder interface ---- */

static void pq_destroy(bronze_encoder *e);

/* Column writers like the encoder's own (bloom filters included). */
static int init_cols(bronze_encoder *e, bronze_pq_col *cols, bronze_err *err)
{
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &cols[i];
        if (bronze_pq_col_init(c, &e->schema->fields[i], err))
            return -1;
        for (size_t j = 0; j < e->n_bloom; j++)
            if (!strcmp(e->bloom_names[j], c->f->name) &&
                bronze_pq_col_bloom_init(c, e->bloom_fpp, e->bloom_cap, err))
                return -1;
    }
    return 0;
}

static int job_init(bronze_encoder *e, rg_job *j, bronze_err *err)
{
    j->ctx.codec = e->codec;
    j->ctx.dict_limit = e->ctx.dict_limit;
    j->rg_cap = e->rg_cap;
    j->tctx = e->tctx;
    if (bronze_pq_rows_init(&j->rows, e->schema) ||
        !(j->cols = calloc(e->ncols, sizeof *j->cols)) ||
        !(j->col_held = calloc(e->ncols, sizeof *j->col_held)) ||
        !(j->order = calloc(e->ncols, sizeof *j->order)) ||
        !(j->weight = calloc(e->ncols, sizeof *j->weight)) ||
        !(j->dicts = calloc(e->ncols, sizeof *j->dicts)) ||
        !(j->dict_uncomp = calloc(e->ncols, sizeof *j->dict_uncomp)))
        return oom(err);
    if (bronze_pq_codec_new(&j->ctx.cz, e->codec, err))
        return -1;
    return init_cols(e, j->cols, err);
}

static void job_free(bronze_encoder *e, rg_job *j)
{
    if (!j)
        return;
    if (j->cols)
        for (size_t i = 0; i < e->ncols; i++)
            bronze_pq_col_free(&j->cols[i]);
    if (j->dicts)
        for (size_t i = 0; i < e->ncols; i++)
            bronze_buf_free(&j->dicts[i]);
    free(j->cols);
    free(j->dicts);
    free(j->dict_uncomp);
    free(j->col_held);
    free(j->order);
    free(j->weight);
    bronze_pq_ctx_free(&j->ctx);
    bronze_pq_rows_free(&j->rows);
    free(j);
}

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
    if (!(e->cols = calloc(e->ncols, sizeof *e->cols)) || bronze_pq_rows_init(&e->tail, schema) ||
        bronze_pq_rows_init(&e->spare, schema) || bronze_pq_rows_init(&e->carry, schema))
        return oom(err);
    e->next_check = GUARD_MIN;
    e->rg_cap = RG_MAX_BYTES;
    if (e->max_bytes && e->max_bytes / 10 < e->rg_cap)
        e->rg_cap = e->max_bytes / 10 > RG_MIN_BYTES ? e->max_bytes / 10 : RG_MIN_BYTES;
    /* tests: a smaller row-group cap without a size limit, so that the
     * guard cuts a part's first chunk before its PLAIN cap */
    const char *cap_env = getenv("BRONZE_PQ_RG_CAP_BYTES");
    if (cap_env && *cap_env) {
        unsigned long long v = strtoull(cap_env, NULL, 10);
        if (v >= RG_MIN_BYTES && v < e->rg_cap)
            e->rg_cap = v;
    }
    /* a dictionary may take up to an eighth of a row group */
    e->ctx.dict_limit = BRONZE_PQ_DICT_BYTES;
    if (e->rg_cap / 8 < e->ctx.dict_limit)
        e->ctx.dict_limit = e->rg_cap / 8;
    /* a bloom filter up to 1 MiB (parquet-java's cap), and a quarter of a row group */
    size_t bloom_cap = BLOOM_MAX_BYTES;
    while (bloom_cap > BRONZE_PQ_BLOOM_MIN && bloom_cap > e->rg_cap / 4)
        bloom_cap /= 2;
    e->bloom_fpp = opts->bloom_fpp > 0 && opts->bloom_fpp < 1 ? opts->bloom_fpp : 0.01;
    e->bloom_cap = bloom_cap;
    e->bloom_names = opts->bloom_columns;
    e->n_bloom = opts->n_bloom_columns;
    if (init_cols(e, e->cols, err))
        return -1;
    e->rg_meta_max = RG_META_FIXED;
    uint64_t pidx_page = 0;
    for (size_t i = 0; i < e->ncols; i++) {
        bronze_pq_col *c = &e->cols[i];
        e->rg_meta_max += bronze_pq_col_meta_bound(c);
        if (bronze_pq_col_pidx_page_bound(c) > pidx_page)
            pidx_page = bronze_pq_col_pidx_page_bound(c);
    }
    /* parallel_workers: chunk workers encode whole row groups while this
     * thread cuts the next ones; the column pool helps this thread with the
     * row groups it encodes itself (a part's first, and its end) */
    if (opts->workers > 1) {
        /* threads and row groups in flight, capped (the output is the same
         * for any count) */
        e->max_jobs =
            (size_t)(opts->workers < CHUNK_WORKERS_MAX ? opts->workers : CHUNK_WORKERS_MAX);
        if (!(e->all_jobs = calloc(e->max_jobs, sizeof *e->all_jobs)) ||
            !(e->tctx = calloc(e->max_jobs, sizeof *e->tctx)))
            return oom(err);
        for (size_t i = 0; i < e->max_jobs; i++) {
            e->tctx[i].codec = e->codec;
            e->tctx[i].dict_limit = e->ctx.dict_limit;
            if (bronze_pq_codec_new(&e->tctx[i].cz, e->codec, err))
                return -1;
        }
        if (bronze_pq_jobs_new(&e->jobs, (int)e->max_jobs, e->max_jobs, job_column, job_done, err))
            return -1;
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

    if (bronze_out_file_open(&e->file, e->path, opts->drop_written, err))
        return -1;
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
    e->file.fd = -1;
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
    if (e->zone)
        return zone_fit(e, b, off, n, err);
    /* the same answer for every worker count: chunks in flight count with
     * their bound, which is never below what they write */
    if (check_bound(e, b, off, n) <= e->max_bytes)
        return n;
    /* now as exact as a single worker would be */
    if (drain(e, err) || catch_up(e, err))
        return (size_t)-1;
    if (bound_after(e, b, off, n) <= e->max_bytes)
        return n;
    if (e->rg_rows) {
        /* learn the real size of what is buffered: the open pages (the
         * row group stays open; staging measures the rest) */
        if (finish_pages(e, err))
            return (size_t)-1;
        if (bound_after(e, b, off, n) <= e->max_bytes)
            return n;
    }
    /* The zone starts where the open row group starts (its rows are the
     * chunk's from g_start in e->tail), so it does not end in a row group
     * of its own. */
    size_t open = e->rg_rows;
    if (e->g_start) {
        bronze_pq_rows_truncate(&e->spare, 0);
        if (bronze_pq_rows_append(&e->spare, &e->tail.b, e->g_start, open))
            return oom(err), (size_t)-1;
        bronze_pq_rows t = e->spare;
        e->spare = e->tail;
        e->tail = t;
        e->g_start = 0;
    }
    uint64_t open_plain = open ? plain_bits(e->cols, e->ncols, &e->tail.b, 0, open) : 0;
    group_discard(e);
    e->part_raw -= open_plain;
    e->ch_rows -= open;
    e->ch_plain -= open_plain;
    zone_begin(e, open);
    if (zone_add(e, 0, open, err) || zone_accept(e, open, err))
        return (size_t)-1;
    return zone_fit(e, b, off, n, err);
}

static int pq_write(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err)
{
    if (e->zone)
        return zone_write(e, b, off, n, err);
    return append_rows(e, b, off, n, err);
}

static int pq_finish(bronze_encoder *e, uint64_t *bytes, bronze_err *err)
{
    if (e->zone && e->staged && zone_restore(e, e->tail_n, err))
        return -1;
    uint64_t comp;
    do { /* a cut (resolve()) or a redone first chunk leaves rows again */
        if (append_rows(e, NULL, 0, 0, err))
            return -1;
        if (e->raw && e->ch_rows && (e->spec ? resolve(e, true, err) : submit_chunk(e, err)))
            return -1;
        if (!e->spec && drain(e, err))
            return -1;
    } while ((e->raw && e->ch_rows) || e->carry_off < e->carry.b.nrows);
    if (flush_rg(e, &comp, err) || write_page_index(e, err))
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
    if (bronze_out_file_close(&e->file, err))
        return -1;
    *bytes = e->file.written;
    if (e->max_bytes && e->file.written > e->max_bytes)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: Parquet part is %llu bytes, over the %llu-byte limit "
                              "(size bound violated; please report)",
                              e->path, (unsigned long long)e->file.written,
                              (unsigned long long)e->max_bytes);
    return 0;
}

static void pq_destroy(bronze_encoder *e)
{
    if (!e)
        return;
    bronze_pq_jobs_free(e->jobs); /* the running jobs end first */
    for (size_t i = 0; i < e->njobs; i++)
        job_free(e, e->all_jobs[i]);
    free(e->all_jobs);
    if (e->tctx)
        for (size_t i = 0; i < e->max_jobs; i++)
            bronze_pq_ctx_free(&e->tctx[i]);
    free(e->tctx);
    bronze_pq_rows_free(&e->spare);
    bronze_pq_rows_free(&e->carry);
    bronze_out_file_free(&e->file);
    if (e->cols)
        for (size_t i = 0; i < e->ncols; i++)
            bronze_pq_col_free(&e->cols[i]);
    bronze_pq_pool_free(e->pool);
    free(e->cols);
    bronze_pq_ctx_free(&e->ctx);
    bronze_buf_free(&e->out);
    bronze_buf_free(&e->scratch);
    bronze_buf_free(&e->rg_meta);
    bronze_buf_free(&e->ci);
    bronze_buf_free(&e->oi);
    bronze_buf_free(&e->groups);
    free(e->refs);
    bronze_pq_rows_free(&e->tail);
    free(e->hist_comp);
    free(e->hist_plain);
    free(e->sched);
    free(e->created_by);
    free(e->path);
    free(e);
}

static const char *pq_sha256(bronze_encoder *e)
{
    return bronze_out_file_sha256(&e->file);
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
