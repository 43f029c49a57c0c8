/* Unit tests for the CSV record reader (src/source/file_csv.c), run under
 * ASan/UBSan: the fast path (plain records split in place in the read
 * buffer) against the general path (bronze_csv_set_fast(r, false)) over
 * random inputs - delimiters , ; tab |, quoted and unquoted fields, CRLF,
 * lone CRs, valid and invalid UTF-8, records across the 64 KiB read buffer
 * and longer than it, reads of random sizes - giving the same fields,
 * counts, lines, offsets and error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/file_csv.h"
#include "source/input.h"
#include "util/buf.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13; /* xorshift64 */
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t rnd(uint64_t *s, size_t n)
{
    return (size_t)(rng_next(s) % n);
}

/* ---- an input over memory, handing out reads of random sizes ---- */

typedef struct mem_in {
    bronze_input base;
    const unsigned char *data;
    size_t len, pos;
    int mode; /* 0: as much as asked, 1: 1..300 bytes a read, 2: 1..70000 */
    uint64_t rng;
} mem_in;

static ssize_t mem_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    (void)err;
    mem_in *m = (mem_in *)in;
    size_t n = m->len - m->pos;
    size_t chunk = m->mode == 1   ? 1 + rnd(&m->rng, 300)
                   : m->mode == 2 ? 1 + rnd(&m->rng, 70000)
                                  : SIZE_MAX;
    n = n < cap ? n : cap;
    n = n < chunk ? n : chunk;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static int mem_rewind(bronze_input *in, bronze_err *err)
{
    (void)err;
    ((mem_in *)in)->pos = 0;
    return 0;
}

static void mem_close(bronze_input *in)
{
    free(in); /* bronze_input_close frees the name */
}

static const bronze_input_vt mem_vt = {mem_read, mem_rewind, mem_close};

static bronze_input *mem_input(const unsigned char *data, size_t len, int mode, uint64_t seed)
{
    mem_in *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->base.vt = &mem_vt;
    m->base.name = strdup("t.csv");
    m->data = data;
    m->len = len;
    m->mode = mode;
    m->rng = seed | 1;
    return &m->base;
}

/* ---- random CSV ---- */

/* What one random file holds: invalid UTF-8 and text after a closing quote
 * (each ends a strict read) or not; quotes, stray quotes and lone CRs in
 * quote_pct percent of its fields. */
typedef struct profile {
    char delim;
    bool errors;
    size_t quote_pct;
} profile;

static void put_text(bronze_buf *b, uint64_t *s, size_t n, const profile *pr, bool quoted)
{
    static const char plain[] = "abcxyz0129 .-:_,;|\t";
    static const char *const utf8[] = {"\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80"};
    static const char *const bad[] = {"\xFF", "\xC3", "\xC0\x80", "\xED\xA0\x80",
                                      "\xF4\x90\x80\x80"};
    static const char *const inq[] = {"\"\"", "\n", "\r\n", "\r"};
    for (size_t i = 0; i < n; i++) {
        size_t k = rnd(s, 100);
        char c = plain[rnd(s, sizeof plain - 1)];
        const char *u = k == 0                                     ? utf8[rnd(s, 3)]
                        : k == 1 && pr->errors && rnd(s, 200) == 0 ? bad[rnd(s, 5)]
                        : quoted && k < 10                         ? inq[rnd(s, 4)]
                        : !quoted && c == pr->delim                ? "x"
                                                                   : NULL;
        if (u)
            bronze_buf_append(b, u, strlen(u));
        else
            bronze_buf_append(b, &c, 1);
    }
}

static void put_quoted(bronze_buf *b, uint64_t *s, size_t n, const profile *pr)
{
    if (rnd(s, 5) == 0) { /* a stray quote or a lone CR in an unquoted field */
        put_text(b, s, n / 2, pr, false);
        bronze_buf_append(b, rnd(s, 2) ? "\"" : "\r", 1);
        put_text(b, s, n / 2, pr, false);
        return;
    }
    bronze_buf_append(b, "\"", 1);
    put_text(b, s, n, pr, true);
    bronze_buf_append(b, "\"", 1);
    if (pr->errors && rnd(s, 100) == 0)
        bronze_buf_append(b, "x", 1); /* an error: text after the closing quote */
}

static void put_field(bronze_buf *b, uint64_t *s, const profile *pr)
{
    size_t kind = rnd(s, 20), n = rnd(s, 26);
    if (rnd(s, 100) < pr->quote_pct)
        put_quoted(b, s, n, pr);
    else if (kind < 2)
        return; /* empty */
    else if (kind == 2 && rnd(s, 100) == 0)
        put_text(b, s, 65536 + rnd(s, 40000), pr, false); /* longer than the buffer */
    else
        put_text(b, s, kind < 17 ? n : rnd(s, 200), pr, false);
}

static void gen_csv(bronze_buf *b, uint64_t *s, const profile *pr, size_t nrec)
{
    for (size_t r = 0; r < nrec; r++) {
        size_t nf = rnd(s, 30) == 0 ? 0 : 1 + rnd(s, 12); /* 0: a blank line */
        for (size_t f = 0; f < nf; f++) {
            if (f)
                bronze_buf_append(b, &pr->delim, 1);
            put_field(b, s, pr);
        }
        size_t e = rnd(s, 100);
        if (r + 1 == nrec && e < 30)
            break; /* no line end at the end of the file */
        bronze_buf_append(b, e < 85 ? "\n" : e < 96 ? "\r\n" : "\r", e < 85 || e >= 96 ? 1 : 2);
    }
}

