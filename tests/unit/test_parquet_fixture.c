/*
 * test_parquet_fixture.c - writes the Parquet fixtures that
 * tests/integration/parquet.test.mjs reads back with DuckDB.
 *
 * Runs only when BRONZE_PARQUET_FIXTURE_DIR is set (every test skips
 * otherwise, so `make unit` stays fast). Fixtures, each for every codec:
 *   types-<codec>.parquet   every bronze type, NULLs in each nullable column,
 *                           edge values; expected values in types.expected.json
 *   empty.parquet           the same schema, no rows
 *   big-<codec>.parquet     150,000 generated rows (several pages, dictionary
 *                           fallbacks); the reader regenerates them in SQL
 *   bigrg-<codec>-NNNN.parquet  the same rows rolled into 2 MiB parts of many
 *                           row groups (max_bytes caps a row group at 200 KiB);
 *                           sizes listed in bigrg-<codec>.json
 *   bighalf-<codec>-NNNN.parquet  the same, but write() takes only half of
 *                           what fit() allowed at each part's end (as when
 *                           the CSV file of the part is the fuller one)
 *   size-<codec>-NNNN.parquet  >= 2 M rows with a random-bytes column rolled
 *                           into 8 MiB parts through fit()/write() (snappy,
 *                           zstd); sizes listed in size-<codec>.json
 * BRONZE_PARQUET_FIXTURE_SIZE_ROWS overrides the 2,000,000 rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "format/encoder.h"
#include "test_parquet_util.h"

static const char *fixture_dir(void)
{
    const char *d = getenv("BRONZE_PARQUET_FIXTURE_DIR");
    return d && *d ? d : NULL;
}

static const struct {
    bronze_codec codec;
    const char *name;
} CODECS[] = {
    {BRONZE_CODEC_NONE, "none"}, {BRONZE_CODEC_SNAPPY, "snappy"}, {BRONZE_CODEC_GZIP, "gzip"},
    {BRONZE_CODEC_ZSTD, "zstd"}, {BRONZE_CODEC_LZ4, "lz4"},       {BRONZE_CODEC_BROTLI, "brotli"},
};
#define NCODECS (sizeof CODECS / sizeof CODECS[0])

/* ---- expected-values JSON ---- */

static void json_str(FILE *f, const char *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void dec_text(__int128 v, int scale, char *out)
{
    char digits[64];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        digits[n++] = '0';
    char *p = out;
    if (neg)
        *p++ = '-';
    for (int i = n - 1; i >= 0; i--) {
        *p++ = digits[i];
        if (i == scale && scale > 0)
            *p++ = '.';
    }
    *p = 0;
}

static void float_text(double v, bool single, char *out, size_t cap)
{
    if (isnan(v))
        snprintf(out, cap, "NaN");
    else if (isinf(v))
        snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity");
    else if (v == 0)
        snprintf(out, cap, signbit(v) ? "-0" : "0");
    else
        snprintf(out, cap, single ? "%.9g" : "%.17g", v);
}

/* ---- the "types" data set ---- */

static const tp_field TYPES[] = {
    {"id", BRONZE_T_INT64, 0, 0, false},        {"b", BRONZE_T_BOOL, 0, 0, true},
    {"i16", BRONZE_T_INT16, 0, 0, true},        {"i32", BRONZE_T_INT32, 0, 0, true},
    {"i64", BRONZE_T_INT64, 0, 0, true},        {"f32", BRONZE_T_FLOAT, 0, 0, true},
    {"f64", BRONZE_T_DOUBLE, 0, 0, true},       {"d4", BRONZE_T_DECIMAL, 4, 1, true},
    {"d9", BRONZE_T_DECIMAL, 9, 2, true},       {"d18", BRONZE_T_DECIMAL, 18, 6, true},
    {"d38", BRONZE_T_DECIMAL, 38, 10, true},    {"s", BRONZE_T_STRING, 0, 0, true},
    {"j", BRONZE_T_JSON, 0, 0, true},           {"by", BRONZE_T_BYTES, 0, 0, true},
    {"dt", BRONZE_T_DATE, 0, 0, true},          {"ts", BRONZE_T_TIMESTAMP, 0, 0, true},
    {"tstz", BRONZE_T_TIMESTAMPTZ, 0, 0, true}, {"tm", BRONZE_T_TIME, 0, 0, true},
    {"req_s", BRONZE_T_STRING, 0, 0, false},    {"allnull", BRONZE_T_INT32, 0, 0, true},
    {"z", BRONZE_T_DOUBLE, 0, 0, true},         {"zf", BRONZE_T_FLOAT, 0, 0, false},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])
