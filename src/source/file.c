/*
 * file.c - the `type: file` source (SPEC §3 source.file, §4, §7 "File
 * sources"): a file or glob of CSV, JSON Lines or JSON-array files, read as
 * one table with one schema per batch.
 *
 * Shape:
 *   open()  globs the path (sorted), checks every file is readable, reads
 *           every CSV header (the schema is the union of the headers, by
 *           name, in first-seen order) and votes on types over the first
 *           20,480 data rows across the files (the "sample").
 *   next()  streams from the first file, decoding each value with its
 *           column's type. A value that does not fit (2.5 in an INT64
 *           column, a JSON key not seen yet) widens the column; the source
 *           then reads the rest of the input once, only voting (so every
 *           later widening is found in the same pass and a second restart is
 *           never needed), rewinds and returns BRONZE_SRC_RESTART.
 *
 * Types are a small lattice of votes (K_*): each non-NULL value votes for
 * the narrowest kind that holds it exactly; a column's type is resolve() of
 * its votes: one kind -> that type, INT64 with DOUBLE -> DOUBLE, anything
 * else (or only NULLs) -> STRING. Decisions worth knowing:
 *   - NaN / inf / infinity (any case, signed) vote "float special": they
 *     join INT64 or DOUBLE columns as DOUBLE, but alone or with anything
 *     else stay text.
 *   - An integer beyond int64 or a number beyond double's range votes
 *     STRING, so its exact text is kept. Leading zeros (08123, -01, 00.5)
 *     are text; 0, -0, 0.5 are numbers. No whitespace trimming: " 5" is text.
 *   - Timestamps with more than 6 fraction digits are text (lossless).
 *     DATE and TIMESTAMP do not mix (-> STRING), nor TIMESTAMP and
 *     TIMESTAMPTZ.
 *   - Quoted CSV fields are typed like unquoted ones ("42" is INT64), except
 *     that a quoted "" is the empty string (a STRING vote), never NULL.
 *   - JSON strings are never guessed (always STRING); nested values are
 *     their compact JSON text.
 *   - A column without any non-NULL value in the sample is STRING (that
 *     includes a CSV column only found in files the sample did not reach:
 *     it is NULL in every sampled row). A JSON key first seen after the
 *     sample is typed from all of its values (the scan before the restart).
 *   - A CSV blank line is skipped when the file has two or more columns; in
 *     a one-column file it is a NULL value. Empty header names become
 *     columnN, repeated ones name_2, name_3 (per file, before the union).
 *   - A key repeated inside one JSON object: the last value wins.
 *   - No columns at all (empty files, only {} records): no rows.
 * The batch is the only per-row storage; values are decoded straight from
 * the reader's buffers into it (no per-value allocation).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "source/file_csv.h"
#include "source/file_csv_par.h"
#include "source/file_json.h"
#include "source/input.h"
#include "source/source.h"
#include "util/copy.h"
#include "util/datetime.h"
#include "util/digits.h"
#include "util/log.h"
#include "util/utf8.h"

#define SAMPLE_ROWS 20480
/* At most this many columns (SPEC §7 "File sources"): a batch holds every
 * column of every row, so a file whose keys never repeat (one new key per
 * record) would otherwise grow rows x columns. */
#define MAX_COLUMNS 10000
#define MAX_RESTARTS 16

/* Votes. */
enum {
    K_BOOL = 1 << 0,
    K_INT = 1 << 1,
    K_DOUBLE = 1 << 2,
    K_FSPECIAL = 1 << 3, /* NaN, inf */
    K_DATE = 1 << 4,
    K_TS = 1 << 5,
    K_TSTZ = 1 << 6,
    K_STRING = 1 << 7,
};

/* What a reader handed over for one column of one row. */
enum {
    C_NULL = 0,
    C_TEXT,  /* CSV field: its type is guessed */
    C_STR,   /* JSON string or nested value: always text */
    C_JBOOL, /* JSON true/false */
    C_JINT,  /* JSON integer, as written */
    C_JNUM,  /* JSON number with fraction/exponent, as written */
};

typedef struct cell {
    int kind;
    const char *p; /* NUL-terminated */
    size_t len;
} cell;

typedef union gval {
    bool b;
    int64_t i; /* INT64, TIMESTAMP(TZ) micros */
    double d;
    int32_t days;
} gval;

typedef struct fcol {
    char *key; /* the header name or JSON key (for matching) */
    size_t key_len;
    char *orig;       /* the CSV header's own name when key differs (empty, repeated), else NULL */
    unsigned mask;    /* votes so far */
    bronze_type type; /* the type in the current schema */
} fcol;

struct bronze_source {
    const bronze_config *cfg;
    bronze_file_format format;
    char delim;
    bool header;
    char **files;  /* as matched: the names messages use */
    char **spools; /* per file: the spool it was copied into (not seekable), else NULL */
    size_t nfiles;
    const char *tmp_dir;
    bronze_live *live;               /* the one file is still being written (ctx->live) */
    const char *index_path;          /* its side index (ctx->index_path) */
    bool spooled;                    /* another source's records (ctx->spooled) ... */
    bronze_record_namer name_record; /* ... named so (a spool always sets it) */
    void *name_arg;
    bronze_live *index_live;

    fcol *cols;
    size_t ncols, cap_cols;
    size_t *hash; /* open addressing, column index + 1, 0 = empty */
    size_t hash_cap;
    bronze_schema *schema;
    /* Schemas replaced by a RESTART stay alive until close(): the job still
     * frees its old batch (which points at one) after the RESTART. */
    bronze_schema *retired[MAX_RESTARTS];
    size_t nretired;
    bool new_cols; /* columns were added after the schema was built */
    cell *cells;   /* the current row, one per column */
    size_t cap_cells;

    /* The open file. */
    size_t file_idx;
    bronze_csv *csv;
    bronze_json *json;
    size_t *map; /* CSV: field i -> column */
    size_t file_ncols, cap_map;
    bool pending_first; /* header:false: the first row was read at open */
    const bronze_csv_field *pf;
    uint64_t csv_limit; /* csv stops before a record starting here (UINT64_MAX: none) */

    /* The open file's parallel reader (file_csv_par.h), when it has one: rows
     * come from its ranges, or from csv re-reading a range sequentially. */
    bronze_csvp *par;
    const bronze_csvp_range *par_rg; /* the range rows are copied from */
    size_t par_bi, par_row;          /* next row: batch, row in it */
    uint64_t par_pos, par_line;      /* verified: where the next record starts, its line */
    bool voting;                     /* the widening scan: parallel readers only vote */
    size_t par_taken, par_reread;    /* ranges used as parsed / re-read (for the log) */
    size_t batch_rows;

    bool done;
    int restarts;
    /* null_values by length: bit L (L < 63) when one has L bytes, bit 63
     * when one is longer (a field of no such length is never one) */
    uint64_t null_lens;
};

