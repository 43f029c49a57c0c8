/* spool.c - records spooled to JSON Lines, read back by the file source (spool.h). */
#include "source/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Without max_file_size_mb, a chunk is at most this much spooled JSON (a
 * Parquet row group's byte budget). */
#define CHUNK_BYTES_DEFAULT ((uint64_t)64 << 20)

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
};

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
    sp->shadow.file.null_values = NULL;
    sp->shadow.file.n_null_values = 0;
    sp->ctx = *ctx;
    sp->ctx.cfg = &sp->shadow;
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

int bronze_spool_add(bronze_spool *sp, const char *json, size_t n, bronze_err *err)
{
    if (chunk_account(sp, n + 1, err))
        return -1;
    if (fwrite(json, 1, n, sp->f) != n || fputc('\n', sp->f) == EOF)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool file %s: %s", sp->path,
                              strerror(errno));
    sp->records++;
    sp->bytes += n + 1;
    return 0;
}

int bronze_spool_add_raw(bronze_spool *sp, const char *json, size_t n, bronze_err *err)
{
    if (!memchr(json, '\n', n) && !memchr(json, '\r', n))
        return bronze_spool_add(sp, json, n, err);
    if (chunk_account(sp, n + 1, err))
        return -1;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && json[j] != '\n' && json[j] != '\r')
            j++;
        if (fwrite(json + i, 1, j - i, sp->f) != j - i || (j < n && fputc(' ', sp->f) == EOF))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool file %s: %s", sp->path,
                                  strerror(errno));
        i = j < n ? j + 1 : j;
    }
    if (fputc('\n', sp->f) == EOF)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool file %s: %s", sp->path,
                              strerror(errno));
    sp->records++;
    sp->bytes += n + 1;
    return 0;
}

uint64_t bronze_spool_records(const bronze_spool *sp)
{
    return sp->records;
}

int bronze_spool_open_reader(bronze_spool *sp, bronze_source **inner, bronze_err *err)
{
    *inner = NULL;
    if (fflush(sp->f) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "writing spool file %s: %s", sp->path,
                              strerror(errno));
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
    /* the seed's three lines, as its guide shows them */
    BRONZE_INFO("Retrieved %llu records from extractor", (unsigned long long)sp->records);
    BRONZE_DEBUG("Spooled %.1f MiB of JSON Lines", (double)sp->bytes / 1048576.0);
    BRONZE_INFO("Chunked %llu records into %zu chunks%s", (unsigned long long)sp->records,
                sp->nchunks, why);
    int w = cfg->run.parallel_workers > 0 ? cfg->run.parallel_workers : 1;
    BRONZE_INFO("Processing %zu chunks with %d workers", sp->nchunks, w);
    return bronze_source_file.open(inner, &sp->ctx, err);
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
    if (sp->f)
        fclose(sp->f);
    unlink(sp->path);
    free(sp->chunk_end);
    free(sp);
}
