/*
 * utf8.h - UTF-8 validation and repair for text on its way into a file
 * (SPEC §7 "Text must be UTF-8").
 *
 * Valid means RFC 3629 / Unicode: no overlong forms, no surrogates
 * (U+D800..U+DFFF, e.g. ED A0 80), nothing above U+10FFFF, no truncated
 * sequence. The checker is on the hot path of every batch: it skips ASCII
 * 32 bytes per step and decodes only the bytes above 0x7F.
 *
 * Repair follows WHATWG / Python's errors="replace": each maximal subpart
 * of an ill-formed sequence (Unicode §3.9, "U+FFFD substitution of maximal
 * subparts") becomes one U+FFFD (EF BF BD).
 */
#ifndef BRONZE_UTIL_UTF8_H
#define BRONZE_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Offset of the first byte of the first ill-formed sequence in p[0..n), or
 * n when all of it is valid UTF-8. */
size_t bronze_utf8_check(const void *p, size_t n);

/* Appends p[0..n) to out with every maximal ill-formed subpart replaced by
 * U+FFFD; adds the number of replacements to *replaced. -1 on OOM. */
int bronze_utf8_repair(bronze_buf *out, const void *p, size_t n, uint64_t *replaced);

#endif
