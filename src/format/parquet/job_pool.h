/*
 * job_pool.h - chunk workers of the Parquet writer (source.run.parallel_workers):
 * N threads run queued jobs (a row group to encode and compress) while the
 * caller keeps cutting the next ones, and the caller collects them strictly
 * in the order it queued them, so the file is written in row order whatever
 * finished first. A job is made of `ntasks` independent tasks (a row
 * group's columns) that any threads may run at once, oldest job first, so
 * the last row groups of a file keep every worker busy too; once all its
 * tasks have run, the thread that ran the last one runs the job's `done`
 * step. Each job owns everything it touches (its rows, column writers; a
 * task the state of its own column, and the context of the thread it runs
 * on, `tid`), so the result is the same bytes as running it on the
 * caller's thread.
 */
#ifndef BRONZE_FORMAT_PARQUET_JOB_POOL_H
#define BRONZE_FORMAT_PARQUET_JOB_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Task `task` of a job, on worker thread `tid` (0 .. workers-1). */
typedef int (*bronze_pq_task_fn)(void *job, size_t task, int tid, bronze_err *err);
/* After every task of a job succeeded (may be NULL). */
typedef int (*bronze_pq_done_fn)(void *job, int tid, bronze_err *err);

typedef struct bronze_pq_jobs bronze_pq_jobs;

/* workers >= 1 threads; at most `cap` jobs queued or uncollected at once. */
int bronze_pq_jobs_new(bronze_pq_jobs **out, int workers, size_t cap, bronze_pq_task_fn task,
                       bronze_pq_done_fn done, bronze_err *err);
/* Queues a job of ntasks >= 1 tasks (never blocks). -1 when `cap` jobs are
 * outstanding already. */
int bronze_pq_jobs_submit(bronze_pq_jobs *p, void *job, size_t ntasks, bronze_err *err);
/* The oldest uncollected job, once it has run (waiting for it when `wait`;
 * else NULL while it runs); NULL when none is outstanding. *rc and *err are
 * its result (rc -1: err set; the first failing task's, or done's; done
 * does not run after a failed task). */
void *bronze_pq_jobs_collect(bronze_pq_jobs *p, bool wait, int *rc, bronze_err *err);
size_t bronze_pq_jobs_outstanding(const bronze_pq_jobs *p);
/* Stops the threads after the tasks that are running; tasks not started
 * are not run (the jobs' owner frees them). */
void bronze_pq_jobs_free(bronze_pq_jobs *p);

#endif
