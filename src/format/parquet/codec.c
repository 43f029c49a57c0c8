/*
 * codec.c - page compression through the Debian-packaged libraries (see
 * codec.h). Levels: gzip 6 (zlib default), zstd 3 (its default), brotli 5
 * (quality 11 is far too slow for a landing tool), LZ4 default block mode.
 */
#include "format/parquet/codec.h"

#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/parquet/thrift_compact.h"

struct bronze_pq_codec {
    bronze_codec codec;
    z_stream z;
    int z_ready;
    ZSTD_CCtx *zstd;
};

int bronze_pq_codec_new(bronze_pq_codec **out, bronze_codec codec, bronze_err *err)
{
    bronze_pq_codec *c = calloc(1, sizeof *c);
    if (!c)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    c->codec = codec;
    if (codec == BRONZE_CODEC_GZIP) {
        /* windowBits 15 + 16: gzip header and trailer, as Parquet's GZIP means */
        if (deflateInit2(&c->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(c);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "gzip: cannot initialise zlib");
        }
        c->z_ready = 1;
    } else if (codec == BRONZE_CODEC_ZSTD) {
        c->zstd = ZSTD_createCCtx();
        if (!c->zstd) {
            free(c);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        }
    } else if (codec > BRONZE_CODEC_NONE) {
        free(c);
        return bronze_err_set(err, BRONZE_E_CONFIG, "unknown Parquet compression codec %d",
                              (int)codec);
    }
    *out = c;
    return 0;
}

void bronze_pq_codec_free(bronze_pq_codec *c)
{
    if (!c)
        return;
    if (c->z_ready)
        deflateEnd(&c->z);
    ZSTD_freeCCtx(c->zstd);
    free(c);
}

int bronze_pq_codec_thrift_id(bronze_codec codec)
{
    switch (codec) {
    case BRONZE_CODEC_SNAPPY:
        return 1;
    case BRONZE_CODEC_GZIP:
        return 2;
    case BRONZE_CODEC_BROTLI:
        return 4;
    case BRONZE_CODEC_ZSTD:
        return 6;
    case BRONZE_CODEC_LZ4:
        return 7; /* LZ4_RAW */
    default:
        return 0; /* UNCOMPRESSED */
    }
}

bronze_pq_codec_linear bronze_pq_codec_linear_bound(bronze_codec codec)
{
    switch (codec) {
    case BRONZE_CODEC_SNAPPY: /* 32 + n + n/6 */
        return (bronze_pq_codec_linear){1, 6, 32};
    case BRONZE_CODEC_GZIP: /* deflate's conservative bound + 18 bytes of gzip framing */
        return (bronze_pq_codec_linear){10, 64, 64};
    case BRONZE_CODEC_ZSTD: /* n + n/256 + (128 KiB - n) / 2048 */
        return (bronze_pq_codec_linear){1, 255, 80};
    case BRONZE_CODEC_LZ4: /* n + n/255 + 16 */
        return (bronze_pq_codec_linear){1, 254, 16};
    case BRONZE_CODEC_BROTLI: /* n + 4 per 16 KiB + 6 */
        return (bronze_pq_codec_linear){1, 1024, 16};
    default:
        return (bronze_pq_codec_linear){0, 1, 0};
    }
}

uint64_t bronze_pq_codec_bound(bronze_codec codec, uint64_t n)
{
    bronze_pq_codec_linear l = bronze_pq_codec_linear_bound(codec);
    return n + (n * l.num + l.den - 1) / l.den + l.per_call;
}

/* The libraries' own worst cases, to size the output buffer. */
static size_t lib_bound(bronze_pq_codec *c, size_t n)
{
    switch (c->codec) {
    case BRONZE_CODEC_SNAPPY:
        return snappy_max_compressed_length(n);
    case BRONZE_CODEC_GZIP:
        return deflateBound(&c->z, (uLong)n);
    case BRONZE_CODEC_ZSTD:
        return ZSTD_compressBound(n);
    case BRONZE_CODEC_LZ4:
        return (size_t)LZ4_compressBound((int)n);
    case BRONZE_CODEC_BROTLI:
        return BrotliEncoderMaxCompressedSize(n);
    default:
        return n;
    }
}

