/*
 * db_test_util.h - shared by the database source tests (test_postgres.c,
 * test_odbc.c): a throwaway PostgreSQL server (scripts/pg-test-server.sh),
 * a config builder, and a runner that extracts through a source vtable into
 * text cells compared against the server's own rendering.
 * Before including, define DB_TEST_NAME ("test_x"), DB_TEST_CONN_ENV (the
 * conn_str_env name) and DB_TEST_VT (the source vtable to drive).
 */
#ifndef BRONZE_TESTS_DB_TEST_UTIL_H
#define BRONZE_TESTS_DB_TEST_UTIL_H

static char g_dir[256];
static char g_conninfo[512];
static bool g_started, g_have_server;

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && *ci && strcmp(ci, "0") && strcasecmp(ci, "false");
}

static void server_stop(void)
{
    if (!g_started)
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server.sh stop '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, DB_TEST_NAME ": stopping the test server failed\n");
    rmdir(g_dir); /* when start failed before creating anything */
    g_started = false;
}

static int server_start(void)
{
    const char *env = getenv("BRONZE_TEST_PG");
    if (env && *env) {
        snprintf(g_conninfo, sizeof g_conninfo, "%s", env);
        g_have_server = true;
        return 0;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/bronze-pgtest.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server.sh start '%s'", g_dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512] = "";
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, "host=", 5))
            snprintf(g_conninfo, sizeof g_conninfo, "%s", line);
    int st = pclose(p);
    g_started = true; /* the dir exists either way: stop removes it */
    atexit(server_stop);
    g_conninfo[strcspn(g_conninfo, "\n")] = 0;
    if (st != 0 || !g_conninfo[0])
        return -1;
    g_have_server = true;
    return 0;
}

static PGconn *admin(void)
{
    PGconn *c = PQconnectdb(g_conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("admin connection failed: %s", PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s\n-> %s", sql, PQerrorMessage(c));
    PQclear(r);
}

#define SKIP_WITHOUT_SERVER()                                                                      \
    do {                                                                                           \
        if (!g_have_server)                                                                        \
            skip();                                                                                \
    } while (0)

/* ------------------------------------------------------------- config */

typedef struct tcfg {
    bronze_config cfg;
    bronze_source_ctx ctx;
} tcfg;

static void tcfg_init(tcfg *t, const char *conn, const char *query)
{
    memset(t, 0, sizeof *t);
    t->cfg.path = "test.yaml";
    t->cfg.type = BRONZE_SRC_DB;
    t->cfg.system = "sys";
    t->cfg.table = "tbl";
    t->cfg.run.timeout_seconds = 5;
    t->cfg.run.max_retries = 1;
    t->cfg.db.conn_str_env = DB_TEST_CONN_ENV;
    t->cfg.db.base_query = (char *)query;
    t->cfg.db.fetch_batch_size = 1000;
    t->cfg.env.conn_str = (char *)conn;
    t->ctx.cfg = &t->cfg;
    t->ctx.run_date = "2025-01-12";
    t->ctx.tmp_dir = "/tmp";
    t->ctx.batch_rows = 1000;
}

static void tcfg_incremental(tcfg *t, const char *col, const char *last, const char *lookback)
{
    t->cfg.db.incremental = true;
    t->cfg.db.cursor_column = (char *)col;
    t->cfg.db.lookback = (char *)lookback;
    t->ctx.last_cursor = last;
}

/* An extraction held in memory: every row's values rendered as text. */
typedef struct rows {
    size_t nrows, ncols;
    char **cell; /* nrows * ncols, NULL = SQL NULL */
    bronze_schema *schema;
    char *cursor;
    int restarts;
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cell[i]);
    free(r->cell);
    bronze_schema_free(r->schema);
    free(r->cursor);
    memset(r, 0, sizeof *r);
}

static char *dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Renders one decoded value in the form the reference queries produce. */
static char *render(const bronze_field *f, const bronze_column *c, size_t r)
{
    char buf[128];
    size_t n;
    const char *p;
    switch (f->type) {
    case BRONZE_T_BOOL:
        return strdup(c->v.u8[r] ? "true" : "false");
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
        snprintf(buf, sizeof buf, "%d", c->v.i32[r]);
        return strdup(buf);
    case BRONZE_T_DATE:
        if (c->v.i32[r] == INT32_MAX)
            return strdup("infinity");
        if (c->v.i32[r] == BRONZE_DATE_NINF)
            return strdup("-infinity");
        snprintf(buf, sizeof buf, "%d", c->v.i32[r]);
        return strdup(buf);
    case BRONZE_T_INT64:
    case BRONZE_T_TIME:
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
        if (f->type != BRONZE_T_INT64 && c->v.i64[r] == INT64_MAX)
            return strdup("infinity");
        if (f->type != BRONZE_T_INT64 && c->v.i64[r] == BRONZE_TS_NINF)
            return strdup("-infinity");
        snprintf(buf, sizeof buf, "%lld", (long long)c->v.i64[r]);
        return strdup(buf);
    case BRONZE_T_FLOAT:
        snprintf(buf, sizeof buf, "f:%.9g", (double)c->v.f32[r]);
        return strdup(buf);
    case BRONZE_T_DOUBLE:
        snprintf(buf, sizeof buf, "d:%.17g", c->v.f64[r]);
        return strdup(buf);
    case BRONZE_T_DECIMAL:
        bronze_fmt_decimal(c->v.i128[r], f->scale, buf);
        return strdup(buf);
    case BRONZE_T_BYTES: {
        p = bronze_col_str(c, r, &n);
        char *h = malloc(2 * n + 1);
        for (size_t i = 0; i < n; i++)
            sprintf(h + 2 * i, "%02x", (unsigned char)p[i]);
        h[2 * n] = 0;
        return h;
    }
    default:
        p = bronze_col_str(c, r, &n);
        return dupn(p, n);
    }
}

/* Runs the whole extraction through the vtable (batches of `cap` rows),
 * restarting on RESTART. Returns 0, or -1 with err set. */
static int extract(tcfg *t, size_t cap, rows *out, bronze_err *err,
                   void (*after_first_batch)(void *), void *arg)
{
    memset(out, 0, sizeof *out);
    bronze_source *s = NULL;
    const bronze_source_vt *vt = &DB_TEST_VT;
    if (vt->open(&s, &t->ctx, err))
        return -1;
    const bronze_schema *sc = vt->schema(s);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, sc, cap), 0);
    size_t cells_cap = 0;
    int rc;
    bool hooked = false;
    for (;;) {
        rc = vt->next(s, &b, err);
        if (rc < 0)
            break;
        if (rc == BRONZE_SRC_RESTART) {
            out->restarts++;
            for (size_t i = 0; i < out->nrows * out->ncols; i++)
                free(out->cell[i]);
            out->nrows = 0;
            bronze_batch_free(&b);
            sc = vt->schema(s);
            assert_int_equal(bronze_batch_init(&b, sc, cap), 0);
            continue;
        }
        if (rc == BRONZE_SRC_END) {
            assert_int_equal(b.nrows, 0);
            break;
        }
        assert_true(b.nrows >= 1 && b.nrows <= cap);
        out->ncols = sc->ncols;
        for (size_t r = 0; r < b.nrows; r++) {
            if ((out->nrows + 1) * out->ncols > cells_cap) {
                cells_cap = cells_cap ? cells_cap * 2 : 64 * out->ncols;
                out->cell = realloc(out->cell, cells_cap * sizeof *out->cell);
            }
            for (size_t c = 0; c < sc->ncols; c++) {
                const bronze_column *col = &b.cols[c];
                out->cell[out->nrows * out->ncols + c] =
                    bronze_batch_is_valid(col, r) ? render(&sc->fields[c], col, r) : NULL;
            }
            out->nrows++;
        }
        if (!hooked && after_first_batch) {
            hooked = true;
            after_first_batch(arg);
        }
    }
    out->ncols = sc->ncols;
    if (rc < 0) {
        bronze_batch_free(&b);
        vt->close(s);
        rows_free(out);
        return -1;
    }
    out->schema = bronze_schema_clone(sc);
    const char *cur = vt->cursor(s);
    out->cursor = cur ? strdup(cur) : NULL;
    bronze_batch_free(&b);
    vt->close(s);
    return 0;
}