/* ---- text -> value ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool parse_i64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = n && p[0] == '-';
    i += neg;
    if (i == n)
        return false;
    uint64_t v = 0;
    if (n - i <= 18) { /* below 10^18: no overflow to check */
        if (bronze_scan_digits(p, i, n, &v) != n)
            return false;
        *out = neg ? -(int64_t)v : (int64_t)v;
        return true;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* The digits of a decimal beyond 2^53 (up to 18 of them, so m < 2^63) with
 * a power of ten within 10^±27: m and 10^|e| are exact in x87's 64-bit
 * long double, so one multiply or divide rounds once, to 64 bits; rounding
 * that to double gives strtod's double unless the 64-bit result lies exactly
 * halfway between two doubles (its 11 extra bits 10000000000), which is
 * left to strtod. Returns false when the text needs strtod. */
static bool wide_double(uint64_t m, int exp10, bool neg, double *out)
{
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
    if (exp10 < -27 || exp10 > 27)
        return false;
    /* Exact: 10^k = 2^k * 5^k and 5^27 < 2^64. */
    static const long double p10l[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                       1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                       1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                       1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    long double t = p10l[exp10 < 0 ? -exp10 : exp10];
    long double x = (long double)m;
    x = exp10 < 0 ? x / t : x * t;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits); /* the 64-bit significand, explicit leading 1 */
    if ((bits & 0x7FF) == 0x400)
        return false;
    double d = (double)x;
    *out = neg ? -d : d;
    return true;
#else
    (void)m;
    (void)exp10;
    (void)neg;
    (void)out;
    return false;
#endif
}

/* Clinger's fast path: a decimal with at most 2^53 as its digits and a power
 * of ten within 10^±22 converts with one correctly rounded multiply or divide,
 * the same double strtod gives. Returns false when the text needs strtod. */
static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool fast_double(const char *p, double *out)
{
    bool neg = *p == '-';
    p += neg;
    uint64_t m = 0;
    int exp10 = 0, digits = 0;
    for (; is_digit(*p); p++) {
        if (digits || *p != '0')
            digits++;
        if (digits > 18)
            return false;
        m = m * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.')
        for (p++; is_digit(*p); p++) {
            if (digits || *p != '0')
                digits++;
            if (digits > 18)
                return false;
            m = m * 10 + (uint64_t)(*p - '0');
            exp10--;
        }
    if (*p == 'e' || *p == 'E') {
        p++;
        bool eneg = *p == '-';
        p += *p == '-' || *p == '+';
        int e = 0;
        for (; is_digit(*p); p++)
            if ((e = e * 10 + (*p - '0')) > 400)
                return false;
        exp10 += eneg ? -e : e;
    }
    if (*p)
        return false;
    if (m <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 < 0 ? d / P10[-exp10] : d * P10[exp10];
        *out = neg ? -d : d;
        return true;
    }
    return wide_double(m, exp10, neg, out);
}

/* The common DOUBLE text, -?\d+\.\d* (no leading zero in \d+, at most 18
 * significant digits, no exponent), in one pass: the double classify_number()
 * and fast_double() give it. False for anything else (they decide). */
static bool plain_decimal(const char *p, size_t n, double *out)
{
    size_t ds = p[0] == '-';
    bool neg = ds;
    uint64_t m = 0;
    size_t i = bronze_scan_digits(p, ds, n, &m);
    size_t nint = i - ds;
    if (!nint || i == n || p[i] != '.' || (nint > 1 && p[ds] == '0'))
        return false;
    size_t fs = ++i;
    /* "0.": the fraction's leading zeros are not significant (decided on the
     * text: m may have wrapped to 0 past 19 digits) */
    bool int_zero = nint == 1 && p[ds] == '0';
    if (int_zero)
        while (i < n && p[i] == '0')
            i++;
    size_t sig = i;
    i = bronze_scan_digits(p, i, n, &m); /* m wraps past 19 digits: rejected below */
    size_t digits = int_zero ? i - sig : nint + (i - fs);
    if (i != n || digits > 18)
        return false;
    int exp10 = -(int)(i - fs);
    if (m <= (1ULL << 53) && exp10 >= -22) {
        double d = (double)m / P10[-exp10];
        *out = neg ? -d : d;
        return true;
    }
    return wide_double(m, exp10, neg, out);
}

/* p[0..n) must be NUL-terminated and already checked against the number
 * grammar. */
static unsigned parse_double(const char *p, size_t n, gval *g)
{
    if (!plain_decimal(p, n, &g->d) && !fast_double(p, &g->d))
        g->d = strtod(p, NULL);
    return isfinite(g->d) ? K_DOUBLE : K_STRING;
}

/* -?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? with no leading zero in \d+. */
static unsigned classify_number(const char *p, size_t n, gval *g)
{
    size_t i = p[0] == '-';
    size_t ds = i;
    while (i < n && is_digit(p[i]))
        i++;
    size_t nd = i - ds, fd = 0;
    if (nd > 1 && p[ds] == '0')
        return K_STRING;
    bool integral = true;
    if (i < n && p[i] == '.') {
        integral = false;
        size_t fs = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        fd = i - fs;
    }
    if (nd == 0 && fd == 0)
        return K_STRING;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t es = i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == es)
            return K_STRING;
    }
    if (i != n)
        return K_STRING;
    if (integral)
        return parse_i64(p, n, &g->i) ? K_INT : K_STRING;
    return parse_double(p, n, g);
}

static unsigned classify_special(const char *p, size_t n, gval *g)
{
    double sign = 1;
    if (n && (p[0] == '-' || p[0] == '+')) {
        sign = p[0] == '-' ? -1 : 1;
        p++;
        n--;
    }
    if (n == 3 && !strncasecmp(p, "nan", 3) && sign > 0) {
        g->d = NAN;
        return K_FSPECIAL;
    }
    if ((n == 3 && !strncasecmp(p, "inf", 3)) || (n == 8 && !strncasecmp(p, "infinity", 8))) {
        g->d = sign * INFINITY;
        return K_FSPECIAL;
    }
    return K_STRING;
}

static unsigned classify_datetime(const char *p, size_t n, gval *g)
{
    if (n == 10)
        return bronze_parse_date(p, n, &g->days) ? K_STRING : K_DATE;
    if (p[10] != 'T' && p[10] != ' ')
        return K_STRING;
    if (n > 20 && p[19] == '.') { /* more than 6 fraction digits would be lossy */
        size_t k = 20;
        while (k < n && is_digit(p[k]))
            k++;
        if (k - 20 > 6)
            return K_STRING;
    }
    bool tz;
    if (bronze_parse_timestamp(p, n, &g->i, &tz))
        return K_STRING;
    return tz ? K_TSTZ : K_TS;
}

/* The vote of one CSV text value (never empty-and-unquoted: that is NULL). */
static unsigned classify_text(const char *p, size_t n, gval *g)
{
    if (n == 0)
        return K_STRING;
    char c = p[0];
    if (is_digit(c) || c == '-' || c == '.') {
        if (n >= 10 && p[4] == '-' && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) &&
            is_digit(c))
            return classify_datetime(p, n, g);
        unsigned k = classify_number(p, n, g);
        return k == K_STRING && c == '-' ? classify_special(p, n, g) : k;
    }
    if ((c == 't' || c == 'T') && n == 4 && !strncasecmp(p, "true", 4)) {
        g->b = true;
        return K_BOOL;
    }
    if ((c == 'f' || c == 'F') && n == 5 && !strncasecmp(p, "false", 5)) {
        g->b = false;
        return K_BOOL;
    }
    if (c == 'n' || c == 'N' || c == 'i' || c == 'I' || c == '+')
        return classify_special(p, n, g);
    return K_STRING;
}

