/*
 * file_json.h - a streaming JSON record reader for the file source: JSON
 * Lines (one object per line, blank lines skipped) or one top-level array of
 * objects (`format: json`), both driven by yajl's event parser so that no
 * whole-document tree is ever built and memory stays flat for any file size.
 *
 * A record is handed out as its top-level members in file order: the key, a
 * value kind, and the value's text (numbers as written, strings unescaped,
 * booleans "true"/"false", nested objects and arrays re-serialised as
 * compact JSON). It knows nothing about columns or types: file.c decides.
 *
 * Errors (kind BRONZE_E_RUNTIME) name the file and the position as
 * "path: line L, column C: message" (1-based; `json` adds "(byte N)").
 */
#ifndef BRONZE_SOURCE_FILE_JSON_H
#define BRONZE_SOURCE_FILE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Opens path; array_form: true for `format: json`, false for JSON Lines.
 * *out is owned by the caller (bronze_json_close). */
int bronze_json_open(bronze_json **out, const char *path, bool array_form, bronze_err *err);

/* Reads the next record. Returns 1 with *fields and *nfields set (valid until the
 * next call), 0 at the end, -1 with err set. */
int bronze_json_next(bronze_json *r, const bronze_json_field **fields, size_t *nfields,
                     bronze_err *err);

void bronze_json_close(bronze_json *r);

#endif
