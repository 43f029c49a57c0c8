/* job_pool.c - ordered job pool of the Parquet writer (see job_pool.h). */
#include "format/parquet/job_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    void *job;
    size_t ntasks, claimed, finished;
    bool done;
    int rc;
    bronze_err err;
} slot;

struct bronze_pq_jobs {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *th;
    struct worker_arg *args;
    int nthreads;
    bool quit;
    bronze_pq_task_fn task;
    bronze_pq_done_fn done_fn;
    slot *slots;
    size_t cap;
    /* monotonic counters; slot of n is slots[n % cap] */
    uint64_t head; /* oldest uncollected */
    uint64_t next; /* oldest with a task not started */
    uint64_t tail; /* next to queue */
};

typedef struct worker_arg {
    bronze_pq_jobs *p;
    int tid;
} worker_arg;

static void *worker_main(void *arg)
{
    bronze_pq_jobs *p = ((worker_arg *)arg)->p;
    int tid = ((worker_arg *)arg)->tid;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->next == p->tail)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        slot *s = &p->slots[p->next % p->cap];
        size_t t = s->claimed++;
        if (s->claimed == s->ntasks)
            p->next++;
        pthread_mutex_unlock(&p->mu);
        bronze_err err = BRONZE_ERR_INIT;
        int rc = p->task(s->job, t, tid, &err);
        pthread_mutex_lock(&p->mu);
        if (rc && !s->rc) {
            s->rc = rc;
            s->err = err;
        }
        if (++s->finished < s->ntasks)
            continue;
        if (!s->rc && p->done_fn) {
            pthread_mutex_unlock(&p->mu);
            bronze_err derr = BRONZE_ERR_INIT;
            rc = p->done_fn(s->job, tid, &derr);
            pthread_mutex_lock(&p->mu);
            if (rc) {
                s->rc = rc;
                s->err = derr;
            }
        }
        s->done = true;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int bronze_pq_jobs_new(bronze_pq_jobs **out, int workers, size_t cap, bronze_pq_task_fn task,
                       bronze_pq_done_fn done, bronze_err *err)
{
    *out = NULL;
    bronze_pq_jobs *p = calloc(1, sizeof *p);
    if (!p || !(p->slots = calloc(cap ? cap : 1, sizeof *p->slots)) ||
        !(p->th = calloc((size_t)(workers > 0 ? workers : 1), sizeof *p->th)) ||
        !(p->args = calloc((size_t)(workers > 0 ? workers : 1), sizeof *p->args))) {
        if (p) {
            free(p->slots);
            free(p->th);
        }
        free(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    p->cap = cap ? cap : 1;
    p->task = task;
    p->done_fn = done;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < workers; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->th[i], NULL, worker_main, &p->args[i])) {
            bronze_pq_jobs_free(p);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start Parquet chunk workers");
        }
        p->nthreads++;
    }
    *out = p;
    return 0;
}

int bronze_pq_jobs_submit(bronze_pq_jobs *p, void *job, size_t ntasks, bronze_err *err)
{
    pthread_mutex_lock(&p->mu);
    if (p->tail - p->head >= p->cap) {
        pthread_mutex_unlock(&p->mu);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "internal: Parquet job queue full");
    }
    slot *s = &p->slots[p->tail++ % p->cap];
    s->job = job;
    s->ntasks = ntasks ? ntasks : 1;
    s->claimed = s->finished = 0;
    s->done = false;
    s->rc = 0;
    if (s->ntasks > 1)
        pthread_cond_broadcast(&p->work);
    else
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void *bronze_pq_jobs_collect(bronze_pq_jobs *p, bool wait, int *rc, bronze_err *err)
{
    pthread_mutex_lock(&p->mu);
    if (p->head == p->tail) {
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    slot *s = &p->slots[p->head % p->cap];
    while (wait && !s->done)
        pthread_cond_wait(&p->done, &p->mu);
    if (!s->done) {
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    p->head++;
    *rc = s->rc;
    if (s->rc && err)
        *err = s->err;
    void *job = s->job;
    pthread_mutex_unlock(&p->mu);
    return job;
}

size_t bronze_pq_jobs_outstanding(const bronze_pq_jobs *p)
{
    pthread_mutex_lock((pthread_mutex_t *)&p->mu);
    size_t n = (size_t)(p->tail - p->head);
    pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
    return n;
}

void bronze_pq_jobs_free(bronze_pq_jobs *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p->args);
    free(p->slots);
    free(p);
}
