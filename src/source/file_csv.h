/*
 * file_csv.h - a streaming RFC 4180 record reader for the file source.
 *
 * Reads one byte input (input.h: a file, a spool, a pipe, a decompressor)
 * through a fixed 64 KiB buffer (never the whole input) and
 * hands out one record at a time as a list of fields. Handles quoted fields,
 * "" escapes, CR/LF/CRLF inside quotes, LF, CRLF (or a lone CR) line ends, a
 * leading UTF-8 BOM and a one-byte delimiter; checks every record is valid
 * UTF-8. It knows nothing about headers, types or NULLs: the caller
 * (file.c) decides what a field means. `quoted` tells an empty quoted field
 * ("") from an empty unquoted one.
 *
 * Errors (kind BRONZE_E_RUNTIME) name the file and the physical line:
 * "data.csv: line 12: invalid UTF-8 (byte 0xE9) in field 3 ...",
 * "data.csv: line 7: unterminated quoted field ...".
 */
#ifndef BRONZE_SOURCE_FILE_CSV_H
#define BRONZE_SOURCE_FILE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/input.h"
#include "util/err.h"

typedef struct bronze_csv_field {
    const char *p; /* the field's content (unescaped), NUL-terminated */
    size_t len;    /* bytes, without the NUL */
    bool quoted;
} bronze_csv_field;

typedef struct bronze_csv bronze_csv;

/* Reads from in, which it owns from here on (closed by bronze_csv_close, or
 * at once when open fails); messages name in->name. *out is owned by the
 * caller (bronze_csv_close). */
int bronze_csv_open(bronze_csv **out, bronze_input *in, char delimiter, bronze_err *err);

/* The same for an input that starts at byte `offset` of the file, on
 * physical line `line` (a record boundary found by file_csv_par.c): offsets
 * and lines then count from there, and no byte order mark is looked for
 * unless offset is 0. */
int bronze_csv_open_at(bronze_csv **out, bronze_input *in, char delimiter, uint64_t offset,
                       uint64_t line, bronze_err *err);

/* Reads the next record. Returns 1 with *fields and *nfields set (valid until the
 * next call), 0 at end of file, -1 with err set. */
int bronze_csv_next(bronze_csv *r, const bronze_csv_field **fields, size_t *nfields,
                    bronze_err *err);

/* 1-based physical line on which the last returned record started. */
uint64_t bronze_csv_record_line(const bronze_csv *r);

/* Offset (in the file) of the next unread byte: between records, where the
 * next record starts. */
uint64_t bronze_csv_offset(const bronze_csv *r);

/* Offset at which the last returned record started. */
uint64_t bronze_csv_record_offset(const bronze_csv *r);

/* 1-based physical line of the next unread byte. */
uint64_t bronze_csv_line(const bronze_csv *r);

/* The input's name (as given to open). */
const char *bronze_csv_path(const bronze_csv *r);

void bronze_csv_close(bronze_csv *r);

/* With on, invalid UTF-8 is left in the fields (source.run.invalid_utf8:
 * replace, where the roller writes U+FFFD and counts it); else it fails the
 * read naming line and field. */
void bronze_csv_set_lenient_utf8(bronze_csv *r, bool on);

/* With on (the default), plain records are split in place by the fast path;
 * off sends every record through the general path (for tests comparing
 * the two). */
void bronze_csv_set_fast(bronze_csv *r, bool on);

#endif
