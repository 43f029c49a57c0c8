/*
 * db_query.h - the database sources' query text: wrapping the user's
 * base_query for the incremental filter (with a small SQL lexer for the
 * trailing clutter) and reading source.db.incremental.lookback. Used by
 * postgres.c, odbc.c and sqlite.c through db_common.h; nothing here talks to
 * a database.
 */
#ifndef BRONZE_SOURCE_DB_QUERY_H
#define BRONZE_SOURCE_DB_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- query text ---- */

/* Length of `q` without what follows its last SQL token when that is only
 * whitespace, ';' and comments (-- line and nested block comments). A lexer
 * skips '...' and E'...' strings, "..." identifiers and $tag$...$tag$
 * bodies, so a '--' inside a literal is never taken for a comment. */
size_t bronze_dbc_query_trimmed_len(const char *q);

/* Appends `name` as a quoted identifier (`quote` doubled inside). */
int bronze_dbc_quote_ident(bronze_buf *out, const char *name, char quote);

/* Appends "SELECT * FROM (<q trimmed>\n) bronze_src" and, when column is not
 * NULL, " WHERE <quoted column> > <rhs>". `rhs` must already be safe (a
 * placeholder or a literal quoted by the driver). NUL-terminates. */
int bronze_dbc_wrap_query(bronze_buf *out, const char *base_query, const char *column, char quote,
                          const char *rhs);

/* ---- lookback (source.db.incremental.lookback) ---- */

typedef enum {
    BRONZE_DBC_LB_NONE = 0,
    BRONZE_DBC_LB_NUMBER,
    BRONZE_DBC_LB_INTERVAL
} bronze_dbc_lb_kind;

typedef struct bronze_dbc_lookback {
    bronze_dbc_lb_kind kind;
    char text[128]; /* NUMBER: validated digits [.digits]; INTERVAL: trimmed text as given */
} bronze_dbc_lookback;

/* Classifies a lookback: NULL/empty -> NONE; "12" or "1.5" -> NUMBER;
 * interval text (see bronze_dbc_interval_micros; month and year units are
 * accepted here, PostgreSQL can apply them) -> INTERVAL. Returns -1 when the
 * text is too long, a negative number or no interval ("abc"). */
int bronze_dbc_lookback_parse(const char *text, bronze_dbc_lookback *out);

/* Fixed-length interval text to microseconds: one or more "<n> <unit>"
 * (microsecond(s)/us, millisecond(s)/ms, second(s)/sec(s)/s,
 * minute(s)/min(s)/m, hour(s)/hr(s)/h, day(s)/d, week(s)/w; n may have a
 * fraction) or "HH:MM[:SS]". Months and years have no fixed length: -1. */
int bronze_dbc_interval_micros(const char *text, int64_t *out);

#endif
