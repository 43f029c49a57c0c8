/* libFuzzer target: the PostgreSQL binary COPY decoder (src/source/postgres.c
 * parse_message / decode_field / numeric_to_dec / numeric_to_text) through
 * bronze_pg_copy_decode (postgres_copy.h), no server.
 *
 * Input: byte 0 = column count (% 8); one byte per column picks its type
 * from TYPES below (% its length); one flags byte (bit 0 time_as string,
 * bits 1-3 batch rows - 1, bit 4 one CopyData message per row as the server
 * sends them, else the whole stream in one message); then the COPY stream
 * ("PGCOPY\n\377\r\n\0", flags, extension, rows, -1). */
#include "fuzz_util.h"
#include "source/postgres_copy.h"

#define NUMMOD(p, s) ((int32_t)((((p) << 16) | ((s)&0x7ff)) + 4))

static const struct {
    uint32_t oid;
    int32_t typmod;
} TYPES[] = {
    {16, -1},
    {21, -1},
    {23, -1},
    {20, -1},
    {26, -1},
    {700, -1},
    {701, -1},
    {1700, -1},
    {1700, NUMMOD(10, 2)},
    {1700, NUMMOD(38, 0)},
    {1700, NUMMOD(5, -3)},
    {1700, NUMMOD(2, 5)},
    {1700, NUMMOD(38, 38)},
    {25, -1},
    {1043, 14},
    {1042, 9},
    {19, -1},
    {1082, -1},
    {1083, -1},
    {1114, -1},
    {1184, -1},
    {2950, -1},
    {114, -1},
    {3802, -1},
    {17, -1},
    {1186, -1},
    {18, -1},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])
#define MAX_MSGS 4096

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Cuts the stream where a server would: the header, then one message per
 * row; what does not parse as rows stays one last message. */
static size_t split_rows(const uint8_t *p, size_t n, const void **msgs, size_t *lens)
{
    size_t nm = 0, pos = 0;
    if (n >= 19) {
        uint32_t ext = rd32(p + 15);
        if (ext <= n - 19) {
            pos = 19 + ext;
            msgs[nm] = p, lens[nm++] = pos;
        }
    }
    while (pos < n && nm < MAX_MSGS - 1) {
        size_t q = pos;
        if (n - q < 2)
            break;
        int nf = (int16_t)(p[q] << 8 | p[q + 1]);
        q += 2;
        bool ok = true;
        for (int i = 0; i < nf && ok; i++) {
            if (n - q < 4) {
                ok = false;
                break;
            }
            int32_t fl = (int32_t)rd32(p + q);
            q += 4;
            if (fl == -1)
                continue;
            if (fl < 0 || (size_t)fl > n - q)
                ok = false;
            else
                q += (size_t)fl;
        }
        if (!ok)
            break;
        msgs[nm] = p + pos, lens[nm++] = q - pos;
        pos = q;
    }
    if (pos < n)
        msgs[nm] = p + pos, lens[nm++] = n - pos;
    return nm;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t ncols = data[0] % 8;
    if (size < 2 + ncols)
        return 0;
    uint32_t oids[8];
    int32_t mods[8];
    for (size_t i = 0; i < ncols; i++) {
        oids[i] = TYPES[data[1 + i] % NTYPES].oid;
        mods[i] = TYPES[data[1 + i] % NTYPES].typmod;
    }
    unsigned flags = data[1 + ncols];
    const uint8_t *p = data + 2 + ncols;
    size_t n = size - 2 - ncols;

    /* each message in its own allocation of exactly its size (ASan sees overreads) */
    static const void *msgs[MAX_MSGS];
    static size_t lens[MAX_MSGS];
    size_t nm = 1;
    msgs[0] = p, lens[0] = n;
    if (flags & 16)
        nm = split_rows(p, n, msgs, lens);
    void *copies[MAX_MSGS];
    for (size_t i = 0; i < nm; i++) {
        copies[i] = malloc(lens[i] ? lens[i] : 1);
        if (!copies[i])
            abort();
        memcpy(copies[i], msgs[i], lens[i]);
    }
    bronze_err err = {0};
    uint64_t rows = 0;
    int rc = bronze_pg_copy_decode(oids, mods, ncols, flags & 1, (const void *const *)copies, lens,
                                   nm, 1 + ((flags >> 1) & 7), &rows, &err);
    if (rc && !err.msg[0])
        abort(); /* a refusal always says why */
    for (size_t i = 0; i < nm; i++)
        free(copies[i]);
    return 0;
}
