/*
 * buf.h - a growable byte buffer, the one used on every hot path.
 *
 * Owner frees with bronze_buf_free. Growth doubles, so appends are amortised
 * O(1); on allocation failure the functions return -1 and leave the buffer
 * as it was.
 */
#ifndef BRONZE_UTIL_BUF_H
#define BRONZE_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bronze_buf {
    uint8_t *data;
    size_t len, cap;
} bronze_buf;

#define BRONZE_BUF_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

int bronze_buf_reserve_slow(bronze_buf *b, size_t need);

/* Makes room for `extra` more bytes past len. */
static inline int bronze_buf_reserve(bronze_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    return bronze_buf_reserve_slow(b, b->len + extra);
}

static inline int bronze_buf_append(bronze_buf *b, const void *p, size_t n)
{
    if (bronze_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int bronze_buf_putc(bronze_buf *b, uint8_t c)
{
    if (bronze_buf_reserve(b, 1))
        return -1;
    b->data[b->len++] = c;
    return 0;
}

/* An array of `size`-byte elements at p with room for *cap of them, grown
 * (doubling from `first`) to hold at least `need`: returns the array, moved
 * or not (never NULL for need 0: an array of `first` is made), or NULL when
 * memory (or size_t) runs out, p then left as it was. */
void *bronze_grow_slow(void *p, size_t *cap, size_t need, size_t size, size_t first);
static inline void *bronze_grow(void *p, size_t *cap, size_t need, size_t size, size_t first)
{
    return need <= *cap && p ? p : bronze_grow_slow(p, cap, need, size, first);
}

int bronze_buf_printf(bronze_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len. */
int bronze_buf_cstr(bronze_buf *b);
void bronze_buf_free(bronze_buf *b);

#endif
