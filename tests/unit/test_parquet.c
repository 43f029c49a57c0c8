/*
 * test_parquet.c - unit tests of the Parquet writer's pieces: the Thrift
 * compact encoder, the RLE / bit-packed hybrid, the codecs' worst-case bounds,
 * and the writer's behaviour (footer structure, errors, row-group caps and
 * exact file-size control for every codec on compressible and incompressible
 * data). Reading values back is tests/integration/parquet.test.mjs's job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "batch/batch.h"
#include "format/encoder.h"
#include "format/parquet/codec.h"
#include "format/parquet/column_writer.h"
#include "format/parquet/rle.h"
#include "format/parquet/thrift_compact.h"
#include "test_parquet_util.h"

static char tmpdir_path[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir_path, sizeof tmpdir_path, "/tmp/bronze-pq-unit-XXXXXX");
    return mkdtemp(tmpdir_path) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
    return system(cmd) == 0 ? 0 : -1;
}

#define assert_bytes(buf, ...)                                                                     \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((buf).len, sizeof want_);                                                 \
        assert_memory_equal((buf).data, want_, sizeof want_);                                      \
    } while (0)

/* ---- Thrift compact ---- */

static void test_tc_varint_zigzag(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_tc t;
    bronze_tc_init(&t, &b);
    bronze_tc_varint(&t, 0);
    bronze_tc_varint(&t, 1);
    bronze_tc_varint(&t, 127);
    bronze_tc_varint(&t, 128);
    bronze_tc_varint(&t, 300);
    assert_bytes(b, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02);
    b.len = 0;
    bronze_tc_varint(&t, UINT64_MAX);
    assert_bytes(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    assert_int_equal(bronze_tc_varint_len(UINT64_MAX), 10);
    assert_int_equal(bronze_tc_varint_len(127), 1);
    assert_int_equal(bronze_tc_varint_len(128), 2);

    assert_int_equal(bronze_tc_zigzag64(0), 0);
    assert_int_equal(bronze_tc_zigzag64(-1), 1);
    assert_int_equal(bronze_tc_zigzag64(1), 2);
    assert_int_equal(bronze_tc_zigzag64(-2), 3);
    assert_int_equal(bronze_tc_zigzag64(INT32_MAX), 4294967294u);
    assert_true(bronze_tc_zigzag64(INT64_MIN) == UINT64_MAX);
    assert_true(bronze_tc_zigzag64(INT64_MAX) == UINT64_MAX - 1);
    assert_false(t.failed);
    bronze_buf_free(&b);
}

static void test_tc_fields(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_tc t;
    bronze_tc_init(&t, &b);
    bronze_tc_field_i32(&t, 1, 5);     /* delta 1, type 5: 0x15, zigzag 10 */
    bronze_tc_field_i64(&t, 3, -1);    /* delta 2, type 6: 0x26, zigzag 1 */
    bronze_tc_field_bool(&t, 4, true); /* 0x11 */
    bronze_tc_field_bool(&t, 5, false);
    bronze_tc_field_binary(&t, 6, "ab", 2);
    bronze_tc_field_i32(&t, 40, 1); /* delta 34: long form, type byte + zigzag(40) */
    bronze_tc_field_i8(&t, 41, -2);
    bronze_tc_struct_end(&t);
    assert_bytes(b, 0x15, 0x0a, 0x26, 0x01, 0x11, 0x12, 0x18, 0x02, 'a', 'b', 0x05, 0x50, 0x02,
                 0x13, 0xfe, 0x00);
    assert_false(t.failed);
    bronze_buf_free(&b);
}

static void test_tc_structs_lists(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_tc t;
    bronze_tc_init(&t, &b);
    bronze_tc_field_i32(&t, 2, 1); /* 0x25 0x02 */
    bronze_tc_field_struct(&t, 5); /* 0x3c: nested, last id restarts at 0 */
    bronze_tc_field_i32(&t, 1, 7); /* 0x15 0x0e */
    bronze_tc_struct_end(&t);      /* 0x00 */
    bronze_tc_field_i32(&t, 6, 0); /* back in the outer struct: delta 1 -> 0x15 0x00 */
    bronze_tc_field_list(&t, 7, BRONZE_TC_I32, 3); /* 0x19 0x35 */
    bronze_tc_elem_i32(&t, 0);
    bronze_tc_elem_i32(&t, 3);
    bronze_tc_elem_i32(&t, 8);
    bronze_tc_field_list(&t, 8, BRONZE_TC_STRUCT, 2); /* 0x19 0x2c */
    bronze_tc_elem_struct(&t);
    bronze_tc_field_i32(&t, 1, 1); /* element structs start from id 0 */
    bronze_tc_struct_end(&t);
    bronze_tc_elem_struct(&t);
    bronze_tc_struct_end(&t);
    bronze_tc_field_list(&t, 9, BRONZE_TC_BINARY, 1); /* 0x19 0x18 */
    bronze_tc_elem_binary(&t, "x", 1);
    bronze_tc_struct_end(&t);
    assert_bytes(b, 0x25, 0x02, 0x3c, 0x15, 0x0e, 0x00, 0x15, 0x00, 0x19, 0x35, 0x00, 0x06, 0x10,
                 0x19, 0x2c, 0x15, 0x02, 0x00, 0x00, 0x19, 0x18, 0x01, 'x', 0x00);

    /* long lists: 0xF_ then a varint size */
    b.len = 0;
    bronze_tc_init(&t, &b);
    bronze_tc_field_list(&t, 1, BRONZE_TC_I64, 15);
    assert_bytes(b, 0x19, 0xf6, 0x0f);
    b.len = 0;
    bronze_tc_list_header(&t, BRONZE_TC_STRUCT, 300);
    assert_bytes(b, 0xfc, 0xac, 0x02);
    b.len = 0;
    bronze_tc_list_header(&t, BRONZE_TC_STRUCT, 14);
    assert_bytes(b, 0xec);

    /* too deep nesting fails softly */
    b.len = 0;
    bronze_tc_init(&t, &b);
    for (int i = 0; i < BRONZE_TC_MAX_DEPTH + 1; i++)
        bronze_tc_field_struct(&t, 1);
    assert_true(t.failed);
    bronze_buf_free(&b);
}

/* A page header as the column writer builds it, against hand-derived bytes. */
static void test_tc_page_header(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_tc t;
    bronze_tc_init(&t, &b);
    bronze_tc_field_i32(&t, 1, 0);
    bronze_tc_field_i32(&t, 2, 1000);
    bronze_tc_field_i32(&t, 3, 64);
    bronze_tc_field_struct(&t, 5);
    bronze_tc_field_i32(&t, 1, 100);
    bronze_tc_field_i32(&t, 2, 8);
    bronze_tc_field_i32(&t, 3, 3);
    bronze_tc_field_i32(&t, 4, 3);
    bronze_tc_struct_end(&t);
    bronze_tc_struct_end(&t);
    assert_bytes(b, 0x15, 0x00, 0x15, 0xd0, 0x0f, 0x15, 0x80, 0x01, 0x2c, 0x15, 0xc8, 0x01, 0x15,
                 0x10, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00);
    assert_true(b.len <= BRONZE_PQ_HDR_MAX);
    bronze_buf_free(&b);
}

/* ---- RLE / bit-packed hybrid ---- */

/* Reference decoder: returns values decoded, or -1 on malformed input. */
static long rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t want)
{
    size_t i = 0, got = 0;
    size_t vbytes = ((size_t)bw + 7) / 8;
    while (got < want) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) {
            if (i >= n)
                return -1;
            uint8_t c = p[i++];
            h |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80))
                break;
        }
        if (h & 1) {
            size_t vals = (size_t)(h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t k = 0; k < vals; k++) {
                while (bits < bw) {
                    if (i >= n)
                        return -1;
                    acc |= (uint64_t)p[i++] << bits;
                    bits += 8;
                }
                uint32_t v = (uint32_t)(acc & ((1ULL << bw) - 1));
                acc >>= bw;
                bits -= bw;
                if (got < want)
                    out[got++] = v;
            }
        } else {
            size_t run = (size_t)(h >> 1);
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++) {
                if (i >= n)
                    return -1;
                v |= (uint32_t)p[i++] << (8 * k);
            }
            for (size_t k = 0; k < run && got < want; k++)
                out[got++] = v;
        }
    }
    return i == n ? (long)got : -1;
}

