/*
 * file_csv.c - streaming RFC 4180 reader (see file_csv.h).
 *
 * Shape: a fixed read buffer refilled with read(2). The common record (whole
 * in the buffer, no quote, no lone CR) is split where it lies: one pass of
 * wide compares finds its end and its delimiters, and each delimiter becomes
 * the NUL ending a field (so numbers can go straight to strtod). Any other
 * record goes to the general path, which unescapes it into one growable
 * record buffer, fields back to back, each NUL-terminated; that buffer only
 * grows to the longest such record, so memory is flat in the number of
 * rows. There unquoted fields are scanned with a byte table; quoted ones
 * with memchr for the next quote. UTF-8 is checked once per record (on the
 * fast path only when it holds a byte >= 0x80), with an ASCII fast path;
 * the line of a bad byte is the record's first line plus the newlines
 * (inside quoted fields) before it.
 */
#include "source/file_csv.h"

#include "util/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/input.h"
#include "util/buf.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CSV_BUF_SIZE (64 * 1024)

typedef struct span {
    size_t off, len;
    bool quoted;
} span;

struct bronze_csv {
    bronze_input *in;
    char *path;
    char delim;
    bool lenient_utf8; /* leave invalid UTF-8 to the roller (invalid_utf8: replace) */
    bool eof;          /* read(2) returned 0 */
    bool bom_done;
    bool no_fast; /* bronze_csv_set_fast(r, false): the general path only */
    unsigned char *buf;
    size_t pos, end;
    uint64_t base;     /* offset in the input of buf[0] */
    uint64_t rec_off;  /* offset the last record started at */
    uint64_t line;     /* physical line of buf[pos] */
    uint64_t rec_line; /* line the last record started on */
    bool stop[256];    /* bytes that end an unquoted field */
    bronze_buf text;   /* current record's fields, each NUL-terminated */
    span *spans;
    size_t nspans, cap_spans;
    bronze_csv_field *fields;
    size_t cap_fields;
    const char *fast_text; /* a fast-path record, in place in buf (NULs at field ends) */
    size_t fast_len;       /* its bytes, with the last NUL */
    bool fast_high;        /* it holds a byte >= 0x80 */
};

const char *bronze_csv_path(const bronze_csv *r)
{
    return r->path;
}

uint64_t bronze_csv_record_line(const bronze_csv *r)
{
    return r->rec_line;
}

uint64_t bronze_csv_offset(const bronze_csv *r)
{
    return r->base + r->pos;
}

uint64_t bronze_csv_record_offset(const bronze_csv *r)
{
    return r->rec_off;
}

uint64_t bronze_csv_line(const bronze_csv *r)
{
    return r->line;
}

int bronze_csv_open(bronze_csv **out, bronze_input *in, char delimiter, bronze_err *err)
{
    return bronze_csv_open_at(out, in, delimiter, 0, 1, err);
}

int bronze_csv_open_at(bronze_csv **out, bronze_input *in, char delimiter, uint64_t offset,
                       uint64_t line, bronze_err *err)
{
    *out = NULL;
    bronze_csv *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(in->name)) || !(r->buf = malloc(CSV_BUF_SIZE))) {
        if (r)
            free(r->path);
        free(r);
        int rc = bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", in->name);
        bronze_input_close(in);
        return rc;
    }
    r->in = in;
    r->delim = delimiter ? delimiter : ',';
    r->line = line;
    r->base = offset;
    r->bom_done = offset > 0; /* a byte order mark only opens the file */
    r->stop[(unsigned char)r->delim] = true;
    r->stop['\n'] = true;
    r->stop['\r'] = true;
    *out = r;
    return 0;
}

void bronze_csv_close(bronze_csv *r)
{
    if (!r)
        return;
    bronze_input_close(r->in);
    bronze_buf_free(&r->text);
    free(r->spans);
    free(r->fields);
    free(r->buf);
    free(r->path);
    free(r);
}

/* Makes sure buf[pos] exists. Returns 1 (a byte is there), 0 (end of file),
 * -1 (read error, err set). */
static int fill(bronze_csv *r, bronze_err *err)
{
    if (r->pos < r->end)
        return 1;
    if (r->eof)
        return 0;
    r->base += r->end;
    r->pos = r->end = 0;
    for (;;) {
        ssize_t n = bronze_input_read(r->in, r->buf + r->end, CSV_BUF_SIZE - r->end, err);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        /* The BOM check needs the first three bytes together. */
        if (!r->bom_done && r->end < 3 && !r->eof)
            continue;
        break;
    }
    if (!r->bom_done) {
        r->bom_done = true;
        if (r->end >= 3 && r->buf[0] == 0xEF && r->buf[1] == 0xBB && r->buf[2] == 0xBF)
            r->pos = 3;
        if (r->pos == r->end)
            return r->eof ? 0 : fill(r, err);
    }
    return r->end > r->pos ? 1 : 0;
}

