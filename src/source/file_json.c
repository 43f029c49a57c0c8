/*
 * file_json.c - JSON Lines and one-array JSON records over yajl's event
 * parser (see file_json.h).
 *
 * yajl pushes events while it parses a chunk and cannot pause in the middle
 * of one, so one chunk (16 KiB) can complete many records. The callbacks
 * therefore append to a small record queue: `tb` holds keys and value texts
 * (NUL-terminated), `ents` one entry per top-level member, `recs` the
 * complete records. next() pops records; once the queue is drained it is
 * compacted (the record still being parsed moves to the front) and the next
 * chunk is fed. The queue is bounded by a chunk's worth of records plus the
 * largest record, so memory does not grow with the file.
 *
 * Depth bookkeeping: `depth` counts open containers; records live at depth
 * `rd` (1 for JSON Lines, 2 inside the top-level array). Anything deeper is
 * a nested value, re-serialised as compact JSON straight into `tb`.
 *
 * JSON Lines are fed line by line (split with memchr), which gives exact
 * line/column positions and lets us insist on exactly one object per line.
 */
#include "source/file_json.h"
#include "util/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "source/file_csv.h"
#include "source/input.h"
#include "util/buf.h"
#include "util/json_plain.h"
#include "util/json_string.h"

#define JSON_CHUNK (16 * 1024)
/* A buffer's worth of reads that completes no record doubles the next read,
 * up to this: yajl lexes a token cut by a chunk's end again from its start
 * with every chunk that extends it, so one long string read 16 KiB at a
 * time cost time quadratic in its length (a 6 MB value of escapes took
 * 12 s); read in doubling chunks, it costs a constant factor. */
#define JSON_CHUNK_MAX ((size_t)64 << 20)
#define INDEX_BUF (64 * 1024) /* > the largest entry, 2 + 8 * BRONZE_JSON_INDEX_MAX */

typedef struct jent {
    size_t key_off, key_len, val_off, val_len;
    bronze_json_kind kind;
} jent;

typedef struct jrec {
    size_t begin, end; /* entries [begin, end) */
    uint64_t line;     /* JSON Lines: its line */
    uint64_t num;      /* 1-based record number in the input */
} jrec;

struct bronze_json {
    char *path;
    bronze_input *in;
    bool array_form;
    bool lenient_utf8; /* leave invalid UTF-8 to the roller (invalid_utf8: replace) */
    bool spooled;      /* another source's records (bronze_json_set_spooled) */
    bool slow_lines;   /* JSON Lines: every line through yajl (tests compare both paths) */
    bool yajl_fed;     /* yajl was given at least one piece */
    bool done;         /* end of input reached and finished */
    bool saw_content;  /* a non-whitespace byte was fed */
    yajl_handle h;
    unsigned char *buf;
    size_t buf_cap;     /* JSON_CHUNK, doubled by reads that complete no record */
    size_t norec_bytes; /* bytes read since a read last completed a record */

    /* Position of the piece being fed, for messages. */
    uint64_t base_off;    /* absolute offset of buf[0] */
    uint64_t line;        /* JSON: line of buf[0]; JSON Lines: the current line */
    uint64_t col0;        /* bytes of that line before buf[0] (or before the piece) */
    size_t piece_off;     /* offset of the piece inside buf */
    const char *fail_msg; /* set by a callback that stopped the parse */
    bool fail_data;       /* fail_msg is about a value: name the record, not a byte */
    char fail_buf[400];
    size_t carry;  /* bytes at buf[0] held back from the last read (a split escape) */
    bool esc;      /* the byte before the next one is an escaping backslash */
    bool bom_done; /* the first bytes were checked for a BOM */

    /* data_path: the record array sits under these keys (none: the top). */
    char **dp;
    size_t ndp;
    char *dp_text; /* the path as configured, for messages */
    bool dp_want;  /* the last key at the frontier is the next path key */
    bool dp_found; /* the target array was entered */
    bool dp_done;  /* ... and closed: the rest is skipped */
    size_t skip;   /* > 0: inside a value off the path (its open containers) */

    /* Parse state. */
    size_t depth, rd;
    uint64_t nrec_total; /* records completed (for "element N") */
    unsigned line_recs;  /* JSON Lines: records begun on the current line */
    bool have_key;
    size_t key_off, key_len;
    size_t nest_start;
    bronze_buf nest; /* one byte per nested level: bit0 map, bit1 has items */

    /* The record queue. */
    bronze_buf tb;
    jent *ents;
    size_t nents, cap_ents;
    jrec *recs;
    size_t nrecs, cap_recs, rpos;
    size_t cur_ent, cur_text; /* start of the record being parsed */

    bronze_json_field *out;
    size_t cap_out;
    uint64_t last_line, last_num; /* of the record next() returned last */

    /* The side index (bronze_json_set_index): ib[ipos, ilen) unread. */
    bronze_input *idx;
    unsigned char *ib;
    size_t ipos, ilen;
};

uint64_t bronze_json_record_no(const bronze_json *r)
{
    return r->array_form ? r->last_num : r->last_line;
}

void bronze_json_record_pos(const bronze_json *r, char *buf, size_t cap)
{
    if (r->array_form)
        snprintf(buf, cap, "record %llu", (unsigned long long)r->last_num);
    else
        snprintf(buf, cap, "line %llu", (unsigned long long)r->last_line);
}

/* ---- queue helpers (callbacks return 0 to stop yajl) ---- */

static int oom(bronze_json *r)
{
    r->fail_msg = "out of memory";
    return 0;
}

static int tb_put(bronze_json *r, const void *p, size_t n)
{
    return bronze_buf_append(&r->tb, p, n) ? oom(r) : 1;
}