int bronze_pq_codec_compress(bronze_pq_codec *c, const uint8_t *p, size_t n, bronze_buf *out,
                             bronze_err *err)
{
    if (n > (size_t)INT32_MAX - 1024)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "Parquet page of %zu bytes is too large", n);
    /* reset first: deflateBound() depends on the stream's state */
    if (c->codec == BRONZE_CODEC_GZIP && deflateReset(&c->z) != Z_OK)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "gzip compression failed");
    size_t cap = lib_bound(c, n);
    if (cap == 0)
        cap = n + 64;
    if (bronze_buf_reserve(out, cap))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    uint8_t *dst = out->data + out->len;
    size_t got = cap;
    switch (c->codec) {
    case BRONZE_CODEC_SNAPPY:
        if (snappy_compress((const char *)p, n, (char *)dst, &got) != SNAPPY_OK)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "snappy compression failed");
        break;
    case BRONZE_CODEC_GZIP: {
        c->z.next_in = (Bytef *)p;
        c->z.avail_in = (uInt)n;
        c->z.next_out = dst;
        c->z.avail_out = (uInt)cap;
        if (deflate(&c->z, Z_FINISH) != Z_STREAM_END)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "gzip compression failed");
        got = cap - c->z.avail_out;
        break;
    }
    case BRONZE_CODEC_ZSTD:
        got = ZSTD_compressCCtx(c->zstd, dst, cap, p, n, 3);
        if (ZSTD_isError(got))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "zstd compression failed: %s",
                                  ZSTD_getErrorName(got));
        break;
    case BRONZE_CODEC_LZ4: {
        int r = LZ4_compress_default((const char *)p, (char *)dst, (int)n, (int)cap);
        if (r <= 0 && n > 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "lz4 compression failed");
        got = (size_t)(r < 0 ? 0 : r);
        if (n == 0) { /* LZ4 encodes an empty block as a single 0 token */
            dst[0] = 0;
            got = 1;
        }
        break;
    }
    case BRONZE_CODEC_BROTLI:
        if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, p, &got, dst))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "brotli compression failed");
        break;
    default:
        if (n)
            memcpy(dst, p, n);
        got = n;
        break;
    }
    out->len += got;
    return 0;
}

/* snappy's preamble: the uncompressed length as a ULEB128 varint, the
 * Thrift compact protocol's (bronze_tc_varint_len counts its bytes) */
static void put_varint(uint8_t *p, size_t n)
{
    while (n >= 128) {
        *p++ = (uint8_t)(n | 128);
        n >>= 7;
    }
    *p = (uint8_t)n;
}

int bronze_pq_codec_compress_pair(bronze_pq_codec *c, bronze_buf *head, const uint8_t *tail,
                                  size_t ntail, bronze_buf *out, bronze_err *err)
{
    if (c->codec != BRONZE_CODEC_SNAPPY || !head->len || !ntail) {
        if (ntail && bronze_buf_append(head, tail, ntail))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        return bronze_pq_codec_compress(c, head->data, head->len, out, err);
    }
    size_t total = head->len + ntail;
    if (total > (size_t)INT32_MAX - 1024)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "Parquet page of %zu bytes is too large",
                              total);
    /* the head's block, its preamble made the total's */
    size_t start = out->len;
    if (bronze_pq_codec_compress(c, head->data, head->len, out, err))
        return -1;
    size_t hv = bronze_tc_varint_len(head->len), tv = bronze_tc_varint_len(total),
           tlv = bronze_tc_varint_len(ntail);
    size_t cap = snappy_max_compressed_length(ntail);
    if (bronze_buf_reserve(out, (tv - hv) + cap))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    memmove(out->data + start + tv, out->data + start + hv, out->len - start - hv);
    put_varint(out->data + start, total);
    out->len += tv - hv;
    /* the tail's block written so that its preamble lands on the last tlv
     * bytes so far (tlv <= tv: ours), which are put back after */
    uint8_t *dst = out->data + out->len - tlv, save[8];
    memcpy(save, dst, tlv);
    size_t got = cap;
    if (snappy_compress((const char *)tail, ntail, (char *)dst, &got) != SNAPPY_OK || got < tlv)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "snappy compression failed");
    memcpy(dst, save, tlv);
    out->len += got - tlv;
    return 0;
}
