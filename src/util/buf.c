/* buf.c - growable byte buffer (see buf.h). */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int bronze_buf_reserve_slow(bronze_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

void *bronze_grow_slow(void *p, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t nc = *cap ? *cap : first;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return NULL;
        nc *= 2;
    }
    if (nc > SIZE_MAX / size)
        return NULL;
    void *q = realloc(p, nc * size);
    if (q)
        *cap = nc;
    return q;
}

int bronze_buf_printf(bronze_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || bronze_buf_reserve(b, (size_t)n + 1))
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int bronze_buf_cstr(bronze_buf *b)
{
    if (bronze_buf_reserve(b, 1))
        return -1;
    b->data[b->len] = 0;
    return 0;
}

void bronze_buf_free(bronze_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
