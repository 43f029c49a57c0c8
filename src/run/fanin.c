/* fanin.c - one extraction over several connections (see fanin.h). */
#include "run/fanin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run/reader.h"
#include "run/shard.h"
#include "source/db_partition.h"
#include "util/log.h"

typedef struct sub {
    bronze_source *src;
    bronze_source_ctx ctx;
    bronze_reader rd;
    bool rd_ready, running, done;
    char note[160];
} sub;

struct bronze_source {
    const bronze_source_vt *vt; /* the config's own kind */
    const bronze_source_ctx *ctx;
    int n, next_i, restarts;
    sub *subs;
    char *cursor;
};

bool bronze_fanin_applies(const bronze_config *cfg, bool dry_run)
{
    return !dry_run && cfg->type == BRONZE_SRC_DB && cfg->db.partitioning.column &&
           cfg->run.parallel_workers > 1;
}

static void stop_all(struct bronze_source *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->subs[i].running) {
            bronze_reader_stop(&s->subs[i].rd);
            s->subs[i].running = false;
        }
}

static void close_subs(struct bronze_source *s)
{
    stop_all(s);
    for (int i = 0; i < s->n; i++) {
        sub *u = &s->subs[i];
        if (u->rd_ready)
            bronze_reader_free(&u->rd);
        u->rd_ready = false;
        if (u->src)
            s->vt->close(u->src);
        u->src = NULL;
        u->done = false;
    }
}

static bool same_schema(const bronze_schema *a, const bronze_schema *b)
{
    if (!a || !b || a->ncols != b->ncols)
        return false;
    for (size_t i = 0; i < a->ncols; i++)
        if (a->fields[i].type != b->fields[i].type || a->fields[i].scale != b->fields[i].scale ||
            a->fields[i].precision != b->fields[i].precision ||
            strcmp(a->fields[i].name, b->fields[i].name))
            return false;
    return true;
}

/* Opens every connection's source (fresh), checks they agree. */
static int open_subs(struct bronze_source *s, bronze_err *err)
{
    const bronze_config *cfg = s->ctx->cfg;
    for (int i = 0; i < s->n; i++) {
        sub *u = &s->subs[i];
        u->ctx = *s->ctx;
        u->ctx.sub = i;
        u->ctx.nsub = s->n;
        u->note[0] = 0;
        u->ctx.part_note = u->note;
        u->ctx.part_note_cap = sizeof u->note;
        if (s->vt->open(&u->src, &u->ctx, err)) {
            bronze_err_prefix(err, "connection %d of %d", i + 1, s->n);
            return -1;
        }
        const bronze_schema *sc = s->vt->schema(u->src);
        if (i && !same_schema(sc, s->vt->schema(s->subs[0].src)))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: connection %d of %d describes the query with other columns "
                                  "than connection 1",
                                  cfg->path, i + 1, s->n);
        if (i && strcmp(u->note, s->subs[0].note))
            return bronze_err_set(
                err, BRONZE_E_RUNTIME,
                "%s: connection %d of %d split source.db.partitioning.column by "
                "bounds %s, connection 1 by %s (the table changed meanwhile); set "
                "lower_bound and upper_bound",
                cfg->path, i + 1, s->n, u->note, s->subs[0].note);
        if (bronze_reader_init(&u->rd, sc, s->ctx->batch_rows))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        u->rd_ready = true;
    }
    if (s->ctx->part_note && s->ctx->part_note_cap)
        snprintf(s->ctx->part_note, s->ctx->part_note_cap, "%s", s->subs[0].note);
    return 0;
}

