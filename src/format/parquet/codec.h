/*
 * codec.h - page compression for the Parquet writer: SNAPPY, GZIP (gzip
 * framing, as Parquet requires), ZSTD, LZ4_RAW (a bare LZ4 block, not the
 * frame format and not Hadoop's framing), BROTLI, or none.
 *
 * One context per open file keeps the compressor state (zlib stream, zstd
 * context) so pages do not pay set-up costs. bronze_pq_codec_bound() is a
 * guaranteed worst case for one call, of the form x + ceil(x * num / den) + c,
 * so the file-size control can add bounds page by page (see
 * bronze_pq_codec_linear).
 */
#ifndef BRONZE_FORMAT_PARQUET_CODEC_H
#define BRONZE_FORMAT_PARQUET_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_pq_codec bronze_pq_codec;

/* The linear worst case: compressed(x) <= x + ceil(x * num / den) + per_call. */
typedef struct bronze_pq_codec_linear {
    uint64_t num, den, per_call;
} bronze_pq_codec_linear;

int bronze_pq_codec_new(bronze_pq_codec **out, bronze_codec codec, bronze_err *err);
void bronze_pq_codec_free(bronze_pq_codec *c);
/* Parquet's CompressionCodec enum value for the footer. */
int bronze_pq_codec_thrift_id(bronze_codec codec);
bronze_pq_codec_linear bronze_pq_codec_linear_bound(bronze_codec codec);
uint64_t bronze_pq_codec_bound(bronze_codec codec, uint64_t n);
/* Appends the compressed form of [p, p+n) to out. Returns -1 with err set. */
int bronze_pq_codec_compress(bronze_pq_codec *c, const uint8_t *p, size_t n, bronze_buf *out,
                             bronze_err *err);

/* Appends the compressed form of head || [tail, tail+ntail) to out, as one
 * block. SNAPPY compresses the tail where it lies (a raw snappy block is its
 * length and then elements that only look back within what they encode, so
 * two blocks' elements join under the total's length); the other codecs get
 * the tail appended to head first (head is scratch space). */
int bronze_pq_codec_compress_pair(bronze_pq_codec *c, bronze_buf *head, const uint8_t *tail,
                                  size_t ntail, bronze_buf *out, bronze_err *err);

#endif
