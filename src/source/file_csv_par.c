/*
 * file_csv_par.c - the parallel CSV reader's engine (see file_csv_par.h).
 *
 * Shape: one shared read-only descriptor (pread), a ring of `window` range
 * slots, `workers` threads taking range indexes in order, and the caller
 * taking finished slots in order. A slot is refilled only after the caller
 * has moved past it, so at most `window` ranges of rows exist at once. Row
 * batches come from a small pool and go back to it.
 */
#include "source/file_csv_par.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/input.h"

#define PROBE_BYTES (64 * 1024) /* how far a start guess is test-parsed */
#define PROBE_RECORDS 4
#define PROBE_TRIES 8
#define SPILL_MIN (1u << 20) /* a range's last record may run this far past it */

enum { SLOT_IDLE, SLOT_RUNNING, SLOT_DONE };

typedef struct slot {
    bronze_csvp_range r;
    size_t index;
    int state;
    unsigned *votes; /* vote mode */
    size_t cap_batches;
} slot;

struct bronze_csvp {
    bronze_csvp_opts o;
    char *path, *name;
    int fd;
    uint64_t fsize;
    size_t nranges, window;
    slot *ring;
    size_t next_dispatch; /* next range a worker takes */
    size_t handed;        /* ranges handed to the caller (the last one still in use) */
    bool holding;         /* the caller holds range handed - 1 */
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *threads;
    int nthreads;
    bronze_batch *pool;
    size_t npool, cap_pool;
};

const bronze_csvp_opts *bronze_csvp_options(const bronze_csvp *p)
{
    return &p->o;
}

/* ---- batches ---- */

static int pool_get(bronze_csvp *p, bronze_batch *out)
{
    pthread_mutex_lock(&p->mu);
    bool have = p->npool > 0;
    if (have)
        *out = p->pool[--p->npool];
    pthread_mutex_unlock(&p->mu);
    return have ? 0 : bronze_batch_init(out, p->o.schema, p->o.batch_rows);
}

/* With p->mu held. */
static void pool_put_locked(bronze_csvp *p, bronze_batch *b)
{
    if (p->npool == p->cap_pool) {
        size_t cap = p->cap_pool ? p->cap_pool * 2 : 16;
        bronze_batch *n = realloc(p->pool, cap * sizeof *n);
        if (!n) {
            bronze_batch_free(b);
            return;
        }
        p->pool = n;
        p->cap_pool = cap;
    }
    bronze_batch_clear(b);
    p->pool[p->npool++] = *b;
}

static void slot_release_locked(bronze_csvp *p, slot *s)
{
    for (size_t i = 0; i < s->r.nbatches; i++)
        pool_put_locked(p, &s->r.batches[i]);
    s->r.nbatches = 0;
}

/* ---- reading ---- */

static int open_at(const bronze_csvp *p, uint64_t start, uint64_t limit, uint64_t line,
                   bronze_csv **out, bronze_err *err)
{
    bronze_input *in;
    if (bronze_input_open_range(&in, p->fd, p->name, start, limit, err))
        return -1;
    if (bronze_csv_open_at(out, in, p->o.delimiter, start, line, err))
        return -1;
    bronze_csv_set_lenient_utf8(*out, p->o.lenient_utf8);
    return 0;
}

/* Does a record start at off? A guess: up to PROBE_RECORDS records from off
 * parse with the file's field count (or are blank lines where those are
 * skipped). Only speed depends on the answer. */
static bool probe(const bronze_csvp *p, uint64_t off)
{
    uint64_t limit = off + PROBE_BYTES < p->fsize ? off + PROBE_BYTES : p->fsize;
    bronze_csv *r;
    bronze_err e = BRONZE_ERR_INIT;
    if (open_at(p, off, limit, 1, &r, &e))
        return true;
    bool ok = true;
    for (int k = 0; k < PROBE_RECORDS; k++) {
        const bronze_csv_field *f;
        size_t n;
        int rc = bronze_csv_next(r, &f, &n, &e);
        if (rc == 0)
            break;
        bool cut = limit < p->fsize && bronze_csv_offset(r) >= limit;
        if (rc < 0 || cut) {
            ok = k > 0 || cut; /* a record cut by the probe window proves nothing */
            break;
        }
        if (n != p->o.ncols && !(n == 1 && !f[0].quoted && !f[0].len && p->o.ncols >= 2)) {
            ok = false;
            break;
        }
    }
    bronze_csv_close(r);
    return ok;
}

