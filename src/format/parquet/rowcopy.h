/*
 * rowcopy.h - a growable private copy of rows taken from batches of one
 * schema, itself a bronze_batch (so the column writers and the size bounds
 * read it like any batch). The Parquet writer keeps the rows of a part's
 * last row group here while it measures how many fit (staging), and the rows
 * of a row group that a chunk worker encodes: a source refills its batch as
 * soon as write() returns, so rows that outlive the call must be copied.
 */
#ifndef BRONZE_FORMAT_PARQUET_ROWCOPY_H
#define BRONZE_FORMAT_PARQUET_ROWCOPY_H

#include <stddef.h>

#include "batch/batch.h"

typedef struct bronze_pq_rows {
    bronze_batch b; /* b.nrows rows; b.cap is the row capacity */
} bronze_pq_rows;

/* An empty copy for `schema` (not owned). -1 on OOM. */
int bronze_pq_rows_init(bronze_pq_rows *r, const bronze_schema *schema);
/* Appends rows [off, off+n) of src (same schema). -1 on OOM (r unchanged in
 * its first b.nrows rows). */
int bronze_pq_rows_append(bronze_pq_rows *r, const bronze_batch *src, size_t off, size_t n);
/* Keeps the first n rows (n <= b.nrows). */
void bronze_pq_rows_truncate(bronze_pq_rows *r, size_t n);
/* Bytes of values held (var-len data plus fixed-width slots). */
size_t bronze_pq_rows_bytes(const bronze_pq_rows *r);
void bronze_pq_rows_free(bronze_pq_rows *r);

#endif