static int tb_putc(bronze_json *r, char c)
{
    return bronze_buf_putc(&r->tb, (uint8_t)c) ? oom(r) : 1;
}

static int push_ent(bronze_json *r, bronze_json_kind kind, size_t val_off, size_t val_len)
{
    jent *e = bronze_grow(r->ents, &r->cap_ents, r->nents + 1, sizeof *e, 64);
    if (!e)
        return oom(r);
    r->ents = e;
    r->ents[r->nents++] = (jent){r->key_off, r->key_len, val_off, val_len, kind};
    r->have_key = false;
    return 1;
}

static int push_rec(bronze_json *r)
{
    jrec *e = bronze_grow(r->recs, &r->cap_recs, r->nrecs + 1, sizeof *e, 64);
    if (!e)
        return oom(r);
    r->recs = e;
    r->recs[r->nrecs++] = (jrec){r->cur_ent, r->nents, r->line, r->nrec_total + 1};
    r->cur_ent = r->nents;
    r->cur_text = r->tb.len;
    r->nrec_total++;
    return 1;
}

/* Appends s as a JSON string literal (compact, only what must be escaped). */
static int put_json_string(bronze_json *r, const unsigned char *s, size_t n)
{
    return bronze_json_string_put(&r->tb, s, n) ? oom(r) : 1;
}

/* Before a value inside a nested container: the comma, if an array needs one. */
static int nested_sep(bronze_json *r)
{
    uint8_t *top = &r->nest.data[r->nest.len - 1];
    if (*top & 1)
        return 1; /* in an object the key wrote the comma */
    if ((*top & 2) && !tb_putc(r, ','))
        return 0;
    *top |= 2;
    return 1;
}

static int structure_error(bronze_json *r)
{
    if (!r->array_form)
        r->fail_msg = "the line is not a JSON object (JSON Lines need one object per line)";
    else if (r->depth == 0)
        r->fail_msg = "the top-level JSON value is not an array (format: json expects one array "
                      "of objects; use format: jsonl for one object per line)";
    else {
        snprintf(r->fail_buf, sizeof r->fail_buf,
                 "element %llu of the top-level array is not an object",
                 (unsigned long long)r->nrec_total + 1);
        r->fail_msg = r->fail_buf;
    }
    return 0;
}

/* ---- text checks, data_path ---- */

void bronze_json_set_lenient_utf8(bronze_json *r, bool on)
{
    r->lenient_utf8 = on;
}

void bronze_json_set_spooled(bronze_json *r, bool on)
{
    r->spooled = on;
}

void bronze_json_set_fast_lines(bronze_json *r, bool on)
{
    r->slow_lines = !on;
}

/* Refuses text a column cannot hold, naming the field: invalid UTF-8 (an
 * encoded surrogate ED A0 80 included, and a \uD800 escape without its pair,
 * which fix_surrogates() made arrive here encoded) and, in a top-level value
 * or a key, a NUL (\u0000): CSV readers and PostgreSQL cannot take one, and
 * no encoding of it reads back as the same string everywhere. */
static int check_text(bronze_json *r, const unsigned char *s, size_t n, bool is_key, bool top)
{
    size_t bad = r->lenient_utf8 ? n : bronze_utf8_check(s, n);
    char what[200];
    if (bad < n) {
        if (s[bad] == 0xED && bad + 1 < n && s[bad + 1] >= 0xA0)
            snprintf(what, sizeof what,
                     "invalid UTF-8: an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape "
                     "without its pair, or one encoded as the bytes ED A0..BF xx)");
        else
            snprintf(what, sizeof what,
                     "invalid UTF-8 (byte 0x%02X); the text must be UTF-8 (or set %s)", s[bad],
                     r->spooled ? "source.run.invalid_utf8: replace" : "source.file.encoding");
    } else if (top && memchr(s, 0, n))
        snprintf(what, sizeof what,
                 "a NUL character (\\u0000), which CSV readers and PostgreSQL cannot hold; "
                 "remove it at the source");
    else
        return 1;
    if (is_key)
        snprintf(r->fail_buf, sizeof r->fail_buf, "a field name: %s", what);
    else
        snprintf(r->fail_buf, sizeof r->fail_buf, "field '%.*s': %s",
                 (int)(r->key_len > 80 ? 80 : r->key_len), (const char *)r->tb.data + r->key_off,
                 what);
    r->fail_msg = r->fail_buf;
    r->fail_data = true;
    return 0;
}

enum { EV_SCALAR, EV_KEY, EV_START_MAP, EV_END_MAP, EV_START_ARRAY, EV_END_ARRAY };

static int dp_fail(bronze_json *r, const char *what, const char *key)
{
    snprintf(r->fail_buf, sizeof r->fail_buf, "source.file.data_path '%s': %s%s%s", r->dp_text,
             what, key ? key : "", key ? "' is not an object" : "");
    r->fail_msg = r->fail_buf;
    r->fail_data = true;
    return 0;
}

/* data_path: walks the maps along the path and skips every value off it.
 * Returns 1 for an event inside the record array (handled as usual), 2 for
 * one that is not (ignored), 0 to stop (fail_msg set). */
