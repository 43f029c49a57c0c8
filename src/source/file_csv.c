/*
 * file_csv.c - streaming RFC 4180 reader (see file_csv.h).
 *
 * Shape: a fixed read buffer refilled with read(2), and one growable record
 * buffer holding the current record's unescaped fields back to back, each
 * NUL-terminated (so numbers can go straight to strtod). The record buffer
 * only grows to the longest record seen, so memory is flat in the number of
 * rows. Unquoted fields are scanned with a byte table; quoted ones with
 * memchr for the next quote. UTF-8 is checked once per record, over the
 * record buffer, with an ASCII fast path; the line of a bad byte is the
 * record's first line plus the newlines (inside quoted fields) before it.
 */
#include "source/file_csv.h"

#include "util/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/input.h"
#include "util/buf.h"

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

static int check_utf8(bronze_csv *r, bronze_err *err)
{
    if (r->lenient_utf8)
        return 0; /* invalid_utf8: replace: the roller writes U+FFFD */
    const char *t = (const char *)r->text.data;
    size_t bad = bronze_utf8_check(t, r->text.len);
    if (bad == r->text.len)
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

/* The common case in one pass: the whole record is in the buffer, ends in
 * '\n' (or "\r\n") and holds no quote and no other CR. It is copied into the
 * record buffer with each delimiter turned into the NUL that ends a field,
 * and the fields are listed directly (spans are rebuilt only to name the
 * field of a UTF-8 error). Returns 1 when it took the record (fields listed
 * in r->fields, count in r->nspans), 0 when the general path must. */
static int fast_record(bronze_csv *r, bronze_err *err)
{
    const unsigned char *p = r->buf + r->pos;
    size_t avail = r->end - r->pos;
    const unsigned char *nl = memchr(p, '\n', avail);
    if (!nl)
        return 0;
    size_t len = (size_t)(nl - p), body = len;
    if (body && p[body - 1] == '\r')
        body--;
    if (memchr(p, '"', len) || memchr(p, '\r', body))
        return 0;
    if (bronze_buf_reserve(&r->text, body + 1))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    char *t = (char *)r->text.data;
    memcpy(t, p, body);
    t[body] = 0;
    size_t nf = 0;
    for (char *f = t, *e = t + body;;) {
        char *d = memchr(f, r->delim, (size_t)(e - f));
        if (!d)
            d = e;
        *d = 0;
        if (nf == r->cap_fields && reserve_fields(r, nf + 1, err))
            return -1;
        r->fields[nf++] = (bronze_csv_field){f, (size_t)(d - f), false};
        if (d == e)
            break;
        f = d + 1;
    }
    r->nspans = nf;
    r->text.len = body + 1;
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
        r->spans[i].off = (size_t)(r->fields[i].p - (const char *)r->text.data);
        r->spans[i].len = r->fields[i].len;
    }
    return check_utf8(r, err);
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
    int fast = fast_record(r, err);
    if (fast < 0)
        return -1;
    if (fast) {
        if (!r->lenient_utf8 &&
            bronze_utf8_check((const char *)r->text.data, r->text.len) != r->text.len)
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
