/*
 * db_common.c - query wrapping, lookback, cursor maximum and value text shared
 * by postgres.c and odbc.c (see db_common.h).
 *
 * The trailing-clutter trim is a small SQL lexer rather than a search for
 * "--": a base_query may hold '--' inside a string literal, a quoted
 * identifier or a $$ body, and cutting there would change the query.
 */
#include "source/db_common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/value_text.h"
#include "util/datetime.h"

/* ---------------------------------------------------------------- query */

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Index just past a dollar-quote body starting at q[i] == '$', or 0 when
 * q[i] does not open one ($1 parameters, identifiers containing $). */
static size_t skip_dollar(const char *q, size_t n, size_t i)
{
    if (i > 0 && (ident_char(q[i - 1]) || q[i - 1] == '$'))
        return 0;
    size_t j = i + 1;
    if (j < n && isdigit((unsigned char)q[j]))
        return 0;
    while (j < n && ident_char(q[j]))
        j++;
    if (j >= n || q[j] != '$')
        return 0;
    size_t taglen = j - i + 1; /* "$tag$" */
    for (size_t k = j + 1; k + taglen <= n; k++)
        if (q[k] == '$' && !memcmp(q + k, q + i, taglen))
            return k + taglen;
    return n; /* unterminated: the rest is the body */
}

