/*
 * utf8.c - UTF-8 validation and U+FFFD repair (see utf8.h).
 *
 * One decoder, seq_at(), says for the bytes at i either "a well-formed
 * character of k bytes" or "an ill-formed maximal subpart of k bytes"; the
 * checker and the repairer are loops around it. The checker first skips
 * ASCII four 64-bit words at a time (text columns are mostly ASCII), so its
 * cost is close to a memory read.
 */
#include "util/utf8.h"

#include <stdbool.h>
#include <string.h>

#define HI_BITS 0x8080808080808080ull

/* Bytes at p[i] (i < n, p[i] >= 0x80): returns the length k >= 1 of the
 * well-formed character there (*ok = true) or of the maximal ill-formed
 * subpart (*ok = false). Table 3-7 of the Unicode standard. */
static inline size_t seq_at(const unsigned char *p, size_t i, size_t n, bool *ok)
{
    unsigned c = p[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    *ok = false;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else
        return 1; /* a continuation byte alone, C0, C1, F5..FF */
    size_t k = 1;
    if (i + 1 >= n || p[i + 1] < lo || p[i + 1] > hi)
        return 1;
    k = 2;
    while (k <= need) {
        if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
            return k; /* truncated: the lead and its good continuations */
        k++;
    }
    *ok = true;
    return k;
}

size_t bronze_utf8_check(const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i = 0;
    for (;;) {
        while (i + 32 <= n) {
            uint64_t a, b, c, d;
            memcpy(&a, p + i, 8);
            memcpy(&b, p + i + 8, 8);
            memcpy(&c, p + i + 16, 8);
            memcpy(&d, p + i + 24, 8);
            if ((a | b | c | d) & HI_BITS)
                break;
            i += 32;
        }
        while (i + 8 <= n) {
            uint64_t a;
            memcpy(&a, p + i, 8);
            if (a & HI_BITS)
                break;
            i += 8;
        }
        while (i < n && p[i] < 0x80)
            i++;
        if (i >= n)
            return n;
        /* a run of non-ASCII text: decode until ASCII comes back */
        while (i < n && p[i] >= 0x80) {
            unsigned c = p[i];
            /* the common two- and three-byte forms whose second byte may be
             * any continuation (not E0, ED: overlong and surrogate ranges) */
            if (c >= 0xC2 && c <= 0xDF && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
                i += 2;
                continue;
            }
            if (c >= 0xE1 && c <= 0xEF && c != 0xED && i + 2 < n &&
                ((p[i + 1] & 0xC0) | ((p[i + 2] & 0xC0) >> 2)) == 0xA0) {
                i += 3;
                continue;
            }
            bool ok;
            size_t k = seq_at(p, i, n, &ok);
            if (!ok)
                return i;
            i += k;
        }
    }
}

int bronze_utf8_repair(bronze_buf *out, const void *s, size_t n, uint64_t *replaced)
{
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        size_t bad = i + bronze_utf8_check(p + i, n - i);
        if (bronze_buf_append(out, p + i, bad - i))
            return -1;
        if (bad >= n)
            break;
        bool ok;
        size_t k = seq_at(p, bad, n, &ok); /* ill-formed here by construction */
        if (bronze_buf_append(out, "\xEF\xBF\xBD", 3))
            return -1;
        (*replaced)++;
        i = bad + k;
    }
    return 0;
}
