/*
 * test_pq_jobs.c - the Parquet writer's chunk-worker pool (job_pool.h) and
 * row copies (rowcopy.h): jobs come back in the order they were queued
 * whatever order they finish in, an error reaches the collector with its
 * message, the queue refuses more than its capacity, freeing with jobs
 * outstanding neither hangs nor leaks; copied rows equal their source at
 * any bit offset. Run under ASan/UBSan (make unit) and TSan-clean by design:
 * a job is touched by one thread at a time, handed over under the lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/batch.h"
#include "format/parquet/job_pool.h"
#include "format/parquet/rowcopy.h"

typedef struct tjob {
    int id;
    int spin; /* microseconds of work */
    int fail;
    int ran;
} tjob;

static int run_tjob(void *arg, size_t task, int tid, bronze_err *err)
{
    (void)task;
    (void)tid;
    tjob *j = arg;
    struct timespec ts = {0, (long)j->spin * 1000};
    nanosleep(&ts, NULL);
    j->ran++;
    if (j->fail)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "job %d failed", j->id);
    return 0;
}

static void test_order_and_results(void **state)
{
    (void)state;
    enum { N = 200, W = 4, CAP = 6 };
    tjob jobs[N];
    bronze_pq_jobs *p;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_pq_jobs_new(&p, W, CAP, run_tjob, NULL, &err), 0);
    int next = 0, got = 0;
    while (got < N) {
        while (next < N && bronze_pq_jobs_outstanding(p) < CAP) {
            /* later jobs are often quicker: they finish out of order */
            jobs[next] = (tjob){.id = next, .spin = (N - next) % 7 * 150};
            assert_int_equal(bronze_pq_jobs_submit(p, &jobs[next], 1, &err), 0);
            next++;
        }
        int rc = 1;
        tjob *j = bronze_pq_jobs_collect(p, got % 3 == 0, &rc, &err);
        if (!j)
            continue;
        assert_int_equal(rc, 0);
        assert_int_equal(j->id, got); /* strictly in queue order */
        assert_int_equal(j->ran, 1);
        got++;
    }
    int rc;
    assert_null(bronze_pq_jobs_collect(p, true, &rc, &err)); /* none outstanding */
    bronze_pq_jobs_free(p);
}

static void test_capacity_and_error(void **state)
{
    (void)state;
    tjob a = {.id = 1, .spin = 2000}, b = {.id = 2, .fail = 1}, c = {.id = 3};
    bronze_pq_jobs *p;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_pq_jobs_new(&p, 2, 2, run_tjob, NULL, &err), 0);
    assert_int_equal(bronze_pq_jobs_submit(p, &a, 1, &err), 0);
    assert_int_equal(bronze_pq_jobs_submit(p, &b, 1, &err), 0);
    assert_int_equal(bronze_pq_jobs_submit(p, &c, 1, &err), -1);
    assert_non_null(strstr(err.msg, "queue full"));
    int rc = -1;
    assert_ptr_equal(bronze_pq_jobs_collect(p, true, &rc, &err), &a);
    assert_int_equal(rc, 0);
    assert_ptr_equal(bronze_pq_jobs_collect(p, true, &rc, &err), &b);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, "job 2 failed");
    bronze_pq_jobs_free(p);
}

static void test_free_with_jobs_outstanding(void **state)
{
    (void)state;
    tjob jobs[8];
    bronze_pq_jobs *p;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_pq_jobs_new(&p, 2, 8, run_tjob, NULL, &err), 0);
    for (int i = 0; i < 8; i++) {
        jobs[i] = (tjob){.id = i, .spin = 3000};
        assert_int_equal(bronze_pq_jobs_submit(p, &jobs[i], 1, &err), 0);
    }
    bronze_pq_jobs_free(p); /* returns after the running ones; the rest never run */
    int ran = 0;
    for (int i = 0; i < 8; i++)
        ran += jobs[i].ran;
    assert_true(ran <= 8);
}

/* A job of many tasks: its tasks run on several threads at once, each
 * exactly once, and its done step runs once, after the last of them, on the
 * thread that ran it; a failed task's job reports that task's error and its
 * done step never runs. */
enum { NT = 16 };
typedef struct mjob {
    int id;
    int ran[NT];
    int tid_mask;   /* threads that ran a task */
    int done;       /* done steps run */
    int done_after; /* tasks that had run when done ran */
    int fail_task;  /* -1: none */
    pthread_mutex_t mu;
} mjob;

static int run_mtask(void *arg, size_t task, int tid, bronze_err *err)
{
    mjob *j = arg;
    struct timespec ts = {0, 400000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&j->mu);
    j->ran[task]++;
    j->tid_mask |= 1 << tid;
    pthread_mutex_unlock(&j->mu);
    if ((int)task == j->fail_task)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "job %d task %zu failed", j->id, task);
    return 0;
}