/* ---- the comparison ---- */

static size_t records; /* compared, for the summary line */

typedef struct reader {
    bronze_csv *r;
    bronze_err err;
} reader;

static void open_reader(reader *rd, const bronze_buf *b, int mode, uint64_t seed, bool fast,
                        bool lenient, char delim, uint64_t at)
{
    rd->err = (bronze_err)BRONZE_ERR_INIT;
    bronze_input *in = mem_input(b->data, b->len, mode, seed);
    assert_int_equal(bronze_csv_open_at(&rd->r, in, delim, at, at ? 7 : 1, &rd->err), 0);
    bronze_csv_set_lenient_utf8(rd->r, lenient);
    bronze_csv_set_fast(rd->r, fast);
}

/* One record of each reader: the same result. Returns the result. */
static int same_record(reader *a, reader *b, size_t rec)
{
    const bronze_csv_field *fa, *fb;
    size_t na = 0, nb = 0;
    int ra = bronze_csv_next(a->r, &fa, &na, &a->err);
    int rb = bronze_csv_next(b->r, &fb, &nb, &b->err);
    if (ra != rb)
        fail_msg("record %zu: fast returned %d (%s), general %d (%s)", rec, ra, a->err.msg, rb,
                 b->err.msg);
    if (ra < 0) {
        assert_string_equal(a->err.msg, b->err.msg);
        return ra;
    }
    assert_int_equal(bronze_csv_offset(a->r), bronze_csv_offset(b->r));
    assert_int_equal(bronze_csv_line(a->r), bronze_csv_line(b->r));
    if (ra == 0)
        return 0;
    assert_int_equal(bronze_csv_record_offset(a->r), bronze_csv_record_offset(b->r));
    assert_int_equal(bronze_csv_record_line(a->r), bronze_csv_record_line(b->r));
    if (na != nb)
        fail_msg("record %zu: %zu fields fast, %zu general", rec, na, nb);
    for (size_t i = 0; i < na; i++) {
        if (fa[i].len != fb[i].len || fa[i].quoted != fb[i].quoted ||
            memcmp(fa[i].p, fb[i].p, fa[i].len))
            fail_msg("record %zu field %zu: fast '%.*s' (%zu), general '%.*s' (%zu)", rec, i,
                     (int)fa[i].len, fa[i].p, fa[i].len, (int)fb[i].len, fb[i].p, fb[i].len);
        assert_int_equal(fa[i].p[fa[i].len], 0);
    }
    return 1;
}

static void compare(const bronze_buf *b, int mode, uint64_t seed, bool lenient, char delim,
                    uint64_t at)
{
    reader a, g;
    open_reader(&a, b, mode, seed, true, lenient, delim, at);
    open_reader(&g, b, mode, seed, false, lenient, delim, at);
    size_t rec = 0;
    while (same_record(&a, &g, rec) > 0)
        rec++;
    records += rec;
    bronze_csv_close(a.r);
    bronze_csv_close(g.r);
}

static void test_fast_matches_general(void **state)
{
    (void)state;
    static const char delims[] = {',', ';', '\t', '|'};
    static const size_t quote_pcts[] = {0, 3, 30};
    uint64_t s = 0x9E3779B97F4A7C15u;
    size_t bytes = 0;
    records = 0;
    for (int file = 0; file < 400; file++) {
        profile pr = {delims[file % 4], file % 3 == 0, quote_pcts[file / 4 % 3]};
        bronze_buf b = {0};
        gen_csv(&b, &s, &pr, 1 + rnd(&s, file % 8 == 0 ? 3000 : 300));
        uint64_t seed = rng_next(&s), at = rnd(&s, 4) == 0 ? 12345 : 0;
        int mode = (int)rnd(&s, 3);
        compare(&b, mode, seed, false, pr.delim, at);
        compare(&b, mode, seed, true, pr.delim, at);
        bytes += b.len;
        bronze_buf_free(&b);
    }
    print_message("%zu records compared, %zu bytes of CSV\n", records, bytes);
}

/* Plain records of every length from 0 to 200 bytes (so the line end, and
 * the CR of "\r\n", fall at every place of the 64-byte blocks), then short
 * ones across three 64 KiB buffers; read whole and in random pieces. */
static void test_block_edges(void **state)
{
    (void)state;
    bronze_buf b = {0};
    for (size_t len = 0; len < 200; len++) {
        for (size_t i = 0; i < len; i++) {
            const char *c = i % 7 == 3 ? "," : i % 11 == 5 ? "\xC3\xA9" : "a";
            bronze_buf_append(&b, c, strlen(c));
        }
        bronze_buf_append(&b, len % 2 ? "\r\n" : "\n", 1 + len % 2);
    }
    while (b.len < 3 * 65536 + 100)
        bronze_buf_append(&b, "abc,de,\r\n", 9);
    for (int mode = 0; mode < 3; mode++)
        for (int lenient = 0; lenient < 2; lenient++)
            compare(&b, mode, 42 + (uint64_t)mode, lenient, ',', 0);
    bronze_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_matches_general),
        cmocka_unit_test(test_block_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