static int append(bronze_csv *r, const void *p, size_t n, bronze_err *err)
{
    if (bronze_buf_append(&r->text, p, n))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    return 0;
}

static int begin_field(bronze_csv *r, bool quoted, bronze_err *err)
{
    if (r->nspans == r->cap_spans) {
        size_t cap = r->cap_spans ? r->cap_spans * 2 : 16;
        span *s = realloc(r->spans, cap * sizeof *s);
        if (!s)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
        r->spans = s;
        r->cap_spans = cap;
    }
    r->spans[r->nspans++] = (span){r->text.len, 0, quoted};
    return 0;
}

static int end_field(bronze_csv *r, bronze_err *err)
{
    span *s = &r->spans[r->nspans - 1];
    s->len = r->text.len - s->off;
    return append(r, "", 1, err); /* the NUL */
}

static uint64_t count_nl(const unsigned char *p, size_t n)
{
    uint64_t k = 0;
    const unsigned char *e = p + n;
    while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
        k++;
        p++;
    }
    return k;
}

void bronze_csv_set_lenient_utf8(bronze_csv *r, bool on)
{
    r->lenient_utf8 = on;
}

/* Checks t[0..len), the record starting on r->rec_line whose fields are
 * r->spans (offsets into t). */
static int check_utf8_in(bronze_csv *r, const char *t, size_t len, bronze_err *err)
{
    if (r->lenient_utf8)
        return 0; /* invalid_utf8: replace: the roller writes U+FFFD */
    size_t bad = bronze_utf8_check(t, len);
    if (bad == len)
        return 0;
    size_t field = 0;
    while (field + 1 < r->nspans && r->spans[field + 1].off <= bad)
        field++;
    uint64_t line = r->rec_line + count_nl((const unsigned char *)t, bad);
    return bronze_err_set(
        err, BRONZE_E_RUNTIME,
        "%s: line %llu: invalid UTF-8 (byte 0x%02X) in field %zu; the file must be "
        "UTF-8",
        r->path, (unsigned long long)line, (unsigned char)t[bad], field + 1);
}

static int check_utf8(bronze_csv *r, bronze_err *err)
{
    return check_utf8_in(r, (const char *)r->text.data, r->text.len, err);
}

/* Reads a quoted field; buf[pos] is just past the opening quote. */
static int read_quoted(bronze_csv *r, bronze_err *err)
{
    uint64_t open_line = r->line;
    for (;;) {
        int f = fill(r, err);
        if (f < 0)
            return -1;
        if (f == 0)
            return bronze_err_set(
                err, BRONZE_E_RUNTIME,
                "%s: line %llu: unterminated quoted field (the quote opened on this "
                "line is never closed)",
                r->path, (unsigned long long)open_line);
        const unsigned char *p = r->buf + r->pos;
        size_t avail = r->end - r->pos;
        const unsigned char *q = memchr(p, '"', avail);
        size_t n = q ? (size_t)(q - p) : avail;
        r->line += count_nl(p, n);
        if (append(r, p, n, err))
            return -1;
        r->pos += n;
        if (!q)
            continue;
        r->pos++; /* the quote */
        f = fill(r, err);
        if (f < 0)
            return -1;
        if (f > 0 && r->buf[r->pos] == '"') { /* "" -> " */
            r->pos++;
            if (append(r, "\"", 1, err))
                return -1;
            continue;
        }
        return 0;
    }
}

static int read_unquoted(bronze_csv *r, bronze_err *err)
{
    for (;;) {
        int f = fill(r, err);
        if (f <= 0)
            return f;
        size_t i = r->pos, e = r->end;
        while (i < e && !r->stop[r->buf[i]])
            i++;
        if (append(r, r->buf + r->pos, i - r->pos, err))
            return -1;
        r->pos = i;
        if (i < e)
            return 0;
    }
}

/* Room for n fields in r->fields. */
static int reserve_fields(bronze_csv *r, size_t n, bronze_err *err)
{
    if (n <= r->cap_fields)
        return 0;
    size_t cap = r->cap_fields ? r->cap_fields : 16;
    while (cap < n)
        cap *= 2;
    bronze_csv_field *nf = realloc(r->fields, cap * sizeof *nf);
    if (!nf)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    r->fields = nf;
    r->cap_fields = cap;
    return 0;
}

/* ---- the fast path ---- */