static int run_mdone(void *arg, int tid, bronze_err *err)
{
    (void)tid;
    (void)err;
    mjob *j = arg;
    pthread_mutex_lock(&j->mu);
    j->done++;
    for (int t = 0; t < NT; t++)
        j->done_after += j->ran[t];
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static void test_tasks_and_done(void **state)
{
    (void)state;
    enum { N = 12, W = 3, CAP = 4 };
    static mjob jobs[N];
    bronze_pq_jobs *p;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_pq_jobs_new(&p, W, CAP, run_mtask, run_mdone, &err), 0);
    int next = 0, got = 0, multi = 0;
    while (got < N) {
        while (next < N && bronze_pq_jobs_outstanding(p) < CAP) {
            memset(&jobs[next], 0, sizeof jobs[next]);
            jobs[next].id = next;
            jobs[next].fail_task = next == 5 ? 9 : -1;
            pthread_mutex_init(&jobs[next].mu, NULL);
            assert_int_equal(bronze_pq_jobs_submit(p, &jobs[next], next % 2 ? NT : 1, &err), 0);
            next++;
        }
        int rc = 1;
        mjob *j = bronze_pq_jobs_collect(p, true, &rc, &err);
        assert_non_null(j);
        assert_int_equal(j->id, got); /* strictly in queue order */
        int ntasks = got % 2 ? NT : 1;
        for (int t = 0; t < NT; t++)
            assert_int_equal(j->ran[t], t < ntasks ? 1 : 0);
        if (got == 5) {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "job 5 task 9 failed");
            assert_int_equal(j->done, 0);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(j->done, 1);
            assert_int_equal(j->done_after, ntasks); /* after every task */
        }
        if (ntasks > 1 && (j->tid_mask & (j->tid_mask - 1)))
            multi++;
        pthread_mutex_destroy(&j->mu);
        got++;
    }
    assert_true(multi > 0); /* some job's tasks ran on two threads */
    bronze_pq_jobs_free(p);
}

static void test_rowcopy(void **state)
{
    (void)state;
    bronze_schema *s = bronze_schema_new(3);
    assert_non_null(s);
    assert_int_equal(bronze_schema_set(s, 0, "i", BRONZE_T_INT64, 0, 0, true), 0);
    assert_int_equal(bronze_schema_set(s, 1, "t", BRONZE_T_STRING, 0, 0, true), 0);
    assert_int_equal(bronze_schema_set(s, 2, "b", BRONZE_T_BOOL, 0, 0, false), 0);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 100), 0);
    for (int r = 0; r < 100; r++) {
        if (r % 3)
            bronze_batch_put_i64(&b, r * 7);
        else
            bronze_batch_put_null(&b);
        char v[16];
        int n = snprintf(v, sizeof v, "v%d", r);
        if (r % 5)
            bronze_batch_put_bytes(&b, v, (size_t)n);
        else
            bronze_batch_put_null(&b);
        bronze_batch_put_bool(&b, r & 1);
        bronze_batch_end_row(&b);
    }
    bronze_pq_rows c;
    assert_int_equal(bronze_pq_rows_init(&c, s), 0);
    /* slices at odd bit offsets into odd destinations, then a truncation */
    assert_int_equal(bronze_pq_rows_append(&c, &b, 3, 13), 0);
    assert_int_equal(bronze_pq_rows_append(&c, &b, 16, 61), 0);
    assert_int_equal(bronze_pq_rows_append(&c, &b, 77, 23), 0);
    assert_int_equal(c.b.nrows, 97);
    for (size_t r = 0; r < 97; r++) {
        size_t src = r + 3;
        assert_int_equal(bronze_batch_is_valid(&c.b.cols[0], r),
                         bronze_batch_is_valid(&b.cols[0], src));
        assert_int_equal(c.b.cols[0].v.i64[r], b.cols[0].v.i64[src]);
        size_t n1, n2;
        const char *x = bronze_col_str(&c.b.cols[1], r, &n1),
                   *y = bronze_col_str(&b.cols[1], src, &n2);
        assert_int_equal(bronze_batch_is_valid(&c.b.cols[1], r),
                         bronze_batch_is_valid(&b.cols[1], src));
        assert_int_equal(n1, n2);
        assert_memory_equal(x, y, n1);
        assert_int_equal(c.b.cols[2].v.u8[r], b.cols[2].v.u8[src]);
    }
    bronze_pq_rows_truncate(&c, 10);
    assert_int_equal(c.b.nrows, 10);
    assert_int_equal(bronze_pq_rows_append(&c, &b, 0, 2), 0);
    size_t n;
    (void)bronze_col_str(&c.b.cols[1], 10, &n);
    assert_int_equal(n, 0); /* row 0 of b: NULL, an empty span */
    bronze_pq_rows_free(&c);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_results),
        cmocka_unit_test(test_capacity_and_error),
        cmocka_unit_test(test_free_with_jobs_outstanding),
        cmocka_unit_test(test_tasks_and_done),
        cmocka_unit_test(test_rowcopy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