static void test_rle_known(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    uint8_t ones[100];
    memset(ones, 1, sizeof ones);
    assert_int_equal(bronze_rle_encode_u8(&b, ones, 100, 1), 0);
    assert_bytes(b, 0xc8, 0x01, 0x01); /* one RLE run of 100 */
    b.len = 0;
    uint8_t alt[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    assert_int_equal(bronze_rle_encode_u8(&b, alt, 8, 1), 0);
    assert_bytes(b, 0x03, 0xaa); /* one bit-packed group */
    b.len = 0;
    uint32_t v3[3] = {1, 2, 3};
    assert_int_equal(bronze_rle_encode_u32(&b, v3, 3, 2), 0);
    assert_bytes(b, 0x03, 0x39, 0x00); /* 01 10 11 then zero padding */
    b.len = 0;
    uint32_t big[10];
    for (int i = 0; i < 10; i++)
        big[i] = 70000;
    assert_int_equal(bronze_rle_encode_u32(&b, big, 10, 17), 0);
    assert_bytes(b, 0x14, 0x70, 0x11, 0x01); /* run of 10, value in 3 bytes */
    assert_int_equal(bronze_rle_bit_width(0), 0);
    assert_int_equal(bronze_rle_bit_width(1), 1);
    assert_int_equal(bronze_rle_bit_width(255), 8);
    assert_int_equal(bronze_rle_bit_width(256), 9);
    bronze_buf_free(&b);
}

static void test_rle_roundtrip(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint32_t *v = malloc(N * sizeof *v), *d = malloc(N * sizeof *d);
    uint8_t *v8 = malloc(N);
    bronze_buf b = BRONZE_BUF_INIT, b8 = BRONZE_BUF_INIT;
    uint64_t rng = 12345;
    for (int bw = 1; bw <= 24; bw++) {
        for (int pattern = 0; pattern < 4; pattern++) {
            for (size_t n = 0; n < N; n = n * 3 + 1) {
                for (size_t i = 0; i < n; i++) {
                    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                    uint32_t r = (uint32_t)(rng >> 33) & ((1u << bw) - 1);
                    switch (pattern) {
                    case 0: /* random */
                        v[i] = r;
                        break;
                    case 1: /* runs of random length */
                        v[i] = i && (rng >> 60) ? v[i - 1] : r;
                        break;
                    case 2: /* runs of exactly 7 and 8 */
                        v[i] = (uint32_t)((i / (i % 2 ? 7 : 8)) & ((1u << bw) - 1));
                        break;
                    default: /* constant */
                        v[i] = (1u << bw) - 1;
                    }
                }
                b.len = 0;
                assert_int_equal(bronze_rle_encode_u32(&b, v, n, bw), 0);
                assert_true(b.len <= bronze_rle_bound(n, bw));
                assert_int_equal(rle_decode(b.data, b.len, bw, d, n), (long)n);
                assert_memory_equal(d, v, n * sizeof *v);
                if (bw <= 8) {
                    for (size_t i = 0; i < n; i++)
                        v8[i] = (uint8_t)v[i];
                    b8.len = 0;
                    assert_int_equal(bronze_rle_encode_u8(&b8, v8, n, bw), 0);
                    assert_int_equal(b8.len, b.len);
                    assert_memory_equal(b8.data, b.data, b.len);
                }
            }
        }
    }
    free(v);
    free(d);
    free(v8);
    bronze_buf_free(&b);
    bronze_buf_free(&b8);
}

/* ---- codecs ---- */

/* A page's levels and its PLAIN values compressed as one block where they
 * lie: SNAPPY joins two blocks under the total's length (preamble lengths of
 * 1, 2 and 3 bytes, tails across the 64 KiB fragments); other codecs append. */
static void test_codec_pair(void **state)
{
    (void)state;
    static const size_t heads[] = {1, 5, 127, 128, 2600, 16383, 16384, 70000};
    static const size_t tails[] = {1, 127, 128, 16384, 65536, 65537, 200000, (2u << 20) + 5};
    size_t maxn = 70000 + (2u << 20) + 5;
    uint8_t *src = malloc(maxn), *back = malloc(maxn + 64);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < maxn; i++) { /* half random bytes, half runs of text */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        src[i] = (i / 4096) % 2 ? (uint8_t)x : (uint8_t)("abcabcabd"[(i / 3) % 9]);
    }
    bronze_codec codecs[] = {BRONZE_CODEC_SNAPPY, BRONZE_CODEC_ZSTD};
    for (size_t c = 0; c < 2; c++) {
        bronze_pq_codec *cz;
        bronze_err err = BRONZE_ERR_INIT;
        assert_int_equal(bronze_pq_codec_new(&cz, codecs[c], &err), 0);
        for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++)
            for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
                size_t nh = heads[h], nt = tails[t], n = nh + nt;
                bronze_buf head = BRONZE_BUF_INIT, out = BRONZE_BUF_INIT;
                assert_int_equal(bronze_buf_append(&head, src + nt, nh), 0);
                assert_int_equal(bronze_buf_append(&out, "xy", 2), 0); /* appended after */
                assert_int_equal(bronze_pq_codec_compress_pair(cz, &head, src, nt, &out, &err), 0);
                assert_memory_equal(out.data, "xy", 2);
                assert_true(out.len - 2 <= bronze_pq_codec_bound(codecs[c], n));
                size_t got = maxn + 64;
                if (codecs[c] == BRONZE_CODEC_SNAPPY) {
                    assert_int_equal(snappy_uncompress((const char *)out.data + 2, out.len - 2,
                                                       (char *)back, &got),
                                     SNAPPY_OK);
                } else {
                    got = ZSTD_decompress(back, got, out.data + 2, out.len - 2);
                    assert_false(ZSTD_isError(got));
                }
                assert_int_equal(got, n);
                assert_memory_equal(back, src + nt, nh);
                assert_memory_equal(back + nh, src, nt);
                bronze_buf_free(&head);
                bronze_buf_free(&out);
            }
        bronze_pq_codec_free(cz);
    }
    free(src);
    free(back);
}

static void test_codec_bounds_and_roundtrip(void **state)
{
    (void)state;
    static const bronze_codec codecs[] = {BRONZE_CODEC_NONE, BRONZE_CODEC_SNAPPY,
                                          BRONZE_CODEC_GZIP, BRONZE_CODEC_ZSTD,
                                          BRONZE_CODEC_LZ4,  BRONZE_CODEC_BROTLI};
    static const size_t sizes[] = {0, 1, 7, 100, 4096, 65536, 200000, 1 << 20};
    const size_t maxn = 1 << 20;
    uint8_t *in = malloc(maxn), *back = malloc(maxn + 64);
    uint64_t rng = 99;
    for (size_t i = 0; i < maxn; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        in[i] = (uint8_t)rng;
    }
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        bronze_pq_codec *cz;
        bronze_err err = BRONZE_ERR_INIT;
        assert_int_equal(bronze_pq_codec_new(&cz, codecs[c], &err), 0);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int zeros = 0; zeros < 2; zeros++) {
                size_t n = sizes[s];
                const uint8_t *src = in;
                if (zeros) {
                    memset(back, 0, n);
                    src = back;
                    uint8_t *copy = malloc(n ? n : 1);
                    memcpy(copy, back, n);
                    src = copy;
                }
                bronze_buf out = BRONZE_BUF_INIT;
                assert_int_equal(bronze_pq_codec_compress(cz, src, n, &out, &err), 0);
                assert_true(out.len <= bronze_pq_codec_bound(codecs[c], n));
                size_t got = maxn + 64;
                switch (codecs[c]) {
                case BRONZE_CODEC_NONE:
                    assert_int_equal(out.len, n);
                    memcpy(back, out.data, n);
                    got = n;
                    break;
                case BRONZE_CODEC_SNAPPY:
                    assert_int_equal(
                        snappy_uncompress((const char *)out.data, out.len, (char *)back, &got),
                        SNAPPY_OK);
                    break;
                case BRONZE_CODEC_GZIP: {
                    assert_true(out.len >= 18 && out.data[0] == 0x1f && out.data[1] == 0x8b);
                    z_stream z = {0};
                    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
                    z.next_in = out.data;
                    z.avail_in = (uInt)out.len;
                    z.next_out = back;
                    z.avail_out = (uInt)got;
                    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
                    got = got - z.avail_out;
                    inflateEnd(&z);
                    break;
                }
                case BRONZE_CODEC_ZSTD:
                    got = ZSTD_decompress(back, got, out.data, out.len);
                    assert_false(ZSTD_isError(got));
                    break;
                case BRONZE_CODEC_LZ4: { /* a raw block: no frame magic */
                    int r = LZ4_decompress_safe((const char *)out.data, (char *)back, (int)out.len,
                                                (int)got);
                    assert_true(r >= 0);
                    got = (size_t)r;
                    break;
                }
                default: /* brotli: no decoder linked; DuckDB reads it in the integration test */
                    memcpy(back, src, n);
                    got = n;
                }
                assert_int_equal(got, n);
                assert_memory_equal(back, src, n);
                bronze_buf_free(&out);
                if (zeros)
                    free((void *)src);
            }
        }
        bronze_pq_codec_free(cz);
    }
    /* the linear bound covers every library's own worst case */
    for (size_t n = 0; n < (8u << 20); n = n * 2 + 13) {
        assert_true(snappy_max_compressed_length(n) <=
                    bronze_pq_codec_bound(BRONZE_CODEC_SNAPPY, n));
        assert_true(ZSTD_compressBound(n) <= bronze_pq_codec_bound(BRONZE_CODEC_ZSTD, n));
        assert_true((size_t)LZ4_compressBound((int)n) <=
                    bronze_pq_codec_bound(BRONZE_CODEC_LZ4, n));
        assert_true(compressBound((uLong)n) + 18 <= bronze_pq_codec_bound(BRONZE_CODEC_GZIP, n));
        /* zlib's conservative bound (non-default parameters) + gzip framing */
        assert_true(n + (n >> 3) + (n >> 6) + 5 + 18 <=
                    bronze_pq_codec_bound(BRONZE_CODEC_GZIP, n));
        assert_true(BrotliEncoderMaxCompressedSize(n) <=
                    bronze_pq_codec_bound(BRONZE_CODEC_BROTLI, n));
    }
    assert_int_equal(bronze_pq_codec_thrift_id(BRONZE_CODEC_LZ4), 7); /* LZ4_RAW */
    assert_int_equal(bronze_pq_codec_thrift_id(BRONZE_CODEC_GZIP), 2);
    assert_int_equal(bronze_pq_codec_thrift_id(BRONZE_CODEC_NONE), 0);
    free(in);
    free(back);
}