#define TYPES_ROWS 3000
#define BIG_STR (1200 * 1024)

static __int128 pow10i(int n)
{
    __int128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

static int64_t mix64(uint64_t i)
{
    return (int64_t)(i * 0x9E3779B97F4A7C15ULL);
}

/* Fills row i of the types data set into b and, when f is set, its expected
 * text into the JSON file. */
static void types_row(bronze_batch *b, size_t i, FILE *f, char *big)
{
    char t[128];
    if (f)
        fputs(i ? ",\n[" : "[", f);
#define SEP()                                                                                      \
    if (f)                                                                                         \
    fputc(',', f)
#define NUL()                                                                                      \
    do {                                                                                           \
        bronze_batch_put_null(b);                                                                  \
        if (f)                                                                                     \
            fputs("null", f);                                                                      \
    } while (0)
#define TXT(s)                                                                                     \
    do {                                                                                           \
        if (f)                                                                                     \
            json_str(f, (s), strlen(s));                                                           \
    } while (0)

    /* id */
    bronze_batch_put_i64(b, (int64_t)i);
    snprintf(t, sizeof t, "%zu", i);
    TXT(t);
    SEP();
    /* b */
    if (i % 7 == 3)
        NUL();
    else {
        bronze_batch_put_bool(b, i % 3 == 0);
        TXT(i % 3 == 0 ? "true" : "false");
    }
    SEP();
    /* i16 */
    if (i % 11 == 5)
        NUL();
    else {
        int32_t v = i == 0 ? -32768 : i == 1 ? 32767 : (int32_t)((i * 37) % 65536) - 32768;
        bronze_batch_put_i32(b, v);
        snprintf(t, sizeof t, "%d", v);
        TXT(t);
    }
    SEP();
    /* i32 */
    if (i % 13 == 6)
        NUL();
    else {
        int32_t v = i == 0 ? INT32_MIN : i == 1 ? INT32_MAX : (int32_t)(uint32_t)(i * 104729u);
        bronze_batch_put_i32(b, v);
        snprintf(t, sizeof t, "%d", v);
        TXT(t);
    }
    SEP();
    /* i64 */
    if (i % 5 == 2)
        NUL();
    else {
        int64_t v = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : mix64(i);
        bronze_batch_put_i64(b, v);
        snprintf(t, sizeof t, "%lld", (long long)v);
        TXT(t);
    }
    SEP();
    /* f32: specials at rows 0..3 and 5 */
    if (i % 9 == 4)
        NUL();
    else {
        float v = i == 0   ? NAN
                  : i == 1 ? INFINITY
                  : i == 2 ? -INFINITY
                  : i == 3 ? -0.0f
                  : i == 5 ? 0.0f
                           : (float)((double)i * 1.25 - 1000.5);
        bronze_batch_put_f32(b, v);
        float_text(v, true, t, sizeof t);
        TXT(t);
    }
    SEP();
    /* f64 */
    if (i % 8 == 7)
        NUL();
    else {
        double v = i == 0   ? NAN
                   : i == 1 ? INFINITY
                   : i == 2 ? -INFINITY
                   : i == 3 ? -0.0
                   : i == 4 ? 1.7976931348623157e308
                   : i == 5 ? 4.9406564584124654e-324
                            : (double)i * 3.14159e10 / 7.0 - 1e12;
        bronze_batch_put_f64(b, v);
        float_text(v, false, t, sizeof t);
        TXT(t);
    }
    /* decimals */
    static const int prec[4] = {4, 9, 18, 38}, scale[4] = {1, 2, 6, 10}, nullmod[4] = {6, 10, 7, 9};
    for (int d = 0; d < 4; d++) {
        SEP();
        if (i % (size_t)nullmod[d] == (size_t)nullmod[d] - 1) {
            NUL();
            continue;
        }
        __int128 max = pow10i(prec[d]) - 1, v;
        if (i == 0)
            v = max;
        else if (i == 1)
            v = -max;
        else if (i == 2)
            v = 0;
        else {
            unsigned __int128 u = (unsigned __int128)(uint64_t)mix64(i) * (uint64_t)mix64(i + 7);
            v = (__int128)(u % (unsigned __int128)(max + 1));
            if (i % 2)
                v = -v;
        }
        bronze_batch_put_dec(b, v);
        dec_text(v, scale[d], t);
        TXT(t);
    }
    SEP();
    /* s: empty, unicode, > 1 MiB values, a long (> stats limit) value, repeats */
    if (i % 6 == 1)
        NUL();
    else {
        const char *v;
        char buf[400];
        size_t n;
        if (i == 0) {
            v = "";
            n = 0;
        } else if (i == 2) {
            v = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                "\xf0\x9f\x8e\x89 \"quoted\" back\\slash\ttab";
            n = strlen(v);
        } else if (i == 3 || i == 2500) {
            v = big;
            n = BIG_STR - (i == 3 ? 0 : 1);
        } else if (i == 4) {
            memset(buf, 'z', 300);
            v = buf;
            n = 300;
        } else {
            snprintf(buf, sizeof buf, "row-%zu", i % 500);
            v = buf;
            n = strlen(buf);
        }
        bronze_batch_put_bytes(b, v, n);
        if (f)
            json_str(f, v, n);
    }
    SEP();
    /* j */
    if (i % 4 == 3)
        NUL();
    else {
        char buf[128];
        if (i == 0)
            snprintf(buf, sizeof buf, "{}");
        else if (i == 2)
            snprintf(buf, sizeof buf, "[1,2,{\"a\":null,\"\xc3\xa9\":\"\xe2\x82\xac\"}]");
        else
            snprintf(buf, sizeof buf, "{\"i\":%zu,\"s\":\"x%zu\"}", i, i % 10);
        bronze_batch_put_bytes(b, buf, strlen(buf));
        TXT(buf);
    }
    SEP();
    /* by: empty, 0x00 and 0xff bytes */
    if (i % 5 == 4)
        NUL();
    else {
        unsigned char buf[32];
        size_t n = i == 0 ? 0 : i % 17;
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)((i * 31 + k * 97) & 0xff);
        if (i == 1) {
            n = 3;
            buf[0] = 0;
            buf[1] = 0xff;
            buf[2] = 0x80;
        }
        bronze_batch_put_bytes(b, buf, n);
        char hex[80];
        for (size_t k = 0; k < n; k++)
            snprintf(hex + 2 * k, 3, "%02X", buf[k]);
        hex[2 * n] = 0;
        TXT(hex);
    }
    SEP();
    /* dt: before 1970, extremes */
    if (i % 12 == 11)
        NUL();
    else {
        int32_t v = i == 0   ? -719162 /* 0001-01-01 */
                    : i == 1 ? -1
                    : i == 2 ? 2932896 /* 9999-12-31 */
                             : (int32_t)((i * 37) % 40000) - 20000;
        bronze_batch_put_i32(b, v);
        snprintf(t, sizeof t, "%d", v);
        TXT(t);
    }
    SEP();
    /* ts */
    if (i % 9 == 8)
        NUL();
    else {
        int64_t v = i == 0   ? -62135596800000000LL
                    : i == 1 ? -1
                    : i == 2 ? 253402300799999999LL
                             : (int64_t)i * 1234567890123LL - 1000000000000000LL;
        bronze_batch_put_i64(b, v);
        snprintf(t, sizeof t, "%lld", (long long)v);
        TXT(t);
    }
    SEP();
    /* tstz */
    if (i % 10 == 0)
        NUL();
    else {
        int64_t v = i == 1 ? -86400000000LL : (int64_t)i * 987654321987LL - 500000000000000LL;
        bronze_batch_put_i64(b, v);
        snprintf(t, sizeof t, "%lld", (long long)v);
        TXT(t);
    }
    SEP();
    /* tm */
    if (i % 7 == 0)
        NUL();
    else {
        int64_t v = i == 1 ? 86399999999LL : (int64_t)((i * 1234567891ULL) % 86400000000ULL);
        bronze_batch_put_i64(b, v);
        snprintf(t, sizeof t, "%lld", (long long)v);
        TXT(t);
    }
    SEP();
    /* req_s */
    snprintf(t, sizeof t, "r%zu", i);
    bronze_batch_put_bytes(b, t, strlen(t));
    TXT(t);
    SEP();
    /* allnull */
    NUL();
    SEP();
    /* z: -0.0, +0.0 and -2.5 (statistics: min -2.5, max must be +0.0) */
    if (i % 4 == 3)
        NUL();
    else {
        double v = i % 3 == 0 ? -0.0 : i % 3 == 1 ? 0.0 : -2.5;
        bronze_batch_put_f64(b, v);
        float_text(v, false, t, sizeof t);
        TXT(t);
    }
    SEP();
    /* zf: only zeros of both signs (statistics: min -0.0, max +0.0) */
    {
        float v = i % 2 ? -0.0f : 0.0f;
        bronze_batch_put_f32(b, v);
        float_text(v, true, t, sizeof t);
        TXT(t);
    }
    if (f)
        fputc(']', f);
    bronze_batch_end_row(b);
#undef SEP
#undef NUL
#undef TXT
}