/* Compares an extraction with a reference query's text output (same column
 * count and row order). Float columns: "f:"/"d:" prefixed, the reference
 * is parsed and compared bit for bit. */
static void compare(const rows *got, const char *ref_sql)
{
    PGconn *c = admin();
    exec_ok(c, "SET timezone = 'UTC'");
    PGresult *r = PQexec(c, ref_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s -> %s", ref_sql, PQerrorMessage(c));
    assert_int_equal((size_t)PQntuples(r), got->nrows);
    assert_int_equal((size_t)PQnfields(r), got->ncols);
    for (size_t i = 0; i < got->nrows; i++)
        for (size_t j = 0; j < got->ncols; j++) {
            const char *g = got->cell[i * got->ncols + j];
            if (PQgetisnull(r, (int)i, (int)j)) {
                if (g)
                    fail_msg("row %zu col %s: expected NULL, got '%.80s'", i + 1,
                             got->schema->fields[j].name, g);
                continue;
            }
            const char *e = PQgetvalue(r, (int)i, (int)j);
            if (!g)
                fail_msg("row %zu col %s: expected '%.80s', got NULL", i + 1,
                         got->schema->fields[j].name, e);
            if (!strncmp(g, "f:", 2)) {
                float a = strtof(g + 2, NULL), b = strtof(e, NULL);
                if (!(memcmp(&a, &b, 4) == 0 || (isnan(a) && isnan(b))))
                    fail_msg("row %zu col %s: float %s vs %s", i + 1, got->schema->fields[j].name,
                             g, e);
            } else if (!strncmp(g, "d:", 2)) {
                double a = strtod(g + 2, NULL), b = strtod(e, NULL);
                if (!(memcmp(&a, &b, 8) == 0 || (isnan(a) && isnan(b))))
                    fail_msg("row %zu col %s: double %s vs %s", i + 1, got->schema->fields[j].name,
                             g, e);
            } else if (strcmp(g, e)) {
                fail_msg("row %zu col %s: expected '%.200s' got '%.200s'", i + 1,
                         got->schema->fields[j].name, e, g);
            }
        }
    PQclear(r);
    PQfinish(c);
}

#endif