static void test_decimal_width(void **state)
{
    (void)state;
    static const int want[39] = {0,  1,  1,  2,  2,  3,  3,  4,  4,  4,  5,  5,  6,
                                 6,  6,  7,  7,  8,  8,  9,  9,  9,  10, 10, 11, 11,
                                 11, 12, 12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16};
    for (int p = 1; p <= 38; p++)
        assert_int_equal(bronze_pq_decimal_width(p), want[p]);
}

/* ---- a minimal footer reader ---- */

/* The byte reader and its varints are test_parquet_util.h's (tp_trd). */
typedef tp_trd rd;

static void rd_skip(rd *r, int type, bool in_list);

static void rd_list(rd *r, size_t *count, int *elem)
{
    uint8_t h = r->p < r->end ? *r->p++ : (r->bad = true, 0);
    size_t n = h >> 4;
    if (n == 15)
        n = (size_t)tp_trd_varint(r);
    *count = n;
    *elem = h & 15;
}

/* Calls back on each field of a struct; fields not handled are skipped. */
typedef bool (*rd_field_fn)(rd *r, int id, int type, void *ctx);

static void rd_struct(rd *r, rd_field_fn fn, void *ctx)
{
    int last = 0;
    while (!r->bad) {
        if (r->p >= r->end) {
            r->bad = true;
            return;
        }
        uint8_t h = *r->p++;
        if (!h)
            return;
        int type = h & 15, id = (h >> 4) ? last + (h >> 4) : (int)tp_trd_zz(r);
        last = id;
        if (!fn || !fn(r, id, type, ctx))
            rd_skip(r, type, false);
    }
}

static void rd_skip(rd *r, int type, bool in_list)
{
    switch (type) {
    case BRONZE_TC_TRUE:
    case BRONZE_TC_FALSE:
        if (in_list)
            r->p++;
        break;
    case BRONZE_TC_I8:
        r->p++;
        break;
    case BRONZE_TC_I16:
    case BRONZE_TC_I32:
    case BRONZE_TC_I64:
        tp_trd_varint(r);
        break;
    case BRONZE_TC_DOUBLE:
        r->p += 8;
        break;
    case BRONZE_TC_BINARY: {
        uint64_t n = tp_trd_varint(r);
        if (n > (uint64_t)(r->end - r->p))
            r->bad = true;
        else
            r->p += n;
        break;
    }
    case BRONZE_TC_LIST:
    case BRONZE_TC_SET: {
        size_t n;
        int elem;
        rd_list(r, &n, &elem);
        for (size_t i = 0; i < n && !r->bad; i++)
            rd_skip(r, elem, true);
        break;
    }
    case BRONZE_TC_STRUCT:
        rd_struct(r, NULL, NULL);
        break;
    default:
        r->bad = true;
    }
    if (r->p > r->end)
        r->bad = true;
}

typedef struct footer_info {
    int64_t version, num_rows;
    size_t ngroups, nschema, norders;
    int64_t group_rows[64];
    int64_t group_offset[64];
    char created_by[128];
} footer_info;

static bool rg_field(rd *r, int id, int type, void *ctx)
{
    footer_info *fi = ctx;
    if (id == 3 && type == BRONZE_TC_I64 && fi->ngroups < 64) {
        fi->group_rows[fi->ngroups] = tp_trd_zz(r);
        return true;
    }
    if (id == 5 && type == BRONZE_TC_I64 && fi->ngroups < 64) {
        fi->group_offset[fi->ngroups] = tp_trd_zz(r);
        return true;
    }
    return false;
}

static bool fmd_field(rd *r, int id, int type, void *ctx)
{
    footer_info *fi = ctx;
    size_t n;
    int elem;
    switch (id) {
    case 1:
        fi->version = tp_trd_zz(r);
        return true;
    case 3:
        fi->num_rows = tp_trd_zz(r);
        return true;
    case 2:
    case 7:
        rd_list(r, &n, &elem);
        *(id == 2 ? &fi->nschema : &fi->norders) = n;
        for (size_t i = 0; i < n; i++)
            rd_skip(r, elem, true);
        return true;
    case 4:
        rd_list(r, &n, &elem);
        assert_int_equal(elem, BRONZE_TC_STRUCT);
        for (size_t i = 0; i < n; i++) {
            rd_struct(r, rg_field, fi);
            fi->ngroups++;
        }
        return true;
    case 6: {
        uint64_t len = tp_trd_varint(r);
        if (len < sizeof fi->created_by && len <= (uint64_t)(r->end - r->p)) {
            memcpy(fi->created_by, r->p, len);
            fi->created_by[len] = 0;
        }
        r->p += len;
        return true;
    }
    }
    (void)type;
    return false;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Checks the file frame and parses its footer. */
static void read_footer(const char *path, footer_info *fi)
{
    size_t n;
    uint8_t *p = slurp(path, &n);
    assert_true(n >= 12);
    assert_memory_equal(p, "PAR1", 4);
    assert_memory_equal(p + n - 4, "PAR1", 4);
    uint32_t flen = (uint32_t)p[n - 8] | (uint32_t)p[n - 7] << 8 | (uint32_t)p[n - 6] << 16 |
                    (uint32_t)p[n - 5] << 24;
    assert_true(flen + 12 <= n);
    memset(fi, 0, sizeof *fi);
    rd r = {p + n - 8 - flen, p + n - 8, false};
    rd_struct(&r, fmd_field, fi);
    assert_false(r.bad);
    assert_true(r.p == r.end); /* the footer is exactly one well-formed struct */
    free(p);
}

/* ---- writer behaviour ---- */

static const tp_field KV[] = {
    {"id", BRONZE_T_INT64, 0, 0, false},
    {"payload", BRONZE_T_BYTES, 0, 0, true},
    {"note", BRONZE_T_STRING, 0, 0, true},
};

enum { DATA_RANDOM, DATA_ZEROS, DATA_TEXT };

static void fill_kv(bronze_batch *b, size_t from, size_t n, int kind, size_t payload, uint64_t *rng)
{
    bronze_batch_clear(b);
    static uint8_t buf[1 << 18];
    for (size_t i = from; i < from + n; i++) {
        bronze_batch_put_i64(b, (int64_t)i);
        size_t len = payload;
        if (kind == DATA_RANDOM) {
            len = payload / 2 + (size_t)(*rng % (payload + 1));
            for (size_t k = 0; k < len; k++) {
                *rng ^= *rng << 13;
                *rng ^= *rng >> 7;
                *rng ^= *rng << 17;
                buf[k] = (uint8_t)*rng;
            }
        } else if (kind == DATA_ZEROS) { /* distinct (no dictionary) but very compressible */
            memset(buf, 0, len);
            memcpy(buf, &i, len < sizeof i ? len : sizeof i);
        } else {
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)("lorem ipsum dolor sit amet "[(i * 7 + k) % 27]);
        }
        if (i % 97 == 5)
            bronze_batch_put_null(b);
        else
            bronze_batch_put_bytes(b, buf, len);
        char note[48];
        snprintf(note, sizeof note, "note %zu", kind == DATA_ZEROS ? i % 3 : i % 5000);
        bronze_batch_put_bytes(b, note, strlen(note));
        bronze_batch_end_row(b);
    }
}