static void write_types(void **state)
{
    (void)state;
    const char *dir = fixture_dir();
    if (!dir)
        skip();
    bronze_schema *s = tp_schema(TYPES, NTYPES);
    assert_non_null(s);
    char *big = malloc(BIG_STR);
    assert_non_null(big);
    for (size_t k = 0; k < BIG_STR; k++)
        big[k] = (char)('A' + (k * 7 + k / 1000) % 26);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, TYPES_ROWS), 0);

    char path[600];
    snprintf(path, sizeof path, "%s/types.expected.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"columns\":[", f);
    for (size_t c = 0; c < NTYPES; c++)
        fprintf(f, "%s\"%s\"", c ? "," : "", TYPES[c].name);
    fputs("],\n\"rows\":[\n", f);
    for (size_t i = 0; i < TYPES_ROWS; i++)
        types_row(&b, i, f, big);
    fputs("]}\n", f);
    fclose(f);

    for (size_t k = 0; k < NCODECS; k++) {
        bronze_err err = BRONZE_ERR_INIT;
        bronze_encoder *e;
        bronze_encoder_opts o = {.codec = CODECS[k].codec};
        snprintf(path, sizeof path, "%s/types-%s.parquet", dir, CODECS[k].name);
        assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
        /* in three writes, to cross write() boundaries */
        size_t cut[4] = {0, 1000, 2600, TYPES_ROWS};
        for (int w = 0; w < 3; w++) {
            size_t n = cut[w + 1] - cut[w];
            assert_int_equal(bronze_encoder_parquet.fit(e, &b, cut[w], n, &err), n);
            if (bronze_encoder_parquet.write(e, &b, cut[w], n, &err))
                fail_msg("%s", err.msg);
        }
        uint64_t bytes;
        if (bronze_encoder_parquet.finish(e, &bytes, &err))
            fail_msg("%s", err.msg);
        bronze_encoder_parquet.destroy(e);
    }
    /* a part with no rows: valid, with its schema */
    bronze_err err = BRONZE_ERR_INIT;
    bronze_encoder *e;
    bronze_encoder_opts o = {.codec = BRONZE_CODEC_SNAPPY};
    snprintf(path, sizeof path, "%s/empty.parquet", dir);
    assert_int_equal(bronze_encoder_parquet.open(&e, path, s, &o, &err), 0);
    uint64_t bytes;
    assert_int_equal(bronze_encoder_parquet.finish(e, &bytes, &err), 0);
    bronze_encoder_parquet.destroy(e);

    bronze_batch_free(&b);
    bronze_schema_free(s);
    free(big);
}