static unsigned classify(const cell *c, gval *g)
{
    switch (c->kind) {
    case C_TEXT:
        return classify_text(c->p, c->len, g);
    case C_JBOOL:
        g->b = c->p[0] == 't';
        return K_BOOL;
    case C_JINT:
        return parse_i64(c->p, c->len, &g->i) ? K_INT : K_STRING;
    case C_JNUM:
        return parse_double(c->p, c->len, g);
    default:
        return K_STRING;
    }
}

/* The head of the reader's notes: "file source: ", or nothing for a spool
 * (its user configured another kind of source). */
static const char *note_prefix(const bronze_source *s)
{
    return s->spooled ? "" : "file source: ";
}

static bronze_type resolve(unsigned m)
{
    if (!m || (m & K_STRING))
        return BRONZE_T_STRING;
    if (m == K_INT)
        return BRONZE_T_INT64;
    if (!(m & ~(unsigned)(K_INT | K_DOUBLE | K_FSPECIAL)) && (m & (K_INT | K_DOUBLE)))
        return BRONZE_T_DOUBLE;
    switch (m) {
    case K_BOOL:
        return BRONZE_T_BOOL;
    case K_DATE:
        return BRONZE_T_DATE;
    case K_TS:
        return BRONZE_T_TIMESTAMP;
    case K_TSTZ:
        return BRONZE_T_TIMESTAMPTZ;
    default:
        return BRONZE_T_STRING;
    }
}

/* ---- columns ---- */

static size_t hash_key(const char *k, size_t n)
{
    return (size_t)XXH3_64bits(k, n);
}

static size_t col_find(const bronze_source *s, const char *k, size_t n)
{
    if (!s->hash_cap)
        return SIZE_MAX;
    for (size_t i = hash_key(k, n) & (s->hash_cap - 1);; i = (i + 1) & (s->hash_cap - 1)) {
        size_t v = s->hash[i];
        if (!v)
            return SIZE_MAX;
        const fcol *c = &s->cols[v - 1];
        if (c->key_len == n && !memcmp(c->key, k, n))
            return v - 1;
    }
}

static void hash_insert(bronze_source *s, size_t idx)
{
    const fcol *c = &s->cols[idx];
    size_t i = hash_key(c->key, c->key_len) & (s->hash_cap - 1);
    while (s->hash[i])
        i = (i + 1) & (s->hash_cap - 1);
    s->hash[i] = idx + 1;
}

static int oom(bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "file source: out of memory");
}

/* The column for key k, added (in first-seen order) when new. */
static int col_get(bronze_source *s, const char *k, size_t n, size_t *out, bronze_err *err)
{
    size_t idx = col_find(s, k, n);
    if (idx != SIZE_MAX) {
        *out = idx;
        return 0;
    }
    if (s->ncols >= MAX_COLUMNS) {
        char where[48] = "the header";
        if (s->json)
            bronze_json_record_pos(s->json, where, sizeof where);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: %s: field '%.*s' would be column %zu; a table takes at most "
                              "10,000 columns (a key that differs in every record belongs in a "
                              "nested object, kept as JSON text)",
                              s->files[s->file_idx < s->nfiles ? s->file_idx : 0], where,
                              (int)(n > 80 ? 80 : n), k, s->ncols + 1);
    }
    if (s->ncols == s->cap_cols) {
        size_t cap = s->cap_cols ? s->cap_cols * 2 : 16;
        fcol *c = realloc(s->cols, cap * sizeof *c);
        cell *cl = c ? realloc(s->cells, cap * sizeof *cl) : NULL;
        if (c)
            s->cols = c;
        if (!cl)
            return oom(err);
        s->cells = cl;
        s->cap_cols = s->cap_cells = cap;
    }
    if ((s->ncols + 1) * 2 > s->hash_cap) {
        size_t cap = s->hash_cap ? s->hash_cap * 2 : 64;
        size_t *h = calloc(cap, sizeof *h);
        if (!h)
            return oom(err);
        free(s->hash);
        s->hash = h;
        s->hash_cap = cap;
        for (size_t i = 0; i < s->ncols; i++)
            hash_insert(s, i);
    }
    fcol *c = &s->cols[s->ncols];
    c->key = malloc(n + 1);
    if (!c->key)
        return oom(err);
    memcpy(c->key, k, n);
    c->key[n] = 0;
    c->key_len = n;
    c->orig = NULL;
    c->mask = 0;
    c->type = BRONZE_T_STRING;
    s->cells[s->ncols] = (cell){C_NULL, NULL, 0};
    hash_insert(s, s->ncols);
    *out = s->ncols++;
    if (s->schema)
        s->new_cols = true;
    return 0;
}

/* (Re)builds the schema from the votes. */
static int build_schema(bronze_source *s, bronze_err *err)
{
    bronze_schema *sc = bronze_schema_new(s->ncols);
    if (!sc)
        return oom(err);
    for (size_t j = 0; j < s->ncols; j++) {
        fcol *c = &s->cols[j];
        if (!c->mask)
            c->mask = K_STRING; /* only NULLs: text, and it stays text */
        bronze_type t = resolve(c->mask);
        if (s->schema && j < s->schema->ncols && t != c->type)
            BRONZE_INFO("%scolumn '%s' widened from %s to %s", note_prefix(s), c->key,
                        bronze_type_name(c->type), bronze_type_name(t));
        c->type = t;
        char name[32];
        const char *nm = c->key, *orig = c->orig;
        if (!c->key_len || !c->key[0]) {
            snprintf(name, sizeof name, "column%zu", j);
            nm = name;
            orig = "";
        }
        /* a name that is not UTF-8 (only invalid_utf8: replace lets one
         * through) is mended as values are: no reader, nor the marker, holds
         * it as it is */
        bronze_buf mended = BRONZE_BUF_INIT;
        uint64_t nrep = 0;
        if (bronze_utf8_check(nm, strlen(nm)) < strlen(nm)) {
            if (bronze_utf8_repair(&mended, nm, strlen(nm), &nrep) || bronze_buf_cstr(&mended)) {
                bronze_buf_free(&mended);
                bronze_schema_free(sc);
                return oom(err);
            }
            nm = (const char *)mended.data;
            orig = NULL;
            if (!s->schema || j >= s->schema->ncols)
                BRONZE_WARN("%scolumn %zu's name is not UTF-8: written as '%s'", note_prefix(s),
                            j + 1, nm);
        }
        int set = bronze_schema_set(sc, j, nm, t, 0, 0, true) ||
                  (orig && !(sc->fields[j].source_name = strdup(orig)));
        bronze_buf_free(&mended);
        if (set) {
            bronze_schema_free(sc);
            return oom(err);
        }
    }
    bronze_schema_dedupe_names(sc);
    if (s->schema)
        s->retired[s->nretired++] = s->schema; /* restarts <= MAX_RESTARTS */
    s->schema = sc;
    s->new_cols = false;
    return 0;
}