size_t bronze_dbc_query_trimmed_len(const char *q)
{
    size_t n = strlen(q), i = 0, last = 0;
    while (i < n) {
        char c = q[i];
        if (isspace((unsigned char)c) || c == ';') {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < n && q[i + 1] == '-') {
            while (i < n && q[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < n && q[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (i < n && depth) {
                if (q[i] == '/' && i + 1 < n && q[i + 1] == '*')
                    depth++, i += 2;
                else if (q[i] == '*' && i + 1 < n && q[i + 1] == '/')
                    depth--, i += 2;
                else
                    i++;
            }
            continue;
        }
        if (c == '\'') {
            bool esc =
                i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e') && (i < 2 || !ident_char(q[i - 2]));
            i++;
            while (i < n) {
                if (esc && q[i] == '\\' && i + 1 < n)
                    i += 2;
                else if (q[i] == '\'' && i + 1 < n && q[i + 1] == '\'')
                    i += 2;
                else if (q[i++] == '\'')
                    break;
            }
        } else if (c == '"' || c == '`') {
            i++;
            while (i < n) {
                if (q[i] == c && i + 1 < n && q[i + 1] == c)
                    i += 2;
                else if (q[i++] == c)
                    break;
            }
        } else if (c == '$') {
            size_t e = skip_dollar(q, n, i);
            i = e ? e : i + 1;
        } else {
            i++;
        }
        last = i;
    }
    return last;
}

int bronze_dbc_quote_ident(bronze_buf *out, const char *name, char quote)
{
    if (quote == 0 || quote == ' ')
        return bronze_buf_append(out, name, strlen(name));
    if (bronze_buf_putc(out, (uint8_t)quote))
        return -1;
    for (const char *p = name; *p; p++)
        if ((*p == quote && bronze_buf_putc(out, (uint8_t)quote)) ||
            bronze_buf_putc(out, (uint8_t)*p))
            return -1;
    return bronze_buf_putc(out, (uint8_t)quote);
}

int bronze_dbc_wrap_query(bronze_buf *out, const char *base_query, const char *column, char quote,
                          const char *rhs)
{
    size_t qlen = bronze_dbc_query_trimmed_len(base_query);
    if (bronze_buf_printf(out, "SELECT * FROM (") || bronze_buf_append(out, base_query, qlen) ||
        bronze_buf_printf(out, "\n) bronze_src"))
        return -1;
    if (column &&
        (bronze_buf_printf(out, " WHERE ") || bronze_dbc_quote_ident(out, column, quote) ||
         bronze_buf_printf(out, " > %s", rhs)))
        return -1;
    return bronze_buf_cstr(out);
}

/* ------------------------------------------------------------- lookback */

static int interval_scan(const char *text, int64_t *out, bool *calendar);

int bronze_dbc_lookback_parse(const char *text, bronze_dbc_lookback *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return 0;
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0)
        return 0;
    if (n >= sizeof out->text)
        return -1;
    memcpy(out->text, text, n);
    out->text[n] = 0;
    size_t i = 0, int_digits = 0, frac_digits = 0;
    if (text[0] == '-')
        return -1; /* a negative window would skip rows, not re-read them */
    if (text[0] == '+')
        i = 1;
    while (i < n && isdigit((unsigned char)text[i]))
        i++, int_digits++;
    if (i < n && text[i] == '.')
        for (i++; i < n && isdigit((unsigned char)text[i]); i++)
            frac_digits++;
    if (i == n && int_digits && (text[0] != '.')) {
        if (text[0] == '+')
            memmove(out->text, out->text + 1, n);
        if (frac_digits == 0 && out->text[strlen(out->text) - 1] == '.')
            out->text[strlen(out->text) - 1] = 0;
        out->kind = BRONZE_DBC_LB_NUMBER;
        return 0;
    }
    /* anything else must read as an interval ("abc" is no window) */
    int64_t us;
    bool calendar;
    if (interval_scan(out->text, &us, &calendar))
        return -1;
    out->kind = BRONZE_DBC_LB_INTERVAL;
    return 0;
}

static int64_t unit_micros(const char *u, size_t n)
{
    static const struct {
        const char *name;
        int64_t us;
    } units[] = {
        {"microsecond", 1},
        {"microseconds", 1},
        {"us", 1},
        {"usec", 1},
        {"usecs", 1},
        {"millisecond", 1000},
        {"milliseconds", 1000},
        {"ms", 1000},
        {"msec", 1000},
        {"msecs", 1000},
        {"second", 1000000},
        {"seconds", 1000000},
        {"sec", 1000000},
        {"secs", 1000000},
        {"s", 1000000},
        {"minute", 60000000},
        {"minutes", 60000000},
        {"min", 60000000},
        {"mins", 60000000},
        {"m", 60000000},
        {"hour", 3600000000LL},
        {"hours", 3600000000LL},
        {"hr", 3600000000LL},
        {"hrs", 3600000000LL},
        {"h", 3600000000LL},
        {"day", 86400000000LL},
        {"days", 86400000000LL},
        {"d", 86400000000LL},
        {"week", 604800000000LL},
        {"weeks", 604800000000LL},
        {"w", 604800000000LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && !strncasecmp(units[i].name, u, n))
            return units[i].us;
    return 0;
}

static int calendar_unit(const char *u, size_t n)
{
    static const char *const names[] = {"mon", "mons", "month", "months", "y",
                                        "yr",  "yrs",  "year",  "years"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !strncasecmp(names[i], u, n))
            return 1;
    return 0;
}

/* The interval grammar of bronze_dbc_interval_micros; *calendar is set when
 * a month or year unit appears (readable, but of no fixed length). */
static int interval_scan(const char *text, int64_t *out, bool *calendar)
{
    *calendar = false;
    if (!text)
        return -1;
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0)
        return -1;
    /* HH:MM[:SS] */
    if (memchr(text, ':', n)) {
        int h = 0, m = 0, s = 0, used = 0;
        char tmp[64];
        if (n >= sizeof tmp)
            return -1;
        memcpy(tmp, text, n);
        tmp[n] = 0;
        if (sscanf(tmp, "%d:%d:%d%n", &h, &m, &s, &used) == 3 && (size_t)used == n) {
        } else if (sscanf(tmp, "%d:%d%n", &h, &m, &used) == 2 && (size_t)used == n) {
            s = 0;
        } else
            return -1;
        if (h < 0 || m < 0 || m > 59 || s < 0 || s > 59)
            return -1;
        *out = ((int64_t)h * 3600 + m * 60 + s) * 1000000;
        return 0;
    }
    double total = 0;
    size_t i = 0;
    int terms = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)text[i]))
            i++;
        if (i >= n)
            break;
        size_t ns = i;
        while (i < n && (isdigit((unsigned char)text[i]) || text[i] == '.'))
            i++;
        if (i == ns)
            return -1;
        char num[64];
        if (i - ns >= sizeof num)
            return -1;
        memcpy(num, text + ns, i - ns);
        num[i - ns] = 0;
        char *end;
        double v = strtod(num, &end);
        if (*end)
            return -1;
        while (i < n && isspace((unsigned char)text[i]))
            i++;
        size_t us = i;
        while (i < n && isalpha((unsigned char)text[i]))
            i++;
        int64_t unit = unit_micros(text + us, i - us);
        if (!unit && calendar_unit(text + us, i - us)) {
            *calendar = true;
            unit = 2629800000000LL; /* a mean month, for the range check only */
        }
        if (!unit)
            return -1;
        total += v * (double)unit;
        terms++;
        while (i < n && (isspace((unsigned char)text[i]) || text[i] == ','))
            i++;
    }
    if (!terms || total > 9.2e18)
        return -1;
    *out = (int64_t)llround(total);
    return 0;
}

