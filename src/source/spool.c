/* spool.c - records spooled to JSON Lines, read back by the file source (spool.h). */
#include "source/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/file_json.h"
#include "source/input.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"

/* Without max_file_size_mb, a chunk is at most this much spooled JSON (a
 * Parquet row group's byte budget). */
#define CHUNK_BYTES_DEFAULT ((uint64_t)64 << 20)

/* Live, the write(2) calls run on a thread of their own (the fetcher only
 * copies records into memory): records gather in `pend`, and at each
 * publish, or once a mebibyte has gathered, they are handed over through a
 * single slot (a publish that is not `now` leaves them gathering until
 * then); the writer thread writes the index, then the records, and
 * only then publishes them to the reader. Memory: three buffers of about a
 * mebibyte (the one filling, the slot, the one being written). */
#define HANDOFF_BYTES ((size_t)1 << 20)

typedef struct spool_writer {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bronze_buf pend[2], slot[2], work[2]; /* [0] records, [1] index */
    uint64_t slot_bytes, slot_ix_bytes;   /* the totals once the slot is written */
    bool full, done;
    int err_no;                       /* a failed write's errno (0: none) */
    int err_which;                    /* 0 the records, 1 the index */
    uint64_t written[2], reserved[2]; /* bytes written to each file, and allocated */
} spool_writer;

/* One thread writes a spool: stdio's unlocked calls, or, live, the
 * writer thread's write(2). */
struct bronze_spool {
    FILE *f;
    char path[4600];
    uint64_t records, bytes;
    /* chunks: consecutive runs of records, cut while spooling */
    uint64_t chunk_rows_max, chunk_bytes_max; /* 0 = no row limit */
    uint64_t cur_rows, cur_bytes;
    uint64_t *chunk_end; /* cumulative record count at the end of each chunk */
    size_t nchunks, cap_chunks;
    /* reading: rows handed out since the last (re)start, next chunk to finish */
    uint64_t delivered;
    size_t next_chunk, logged;
    bronze_config shadow; /* the job's config with source.file pointing here */
    bronze_source_ctx ctx;
    /* live (bronze_spool_set_live): the reader runs while records arrive;
     * everything above is the writer's until bronze_live_finished() */
    bronze_live *live;
    /* the side index (bronze_spool_set_index, file_json.h) */
    FILE *ix;
    char ix_path[4608];
    uint64_t ix_bytes;
    bronze_live *ix_live;
    spool_writer *w; /* live only */
    unsigned char ent[2 + 8 * BRONZE_JSON_INDEX_MAX];
    /* the files' removal once the reader has had every record (release) */
    enum { FILES_KEPT, FILES_GOING, FILES_GONE } files;
    pthread_t releaser; /* FILES_GOING: the thread removing them */
};

/* The namer without a source's own: "record 7". */
static void record_number(void *arg, uint64_t rec, char *out, size_t cap)
{
    (void)arg;
    snprintf(out, cap, "record %llu", (unsigned long long)rec);
}

int bronze_spool_create(bronze_spool **out, const bronze_source_ctx *ctx, const char *name,
                        bronze_err *err)
{
    *out = NULL;
    bronze_spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    int n = snprintf(sp->path, sizeof sp->path, "%s/spool-%s-%d.jsonl",
                     ctx->tmp_dir && *ctx->tmp_dir ? ctx->tmp_dir : ".", name, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof sp->path) {
        free(sp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "spool path too long");
    }
    if (!(sp->f = fopen(sp->path, "w+e"))) {
        int e = errno;
        free(sp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating spool file %s: %s", sp->path,
                              strerror(e));
    }
    setvbuf(sp->f, NULL, _IOFBF, 1 << 20);
    const bronze_config *cfg = ctx->cfg;
    sp->chunk_rows_max = cfg->run.max_rows_per_file > 0 ? (uint64_t)cfg->run.max_rows_per_file : 0;
    sp->chunk_bytes_max = cfg->run.max_file_size_mb > 0
                              ? (uint64_t)(cfg->run.max_file_size_mb * 1048576.0)
                              : CHUNK_BYTES_DEFAULT;
    sp->shadow = *ctx->cfg; /* shallow: every string still belongs to the job's config */
    sp->shadow.file.path = sp->path;
    sp->shadow.file.format = BRONZE_FILE_JSONL;
    sp->shadow.file.format_set = true;
    sp->shadow.file.null_values = NULL;
    sp->shadow.file.n_null_values = 0;
    sp->ctx = *ctx;
    sp->ctx.cfg = &sp->shadow;
    sp->ctx.spooled = true;
    sp->ctx.name_record = record_number;
    sp->ctx.name_arg = NULL;
    *out = sp;
    return 0;
}

