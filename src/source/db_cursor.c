/*
 * db_cursor.c - the cursor maximum, cursor text and value text of the
 * database sources (see db_cursor.h).
 */
#include "source/db_cursor.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/value_text.h"
#include "util/datetime.h"

/* --------------------------------------------------------- value text */

/* Cursor text goes through the one formatter of each kind (util/datetime.c,
 * format/value_text.c); only the spelling is the database's. */
size_t bronze_dbc_fmt_timestamp(int64_t micros, bool tz, char *out)
{
    return bronze_fmt_timestamp_frac(micros, 'T', BRONZE_FRAC_SIX, tz ? "Z" : "", out);
}

size_t bronze_dbc_fmt_time(int64_t micros, char *out)
{
    return bronze_fmt_time_frac(micros, BRONZE_FRAC_SIX, out);
}

size_t bronze_dbc_fmt_double(double v, char *out)
{
    if (isinf(v))
        return (size_t)snprintf(out, 64, v > 0 ? "Infinity" : "-Infinity");
    return bronze_fmt_double(v, out);
}

const unsigned __int128 bronze_dbc_pow10[39] = {
    (unsigned __int128)1ULL,
    (unsigned __int128)10ULL,
    (unsigned __int128)100ULL,
    (unsigned __int128)1000ULL,
    (unsigned __int128)10000ULL,
    (unsigned __int128)100000ULL,
    (unsigned __int128)1000000ULL,
    (unsigned __int128)10000000ULL,
    (unsigned __int128)100000000ULL,
    (unsigned __int128)1000000000ULL,
    (unsigned __int128)10000000000ULL,
    (unsigned __int128)100000000000ULL,
    (unsigned __int128)1000000000000ULL,
    (unsigned __int128)10000000000000ULL,
    (unsigned __int128)100000000000000ULL,
    (unsigned __int128)1000000000000000ULL,
    (unsigned __int128)10000000000000000ULL,
    (unsigned __int128)100000000000000000ULL,
    (unsigned __int128)1000000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10ULL,
    (unsigned __int128)10000000000000000000ULL * 100ULL,
    (unsigned __int128)10000000000000000000ULL * 1000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000ULL,
    (unsigned __int128)10000000000000000000ULL * 100000ULL,
    (unsigned __int128)10000000000000000000ULL * 1000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000000ULL,
    (unsigned __int128)10000000000000000000ULL * 100000000ULL,
    (unsigned __int128)10000000000000000000ULL * 1000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 100000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 1000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 100000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 1000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 100000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 1000000000000000000ULL,
    (unsigned __int128)10000000000000000000ULL * 10000000000000000000ULL,
};

int bronze_dbc_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *out)
{
    const unsigned __int128 *p10 = bronze_dbc_pow10;
    const unsigned __int128 limit = p10[38];
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    while (n > i && isspace((unsigned char)s[n - 1]))
        n--;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    unsigned __int128 acc = 0;
    long pending = 0, e10 = 0, digits = 0;
    bool frac = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !frac) {
            frac = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        digits++;
        if (frac)
            e10--;
        if (c == '0') {
            pending++;
            continue;
        }
        /* acc = acc * 10^(pending+1) + digit */
        long k = pending + 1;
        if (acc != 0 && (k > 38 || acc > (limit - 1) / p10[k]))
            return -2;
        acc = acc == 0 ? (unsigned __int128)(c - '0') : acc * p10[k] + (unsigned __int128)(c - '0');
        if (acc >= limit)
            return -2;
        pending = 0;
    }
    if (!digits)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        long ev = 0;
        size_t es = i;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            if (ev < 100000)
                ev = ev * 10 + (s[i] - '0');
        if (i == es)
            return -1;
        e10 += eneg ? -ev : ev;
    }
    if (i != n)
        return -1;
    long shift = e10 + pending + scale;
    if (acc != 0) {
        if (shift > 0) {
            if (shift > 38 || acc > (limit - 1) / p10[shift])
                return -2;
            acc *= p10[shift];
        } else if (shift < 0) {
            if (-shift > 38 || acc % p10[-shift])
                return -2;
            acc /= p10[-shift];
        }
    }
    if (precision < 1 || precision > 38 || acc >= p10[precision])
        return -2;
    *out = neg ? -(__int128)acc : (__int128)acc;
    return 0;
}

