/*
 * db_cursor.h - the database sources' cursor: the typed maximum of the
 * cursor column over a batch, the cursor as text and back (ISO 8601, exact
 * decimals, the shortest exact doubles), compared with a stored cursor and
 * bound as a parameter minus the lookback. Used through db_common.h; plain,
 * testable C.
 */
#ifndef BRONZE_SOURCE_DB_CURSOR_H
#define BRONZE_SOURCE_DB_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "source/db_query.h"
#include "util/buf.h"

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

#endif
