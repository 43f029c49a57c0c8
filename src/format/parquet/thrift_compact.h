/*
 * thrift_compact.h - a hand-written Thrift compact protocol *writer*, just
 * enough for Parquet's footer (FileMetaData) and page headers.
 *
 * Compact protocol in brief: integers are ULEB128 varints of their zigzag
 * form; a field header packs the field-id delta (1..15) and the type in one
 * byte, else the type byte is followed by the zigzag i16 id; a list header
 * packs size (< 15) and element type in one byte, else 0xF_ plus a varint
 * size; booleans in fields live in the type nibble; a struct ends with 0.
 *
 * The writer appends to a bronze_buf and tracks the last field id per open
 * struct. Errors (out of memory, nesting deeper than BRONZE_TC_MAX_DEPTH) are
 * sticky: check bronze_tc.failed once at the end instead of after each call.
 */
#ifndef BRONZE_FORMAT_PARQUET_THRIFT_COMPACT_H
#define BRONZE_FORMAT_PARQUET_THRIFT_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Compact protocol element types. */
enum {
    BRONZE_TC_STOP = 0,
    BRONZE_TC_TRUE = 1,
    BRONZE_TC_FALSE = 2,
    BRONZE_TC_I8 = 3,
    BRONZE_TC_I16 = 4,
    BRONZE_TC_I32 = 5,
    BRONZE_TC_I64 = 6,
    BRONZE_TC_DOUBLE = 7,
    BRONZE_TC_BINARY = 8,
    BRONZE_TC_LIST = 9,
    BRONZE_TC_SET = 10,
    BRONZE_TC_MAP = 11,
    BRONZE_TC_STRUCT = 12,
};

#define BRONZE_TC_MAX_DEPTH 16

typedef struct bronze_tc {
    bronze_buf *out;
    int16_t last;                       /* last field id in the open struct */
    int16_t stack[BRONZE_TC_MAX_DEPTH]; /* saved `last` of enclosing structs */
    int depth;
    bool failed;
} bronze_tc;

/* Starts writing at the end of `out`, at the top level of a struct. */
void bronze_tc_init(bronze_tc *t, bronze_buf *out);

/* Raw primitives (also used by tests). */
uint64_t bronze_tc_zigzag64(int64_t v);
void bronze_tc_varint(bronze_tc *t, uint64_t v);
/* Bytes a varint of v takes. */
size_t bronze_tc_varint_len(uint64_t v);

/* Fields of the open struct; ids must increase within a struct (Parquet's do). */
void bronze_tc_field_bool(bronze_tc *t, int16_t id, bool v);
void bronze_tc_field_i8(bronze_tc *t, int16_t id, int8_t v);
void bronze_tc_field_i32(bronze_tc *t, int16_t id, int32_t v);
void bronze_tc_field_i64(bronze_tc *t, int16_t id, int64_t v);
void bronze_tc_field_binary(bronze_tc *t, int16_t id, const void *p, size_t n);
void bronze_tc_field_string(bronze_tc *t, int16_t id, const char *s);
/* Opens a struct-typed field; close it with bronze_tc_struct_end. */
void bronze_tc_field_struct(bronze_tc *t, int16_t id);
/* Writes the stop byte of the open struct and returns to the enclosing one. */
void bronze_tc_struct_end(bronze_tc *t);
/* A list-typed field with `size` elements of `elem` type; then write exactly
 * `size` elements with the bronze_tc_elem_* calls. */
void bronze_tc_field_list(bronze_tc *t, int16_t id, int elem, size_t size);
/* Header of a list that is not a field (nested lists; rarely needed). */
void bronze_tc_list_header(bronze_tc *t, int elem, size_t size);
void bronze_tc_elem_i32(bronze_tc *t, int32_t v);
void bronze_tc_elem_i64(bronze_tc *t, int64_t v);
/* A list<bool> element: one byte, 1 true / 2 false (list type BRONZE_TC_TRUE). */
void bronze_tc_elem_bool(bronze_tc *t, bool v);
void bronze_tc_elem_binary(bronze_tc *t, const void *p, size_t n);
/* Opens a struct list element; close it with bronze_tc_struct_end. */
void bronze_tc_elem_struct(bronze_tc *t);
/* Appends bytes verbatim (a struct element serialized earlier on its own). */
void bronze_tc_raw(bronze_tc *t, const void *p, size_t n);

#endif