static int route(bronze_json *r, int ev, const unsigned char *key, size_t klen)
{
    if (r->skip) {
        if (ev == EV_START_MAP || ev == EV_START_ARRAY)
            r->skip++;
        else if (ev == EV_END_MAP || ev == EV_END_ARRAY)
            r->skip--;
        return 2;
    }
    if (!r->ndp)
        return 1;
    if (r->depth > r->ndp) {
        if (r->depth == r->ndp + 1 && ev == EV_END_ARRAY) { /* the record array ends */
            r->depth--;
            r->dp_done = true;
            return 2;
        }
        return 1;
    }
    if (r->depth == 0) {
        if (ev != EV_START_MAP)
            return dp_fail(r, "the document is not an object", NULL);
        r->depth = 1;
        return 2;
    }
    const char *want = r->dp[r->depth - 1];
    switch (ev) {
    case EV_KEY:
        r->dp_want = !r->dp_done && strlen(want) == klen && !memcmp(want, key, klen);
        return 2;
    case EV_END_MAP:
        r->depth--;
        r->dp_want = false;
        return 2;
    case EV_END_ARRAY:
        return 2;
    default: /* a value */
        if (!r->dp_want) {
            if (ev != EV_SCALAR)
                r->skip = 1;
            return 2;
        }
        r->dp_want = false;
        if (r->depth < r->ndp) {
            if (ev != EV_START_MAP) {
                char k[120];
                snprintf(k, sizeof k, "'%s", want);
                return dp_fail(r, "the value at ", k);
            }
            r->depth++;
            return 2;
        }
        if (ev != EV_START_ARRAY)
            return dp_fail(r, "the value there is not an array (of records)", NULL);
        r->depth++;
        r->dp_found = true;
        return 2;
    }
}

#define ROUTE(r, ev, k, n)                                                                         \
    do {                                                                                           \
        int rt_ = route(r, ev, k, n);                                                              \
        if (rt_ != 1)                                                                              \
            return rt_ == 2;                                                                       \
    } while (0)

/* ---- yajl callbacks ---- */

static int scalar(bronze_json *r, bronze_json_kind kind, const char *s, size_t n)
{
    if (r->depth < r->rd)
        return structure_error(r);
    if (r->depth == r->rd) {
        size_t off = r->tb.len;
        if (!tb_put(r, s, n) || !tb_putc(r, 0))
            return 0;
        return push_ent(r, kind, off, n);
    }
    if (!nested_sep(r))
        return 0;
    if (kind == BRONZE_JV_STRING)
        return put_json_string(r, (const unsigned char *)s, n);
    return tb_put(r, s, n);
}

static int on_null(void *ctx)
{
    ROUTE(ctx, EV_SCALAR, NULL, 0);
    return scalar(ctx, BRONZE_JV_NULL, "null", 4);
}

static int on_boolean(void *ctx, int b)
{
    ROUTE(ctx, EV_SCALAR, NULL, 0);
    return scalar(ctx, BRONZE_JV_BOOL, b ? "true" : "false", b ? 4 : 5);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    ROUTE(ctx, EV_SCALAR, NULL, 0);
    bool frac = false;
    for (size_t i = 0; i < n && !frac; i++)
        frac = s[i] == '.' || s[i] == 'e' || s[i] == 'E';
    return scalar(ctx, frac ? BRONZE_JV_NUMBER : BRONZE_JV_INT, s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_SCALAR, NULL, 0);
    if (r->depth >= r->rd && !check_text(r, s, n, false, r->depth == r->rd))
        return 0;
    return scalar(ctx, BRONZE_JV_STRING, (const char *)s, n);
}

static int open_nested(bronze_json *r, char open, uint8_t is_map)
{
    if (r->depth == r->rd) {
        r->nest_start = r->tb.len;
        r->nest.len = 0;
    } else if (!nested_sep(r))
        return 0;
    if (bronze_buf_putc(&r->nest, is_map))
        return oom(r);
    r->depth++;
    return tb_putc(r, open);
}

static int close_nested(bronze_json *r, char close)
{
    r->depth--;
    r->nest.len--;
    if (!tb_putc(r, close))
        return 0;
    if (r->depth > r->rd)
        return 1;
    size_t n = r->tb.len - r->nest_start;
    return tb_putc(r, 0) && push_ent(r, BRONZE_JV_NESTED, r->nest_start, n);
}

static int on_start_map(void *ctx)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_START_MAP, NULL, 0);
    if (r->depth + 1 < r->rd)
        return structure_error(r);
    if (r->depth + 1 == r->rd) { /* a record begins */
        if (!r->array_form && r->line_recs) {
            r->fail_msg = "more than one JSON value on the line (JSON Lines need one object per "
                          "line)";
            return 0;
        }
        r->line_recs++;
        r->cur_ent = r->nents;
        r->cur_text = r->tb.len;
        r->have_key = false;
        r->depth++;
        return 1;
    }
    return open_nested(r, '{', 1);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_KEY, s, n);
    if (!check_text(r, s, n, true, r->depth == r->rd))
        return 0;
    if (r->depth == r->rd) {
        r->key_off = r->tb.len;
        r->key_len = n;
        r->have_key = true;
        return tb_put(r, s, n) && tb_putc(r, 0);
    }
    uint8_t *top = &r->nest.data[r->nest.len - 1];
    if ((*top & 2) && !tb_putc(r, ','))
        return 0;
    *top |= 2;
    return put_json_string(r, s, n) && tb_putc(r, ':');
}

static int on_end_map(void *ctx)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_END_MAP, NULL, 0);
    if (r->depth == r->rd) { /* the record is complete */
        r->depth--;
        return push_rec(r);
    }
    return close_nested(r, '}');
}

static int on_start_array(void *ctx)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_START_ARRAY, NULL, 0);
    if (r->array_form && !r->ndp && r->depth == 0) {
        r->depth = 1;
        return 1;
    }
    if (r->depth < r->rd)
        return structure_error(r);
    return open_nested(r, '[', 0);
}

static int on_end_array(void *ctx)
{
    bronze_json *r = ctx;
    ROUTE(r, EV_END_ARRAY, NULL, 0);
    if (r->array_form && !r->ndp && r->depth == 1) {
        r->depth = 0;
        return 1;
    }
    return close_nested(r, ']');
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

/* ---- open / close ---- */

/* Splits "a.b" into the key list. */
static int split_path(bronze_json *r, const char *path)
{
    if (!(r->dp_text = strdup(path)))
        return -1;
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '.';
    if (!(r->dp = calloc(n, sizeof *r->dp)))
        return -1;
    const char *p = path;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, '.');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!(r->dp[i] = strndup(p, len)))
            return -1;
        r->ndp++;
        p += len + 1;
    }
    return 0;
}