static int close_chunk(bronze_spool *sp)
{
    if (!sp->cur_rows)
        return 0;
    if (sp->nchunks == sp->cap_chunks) {
        size_t nc = sp->cap_chunks ? sp->cap_chunks * 2 : 16;
        uint64_t *p = realloc(sp->chunk_end, nc * sizeof *p);
        if (!p)
            return -1;
        sp->chunk_end = p;
        sp->cap_chunks = nc;
    }
    sp->chunk_end[sp->nchunks++] = sp->records;
    sp->cur_rows = sp->cur_bytes = 0;
    return 0;
}

/* Called before a record of n bytes (its newline included) is counted: it
 * opens a new chunk when this one is full. */
static int chunk_account(bronze_spool *sp, uint64_t n, bronze_err *err)
{
    if (sp->cur_rows &&
        ((sp->chunk_rows_max && sp->cur_rows >= sp->chunk_rows_max) ||
         sp->cur_bytes + n > sp->chunk_bytes_max) &&
        close_chunk(sp))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    sp->cur_rows++;
    sp->cur_bytes += n;
    return 0;
}

static int write_error(bronze_spool *sp, int which, int e, bronze_err *err)
{
    return which ? bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool index %s: %s", sp->ix_path,
                                  strerror(e))
                 : bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool file %s: %s", sp->path,
                                  strerror(e));
}

/* Bytes for the records file (which 0) or the index (1). */
static int emit(bronze_spool *sp, int which, const void *p, size_t n, bronze_err *err)
{
    if (sp->w)
        return bronze_buf_append(&sp->w->pend[which], p, n)
                   ? bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory")
                   : 0;
    if (fwrite_unlocked(p, 1, n, which ? sp->ix : sp->f) != n)
        return write_error(sp, which, errno, err);
    return 0;
}

static int handoff(bronze_spool *sp, bronze_err *err);

/* The index entry of the record about to be written (m NULL: parse it). */
static int index_add(bronze_spool *sp, size_t n, const bronze_json_span *m, size_t nm,
                     bronze_err *err)
{
    if (!sp->ix)
        return 0;
    size_t k = bronze_json_index_entry(sp->ent, n, m, nm);
    if (emit(sp, 1, sp->ent, k, err))
        return -1;
    sp->ix_bytes += k;
    return 0;
}

/* A record of n bytes (its line n + 1) is written: counted, and, live, what
 * has gathered goes to the writer thread once it is a mebibyte. */
static int line_done(bronze_spool *sp, size_t n, bronze_err *err)
{
    sp->records++;
    sp->bytes += n + 1;
    return sp->w && sp->w->pend[0].len >= HANDOFF_BYTES ? handoff(sp, err) : 0;
}

/* One record without a line break in it, with its index entry. */
static int put_line(bronze_spool *sp, const char *json, size_t n, const bronze_json_span *m,
                    size_t nm, bronze_err *err)
{
    if (chunk_account(sp, n + 1, err) || index_add(sp, n, m, nm, err) ||
        emit(sp, 0, json, n, err) || emit(sp, 0, "\n", 1, err))
        return -1;
    return line_done(sp, n, err);
}

int bronze_spool_add(bronze_spool *sp, const char *json, size_t n, bronze_err *err)
{
    return put_line(sp, json, n, NULL, 0, err);
}

int bronze_spool_add_raw(bronze_spool *sp, const char *json, size_t n, bool breaks,
                         const bronze_json_span *m, size_t nm, bronze_err *err)
{
    if (!breaks)
        return put_line(sp, json, n, m, nm, err);
    if (chunk_account(sp, n + 1, err) || index_add(sp, n, m, nm, err))
        return -1;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && json[j] != '\n' && json[j] != '\r')
            j++;
        if (emit(sp, 0, json + i, j - i, err) || (j < n && emit(sp, 0, " ", 1, err)))
            return -1;
        i = j < n ? j + 1 : j;
    }
    if (emit(sp, 0, "\n", 1, err))
        return -1;
    return line_done(sp, n, err);
}

