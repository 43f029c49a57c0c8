/*
 * encoder.h - the encoder seam: one output format (CSV, Parquet) writing one
 * part file. The roller (run/roller.c) drives one encoder per enabled format
 * and decides where parts end; encoders never know about partitions.
 *
 *   open()    creates the file at `path` (a staging path) for `schema`.
 *   fit()     how many of the rows [off, off+n) of batch can still go into
 *             this part without the finished file passing opts->max_bytes
 *             (n when max_bytes is 0). Must be exact in the safe direction:
 *             if it says k, writing those k rows and finishing gives a file
 *             <= max_bytes. It may flush buffered data (e.g. a Parquet row
 *             group) to learn real sizes; it never changes which rows the part
 *             holds. 0 on an empty part means a single row is too big;
 *             (size_t)-1 on an I/O error, with err set.
 *   write()   appends rows [off, off+n) (n never more than fit() said).
 *             fit() and write() work on the same rows by pointer identity:
 *             an encoder may keep what fit() computed (formatted CSV rows, a
 *             staged Parquet row group) and reuse it when write() gets the
 *             same batch pointer and off. So between a fit() and the write()
 *             that follows it the caller must not change that batch's rows
 *             (refill, clear or reuse its memory for another batch); a
 *             write() with another batch pointer or off, or without a fit()
 *             before it, encodes its rows afresh.
 *   finish()  completes the file, fsyncs and closes it; *bytes = final size.
 *   sha256()  optional (may be NULL): after finish(), the file's SHA-256 as
 *             64 hex digits when the encoder hashed every byte as it wrote it,
 *             or NULL when it cannot vouch (the roller then reads the file).
 *   destroy() frees; on an unfinished encoder it closes the file (the caller
 *             removes it).
 */
#ifndef BRONZE_FORMAT_ENCODER_H
#define BRONZE_FORMAT_ENCODER_H

#include <stdint.h>

#include "batch/batch.h"
#include "config/config.h"
#include "util/err.h"

typedef struct bronze_encoder_opts {
    bronze_codec codec;     /* Parquet only */
    uint64_t max_bytes;     /* 0 = no size limit */
    const char *created_by; /* Parquet footer, e.g. "bronze-foundry version 0.1.0 (build abc)" */
    int workers;            /* Parquet: columns encoded at once (source.run.parallel_workers) */
    /* Parquet: columns that get a bloom filter (names as in the schema; not
     * owned, must outlive the encoder) and its false-positive rate (0: 0.01) */
    char *const *bloom_columns;
    size_t n_bloom_columns;
    double bloom_fpp;
    /* the file is not read again in this run (local storage renames it into
     * place): once on disk its bytes are dropped from the page cache */
    bool drop_written;
} bronze_encoder_opts;

typedef struct bronze_encoder bronze_encoder;

typedef struct bronze_encoder_vt {
    const char *ext; /* "csv", "parquet" */
    int (*open)(bronze_encoder **out, const char *path, const bronze_schema *schema,
                const bronze_encoder_opts *opts, bronze_err *err);
    size_t (*fit)(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err);
    int (*write)(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n, bronze_err *err);
    int (*finish)(bronze_encoder *e, uint64_t *bytes, bronze_err *err);
    const char *(*sha256)(bronze_encoder *e);
    void (*destroy)(bronze_encoder *e);
} bronze_encoder_vt;

extern const bronze_encoder_vt bronze_encoder_csv;
extern const bronze_encoder_vt bronze_encoder_parquet;

#endif
