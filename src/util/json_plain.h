/*
 * json_plain.h - the JSON string scanners' inner loop: the offset of the
 * first byte in p[i..n) that ends a run of plain string bytes, i.e. a quote,
 * a backslash, a control character (< 0x20) or a non-ASCII byte (>= 0x80);
 * n when there is none. Eight bytes per step (SWAR): the borrow of the
 * "has a byte below k" trick can only mark bytes above a real match, so the
 * lowest marked byte is exact.
 */
#ifndef BRONZE_UTIL_JSON_PLAIN_H
#define BRONZE_UTIL_JSON_PLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline size_t bronze_json_plain_end(const unsigned char *p, size_t i, size_t n)
{
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

#endif