static void test_footer_and_layout(void **state)
{
    (void)state;
    bronze_schema *s = tp_schema(KV, 3);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 1000), 0);
    uint64_t rng = 7;
    fill_kv(&b, 0, 1000, DATA_TEXT, 50, &rng);
    char path[400];
    snprintf(path, sizeof path, "%s/layout.parquet", tmpdir_path);
    bronze_encoder *e;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_SNAPPY,
                             .created_by = "bronze-foundry version 9.9.9 (build x)"};
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.fit(e, &b, 0, 1000, &err), 1000); /* no limit */
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 600, &err), 0);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 600, 400, &err), 0);
    uint64_t bytes = 0;
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, bytes);
    footer_info fi;
    read_footer(path, &fi);
    assert_int_equal(fi.version, 1);
    assert_int_equal(fi.num_rows, 1000);
    assert_int_equal(fi.ngroups, 1);
    assert_int_equal(fi.group_rows[0], 1000);
    assert_int_equal(fi.group_offset[0], 4);
    assert_int_equal(fi.nschema, 4);
    assert_int_equal(fi.norders, 3);
    assert_string_equal(fi.created_by, "bronze-foundry version 9.9.9 (build x)");

    /* no created_by: the fallback names this tool with a version token */
    snprintf(path, sizeof path, "%s/empty.parquet", tmpdir_path);
    o.created_by = NULL;
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    read_footer(path, &fi);
    assert_int_equal(fi.num_rows, 0);
    assert_int_equal(fi.ngroups, 0);
    assert_non_null(strstr(fi.created_by, "bronze-foundry version "));
    assert_non_null(strstr(fi.created_by, "(build "));

    bronze_batch_free(&b);
    bronze_schema_free(s);
}

static void test_bad_input(void **state)
{
    (void)state;
    static const tp_field F[] = {
        {"must", BRONZE_T_INT32, 0, 0, false},
        {"amount", BRONZE_T_DECIMAL, 5, 2, true},
    };
    bronze_schema *s = tp_schema(F, 2);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 4), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/bad.parquet", tmpdir_path);
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_ZSTD};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder *e;

    /* NULL in a NOT NULL column: an error naming the column, no crash */
    bronze_batch_put_null(&b);
    bronze_batch_put_dec(&b, 1);
    bronze_batch_end_row(&b);
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 1, &err), -1);
    assert_non_null(strstr(err.msg, "must"));
    bronze_encoder_parquet.destroy(e);

    /* a decimal beyond its precision */
    bronze_batch_clear(&b);
    bronze_batch_put_i32(&b, 1);
    bronze_batch_put_dec(&b, 100000);
    bronze_batch_end_row(&b);
    err = (bronze_err)BRONZE_ERR_INIT;
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 1, &err), -1);
    assert_non_null(strstr(err.msg, "amount"));
    bronze_encoder_parquet.destroy(e);

    /* the same with a size limit: fit() reports it as an error */
    o.max_bytes = 1 << 20;
    err = (bronze_err)BRONZE_ERR_INIT;
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    size_t k = bronze_encoder_parquet.fit(e, &b, 0, 1, &err);
    assert_true(k == 1 || k == (size_t)-1); /* fast path may accept it; write() then fails */
    if (k == 1)
        assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 1, &err), -1);
    assert_non_null(strstr(err.msg, "amount"));
    bronze_encoder_parquet.destroy(e);

    /* a bad DECIMAL declaration and an unwritable path fail at open */
    bronze_schema *bad = tp_schema((tp_field[]){{"d", BRONZE_T_DECIMAL, 40, 2, true}}, 1);
    assert_int_equal(bronze_encoder_parquet.open(&e, path, bad, &o, &err), -1);
    assert_null(e);
    assert_int_equal(bronze_encoder_parquet.open(&e, "/nonexistent/dir/x.parquet", s, &o, &err),
                     -1);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.parquet"));
    bronze_schema_free(bad);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* A single row larger than the limit: fit() says 0 on an empty part. */
static void test_row_too_big(void **state)
{
    (void)state;
    bronze_schema *s = tp_schema(KV, 3);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 4), 0);
    uint64_t rng = 1;
    fill_kv(&b, 0, 2, DATA_RANDOM, 3000, &rng);
    char path[400];
    snprintf(path, sizeof path, "%s/big-row.parquet", tmpdir_path);
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_LZ4, .max_bytes = 2000};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder *e;
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.fit(e, &b, 0, 2, &err), 0);
    bronze_encoder_parquet.destroy(e); /* unfinished: closes, caller removes */
    unlink(path);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* Rows of one bool column: the 1 Mi-row row-group cap. */
static void test_row_group_row_cap(void **state)
{
    (void)state;
    static const tp_field F[] = {{"flag", BRONZE_T_BOOL, 0, 0, false}};
    bronze_schema *s = tp_schema(F, 1);
    bronze_batch b;
    const size_t n = 300000;
    assert_int_equal(bronze_batch_init(&b, s, n), 0);
    for (size_t i = 0; i < n; i++) {
        bronze_batch_put_bool(&b, i % 3 == 0);
        bronze_batch_end_row(&b);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/rows.parquet", tmpdir_path);
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_SNAPPY};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder *e;
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, n, &err), 0);
    uint64_t bytes;
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    footer_info fi;
    read_footer(path, &fi);
    assert_int_equal(fi.num_rows, 8 * n);
    assert_int_equal(fi.ngroups, 3);
    assert_int_equal(fi.group_rows[0], 1 << 20);
    assert_int_equal(fi.group_rows[1], 1 << 20);
    assert_int_equal(fi.group_rows[2], 8 * n - (2 << 20));
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* Rolls rows through fit()/write() into parts and checks every part against
 * the limit: <= max always, >= 85% for all but the last (unless halving). */
/* Bloom filters on every column of the rolled parts (test_size_with_bloom). */
static bool roll_bloom;

static void roll_fill(bronze_codec codec, int kind, size_t payload, size_t total, size_t batch,
                      uint64_t max, bool halve, double min_fill, const char *tag)
{
    static char *bloom_cols[] = {"id", "payload", "note"};
    bronze_schema *s = tp_schema(KV, 3);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, batch), 0);
    tp_parts *p = calloc(1, sizeof *p);
    p->schema = s;
    p->opts = (bronze_encoder_opts){.codec = codec, .max_bytes = max};
    if (roll_bloom) {
        p->opts.bloom_columns = bloom_cols;
        p->opts.n_bloom_columns = 3;
    }
    p->halve = halve;
    snprintf(p->prefix, sizeof p->prefix, "%s/%s-%d", tmpdir_path, tag, (int)codec);
    bronze_err err = BRONZE_ERR_INIT;
    uint64_t rng = 42;
    for (size_t from = 0; from < total; from += batch) {
        size_t n = total - from < batch ? total - from : batch;
        fill_kv(&b, from, n, kind, payload, &rng);
        if (tp_write(p, &b, &err))
            fail_msg("%s codec %d: %s", tag, (int)codec, err.msg);
    }
    if (tp_close(p, &err))
        fail_msg("%s codec %d: %s", tag, (int)codec, err.msg);
    uint64_t rows = 0;
    for (unsigned i = 0; i < p->n; i++) {
        char path[600];
        tp_part_path(p, i, path, sizeof path);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((uint64_t)st.st_size, p->bytes[i]);
        if (p->bytes[i] > max)
            fail_msg("%s codec %d part %u: %llu bytes > %llu", tag, (int)codec, i + 1,
                     (unsigned long long)p->bytes[i], (unsigned long long)max);
        if (getenv("BRONZE_PQ_VERBOSE"))
            printf("%s codec %d part %u: %llu bytes (%.1f%%), %llu rows\n", tag, (int)codec, i + 1,
                   (unsigned long long)p->bytes[i], 100.0 * (double)p->bytes[i] / (double)max,
                   (unsigned long long)p->rows[i]);
        if (!halve && i + 1 < p->n && (double)p->bytes[i] < min_fill * (double)max)
            fail_msg("%s codec %d part %u: %llu bytes < %.0f%% of %llu", tag, (int)codec, i + 1,
                     (unsigned long long)p->bytes[i], min_fill * 100, (unsigned long long)max);
        footer_info fi;
        read_footer(path, &fi);
        assert_int_equal((uint64_t)fi.num_rows, p->rows[i]);
        int64_t sum = 0;
        for (size_t g = 0; g < fi.ngroups; g++)
            sum += fi.group_rows[g];
        assert_int_equal(sum, fi.num_rows);
        rows += p->rows[i];
        unlink(path);
    }
    assert_int_equal(rows, total);
    if (!halve)
        assert_true(p->n >= 2);
    free(p);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

