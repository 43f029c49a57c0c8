/*
 * db_common.c - the cursor column's lookup, open()'s checks and secret
 * scrubbing shared by the database sources (see db_common.h).
 */
#include "source/db_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------- the cursor column, secrets */

int bronze_dbc_find_name(size_t n, bronze_dbc_name_fn name, const void *ctx, const char *want)
{
    int hit = -1, hits = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name(ctx, i), want))
            return (int)i;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(name(ctx, i), want))
            hit = (int)i, hits++;
    return hits == 1 ? hit : -1;
}

int bronze_dbc_err_no_cursor_column(const bronze_config *cfg, size_t n, bronze_dbc_name_fn name,
                                    const void *ctx, bronze_err *err)
{
    bronze_buf names = BRONZE_BUF_INIT;
    for (size_t i = 0; i < n && i < 30; i++)
        bronze_buf_printf(&names, "%s%s", i ? ", " : "", name(ctx, i));
    bronze_buf_cstr(&names);
    bronze_err_set(err, BRONZE_E_CONFIG,
                   "%s: source.db.incremental.cursor_column / incremental_key: cursor column '%s' "
                   "is not among the query's columns (%s%s)",
                   cfg->path, cfg->db.cursor_column, names.data ? (char *)names.data : "",
                   n > 30 ? ", ..." : "");
    bronze_buf_free(&names);
    return -1;
}

void bronze_dbc_scrub(char *msg, size_t cap, const char *secret)
{
    if (!msg || !secret || !*secret || !cap)
        return;
    size_t sl = strlen(secret);
    char *tmp = malloc(cap);
    if (!tmp) {
        if (strstr(msg, secret))
            snprintf(msg, cap, "(message withheld: it contained a secret)");
        return;
    }
    size_t o = 0;
    const char *p = msg, *hit;
    while ((hit = strstr(p, secret)) && o < cap - 1) {
        size_t k = (size_t)(hit - p);
        if (k > cap - 1 - o)
            k = cap - 1 - o;
        memcpy(tmp + o, p, k);
        o += k;
        for (int j = 0; j < 3 && o < cap - 1; j++)
            tmp[o++] = '*';
        p = hit + sl;
    }
    size_t rest = strlen(p);
    if (rest > cap - 1 - o)
        rest = cap - 1 - o;
    memcpy(tmp + o, p, rest);
    o += rest;
    tmp[o] = 0;
    memcpy(msg, tmp, o + 1);
    free(tmp);
}

int bronze_dbc_open_checks(const bronze_config *cfg, bronze_dbc_lookback *lookback, bronze_err *err)
{
    if (!cfg->env.conn_str || !*cfg->env.conn_str)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: no connection string (is %s set?)",
                              cfg->path, cfg->db.conn_str_env ? cfg->db.conn_str_env : "it");
    if (!cfg->db.base_query || !bronze_dbc_query_trimmed_len(cfg->db.base_query))
        return bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.db.base_query: empty query",
                              cfg->path);
    if (bronze_dbc_lookback_parse(cfg->db.lookback, lookback))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental.lookback: must be an interval "
                              "('2 hours') or a non-negative number",
                              cfg->path);
    return 0;
}