int bronze_json_open(bronze_json **out, bronze_input *in, bool array_form, const char *data_path,
                     bronze_err *err)
{
    *out = NULL;
    const char *path = in->name;
    bronze_json *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || !(r->buf = malloc(r->buf_cap = JSON_CHUNK))) {
        if (r)
            free(r->path);
        free(r);
        int rc = bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", path);
        bronze_input_close(in);
        return rc;
    }
    r->in = in;
    r->array_form = array_form;
    if (array_form && data_path && *data_path && split_path(r, data_path)) {
        bronze_json_close(r);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", path);
    }
    r->rd = array_form ? r->ndp + 2 : 1;
    r->line = 1;
    r->h = yajl_alloc(&callbacks, NULL, r);
    if (!r->h) {
        bronze_json_close(r);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", path);
    }
    if (!array_form)
        yajl_config(r->h, yajl_allow_multiple_values, 1);
    /* check_text() checks every string itself, naming the field (or leaves
     * it to the roller's U+FFFD with invalid_utf8: replace) */
    yajl_config(r->h, yajl_dont_validate_strings, 1);
    *out = r;
    return 0;
}

void bronze_json_close(bronze_json *r)
{
    if (!r)
        return;
    if (r->h)
        yajl_free(r->h);
    bronze_input_close(r->in);
    bronze_input_close(r->idx);
    free(r->ib);
    for (size_t i = 0; i < r->ndp; i++)
        free(r->dp[i]);
    free(r->dp);
    free(r->dp_text);
    bronze_buf_free(&r->tb);
    bronze_buf_free(&r->nest);
    free(r->ents);
    free(r->recs);
    free(r->out);
    free(r->buf);
    free(r->path);
    free(r);
}

/* ---- feeding ---- */

/* "path: line L, column C (byte N): msg" for buf[at] (JSON Lines: no byte),
 * counted from buf[from], which is at r->line, r->col0. */
static int pos_error_from(bronze_json *r, size_t from, size_t at, const char *msg, bronze_err *err)
{
    uint64_t line = r->line, col = r->col0;
    size_t ls = from;
    bool nl = false;
    for (size_t i = from; i < at; i++)
        if (r->buf[i] == '\n') {
            line++;
            ls = i + 1;
            nl = true;
        }
    col = (nl ? 0 : col) + (at - ls) + 1;
    if (!r->array_form)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu: %s", r->path,
                              (unsigned long long)line, (unsigned long long)col, msg);
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu (byte %llu): %s",
                          r->path, (unsigned long long)line, (unsigned long long)col,
                          (unsigned long long)(r->base_off + at), msg);
}

/* The same, counted from the chunk's start (buf[0] is at r->line, r->col0). */
static int pos_error(bronze_json *r, size_t at, const char *msg, bronze_err *err)
{
    return pos_error_from(r, 0, at, msg, err);
}

/* A value-level refusal: "path: line L: msg" (JSON Lines), "path: record N: msg". */
static int data_error(bronze_json *r, bronze_err *err)
{
    if (!r->array_form)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu: %s", r->path,
                              (unsigned long long)r->line, r->fail_msg);
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: record %llu: %s", r->path,
                          (unsigned long long)r->nrec_total + 1, r->fail_msg);
}

/* The error for a failed yajl_parse of buf[piece_off, piece_off+len). */
static int parse_error(bronze_json *r, yajl_status st, size_t consumed, bronze_err *err)
{
    char msg[512];
    if (st == yajl_status_client_canceled && r->fail_msg && r->fail_data)
        return data_error(r, err);
    if (st == yajl_status_client_canceled && r->fail_msg)
        snprintf(msg, sizeof msg, "%s", r->fail_msg);
    else {
        unsigned char *m = yajl_get_error(r->h, 0, NULL, 0);
        snprintf(msg, sizeof msg, "invalid JSON: %s", m ? (const char *)m : "parse error");
        if (m)
            yajl_free_error(r->h, m);
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
            msg[--n] = 0;
    }
    if (!r->array_form) {
        uint64_t col = r->col0 + consumed;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu: %s", r->path,
                              (unsigned long long)r->line, (unsigned long long)(col ? col : 1),
                              msg);
    }
    /* The offending byte is the last one consumed: buf[e - 1]. */
    size_t e = r->piece_off + consumed;
    return pos_error(r, e ? e - 1 : 0, msg, err);
}

static int eof_error(bronze_json *r, const char *msg, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu: %s", r->path,
                          (unsigned long long)r->line, (unsigned long long)r->col0 + 1, msg);
}

static int feed(bronze_json *r, size_t off, size_t n, bronze_err *err)
{
    r->piece_off = off;
    r->yajl_fed = true;
    r->fail_msg = NULL;
    r->fail_data = false;
    yajl_status st = yajl_parse(r->h, r->buf + off, n);
    if (st != yajl_status_ok)
        return parse_error(r, st, yajl_get_bytes_consumed(r->h), err);
    return 0;
}

static bool all_space(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return false;
    return true;
}

