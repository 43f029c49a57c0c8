/*
 * test_db_driver.c - the database sources' one skeleton (db_driver.c),
 * driven by a scripted fake driver: a RESTART whose re-describe changes the
 * schema leaves the old schema readable until close() (ASan would flag a
 * use after free), an unchanged schema keeps its object, connection and
 * mid-stream retries stop at max_retries, a REDO is not counted, config
 * errors are never retried, and the cursor is the maximum of the final pass.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "config/config.h"
#include "source/db_driver.h"

/* What the fake does, call by call. */
typedef struct script {
    int setup_fails; /* the first N setups fail with this kind */
    bronze_err_kind setup_kind;
    int widen_on_setup;  /* setup number (1-based) from which the schema has 2 columns */
    int fail_fetch_once; /* the first fetch of pass 1 fails with RETRY after its rows */
    int redo_once;       /* the first fetch of pass 1 answers REDO */
    bool create_config_error;
    /* counters */
    int setups, starts, fetches, disconnects;
    int pass_rows;
    const bronze_schema *used; /* from use_schema */
} script;

static script g;

static int f_create(void **out, const bronze_dbd_args *args, bronze_err *err)
{
    (void)args;
    *out = &g;
    if (g.create_config_error)
        return bronze_err_set(err, BRONZE_E_CONFIG, "fake: bad connection string");
    return 0;
}

static int f_setup(void *d, bronze_dbd_desc *out, bronze_err *err)
{
    (void)d;
    g.setups++;
    if (g.setups <= g.setup_fails)
        return bronze_err_set(err, g.setup_kind, "fake: setup %d fails", g.setups);
    bool wide = g.widen_on_setup && g.setups >= g.widen_on_setup;
    bronze_schema *s = bronze_schema_new(wide ? 2 : 1);
    assert_non_null(s);
    assert_int_equal(bronze_schema_set(s, 0, "id", BRONZE_T_INT64, 0, 0, true), 0);
    if (wide)
        assert_int_equal(bronze_schema_set(s, 1, "extra", BRONZE_T_STRING, 0, 0, true), 0);
    out->schema = s;
    out->cursor_col = 0;
    return 0;
}

static void f_use_schema(void *d, const bronze_schema *schema)
{
    (void)d;
    g.used = schema;
}

static int f_start(void *d, bronze_err *err)
{
    (void)d;
    (void)err;
    g.starts++;
    g.pass_rows = 0;
    return 0;
}

static int f_fetch(void *d, bronze_batch *b, bronze_err *err)
{
    (void)d;
    g.fetches++;
    if (g.redo_once && g.starts == 1) {
        g.redo_once = 0;
        return BRONZE_DBD_REDO;
    }
    if (g.fail_fetch_once && g.starts == 1 && g.pass_rows >= 3) { /* pass 1, second batch */
        g.fail_fetch_once = 0;
        bronze_batch_put_i64(b, 999); /* a half-filled batch is discarded */
        bronze_batch_end_row(b);
        return bronze_err_set(err, BRONZE_E_RETRY, "fake: connection lost");
    }
    for (int i = 0; i < 3 && g.pass_rows < 6; i++) {
        g.pass_rows++;
        bronze_batch_put_i64(b, g.pass_rows * 10 + g.starts);
        for (size_t c = 1; c < g.used->ncols; c++)
            bronze_batch_put_null(b);
        bronze_batch_end_row(b);
    }
    return g.pass_rows < 6 ? BRONZE_DBD_MORE : BRONZE_DBD_END;
}

static void f_disconnect(void *d)
{
    (void)d;
    g.disconnects++;
}

static void f_destroy(void *d)
{
    (void)d;
}

static const bronze_dbd_vt fake = {"fake",  f_create, f_setup,      f_use_schema,
                                   f_start, f_fetch,  f_disconnect, f_destroy};

typedef struct {
    bronze_config cfg;
    bronze_source_ctx ctx;
} env;

static void env_init(env *e, int max_retries)
{
    memset(e, 0, sizeof *e);
    e->cfg.path = "test.yaml";
    e->cfg.type = BRONZE_SRC_DB;
    e->cfg.run.max_retries = max_retries;
    e->cfg.db.base_query = "SELECT id FROM t";
    e->cfg.db.incremental = true;
    e->cfg.db.cursor_column = "id";
    e->cfg.env.conn_str = "fake://";
    e->ctx.cfg = &e->cfg;
    e->ctx.batch_rows = 3;
}

