/*
 * job_pool.h - chunk workers of the Parquet writer (source.run.parallel_workers):
 * N threads run queued jobs (a row group to encode and compress) while the
 * caller keeps cutting the next ones, and the caller collects them strictly
 * in the order it queued them, so the file is written in row order whatever
 * finished first. Each job owns everything it touches (its rows, column
 * writers and codec context), so the result is the same bytes as running it
 * on the caller's thread.
 */
#ifndef BRONZE_FORMAT_PARQUET_JOB_POOL_H
#define BRONZE_FORMAT_PARQUET_JOB_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef int (*bronze_pq_job_fn)(void *job, bronze_err *err);

typedef struct bronze_pq_jobs bronze_pq_jobs;

/* workers >= 1 threads; at most `cap` jobs queued or uncollected at once. */
int bronze_pq_jobs_new(bronze_pq_jobs **out, int workers, size_t cap, bronze_pq_job_fn fn,
                       bronze_err *err);
/* Queues a job (never blocks). -1 when `cap` jobs are outstanding already. */
int bronze_pq_jobs_submit(bronze_pq_jobs *p, void *job, bronze_err *err);
/* The oldest uncollected job, once it has run (waiting for it when `wait`;
 * else NULL while it runs); NULL when none is outstanding. *rc and *err are
 * its result (rc -1: err set). */
void *bronze_pq_jobs_collect(bronze_pq_jobs *p, bool wait, int *rc, bronze_err *err);
size_t bronze_pq_jobs_outstanding(const bronze_pq_jobs *p);
/* Stops the threads after the jobs that are running; queued jobs are not
 * run (their owner frees them). */
void bronze_pq_jobs_free(bronze_pq_jobs *p);

#endif
