/*
 * rle.c - RLE / bit-packed hybrid encoder (see rle.h).
 *
 * One generic body, instantiated for uint8_t (levels) and uint32_t (indices)
 * input. The scan is linear: at each position the run of equal values is
 * measured once; runs of >= 8 are emitted as RLE, anything else is gathered
 * into bit-packed groups of 8 until the next long run starts at a group
 * boundary.
 */
#include "format/parquet/rle.h"

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

int bronze_rle_bit_width(uint64_t max_value)
{
    int bw = 0;
    while (max_value) {
        bw++;
        max_value >>= 1;
    }
    return bw;
}

size_t bronze_rle_bound(size_t n, int bw)
{
    /* Per group of 8 values at most bw bytes of payload plus one header
     * byte's worth (a bit-packed header covers >= 1 group, an RLE run of >= 8
     * values costs <= 1 + ceil(bw/8) bytes for < 64 values and less per value
     * beyond); plus slack for one long varint header. */
    return (n + 7) / 8 * ((size_t)bw + 1) + 16;
}

/* Packs 8 values of width bw into bw bytes, LSB first. */
static uint8_t *pack8(uint8_t *p, const uint32_t *g, int bw)
{
    uint64_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 8; i++) {
        acc |= (uint64_t)g[i] << bits;
        bits += bw;
        while (bits >= 8) {
            *p++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    return p; /* 8 * bw bits is a whole number of bytes */
}

#define RLE_BODY(T)                                                                                \
    if (bronze_buf_reserve(out, bronze_rle_bound(n, bw)))                                          \
        return -1;                                                                                 \
    uint8_t *p = out->data + out->len;                                                             \
    const size_t vbytes = ((size_t)bw + 7) / 8;                                                    \
    size_t i = 0;                                                                                  \
    size_t run = 0; /* run length at i, 0 = not measured */                                        \
    while (i < n) {                                                                                \
        if (!run) {                                                                                \
            run = 1;                                                                               \
            while (i + run < n && v[i + run] == v[i])                                              \
                run++;                                                                             \
        }                                                                                          \
        if (run >= 8) {                                                                            \
            p = put_varint(p, (uint64_t)run << 1);                                                 \
            uint32_t x = v[i];                                                                     \
            for (size_t k = 0; k < vbytes; k++, x >>= 8)                                           \
                *p++ = (uint8_t)x;                                                                 \
            i += run;                                                                              \
            run = 0;                                                                               \
            continue;                                                                              \
        }                                                                                          \
        /* bit-packed groups from i until a long run starts on a group edge */                     \
        size_t start = i, groups = 0;                                                              \
        run = 0;                                                                                   \
        for (;;) {                                                                                 \
            i += 8;                                                                                \
            groups++;                                                                              \
            if (i >= n)                                                                            \
                break;                                                                             \
            run = 1;                                                                               \
            while (i + run < n && v[i + run] == v[i] && run < 8)                                   \
                run++;                                                                             \
            if (run >= 8) {                                                                        \
                run = 0; /* re-measured in full at the top */                                      \
                break;                                                                             \
            }                                                                                      \
            run = 0;                                                                               \
        }                                                                                          \
        p = put_varint(p, ((uint64_t)groups << 1) | 1);                                            \
        for (size_t gi = 0; gi < groups; gi++) {                                                   \
            uint32_t g[8];                                                                         \
            for (size_t k = 0; k < 8; k++) {                                                       \
                size_t at = start + gi * 8 + k;                                                    \
                g[k] = at < n ? (uint32_t)v[at] : 0;                                               \
            }                                                                                      \
            p = pack8(p, g, bw);                                                                   \
        }                                                                                          \
        if (i > n)                                                                                 \
            i = n;                                                                                 \
    }                                                                                              \
    out->len = (size_t)(p - out->data);                                                            \
    return 0;

int bronze_rle_encode_u32(bronze_buf *out, const uint32_t *v, size_t n, int bw)
{
    RLE_BODY(uint32_t)
}

int bronze_rle_encode_u8(bronze_buf *out, const uint8_t *v, size_t n, int bw)
{
    RLE_BODY(uint8_t)
}