uint64_t bronze_spool_records(const bronze_spool *sp)
{
    return sp->records;
}

/* Both files flushed (live, stdio holds nothing: a no-op). */
static int flush_all(bronze_spool *sp, bronze_err *err)
{
    if (sp->ix && fflush(sp->ix) != 0)
        return write_error(sp, 1, errno, err);
    if (fflush(sp->f) != 0)
        return write_error(sp, 0, errno, err);
    return 0;
}

/* The end of writing: the last chunk is closed, and the seed's three lines
 * are logged, as its guide shows them. */
static int finish_writing(bronze_spool *sp, bronze_err *err)
{
    if (flush_all(sp, err))
        return -1;
    if (close_chunk(sp))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    const bronze_config *cfg = sp->ctx.cfg;
    char why[128];
    if (cfg->run.max_rows_per_file > 0 && cfg->run.max_file_size_mb > 0)
        snprintf(why, sizeof why, " (max_file_size_mb=%g, max_rows_per_file=%lld)",
                 cfg->run.max_file_size_mb, (long long)cfg->run.max_rows_per_file);
    else if (cfg->run.max_rows_per_file > 0)
        snprintf(why, sizeof why, " (max_rows_per_file=%lld)",
                 (long long)cfg->run.max_rows_per_file);
    else if (cfg->run.max_file_size_mb > 0)
        snprintf(why, sizeof why, " (max_file_size_mb=%g)", cfg->run.max_file_size_mb);
    else
        snprintf(why, sizeof why, " (%llu MiB of records each)",
                 (unsigned long long)(CHUNK_BYTES_DEFAULT >> 20));
    BRONZE_INFO("Retrieved %llu records from extractor", (unsigned long long)sp->records);
    char ix[64] = "";
    if (sp->ix)
        snprintf(ix, sizeof ix, " and a %.1f MiB index of their members",
                 (double)sp->ix_bytes / 1048576.0);
    BRONZE_DEBUG("Spooled %.1f MiB of JSON Lines%s", (double)sp->bytes / 1048576.0, ix);
    BRONZE_INFO("Chunked %llu records into %zu chunks%s", (unsigned long long)sp->records,
                sp->nchunks, why);
    int w = cfg->run.parallel_workers > 0 ? cfg->run.parallel_workers : 1;
    BRONZE_INFO("Processing %zu chunks with %d workers", sp->nchunks, w);
    return 0;
}

int bronze_spool_set_index(bronze_spool *sp, bronze_err *err)
{
    int n = snprintf(sp->ix_path, sizeof sp->ix_path, "%s.idx", sp->path);
    if (n < 0 || (size_t)n >= sizeof sp->ix_path)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "spool path too long");
    if (!(sp->ix = fopen(sp->ix_path, "w+e")))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating spool index %s: %s", sp->ix_path,
                              strerror(errno));
    setvbuf(sp->ix, NULL, _IOFBF, 256 << 10);
    sp->ctx.index_path = sp->ix_path;
    return 0;
}

static int write_all(int fd, const bronze_buf *b)
{
    bronze_err ferr = BRONZE_ERR_INIT;
    if (bronze_fault("spool-write", &ferr))
        return EIO; /* tests: a disk that fails under the spool */
    for (size_t off = 0; off < b->len;) {
        ssize_t k = write(fd, b->data + off, b->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        off += (size_t)k;
    }
    return 0;
}

/* work[k] appended to file k, its blocks allocated ahead in steps: ext4's
 * delayed allocation otherwise reserves them page by page, a quarter of the
 * writer thread's time (a failed fallocate only leaves that cost). A step is
 * an eighth of what is written, 1 to 32 MiB, so that the space held ahead on
 * a nearly full disk stays small beside the spool itself. */
static int write_ahead(spool_writer *w, int k, int fd)
{
    uint64_t step = w->written[k] / 8, end = w->written[k] + w->work[k].len;
    step = step < (1u << 20) ? 1u << 20 : step > (32u << 20) ? 32u << 20 : step;
    if (end > w->reserved[k]) {
        uint64_t from = w->reserved[k] > w->written[k] ? w->reserved[k] : w->written[k];
        if (!fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(end + step - from)))
            w->reserved[k] = end + step;
    }
    int e = write_all(fd, &w->work[k]);
    w->written[k] += w->work[k].len;
    return e;
}