/* Bit j of each mask is about byte j of a 64-byte block: the delimiter, a
 * byte >= 0x80, or a byte that ends or spoils a plain record ('\n', '\r',
 * '"'). One compare per kind per 16 bytes, so a record is scanned once
 * instead of once per memchr. */
typedef struct block_masks {
    uint64_t delim, high, special;
} block_masks;

#if defined(__SSE2__)
/* SSE2 is baseline on x86-64: no -march flag, runs on any x86-64. */
static inline void scan16(const unsigned char *b, __m128i d, block_masks *m, int shift)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
    __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                           _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    m->delim |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, d)) << shift;
    m->high |= (uint64_t)(unsigned)_mm_movemask_epi8(v) << shift;
    m->special |= (uint64_t)(unsigned)_mm_movemask_epi8(sp) << shift;
}

static inline block_masks scan_block(const unsigned char *b, char delim)
{
    __m128i d = _mm_set1_epi8(delim);
    block_masks m = {0, 0, 0};
    /* four calls, not a loop: constant shifts, no loop counter */
    scan16(b, d, &m, 0);
    scan16(b + 16, d, &m, 16);
    scan16(b + 32, d, &m, 32);
    scan16(b + 48, d, &m, 48);
    return m;
}
#else
/* Portable fallback: the same masks a byte at a time. */
static inline block_masks scan_block(const unsigned char *b, char delim)
{
    block_masks m = {0, 0, 0};
    for (int j = 0; j < 64; j++) {
        unsigned char c = b[j];
        m.delim |= (uint64_t)(c == (unsigned char)delim) << j;
        m.high |= (uint64_t)(c >> 7) << j;
        m.special |= (uint64_t)(c == '\n' || c == '\r' || c == '"') << j;
    }
    return m;
}
#endif

/* The masks of p[i..i+64), where only p[0..avail) may be read: the last
 * block of the buffer is copied into zeros first (a NUL is none of the
 * bytes looked for: the delimiter is never NUL). */
static inline block_masks scan_at(const unsigned char *p, size_t i, size_t avail, char delim)
{
    if (avail - i >= 64)
        return scan_block(p + i, delim);
    unsigned char tail[64] = {0};
    memcpy(tail, p + i, avail - i);
    return scan_block(tail, delim);
}

/* The first special byte of a record is at p[j]: the record is plain when it
 * is '\n' or the CR of "\r\n" (then *len is up to the '\n', *body up to the
 * line end). A quote or a lone CR means the general path, and so does a CR
 * that is the last byte in the buffer (its '\n' is not read yet). */
static bool plain_end(const unsigned char *p, size_t j, size_t avail, size_t *len, size_t *body)
{
    *body = j;
    if (p[j] == '\n') {
        *len = j;
        return true;
    }
    if (p[j] == '\r' && j + 1 < avail && p[j + 1] == '\n') {
        *len = j + 1;
        return true;
    }
    return false;
}

static int push_field(bronze_csv *r, size_t *nf, const char *p, size_t len, bronze_err *err)
{
    if (*nf == r->cap_fields && reserve_fields(r, *nf + 1, err))
        return -1;
    r->fields[(*nf)++] = (bronze_csv_field){p, len, false};
    return 0;
}

/* The scan of fast_record: lists the fields of the record at buf[pos] and
 * overwrites each delimiter with a NUL as it goes. Returns 1 for a plain
 * record (*len: bytes up to its '\n', *body: up to its line end, *high: a
 * byte >= 0x80 seen), 0 for one that is not, -1 on OOM; *nf fields are
 * listed in every case. */
static int split_plain(bronze_csv *r, size_t *nf, size_t *len, size_t *body, bool *high,
                       bronze_err *err)
{
    unsigned char *p = r->buf + r->pos;
    char *t = (char *)p;
    size_t avail = r->end - r->pos, start = 0;
    uint64_t hi = 0;
    for (size_t i = 0; i < avail; i += 64) {
        block_masks m = scan_at(p, i, avail, r->delim);
        /* only bits before the first special byte belong to the record body */
        uint64_t keep = m.special ? (m.special & -m.special) - 1 : ~(uint64_t)0;
        hi |= m.high & keep;
        for (uint64_t d = m.delim & keep; d; d &= d - 1) {
            size_t at = i + (size_t)__builtin_ctzll(d);
            if (push_field(r, nf, t + start, at - start, err))
                return -1;
            t[at] = 0;
            start = at + 1;
        }
        if (!m.special)
            continue;
        if (!plain_end(p, i + (size_t)__builtin_ctzll(m.special), avail, len, body))
            return 0;
        *high = hi != 0;
        return push_field(r, nf, t + start, *body - start, err) ? -1 : 1;
    }
    return 0;
}

