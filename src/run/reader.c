/* reader.c - the source-side thread of a job (see reader.h). */
#include "run/reader.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

int bronze_reader_init(bronze_reader *r, const bronze_schema *schema, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return bronze_reader_reset(r, schema);
}

int bronze_reader_reset(bronze_reader *r, const bronze_schema *schema)
{
    for (int i = 0; i < BRONZE_READER_SLOTS; i++) {
        bronze_batch_free(&r->slot[i].batch);
        r->slot[i].full = false;
    }
    r->head = 0;
    for (int i = 0; i < BRONZE_READER_SLOTS; i++)
        if (bronze_batch_init(&r->slot[i].batch, schema, r->cap))
            return -1;
    return 0;
}

static void *reader_main(void *arg)
{
    bronze_reader *r = arg;
    bronze_log_set_job(r->job_tag);
    size_t i = r->head;
    for (;;) {
        bronze_reader_slot *s = &r->slot[i];
        pthread_mutex_lock(&r->mu);
        while (s->full && !r->cancel)
            pthread_cond_wait(&r->cv, &r->mu);
        bool cancel = r->cancel;
        pthread_mutex_unlock(&r->mu);
        if (cancel)
            return NULL;
        bronze_err_clear(&s->err);
        s->result = r->vt->next(r->src, &s->batch, &s->err);
        pthread_mutex_lock(&r->mu);
        s->full = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (s->result != BRONZE_SRC_ROWS)
            return NULL;
        i = (i + 1) % BRONZE_READER_SLOTS;
    }
}

int bronze_reader_start(bronze_reader *r, const bronze_source_vt *vt, bronze_source *src,
                        const char *job_tag)
{
    r->vt = vt;
    r->src = src;
    r->cancel = false;
    snprintf(r->job_tag, sizeof r->job_tag, "%s", job_tag ? job_tag : "");
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
        return -1;
    r->running = true;
    return 0;
}

bronze_reader_slot *bronze_reader_take(bronze_reader *r)
{
    bronze_reader_slot *s = &r->slot[r->head];
    pthread_mutex_lock(&r->mu);
    while (!s->full)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (s->result != BRONZE_SRC_ROWS && r->running) {
        pthread_join(r->thread, NULL);
        r->running = false;
    }
    return s;
}

void bronze_reader_release(bronze_reader *r, bronze_reader_slot *s)
{
    pthread_mutex_lock(&r->mu);
    s->full = false;
    r->head = (r->head + 1) % BRONZE_READER_SLOTS;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void bronze_reader_stop(bronze_reader *r)
{
    if (!r->running)
        return;
    pthread_mutex_lock(&r->mu);
    r->cancel = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    r->running = false;
    for (int i = 0; i < BRONZE_READER_SLOTS; i++)
        r->slot[i].full = false;
    r->head = 0;
}

void bronze_reader_free(bronze_reader *r)
{
    bronze_reader_stop(r);
    for (int i = 0; i < BRONZE_READER_SLOTS; i++)
        bronze_batch_free(&r->slot[i].batch);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}
