/*
 * csv.c - the CSV encoder (SPEC §7 "CSV output"): RFC 4180, UTF-8, header row,
 * "\n" line ends; NULL is an empty field and the empty string is "". A field
 * is quoted when it is empty or holds the delimiter, a quote, CR or LF.
 *
 * Size control is exact: fit() formats the candidate rows into the encoder's
 * buffer and counts bytes; write() then takes the already formatted rows
 * (the same batch slice), so each row is formatted once. Output goes through
 * a 1 MiB buffer: no per-row syscalls.
 */
#include <stdlib.h>
#include <string.h>

#include "format/encoder.h"
#include "format/value_text.h"
#include "util/buf.h"
#include "util/out_file.h"

struct bronze_encoder {
    bronze_out_file file; /* written, hashed (CSV never rewrites) */
    char *path;
    const bronze_schema *schema;
    uint64_t max_bytes;
    bronze_buf out;  /* formatted, not yet flushed (committed rows only) */
    bronze_buf cell; /* scratch for one value */
    /* rows formatted by fit() but not yet written: */
    bronze_buf pending;
    const bronze_batch *p_batch;
    size_t p_off, p_rows;
    size_t *p_ends; /* end offset in `pending` of each formatted row */
    size_t p_cap;
};

static bool needs_quotes(const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
            return true;
    return false;
}

static int put_field(bronze_buf *out, const uint8_t *p, size_t n, bool text)
{
    if (!text || !needs_quotes(p, n))
        return bronze_buf_append(out, p, n);
    if (bronze_buf_reserve(out, n * 2 + 2))
        return -1;
    out->data[out->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            out->data[out->len++] = '"';
        out->data[out->len++] = p[i];
    }
    out->data[out->len++] = '"';
    return 0;
}

static int format_row(bronze_encoder *e, const bronze_batch *b, size_t row, bronze_buf *out)
{
    for (size_t c = 0; c < e->schema->ncols; c++) {
        if (c && bronze_buf_putc(out, ','))
            return -1;
        const bronze_column *col = &b->cols[c];
        if (!bronze_batch_is_valid(col, row))
            continue;
        const bronze_field *f = &e->schema->fields[c];
        bool text = f->type == BRONZE_T_STRING || f->type == BRONZE_T_JSON;
        if (text) {
            size_t len;
            const char *p = bronze_col_str(col, row, &len);
            if (put_field(out, (const uint8_t *)p, len, true))
                return -1;
        } else {
            if (bronze_value_text(f, col, row, out))
                return -1;
        }
    }
    return bronze_buf_putc(out, '\n');
}

static int flush_out(bronze_encoder *e, bronze_err *err)
{
    size_t n = e->out.len;
    e->out.len = 0;
    return bronze_out_file_write(&e->file, e->out.data, n, err);
}

static int csv_open(bronze_encoder **out, const char *path, const bronze_schema *schema,
                    const bronze_encoder_opts *opts, bronze_err *err)
{
    bronze_encoder *e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(path))) {
        free(e);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    e->schema = schema;
    e->max_bytes = opts->max_bytes;
    if (bronze_out_file_open(&e->file, e->path, opts->drop_written, err)) {
        bronze_out_file_free(&e->file);
        free(e->path);
        free(e);
        return -1;
    }
    for (size_t c = 0; c < schema->ncols; c++) {
        const char *nm = schema->fields[c].name;
        if ((c && bronze_buf_putc(&e->out, ',')) ||
            put_field(&e->out, (const uint8_t *)nm, strlen(nm), true))
            goto oom;
    }
    if (bronze_buf_putc(&e->out, '\n'))
        goto oom;
    *out = e;
    return 0;
oom:
    *out = e;
    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
}

static uint64_t used(const bronze_encoder *e)
{
    return e->file.written + e->out.len;
}

static size_t csv_fit(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                      bronze_err *err)
{
    if (!e->max_bytes)
        return n;
    e->pending.len = 0;
    e->p_batch = b;
    e->p_off = off;
    e->p_rows = 0;
    if (n > e->p_cap) {
        size_t *p = realloc(e->p_ends, n * sizeof *p);
        if (!p) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            return (size_t)-1;
        }
        e->p_ends = p;
        e->p_cap = n;
    }
    uint64_t base = used(e);
    for (size_t i = 0; i < n; i++) {
        if (format_row(e, b, off + i, &e->pending)) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            return (size_t)-1;
        }
        if (base + e->pending.len > e->max_bytes)
            break;
        e->p_ends[e->p_rows++] = e->pending.len;
    }
    /* An empty part (header only) that cannot take one row: report 0. */
    return e->p_rows;
}

static int csv_write(bronze_encoder *e, const bronze_batch *b, size_t off, size_t n,
                     bronze_err *err)
{
    if (e->max_bytes && e->p_batch == b && e->p_off == off && n <= e->p_rows) {
        size_t len = n ? e->p_ends[n - 1] : 0;
        if (bronze_buf_append(&e->out, e->pending.data, len))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        e->p_batch = NULL;
        e->p_rows = 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (format_row(e, b, off + i, &e->out))
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            if (e->out.len >= (1u << 20) && flush_out(e, err))
                return -1;
        }
    }
    if (e->out.len >= (1u << 20))
        return flush_out(e, err);
    return 0;
}

static int csv_finish(bronze_encoder *e, uint64_t *bytes, bronze_err *err)
{
    if (flush_out(e, err) || bronze_out_file_close(&e->file, err))
        return -1;
    *bytes = e->file.written;
    return 0;
}

static const char *csv_sha256(bronze_encoder *e)
{
    return bronze_out_file_sha256(&e->file);
}

static void csv_destroy(bronze_encoder *e)
{
    if (!e)
        return;
    bronze_out_file_free(&e->file);
    bronze_buf_free(&e->out);
    bronze_buf_free(&e->cell);
    bronze_buf_free(&e->pending);
    free(e->p_ends);
    free(e->path);
    free(e);
}

const bronze_encoder_vt bronze_encoder_csv = {
    .ext = "csv",
    .open = csv_open,
    .fit = csv_fit,
    .write = csv_write,
    .finish = csv_finish,
    .sha256 = csv_sha256,
    .destroy = csv_destroy,
};