/* The common case in one pass: the whole record is in the read buffer, ends
 * in '\n' (or "\r\n") and holds no quote and no other CR. Its fields stay
 * where they are: each delimiter (and the line end) is overwritten with the
 * NUL that ends a field, which is safe because the buffer is ours, the
 * bytes are never read again, and fields need only live until the next
 * call (the only one that refills the buffer). When the record turns out
 * not to be plain the delimiters are put back, for the general path.
 * Returns 1 when it took the record (fields in r->fields, count in
 * r->nspans, r->fast_high when a byte >= 0x80 was seen), 0 when the general
 * path must, -1 on OOM. */
static int fast_record(bronze_csv *r, bronze_err *err)
{
    char *t = (char *)r->buf + r->pos;
    size_t nf = 0, len = 0, body = 0;
    bool high = false;
    int rc = split_plain(r, &nf, &len, &body, &high, err);
    if (rc <= 0) {
        for (size_t k = 0; k < nf; k++) /* the delimiters back */
            t[r->fields[k].p - t + (ptrdiff_t)r->fields[k].len] = r->delim;
        return rc;
    }
    t[body] = 0;
    r->fast_text = t;
    r->fast_len = body + 1;
    r->fast_high = high;
    r->nspans = nf;
    r->pos += len + 1;
    r->line++;
    return 1;
}

/* A UTF-8 error in a fast-path record: rebuild its spans for the message. */
static int fast_utf8_error(bronze_csv *r, bronze_err *err)
{
    size_t n = r->nspans;
    r->nspans = 0;
    for (size_t i = 0; i < n; i++) {
        if (begin_field(r, false, err))
            return -1;
        r->spans[i].off = (size_t)(r->fields[i].p - r->fast_text);
        r->spans[i].len = r->fields[i].len;
    }
    return check_utf8_in(r, r->fast_text, r->fast_len, err);
}

void bronze_csv_set_fast(bronze_csv *r, bool on)
{
    r->no_fast = !on;
}

int bronze_csv_next(bronze_csv *r, const bronze_csv_field **fields, size_t *nfields,
                    bronze_err *err)
{
    r->text.len = 0;
    r->nspans = 0;
    int f = fill(r, err);
    if (f <= 0)
        return f;
    r->rec_line = r->line;
    r->rec_off = r->base + r->pos;
    int fast = r->no_fast ? 0 : fast_record(r, err);
    if (fast < 0)
        return -1;
    if (fast) {
        /* a record of ASCII bytes only is valid UTF-8: no check needed */
        if (r->fast_high && !r->lenient_utf8 &&
            bronze_utf8_check(r->fast_text, r->fast_len) != r->fast_len)
            return fast_utf8_error(r, err);
        *fields = r->fields;
        *nfields = r->nspans;
        return 1;
    }
    for (;;) {
        f = fill(r, err);
        if (f < 0)
            return -1;
        bool quoted = f > 0 && r->buf[r->pos] == '"';
        if (begin_field(r, quoted, err))
            return -1;
        if (quoted) {
            r->pos++;
            if (read_quoted(r, err))
                return -1;
        } else if (f > 0 && read_unquoted(r, err) < 0)
            return -1;
        if (end_field(r, err))
            return -1;
        f = fill(r, err);
        if (f < 0)
            return -1;
        if (f == 0)
            break;
        unsigned char c = r->buf[r->pos];
        if (c == (unsigned char)r->delim) {
            r->pos++;
            continue;
        }
        if (c == '\n') {
            r->pos++;
            r->line++;
            break;
        }
        if (c == '\r') {
            r->pos++;
            r->line++;
            f = fill(r, err);
            if (f < 0)
                return -1;
            if (f > 0 && r->buf[r->pos] == '\n')
                r->pos++;
            break;
        }
        /* Only a closing quote can be followed by anything else. */
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: line %llu: unexpected character '%c' after the closing quote of "
                              "field %zu (a quote inside a quoted field is written \"\")",
                              r->path, (unsigned long long)r->line,
                              c >= 0x20 && c < 0x7F ? (char)c : '?', r->nspans);
    }
    if (check_utf8(r, err) || reserve_fields(r, r->nspans, err))
        return -1;
    const char *base = (const char *)r->text.data;
    for (size_t i = 0; i < r->nspans; i++)
        r->fields[i] =
            (bronze_csv_field){base + r->spans[i].off, r->spans[i].len, r->spans[i].quoted};
    *fields = r->fields;
    *nfields = r->nspans;
    return 1;
}