static void *writer_main(void *arg)
{
    bronze_spool *sp = arg;
    spool_writer *w = sp->w;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->full && !w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->full) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        for (int k = 0; k < 2; k++) {
            bronze_buf t = w->work[k];
            w->work[k] = w->slot[k];
            w->slot[k] = t;
        }
        uint64_t bytes = w->slot_bytes, ix_bytes = w->slot_ix_bytes;
        w->full = false;
        bool failed = w->err_no != 0;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        /* the index first: a reader of a line must find its entry */
        int e = 0, which = 1;
        if (!failed && sp->ix)
            e = write_ahead(w, 1, fileno(sp->ix));
        if (!failed && !e) {
            which = 0;
            e = write_ahead(w, 0, fileno(sp->f));
        }
        w->work[0].len = w->work[1].len = 0;
        if (failed)
            continue;
        if (e) {
            pthread_mutex_lock(&w->mu);
            w->err_no = e;
            w->err_which = which;
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        if (sp->ix_live)
            bronze_live_publish(sp->ix_live, ix_bytes);
        bronze_live_publish(sp->live, bytes);
    }
}

/* What has gathered goes to the writer thread (waiting for the slot). */
static int handoff(bronze_spool *sp, bronze_err *err)
{
    spool_writer *w = sp->w;
    pthread_mutex_lock(&w->mu);
    while (w->full && !w->err_no)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->err_no, which = w->err_which;
    if (!e) {
        for (int k = 0; k < 2; k++) {
            bronze_buf t = w->slot[k];
            w->slot[k] = w->pend[k];
            w->pend[k] = t;
            w->pend[k].len = 0;
        }
        w->slot_bytes = sp->bytes;
        w->slot_ix_bytes = sp->ix_bytes;
        w->full = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return e ? write_error(sp, which, e, err) : 0;
}

/* Ends the writer thread after what was handed over is written. Returns the
 * first write error's errno (0: none); *which: its file. */
static int stop_writer(bronze_spool *sp, int *which)
{
    spool_writer *w = sp->w;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    for (int k = 0; k < 2; k++) {
        bronze_buf_free(&w->pend[k]);
        bronze_buf_free(&w->slot[k]);
        bronze_buf_free(&w->work[k]);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    *which = w->err_which;
    int e = w->err_no;
    free(w);
    sp->w = NULL;
    return e;
}

int bronze_spool_set_live(bronze_spool *sp, bronze_err *err)
{
    if (!(sp->live = bronze_live_new()) || (sp->ix && !(sp->ix_live = bronze_live_new())) ||
        !(sp->w = calloc(1, sizeof *sp->w)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    sp->ctx.live = sp->live;
    sp->ctx.index_live = sp->ix_live;
    pthread_mutex_init(&sp->w->mu, NULL);
    pthread_cond_init(&sp->w->cv, NULL);
    int e = pthread_create(&sp->w->th, NULL, writer_main, sp);
    if (e) {
        pthread_cond_destroy(&sp->w->cv);
        pthread_mutex_destroy(&sp->w->mu);
        free(sp->w);
        sp->w = NULL;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start the spool writer: %s",
                              strerror(e));
    }
    return 0;
}

int bronze_spool_publish(bronze_spool *sp, bool now, bronze_err *err)
{
    if (!sp->w || (!sp->w->pend[0].len && !sp->w->pend[1].len) ||
        (!now && sp->w->pend[0].len < HANDOFF_BYTES))
        return 0;
    return handoff(sp, err);
}

int bronze_spool_finish(bronze_spool *sp, bool failed, bronze_err *err)
{
    int rc = failed ? -1 : bronze_spool_publish(sp, true, err);
    if (sp->w) {
        int which, e = stop_writer(sp, &which);
        if (e && rc == 0)
            rc = write_error(sp, which, e, err);
    }
    /* the writer thread has written and published every byte */
    if (rc == 0)
        rc = finish_writing(sp, err);
    if (sp->ix_live)
        bronze_live_finish(sp->ix_live, rc != 0);
    bronze_live_finish(sp->live, rc != 0);
    return rc;
}

int bronze_spool_open_reader(bronze_spool *sp, bronze_source **inner, bronze_err *err)
{
    *inner = NULL;
    if (!sp->live && finish_writing(sp, err))
        return -1;
    return bronze_source_file.open(inner, &sp->ctx, err);
}

void bronze_spool_set_namer(bronze_spool *sp, bronze_record_namer name, void *arg)
{
    sp->ctx.name_record = name;
    sp->ctx.name_arg = arg;
}

void bronze_spool_name_record(const bronze_spool *sp, bronze_err *err)
{
    static const char line[] = ": line ";
    size_t pl = strlen(sp->path);
    char *at = err->msg;
    while ((at = strstr(at, sp->path)) && strncmp(at + pl, line, sizeof line - 1))
        at += pl;
    if (!at)
        return;
    const char *d = at + pl + sizeof line - 1;
    char *rest;
    errno = 0;
    unsigned long long rec = strtoull(d, &rest, 10);
    if (*d < '1' || *d > '9' || errno)
        return;
    char who[256];
    sp->ctx.name_record(sp->ctx.name_arg, rec, who, sizeof who);
    char out[sizeof err->msg];
    if (snprintf(out, sizeof out, "%.*s%s%s", (int)(at - err->msg), err->msg, who, rest) < 0)
        return;
    memcpy(err->msg, out, sizeof out);
}

/* Closes and removes both files (the reader has closed its own). */
static void remove_files(bronze_spool *sp)
{
    if (sp->f)
        fclose(sp->f);
    sp->f = NULL;
    unlink(sp->path);
    if (sp->ix) {
        fclose(sp->ix);
        sp->ix = NULL;
        unlink(sp->ix_path);
    }
}

static void *release_main(void *arg)
{
    remove_files(arg);
    return NULL;
}

/* The reader has had every record, and no widening can send it back to the
 * first one: the files can go. Removing a spool frees its pages in the page
 * cache, tens of milliseconds for a few hundred MiB; on a thread of its own
 * that overlaps the encoders' last row group and the commit instead of
 * following them (bronze_spool_free waits for it). */
static void release(bronze_spool *sp)
{
    if (sp->files != FILES_KEPT)
        return;
    if (pthread_create(&sp->releaser, NULL, release_main, sp) == 0) {
        sp->files = FILES_GOING;
        return;
    }
    remove_files(sp);
    sp->files = FILES_GONE;
}

int bronze_spool_next(bronze_spool *sp, bronze_source *inner, bronze_batch *b, bronze_err *err)
{
    int r = bronze_source_file.next(inner, b, err);
    if (r == BRONZE_SRC_RESTART) {
        /* a widened column: the spool is read again from its first record;
         * chunks already reported are not reported twice */
        sp->delivered = 0;
        sp->next_chunk = 0;
        return r;
    }
    if (r == BRONZE_SRC_ROWS)
        sp->delivered += b->nrows;
    else if (r != BRONZE_SRC_END)
        return r;
    if (r == BRONZE_SRC_END)
        release(sp);
    /* chunks are known (and "Processing" said) once writing has finished */
    if (sp->live && !bronze_live_finished(sp->live))
        return r;
    while (sp->next_chunk < sp->nchunks && sp->delivered >= sp->chunk_end[sp->next_chunk]) {
        if (++sp->next_chunk > sp->logged) {
            sp->logged = sp->next_chunk;
            BRONZE_DEBUG("Chunk %zu completed successfully", sp->next_chunk);
        }
    }
    return r;
}

void bronze_spool_free(bronze_spool *sp)
{
    if (!sp)
        return;
    if (sp->w) {
        int which;
        (void)stop_writer(sp, &which);
    }
    if (sp->files == FILES_GOING)
        pthread_join(sp->releaser, NULL);
    else if (sp->files == FILES_KEPT)
        remove_files(sp);
    bronze_live_free(sp->ix_live);
    bronze_live_free(sp->live);
    free(sp->chunk_end);
    free(sp);
}
