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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "util/buf.h"

#define JSON_CHUNK (16 * 1024)

typedef struct jent {
    size_t key_off, key_len, val_off, val_len;
    bronze_json_kind kind;
} jent;

typedef struct jrec {
    size_t begin, end; /* entries [begin, end) */
} jrec;

struct bronze_json {
    char *path;
    int fd;
    bool array_form;
    bool done;        /* end of input reached and finished */
    bool saw_content; /* a non-whitespace byte was fed */
    yajl_handle h;
    unsigned char *buf;

    /* Position of the piece being fed, for messages. */
    uint64_t base_off;    /* absolute offset of buf[0] */
    uint64_t line;        /* JSON: line of buf[0]; JSON Lines: the current line */
    uint64_t col0;        /* bytes of that line before buf[0] (or before the piece) */
    size_t piece_off;     /* offset of the piece inside buf */
    const char *fail_msg; /* set by a callback that stopped the parse */
    char fail_buf[160];

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
};

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
    if (r->nents == r->cap_ents) {
        size_t cap = r->cap_ents ? r->cap_ents * 2 : 64;
        jent *e = realloc(r->ents, cap * sizeof *e);
        if (!e)
            return oom(r);
        r->ents = e;
        r->cap_ents = cap;
    }
    r->ents[r->nents++] = (jent){r->key_off, r->key_len, val_off, val_len, kind};
    r->have_key = false;
    return 1;
}

static int push_rec(bronze_json *r)
{
    if (r->nrecs == r->cap_recs) {
        size_t cap = r->cap_recs ? r->cap_recs * 2 : 64;
        jrec *e = realloc(r->recs, cap * sizeof *e);
        if (!e)
            return oom(r);
        r->recs = e;
        r->cap_recs = cap;
    }
    r->recs[r->nrecs++] = (jrec){r->cur_ent, r->nents};
    r->cur_ent = r->nents;
    r->cur_text = r->tb.len;
    r->nrec_total++;
    return 1;
}

/* Appends s as a JSON string literal (compact, only what must be escaped). */
static int put_json_string(bronze_json *r, const unsigned char *s, size_t n)
{
    if (!tb_putc(r, '"'))
        return 0;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (!tb_put(r, s + run, i - run))
            return 0;
        char esc[8];
        size_t k;
        switch (c) {
        case '"':
            k = (size_t)snprintf(esc, sizeof esc, "\\\"");
            break;
        case '\\':
            k = (size_t)snprintf(esc, sizeof esc, "\\\\");
            break;
        case '\n':
            k = (size_t)snprintf(esc, sizeof esc, "\\n");
            break;
        case '\r':
            k = (size_t)snprintf(esc, sizeof esc, "\\r");
            break;
        case '\t':
            k = (size_t)snprintf(esc, sizeof esc, "\\t");
            break;
        case '\b':
            k = (size_t)snprintf(esc, sizeof esc, "\\b");
            break;
        case '\f':
            k = (size_t)snprintf(esc, sizeof esc, "\\f");
            break;
        default:
            k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        }
        if (!tb_put(r, esc, k))
            return 0;
        run = i + 1;
    }
    return tb_put(r, s + run, n - run) && tb_putc(r, '"');
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
    return scalar(ctx, BRONZE_JV_NULL, "null", 4);
}