/* The guessed first record start at or after nominal point n (> data start):
 * a line start, checked by probe(). */
static uint64_t find_start(const bronze_csvp *p, uint64_t n, uint64_t next)
{
    unsigned char buf[4096];
    uint64_t pos = n - 1, first = UINT64_MAX;
    int tries = 0;
    for (;;) {
        ssize_t got = pread(p->fd, buf, sizeof buf, (off_t)pos);
        if (got <= 0)
            return first != UINT64_MAX ? first : p->fsize;
        const unsigned char *nl = memchr(buf, '\n', (size_t)got);
        if (!nl) {
            pos += (uint64_t)got;
            continue;
        }
        uint64_t cand = pos + (uint64_t)(nl - buf) + 1;
        if (first == UINT64_MAX)
            first = cand;
        if (cand >= next || cand >= p->fsize || probe(p, cand))
            return cand;
        if (++tries >= PROBE_TRIES)
            return first;
        pos = cand;
    }
}

static void parse_range(bronze_csvp *p, slot *s, void *scratch)
{
    bronze_csvp_range *r = &s->r;
    size_t i = s->index;
    uint64_t rb = p->o.range_bytes;
    r->nominal = p->o.data_start + (uint64_t)i * rb;
    r->next_nominal = i + 1 == p->nranges ? p->fsize : r->nominal + rb;
    r->nbatches = 0;
    r->complete = false;
    if (s->votes)
        memset(s->votes, 0, p->o.nvotes * sizeof *s->votes);
    r->votes = s->votes;
    r->lines = 0;
    r->start = i == 0 ? r->nominal : find_start(p, r->nominal, r->next_nominal);
    r->stop = r->start;
    if (r->start >= r->next_nominal) {
        r->complete = true; /* no record starts in this range (if the guess is right) */
        return;
    }
    uint64_t spill = rb > SPILL_MIN ? rb : SPILL_MIN;
    uint64_t limit = r->next_nominal + spill < p->fsize ? r->next_nominal + spill : p->fsize;
    bronze_csv *csv;
    bronze_err e = BRONZE_ERR_INIT;
    if (open_at(p, r->start, limit, 1, &csv, &e))
        return; /* incomplete at start: the caller reads it sequentially */
    bronze_batch *cur = NULL;
    for (;;) {
        uint64_t off = bronze_csv_offset(csv);
        r->stop = off;
        r->lines = bronze_csv_line(csv) - 1;
        if (off >= r->next_nominal) {
            r->complete = true;
            break;
        }
        const bronze_csv_field *f;
        size_t n;
        int rc = bronze_csv_next(csv, &f, &n, &e);
        if (rc == 0) {
            r->complete = limit == p->fsize; /* else: cut off by limit */
            break;
        }
        if (rc < 0 || (limit < p->fsize && bronze_csv_offset(csv) >= limit))
            break; /* an error (the caller's sequential read reports it) or a long record */
        if (p->o.vote) {
            int c = p->o.vote(p->o.ctx, scratch, s->votes, f, n);
            if (c == 2 || c < 0)
                break;
            continue;
        }
        if (!cur || bronze_batch_full(cur)) {
            if (r->nbatches == s->cap_batches) {
                size_t cap = s->cap_batches ? s->cap_batches * 2 : 4;
                bronze_batch *nb = realloc(r->batches, cap * sizeof *nb);
                if (!nb)
                    break;
                r->batches = nb;
                s->cap_batches = cap;
            }
            if (pool_get(p, &r->batches[r->nbatches]))
                break;
            cur = &r->batches[r->nbatches++];
        }
        int c = p->o.row(p->o.ctx, scratch, cur, f, n);
        if (c == 2 || c < 0)
            break;
    }
    bronze_csv_close(csv);
}