/* ---- files ---- */

static void close_file(bronze_source *s)
{
    if (s->par)
        BRONZE_DEBUG("file source: %s: %zu ranges parsed by %d workers, %zu re-read on one thread",
                     s->files[s->file_idx], s->par_taken, s->cfg->run.parallel_workers,
                     s->par_reread);
    bronze_csvp_close(s->par);
    s->par = NULL;
    s->par_rg = NULL;
    s->csv_limit = UINT64_MAX;
    bronze_csv_close(s->csv);
    bronze_json_close(s->json);
    s->csv = NULL;
    s->json = NULL;
    s->pending_first = false;
}

static int map_field(bronze_source *s, size_t i, const char *name, size_t n, bronze_err *err)
{
    if (i >= s->cap_map) {
        size_t cap = s->cap_map ? s->cap_map * 2 : 16;
        while (cap <= i)
            cap *= 2;
        size_t *m = realloc(s->map, cap * sizeof *m);
        if (!m)
            return oom(err);
        s->map = m;
        s->cap_map = cap;
    }
    return col_get(s, name, n, &s->map[i], err);
}

/* CSV: reads the header (or, with header: false, the first row) and maps the
 * file's fields to columns by name. */
static int open_csv_header(bronze_source *s, bronze_err *err)
{
    const bronze_csv_field *f;
    size_t n;
    int r = bronze_csv_next(s->csv, &f, &n, err);
    if (r < 0)
        return -1;
    s->file_ncols = r ? n : 0;
    if (r == 0)
        return 0; /* an empty file: no columns, no rows */
    char name[32];
    if (!s->header) {
        for (size_t i = 0; i < n; i++) {
            int k = snprintf(name, sizeof name, "column%zu", i);
            if (map_field(s, i, name, (size_t)k, err))
                return -1;
        }
        s->pending_first = true;
        s->pf = f;
        return 0;
    }
    /* Header names: empty -> columnN, repeats -> a_2 (as the batch layer
     * names them), so every file of a glob names its columns the same way. */
    bronze_schema *names = bronze_schema_new(n);
    if (!names)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        const char *nm = f[i].p;
        if (!f[i].len) {
            snprintf(name, sizeof name, "column%zu", i);
            nm = name;
        }
        if (bronze_schema_set(names, i, nm, BRONZE_T_STRING, 0, 0, true)) {
            bronze_schema_free(names);
            return oom(err);
        }
    }
    bronze_schema_dedupe_names(names);
    for (size_t i = 0; i < n; i++) {
        const char *nm = names->fields[i].name;
        if (map_field(s, i, nm, strlen(nm), err)) {
            bronze_schema_free(names);
            return -1;
        }
        /* renamed: the marker names the header's own */
        fcol *c = &s->cols[s->map[i]];
        if ((!f[i].len || names->fields[i].source_name) && !c->orig &&
            !(c->orig = strndup(f[i].p, f[i].len))) {
            bronze_schema_free(names);
            return oom(err);
        }
    }
    bronze_schema_free(names);
    return 0;
}

static int put_value(bronze_type type, const cell *c, bronze_batch *b, unsigned *vote);

/* An unquoted empty field, or one of source.file.null_values. */
static inline bool is_null_marker(const bronze_source *s, const bronze_csv_field *f)
{
    if (f->quoted)
        return false;
    if (!f->len)
        return true;
    if (!(s->null_lens >> (f->len < 63 ? f->len : 63) & 1))
        return false;
    for (size_t i = 0; i < s->cfg->file.n_null_values; i++) {
        const char *m = s->cfg->file.null_values[i];
        if (m && strlen(m) == f->len && !memcmp(m, f->p, f->len))
            return true;
    }
    return false;
}

/* The parallel reader's worker callback: one record into b with the current
 * schema, or 2 where the sequential reader must decide (a field count that
 * is not the file's, a value that does not fit). Reads only what stays fixed
 * while the parallel reader runs (map, column types, config). */
static int par_row(void *ctx, void *scratch, bronze_batch *b, const bronze_csv_field *f, size_t n)
{
    const bronze_source *s = ctx;
    cell *cells = scratch; /* zeroed: columns this file lacks stay C_NULL */
    if (n != s->file_ncols)
        return n == 1 && !f[0].quoted && !f[0].len && s->file_ncols >= 2 ? 1 : 2;
    for (size_t i = 0; i < n; i++)
        cells[s->map[i]] = (cell){is_null_marker(s, &f[i]) ? C_NULL : C_TEXT, f[i].p, f[i].len};
    size_t nc = s->schema->ncols;
    for (size_t j = 0; j < nc; j++) {
        unsigned vote;
        int p = put_value(s->cols[j].type, &cells[j], b, &vote);
        if (p) {
            bronze_batch_abort_row(b);
            return p < 0 ? -1 : 2;
        }
    }
    bronze_batch_end_row(b);
    return 0;
}

/* The worker callback of the widening scan: votes of one record. */
static int par_vote(void *ctx, void *scratch, unsigned *votes, const bronze_csv_field *f, size_t n)
{
    const bronze_source *s = ctx;
    cell *cells = scratch;
    if (n != s->file_ncols)
        return n == 1 && !f[0].quoted && !f[0].len && s->file_ncols >= 2 ? 1 : 2;
    for (size_t i = 0; i < n; i++)
        cells[s->map[i]] = (cell){is_null_marker(s, &f[i]) ? C_NULL : C_TEXT, f[i].p, f[i].len};
    for (size_t j = 0; j < s->ncols; j++) {
        if (cells[j].kind == C_NULL || (votes[j] & K_STRING))
            continue;
        gval g;
        votes[j] |= classify(&cells[j], &g);
    }
    return 0;
}

/* After the header: a plain regular file with parallel_workers > 1 is read by
 * the parallel reader from here on. When it cannot start, the sequential
 * reader just goes on. */