/* Lists the parts of p in <dir>/<kind>-<codec>.json for the reader. */
static void write_sizes(const tp_parts *p, const char *dir, const char *kind, const char *codec)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s-%s.json", dir, kind, codec);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t rows = 0;
    for (unsigned i = 0; i < p->n; i++)
        rows += p->rows[i];
    fprintf(f, "{\"max_bytes\":%llu,\"total_rows\":%llu,\"parts\":[",
            (unsigned long long)p->opts.max_bytes, (unsigned long long)rows);
    for (unsigned i = 0; i < p->n; i++) {
        char part[600];
        tp_part_path(p, i, part, sizeof part);
        fprintf(f, "%s\n{\"path\":\"%s\",\"bytes\":%llu,\"rows\":%llu}", i ? "," : "", part,
                (unsigned long long)p->bytes[i], (unsigned long long)p->rows[i]);
    }
    fputs("]}\n", f);
    fclose(f);
}

/* ---- the "big" data set (the reader regenerates it in SQL) ---- */

static const tp_field BIG[] = {
    {"id", BRONZE_T_INT64, 0, 0, false},  {"k", BRONZE_T_INT32, 0, 0, true},
    {"u", BRONZE_T_STRING, 0, 0, true},   {"t", BRONZE_T_STRING, 0, 0, false},
    {"x", BRONZE_T_DOUBLE, 0, 0, true},   {"n", BRONZE_T_INT64, 0, 0, true},
    {"flag", BRONZE_T_BOOL, 0, 0, false}, {"amt", BRONZE_T_DECIMAL, 12, 2, true},
};
#define NBIG (sizeof BIG / sizeof BIG[0])
#define BIG_ROWS 150000

