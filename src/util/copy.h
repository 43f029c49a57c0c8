/*
 * copy.h - bronze_copy() copies n bytes like memcpy, inline for n <= 32 with
 * at most four overlapping fixed-size moves: the values of a text column are
 * mostly short, and a library call per value (~15 cycles) was a visible
 * share of a CSV run (tens of millions of names, codes and hashes). Reads
 * exactly src[0..n), writes exactly dst[0..n).
 * bronze_same() is memcmp() == 0 the same way, inline for n <= 16 (a JSON
 * record's keys, checked against the columns' names).
 */
#ifndef BRONZE_UTIL_COPY_H
#define BRONZE_UTIL_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* n in [w, 2w]: the first and the last w bytes, overlapping (w a constant
 * once inlined, so each move is one load and one store). */
static inline void bronze_copy_ends(unsigned char *d, const unsigned char *s, size_t n, size_t w)
{
    unsigned char a[16], b[16];
    memcpy(a, s, w);
    memcpy(b, s + n - w, w);
    memcpy(d, a, w);
    memcpy(d + n - w, b, w);
}

static inline void bronze_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n > 32) {
        memcpy(d, s, n);
    } else if (n >= 16) {
        bronze_copy_ends(d, s, n, 16);
    } else if (n >= 8) {
        bronze_copy_ends(d, s, n, 8);
    } else if (n >= 4) {
        bronze_copy_ends(d, s, n, 4);
    } else if (n) {
        unsigned char a = s[0], b = s[n / 2], c = s[n - 1];
        d[0] = a;
        d[n / 2] = b;
        d[n - 1] = c;
    }
}

/* n in [w, 2w], w <= 8: the first and the last w bytes, overlapping. */
static inline bool bronze_same_ends(const unsigned char *x, const unsigned char *y, size_t n,
                                    size_t w)
{
    uint64_t p = 0, q = 0, r = 0, t = 0;
    memcpy(&p, x, w);
    memcpy(&q, y, w);
    memcpy(&r, x + n - w, w);
    memcpy(&t, y + n - w, w);
    return !((p ^ q) | (r ^ t));
}

/* Are a[0..n) and b[0..n) the same bytes? Reads exactly those. */
static inline bool bronze_same(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    if (n > 16)
        return !memcmp(x, y, n);
    if (n >= 8)
        return bronze_same_ends(x, y, n, 8);
    if (n >= 4)
        return bronze_same_ends(x, y, n, 4);
    /* 0..3 bytes: the first, middle and last cover them all */
    return !n || (x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1]);
}

#endif
