/* roller.c - part-file cutting across formats (see roller.h). */
#include "run/roller.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/names.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/utf8.h"

struct bronze_text_fix {
    bronze_buf data;
    uint64_t *off;
    size_t off_cap;
};

int bronze_sha256_file(const char *path, char out[65], bronze_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "hashing %s: %s", path, strerror(errno));
    bronze_sha256 h;
    if (bronze_sha256_begin(&h)) {
        bronze_sha256_free(&h);
        close(fd);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "hashing %s: OpenSSL SHA-256 unavailable",
                              path);
    }
    static _Thread_local unsigned char buf[1 << 18];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            bronze_sha256_update(&h, buf, (size_t)r);
    int e = errno;
    close(fd);
    const char *hex = r < 0 ? NULL : bronze_sha256_end(&h);
    if (hex)
        memcpy(out, hex, 65);
    bronze_sha256_free(&h);
    if (r < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "hashing %s: %s", path, strerror(e));
    if (!hex)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "hashing %s: OpenSSL SHA-256 failed", path);
    return 0;
}

int bronze_roller_init(bronze_roller *r, const char *tmp_dir, unsigned formats,
                       const bronze_encoder_opts *opts, int64_t max_rows, unsigned first_part,
                       bronze_err *err)
{
    memset(r, 0, sizeof *r);
    if (formats & 1)
        r->vts[r->nvt++] = &bronze_encoder_csv;
    if (formats & 2)
        r->vts[r->nvt++] = &bronze_encoder_parquet;
    r->opts = *opts;
    r->max_rows = max_rows;
    r->first_part = r->next_part = first_part ? first_part : 1;
    r->shard = -1;
    r->part_lines = true;
    r->tmp_dir = strdup(tmp_dir);
    if (!r->tmp_dir)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    return 0;
}