static void roll(bronze_codec codec, int kind, size_t payload, size_t total, size_t batch,
                 uint64_t max, bool halve, const char *tag)
{
    roll_fill(codec, kind, payload, total, batch, max, halve, 0.85, tag);
}

/* fit() answers the same question the same way; a write() of other rows
 * than fit() staged, and finish() or destroy() after fit(), all stay sound. */
static void test_fit_protocol(void **state)
{
    (void)state;
    bronze_schema *s = tp_schema(KV, 3);
    bronze_batch a, b;
    assert_int_equal(bronze_batch_init(&a, s, 20000), 0);
    assert_int_equal(bronze_batch_init(&b, s, 20000), 0);
    uint64_t rng = 5;
    fill_kv(&a, 0, 20000, DATA_RANDOM, 200, &rng);
    fill_kv(&b, 20000, 20000, DATA_TEXT, 50, &rng);
    char path[400];
    snprintf(path, sizeof path, "%s/protocol.parquet", tmpdir_path);
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_ZSTD, .max_bytes = 1 << 20};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder *e;

    /* rows of a beyond the limit: staged; asked again, the same answer */
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    size_t k = bronze_encoder_parquet.fit(e, &a, 0, 20000, &err);
    assert_true(k > 1000 && k < 20000);
    assert_int_equal(bronze_encoder_parquet.fit(e, &a, 0, 20000, &err), k);
    /* ... but the caller writes rows of another batch */
    assert_int_equal(bronze_encoder_parquet.fit(e, &b, 0, 100, &err), 100);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 100, &err), 0);
    k = bronze_encoder_parquet.fit(e, &a, 100, 19900, &err);
    assert_true(k > 1000 && k < 19900);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 100, 50, &err),
                     0); /* not the staged rows */
    uint64_t bytes;
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    footer_info fi;
    read_footer(path, &fi);
    assert_int_equal(fi.num_rows, 150);
    assert_true(bytes <= (1 << 20));

    /* staged rows that are never written do not reach the file */
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    k = bronze_encoder_parquet.fit(e, &a, 0, 20000, &err);
    assert_true(k > 0 && k < 20000);
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    read_footer(path, &fi);
    assert_int_equal(fi.num_rows, 0);

    /* destroy() right after a staging fit() frees everything */
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_true(bronze_encoder_parquet.fit(e, &a, 0, 20000, &err) < 20000);
    bronze_encoder_parquet.destroy(e);
    unlink(path);
    bronze_batch_free(&a);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

static const bronze_codec ALL_CODECS[] = {BRONZE_CODEC_NONE, BRONZE_CODEC_SNAPPY,
                                          BRONZE_CODEC_GZIP, BRONZE_CODEC_ZSTD,
                                          BRONZE_CODEC_LZ4,  BRONZE_CODEC_BROTLI};

static void test_size_incompressible(void **state)
{
    (void)state;
    for (size_t c = 0; c < 6; c++) {
        roll(ALL_CODECS[c], DATA_RANDOM, 200, 12000, 1000, 1 << 20, false, "rnd-small");
        /* batches larger than a whole part: fit() stages rows */
        roll(ALL_CODECS[c], DATA_RANDOM, 200, 30000, 15000, 1 << 20, false, "rnd-large");
    }
}

static void test_size_compressible(void **state)
{
    (void)state;
    for (size_t c = 0; c < 6; c++) {
        size_t total = ALL_CODECS[c] == BRONZE_CODEC_NONE ? 20000 : 400000;
        roll(ALL_CODECS[c], DATA_ZEROS, 100, total, 5000, 512 << 10, false, "zero-small");
        roll(ALL_CODECS[c], DATA_ZEROS, 100, total, 60000, 512 << 10, false, "zero-large");
        roll(ALL_CODECS[c], DATA_TEXT, 80, 200000, 7000, 256 << 10, false, "text");
    }
}

/* write() of fewer rows than fit() allowed (the other format fit fewer). */
static void test_size_partial_writes(void **state)
{
    (void)state;
    for (size_t c = 0; c < 6; c++) {
        roll(ALL_CODECS[c], DATA_RANDOM, 200, 20000, 4000, 1 << 20, true, "half-rnd");
        roll(ALL_CODECS[c], DATA_TEXT, 80, 40000, 9000, 512 << 10, true, "half-text");
    }
}

/* Rows of up to 14% of the limit: parts still fill to 85% (SPEC §6.2); rows
 * of up to 23%: never over the limit, and at least 85% minus one row. */
static void test_size_big_rows(void **state)
{
    (void)state;
    roll(BRONZE_CODEC_SNAPPY, DATA_RANDOM, 100000, 200, 10, 1 << 20, false, "bigrows");
    roll(BRONZE_CODEC_NONE, DATA_RANDOM, 100000, 200, 200, 1 << 20, false, "bigrows");
    roll_fill(BRONZE_CODEC_ZSTD, DATA_RANDOM, 160000, 100, 7, 1 << 20, false, 0.62, "bigrows");
    roll_fill(BRONZE_CODEC_GZIP, DATA_RANDOM, 160000, 100, 50, 1 << 20, true, 0, "bigrows");
}

/* ---- page index, statistics, bloom filters (read back through the tree decoder) ---- */

static const tp_field PX[] = {
    {"id", BRONZE_T_INT64, 0, 0, false},    {"name", BRONZE_T_STRING, 0, 0, true},
    {"score", BRONZE_T_DOUBLE, 0, 0, true}, {"email", BRONZE_T_STRING, 0, 0, true},
    {"code", BRONZE_T_INT32, 0, 0, false},
};
#define PX_ROWS 300000