static int finish(bronze_json *r, bronze_err *err)
{
    r->done = true;
    if (!r->saw_content) {
        if (r->array_form)
            return eof_error(r,
                             "the document is empty (format: json expects one array of objects; "
                             "an empty table is [])",
                             err);
        return 0; /* an empty JSON Lines file: no records */
    }
    if (!r->array_form && r->depth)
        return eof_error(r, "incomplete JSON object at the end of the file", err);
    if (!r->array_form && !r->yajl_fed)
        return 0; /* every line took the fast path: yajl has nothing to finish */
    r->fail_msg = NULL;
    r->fail_data = false;
    yajl_status st = yajl_complete_parse(r->h);
    if (st == yajl_status_ok) {
        if (r->ndp && !r->dp_found) {
            char msg[300];
            snprintf(msg, sizeof msg, "source.file.data_path '%s': not found in the document",
                     r->dp_text);
            return eof_error(r, msg, err);
        }
        return 0;
    }
    if (st == yajl_status_client_canceled && r->fail_msg && r->fail_data)
        return data_error(r, err);
    if (st == yajl_status_client_canceled && r->fail_msg)
        return eof_error(r, r->fail_msg, err);
    unsigned char *m = yajl_get_error(r->h, 0, NULL, 0);
    char msg[256];
    snprintf(msg, sizeof msg, "invalid JSON: %s",
             m && strstr((const char *)m, "premature EOF")
                 ? "the document ends before it is complete (truncated?)"
                 : (m ? (const char *)m : "parse error"));
    if (m)
        yajl_free_error(r->h, m);
    size_t k = strlen(msg);
    while (k && (msg[k - 1] == '\n' || msg[k - 1] == ' '))
        msg[--k] = 0;
    return eof_error(r, msg, err);
}

/* Where to stop feeding buf[0, n) so that no \u escape (a surrogate pair
 * takes 12 bytes) is split between two feeds: before the first backslash in
 * the last 12 bytes. The rest is carried to the next read. */
static size_t hold_point(const unsigned char *b, size_t n)
{
    size_t from = n > 12 ? n - 12 : 0;
    const unsigned char *p = memchr(b + from, '\\', n - from);
    return p ? (size_t)(p - b) : n;
}

/* yajl decodes a \uD800-\uDBFF escape that is not followed by a low
 * surrogate escape as "?" (and pairs it with any \u escape that follows), so
 * such text would land silently changed. Each one is rewritten here, before
 * yajl sees it, to \uDC00 (the same length, so every position holds): yajl
 * decodes that to the encoded lone surrogate ED B0 80, which check_text()
 * refuses naming the field. Escapes start in [from, to); lookahead reads up
 * to n. Runs of backslashes are counted, so "\\uD800" (text) is left alone. */
static void fix_surrogates(bronze_json *r, unsigned char *b, size_t from, size_t to, size_t n)
{
    size_t i = from;
    while (i < to) {
        if (!r->esc) {
            unsigned char *p = memchr(b + i, '\\', to - i);
            if (!p)
                return;
            i = (size_t)(p - b) + 1;
            r->esc = true;
            continue;
        }
        r->esc = false;
        unsigned hi, lo;
        if (b[i] != 'u' || i + 4 >= n || !bronze_json_hex4(b + i + 1, &hi) || hi < 0xD800 ||
            hi > 0xDBFF) {
            i++;
            continue;
        }
        bool paired = i + 10 < n && b[i + 5] == '\\' && b[i + 6] == 'u' &&
                      bronze_json_hex4(b + i + 7, &lo) && lo >= 0xDC00 && lo <= 0xDFFF;
        if (!paired)
            memcpy(b + i + 1, "DC00", 4);
        i += paired ? 11 : 5;
    }
}

/* ---- the JSON Lines fast path (issue #11 throughput) ----
 *
 * Most JSON Lines (an API's spool, an exporter's output) are plain: one
 * object per line, keys and strings without escapes, nested values without
 * escapes. Such a line is split here in one pass straight into the record
 * queue, exactly as the yajl callbacks would have queued it (same kinds, same
 * texts, nested values compacted the same way), without yajl's per-token
 * callbacks. Anything else (an escape, a syntax error, text that fails
 * check_text, a second value on the line) rolls back and goes to yajl, whose
 * messages stay the reference. Only whole lines that start a line (column 0,
 * no object open) take this path. */

typedef struct fl {
    bronze_json *r;
    const unsigned char *p;
    size_t n, i;
} fl;

static inline void fl_ws(fl *f)
{
    while (f->i < f->n &&
           (f->p[f->i] == ' ' || f->p[f->i] == '\t' || f->p[f->i] == '\r' || f->p[f->i] == '\n'))
        f->i++;
}

/* A string without escapes at f->i (the quote): its bytes [*b, *b + *len). */
static bool fl_string(fl *f, size_t *b, size_t *len)
{
    size_t i = f->i + 1, start = i;
    bool high = false;
    for (;;) {
        i = bronze_json_plain_end(f->p, i, f->n);
        if (i >= f->n)
            return false;
        unsigned char c = f->p[i];
        if (c == '"')
            break;
        if (c < 0x80)
            return false; /* an escape or a control character: yajl decides */
        high = true;
        i++;
    }
    if (high && !f->r->lenient_utf8 && bronze_utf8_check(f->p + start, i - start) != i - start)
        return false;
    *b = start;
    *len = i - start;
    f->i = i + 1;
    return true;
}

