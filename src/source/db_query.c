/*
 * db_query.c - query wrapping and lookback for the database sources (see
 * db_query.h).
 *
 * The trailing-clutter trim is a small SQL lexer rather than a search for
 * "--": a base_query may hold '--' inside a string literal, a quoted
 * identifier or a $$ body, and cutting there would change the query.
 */
#include "source/db_query.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Skips *text's leading whitespace; the length without the trailing. */
static size_t trim_space(const char **text)
{
    while (isspace((unsigned char)**text))
        ++*text;
    size_t n = strlen(*text);
    while (n && isspace((unsigned char)(*text)[n - 1]))
        n--;
    return n;
}

int bronze_dbc_lookback_parse(const char *text, bronze_dbc_lookback *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return 0;
    size_t n = trim_space(&text);
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
    size_t n = trim_space(&text);
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