/* Rank of a numeric text: -2 -Infinity, 0 finite, 2 Infinity, 3 NaN. */
static int num_rank(const char *s, size_t n)
{
    if (n == 3 && !strncasecmp(s, "NaN", 3))
        return 3;
    if ((n == 8 && !strncasecmp(s, "Infinity", 8)) || (n == 9 && !strncasecmp(s, "+Infinity", 9)))
        return 2;
    if (n == 9 && !strncasecmp(s, "-Infinity", 9))
        return -2;
    return 0;
}

typedef struct {
    bool neg;
    const char *ip, *fp; /* integer digits without leading zeros; fraction without trailing */
    size_t in, fn;
} numparts;

static void num_split(const char *s, size_t n, numparts *p)
{
    size_t i = 0;
    p->neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        p->neg = s[i++] == '-';
    while (i < n && s[i] == '0')
        i++;
    p->ip = s + i;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    p->in = (size_t)(s + i - p->ip);
    p->fp = s + i;
    p->fn = 0;
    if (i < n && s[i] == '.') {
        p->fp = s + i + 1;
        size_t j = i + 1;
        while (j < n && isdigit((unsigned char)s[j]))
            j++;
        p->fn = j - (i + 1);
        while (p->fn && p->fp[p->fn - 1] == '0')
            p->fn--;
    }
    if (p->in == 0 && p->fn == 0)
        p->neg = false; /* -0 == 0 */
}

int bronze_dbc_numtext_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int ra = num_rank(a, an), rb = num_rank(b, bn);
    if (ra || rb)
        return (ra > rb) - (ra < rb);
    numparts x, y;
    num_split(a, an, &x);
    num_split(b, bn, &y);
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    int mag;
    if (x.in != y.in)
        mag = x.in > y.in ? 1 : -1;
    else {
        mag = memcmp(x.ip, y.ip, x.in);
        if (!mag) {
            size_t m = x.fn < y.fn ? x.fn : y.fn;
            mag = memcmp(x.fp, y.fp, m);
            if (!mag)
                mag = (x.fn > y.fn) - (x.fn < y.fn);
        }
        mag = (mag > 0) - (mag < 0);
    }
    return x.neg ? -mag : mag;
}

/* -------------------------------------------------------------- cursor */

void bronze_dbc_cursor_init(bronze_dbc_cursor *c, const bronze_field *f, bool numeric_text)
{
    memset(c, 0, sizeof *c);
    c->type = f->type;
    c->scale = f->scale;
    c->numeric_text = numeric_text;
}

void bronze_dbc_cursor_reset(bronze_dbc_cursor *c)
{
    c->have = false;
    c->s.len = 0;
}

void bronze_dbc_cursor_free(bronze_dbc_cursor *c)
{
    bronze_buf_free(&c->s);
    c->have = false;
}

int bronze_dbc_cursor_scan(bronze_dbc_cursor *c, const bronze_batch *b, size_t col)
{
    const bronze_column *k = &b->cols[col];
    size_t rows = b->nrows;
    for (size_t r = 0; r < rows; r++) {
        if (!bronze_batch_is_valid(k, r))
            continue;
        switch (c->type) {
        case BRONZE_T_BOOL:
            if (!c->have || k->v.u8[r] > c->i)
                c->i = k->v.u8[r], c->have = true;
            break;
        case BRONZE_T_INT16:
        case BRONZE_T_INT32:
        case BRONZE_T_DATE:
            if (!c->have || k->v.i32[r] > c->i)
                c->i = k->v.i32[r], c->have = true;
            break;
        case BRONZE_T_INT64:
        case BRONZE_T_TIMESTAMP:
        case BRONZE_T_TIMESTAMPTZ:
        case BRONZE_T_TIME:
            if (!c->have || k->v.i64[r] > c->i)
                c->i = k->v.i64[r], c->have = true;
            break;
        case BRONZE_T_FLOAT:
        case BRONZE_T_DOUBLE: {
            double v = c->type == BRONZE_T_FLOAT ? (double)k->v.f32[r] : k->v.f64[r];
            /* PostgreSQL orders NaN above every number */
            if (!c->have || (isnan(v) && !isnan(c->f)) || (!isnan(c->f) && v > c->f))
                c->f = v, c->have = true;
            break;
        }
        case BRONZE_T_DECIMAL:
            if (!c->have || k->v.i128[r] > c->d)
                c->d = k->v.i128[r], c->have = true;
            break;
        default: {
            size_t n;
            const char *p = bronze_col_str(k, r, &n);
            int cmp;
            if (!c->have)
                cmp = 1;
            else if (c->numeric_text)
                cmp = bronze_dbc_numtext_cmp(p, n, (const char *)c->s.data, c->s.len);
            else {
                size_t m = n < c->s.len ? n : c->s.len;
                cmp = m ? memcmp(p, c->s.data, m) : 0;
                if (!cmp)
                    cmp = (n > c->s.len) - (n < c->s.len);
            }
            if (cmp > 0) {
                c->s.len = 0;
                if (bronze_buf_append(&c->s, p, n))
                    return -1;
                c->have = true;
            }
        }
        }
    }
    return 0;
}