static int fanin_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    const bronze_config *cfg = ctx->cfg;
    struct bronze_source *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    s->ctx = ctx;
    bronze_dbp_plan plan;
    if (!(s->vt = bronze_source_for(cfg, err)) ||
        bronze_dbp_plan_for(cfg, ctx->shard, ctx->nshards, 0, 1, &plan, err))
        return -1;
    int len = plan.last - plan.first;
    s->n = cfg->run.parallel_workers < len ? cfg->run.parallel_workers : len;
    if (s->n < 1)
        s->n = 1;
    if (!(s->subs = calloc((size_t)s->n, sizeof *s->subs)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    BRONZE_INFO("Reading %s.%s over %d connections (source.db.partitioning, parallel_workers)",
                cfg->system, cfg->table, s->n);
    return open_subs(s, err);
}

static const bronze_schema *fanin_schema(bronze_source *s)
{
    return s->n && s->subs[0].src ? s->vt->schema(s->subs[0].src) : NULL;
}

/* The typed maximum of the connections' cursors, once all ended. */
static int fold_cursor(struct bronze_source *s, sub *u)
{
    const char *c = s->vt->cursor(u->src);
    if (!c)
        return 0;
    const bronze_schema *sc = fanin_schema(s);
    bronze_incremental inc;
    bronze_config_incremental(s->ctx->cfg, &inc);
    const char *col = inc.cursor_field;
    int t = -1;
    for (size_t i = 0; sc && col && i < sc->ncols; i++)
        if (!strcasecmp(sc->fields[i].name, col))
            t = (int)sc->fields[i].type;
    if (s->cursor && bronze_shard_cursor_cmp(t, c, s->cursor) <= 0)
        return 0;
    char *d = strdup(c);
    if (!d)
        return -1;
    free(s->cursor);
    s->cursor = d;
    return 0;
}

static int fanin_next(bronze_source *s, bronze_batch *batch, bronze_err *err)
{
    for (int i = 0; i < s->n; i++) {
        sub *u = &s->subs[i];
        if (!u->running && !u->done) {
            char tag[160];
            snprintf(tag, sizeof tag, "%s.%s#%d", s->ctx->cfg->system, s->ctx->cfg->table, i + 1);
            if (bronze_reader_start(&u->rd, s->vt, u->src, tag)) {
                stop_all(s);
                return bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start a reader thread");
            }
            u->running = true;
        }
    }
    for (;;) {
        int left = 0;
        for (int i = 0; i < s->n; i++)
            left += !s->subs[i].done;
        if (!left)
            return BRONZE_SRC_END;
        while (s->subs[s->next_i].done)
            s->next_i = (s->next_i + 1) % s->n;
        sub *u = &s->subs[s->next_i];
        bronze_reader_slot *slot = bronze_reader_take(&u->rd);
        int r = slot->result;
        if (r == BRONZE_SRC_ROWS) {
            /* exchange the buffers: both rings hold batches of one shape */
            const bronze_schema *mine = batch->schema, *theirs = slot->batch.schema;
            bronze_batch tmp = *batch;
            *batch = slot->batch;
            slot->batch = tmp;
            batch->schema = mine;
            slot->batch.schema = theirs;
            bronze_reader_release(&u->rd, slot);
            s->next_i = (s->next_i + 1) % s->n;
            return BRONZE_SRC_ROWS;
        }
        bronze_err e = slot->err;
        bronze_reader_release(&u->rd, slot);
        u->running = false;
        if (r == BRONZE_SRC_END) {
            u->done = true;
            if (fold_cursor(s, u)) {
                stop_all(s);
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            }
            continue;
        }
        stop_all(s);
        if (r == BRONZE_SRC_RESTART) {
            /* every connection starts over, as one source would */
            if (++s->restarts > s->ctx->cfg->run.max_retries + 2) {
                *err = e;
                return bronze_err_prefix(err, "restarted %d times", s->restarts - 1);
            }
            close_subs(s);
            free(s->cursor);
            s->cursor = NULL;
            s->next_i = 0;
            if (open_subs(s, err))
                return -1;
            return BRONZE_SRC_RESTART;
        }
        *err = e;
        return r;
    }
}

static const char *fanin_cursor(bronze_source *s)
{
    return s->cursor;
}

static void fanin_close(bronze_source *s)
{
    if (!s)
        return;
    if (s->subs)
        close_subs(s);
    free(s->subs);
    free(s->cursor);
    free(s);
}

const bronze_source_vt bronze_source_fanin = {
    .name = "fanin",
    .open = fanin_open,
    .schema = fanin_schema,
    .next = fanin_next,
    .cursor = fanin_cursor,
    .close = fanin_close,
};
