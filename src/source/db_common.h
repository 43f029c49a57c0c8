/*
 * db_common.h - helpers shared by the client/server database sources
 * (postgres.c, odbc.c): wrapping the user's base_query for the incremental
 * filter, lookback parsing, tracking the typed maximum of the cursor column,
 * cursor and value text (ISO 8601, exact decimals), finding the cursor
 * column and scrubbing secrets out of driver messages. The skeleton that
 * uses them is db_driver.c; the retry backoff is util/retry.h.
 *
 * Nothing here talks to a database; everything is plain, testable C.
 */
#ifndef BRONZE_SOURCE_DB_COMMON_H
#define BRONZE_SOURCE_DB_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "config/config.h"
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

/* ---- cursor maximum ---- */

typedef struct bronze_dbc_cursor {
    bronze_type type;  /* of the cursor column */
    int scale;         /* DECIMAL */
    bool numeric_text; /* STRING holding exact numeric text: compared as numbers */
    bool have;
    int64_t i;    /* BOOL, INT*, DATE, TIMESTAMP*, TIME */
    __int128 d;   /* DECIMAL */
    double f;     /* FLOAT, DOUBLE */
    bronze_buf s; /* STRING, JSON, BYTES */
} bronze_dbc_cursor;

void bronze_dbc_cursor_init(bronze_dbc_cursor *c, const bronze_field *f, bool numeric_text);
void bronze_dbc_cursor_reset(bronze_dbc_cursor *c); /* forget the max, keep the type */
void bronze_dbc_cursor_free(bronze_dbc_cursor *c);
/* Folds the non-null values of column `col` of the batch into the maximum.
 * Returns -1 on OOM. Allocates only when a longer string maximum appears. */
int bronze_dbc_cursor_scan(bronze_dbc_cursor *c, const bronze_batch *b, size_t col);
/* The maximum as cursor text (see bronze_dbc_value_text), NUL-terminated in
 * out (out->len excludes the NUL). Returns -1 when there is no value or OOM. */
int bronze_dbc_cursor_text(const bronze_dbc_cursor *c, bronze_buf *out);

/* One parsed cursor value (see bronze_dbc_value_parse). */
typedef struct bronze_dbc_value {
    int64_t i;
    __int128 d;
    double f;
    const char *s; /* STRING/JSON: the text itself */
    size_t n;
} bronze_dbc_value;

/* Reads cursor text as a value of type t (DATE/TIMESTAMP* accept
 * "infinity"/"-infinity"; TIMESTAMP* take ISO 8601 with 'T' or ' ', an
 * offset is converted to UTC). 0 ok, -1 unreadable (BYTES: always -1). */
int bronze_dbc_value_parse(bronze_type t, int scale, const char *text, bronze_dbc_value *v);

/* Compares `text`, read as the cursor's type, with the maximum so far.
 * Returns -1 when there is no maximum or the text is unreadable. */
int bronze_dbc_cursor_cmp_text(const bronze_dbc_cursor *c, const char *text, int *cmp);

/* The cursor as a parameter for `col > ?` (ODBC): read as type t, minus the
 * lookback when there is one (NUMBER: units for numbers, days for DATE,
 * seconds for TIMESTAMP, TIMESTAMPTZ and TIME; INTERVAL: fixed-length text, see
 * bronze_dbc_interval_micros), written in ODBC's literal forms
 * ("2025-01-12 14:30:00.123456", "2025-01-12", "12:00:00", digits).
 * Text types without lookback pass through. Returns 0, -1 when the cursor is
 * unreadable as t, -2 when the lookback does not apply to t or is not a
 * fixed-length interval. NUL-terminates out. */
int bronze_dbc_cursor_bind_text(bronze_type t, int scale, const char *cursor,
                                const bronze_dbc_lookback *lb, bronze_buf *out);

/* ---- value text ---- */

/* Cursor / metadata text of one value: DATE "2025-01-12"; TIMESTAMP
 * "2025-01-12T14:30:00" or "...:00.123456" (6 fraction digits when any),
 * TIMESTAMPTZ the same plus "Z"; INT32/INT64 extremes of DATE/TIMESTAMP* are
 * "infinity" / "-infinity"; TIME "14:30:00[.123456]"; ints and decimals plain
 * digits (bronze_fmt_decimal); floats the shortest text that reads back exactly ("NaN",
 * "Infinity", "-Infinity"); BOOL true/false. out holds >= 64 bytes. These are
 * spellings over the one timestamp and one double formatter
 * (bronze_fmt_timestamp_frac, bronze_fmt_double). */
size_t bronze_dbc_fmt_timestamp(int64_t micros, bool tz, char *out);
size_t bronze_dbc_fmt_time(int64_t micros, char *out);
size_t bronze_dbc_fmt_double(double v, char *out);

/* 10^0 .. 10^38 */
extern const unsigned __int128 bronze_dbc_pow10[39];

/* Exact decimal text ("-12.5", "1e3", " 7 ") to an unscaled value at `scale`
 * with at most `precision` digits. Extra fraction digits must be zeros.
 * Returns 0, -1 when the text is no number, -2 when it does not fit. */
int bronze_dbc_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *out);

/* Orders two exact numeric texts ("-1.50", "10", "NaN", "Infinity",
 * "-Infinity"; PostgreSQL order: NaN above everything). <0, 0, >0. */
int bronze_dbc_numtext_cmp(const char *a, size_t an, const char *b, size_t bn);

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