static int start_par(bronze_source *s, const char *path, const char *name, bool lenient)
{
    struct stat st;
    if (!s->schema || s->cfg->run.parallel_workers < 2 || !s->file_ncols || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return 0;
    uint64_t start =
        s->pending_first ? bronze_csv_record_offset(s->csv) : bronze_csv_offset(s->csv);
    uint64_t line = s->pending_first ? bronze_csv_record_line(s->csv) : bronze_csv_line(s->csv);
    bronze_csvp_opts o = {
        .path = path,
        .name = name,
        .delimiter = s->delim,
        .lenient_utf8 = lenient,
        .data_start = start,
        .ncols = s->file_ncols,
        .schema = s->schema,
        .batch_rows = s->batch_rows,
        .workers = s->cfg->run.parallel_workers,
        .row = par_row,
        .vote = s->voting ? par_vote : NULL,
        .nvotes = s->ncols,
        .ctx = s,
        .scratch_size = s->ncols * sizeof(cell),
    };
    bronze_err e = BRONZE_ERR_INIT;
    if (bronze_csvp_open(&s->par, &o, &e)) {
        BRONZE_DEBUG("file source: %s: reading on one thread (%s)", name, e.msg);
        return 0;
    }
    bronze_csv_close(s->csv);
    s->csv = NULL;
    s->pending_first = false;
    s->par_pos = start;
    s->par_line = line;
    s->par_taken = s->par_reread = 0;
    return 0;
}

static int open_file(bronze_source *s, bronze_err *err)
{
    const char *name = s->files[s->file_idx];
    const char *path = s->spools[s->file_idx] ? s->spools[s->file_idx] : name;
    for (size_t j = 0; j < s->ncols; j++)
        s->cells[j].kind = C_NULL;
    bool lenient = s->cfg->run.invalid_utf8 == BRONZE_UTF8_REPLACE;
    bronze_input_opts o = {.decompress = true, .encoding = s->cfg->file.encoding, .live = s->live};
    bronze_input *in;
    if (bronze_input_open_path(&in, path, name, &o, err))
        return -1;
    if (s->format == BRONZE_FILE_CSV) {
        bool plain = !in->below; /* no decompressor or iconv stacked */
        if (bronze_csv_open(&s->csv, in, s->delim, err))
            return -1;
        bronze_csv_set_lenient_utf8(s->csv, lenient);
        s->csv_limit = UINT64_MAX;
        if (open_csv_header(s, err))
            return -1;
        return plain ? start_par(s, path, name, lenient) : 0;
    }
    if (bronze_json_open(&s->json, in, s->format == BRONZE_FILE_JSON, s->cfg->file.data_path, err))
        return -1;
    bronze_json_set_lenient_utf8(s->json, lenient);
    bronze_json_set_spooled(s->json, s->spooled);
    if (s->index_path && s->format == BRONZE_FILE_JSONL) {
        bronze_input_opts io = {.live = s->index_live};
        bronze_input *ix;
        if (bronze_input_open_path(&ix, s->index_path, NULL, &io, err))
            return -1;
        bronze_json_set_index(s->json, ix);
    }
    return 0;
}

/* One row of the open file into s->cells. Returns 1, 0 (end of file), -1. */
static int read_file_row(bronze_source *s, bronze_err *err)
{
    if (s->csv) {
        for (;;) {
            const bronze_csv_field *f;
            size_t n;
            if (s->pending_first) {
                s->pending_first = false;
                f = s->pf;
                n = s->file_ncols;
            } else {
                if (bronze_csv_offset(s->csv) >= s->csv_limit)
                    return 0; /* the next record is the next range's */
                int r = bronze_csv_next(s->csv, &f, &n, err);
                if (r <= 0)
                    return r;
            }
            if (n != s->file_ncols) {
                if (n == 1 && !f[0].quoted && !f[0].len && s->file_ncols >= 2)
                    continue; /* a blank line */
                return bronze_err_set(
                    err, BRONZE_E_RUNTIME,
                    "%s: line %llu: expected %zu fields (as in the %s), found %zu",
                    bronze_csv_path(s->csv), (unsigned long long)bronze_csv_record_line(s->csv),
                    s->file_ncols, s->header ? "header" : "first row", n);
            }
            for (size_t i = 0; i < n; i++) {
                cell *c = &s->cells[s->map[i]];
                c->kind = is_null_marker(s, &f[i]) ? C_NULL : C_TEXT;
                c->p = f[i].p;
                c->len = f[i].len;
            }
            return 1;
        }
    }
    const bronze_json_field *f;
    size_t n;
    int r = bronze_json_next(s->json, &f, &n, err);
    if (r <= 0)
        return r;
    for (size_t j = 0; j < s->ncols; j++)
        s->cells[j].kind = C_NULL;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        /* records usually repeat the first one's key order, which is the
         * columns' order: field i is column i, checked without hashing */
        if ((i >= s->ncols || s->cols[i].key_len != f[i].key_len ||
             !bronze_same(s->cols[i].key, f[i].key, f[i].key_len)) &&
            col_get(s, f[i].key, f[i].key_len, &j, err))
            return -1;
        static const int kinds[] = {
            [BRONZE_JV_NULL] = C_NULL,   [BRONZE_JV_BOOL] = C_JBOOL, [BRONZE_JV_INT] = C_JINT,
            [BRONZE_JV_NUMBER] = C_JNUM, [BRONZE_JV_STRING] = C_STR, [BRONZE_JV_NESTED] = C_STR,
        };
        s->cells[j] = (cell){kinds[f[i].kind], f[i].p, f[i].len};
    }
    return 1;
}

enum { READ_PAR = 3 }; /* read_row: the file just opened is read in parallel */

static void observe_row(bronze_source *s);

/* The widening scan over the rest of a file read in parallel (s->par in vote
 * mode, from the verified s->par_pos): the same walk as par_step, votes
 * instead of rows; a range whose guess was wrong, or the rest of one whose
 * worker stopped, is voted on by csv. Ends with the file closed. */
static int par_vote_walk(bronze_source *s, bronze_err *err)
{
    const bronze_csvp_range *rg;
    while (bronze_csvp_next(s->par, &rg)) {
        if (s->par_pos >= rg->next_nominal)
            continue;
        if (rg->start == s->par_pos) {
            s->par_taken++;
            for (size_t j = 0; j < s->ncols; j++)
                s->cols[j].mask |= rg->votes[j];
            s->par_pos = rg->stop;
            s->par_line += rg->lines;
            if (rg->complete)
                continue;
        }
        s->par_reread++;
        if (bronze_csvp_open_reader(bronze_csvp_options(s->par), s->par_pos, s->par_line, &s->csv,
                                    err))
            return -1;
        s->csv_limit = rg->next_nominal;
        int r;
        while ((r = read_file_row(s, err)) == 1)
            observe_row(s);
        if (r < 0)
            return -1;
        s->par_pos = bronze_csv_offset(s->csv);
        s->par_line = bronze_csv_line(s->csv);
        bronze_csv_close(s->csv);
        s->csv = NULL;
        s->csv_limit = UINT64_MAX;
        if (s->par_pos < rg->next_nominal)
            break; /* the end of the file */
    }
    close_file(s);
    s->file_idx++;
    return 0;
}

/* The next row across the files. Returns 1, 0 (no more), -1, or READ_PAR. */
static int read_row(bronze_source *s, bronze_err *err)
{
    for (;;) {
        if (!s->csv && !s->json) {
            if (s->file_idx >= s->nfiles)
                return 0;
            if (open_file(s, err))
                return -1;
            if (s->par && s->voting) {
                if (par_vote_walk(s, err))
                    return -1;
                continue;
            }
            if (s->par)
                return READ_PAR; /* file_next takes rows from the parallel reader */
        }
        int r = read_file_row(s, err);
        if (r)
            return r;
        close_file(s);
        s->file_idx++;
    }
}

