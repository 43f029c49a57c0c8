/*
 * db_common.h - helpers shared by the client/server database sources
 * (postgres.c, odbc.c, sqlite.c), one job to a file:
 *   db_query.h   the query text (incremental filter) and the lookback;
 *   db_cursor.h  the cursor maximum and the cursor and value text;
 *   here         finding the cursor column, the checks of open() and
 *                scrubbing secrets out of driver messages.
 * The skeleton that uses them is db_driver.c; the retry backoff is
 * util/retry.h.
 *
 * Nothing here talks to a database; everything is plain, testable C.
 */
#ifndef BRONZE_SOURCE_DB_COMMON_H
#define BRONZE_SOURCE_DB_COMMON_H

#include <stddef.h>

#include "config/config.h"
#include "source/db_cursor.h"
#include "source/db_query.h"
#include "util/err.h"

/* ---- the cursor column ---- */

/* The query's column names, one by one, for the two helpers below. */
typedef const char *(*bronze_dbc_name_fn)(const void *ctx, size_t i);

/* Index of the cursor column `want` among n names: the exact name first,
 * else a unique case-insensitive match (unquoted identifiers fold); -1. */
int bronze_dbc_find_name(size_t n, bronze_dbc_name_fn name, const void *ctx, const char *want);

/* The config error (BRONZE_E_CONFIG, exit 2) for a cursor column the query
 * does not return, listing up to 30 of its columns. Returns -1. */
int bronze_dbc_err_no_cursor_column(const bronze_config *cfg, size_t n, bronze_dbc_name_fn name,
                                    const void *ctx, bronze_err *err);

/* The checks every database source makes first in open(): a connection
 * string, a non-empty query, a lookback that parses (into *lookback). */
int bronze_dbc_open_checks(const bronze_config *cfg, bronze_dbc_lookback *lookback,
                           bronze_err *err);

/* ---- secrets (retry backoff: util/retry.h) ---- */

/* Replaces every occurrence of `secret` (when non-empty) in the
 * NUL-terminated `msg` (capacity cap) with "***". */
void bronze_dbc_scrub(char *msg, size_t cap, const char *secret);

#endif
