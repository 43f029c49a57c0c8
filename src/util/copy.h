/*
 * copy.h - bronze_copy() copies n bytes like memcpy, inline for n <= 32 with
 * at most four overlapping fixed-size moves: the values of a text column are
 * mostly short, and a library call per value (~15 cycles) was a visible
 * share of a CSV run (tens of millions of names, codes and hashes). Reads
 * exactly src[0..n), writes exactly dst[0..n).
 */
#ifndef BRONZE_UTIL_COPY_H
#define BRONZE_UTIL_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void bronze_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n > 32) {
        memcpy(d, s, n);
    } else if (n >= 16) {
        unsigned char a[16], b[16];
        memcpy(a, s, 16);
        memcpy(b, s + n - 16, 16);
        memcpy(d, a, 16);
        memcpy(d + n - 16, b, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n) {
        unsigned char a = s[0], b = s[n / 2], c = s[n - 1];
        d[0] = a;
        d[n / 2] = b;
        d[n - 1] = c;
    }
}

#endif
