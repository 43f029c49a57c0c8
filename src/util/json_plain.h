/*
 * json_plain.h - the JSON string scanners' inner loop: the offset of the
 * first byte in p[i..n) that ends a run of plain string bytes, i.e. a quote,
 * a backslash, a control character (< 0x20) or a non-ASCII byte (>= 0x80);
 * n when there is none. Sixteen bytes per step with SSE2 (x86-64's
 * baseline); then, or without it, eight (SWAR): the borrow of the "has a
 * byte below k" trick can only mark bytes above a real match, so the lowest
 * marked byte is exact. test_core's test_json_plain_end checks both against
 * a byte-at-a-time loop.
 *
 * bronze_json_hex4(): the four hex digits of a \u escape (either case) at p
 * into *out; false when they are not four hex digits.
 */
#ifndef BRONZE_UTIL_JSON_PLAIN_H
#define BRONZE_UTIL_JSON_PLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline size_t bronze_json_plain_end(const unsigned char *p, size_t i, size_t n)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1f);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i e = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash));
        e = _mm_or_si128(e, _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x)); /* < 0x20 */
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(e, x)); /* x: >= 0x80 */
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (i + 8 <= n) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t m = (x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
        if (m)
            return i + (size_t)(__builtin_ctzll(m) >> 3);
        i += 8;
    }
    while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' && p[i] < 0x80)
        i++;
    return i;
}

static inline bool bronze_json_hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

#endif