/* The generated value of (row, column): false for NULL. */
static bool px_value(size_t i, int col, char *s, size_t *len, double *d, int64_t *v)
{
    switch (col) {
    case 0:
        *v = (int64_t)i;
        return true;
    case 1: /* low cardinality (dictionary), a run of NULLs spanning whole pages, long extremes */
        if (i >= 60000 && i < 110000)
            return false;
        if (i % 1001 == 17) /* 'A' + 70 'a': the minimum, over 64 bytes */
            *len = (size_t)snprintf(
                s, 128, "A%s",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        else if (i % 997 == 3) /* 63 'z', then an 'é' cut by the 64-byte limit: the maximum */
            *len =
                (size_t)snprintf(s, 128, "%s\xc3\xa9tail",
                                 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
        else
            *len = (size_t)snprintf(s, 128, "name %02zu", i % 37);
        return true;
    case 2: /* ascending, with NaNs and NULLs, and a stretch of NaN only */
        if (i % 13 == 4)
            return false;
        *d = (i % 11 == 3 || (i >= 200000 && i < 250000)) ? NAN : (double)i * 0.5 - 1000;
        return true;
    case 3: /* distinct: the dictionary falls back to PLAIN */
        if (i % 50 == 9)
            return false;
        *len = (size_t)snprintf(s, 128, "user%zu@example.com", i);
        return true;
    default:
        *v = (int64_t)((i * 7919) % 5000);
        return true;
    }
}

static void px_fill(bronze_batch *b, size_t from, size_t n)
{
    bronze_batch_clear(b);
    char s[128];
    for (size_t i = from; i < from + n; i++) {
        for (int col = 0; col < 5; col++) {
            size_t len = 0;
            double d = 0;
            int64_t v = 0;
            if (!px_value(i, col, s, &len, &d, &v))
                bronze_batch_put_null(b);
            else if (col == 0)
                bronze_batch_put_i64(b, v);
            else if (col == 2)
                bronze_batch_put_f64(b, d);
            else if (col == 4)
                bronze_batch_put_i32(b, (int32_t)v);
            else
                bronze_batch_put_bytes(b, s, len);
        }
        bronze_batch_end_row(b);
    }
}

/* What a page (or chunk) of rows [from, to) must report. */
typedef struct px_expect {
    uint64_t nulls, nans, vals;
    bool has;
    int64_t imin, imax;
    double dmin, dmax;
    char smin[128], smax[128];
    size_t lmin, lmax;
} px_expect;

static int px_bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = memcmp(a, b, n);
    return r ? r : (an > bn) - (an < bn);
}

static void px_expect_rows(int col, size_t from, size_t to, px_expect *x)
{
    memset(x, 0, sizeof *x);
    char s[128];
    for (size_t i = from; i < to; i++) {
        size_t len = 0;
        double d = 0;
        int64_t v = 0;
        if (!px_value(i, col, s, &len, &d, &v)) {
            x->nulls++;
            continue;
        }
        x->vals++;
        if (col == 2) {
            if (d != d) {
                x->nans++;
                continue;
            }
            if (!x->has || d < x->dmin)
                x->dmin = d;
            if (!x->has || d > x->dmax)
                x->dmax = d;
        } else if (col == 1 || col == 3) {
            if (!x->has || px_bytes_cmp(s, len, x->smin, x->lmin) < 0)
                memcpy(x->smin, s, x->lmin = len);
            if (!x->has || px_bytes_cmp(s, len, x->smax, x->lmax) > 0)
                memcpy(x->smax, s, x->lmax = len);
        } else {
            if (!x->has || v < x->imin)
                x->imin = v;
            if (!x->has || v > x->imax)
                x->imax = v;
        }
        x->has = true;
    }
}

/* The expected PLAIN min (is_max false) or max after truncation to 64 bytes:
 * a prefix cut on a character boundary; the max with its last (here ASCII)
 * character incremented. *exact false when truncated. */
static size_t px_plain(int col, const px_expect *x, bool is_max, uint8_t *out, bool *exact)
{
    *exact = true;
    if (col == 0 || col == 4) {
        int64_t v = is_max ? x->imax : x->imin;
        if (col == 4) {
            int32_t w = (int32_t)v;
            memcpy(out, &w, 4);
            return 4;
        }
        memcpy(out, &v, 8);
        return 8;
    }
    if (col == 2) {
        double v = is_max ? x->dmax : x->dmin;
        memcpy(out, &v, 8);
        return 8;
    }
    size_t n = is_max ? x->lmax : x->lmin;
    memcpy(out, is_max ? x->smax : x->smin, n);
    if (n <= 64)
        return n;
    *exact = false;
    n = 64;
    while ((out[n] & 0xC0) == 0x80) /* out[n] starts the next character or continues one */
        n--;
    if (is_max) {
        assert_true(out[n - 1] < 0x7F);
        out[n - 1]++;
    }
    return n;
}

static const tp_tnode *px_meta(const tp_tnode *rg, int col)
{
    const tp_tnode *cols = tp_tget(rg, 1);
    assert_non_null(cols);
    assert_true((size_t)col < cols->nkids);
    return &cols->kids[col];
}

static void px_binary_equal(const tp_tnode *n, const uint8_t *want, size_t wlen)
{
    assert_non_null(n);
    assert_int_equal(n->blen, wlen);
    if (wlen)
        assert_memory_equal(n->b, want, wlen);
}

static uint64_t px_hash(int col, size_t i, bool *present)
{
    char s[128];
    size_t len = 0;
    double d;
    int64_t v;
    *present = px_value(i, col, s, &len, &d, &v);
    if (col == 4) {
        int32_t w = (int32_t)v;
        return XXH64(&w, 4, 0);
    }
    return XXH64(s, len, 0);
}

/* Checks one column chunk: its OffsetIndex against the pages in the file,
 * its ColumnIndex and statistics against the generated rows, its bloom
 * filter against present and absent values. Returns the number of pages. */
static size_t px_check_chunk(const uint8_t *file, size_t fsize, const tp_tnode *rg, int col,
                             size_t rg_first, size_t rg_rows, bool *saw_null_dict_page,
                             bool *saw_trunc)
{
    const tp_tnode *cc = px_meta(rg, col);
    const tp_tnode *md = tp_tget(cc, 3);
    assert_non_null(md);
    int64_t data_off = tp_ti(md, 9, -1), dict_off = tp_ti(md, 11, -1);
    int64_t chunk_start = dict_off >= 0 ? dict_off : data_off;
    int64_t chunk_end = chunk_start + tp_ti(md, 7, 0);

    /* OffsetIndex: pages back to back from data_page_offset to the chunk's end */
    int64_t oi_off = tp_ti(cc, 4, -1), oi_len = tp_ti(cc, 5, -1);
    assert_true(oi_off > 0 && oi_len > 0 && (size_t)(oi_off + oi_len) <= fsize);
    size_t used;
    tp_tnode *oi = tp_tparse(file + oi_off, (size_t)oi_len, &used);
    assert_non_null(oi);
    assert_int_equal(used, (size_t)oi_len);
    const tp_tnode *locs = tp_tget(oi, 1);
    assert_non_null(locs);
    size_t np = locs->nkids;
    assert_true(np >= 1);
    int64_t at = data_off, next_first = 0;
    int64_t *first = calloc(np + 1, sizeof *first);
    int encodings[512];
    assert_true(np < 512);
    for (size_t p = 0; p < np; p++) {
        const tp_tnode *l = &locs->kids[p];
        assert_int_equal(tp_ti(l, 1, -1), at);
        first[p] = tp_ti(l, 3, -1);
        assert_int_equal(first[p], next_first); /* the previous page held exactly its rows */
        /* a data page starts there; header + compressed body = the page's size */
        size_t hlen;
        tp_tnode *ph = tp_tparse(file + at, fsize - (size_t)at, &hlen);
        assert_non_null(ph);
        assert_int_equal(tp_ti(ph, 1, -1), 0); /* DATA_PAGE */
        assert_int_equal((int64_t)hlen + tp_ti(ph, 3, -1), tp_ti(l, 2, -1));
        const tp_tnode *dph = tp_tget(ph, 5);
        assert_non_null(dph);
        encodings[p] = (int)tp_ti(dph, 2, -1);
        int64_t page_rows = tp_ti(dph, 1, -1);
        assert_true(page_rows > 0);
        next_first = first[p] + page_rows;
        tp_tfree(ph);
        at += tp_ti(l, 2, 0);
    }
    assert_int_equal(at, chunk_end);
    first[np] = next_first;
    assert_int_equal(first[np], (int64_t)rg_rows); /* the pages' rows add up to the row group */
    tp_tfree(oi);

    /* ColumnIndex */
    int64_t ci_off = tp_ti(cc, 6, -1), ci_len = tp_ti(cc, 7, -1);
    px_expect x;
    bool has_nan_page = false;
    for (size_t p = 0; p < np; p++) {
        px_expect_rows(col, rg_first + (size_t)first[p], rg_first + (size_t)first[p + 1], &x);
        if (x.vals && !x.has)
            has_nan_page = true;
    }
    if (has_nan_page) {
        assert_int_equal(ci_off, -1); /* PageIndex.md: a page of NaNs only, no ColumnIndex */
        assert_int_equal(ci_len, -1);
    } else {
        assert_true(ci_off > 0 && ci_len > 0 && (size_t)(ci_off + ci_len) <= fsize);
        tp_tnode *ci = tp_tparse(file + ci_off, (size_t)ci_len, &used);
        assert_non_null(ci);
        assert_int_equal(used, (size_t)ci_len);
        const tp_tnode *nullp = tp_tget(ci, 1), *mins = tp_tget(ci, 2), *maxs = tp_tget(ci, 3),
                       *ncnt = tp_tget(ci, 5), *nans = tp_tget(ci, 8);
        assert_non_null(nullp);
        assert_non_null(mins);
        assert_non_null(maxs);
        assert_non_null(ncnt);
        assert_int_equal(nullp->nkids, np);
        assert_int_equal(mins->nkids, np);
        assert_int_equal(maxs->nkids, np);
        assert_int_equal(ncnt->nkids, np);
        if (col == 2) {
            assert_non_null(nans);
            assert_int_equal(nans->nkids, np);
        } else {
            assert_null(nans);
        }
        bool dict_chunk = false;
        for (size_t p = 0; p < np; p++)
            dict_chunk |= encodings[p] == 8;
        for (size_t p = 0; p < np; p++) {
            px_expect_rows(col, rg_first + (size_t)first[p], rg_first + (size_t)first[p + 1], &x);
            assert_int_equal(ncnt->kids[p].i, (int64_t)x.nulls);
            assert_int_equal(nullp->kids[p].i, x.vals == 0);
            if (col == 2)
                assert_int_equal(nans->kids[p].i, (int64_t)x.nans);
            if (!x.vals) {
                px_binary_equal(&mins->kids[p], NULL, 0);
                px_binary_equal(&maxs->kids[p], NULL, 0);
                /* an all-NULL page of a dictionary-encoded chunk: RLE_DICTIONARY too */
                if (dict_chunk) {
                    assert_int_equal(encodings[p], 8);
                    *saw_null_dict_page = true;
                }
                continue;
            }
            uint8_t want[128];
            bool exact;
            size_t wl = px_plain(col, &x, false, want, &exact);
            px_binary_equal(&mins->kids[p], want, wl);
            *saw_trunc |= !exact;
            wl = px_plain(col, &x, true, want, &exact);
            px_binary_equal(&maxs->kids[p], want, wl);
            *saw_trunc |= !exact;
        }
        if (col == 0)
            assert_int_equal(tp_ti(ci, 4, -1), 1); /* ASCENDING */
        tp_tfree(ci);
    }

    /* chunk statistics */
    px_expect_rows(col, rg_first, rg_first + rg_rows, &x);
    const tp_tnode *st = tp_tget(md, 12);
    assert_non_null(st);
    assert_int_equal(tp_ti(st, 3, -1), (int64_t)x.nulls);
    if (col == 2)
        assert_int_equal(tp_ti(st, 9, -1), (int64_t)x.nans);
    else
        assert_null(tp_tget(st, 9));
    if (x.has) {
        uint8_t want[128];
        bool exact;
        size_t wl = px_plain(col, &x, true, want, &exact);
        px_binary_equal(tp_tget(st, 5), want, wl);
        assert_int_equal(tp_ti(st, 7, -1), exact);
        wl = px_plain(col, &x, false, want, &exact);
        px_binary_equal(tp_tget(st, 6), want, wl);
        assert_int_equal(tp_ti(st, 8, -1), exact);
    }

    /* bloom filter: opted in for email and code only */
    int64_t bf_off = tp_ti(md, 14, -1), bf_len = tp_ti(md, 15, -1);
    if (col != 3 && col != 4) {
        assert_int_equal(bf_off, -1);
    } else {
        assert_true(bf_off > 0 && bf_len > 0 && (size_t)(bf_off + bf_len) <= fsize);
        tp_tnode *bh = tp_tparse(file + bf_off, (size_t)bf_len, &used);
        assert_non_null(bh);
        size_t nbytes = (size_t)tp_ti(bh, 1, 0);
        assert_int_equal(used + nbytes, (size_t)bf_len);
        assert_true(nbytes >= 32 && (nbytes & (nbytes - 1)) == 0);
        assert_non_null(tp_tget(tp_tget(bh, 2), 1)); /* BLOCK */
        assert_non_null(tp_tget(tp_tget(bh, 3), 1)); /* XXHASH */
        assert_non_null(tp_tget(tp_tget(bh, 4), 1)); /* UNCOMPRESSED */
        const uint8_t *bits = file + bf_off + used;
        for (size_t i = rg_first; i < rg_first + rg_rows; i++) {
            bool present;
            uint64_t h = px_hash(col, i, &present);
            if (present && !bronze_pq_bloom_check(bits, nbytes, h))
                fail_msg("column %d row %zu: bloom filter says no for a present value", col, i);
        }
        size_t fp = 0;
        char s[64];
        for (int k = 0; k < 10000; k++) {
            uint64_t h;
            if (col == 3) {
                size_t len = (size_t)snprintf(s, sizeof s, "absent%d@example.org", k);
                h = XXH64(s, len, 0);
            } else {
                int32_t w = 5000 + k; /* codes are 0..4999 */
                h = XXH64(&w, 4, 0);
            }
            fp += bronze_pq_bloom_check(bits, nbytes, h);
        }
        if (getenv("BRONZE_PQ_VERBOSE"))
            printf("bloom col %d: %zu bytes, %zu/10000 false positives\n", col, nbytes, fp);
        assert_true(fp <= 100); /* >= 99% answer "no" at fpp 0.01 */
        tp_tfree(bh);
    }
    free(first);
    return np;
}

static void test_page_index_and_bloom(void **state)
{
    (void)state;
    bronze_schema *s = tp_schema(PX, 5);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 7000), 0);
    static char *bloom_cols[] = {"email", "code"};
    tp_parts *p = calloc(1, sizeof *p);
    p->schema = s;
    p->opts = (bronze_encoder_opts){.codec = BRONZE_CODEC_SNAPPY,
                                    .max_bytes = 32 << 20, /* row groups of ~3 MiB */
                                    .bloom_columns = bloom_cols,
                                    .n_bloom_columns = 2,
                                    .bloom_fpp = 0.01};
    snprintf(p->prefix, sizeof p->prefix, "%s/pidx", tmpdir_path);
    bronze_err err = BRONZE_ERR_INIT;
    for (size_t from = 0; from < PX_ROWS; from += 7000) {
        size_t n = PX_ROWS - from < 7000 ? PX_ROWS - from : 7000;
        px_fill(&b, from, n);
        if (tp_write(p, &b, &err))
            fail_msg("%s", err.msg);
    }
    if (tp_close(p, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(p->n, 1);
    char path[600];
    tp_part_path(p, 0, path, sizeof path);
    size_t fsize;
    uint8_t *file = slurp(path, &fsize);
    uint32_t flen = (uint32_t)file[fsize - 8] | (uint32_t)file[fsize - 7] << 8 |
                    (uint32_t)file[fsize - 6] << 16 | (uint32_t)file[fsize - 5] << 24;
    size_t used;
    tp_tnode *fmd = tp_tparse(file + fsize - 8 - flen, flen, &used);
    assert_non_null(fmd);
    assert_int_equal(used, flen);
    const tp_tnode *rgs = tp_tget(fmd, 4);
    assert_non_null(rgs);
    assert_true(rgs->nkids >= 2);
    size_t row = 0, max_pages = 0;
    bool null_dict = false, trunc = false;
    int64_t index_start = INT64_MAX, last_chunk_end = 0;
    for (size_t g = 0; g < rgs->nkids; g++) {
        const tp_tnode *rg = &rgs->kids[g];
        size_t rows = (size_t)tp_ti(rg, 3, 0);
        for (int col = 0; col < 5; col++) {
            size_t np = px_check_chunk(file, fsize, rg, col, row, rows, &null_dict, &trunc);
            if (np > max_pages)
                max_pages = np;
            const tp_tnode *cc = px_meta(rg, col), *md = tp_tget(cc, 3);
            int64_t end = tp_ti(md, 9, 0) + tp_ti(md, 7, 0);
            if (end > last_chunk_end)
                last_chunk_end = end;
            if (tp_ti(cc, 6, INT64_MAX) < index_start)
                index_start = tp_ti(cc, 6, INT64_MAX);
            if (tp_ti(md, 14, -1) > 0) /* bloom filters come before the page index */
                assert_true(tp_ti(md, 14, -1) < index_start);
        }
        row += rows;
    }
    assert_int_equal(row, PX_ROWS);
    assert_true(max_pages >= 3);
    assert_true(null_dict);
    assert_true(trunc);
    assert_true(index_start > last_chunk_end); /* the page index follows the row groups */
    tp_tfree(fmd);
    free(file);
    unlink(path);
    free(p);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* Writes one value to a one-column file and returns its footer's first ColumnChunk. */
static tp_tnode *one_value_file(bronze_type type, const void *v, size_t n, uint8_t **file,
                                const tp_tnode **cc)
{
    const tp_field F[] = {{"v", type, 0, 0, true}};
    bronze_schema *s = tp_schema(F, 1);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 2), 0);
    bronze_batch_put_bytes(&b, v, n);
    bronze_batch_end_row(&b);
    char path[400];
    snprintf(path, sizeof path, "%s/one.parquet", tmpdir_path);
    bronze_encoder *e;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_NONE};
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 1, &err), 0);
    uint64_t bytes;
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);
    size_t fsize;
    *file = slurp(path, &fsize);
    unlink(path);
    uint8_t *f = *file;
    uint32_t flen = (uint32_t)f[fsize - 8] | (uint32_t)f[fsize - 7] << 8 |
                    (uint32_t)f[fsize - 6] << 16 | (uint32_t)f[fsize - 5] << 24;
    tp_tnode *fmd = tp_tparse(f + fsize - 8 - flen, flen, NULL);
    assert_non_null(fmd);
    const tp_tnode *groups = tp_tget(fmd, 4);
    assert_non_null(groups);
    assert_int_equal(groups->nkids, 1);
    *cc = &tp_tget(&groups->kids[0], 1)->kids[0];
    bronze_batch_free(&b);
    bronze_schema_free(s);
    return fmd;
}

