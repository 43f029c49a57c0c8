/* col_pool.c - column-parallel steps of the Parquet writer (see col_pool.h). */
#include "format/parquet/col_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/parquet/codec.h"

struct bronze_pq_pool {
    int nthreads; /* helpers started */
    int nctx;     /* helper contexts allocated */
    pthread_t *th;
    bronze_pq_ctx *ctx; /* one per helper */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen; /* bumped per job */
    int running;  /* helpers still on the current job */
    bool quit;
    /* the current job */
    bronze_pq_col *cols;
    size_t ncols;
    bronze_pq_col_fn fn;
    void *arg;
    atomic_size_t next;
    atomic_bool abort;
    bool failed;
    bronze_err err;
};

typedef struct helper_arg {
    bronze_pq_pool *p;
    int index;
} helper_arg;

static void run_columns(bronze_pq_pool *p, bronze_pq_ctx *x)
{
    bronze_err err = BRONZE_ERR_INIT;
    for (;;) {
        if (atomic_load(&p->abort))
            return;
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->ncols)
            return;
        if (p->fn(&p->cols[i], x, i, p->arg, &err)) {
            pthread_mutex_lock(&p->mu);
            if (!p->failed) {
                p->failed = true;
                p->err = err;
            }
            pthread_mutex_unlock(&p->mu);
            atomic_store(&p->abort, true);
            return;
        }
    }
}

static void *helper_main(void *a)
{
    helper_arg *ha = a;
    bronze_pq_pool *p = ha->p;
    bronze_pq_ctx *x = &p->ctx[ha->index];
    free(ha);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_columns(p, x);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int bronze_pq_pool_new(bronze_pq_pool **out, int workers, const bronze_pq_ctx *proto,
                       bronze_err *err)
{
    *out = NULL;
    bronze_pq_pool *p = calloc(1, sizeof *p);
    int n = workers - 1;
    if (!p || !(p->th = calloc((size_t)n, sizeof *p->th)) ||
        !(p->ctx = calloc((size_t)n, sizeof *p->ctx))) {
        if (p)
            free(p->th);
        free(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    p->nctx = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < n; i++) {
        p->ctx[i].codec = proto->codec;
        p->ctx[i].dict_limit = proto->dict_limit;
        if (bronze_pq_codec_new(&p->ctx[i].cz, proto->codec, err)) {
            bronze_pq_pool_free(p);
            return -1;
        }
        helper_arg *ha = malloc(sizeof *ha);
        if (ha) {
            ha->p = p;
            ha->index = i;
        }
        if (!ha || pthread_create(&p->th[i], NULL, helper_main, ha)) {
            free(ha);
            bronze_pq_pool_free(p);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start Parquet workers");
        }
        p->nthreads++;
    }
    *out = p;
    return 0;
}

int bronze_pq_pool_run(bronze_pq_pool *p, bronze_pq_col *cols, size_t ncols, bronze_pq_ctx *mine,
                       bronze_pq_col_fn fn, void *arg, bronze_err *err)
{
    pthread_mutex_lock(&p->mu);
    p->cols = cols;
    p->ncols = ncols;
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->next, 0);
    atomic_store(&p->abort, false);
    p->failed = false;
    p->running = p->nthreads;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);

    run_columns(p, mine);

    pthread_mutex_lock(&p->mu);
    while (p->running > 0)
        pthread_cond_wait(&p->done, &p->mu);
    bool failed = p->failed;
    if (failed)
        *err = p->err;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

void bronze_pq_pool_free(bronze_pq_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    for (int i = 0; i < p->nctx; i++) {
        bronze_pq_ctx_free(&p->ctx[i]);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->ctx);
    free(p->th);
    free(p);
}