static bool fl_number(fl *f, bool *frac)
{
    size_t i = f->i;
    *frac = false;
    if (i < f->n && f->p[i] == '-')
        i++;
    if (i >= f->n || f->p[i] < '0' || f->p[i] > '9')
        return false;
    if (f->p[i] == '0')
        i++;
    else
        while (i < f->n && f->p[i] >= '0' && f->p[i] <= '9')
            i++;
    if (i < f->n && f->p[i] == '.') {
        *frac = true;
        if (++i >= f->n || f->p[i] < '0' || f->p[i] > '9')
            return false;
        while (i < f->n && f->p[i] >= '0' && f->p[i] <= '9')
            i++;
    }
    if (i < f->n && (f->p[i] == 'e' || f->p[i] == 'E')) {
        *frac = true;
        i++;
        if (i < f->n && (f->p[i] == '+' || f->p[i] == '-'))
            i++;
        if (i >= f->n || f->p[i] < '0' || f->p[i] > '9')
            return false;
        while (i < f->n && f->p[i] >= '0' && f->p[i] <= '9')
            i++;
    }
    /* yajl ends a number at any byte that cannot continue it; a letter
     * right after (1x) is its error */
    if (i < f->n && ((f->p[i] | 0x20) >= 'a' && (f->p[i] | 0x20) <= 'z'))
        return false;
    f->i = i;
    return true;
}

static bool fl_literal(fl *f, const char *w, size_t n)
{
    if (f->n - f->i < n || memcmp(f->p + f->i, w, n))
        return false;
    f->i += n;
    if (f->i < f->n && ((f->p[f->i] | 0x20) >= 'a' && (f->p[f->i] | 0x20) <= 'z'))
        return false;
    return true;
}

/* A nested value at f->i, appended compactly to tb (what open_nested,
 * nested_sep, put_json_string and close_nested write). */
static bool fl_nested(fl *f, int depth)
{
    bronze_json *r = f->r;
    if (depth > 256)
        return false;
    unsigned char open = f->p[f->i], close = open == '{' ? '}' : ']';
    if (bronze_buf_putc(&r->tb, open))
        return false;
    f->i++;
    fl_ws(f);
    if (f->i < f->n && f->p[f->i] == close) {
        f->i++;
        return !bronze_buf_putc(&r->tb, close);
    }
    for (bool first = true;; first = false) {
        fl_ws(f);
        if (!first && bronze_buf_putc(&r->tb, ','))
            return false;
        if (open == '{') {
            size_t kb, kl;
            if (f->i >= f->n || f->p[f->i] != '"' || !fl_string(f, &kb, &kl))
                return false;
            if (bronze_buf_putc(&r->tb, '"') || bronze_buf_append(&r->tb, f->p + kb, kl) ||
                bronze_buf_append(&r->tb, "\":", 2))
                return false;
            fl_ws(f);
            if (f->i >= f->n || f->p[f->i] != ':')
                return false;
            f->i++;
            fl_ws(f);
        }
        if (f->i >= f->n)
            return false;
        unsigned char c = f->p[f->i];
        size_t vb = f->i;
        bool frac;
        if (c == '{' || c == '[') {
            if (!fl_nested(f, depth + 1))
                return false;
        } else if (c == '"') {
            size_t sb, sl;
            if (!fl_string(f, &sb, &sl) || bronze_buf_append(&r->tb, f->p + vb, f->i - vb))
                return false;
        } else if (c == 't' || c == 'f' || c == 'n') {
            if (!(c == 't'   ? fl_literal(f, "true", 4)
                  : c == 'f' ? fl_literal(f, "false", 5)
                             : fl_literal(f, "null", 4)) ||
                bronze_buf_append(&r->tb, f->p + vb, f->i - vb))
                return false;
        } else if (!fl_number(f, &frac) || bronze_buf_append(&r->tb, f->p + vb, f->i - vb)) {
            return false;
        }
        fl_ws(f);
        if (f->i >= f->n)
            return false;
        if (f->p[f->i] == ',') {
            f->i++;
            continue;
        }
        if (f->p[f->i] != close)
            return false;
        f->i++;
        return !bronze_buf_putc(&r->tb, close);
    }
}

static bool fl_member_value(fl *f)
{
    bronze_json *r = f->r;
    unsigned char c = f->p[f->i];
    size_t vb = f->i, off = r->tb.len;
    bronze_json_kind kind;
    bool frac;
    if (c == '"') {
        size_t sb, sl;
        if (!fl_string(f, &sb, &sl))
            return false;
        if (bronze_buf_append(&r->tb, f->p + sb, sl) || bronze_buf_putc(&r->tb, 0))
            return false;
        return push_ent(r, BRONZE_JV_STRING, off, sl);
    }
    if (c == '{' || c == '[') {
        if (!fl_nested(f, 1))
            return false;
        size_t n = r->tb.len - off;
        return !bronze_buf_putc(&r->tb, 0) && push_ent(r, BRONZE_JV_NESTED, off, n);
    }
    if (c == 't' || c == 'f') {
        bool t = c == 't';
        if (!fl_literal(f, t ? "true" : "false", t ? 4 : 5))
            return false;
        kind = BRONZE_JV_BOOL;
    } else if (c == 'n') {
        if (!fl_literal(f, "null", 4))
            return false;
        kind = BRONZE_JV_NULL;
    } else {
        if (!fl_number(f, &frac))
            return false;
        kind = frac ? BRONZE_JV_NUMBER : BRONZE_JV_INT;
    }
    size_t n = f->i - vb;
    if (bronze_buf_append(&r->tb, f->p + vb, n) || bronze_buf_putc(&r->tb, 0))
        return false;
    return push_ent(r, kind, off, n);
}

