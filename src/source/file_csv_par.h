/*
 * file_csv_par.h - the parallel CSV reader: one plain, seekable CSV file
 * split into byte ranges parsed by worker threads, handed back in order.
 *
 * The data (after the header) is cut at nominal points N_0 = data start,
 * N_k = N_0 + k * range_bytes, N_last = file size. Range k holds the records
 * that START in [N_k, N_k+1). A worker does not know where range k's first
 * record starts (a newline just after N_k may sit inside a quoted field), so
 * it guesses (the first line start at or after N_k from which a few records
 * parse with the file's field count), parses from the guess into batches with
 * the caller's callback, and records where it started and where it stopped.
 *
 * The guess is only trusted once the previous range's true end is known:
 * the caller (file.c) walks the ranges in order holding the verified offset
 * P of the next record; a range whose guessed start is P is taken as parsed
 * (parsing is deterministic from a record start, so its rows are exactly
 * the sequential reader's); any other range, and the rest of a range whose
 * worker stopped early (a parse error, a value that does not fit the
 * schema, a record running far past the range), is re-read sequentially
 * from P with bronze_csvp_open_reader(). So rows, errors (with their line
 * numbers) and widenings are the single-threaded reader's for any worker
 * count; a wrong guess only costs time.
 *
 * Memory: at most workers + 1 ranges are parsed ahead of the caller,
 * each about range_bytes of rows.
 */
#ifndef BRONZE_SOURCE_FILE_CSV_PAR_H
#define BRONZE_SOURCE_FILE_CSV_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "source/file_csv.h"
#include "util/err.h"

/* Nominal range size; BRONZE_CSV_RANGE_BYTES (tests) overrides it. */
#define BRONZE_CSVP_RANGE_BYTES (2u << 20)

/* What a worker does with one record (called on worker threads, so it may
 * only read shared state). Returns 0 (the row was added to b and ended),
 * 1 (skipped: no row), 2 (stop here: the sequential reader decides; b's
 * current row must be aborted by the callback), -1 out of memory. scratch is
 * the worker's own zeroed block of scratch_size bytes, kept across calls
 * for one file. */
typedef int (*bronze_csvp_row_fn)(void *ctx, void *scratch, bronze_batch *b,
                                  const bronze_csv_field *f, size_t n);

/* Vote mode: what a worker does with one record instead: |= each column's
 * vote into votes (the range's own array of nvotes), the same return codes. */
typedef int (*bronze_csvp_vote_fn)(void *ctx, void *scratch, unsigned *votes,
                                   const bronze_csv_field *f, size_t n);

typedef struct bronze_csvp_opts {
    const char *path;    /* the file to read */
    const char *name;    /* for messages */
    char delimiter;      /* as the sequential reader's */
    bool lenient_utf8;   /* bronze_csv_set_lenient_utf8 */
    uint64_t data_start; /* offset of the first data record */
    size_t ncols;        /* the file's field count (header or first row) */
    const bronze_schema *schema;
    size_t batch_rows;
    int workers;
    uint64_t range_bytes; /* 0: BRONZE_CSVP_RANGE_BYTES or the env override */
    bronze_csvp_row_fn row;
    bronze_csvp_vote_fn vote; /* set: vote mode (no batches; schema unused) */
    size_t nvotes;
    void *ctx;
    size_t scratch_size;
} bronze_csvp_opts;

/* One parsed range, as bronze_csvp_next hands it out (read-only). */
typedef struct bronze_csvp_range {
    uint64_t nominal, next_nominal; /* [N_k, N_k+1) */
    uint64_t start;                 /* where the worker guessed the first record starts */
    uint64_t stop;                  /* where it stopped: the next record's start */
    uint64_t lines;                 /* physical lines from start to stop */
    bool complete;                  /* stop is the first record start >= next_nominal, or the end */
    bronze_batch *batches;          /* the rows of [start, stop), in order */
    size_t nbatches;
    const unsigned *votes; /* vote mode: the votes of [start, stop) */
} bronze_csvp_range;

typedef struct bronze_csvp bronze_csvp;

/* Starts the workers. The schema, ctx and whatever the callback reads must
 * stay unchanged until bronze_csvp_close. */
int bronze_csvp_open(bronze_csvp **out, const bronze_csvp_opts *o, bronze_err *err);

/* The next range in order (waits for its worker): 1 with *r set (valid
 * until the next call or close), 0 when every range was handed out. */
int bronze_csvp_next(bronze_csvp *p, const bronze_csvp_range **r);

/* A sequential reader of the file from `offset` (a verified record start)
 * on physical line `line`, to the end of the file; it owns its own
 * descriptor, so it outlives bronze_csvp_close. */
int bronze_csvp_open_reader(const bronze_csvp_opts *o, uint64_t offset, uint64_t line,
                            bronze_csv **out, bronze_err *err);

/* The options the engine runs with (range_bytes resolved). */
const bronze_csvp_opts *bronze_csvp_options(const bronze_csvp *p);

/* Stops and joins the workers, frees everything. */
void bronze_csvp_close(bronze_csvp *p);

/* Copies rows [from, from + n) of src (same schema) to the end of dst.
 * Returns -1 on out of memory. */
int bronze_csvp_copy_rows(bronze_batch *dst, const bronze_batch *src, size_t from, size_t n);

/* How many rows from row `from` of src the sequential reader would still put
 * into dst before bronze_batch_full(dst) (at most the rows src has left). */
size_t bronze_csvp_rows_fitting(const bronze_batch *dst, const bronze_batch *src, size_t from);

#endif