/* id = i; k = i % 1000 (NULL when i % 17 = 0); u = 'value-' || i (all
 * distinct: the dictionary does not pay off); t = 'key-' || (i < 20000 ?
 * i % 100 : i) || '-' || 30 x 'x' (the dictionary pays off on the first page,
 * then passes 1 MiB: fallback to PLAIN); x = i * 0.5 (NULL when
 * i % 3 = 0); n = i * i (NULL when i % 2 = 1); flag = i % 5 = 0;
 * amt = (i * 7) % 1000000 / 100 */
static void big_rows(bronze_batch *b, size_t from, size_t n)
{
    bronze_batch_clear(b);
    char buf[64];
    for (size_t i = from; i < from + n; i++) {
        bronze_batch_put_i64(b, (int64_t)i);
        if (i % 17 == 0)
            bronze_batch_put_null(b);
        else
            bronze_batch_put_i32(b, (int32_t)(i % 1000));
        snprintf(buf, sizeof buf, "value-%zu", i);
        bronze_batch_put_bytes(b, buf, strlen(buf));
        snprintf(buf, sizeof buf, "key-%zu-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                 i < 20000 ? i % 100 : i);
        bronze_batch_put_bytes(b, buf, strlen(buf));
        if (i % 3 == 0)
            bronze_batch_put_null(b);
        else
            bronze_batch_put_f64(b, (double)i * 0.5);
        if (i % 2 == 1)
            bronze_batch_put_null(b);
        else
            bronze_batch_put_i64(b, (int64_t)i * (int64_t)i);
        bronze_batch_put_bool(b, i % 5 == 0);
        bronze_batch_put_dec(b, (__int128)((i * 7) % 1000000));
        bronze_batch_end_row(b);
    }
}

static void write_big(void **state)
{
    (void)state;
    const char *dir = fixture_dir();
    if (!dir)
        skip();
    bronze_schema *s = tp_schema(BIG, NBIG);
    bronze_batch b;
    assert_int_equal(bronze_batch_init(&b, s, 25000), 0);
    for (size_t k = 0; k < NCODECS; k++) {
        static const char *kind[3] = {"big", "bigrg", "bighalf"};
        for (int variant = 0; variant < 3; variant++) {
            tp_parts *p = calloc(1, sizeof *p);
            p->schema = s;
            p->opts = (bronze_encoder_opts){.codec = CODECS[k].codec,
                                            .max_bytes = variant ? 2u << 20 : 0};
            p->halve = variant == 2;
            snprintf(p->prefix, sizeof p->prefix, "%s/%s-%s", dir, kind[variant], CODECS[k].name);
            bronze_err err = BRONZE_ERR_INIT;
            for (size_t from = 0; from < BIG_ROWS; from += 25000) {
                big_rows(&b, from, 25000);
                if (tp_write(p, &b, &err))
                    fail_msg("%s", err.msg);
            }
            if (tp_close(p, &err))
                fail_msg("%s", err.msg);
            if (!variant)
                assert_int_equal(p->n, 1); /* no size limit: one part */
            else
                write_sizes(p, dir, kind[variant], CODECS[k].name);
            free(p);
        }
    }
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

/* ---- size control at scale ---- */

static const tp_field SIZE[] = {
    {"id", BRONZE_T_INT64, 0, 0, false},    {"rnd", BRONZE_T_BYTES, 0, 0, true},
    {"cust", BRONZE_T_STRING, 0, 0, true},  {"amount", BRONZE_T_DOUBLE, 0, 0, true},
    {"ts", BRONZE_T_TIMESTAMP, 0, 0, true},
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void write_size(void **state)
{
    (void)state;
    const char *dir = fixture_dir();
    if (!dir)
        skip();
    size_t total = 2000000;
    const char *env = getenv("BRONZE_PARQUET_FIXTURE_SIZE_ROWS");
    if (env && atol(env) > 0)
        total = (size_t)atol(env);
    bronze_schema *s = tp_schema(SIZE, 5);
    bronze_batch b;
    const size_t batch = 10000;
    assert_int_equal(bronze_batch_init(&b, s, batch), 0);
    static const bronze_codec which[2] = {BRONZE_CODEC_SNAPPY, BRONZE_CODEC_ZSTD};
    static const char *names[2] = {"snappy", "zstd"};
    for (int k = 0; k < 2; k++) {
        tp_parts *p = calloc(1, sizeof *p);
        p->schema = s;
        p->opts = (bronze_encoder_opts){.codec = which[k],
                                        .max_bytes = 8u << 20,
                                        .created_by = "bronze-foundry version 0.1.0 (build test)"};
        snprintf(p->prefix, sizeof p->prefix, "%s/size-%s", dir, names[k]);
        bronze_err err = BRONZE_ERR_INIT;
        uint64_t rng = 88172645463325252ULL;
        for (size_t from = 0; from < total; from += batch) {
            size_t n = total - from < batch ? total - from : batch;
            bronze_batch_clear(&b);
            for (size_t i = from; i < from + n; i++) {
                bronze_batch_put_i64(&b, (int64_t)i);
                uint8_t rnd[48];
                size_t len = 16 + (size_t)(xorshift(&rng) % 33);
                for (size_t q = 0; q < len; q += 8) {
                    uint64_t r = xorshift(&rng);
                    memcpy(rnd + q, &r, len - q < 8 ? len - q : 8);
                }
                if (i % 50 == 7)
                    bronze_batch_put_null(&b);
                else
                    bronze_batch_put_bytes(&b, rnd, len);
                char cust[32];
                snprintf(cust, sizeof cust, "customer-%05zu", i % 20000);
                bronze_batch_put_bytes(&b, cust, strlen(cust));
                bronze_batch_put_f64(&b, (double)(i % 100000) / 100.0);
                bronze_batch_put_i64(&b, 1700000000000000LL + (int64_t)i * 1000000);
                bronze_batch_end_row(&b);
            }
            if (tp_write(p, &b, &err))
                fail_msg("%s", err.msg);
        }
        if (tp_close(p, &err))
            fail_msg("%s", err.msg);
        write_sizes(p, dir, "size", names[k]);
        free(p);
    }
    bronze_batch_free(&b);
    bronze_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_types),
        cmocka_unit_test(write_big),
        cmocka_unit_test(write_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