/* One whole line p[0..n) (its newline included). true: queued as a record. */
static bool fast_line(bronze_json *r, const unsigned char *p, size_t n)
{
    fl f = {.r = r, .p = p, .n = n};
    size_t tb0 = r->tb.len, ent0 = r->nents;
    fl_ws(&f);
    if (f.i >= n || p[f.i] != '{')
        return false; /* blank lines and errors: yajl */
    f.i++;
    r->cur_ent = r->nents;
    r->cur_text = r->tb.len;
    fl_ws(&f);
    if (f.i < n && p[f.i] == '}') {
        f.i++;
    } else {
        for (;;) {
            fl_ws(&f);
            size_t kb, kl;
            if (f.i >= n || p[f.i] != '"' || !fl_string(&f, &kb, &kl))
                goto back;
            r->key_off = r->tb.len;
            r->key_len = kl;
            if (bronze_buf_append(&r->tb, p + kb, kl) || bronze_buf_putc(&r->tb, 0))
                goto back;
            fl_ws(&f);
            if (f.i >= n || p[f.i] != ':')
                goto back;
            f.i++;
            fl_ws(&f);
            if (f.i >= n || !fl_member_value(&f))
                goto back;
            fl_ws(&f);
            if (f.i >= n)
                goto back;
            if (p[f.i] == ',') {
                f.i++;
                continue;
            }
            if (p[f.i] != '}')
                goto back;
            f.i++;
            break;
        }
    }
    fl_ws(&f);
    if (f.i != n)
        goto back; /* a second value on the line: yajl says so */
    r->line_recs = 1;
    if (!push_rec(r))
        goto back;
    return true;
back:
    r->tb.len = tb0;
    r->nents = ent0;
    r->cur_ent = ent0;
    r->cur_text = tb0;
    r->fail_msg = NULL;
    return false;
}

/* ---- the side index (file_json.h) ---- */

static void put16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

static size_t get16(const unsigned char *p)
{
    return (size_t)p[0] | (size_t)p[1] << 8;
}

size_t bronze_json_index_entry(unsigned char *out, size_t n, const bronze_json_span *m, size_t nm)
{
    unsigned char *q = out + 2;
    if (!m || n >= 0xFFFF || nm > BRONZE_JSON_INDEX_MAX)
        goto parse;
    for (size_t i = 0; i < nm; i++, q += 8) {
        const bronze_json_span *e = &m[i];
        /* offsets below n < 0xFFFF fit 16 bits */
        if (e->key_len > 255 || e->key_off + e->key_len >= n || e->val_off + e->val_len >= n ||
            (unsigned)e->kind > BRONZE_JV_NESTED)
            goto parse;
        put16(q, e->key_off);
        q[2] = (unsigned char)e->key_len;
        q[3] = (unsigned char)e->kind;
        put16(q + 4, e->val_off);
        put16(q + 6, e->val_len);
    }
    put16(out, nm);
    return (size_t)(q - out);
parse:
    put16(out, BRONZE_JSON_INDEX_PARSE);
    return 2;
}

void bronze_json_set_index(bronze_json *r, bronze_input *idx)
{
    bronze_input_close(r->idx);
    r->idx = idx;
    r->ipos = r->ilen = 0;
}

/* At least `need` unread index bytes in ib. */
static int index_fill(bronze_json *r, size_t need, bronze_err *err)
{
    if (!r->ib && !(r->ib = malloc(INDEX_BUF)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    if (r->ilen - r->ipos >= need)
        return 0;
    memmove(r->ib, r->ib + r->ipos, r->ilen - r->ipos);
    r->ilen -= r->ipos;
    r->ipos = 0;
    while (r->ilen < need) {
        ssize_t got = bronze_input_read(r->idx, r->ib + r->ilen, INDEX_BUF - r->ilen, err);
        if (got < 0)
            return -1;
        if (got == 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: line %llu: the spool's index ends before its records",
                                  r->path, (unsigned long long)r->line);
        r->ilen += (size_t)got;
    }
    return 0;
}

/* The index entry of the line p[0..n) (its newline included), which every
 * line takes; when the line starts a record (fresh) and the entry lists its
 * members, the record is queued from it (1). 0: parse the line. */
static int index_line(bronze_json *r, const unsigned char *p, size_t n, bool fresh, bronze_err *err)
{
    if (index_fill(r, 2, err))
        return -1;
    size_t nm = get16(r->ib + r->ipos);
    r->ipos += 2;
    if (nm == BRONZE_JSON_INDEX_PARSE)
        return 0;
    if (nm > BRONZE_JSON_INDEX_MAX)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu: the spool's index is damaged",
                              r->path, (unsigned long long)r->line);
    if (index_fill(r, nm * 8, err))
        return -1;
    const unsigned char *q = r->ib + r->ipos;
    r->ipos += nm * 8;
    if (!fresh)
        return 0;
    jent *grown = bronze_grow(r->ents, &r->cap_ents, r->nents + nm, sizeof *grown, 64);
    if (!grown)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    r->ents = grown;
    size_t t0 = r->tb.len;
    if (bronze_buf_append(&r->tb, p, n))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    unsigned char *t = r->tb.data + t0;
    r->cur_ent = r->nents;
    r->cur_text = t0;
    for (size_t k = 0; k < nm; k++, q += 8) {
        size_t ko = get16(q), kl = q[2], kind = q[3], vo = get16(q + 4), vl = get16(q + 6);
        if (ko + kl >= n || vo + vl >= n || kind > BRONZE_JV_NESTED)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: line %llu: the spool's index does not match the line",
                                  r->path, (unsigned long long)r->line);
        /* the byte after a key or value (its quote, a comma, a brace) ends it */
        t[ko + kl] = 0;
        t[vo + vl] = 0;
        r->ents[r->nents++] = (jent){t0 + ko, kl, t0 + vo, vl, (bronze_json_kind)kind};
    }
    r->line_recs = 1;
    if (!push_rec(r))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    return 1;
}

/* What every parsed byte range b[from, to) of the chunk b[0..n) goes
 * through first, in order (b[origin] is at r->line, r->col0): yajl takes a
 * form feed and a vertical tab as whitespace, JSON does not (and a raw one
 * inside a string is a control character); lone surrogate escapes are
 * mended (fix_surrogates). */
