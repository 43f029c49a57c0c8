/*
 * db_driver.c - the skeleton every client/server database source shares
 * (see db_driver.h): open checks, connection retries, the mid-stream
 * RESTART, the incremental cursor maximum and the schemas' lifetime.
 *
 * Schemas live until close() (source.h): the job's thread may still encode a
 * batch that points at the schema when this thread meets a transient error
 * and re-describes the query. A re-describe that yields the same schema keeps
 * the old object; a different one retires the old object to a list freed by
 * close(), never earlier. The list is bounded by the restarts (max_retries
 * plus ODBC's one switch to row at a time).
 *
 * Waiting (backoff between attempts) ends early on SIGINT/SIGTERM: a run
 * that was asked to stop does not retry.
 */
#include "source/db_driver.h"

#include <stdlib.h>
#include <string.h>

#include "util/interrupt.h"
#include "util/log.h"
#include "util/retry.h"

enum { ST_IDLE, ST_STREAM, ST_DONE };

struct bronze_source {
    const bronze_dbd_vt *vt;
    void *drv;
    const bronze_config *cfg;
    bool dry_run;
    char *last_cursor;
    bronze_dbc_lookback lookback;
    bronze_schema *schema;
    bronze_schema **retired; /* earlier schemas, freed by close() */
    size_t nretired, cap_retired;
    int cursor_col; /* -1: not tracking */
    bronze_dbc_cursor cur;
    bool cur_init;
    bronze_buf cursor_text;
    int restarts;
    int state;
};

int bronze_dbd_check_interrupt(const char *name, bronze_err *err)
{
    int sig = bronze_interrupted();
    if (!sig)
        return 0;
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: interrupted by signal %d", name, sig);
}

static bool same_schema(const bronze_schema *a, const bronze_schema *b)
{
    if (a->ncols != b->ncols)
        return false;
    for (size_t i = 0; i < a->ncols; i++) {
        const bronze_field *x = &a->fields[i], *y = &b->fields[i];
        if (strcmp(x->name, y->name) || x->type != y->type || x->precision != y->precision ||
            x->scale != y->scale)
            return false;
    }
    return true;
}

/* Takes the described schema: keeps the current object when nothing changed,
 * else retires it (never frees it: a batch on the job's thread may point at
 * it). Returns -1 on OOM (desc->schema freed). */
static int install(struct bronze_source *s, bronze_dbd_desc *desc, bronze_err *err)
{
    if (s->schema && same_schema(s->schema, desc->schema)) {
        bronze_schema_free(desc->schema);
    } else {
        if (s->schema) {
            if (s->nretired == s->cap_retired) {
                size_t cap = s->cap_retired ? s->cap_retired * 2 : 4;
                bronze_schema **r = realloc(s->retired, cap * sizeof *r);
                if (!r) {
                    bronze_schema_free(desc->schema);
                    desc->schema = NULL;
                    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", s->vt->name);
                }
                s->retired = r;
                s->cap_retired = cap;
            }
            s->retired[s->nretired++] = s->schema;
        }
        s->schema = desc->schema;
    }
    desc->schema = NULL;
    s->vt->use_schema(s->drv, s->schema);
    s->cursor_col = desc->cursor_col;
    if (s->cur_init)
        bronze_dbc_cursor_free(&s->cur);
    s->cur_init = false;
    if (s->cursor_col >= 0) {
        bronze_dbc_cursor_init(&s->cur, &s->schema->fields[s->cursor_col], desc->numeric_text);
        s->cur_init = true;
    }
    return 0;
}

/* setup() with connection retries: transient failures (BRONZE_E_RETRY) are
 * retried run.max_retries times with exponential backoff and jitter. */
static int setup_retrying(struct bronze_source *s, bronze_err *err)
{
    int max = s->cfg->run.max_retries > 0 ? s->cfg->run.max_retries : 0;
    for (int attempt = 0;; attempt++) {
        bronze_err_clear(err);
        if (bronze_dbd_check_interrupt(s->vt->name, err))
            return -1;
        bronze_dbd_desc desc = {NULL, -1, false};
        if (!s->vt->setup(s->drv, &desc, err))
            return install(s, &desc, err);
        bronze_schema_free(desc.schema);
        if (err->kind != BRONZE_E_RETRY)
            return -1;
        if (attempt >= max) {
            if (max)
                bronze_err_prefix(err, "gave up after %d attempt(s)", attempt + 1);
            err->kind = BRONZE_E_RETRY;
            return -1;
        }
        BRONZE_WARN("%s; retrying (%d of %d)", err->msg, attempt + 1, max);
        if (bronze_retry_backoff_sleep(attempt))
            return bronze_dbd_check_interrupt(s->vt->name, err);
    }
}