static void test_restart_keeps_old_schema_until_close(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    g.fail_fetch_once = 1;
    g.widen_on_setup = 2; /* the reconnect describes a wider result */
    env e;
    env_init(&e, 2);
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), 0);
    const bronze_schema *first = bronze_dbd_schema(s);
    assert_int_equal(first->ncols, 1);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, first, 3), 0);
    /* the job's thread still encodes this batch when the source restarts */
    bronze_batch held;
    assert_int_equal(bronze_batch_init(&held, first, 3), 0);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_ROWS);
    assert_int_equal(b.nrows, 3);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_RESTART);
    const bronze_schema *second = bronze_dbd_schema(s);
    assert_ptr_not_equal(second, first);
    assert_int_equal(second->ncols, 2);
    /* the old schema is still alive: the held batch reads and frees through it */
    assert_string_equal(first->fields[0].name, "id");
    bronze_batch_clear(&held);
    bronze_batch_free(&held);
    bronze_batch_free(&b);
    assert_int_equal(bronze_batch_init(&b, second, 3), 0);
    size_t rows = 0;
    int rc;
    while ((rc = bronze_dbd_next(s, &b, &err)) == BRONZE_SRC_ROWS)
        rows += b.nrows;
    assert_int_equal(rc, BRONZE_SRC_END);
    assert_int_equal(rows, 6);
    assert_string_equal(bronze_dbd_cursor(s), "62"); /* the final pass's maximum only */
    bronze_batch_free(&b);
    bronze_dbd_close(s);
}

static void test_same_schema_keeps_object_and_redo_is_free(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    g.redo_once = 1;
    env e;
    env_init(&e, 0); /* no retries at all: a REDO still starts over */
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), 0);
    const bronze_schema *first = bronze_dbd_schema(s);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, first, 3), 0);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_RESTART);
    assert_ptr_equal(bronze_dbd_schema(s), first);
    assert_int_equal(g.setups, 2);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_ROWS);
    bronze_batch_free(&b);
    bronze_dbd_close(s);
}

static void test_retries_stop_and_config_errors_do_not_retry(void **state)
{
    (void)state;
    env e;
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    /* transient setup failures: retried max_retries times, then RETRY */
    memset(&g, 0, sizeof g);
    g.setup_fails = 100, g.setup_kind = BRONZE_E_RETRY;
    env_init(&e, 1);
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), -1);
    assert_null(s);
    assert_int_equal(g.setups, 2);
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_non_null(strstr(err.msg, "gave up after 2 attempt(s)"));
    /* a config error at setup (say, no such cursor column): once, kind kept */
    memset(&g, 0, sizeof g);
    g.setup_fails = 100, g.setup_kind = BRONZE_E_CONFIG;
    env_init(&e, 3);
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), -1);
    assert_int_equal(g.setups, 1);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    /* a connection string that does not parse: no setup at all */
    memset(&g, 0, sizeof g);
    g.create_config_error = true;
    env_init(&e, 3);
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), -1);
    assert_int_equal(g.setups, 0);
    assert_int_equal(err.kind, BRONZE_E_CONFIG);
    /* mid-stream: no retries left -> the transient error surfaces */
    memset(&g, 0, sizeof g);
    g.fail_fetch_once = 1;
    env_init(&e, 0);
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), 0);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, bronze_dbd_schema(s), 3), 0);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_ROWS);
    assert_int_equal(bronze_dbd_next(s, &b, &err), -1);
    assert_int_equal(err.kind, BRONZE_E_RETRY);
    assert_int_equal(b.nrows, 0);
    bronze_batch_free(&b);
    bronze_dbd_close(s);
}

static void test_dry_run_fetches_nothing(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    env e;
    env_init(&e, 0);
    e.ctx.dry_run = true;
    bronze_source *s;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_dbd_open(&s, &fake, &e.ctx, &err), 0);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, bronze_dbd_schema(s), 3), 0);
    assert_int_equal(bronze_dbd_next(s, &b, &err), BRONZE_SRC_END);
    assert_int_equal(g.starts, 0);
    assert_null(bronze_dbd_cursor(s));
    bronze_batch_free(&b);
    bronze_dbd_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_old_schema_until_close),
        cmocka_unit_test(test_same_schema_keeps_object_and_redo_is_free),
        cmocka_unit_test(test_retries_stop_and_config_errors_do_not_retry),
        cmocka_unit_test(test_dry_run_fetches_nothing),
    };
    return cmocka_run_group_tests_name("db_driver", tests, NULL, NULL);
}
