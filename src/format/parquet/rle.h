/*
 * rle.h - Parquet's RLE / bit-packed hybrid encoding (Encodings.md), used for
 * definition levels (bit width 1) and dictionary indices.
 *
 * The output is a sequence of runs: an RLE run is varint(count << 1) then the
 * value in ceil(bw/8) little-endian bytes; a bit-packed run is
 * varint(groups << 1 | 1) then groups * 8 values packed LSB first in
 * groups * bw bytes. Values repeated 8 or more times become RLE runs, the
 * rest is bit-packed; only the final group may be zero-padded, which readers
 * ignore because they know the value count.
 *
 * No length prefix and no bit-width byte are written here; callers add what
 * their context needs (a 4-byte length for V1 levels, a bit-width byte for
 * dictionary indices).
 *
 * Worst case: at most bw + 1 bytes per 8 values, plus one run header.
 */
#ifndef BRONZE_FORMAT_PARQUET_RLE_H
#define BRONZE_FORMAT_PARQUET_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Encodes n values, each < 2^bw (1 <= bw <= 32). Returns -1 on OOM. */
int bronze_rle_encode_u32(bronze_buf *out, const uint32_t *v, size_t n, int bw);
int bronze_rle_encode_u8(bronze_buf *out, const uint8_t *v, size_t n, int bw);
/* Upper bound of the encoded size of n values of width bw. */
size_t bronze_rle_bound(size_t n, int bw);
/* Bits needed for values 0..max_value (0 for max_value 0). */
int bronze_rle_bit_width(uint64_t max_value);

#endif
