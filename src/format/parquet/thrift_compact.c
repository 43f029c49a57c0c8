/*
 * thrift_compact.c - Thrift compact protocol writer (see thrift_compact.h).
 * Only the writing half, only the types Parquet's metadata uses.
 */
#include "format/parquet/thrift_compact.h"

void bronze_tc_init(bronze_tc *t, bronze_buf *out)
{
    t->out = out;
    t->last = 0;
    t->depth = 0;
    t->failed = false;
}

uint64_t bronze_tc_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

size_t bronze_tc_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_byte(bronze_tc *t, uint8_t c)
{
    if (!t->failed && bronze_buf_putc(t->out, c))
        t->failed = true;
}

void bronze_tc_raw(bronze_tc *t, const void *p, size_t n)
{
    if (!t->failed && bronze_buf_append(t->out, p, n))
        t->failed = true;
}

void bronze_tc_varint(bronze_tc *t, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    bronze_tc_raw(t, tmp, n);
}

static void field_header(bronze_tc *t, int16_t id, int type)
{
    int delta = id - t->last;
    if (delta > 0 && delta <= 15) {
        put_byte(t, (uint8_t)((delta << 4) | type));
    } else {
        put_byte(t, (uint8_t)type);
        bronze_tc_varint(t, bronze_tc_zigzag64(id));
    }
    t->last = id;
}

void bronze_tc_field_bool(bronze_tc *t, int16_t id, bool v)
{
    field_header(t, id, v ? BRONZE_TC_TRUE : BRONZE_TC_FALSE);
}

void bronze_tc_field_i8(bronze_tc *t, int16_t id, int8_t v)
{
    field_header(t, id, BRONZE_TC_I8);
    put_byte(t, (uint8_t)v);
}

void bronze_tc_field_i32(bronze_tc *t, int16_t id, int32_t v)
{
    field_header(t, id, BRONZE_TC_I32);
    bronze_tc_varint(t, bronze_tc_zigzag64(v));
}

void bronze_tc_field_i64(bronze_tc *t, int16_t id, int64_t v)
{
    field_header(t, id, BRONZE_TC_I64);
    bronze_tc_varint(t, bronze_tc_zigzag64(v));
}

void bronze_tc_field_binary(bronze_tc *t, int16_t id, const void *p, size_t n)
{
    field_header(t, id, BRONZE_TC_BINARY);
    bronze_tc_elem_binary(t, p, n);
}

void bronze_tc_field_string(bronze_tc *t, int16_t id, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    bronze_tc_field_binary(t, id, s, n);
}

static void push(bronze_tc *t)
{
    if (t->depth >= BRONZE_TC_MAX_DEPTH) {
        t->failed = true;
        return;
    }
    t->stack[t->depth++] = t->last;
    t->last = 0;
}

void bronze_tc_field_struct(bronze_tc *t, int16_t id)
{
    field_header(t, id, BRONZE_TC_STRUCT);
    push(t);
}

void bronze_tc_elem_struct(bronze_tc *t)
{
    push(t);
}

void bronze_tc_struct_end(bronze_tc *t)
{
    put_byte(t, BRONZE_TC_STOP);
    if (t->depth > 0)
        t->last = t->stack[--t->depth];
}

void bronze_tc_list_header(bronze_tc *t, int elem, size_t size)
{
    if (size < 15) {
        put_byte(t, (uint8_t)((size << 4) | (size_t)elem));
    } else {
        put_byte(t, (uint8_t)(0xF0 | elem));
        bronze_tc_varint(t, size);
    }
}

void bronze_tc_field_list(bronze_tc *t, int16_t id, int elem, size_t size)
{
    field_header(t, id, BRONZE_TC_LIST);
    bronze_tc_list_header(t, elem, size);
}

void bronze_tc_elem_i32(bronze_tc *t, int32_t v)
{
    bronze_tc_varint(t, bronze_tc_zigzag64(v));
}

void bronze_tc_elem_i64(bronze_tc *t, int64_t v)
{
    bronze_tc_varint(t, bronze_tc_zigzag64(v));
}

void bronze_tc_elem_bool(bronze_tc *t, bool v)
{
    put_byte(t, v ? BRONZE_TC_TRUE : BRONZE_TC_FALSE);
}

void bronze_tc_elem_binary(bronze_tc *t, const void *p, size_t n)
{
    bronze_tc_varint(t, n);
    bronze_tc_raw(t, p, n);
}
