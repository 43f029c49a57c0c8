/*
 * col_pool.h - runs one step (append rows, close pages) over every column of
 * a row group on the calling thread plus workers-1 helper threads
 * (source.run.parallel_workers). Columns are independent: each has its own
 * buffers, dictionary and statistics, and each thread has its own scratch and
 * codec context (bronze_pq_ctx), so the result is byte-identical to running
 * the columns one after another. Threads take the next column from a shared
 * counter, which balances cheap and expensive columns.
 */
#ifndef BRONZE_FORMAT_PARQUET_COL_POOL_H
#define BRONZE_FORMAT_PARQUET_COL_POOL_H

#include <stddef.h>

#include "format/parquet/column_writer.h"

typedef int (*bronze_pq_col_fn)(bronze_pq_col *c, bronze_pq_ctx *x, size_t i, void *arg,
                                bronze_err *err);

typedef struct bronze_pq_pool bronze_pq_pool;

/* workers >= 2; each helper gets a context like `proto` (codec, dict_limit). */
int bronze_pq_pool_new(bronze_pq_pool **out, int workers, const bronze_pq_ctx *proto,
                       bronze_err *err);
/* Runs fn over cols[0..ncols); the caller's own context is `mine`. The first
 * error wins; the other columns may or may not have run (the part fails). */
int bronze_pq_pool_run(bronze_pq_pool *p, bronze_pq_col *cols, size_t ncols, bronze_pq_ctx *mine,
                       bronze_pq_col_fn fn, void *arg, bronze_err *err);
void bronze_pq_pool_free(bronze_pq_pool *p);

#endif
