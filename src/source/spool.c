/* spool.c - records spooled to JSON Lines, read back by the file source (spool.h). */
#include "source/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

struct bronze_spool {
    FILE *f;
    char path[4600];
    uint64_t records, bytes;
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

int bronze_spool_add(bronze_spool *sp, const char *json, size_t n, bronze_err *err)
{
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
    BRONZE_INFO("Retrieved %llu records from extractor (%.1f MiB spooled)",
                (unsigned long long)sp->records, (double)sp->bytes / 1048576.0);
    return bronze_source_file.open(inner, &sp->ctx, err);
}

void bronze_spool_free(bronze_spool *sp)
{
    if (!sp)
        return;
    if (sp->f)
        fclose(sp->f);
    unlink(sp->path);
    free(sp);
}