/* One warning line naming every renamed column and why. NULL on OOM. */
static char *rename_note(const bronze_schema *out, size_t renamed)
{
    bronze_buf b = BRONZE_BUF_INIT;
    bronze_buf_printf(&b, "%zu column(s) renamed for the output (SPEC §7):", renamed);
    size_t k = 0;
    for (size_t i = 0; i < out->ncols; i++) {
        const bronze_field *f = &out->fields[i];
        if (!f->source_name)
            continue;
        /* the same name exactly as another column's in the source */
        bool repeated = false;
        for (size_t j = 0; j < out->ncols && !repeated; j++) {
            const bronze_field *g = &out->fields[j];
            repeated = j != i && !strcmp(g->source_name ? g->source_name : g->name, f->source_name);
        }
        bronze_buf_printf(&b, "%s '%s' -> '%s' (%s)", k++ ? "," : "", f->source_name, f->name,
                          !f->source_name[0]                        ? "an empty name"
                          : bronze_name_is_path_key(f->source_name) ? "a key of the output path"
                          : repeated                                ? "a name another column has"
                                     : "same name as another column, ignoring case");
    }
    if (bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

int bronze_roller_set_schema(bronze_roller *r, const bronze_schema *schema)
{
    bronze_schema_free(r->out_schema);
    r->out_schema = NULL;
    r->schema = NULL;
    size_t renamed = 0;
    r->out_schema = schema ? bronze_schema_output_names(schema, &renamed) : NULL;
    if (schema && !r->out_schema) {
        r->schema_oom = true;
        return -1;
    }
    r->schema_oom = false;
    r->schema = r->out_schema;
    if (!renamed)
        return 0;
    char *note = rename_note(r->out_schema, renamed);
    if (!note) {
        r->schema_oom = true;
        return -1;
    }
    /* once per run: a restart with the same names says nothing new */
    if (!r->rename_note || strcmp(r->rename_note, note))
        BRONZE_WARN("%s", note);
    free(r->rename_note);
    r->rename_note = note;
    return 0;
}

void bronze_roller_set_text_policy(bronze_roller *r, const bronze_config *cfg)
{
    r->text_replace = cfg->run.invalid_utf8 == BRONZE_UTF8_REPLACE;
    r->text_from_file = cfg->type == BRONZE_SRC_FILE;
    r->text_where = cfg->path;
}

/* True when every value of a var-len column is valid UTF-8: one pass over
 * the whole arena, then each non-empty value must start on a character
 * (not on a continuation byte), so no character spans two values. */
static bool column_is_utf8(const bronze_column *c, size_t rows)
{
    size_t end = (size_t)c->v.off[rows];
    if (!end)
        return true;
    const unsigned char *d = (const unsigned char *)c->data;
    if (bronze_utf8_check(d, end) != end)
        return false;
    for (size_t i = 0; i < rows; i++) {
        size_t o = (size_t)c->v.off[i];
        if (o < (size_t)c->v.off[i + 1] && (d[o] & 0xC0) == 0x80)
            return false;
    }
    return true;
}

static int text_error(bronze_roller *r, const bronze_batch *b, size_t col, bronze_err *err)
{
    const bronze_column *c = &b->cols[col];
    const bronze_field *f = &b->schema->fields[col];
    size_t row = 0, at = 0, n = 0;
    const unsigned char *v = NULL;
    for (row = 0; row < b->nrows; row++) {
        v = (const unsigned char *)bronze_col_str(c, row, &n);
        if ((at = bronze_utf8_check(v, n)) < n)
            break;
    }
    if (row == b->nrows)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "internal: no invalid value in column %s",
                              f->name);
    char ty[48];
    bronze_field_type_text(f, ty, sizeof ty);
    char fix[320];
    if (r->text_from_file)
        snprintf(fix, sizeof fix,
                 "convert the file to UTF-8 or name its encoding "
                 "(source.file.encoding)");
    else
        snprintf(fix, sizeof fix, "read it as bytes in source.db.base_query (CAST(\"%s\" AS BLOB))",
                 f->name);
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s%srow %llu, column '%s' (%s): text that is not valid UTF-8 (byte "
                          "0x%02X at byte %zu of the value); %s, or set "
                          "source.run.invalid_utf8: replace to write U+FFFD instead",
                          r->text_where ? r->text_where : "", r->text_where ? ": " : "",
                          (unsigned long long)(r->total_rows + row + 1), f->name, ty, v[at], at,
                          fix);
}

/* Column col of b with U+FFFD in place of every ill-formed subpart, into
 * r->fix[col]; the shadow batch points at it. */
static int repair_column(bronze_roller *r, const bronze_batch *b, size_t col)
{
    struct bronze_text_fix *x = &r->fix[col];
    const bronze_column *c = &b->cols[col];
    size_t rows = b->nrows;
    if (x->off_cap < rows + 1) {
        uint64_t *o = realloc(x->off, (rows + 1) * sizeof *o);
        if (!o)
            return -1;
        x->off = o;
        x->off_cap = rows + 1;
    }
    x->data.len = 0;
    x->off[0] = 0;
    uint64_t before = r->replaced_utf8;
    for (size_t i = 0; i < rows; i++) {
        size_t n;
        const char *v = bronze_col_str(c, i, &n);
        if (bronze_utf8_repair(&x->data, v, n, &r->replaced_utf8))
            return -1;
        x->off[i + 1] = x->data.len;
    }
    bronze_column *sc = &r->shadow_cols[col];
    sc->v.off = x->off;
    sc->data = (char *)x->data.data;
    sc->data_len = x->data.len;
    sc->data_cap = x->data.cap;
    BRONZE_DEBUG("column '%s': %llu invalid UTF-8 sequence(s) replaced with U+FFFD",
                 b->schema->fields[col].name, (unsigned long long)(r->replaced_utf8 - before));
    return 0;
}

/* The text check of the roller.h comment. *use is b, or the shadow batch
 * when a column had to be repaired. */
static int check_text(bronze_roller *r, const bronze_batch *b, const bronze_batch **use,
                      bronze_err *err)
{
    *use = b;
    const bronze_schema *sc = b->schema;
    bool shadowed = false;
    for (size_t i = 0; i < sc->ncols; i++) {
        bronze_type t = sc->fields[i].type;
        if ((t != BRONZE_T_STRING && t != BRONZE_T_JSON) || column_is_utf8(&b->cols[i], b->nrows))
            continue;
        if (!r->text_replace)
            return text_error(r, b, i, err);
        if (!shadowed) {
            if (r->nfix < sc->ncols) {
                struct bronze_text_fix *f = realloc(r->fix, sc->ncols * sizeof *f);
                if (!f)
                    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                memset(f + r->nfix, 0, (sc->ncols - r->nfix) * sizeof *f);
                r->fix = f;
                bronze_column *cols = realloc(r->shadow_cols, sc->ncols * sizeof *cols);
                if (!cols)
                    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                r->shadow_cols = cols;
                r->nfix = sc->ncols;
            }
            memcpy(r->shadow_cols, b->cols, sc->ncols * sizeof *r->shadow_cols);
            r->shadow = *b;
            r->shadow.cols = r->shadow_cols;
            shadowed = true;
        }
        if (repair_column(r, b, i))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    if (shadowed)
        *use = &r->shadow;
    return 0;
}

static int open_part(bronze_roller *r, bronze_err *err)
{
    if (r->schema_oom || !r->schema)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              r->schema_oom ? "out of memory" : "roller: no schema set");
    for (int i = 0; i < r->nvt; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/part-%04u%s.%s", r->tmp_dir, r->next_part, r->name_suffix,
                 r->vts[i]->ext);
        if (r->vts[i]->open(&r->enc[i], path, r->schema, &r->opts, err)) {
            for (int j = 0; j <= i; j++) {
                if (r->enc[j])
                    r->vts[j]->destroy(r->enc[j]);
                r->enc[j] = NULL;
            }
            return -1;
        }
    }
    r->part_open = true;
    r->part_rows = 0;
    return 0;
}