/* Truncated maxima round up correctly at the edges: 0xFF bytes carry,
 * U+10FFFF is dropped, a surrogate is skipped, and a max that cannot be
 * rounded up is left out (and with it the chunk's ColumnIndex). */
static void test_stat_truncation_edges(void **state)
{
    (void)state;
    uint8_t v[100];
    struct {
        bronze_type type;
        size_t n;
        const char *desc;
    } cases[] = {
        {BRONZE_T_BYTES, 80, "63 'a', then 0xFF bytes"},
        {BRONZE_T_STRING, 70, "60 'a', U+10FFFF, 'z'..."},
        {BRONZE_T_STRING, 70, "61 'a', U+D7FF, 'x'..."},
        {BRONZE_T_BYTES, 100, "0xFF only"},
    };
    for (int k = 0; k < 4; k++) {
        memset(v, 'a', sizeof v);
        if (k == 0)
            memset(v + 63, 0xFF, sizeof v - 63);
        if (k == 1) {
            memcpy(v + 60, "\xF4\x8F\xBF\xBF", 4);
            memset(v + 64, 'z', sizeof v - 64);
        }
        if (k == 2) {
            memcpy(v + 61, "\xED\x9F\xBF", 3);
            memset(v + 64, 'x', sizeof v - 64);
        }
        if (k == 3)
            memset(v, 0xFF, sizeof v);
        uint8_t *file;
        const tp_tnode *cc;
        tp_tnode *fmd = one_value_file(cases[k].type, v, cases[k].n, &file, &cc);
        const tp_tnode *st = tp_tget(tp_tget(cc, 3), 12);
        assert_non_null(st);
        const tp_tnode *mx = tp_tget(st, 5), *mn = tp_tget(st, 6);
        /* min: the 64-byte prefix (cut on a character boundary for strings), not exact */
        assert_non_null(mn);
        assert_int_equal(tp_ti(st, 8, -1), 0);
        assert_int_equal(mn->blen, 64); /* every case has a character boundary at 64 */
        assert_memory_equal(mn->b, v, 64);
        uint8_t want[70];
        size_t wl = 0;
        if (k == 0) { /* 'a' x 62 + 'b' */
            memset(want, 'a', 62);
            want[62] = 'b';
            wl = 63;
        } else if (k == 1) { /* U+10FFFF cannot grow: 'a' x 59 + 'b' */
            memset(want, 'a', 59);
            want[59] = 'b';
            wl = 60;
        } else if (k == 2) { /* U+D7FF + 1 is a surrogate: U+E000 */
            memset(want, 'a', 61);
            memcpy(want + 61, "\xEE\x80\x80", 3);
            wl = 64;
        }
        if (k == 3) {
            assert_null(mx); /* nothing is greater than every 0xFF prefix */
            assert_null(tp_tget(st, 7));
            assert_int_equal(tp_ti(cc, 6, -1), -1); /* no ColumnIndex either */
            assert_true(tp_ti(cc, 4, -1) > 0);      /* the OffsetIndex stays */
        } else {
            assert_non_null(mx);
            if (mx->blen != wl || memcmp(mx->b, want, wl))
                fail_msg("%s: max of %zu bytes not the expected %zu", cases[k].desc, mx->blen, wl);
            assert_int_equal(tp_ti(st, 7, -1), 0);
            assert_true(tp_ti(cc, 6, -1) > 0);
        }
        tp_tfree(fmd);
        free(file);
    }
}