/* Starts over after `err` (a transient failure, counted as a retry when
 * `consume`) or a driver's REDO: reconnect, re-describe and answer RESTART. */
static int restart(struct bronze_source *s, bronze_batch *b, bool consume, bronze_err *err)
{
    int max = s->cfg->run.max_retries > 0 ? s->cfg->run.max_retries : 0;
    bronze_batch_clear(b);
    s->vt->disconnect(s->drv);
    s->state = ST_IDLE;
    if (consume) {
        if (bronze_interrupted())
            return bronze_dbd_check_interrupt(s->vt->name, err);
        if (s->restarts >= max) {
            if (max)
                bronze_err_prefix(err, "gave up after %d restart(s)", s->restarts);
            err->kind = BRONZE_E_RETRY;
            return -1;
        }
        s->restarts++;
        BRONZE_WARN("%s; reconnecting and starting the extraction over (%d of %d)", err->msg,
                    s->restarts, max);
        if (bronze_retry_backoff_sleep(s->restarts - 1))
            return bronze_dbd_check_interrupt(s->vt->name, err);
    }
    if (setup_retrying(s, err))
        return -1;
    if (s->cursor_col >= 0)
        bronze_dbc_cursor_reset(&s->cur);
    return BRONZE_SRC_RESTART;
}

static int fail_or_restart(struct bronze_source *s, bronze_batch *b, bronze_err *err)
{
    return err->kind == BRONZE_E_RETRY ? restart(s, b, true, err) : -1;
}

int bronze_dbd_open(bronze_source **out, const bronze_dbd_vt *vt, const bronze_source_ctx *ctx,
                    bronze_err *err)
{
    const bronze_config *cfg = ctx->cfg;
    *out = NULL;
    bronze_dbc_lookback lookback;
    if (bronze_dbc_open_checks(cfg, &lookback, err))
        return -1;
    struct bronze_source *s = calloc(1, sizeof *s);
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", vt->name);
    s->vt = vt;
    s->cfg = cfg;
    s->dry_run = ctx->dry_run;
    s->cursor_col = -1;
    s->lookback = lookback;
    bool incremental = cfg->db.incremental && cfg->db.cursor_column && *cfg->db.cursor_column;
    if (incremental && ctx->last_cursor && !(s->last_cursor = strdup(ctx->last_cursor))) {
        bronze_dbd_close(s);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", vt->name);
    }
    bronze_dbd_args args = {cfg, s->last_cursor, &s->lookback, ctx};
    if (vt->create(&s->drv, &args, err) || setup_retrying(s, err)) {
        bronze_dbd_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

const bronze_schema *bronze_dbd_schema(bronze_source *s)
{
    return s->schema;
}

int bronze_dbd_next(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    bronze_batch_clear(b);
    if (s->dry_run || s->state == ST_DONE)
        return BRONZE_SRC_END;
    if (s->state == ST_IDLE) {
        if (bronze_dbd_check_interrupt(s->vt->name, err))
            return -1;
        if (s->vt->start(s->drv, err))
            return fail_or_restart(s, b, err);
        s->state = ST_STREAM;
    }
    int rc = s->vt->fetch(s->drv, b, err);
    if (rc < 0) {
        bronze_batch_clear(b);
        return fail_or_restart(s, b, err);
    }
    if (rc == BRONZE_DBD_REDO)
        return restart(s, b, false, err);
    if (rc == BRONZE_DBD_END)
        s->state = ST_DONE;
    if (s->cursor_col >= 0 && bronze_dbc_cursor_scan(&s->cur, b, (size_t)s->cursor_col))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", s->vt->name);
    return b->nrows ? BRONZE_SRC_ROWS : BRONZE_SRC_END;
}

const char *bronze_dbd_cursor(bronze_source *s)
{
    if (s->cursor_col < 0 || !s->cur.have)
        return s->last_cursor;
    int cmp;
    /* with a lookback the rows may all be older than the last cursor:
     * never move the cursor backwards */
    if (s->last_cursor && !bronze_dbc_cursor_cmp_text(&s->cur, s->last_cursor, &cmp) && cmp >= 0)
        return s->last_cursor;
    if (bronze_dbc_cursor_text(&s->cur, &s->cursor_text))
        return s->last_cursor;
    return (const char *)s->cursor_text.data;
}

void bronze_dbd_close(bronze_source *s)
{
    if (!s)
        return;
    if (s->drv)
        s->vt->destroy(s->drv);
    bronze_schema_free(s->schema);
    for (size_t i = 0; i < s->nretired; i++)
        bronze_schema_free(s->retired[i]);
    free(s->retired);
    if (s->cur_init)
        bronze_dbc_cursor_free(&s->cur);
    bronze_buf_free(&s->cursor_text);
    free(s->last_cursor);
    free(s);
}