int bronze_dbc_cursor_text(const bronze_dbc_cursor *c, bronze_buf *out)
{
    if (!c->have)
        return -1;
    char tmp[96];
    out->len = 0;
    switch (c->type) {
    case BRONZE_T_BOOL:
        return bronze_buf_printf(out, "%s", c->i ? "true" : "false");
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_INT64:
        return bronze_buf_printf(out, "%lld", (long long)c->i);
    case BRONZE_T_DATE: {
        char d[BRONZE_DT_MAX];
        bronze_fmt_date((int32_t)c->i, d);
        return bronze_buf_printf(out, "%s", d);
    }
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
        bronze_dbc_fmt_timestamp(c->i, c->type == BRONZE_T_TIMESTAMPTZ, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_TIME:
        bronze_dbc_fmt_time(c->i, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE:
        bronze_dbc_fmt_double(c->f, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_DECIMAL:
        bronze_fmt_decimal(c->d, c->scale, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_BYTES: {
        static const char hex[] = "0123456789abcdef";
        if (bronze_buf_append(out, "\\x", 2))
            return -1;
        for (size_t i = 0; i < c->s.len; i++) {
            uint8_t h[2] = {(uint8_t)hex[c->s.data[i] >> 4], (uint8_t)hex[c->s.data[i] & 15]};
            if (bronze_buf_append(out, h, 2))
                return -1;
        }
        return bronze_buf_cstr(out);
    }
    default:
        if (bronze_buf_append(out, c->s.data, c->s.len))
            return -1;
        return bronze_buf_cstr(out);
    }
}

/* ------------------------------------------------ cursor text, parsed */

int bronze_dbc_value_parse(bronze_type t, int scale, const char *text, bronze_dbc_value *v)
{
    memset(v, 0, sizeof *v);
    size_t n = strlen(text);
    bool has_tz;
    char *end;
    switch (t) {
    case BRONZE_T_BOOL:
        if (!strcasecmp(text, "true") || !strcasecmp(text, "t") || !strcmp(text, "1"))
            v->i = 1;
        else if (!strcasecmp(text, "false") || !strcasecmp(text, "f") || !strcmp(text, "0"))
            v->i = 0;
        else
            return -1;
        return 0;
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_INT64:
        if (!n)
            return -1;
        v->i = strtoll(text, &end, 10);
        return *end ? -1 : 0;
    case BRONZE_T_DATE: {
        int32_t d;
        if (!strcasecmp(text, "infinity"))
            d = INT32_MAX;
        else if (!strcasecmp(text, "-infinity"))
            d = BRONZE_DATE_NINF;
        else if (bronze_parse_date(text, n, &d))
            return -1;
        v->i = d;
        return 0;
    }
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ:
        if (!strcasecmp(text, "infinity"))
            v->i = INT64_MAX;
        else if (!strcasecmp(text, "-infinity"))
            v->i = BRONZE_TS_NINF;
        else if (bronze_parse_timestamp(text, n, &v->i, &has_tz)) {
            /* a bare date reads as its midnight */
            int32_t d;
            if (bronze_parse_date(text, n, &d))
                return -1;
            v->i = (int64_t)d * 86400000000LL;
        }
        return 0;
    case BRONZE_T_TIME:
        return bronze_parse_time(text, n, &v->i);
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE:
        if (!n)
            return -1;
        v->f = strtod(text, &end);
        return *end ? -1 : 0;
    case BRONZE_T_DECIMAL:
        return bronze_dbc_parse_decimal(text, n, 38, scale, &v->d) ? -1 : 0;
    case BRONZE_T_STRING:
    case BRONZE_T_JSON:
        v->s = text;
        v->n = n;
        return 0;
    default:
        return -1;
    }
}

int bronze_dbc_cursor_cmp_text(const bronze_dbc_cursor *c, const char *text, int *cmp)
{
    bronze_dbc_value v;
    if (!c->have || !text || bronze_dbc_value_parse(c->type, c->scale, text, &v))
        return -1;
    switch (c->type) {
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE:
        if (isnan(v.f) || isnan(c->f))
            *cmp = isnan(v.f) - isnan(c->f);
        else
            *cmp = (v.f > c->f) - (v.f < c->f);
        return 0;
    case BRONZE_T_DECIMAL:
        *cmp = (v.d > c->d) - (v.d < c->d);
        return 0;
    case BRONZE_T_STRING:
    case BRONZE_T_JSON:
        if (c->numeric_text)
            *cmp = bronze_dbc_numtext_cmp(v.s, v.n, (const char *)c->s.data, c->s.len);
        else {
            size_t m = v.n < c->s.len ? v.n : c->s.len;
            int r = m ? memcmp(v.s, c->s.data, m) : 0;
            *cmp = r ? (r > 0) - (r < 0) : (v.n > c->s.len) - (v.n < c->s.len);
        }
        return 0;
    default:
        *cmp = (v.i > c->i) - (v.i < c->i);
        return 0;
    }
}

int bronze_dbc_cursor_bind_text(bronze_type t, int scale, const char *cursor,
                                const bronze_dbc_lookback *lb, bronze_buf *out)
{
    out->len = 0;
    bool has_lb = lb && lb->kind != BRONZE_DBC_LB_NONE;
    if (!has_lb && (t == BRONZE_T_STRING || t == BRONZE_T_JSON || t == BRONZE_T_BYTES)) {
        if (bronze_buf_append(out, cursor, strlen(cursor)))
            return -1;
        return bronze_buf_cstr(out);
    }
    bronze_dbc_value v;
    if (bronze_dbc_value_parse(t, scale, cursor, &v))
        return -1;
    int64_t us = 0; /* lookback in micros (datetime) */
    if (has_lb) {
        bool datetime = t == BRONZE_T_DATE || t == BRONZE_T_TIMESTAMP ||
                        t == BRONZE_T_TIMESTAMPTZ || t == BRONZE_T_TIME;
        if (lb->kind == BRONZE_DBC_LB_INTERVAL) {
            if (!datetime || bronze_dbc_interval_micros(lb->text, &us))
                return -2;
        } else if (datetime) {
            double secs = strtod(lb->text, NULL) * (t == BRONZE_T_DATE ? 86400.0 : 1.0);
            us = (int64_t)llround(secs * 1e6);
        } else if (t == BRONZE_T_INT16 || t == BRONZE_T_INT32 || t == BRONZE_T_INT64) {
            if (strchr(lb->text, '.'))
                return -2;
            v.i -= strtoll(lb->text, NULL, 10);
        } else if (t == BRONZE_T_DECIMAL) {
            __int128 d;
            if (bronze_dbc_parse_decimal(lb->text, strlen(lb->text), 38, scale, &d))
                return -2;
            v.d -= d;
        } else if (t == BRONZE_T_FLOAT || t == BRONZE_T_DOUBLE) {
            v.f -= strtod(lb->text, NULL);
        } else {
            return -2;
        }
        if (datetime && us) {
            if (t == BRONZE_T_DATE) {
                if (v.i != BRONZE_DATE_PINF && v.i != BRONZE_DATE_NINF)
                    v.i -= (us + 86400000000LL - 1) / 86400000000LL; /* whole days, widened */
            } else if (t == BRONZE_T_TIME) {
                v.i = v.i > us ? v.i - us : 0;
            } else if (v.i != BRONZE_TS_PINF && v.i != BRONZE_TS_NINF) {
                v.i -= us;
            }
        }
    }
    char tmp[96];
    switch (t) {
    case BRONZE_T_BOOL:
        return bronze_buf_printf(out, "%d", (int)v.i);
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
    case BRONZE_T_INT64:
        return bronze_buf_printf(out, "%lld", (long long)v.i);
    case BRONZE_T_DATE:
        bronze_fmt_date((int32_t)v.i, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_TIMESTAMP:
    case BRONZE_T_TIMESTAMPTZ: {
        size_t k = bronze_dbc_fmt_timestamp(v.i, false, tmp);
        char *T = memchr(tmp, 'T', k);
        if (T)
            *T = ' ';
        return bronze_buf_printf(out, "%s", tmp);
    }
    case BRONZE_T_TIME:
        bronze_dbc_fmt_time(v.i, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE:
        bronze_dbc_fmt_double(v.f, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    case BRONZE_T_DECIMAL:
        bronze_fmt_decimal(v.d, scale, tmp);
        return bronze_buf_printf(out, "%s", tmp);
    default:
        return -2;
    }
}