static int add_file(bronze_roller *r, int i, uint64_t bytes, const char *sha, bronze_err *err)
{
    if (r->nfiles == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        bronze_part_file *f = realloc(r->files, cap * sizeof *f);
        if (!f)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        r->files = f;
        r->cap = cap;
    }
    bronze_part_file *f = &r->files[r->nfiles];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "part-%04u%s.%s", r->next_part, r->name_suffix,
             r->vts[i]->ext);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", r->tmp_dir, f->name);
    f->staged_path = strdup(path);
    f->format = r->vts[i]->ext;
    f->shard = r->shard;
    f->rows = r->part_rows;
    f->bytes = bytes;
    if (!f->staged_path)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    r->nfiles++;
    if (sha)
        memcpy(f->sha256, sha, 65);
    else if (bronze_sha256_file(path, f->sha256, err))
        return -1;
    r->total_bytes += bytes;
    return 0;
}

static int close_part(bronze_roller *r, bronze_err *err)
{
    if (!r->part_open)
        return 0;
    int rc = 0;
    for (int i = 0; i < r->nvt; i++) {
        uint64_t bytes = 0;
        char sha[65] = {0};
        if (!rc && r->vts[i]->finish(r->enc[i], &bytes, err))
            rc = -1;
        const char *h = !rc && r->vts[i]->sha256 ? r->vts[i]->sha256(r->enc[i]) : NULL;
        if (h)
            memcpy(sha, h, 65);
        r->vts[i]->destroy(r->enc[i]);
        r->enc[i] = NULL;
        if (!rc && add_file(r, i, bytes, h ? sha : NULL, err))
            rc = -1;
    }
    if (!rc && r->part_lines)
        BRONZE_DEBUG("Chunk %u completed successfully (%llu rows)",
                     r->next_part - r->first_part + 1, (unsigned long long)r->part_rows);
    r->part_open = false;
    r->parts++;
    r->next_part++;
    return rc;
}

int bronze_roller_write(bronze_roller *r, const bronze_batch *src, bronze_err *err)
{
    const bronze_batch *b;
    if (check_text(r, src, &b, err))
        return -1;
    size_t off = 0, n = b->nrows;
    while (off < n) {
        if (!r->part_open && open_part(r, err))
            return -1;
        size_t want = n - off;
        if (r->max_rows > 0 && (uint64_t)want > (uint64_t)r->max_rows - r->part_rows)
            want = (size_t)((uint64_t)r->max_rows - r->part_rows);
        size_t k = want;
        for (int i = 0; i < r->nvt && k; i++) {
            size_t fit = r->vts[i]->fit(r->enc[i], b, off, k, err);
            if (fit == (size_t)-1)
                return -1;
            if (fit < k)
                k = fit;
        }
        if (k == 0) {
            if (r->part_rows == 0)
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "row %llu is larger than source.run.max_file_size_mb (%.3f "
                                      "MiB) on its own; raise the limit",
                                      (unsigned long long)(r->total_rows + off + 1),
                                      (double)r->opts.max_bytes / 1048576.0);
            if (close_part(r, err))
                return -1;
            continue;
        }
        for (int i = 0; i < r->nvt; i++)
            if (r->vts[i]->write(r->enc[i], b, off, k, err))
                return -1;
        r->part_rows += k;
        off += k;
        if (k < want || (r->max_rows > 0 && r->part_rows == (uint64_t)r->max_rows))
            if (close_part(r, err))
                return -1;
    }
    r->total_rows += n;
    return 0;
}

int bronze_roller_finish(bronze_roller *r, bronze_err *err)
{
    return close_part(r, err);
}

void bronze_roller_discard(bronze_roller *r)
{
    for (int i = 0; i < r->nvt; i++) {
        if (r->enc[i])
            r->vts[i]->destroy(r->enc[i]);
        r->enc[i] = NULL;
    }
    if (r->part_open)
        for (int i = 0; i < r->nvt; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/part-%04u%s.%s", r->tmp_dir, r->next_part,
                     r->name_suffix, r->vts[i]->ext);
            unlink(path);
        }
    for (size_t i = 0; i < r->nfiles; i++) {
        unlink(r->files[i].staged_path);
        free(r->files[i].staged_path);
    }
    r->nfiles = 0;
    r->part_open = false;
    r->next_part = r->first_part;
    r->total_rows = r->total_bytes = r->parts = 0;
    r->replaced_utf8 = 0;
}

void bronze_roller_free(bronze_roller *r)
{
    bronze_roller_discard(r);
    for (size_t i = 0; i < r->nfix; i++) {
        bronze_buf_free(&r->fix[i].data);
        free(r->fix[i].off);
    }
    free(r->fix);
    free(r->shadow_cols);
    free(r->files);
    free(r->tmp_dir);
    bronze_schema_free(r->out_schema);
    free(r->rename_note);
    memset(r, 0, sizeof *r);
}
