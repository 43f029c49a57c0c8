/*
 * file_json.h - a streaming JSON record reader for the file source: JSON
 * Lines (one object per line, blank lines skipped) or one top-level array of
 * objects (`format: json`), both driven by yajl's event parser so that no
 * whole-document tree is ever built and memory stays flat for any file size.
 *
 * `data_path` (a dot path, format: json only) finds the record array inside
 * a document such as {"data": [...]}: the maps along the path are walked and
 * every value off it is skipped as it streams past, never kept.
 *
 * Strict JSON: an empty document, a form feed or vertical tab (yajl takes
 * them as whitespace) are refused; text must be UTF-8, so a lone surrogate
 * (escaped \uD800, or encoded ED A0 80) is refused naming the record and
 * field, as is a NUL (\u0000) in a top-level value or key; escaped pairs
 * decode to their character.
 *
 * A record is handed out as its top-level members in file order: the key, a
 * value kind, and the value's text (numbers as written, strings unescaped,
 * booleans "true"/"false", nested objects and arrays re-serialised as
 * compact JSON). It knows nothing about columns or types: file.c decides.
 *
 * Errors (kind BRONZE_E_RUNTIME) name the file and the position as
 * "path: line L, column C: message" (1-based; `json` adds "(byte N)"), or,
 * for a value, "path: line L: field 'k': ..." / "path: record N: field ...".
 */
#ifndef BRONZE_SOURCE_FILE_JSON_H
#define BRONZE_SOURCE_FILE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/input.h"
#include "util/err.h"

typedef enum {
    BRONZE_JV_NULL = 0,
    BRONZE_JV_BOOL,   /* text "true" / "false" */
    BRONZE_JV_INT,    /* a number without fraction or exponent, as written */
    BRONZE_JV_NUMBER, /* any other number, as written */
    BRONZE_JV_STRING, /* unescaped UTF-8 */
    BRONZE_JV_NESTED, /* an object or array, as compact JSON text */
} bronze_json_kind;

typedef struct bronze_json_field {
    const char *key; /* unescaped, NUL-terminated */
    size_t key_len;
    bronze_json_kind kind;
    const char *p; /* NUL-terminated value text */
    size_t len;
} bronze_json_field;

typedef struct bronze_json bronze_json;

/* As bronze_csv_set_lenient_utf8, for JSON text (NUL checks stay). */
void bronze_json_set_lenient_utf8(bronze_json *r, bool on);
/* The records are another source's (an API's, a command's), spooled: a
 * message about text that is not UTF-8 suggests invalid_utf8: replace, not a
 * file encoding the user cannot set for them. */
void bronze_json_set_spooled(bronze_json *r, bool on);

/* JSON Lines: plain lines (no escapes) are split by a fast scanner that
 * queues exactly what the yajl path would (on by default); off sends every
 * line through yajl. For tests that compare the two. */
void bronze_json_set_fast_lines(bronze_json *r, bool on);

/* Reads from in, which it owns from here on (closed by bronze_json_close, or
 * at once when open fails); messages name in->name. array_form: true for
 * `format: json`, false for JSON Lines. *out is owned by the caller
 * (bronze_json_close). */
int bronze_json_open(bronze_json **out, bronze_input *in, bool array_form, const char *data_path,
                     bronze_err *err);

/* Where the record next() returned last sits: "line L" (JSON Lines) or
 * "record N" (format: json), for messages. */
void bronze_json_record_pos(const bronze_json *r, char *buf, size_t cap);
/* ... as a number: the line (JSON Lines) or the record's 1-based index. */
uint64_t bronze_json_record_no(const bronze_json *r);

/* Reads the next record. Returns 1 with *fields and *nfields set (valid until the
 * next call), 0 at the end, -1 with err set. */
int bronze_json_next(bronze_json *r, const bronze_json_field **fields, size_t *nfields,
                     bronze_err *err);

void bronze_json_close(bronze_json *r);

/* ---- the side index of a spool (issue #11 throughput) ----
 *
 * A spool's writer (source/spool.h) has already validated every record and
 * knows where its members sit, so it can write them down beside the JSON
 * Lines and spare the reader a second tokenisation. The index is a byte
 * stream with one entry per line, in order: a little-endian u16 member count
 * (BRONZE_JSON_INDEX_PARSE: parse this line instead), then per member
 * 8 bytes: u16 key offset, u8 key length, u8 kind (bronze_json_kind), u16
 * value offset, u16 value length, offsets from the start of the line. A
 * member may be listed only when it is exactly what parsing would hand out:
 * key and string value without escapes, a nested value already compact (no
 * whitespace outside strings) and without escapes, numbers and literals as
 * written. The encoder refuses (writes PARSE for) lines of 64 KiB or more,
 * keys of 256 bytes or more and more than BRONZE_JSON_INDEX_MAX members. */
#define BRONZE_JSON_INDEX_PARSE 0xFFFFu
#define BRONZE_JSON_INDEX_MAX 4096u

typedef struct bronze_json_span {
    uint32_t key_off, key_len, val_off, val_len; /* from the record's first byte */
    bronze_json_kind kind;
} bronze_json_span;

/* The index entry of a record of n bytes with members m[0..nm) into out
 * (room for 2 + 8 * BRONZE_JSON_INDEX_MAX bytes); m NULL: a PARSE entry.
 * Returns its length. */
size_t bronze_json_index_entry(unsigned char *out, size_t n, const bronze_json_span *m, size_t nm);

/* JSON Lines only: reads the index of this input from idx (owned from here
 * on, closed with the reader); each line takes its entry. */
void bronze_json_set_index(bronze_json *r, bronze_input *idx);

#endif