static void *worker_main(void *arg)
{
    bronze_csvp *p = arg;
    void *scratch = calloc(1, p->o.scratch_size ? p->o.scratch_size : 1);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop &&
               (p->next_dispatch >= p->nranges || p->next_dispatch >= p->handed + p->window - 1))
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->stop)
            break;
        slot *s = &p->ring[p->next_dispatch % p->window];
        s->index = p->next_dispatch++;
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&p->mu);
        if (scratch)
            parse_range(p, s, scratch);
        else
            s->r = (bronze_csvp_range){.start = UINT64_MAX}; /* never matches: sequential */
        pthread_mutex_lock(&p->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    free(scratch);
    return NULL;
}

/* ---- the caller's side ---- */

static uint64_t range_bytes(const bronze_csvp_opts *o)
{
    if (o->range_bytes)
        return o->range_bytes;
    const char *e = getenv("BRONZE_CSV_RANGE_BYTES");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (!*end && v > 0)
            return v;
    }
    return BRONZE_CSVP_RANGE_BYTES;
}

int bronze_csvp_open(bronze_csvp **out, const bronze_csvp_opts *o, bronze_err *err)
{
    *out = NULL;
    bronze_csvp *p = calloc(1, sizeof *p);
    if (!p)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", o->name);
    p->o = *o;
    p->fd = -1;
    p->o.range_bytes = range_bytes(o);
    p->o.workers = o->workers > 0 ? o->workers : 1;
    p->path = strdup(o->path);
    p->name = strdup(o->name);
    if (!p->path || !p->name) {
        bronze_csvp_close(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", o->name);
    }
    p->o.path = p->path;
    p->o.name = p->name;
    p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (p->fd < 0 || fstat(p->fd, &st) != 0) {
        int en = errno;
        bronze_csvp_close(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot open: %s", o->name, strerror(en));
    }
    p->fsize = (uint64_t)st.st_size;
    uint64_t data = p->fsize > o->data_start ? p->fsize - o->data_start : 0;
    p->nranges = (size_t)((data + p->o.range_bytes - 1) / p->o.range_bytes);
    p->window = (size_t)p->o.workers + 2; /* the caller holds one; one parsed ahead */
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    p->ring = calloc(p->window, sizeof *p->ring);
    p->threads = calloc((size_t)p->o.workers, sizeof *p->threads);
    for (size_t i = 0; p->ring && o->vote && i < p->window; i++)
        if (!(p->ring[i].votes = calloc(o->nvotes ? o->nvotes : 1, sizeof(unsigned))))
            p->o.vote = NULL; /* checked below */
    if (!p->ring || !p->threads || (o->vote && !p->o.vote)) {
        bronze_csvp_close(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", o->name);
    }
    for (int i = 0; i < p->o.workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (!p->nthreads) {
        bronze_csvp_close(p);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot start a reader thread", o->name);
    }
    *out = p;
    return 0;
}

int bronze_csvp_next(bronze_csvp *p, const bronze_csvp_range **r)
{
    pthread_mutex_lock(&p->mu);
    if (p->holding) {
        slot_release_locked(p, &p->ring[(p->handed - 1) % p->window]);
        p->ring[(p->handed - 1) % p->window].state = SLOT_IDLE;
        p->holding = false;
        pthread_cond_broadcast(&p->cv_work);
    }
    if (p->handed >= p->nranges) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    slot *s = &p->ring[p->handed % p->window];
    while (!(s->state == SLOT_DONE && s->index == p->handed))
        pthread_cond_wait(&p->cv_done, &p->mu);
    p->handed++;
    p->holding = true;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    *r = &s->r;
    return 1;
}

int bronze_csvp_open_reader(const bronze_csvp_opts *o, uint64_t offset, uint64_t line,
                            bronze_csv **out, bronze_err *err)
{
    *out = NULL;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot open: %s", o->name,
                              strerror(errno));
    if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        int en = errno;
        close(fd);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot seek: %s", o->name, strerror(en));
    }
    bronze_input *in;
    if (bronze_input_open_fd(&in, fd, true, o->name, NULL, err))
        return -1;
    if (bronze_csv_open_at(out, in, o->delimiter, offset, line, err))
        return -1;
    bronze_csv_set_lenient_utf8(*out, o->lenient_utf8);
    return 0;
}

void bronze_csvp_close(bronze_csvp *p)
{
    if (!p)
        return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->nthreads; i++)
            pthread_join(p->threads[i], NULL);
    }
    if (p->ring) {
        for (size_t i = 0; i < p->window; i++) {
            slot *s = &p->ring[i];
            for (size_t k = 0; k < s->r.nbatches; k++)
                bronze_batch_free(&s->r.batches[k]);
            free(s->r.batches);
            free(s->votes);
        }
        free(p->ring);
    }
    for (size_t i = 0; i < p->npool; i++)
        bronze_batch_free(&p->pool[i]);
    free(p->pool);
    free(p->threads);
    if (p->threads || p->ring) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv_work);
        pthread_cond_destroy(&p->cv_done);
    }
    if (p->fd >= 0)
        close(p->fd);
    free(p->path);
    free(p->name);
    free(p);
}

