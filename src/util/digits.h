/*
 * digits.h - runs of ASCII decimal digits read eight at a time (SWAR: one
 * 64-bit load, a digit test and three multiply-adds instead of eight
 * byte-wise steps). The CSV and JSON converters spend most of a number's
 * cost here (ids, amounts, 17-digit doubles).
 *
 *   bronze_scan_digits(p, i, n, &m)  folds the digits of p[i..n) from i on
 *       into m (m = m * 10 + d per digit, wrapping on overflow: callers bound
 *       the digit count first or reject after) and returns the index of the
 *       first byte that is not a digit (n at the end). Reads only p[i..n).
 *   bronze_digits_end(p, i, n)       only that index (a validator's skip).
 */
#ifndef BRONZE_UTIL_DIGITS_H
#define BRONZE_UTIL_DIGITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BRONZE_SWAR_DIGITS 1
#endif

/* The high bit of every byte of w that is not '0'..'9', and maybe of bytes
 * above the first such: a byte below '0' borrows into its high bit, one
 * above '9' carries into it, and digits below neither carry nor borrow, so
 * the lowest marked byte is the first non-digit exactly. */
static inline uint64_t bronze_nondigits8(uint64_t w)
{
    return ((w + 0x4646464646464646ULL) | (w - 0x3030303030303030ULL)) & 0x8080808080808080ULL;
}

/* All eight bytes of w are '0'..'9'. */
static inline bool bronze_digits8_ok(uint64_t w)
{
    return !bronze_nondigits8(w);
}

/* The value of eight digit bytes, the first (lowest-addressed) most
 * significant: pairs, then quads, then the eight; no lane overflows (99,
 * 9999, 99999999 fit their 8, 16 and 32 bits). */
static inline uint32_t bronze_digits8(uint64_t w)
{
    w -= 0x3030303030303030ULL;
    w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
    w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
    return (uint32_t)(w * 10000 + (w >> 32));
}

static inline size_t bronze_scan_digits(const char *p, size_t i, size_t n, uint64_t *m)
{
    uint64_t v = *m;
#ifdef BRONZE_SWAR_DIGITS
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (!bronze_digits8_ok(w))
            break;
        v = v * 100000000ULL + bronze_digits8(w);
        i += 8;
    }
#endif
    for (; i < n && (unsigned)(p[i] - '0') <= 9; i++)
        v = v * 10 + (unsigned)(p[i] - '0');
    *m = v;
    return i;
}

static inline size_t bronze_digits_end(const char *p, size_t i, size_t n)
{
#ifdef BRONZE_SWAR_DIGITS
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t m = bronze_nondigits8(w);
        if (m)
            return i + (size_t)(__builtin_ctzll(m) >> 3); /* little-endian: the lowest byte */
        i += 8;
    }
#endif
    while (i < n && (unsigned)(p[i] - '0') <= 9)
        i++;
    return i;
}

#endif