static void observe_row(bronze_source *s)
{
    for (size_t j = 0; j < s->ncols; j++) {
        const cell *c = &s->cells[j];
        fcol *col = &s->cols[j];
        if (c->kind == C_NULL || (col->mask & K_STRING))
            continue;
        gval g;
        col->mask |= classify(c, &g);
    }
}

/* ---- glob ---- */

/* Checks file i is readable. One that cannot be read twice (a pipe, a FIFO,
 * /dev/stdin, a process substitution's /dev/fd/N) is copied, as it is read
 * now, once, into a spool in the job's tmp dir: the sample and every re-read
 * after a widening read the spool. Opening a FIFO once more would wait for a
 * writer that has gone. */
static int check_or_spool(bronze_source *s, size_t i, bronze_err *err)
{
    int fd = open(s->files[i], O_RDONLY | O_CLOEXEC);
    int n = -1;
    /* A socket (what node and some supervisors hand over as stdin) cannot be
     * opened through /dev/stdin or /dev/fd/N: read the descriptor itself. */
    if (fd < 0 && errno == ENXIO &&
        (!strcmp(s->files[i], "/dev/stdin") ? (n = 0, true)
                                            : sscanf(s->files[i], "/dev/fd/%d", &n) == 1) &&
        n >= 0)
        fd = fcntl(n, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot read: %s", s->files[i],
                              strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    bronze_input *in;
    if (bronze_input_open_fd(&in, fd, true, s->files[i], NULL, err))
        return -1;
    uint64_t bytes;
    int rc = bronze_input_spool(in, s->tmp_dir ? s->tmp_dir : "/tmp", &s->spools[i], &bytes, err);
    bronze_input_close(in);
    if (rc == 0)
        BRONZE_INFO("file source: %s cannot be read twice; spooled %llu bytes to %s", s->files[i],
                    (unsigned long long)bytes, s->spools[i]);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scale-out (SPEC §8: "a file glob shards by file"): shard I of K keeps
 * the sorted glob's files I, I+K, I+2K, ... */
static int keep_shard(bronze_source *s, int shard, int nshards, bronze_err *err)
{
    if (nshards <= 1)
        return 0;
    if ((size_t)nshards > s->nfiles)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.file.path: the glob matches %zu file(s); a shard reads "
                              "whole files, so run at most %zu shards (not %d)",
                              s->cfg->path ? s->cfg->path : "config", s->nfiles, s->nfiles,
                              nshards);
    size_t k = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if ((int)(i % (size_t)nshards) == shard)
            s->files[k++] = s->files[i];
        else
            free(s->files[i]);
    }
    s->nfiles = k;
    return 0;
}

static int find_files(bronze_source *s, const char *pattern, int shard, int nshards,
                      bronze_err *err)
{
    const char *cfgp = s->cfg->path ? s->cfg->path : "config";
    glob_t g;
    int rc = glob(pattern, GLOB_MARK, NULL, &g);
    if (rc == GLOB_NOMATCH)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.file.path: no file matches '%s' (relative paths are "
                              "taken from the working directory)",
                              cfgp, pattern);
    if (rc != 0) {
        globfree(&g);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: source.file.path: cannot expand '%s'%s",
                              cfgp, pattern,
                              rc == GLOB_NOSPACE ? ": out of memory" : ": read error");
    }
    s->files = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof *s->files);
    if (!s->files) {
        globfree(&g);
        return oom(err);
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len = strlen(g.gl_pathv[i]);
        if (len && g.gl_pathv[i][len - 1] == '/')
            continue; /* a directory */
        if (!(s->files[s->nfiles] = strdup(g.gl_pathv[i]))) {
            globfree(&g);
            return oom(err);
        }
        s->nfiles++;
    }
    globfree(&g);
    if (!s->nfiles)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: source.file.path: '%s' matches only directories, no files", cfgp,
                              pattern);
    qsort(s->files, s->nfiles, sizeof *s->files, cmp_str);
    /* a format taken from the path must suit every file it matches ('in_*'
     * is read as CSV: a .jsonl among them would land as a header, no rows) */
    static const char *const fmt_name[] = {"CSV", "JSON Lines", "JSON"};
    for (size_t i = 0; !s->cfg->file.format_set && i < s->nfiles; i++) {
        int f = bronze_file_format_of(s->files[i]);
        if (f >= 0 && f != (int)s->cfg->file.format)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: source.file.path: %s is %s by its name, but '%s' is read "
                                  "as %s (by its name); set source.file.format, or narrow the "
                                  "path",
                                  cfgp, s->files[i], fmt_name[f], pattern,
                                  fmt_name[s->cfg->file.format]);
    }
    if (keep_shard(s, shard, nshards, err))
        return -1;
    if (!(s->spools = calloc(s->nfiles, sizeof *s->spools)))
        return oom(err);
    for (size_t i = 0; i < s->nfiles; i++)
        if (check_or_spool(s, i, err))
            return -1;
    return 0;
}

/* ---- the vtable ---- */

static void file_close(bronze_source *s)
{
    if (!s)
        return;
    close_file(s);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i]);
        if (s->spools && s->spools[i]) {
            unlink(s->spools[i]);
            free(s->spools[i]);
        }
    }
    free(s->files);
    free(s->spools);
    for (size_t j = 0; j < s->ncols; j++) {
        free(s->cols[j].key);
        free(s->cols[j].orig);
    }
    free(s->cols);
    free(s->cells);
    free(s->hash);
    free(s->map);
    bronze_schema_free(s->schema);
    for (size_t i = 0; i < s->nretired; i++)
        bronze_schema_free(s->retired[i]);
    free(s);
}

/* A file of the glob that holds no record: loading it is fine, but an empty
 * export usually means the job that wrote it failed, so it is said. */
static void warn_empty(const bronze_source *s)
{
    const char *name = s->files[s->file_idx];
    struct stat st;
    bool zero = stat(name, &st) == 0 && st.st_size == 0;
    BRONZE_WARN("%s: source.file.path: %s %s: an empty export often means the job that wrote it "
                "failed; check it before relying on this batch",
                s->cfg->path, name,
                zero                                                  ? "is empty (0 bytes)"
                : s->format == BRONZE_FILE_CSV && s->cfg->file.header ? "holds a header and no rows"
                                                                      : "holds no records");
}

/* The sample: every CSV header, and votes from the first SAMPLE_ROWS rows. */
static int sample(bronze_source *s, bronze_err *err)
{
    size_t rows = 0;
    for (s->file_idx = 0; s->file_idx < s->nfiles; s->file_idx++) {
        if (rows >= SAMPLE_ROWS && s->format != BRONZE_FILE_CSV)
            break;
        if (open_file(s, err))
            return -1;
        size_t before = rows;
        bool ended = false;
        while (rows < SAMPLE_ROWS) {
            int r = read_file_row(s, err);
            if (r < 0)
                return -1;
            if ((ended = r == 0))
                break;
            observe_row(s);
            rows++;
        }
        if (ended && rows == before && !s->spooled) /* a spool's source counts for itself */
            warn_empty(s);
        close_file(s);
    }
    s->file_idx = 0;
    return 0;
}