/* ---- batch rows ---- */

static size_t row_var_bytes(const bronze_batch *src, size_t row)
{
    size_t v = 0;
    for (size_t j = 0; j < src->schema->ncols; j++)
        if (bronze_type_is_varlen(src->schema->fields[j].type))
            v += (size_t)(src->cols[j].v.off[row + 1] - src->cols[j].v.off[row]);
    return v;
}

size_t bronze_csvp_rows_fitting(const bronze_batch *dst, const bronze_batch *src, size_t from)
{
    if (bronze_batch_full(dst) || from >= src->nrows)
        return 0;
    size_t n = src->nrows - from;
    if (n > dst->cap - dst->nrows)
        n = dst->cap - dst->nrows;
    /* src's var-len bytes from `from` on bound those of the n rows. */
    size_t before = 0;
    if (from) {
        for (size_t j = 0; j < src->schema->ncols; j++)
            if (bronze_type_is_varlen(src->schema->fields[j].type))
                before += (size_t)src->cols[j].v.off[from];
    }
    if (dst->var_bytes + (src->var_bytes - before) < BRONZE_BATCH_MAX_BYTES)
        return n;
    /* The sequential reader adds a row while the batch is not full. */
    size_t v = dst->var_bytes, k = 0;
    while (k < n && v < BRONZE_BATCH_MAX_BYTES)
        v += row_var_bytes(src, from + k++);
    return k;
}

int bronze_csvp_copy_rows(bronze_batch *dst, const bronze_batch *src, size_t from, size_t n)
{
    if (!n)
        return 0;
    size_t at = dst->nrows;
    for (size_t j = 0; j < dst->schema->ncols; j++) {
        bronze_column *d = &dst->cols[j];
        const bronze_column *s = &src->cols[j];
        bronze_type t = dst->schema->fields[j].type;
        d->null_count += bronze_bits_copy(d->valid, at, s->valid, from, n);
        if (bronze_type_is_varlen(t)) {
            uint64_t b0 = s->v.off[from], b1 = s->v.off[from + n];
            size_t len = (size_t)(b1 - b0);
            if (d->data_len + len > d->data_cap && bronze_batch_grow_data(d, d->data_len + len))
                return -1;
            if (len)
                memcpy(d->data + d->data_len, s->data + b0, len);
            uint64_t delta = (uint64_t)d->data_len - b0;
            for (size_t i = 1; i <= n; i++)
                d->v.off[at + i] = s->v.off[from + i] + delta;
            d->data_len += len;
            dst->var_bytes += len;
        } else {
            size_t w = bronze_type_width(t);
            memcpy((char *)d->v.raw + at * w, (const char *)s->v.raw + from * w, n * w);
        }
    }
    dst->nrows += n;
    return 0;
}