/* Data page encodings of every chunk of column 0 in a one-part file, in order. */
static size_t page_encodings(const char *path, int *enc, size_t cap, bool *has_dict)
{
    size_t fsize, n = 0;
    uint8_t *file = slurp(path, &fsize);
    uint32_t flen = (uint32_t)file[fsize - 8] | (uint32_t)file[fsize - 7] << 8 |
                    (uint32_t)file[fsize - 6] << 16 | (uint32_t)file[fsize - 5] << 24;
    tp_tnode *fmd = tp_tparse(file + fsize - 8 - flen, flen, NULL);
    assert_non_null(fmd);
    const tp_tnode *groups = tp_tget(fmd, 4);
    *has_dict = false;
    for (size_t g = 0; g < groups->nkids; g++) {
        const tp_tnode *cc = &tp_tget(&groups->kids[g], 1)->kids[0];
        *has_dict |= tp_ti(tp_tget(cc, 3), 11, -1) >= 0;
        int64_t oo = tp_ti(cc, 4, -1), ol = tp_ti(cc, 5, -1);
        assert_true(oo > 0);
        tp_tnode *oi = tp_tparse(file + oo, (size_t)ol, NULL);
        assert_non_null(oi);
        const tp_tnode *locs = tp_tget(oi, 1);
        int64_t next = 0;
        for (size_t p = 0; p < locs->nkids && n < cap; p++) {
            int64_t at = tp_ti(&locs->kids[p], 1, -1);
            assert_int_equal(tp_ti(&locs->kids[p], 3, -1), next);
            tp_tnode *ph = tp_tparse(file + at, fsize - (size_t)at, NULL);
            assert_non_null(ph);
            enc[n++] = (int)tp_ti(tp_tget(ph, 5), 2, -1);
            next += tp_ti(tp_tget(ph, 5), 1, 0);
            tp_tfree(ph);
        }
        tp_tfree(oi);
    }
    tp_tfree(fmd);
    free(file);
    return n;
}

/* Pages of NULLs before a chunk's first value wait for it: RLE_DICTIONARY
 * when the dictionary is used, PLAIN when it is not or never gets a value. */
static void test_leading_null_pages(void **state)
{
    (void)state;
    static const tp_field F[] = {{"s", BRONZE_T_STRING, 0, 0, true}};
    bronze_schema *s = tp_schema(F, 1);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 10000), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/lead.parquet", tmpdir_path);
    for (int k = 0; k < 3; k++) { /* 0: few distinct values, 1: all distinct, 2: NULLs only */
        bronze_encoder *e;
        bronze_err err = BRONZE_ERR_INIT;
        bronze_encoder_opts o = {.codec = BRONZE_CODEC_SNAPPY};
        assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
        for (size_t from = 0; from < 100000; from += 10000) {
            bronze_batch_clear(&b);
            for (size_t i = from; i < from + 10000; i++) {
                char v[32];
                if (i < 50000 || k == 2)
                    bronze_batch_put_null(&b);
                else
                    bronze_batch_put_bytes(&b, v,
                                           (size_t)snprintf(v, sizeof v, "v%zu", k ? i : i % 10));
                bronze_batch_end_row(&b);
            }
            assert_int_equal(bronze_encoder_parquet.write(e, &b, 0, 10000, &err), 0);
        }
        uint64_t bytes;
        assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
        bronze_encoder_parquet.destroy(e);
        int enc[64];
        bool has_dict;
        size_t n = page_encodings(path, enc, 64, &has_dict);
        assert_int_equal(n, 5); /* 20,000-row pages: two of NULLs, a mixed one, two of values */
        for (size_t p = 0; p < n; p++)
            assert_int_equal(enc[p], k == 0 ? 8 : 0);
        assert_int_equal(has_dict, k == 0);
    }
    unlink(path);
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* The sizes in BloomFilter.md's table: bits per value for a false-positive rate. */
static void test_bloom_sizing(void **state)
{
    (void)state;
    assert_true(fabs(bronze_pq_bloom_bits_per_value(0.10) - 6.0) < 0.6);
    assert_true(fabs(bronze_pq_bloom_bits_per_value(0.01) - 10.5) < 0.6);
    assert_true(fabs(bronze_pq_bloom_bits_per_value(0.001) - 16.9) < 0.8);
}

/* Exact sizing holds with bloom filters on every column (the page index is
 * always on): the filters, sized at flush from the distinct count, are in
 * the bound like everything else. */
static void test_size_with_bloom(void **state)
{
    (void)state;
    roll_bloom = true;
    for (size_t c = 0; c < 6; c++) {
        roll(ALL_CODECS[c], DATA_RANDOM, 200, 12000, 1000, 1 << 20, false, "bloom-rnd");
        roll(ALL_CODECS[c], DATA_TEXT, 80, 100000, 7000, 256 << 10, false, "bloom-text");
        roll(ALL_CODECS[c], DATA_TEXT, 80, 40000, 9000, 512 << 10, true, "bloom-half");
    }
    roll(BRONZE_CODEC_ZSTD, DATA_ZEROS, 100, 400000, 60000, 512 << 10, false, "bloom-zero");
    roll_bloom = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tc_varint_zigzag),
        cmocka_unit_test(test_tc_fields),
        cmocka_unit_test(test_tc_structs_lists),
        cmocka_unit_test(test_tc_page_header),
        cmocka_unit_test(test_rle_known),
        cmocka_unit_test(test_rle_roundtrip),
        cmocka_unit_test(test_codec_bounds_and_roundtrip),
        cmocka_unit_test(test_codec_pair),
        cmocka_unit_test(test_decimal_width),
        cmocka_unit_test(test_footer_and_layout),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_row_too_big),
        cmocka_unit_test(test_row_group_row_cap),
        cmocka_unit_test(test_fit_protocol),
        cmocka_unit_test(test_size_incompressible),
        cmocka_unit_test(test_size_compressible),
        cmocka_unit_test(test_size_partial_writes),
        cmocka_unit_test(test_size_big_rows),
        cmocka_unit_test(test_page_index_and_bloom),
        cmocka_unit_test(test_bloom_sizing),
        cmocka_unit_test(test_stat_truncation_edges),
        cmocka_unit_test(test_leading_null_pages),
        cmocka_unit_test(test_size_with_bloom),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