int bronze_dbc_interval_micros(const char *text, int64_t *out)
{
    bool calendar;
    int64_t us;
    if (interval_scan(text, &us, &calendar) || calendar)
        return -1;
    *out = us;
    return 0;
}

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

/* ------------------------------------------------- retries and secrets */

int bronze_dbc_find_name(size_t n, bronze_dbc_name_fn name, const void *ctx, const char *want)
{
    int hit = -1, hits = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name(ctx, i), want))
            return (int)i;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(name(ctx, i), want))
            hit = (int)i, hits++;
    return hits == 1 ? hit : -1;
}

int bronze_dbc_err_no_cursor_column(const bronze_config *cfg, size_t n, bronze_dbc_name_fn name,
                                    const void *ctx, bronze_err *err)
{
    bronze_buf names = BRONZE_BUF_INIT;
    for (size_t i = 0; i < n && i < 30; i++)
        bronze_buf_printf(&names, "%s%s", i ? ", " : "", name(ctx, i));
    bronze_buf_cstr(&names);
    bronze_err_set(err, BRONZE_E_CONFIG,
                   "%s: source.db.incremental.cursor_column / incremental_key: cursor column '%s' "
                   "is not among the query's columns (%s%s)",
                   cfg->path, cfg->db.cursor_column, names.data ? (char *)names.data : "",
                   n > 30 ? ", ..." : "");
    bronze_buf_free(&names);
    return -1;
}

void bronze_dbc_scrub(char *msg, size_t cap, const char *secret)
{
    if (!msg || !secret || !*secret || !cap)
        return;
    size_t sl = strlen(secret);
    char *tmp = malloc(cap);
    if (!tmp) {
        if (strstr(msg, secret))
            snprintf(msg, cap, "(message withheld: it contained a secret)");
        return;
    }
    size_t o = 0;
    const char *p = msg, *hit;
    while ((hit = strstr(p, secret)) && o < cap - 1) {
        size_t k = (size_t)(hit - p);
        if (k > cap - 1 - o)
            k = cap - 1 - o;
        memcpy(tmp + o, p, k);
        o += k;
        for (int j = 0; j < 3 && o < cap - 1; j++)
            tmp[o++] = '*';
        p = hit + sl;
    }
    size_t rest = strlen(p);
    if (rest > cap - 1 - o)
        rest = cap - 1 - o;
    memcpy(tmp + o, p, rest);
    o += rest;
    tmp[o] = 0;
    memcpy(msg, tmp, o + 1);
    free(tmp);
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

int bronze_dbc_open_checks(const bronze_config *cfg, bronze_dbc_lookback *lookback, bronze_err *err)
{
    if (!cfg->env.conn_str || !*cfg->env.conn_str)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.conn_str_env: no connection string (is %s set?)",
                              cfg->path, cfg->db.conn_str_env ? cfg->db.conn_str_env : "it");
    if (!cfg->db.base_query || !bronze_dbc_query_trimmed_len(cfg->db.base_query))
        return bronze_err_set(err, BRONZE_E_CONFIG, "%s: source.db.base_query: empty query",
                              cfg->path);
    if (bronze_dbc_lookback_parse(cfg->db.lookback, lookback))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.db.incremental.lookback: must be an interval "
                              "('2 hours') or a non-negative number",
                              cfg->path);
    return 0;
}