static int pre_parse(bronze_json *r, unsigned char *b, size_t origin, size_t from, size_t to,
                     size_t n, bronze_err *err)
{
    const unsigned char *ff = memchr(b + from, '\f', to - from);
    const unsigned char *vt = memchr(b + from, '\v', to - from);
    if (ff || vt) {
        const unsigned char *at = !ff ? vt : !vt ? ff : ff < vt ? ff : vt;
        return pos_error_from(r, origin, (size_t)(at - b),
                              "invalid JSON: a form feed or vertical tab (JSON whitespace is "
                              "space, tab, CR and LF)",
                              err);
    }
    fix_surrogates(r, b, from, to, n);
    return 0;
}

/* Reads and parses one more chunk. Returns 0 (ok, maybe finished), -1 on error. */
static int feed_chunk(bronze_json *r, bronze_err *err)
{
    size_t keep = r->carry, recs0 = r->nrecs;
    ssize_t got = bronze_input_read(r->in, r->buf + keep, r->buf_cap - keep, err);
    if (got < 0)
        return -1;
    bool eof = got == 0;
    size_t n = keep + (size_t)got, start = 0;
    unsigned char *b = r->buf;
    if (!r->bom_done) {
        if (n < 3 && !eof) {
            r->carry = n;
            return 0;
        }
        r->bom_done = true;
        if (n >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3))
            start = 3; /* a UTF-8 byte order mark */
    }
    size_t to = eof ? n : hold_point(b, n);
    if (to < start)
        to = start;
    /* With a side index, a line cut by the chunk's end waits for the next
     * chunk (its entry lists it whole) instead of going through yajl; a line
     * longer than the buffer still does. */
    bool indexed = r->idx && !r->array_form;
    if (!eof && indexed) {
        const unsigned char *nl = memrchr(b + start, '\n', to - start);
        if (nl)
            to = (size_t)(nl - b) + 1;
    }
    /* With a side index, only the lines it does not list are parsed, and
     * only they are checked (below). */
    if (!indexed && pre_parse(r, b, 0, start, to, n, err))
        return -1;
    if (!r->saw_content && !all_space(b + start, to - start))
        r->saw_content = true;
    if (r->array_form) {
        if (to > start && feed(r, start, to - start, err))
            return -1;
        for (size_t i = start; i < to; i++) {
            r->col0++;
            if (b[i] == '\n') {
                r->line++;
                r->col0 = 0;
            }
        }
    } else {
        size_t off = start;
        while (off < to) {
            const unsigned char *nl = memchr(b + off, '\n', to - off);
            size_t len = nl ? (size_t)(nl - (b + off)) + 1 : to - off;
            bool fresh = nl && r->depth == 0 && r->col0 == 0;
            int ix = nl && indexed ? index_line(r, b + off, len, fresh, err) : 0;
            if (ix < 0)
                return -1;
            if (!ix && indexed && pre_parse(r, b, off, off, off + len, n, err))
                return -1;
            if (!ix && !(fresh && !r->slow_lines && fast_line(r, b + off, len)) &&
                feed(r, off, len, err))
                return -1;
            off += len;
            if (!nl) {
                r->col0 += len;
                break;
            }
            if (r->depth)
                return eof_error(r,
                                 "incomplete JSON object at the end of the line (JSON Lines "
                                 "need one whole object per line)",
                                 err);
            r->line++;
            r->col0 = 0;
            r->line_recs = 0;
        }
    }
    r->base_off += to;
    memmove(b, b + to, n - to);
    r->carry = n - to;
    r->norec_bytes = r->nrecs == recs0 ? r->norec_bytes + (size_t)got : 0;
    if (!eof && r->norec_bytes >= r->buf_cap && r->buf_cap < JSON_CHUNK_MAX) {
        unsigned char *nb = realloc(r->buf, r->buf_cap * 2);
        if (!nb)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
        r->buf = nb;
        r->buf_cap *= 2;
    }
    return eof ? finish(r, err) : 0;
}

/* Drops the consumed records; the record being parsed moves to the front. */
static void compact(bronze_json *r)
{
    size_t t0 = r->cur_text, e0 = r->cur_ent;
    if (t0 == 0 && e0 == 0) {
        r->nrecs = r->rpos = 0;
        return;
    }
    memmove(r->tb.data, r->tb.data + t0, r->tb.len - t0);
    r->tb.len -= t0;
    memmove(r->ents, r->ents + e0, (r->nents - e0) * sizeof *r->ents);
    r->nents -= e0;
    for (size_t i = 0; i < r->nents; i++) {
        r->ents[i].key_off -= t0;
        r->ents[i].val_off -= t0;
    }
    r->key_off = r->key_off >= t0 ? r->key_off - t0 : 0;
    r->nest_start = r->nest_start >= t0 ? r->nest_start - t0 : 0;
    r->cur_text = 0;
    r->cur_ent = 0;
    r->nrecs = r->rpos = 0;
}

int bronze_json_next(bronze_json *r, const bronze_json_field **fields, size_t *nfields,
                     bronze_err *err)
{
    while (r->rpos == r->nrecs) {
        if (r->done)
            return 0;
        compact(r);
        if (feed_chunk(r, err))
            return -1;
    }
    jrec rec = r->recs[r->rpos++];
    r->last_line = rec.line;
    r->last_num = rec.num;
    size_t n = rec.end - rec.begin;
    bronze_json_field *o = bronze_grow(r->out, &r->cap_out, n, sizeof *o, 16);
    if (!o)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
    r->out = o;
    const char *t = (const char *)r->tb.data;
    for (size_t i = 0; i < n; i++) {
        const jent *e = &r->ents[rec.begin + i];
        r->out[i] =
            (bronze_json_field){t + e->key_off, e->key_len, e->kind, t + e->val_off, e->val_len};
    }
    *fields = r->out;
    *nfields = n;
    return 1;
}