static int on_boolean(void *ctx, int b)
{
    return scalar(ctx, BRONZE_JV_BOOL, b ? "true" : "false", b ? 4 : 5);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    bool frac = false;
    for (size_t i = 0; i < n && !frac; i++)
        frac = s[i] == '.' || s[i] == 'e' || s[i] == 'E';
    return scalar(ctx, frac ? BRONZE_JV_NUMBER : BRONZE_JV_INT, s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
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
    if (r->depth == r->rd) { /* the record is complete */
        r->depth--;
        return push_rec(r);
    }
    return close_nested(r, '}');
}

static int on_start_array(void *ctx)
{
    bronze_json *r = ctx;
    if (r->array_form && r->depth == 0) {
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
    if (r->array_form && r->depth == 1) {
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

int bronze_json_open(bronze_json **out, const char *path, bool array_form, bronze_err *err)
{
    *out = NULL;
    bronze_json *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || !(r->buf = malloc(JSON_CHUNK))) {
        if (r)
            free(r->path);
        free(r);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", path);
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        bronze_json_close(r);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot open: %s", path, strerror(e));
    }
    r->array_form = array_form;
    r->rd = array_form ? 2 : 1;
    r->line = 1;
    r->h = yajl_alloc(&callbacks, NULL, r);
    if (!r->h) {
        bronze_json_close(r);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", path);
    }
    if (!array_form)
        yajl_config(r->h, yajl_allow_multiple_values, 1);
    *out = r;
    return 0;
}

void bronze_json_close(bronze_json *r)
{
    if (!r)
        return;
    if (r->h)
        yajl_free(r->h);
    if (r->fd >= 0)
        close(r->fd);
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

/* The error for a failed yajl_parse of buf[piece_off, piece_off+len). */
static int parse_error(bronze_json *r, yajl_status st, size_t consumed, bronze_err *err)
{
    char msg[256];
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
    size_t at = e ? e - 1 : 0;
    uint64_t line = r->line, col = r->col0;
    size_t ls = 0;
    for (size_t i = 0; i < at; i++)
        if (r->buf[i] == '\n') {
            line++;
            ls = i + 1;
        }
    col = (ls ? 0 : col) + (at - ls) + 1;
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu (byte %llu): %s",
                          r->path, (unsigned long long)line, (unsigned long long)col,
                          (unsigned long long)(r->base_off + at), msg);
}

static int eof_error(bronze_json *r, const char *msg, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: line %llu, column %llu: %s", r->path,
                          (unsigned long long)r->line, (unsigned long long)r->col0 + 1, msg);
}

static int feed(bronze_json *r, size_t off, size_t n, bronze_err *err)
{
    r->piece_off = off;
    r->fail_msg = NULL;
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
    if (!r->saw_content)
        return 0; /* an empty file: no records */
    if (!r->array_form && r->depth)
        return eof_error(r, "incomplete JSON object at the end of the file", err);
    r->fail_msg = NULL;
    yajl_status st = yajl_complete_parse(r->h);
    if (st == yajl_status_ok)
        return 0;
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

/* Reads and parses one more chunk. Returns 0 (ok, maybe finished), -1 on error. */
static int feed_chunk(bronze_json *r, bronze_err *err)
{
    ssize_t got;
    do
        got = read(r->fd, r->buf, JSON_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: read failed: %s", r->path,
                              strerror(errno));
    if (got == 0)
        return finish(r, err);
    size_t n = (size_t)got, start = 0;
    if (r->base_off == 0 && n >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3))
        start = 3; /* a UTF-8 byte order mark (a whole chunk is read, so it is all here) */
    if (!r->saw_content && !all_space(r->buf + start, n - start))
        r->saw_content = true;
    if (r->array_form) {
        if (feed(r, start, n - start, err))
            return -1;
        for (size_t i = start; i < n; i++) {
            r->col0++;
            if (r->buf[i] == '\n') {
                r->line++;
                r->col0 = 0;
            }
        }
    } else {
        size_t off = start;
        while (off < n) {
            const unsigned char *nl = memchr(r->buf + off, '\n', n - off);
            size_t len = nl ? (size_t)(nl - (r->buf + off)) + 1 : n - off;
            if (feed(r, off, len, err))
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
    r->base_off += n;
    return 0;
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
    size_t n = rec.end - rec.begin;
    if (n > r->cap_out) {
        size_t cap = r->cap_out ? r->cap_out : 16;
        while (cap < n)
            cap *= 2;
        bronze_json_field *o = realloc(r->out, cap * sizeof *o);
        if (!o)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", r->path);
        r->out = o;
        r->cap_out = cap;
    }
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