static int file_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    *out = NULL;
    const bronze_config *cfg = ctx->cfg;
    if (!cfg->file.path || !*cfg->file.path)
        return bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.file.path: required",
                              cfg->path ? cfg->path : "config");
    char d = cfg->file.delimiter ? cfg->file.delimiter : ',';
    if (d == '"' || d == '\n' || d == '\r')
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.file.delimiter: cannot be a quote or a line break",
                              cfg->path ? cfg->path : "config");
    bronze_source *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err);
    s->cfg = cfg;
    s->format = cfg->file.format;
    s->delim = d;
    s->header = cfg->file.header;
    s->tmp_dir = ctx->tmp_dir;
    s->live = ctx->live;
    s->index_path = ctx->index_path;
    s->spooled = ctx->spooled;
    s->name_record = ctx->name_record;
    s->name_arg = ctx->name_arg;
    s->index_live = ctx->index_live;
    s->batch_rows = ctx->batch_rows;
    s->csv_limit = UINT64_MAX;
    for (size_t i = 0; i < cfg->file.n_null_values; i++)
        if (cfg->file.null_values[i]) {
            size_t n = strlen(cfg->file.null_values[i]);
            s->null_lens |= (uint64_t)1 << (n < 63 ? n : 63);
        }
    if (find_files(s, cfg->file.path, ctx->shard, ctx->nshards, err) || sample(s, err) ||
        build_schema(s, err)) {
        file_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

static const bronze_schema *file_schema(bronze_source *s)
{
    return s->schema;
}

/* Decodes c into the batch as a value of `type`. Returns 0, 1 (does not
 * fit: *vote is its vote), -1 OOM. Reads nothing else (worker threads call
 * it, file_csv_par.h). */
static int put_value(bronze_type type, const cell *c, bronze_batch *b, unsigned *vote)
{
    if (c->kind == C_NULL) {
        bronze_batch_put_null(b);
        return 0;
    }
    if (type == BRONZE_T_STRING)
        return bronze_batch_put_bytes(b, c->p, c->len);
    /* A JSON literal of the column's own kind, straight (what classify()
     * gives it). */
    if (c->kind == C_JINT && type == BRONZE_T_INT64) {
        int64_t v;
        if (parse_i64(c->p, c->len, &v)) {
            bronze_batch_put_i64(b, v);
            return 0;
        }
    } else if (c->kind == C_JNUM && type == BRONZE_T_DOUBLE) {
        double d;
        if (plain_decimal(c->p, c->len, &d)) {
            bronze_batch_put_f64(b, d);
            return 0;
        }
    } else if (c->kind == C_JBOOL && type == BRONZE_T_BOOL) {
        bronze_batch_put_bool(b, c->p[0] == 't');
        return 0;
    }
    /* The common cases straight, with classify()'s own rules (no leading
     * zero; strict dates); anything else goes through classify(). */
    if (c->kind == C_TEXT && c->len) {
        if (type == BRONZE_T_INT64) {
            size_t neg = c->p[0] == '-';
            int64_t v;
            if (c->len > neg && is_digit(c->p[neg]) && (c->p[neg] != '0' || c->len == neg + 1) &&
                parse_i64(c->p, c->len, &v)) {
                bronze_batch_put_i64(b, v);
                return 0;
            }
        } else if (type == BRONZE_T_DATE && c->len == 10) {
            int32_t d;
            if (!bronze_parse_date(c->p, c->len, &d)) {
                bronze_batch_put_i32(b, d);
                return 0;
            }
        } else if (type == BRONZE_T_DOUBLE &&
                   (is_digit(c->p[0]) || (c->p[0] == '-' && c->len > 1 && is_digit(c->p[1])))) {
            /* What classify_text() does with such text when it is a number
             * (a date shape never is one). */
            double d;
            if (plain_decimal(c->p, c->len, &d)) {
                bronze_batch_put_f64(b, d);
                return 0;
            }
            gval g;
            unsigned k = classify_number(c->p, c->len, &g);
            if (k == K_INT || k == K_DOUBLE) {
                bronze_batch_put_f64(b, k == K_INT ? (double)g.i : g.d);
                return 0;
            }
        } else if (type == BRONZE_T_BOOL && (c->len == 4 || c->len == 5)) {
            if (c->len == 4 ? !memcmp(c->p, "true", 4) : !memcmp(c->p, "false", 5)) {
                bronze_batch_put_bool(b, c->len == 4);
                return 0;
            }
        } else if ((type == BRONZE_T_TIMESTAMP || type == BRONZE_T_TIMESTAMPTZ) && c->len > 10 &&
                   c->p[4] == '-' && is_digit(c->p[0]) && is_digit(c->p[1]) && is_digit(c->p[2]) &&
                   is_digit(c->p[3])) {
            gval g;
            if (classify_datetime(c->p, c->len, &g) ==
                (type == BRONZE_T_TIMESTAMP ? K_TS : K_TSTZ)) {
                bronze_batch_put_i64(b, g.i);
                return 0;
            }
        }
    }
    gval g;
    unsigned k = classify(c, &g);
    switch (type) {
    case BRONZE_T_INT64:
        if (k == K_INT) {
            bronze_batch_put_i64(b, g.i);
            return 0;
        }
        break;
    case BRONZE_T_DOUBLE:
        if (k == K_INT) {
            bronze_batch_put_f64(b, (double)g.i);
            return 0;
        }
        if (k & (K_DOUBLE | K_FSPECIAL)) {
            bronze_batch_put_f64(b, g.d);
            return 0;
        }
        break;
    case BRONZE_T_BOOL:
        if (k == K_BOOL) {
            bronze_batch_put_bool(b, g.b);
            return 0;
        }
        break;
    case BRONZE_T_DATE:
        if (k == K_DATE) {
            bronze_batch_put_i32(b, g.days);
            return 0;
        }
        break;
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
        if (k == (type == BRONZE_T_TIMESTAMP ? K_TS : K_TSTZ)) {
            bronze_batch_put_i64(b, g.i);
            return 0;
        }
        break;
    default:
        break;
    }
    *vote = k;
    return 1;
}

/* Decodes cell j into the batch. Returns 0, 1 (does not fit: votes cast), -1 OOM. */
static int put_cell(bronze_source *s, bronze_batch *b, size_t j)
{
    unsigned vote;
    int p = put_value(s->cols[j].type, &s->cells[j], b, &vote);
    if (p > 0)
        s->cols[j].mask |= vote;
    return p;
}

/* A value in column `col` (SIZE_MAX: a new column) did not fit: vote on
 * everything left, rewind, new schema. */
static int widen_and_rewind(bronze_source *s, size_t col, bronze_err *err)
{
    if (++s->restarts > MAX_RESTARTS)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: the column types kept changing after %d re-reads (is the file "
                              "being written to?)",
                              s->files[s->file_idx < s->nfiles ? s->file_idx : 0], MAX_RESTARTS);
    /* where the record is: a file's name, or a spooled record as its source
     * names it (the spool file means nothing to the user) */
    const char *src = note_prefix(s);
    char pos[256];
    if (s->spooled && s->json)
        s->name_record(s->name_arg, bronze_json_record_no(s->json), pos, sizeof pos);
    else
        snprintf(pos, sizeof pos, "%s", s->files[s->file_idx < s->nfiles ? s->file_idx : 0]);
    if (col == SIZE_MAX)
        BRONZE_INFO("%s%s has a column the sample did not see; reading the rest of the input to "
                    "settle the types, then starting over",
                    src, pos);
    else
        BRONZE_INFO("%sa value of column '%s' in %s does not fit %s; reading the rest of the "
                    "input to settle the types, then starting over",
                    src, s->cols[col].key, pos, bronze_type_name(s->cols[col].type));
    /* In a file read in parallel the row came from csv re-reading a range:
     * csv votes on to the range's end, then the rest of the file is voted on
     * in parallel from there (and so are later files: s->voting). */
    bool par = s->par != NULL;
    bronze_csvp_close(s->par);
    s->par = NULL;
    s->par_rg = NULL;
    s->voting = true;
    observe_row(s);
    int r = 0;
    if (par) {
        while ((r = read_file_row(s, err)) == 1)
            observe_row(s);
        if (r == 0 && bronze_csv_offset(s->csv) >= s->csv_limit) {
            const char *name = s->files[s->file_idx];
            uint64_t at = bronze_csv_offset(s->csv), line = bronze_csv_line(s->csv);
            bronze_csv_close(s->csv);
            s->csv = NULL;
            s->csv_limit = UINT64_MAX;
            bool lenient = s->cfg->run.invalid_utf8 == BRONZE_UTF8_REPLACE;
            bronze_csvp_opts o = {
                .path = s->spools[s->file_idx] ? s->spools[s->file_idx] : name,
                .name = name,
                .delimiter = s->delim,
                .lenient_utf8 = lenient,
                .data_start = at,
                .ncols = s->file_ncols,
                .schema = s->schema,
                .batch_rows = s->batch_rows,
                .workers = s->cfg->run.parallel_workers,
                .row = par_row,
                .vote = par_vote,
                .nvotes = s->ncols,
                .ctx = s,
                .scratch_size = s->ncols * sizeof(cell),
            };
            s->par_pos = at;
            s->par_line = line;
            if (bronze_csvp_open(&s->par, &o, err) || par_vote_walk(s, err))
                r = -1;
        } else if (r == 0) {
            close_file(s);
            s->file_idx++;
        }
    }
    if (r == 0)
        while ((r = read_row(s, err)) == 1)
            observe_row(s);
    s->voting = false;
    if (r < 0)
        return -1;
    close_file(s);
    s->file_idx = 0;
    s->done = false;
    if (build_schema(s, err))
        return -1;
    return BRONZE_SRC_RESTART;
}

/* s->cells into the batch. Returns 0, BRONZE_SRC_RESTART (a widening), -1. */
static int put_row(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    for (size_t j = 0; j < s->schema->ncols; j++) {
        int p = put_cell(s, b, j);
        if (p < 0) {
            bronze_batch_clear(b);
            return oom(err);
        }
        if (p > 0) {
            bronze_batch_clear(b);
            return widen_and_rewind(s, j, err);
        }
    }
    bronze_batch_end_row(b);
    return 0;
}

/* Re-reads sequentially from the verified record start up to the first
 * record starting at or after `limit`. */
static int par_seq(bronze_source *s, uint64_t limit, bronze_err *err)
{
    s->par_reread++;
    if (bronze_csvp_open_reader(bronze_csvp_options(s->par), s->par_pos, s->par_line, &s->csv, err))
        return -1;
    s->csv_limit = limit;
    return 0;
}

static int par_end_file(bronze_source *s)
{
    close_file(s);
    s->file_idx++;
    return 0;
}

/* One step of reading a file in parallel, in order (file_csv_par.h): rows
 * from a range whose start is the verified offset, else a sequential
 * re-read. Returns 0 (go on), BRONZE_SRC_RESTART, -1. */
static int par_step(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    if (s->csv) {
        int r = read_file_row(s, err);
        if (r < 0)
            return -1;
        if (r > 0)
            return put_row(s, b, err);
        s->par_pos = bronze_csv_offset(s->csv);
        s->par_line = bronze_csv_line(s->csv);
        bool end = s->par_pos < s->csv_limit; /* the file ended first */
        bronze_csv_close(s->csv);
        s->csv = NULL;
        s->csv_limit = UINT64_MAX;
        return end ? par_end_file(s) : 0;
    }
    const bronze_csvp_range *rg = s->par_rg;
    if (rg) {
        while (s->par_bi < rg->nbatches) {
            const bronze_batch *src = &rg->batches[s->par_bi];
            size_t n = bronze_csvp_rows_fitting(b, src, s->par_row);
            if (!n && s->par_row < src->nrows)
                return 0; /* b is full */
            if (bronze_csvp_copy_rows(b, src, s->par_row, n)) {
                bronze_batch_clear(b);
                return oom(err);
            }
            s->par_row += n;
            if (s->par_row >= src->nrows) {
                s->par_bi++;
                s->par_row = 0;
            }
            if (bronze_batch_full(b))
                return 0;
        }
        s->par_pos = rg->stop;
        s->par_line += rg->lines;
        s->par_rg = NULL;
        /* A worker that stopped early leaves the rest of its range to csv. */
        return rg->complete ? 0 : par_seq(s, rg->next_nominal, err);
    }
    if (!bronze_csvp_next(s->par, &rg))
        return par_end_file(s);
    if (s->par_pos >= rg->next_nominal)
        return 0; /* no record starts in this range */
    if (rg->start != s->par_pos)
        return par_seq(s, rg->next_nominal, err); /* the worker guessed wrong */
    s->par_rg = rg;
    s->par_bi = s->par_row = 0;
    s->par_taken++;
    return 0;
}

static int file_next(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    bronze_batch_clear(b);
    if (s->done || !s->schema->ncols)
        return BRONZE_SRC_END; /* no columns (empty files, only {}): no rows */
    size_t nc = s->schema->ncols;
    if (b->schema->ncols != nc)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "file source: the batch does not have the source's schema");
    while (!bronze_batch_full(b)) {
        bool par = s->par != NULL;
        int r = par ? par_step(s, b, err) : read_row(s, err);
        if (r < 0)
            return -1;
        if (par && r == BRONZE_SRC_RESTART)
            return r;
        if (par || r == READ_PAR)
            continue;
        if (r == 0) {
            s->done = true;
            break;
        }
        if (s->new_cols) {
            bronze_batch_clear(b);
            return widen_and_rewind(s, SIZE_MAX, err);
        }
        if ((r = put_row(s, b, err)))
            return r;
    }
    return b->nrows ? BRONZE_SRC_ROWS : BRONZE_SRC_END;
}

static const char *file_cursor(bronze_source *s)
{
    (void)s;
    return NULL; /* files have no incremental cursor */
}

const bronze_source_vt bronze_source_file = {
    .name = "file",
    .open = file_open,
    .schema = file_schema,
    .next = file_next,
    .cursor = file_cursor,
    .close = file_close,
};
