/* value_text.c - textual forms of batch values (see value_text.h). */
#include "format/value_text.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/datetime.h"

size_t bronze_fmt_double(double v, char *out)
{
    if (isnan(v))
        return (size_t)snprintf(out, 32, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, 32, v > 0 ? "inf" : "-inf");
    if (v == 0)
        return (size_t)snprintf(out, 32, signbit(v) ? "-0" : "0");
    if (fabs(v) < 1e15 && v == (double)(int64_t)v)
        return (size_t)snprintf(out, 32, "%lld", (long long)v);
    /* 15 digits always read back as they were written, and %g drops trailing
     * zeros, so the first precision that reads back is the shortest; a
     * subnormal holds fewer digits (5e-324), so its search starts at 1 */
    for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return (size_t)n;
    }
    return 0;
}

size_t bronze_fmt_float(float v, char *out)
{
    if (isnan(v))
        return (size_t)snprintf(out, 32, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, 32, v > 0 ? "inf" : "-inf");
    for (int prec = 6; prec <= 9; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, (double)v);
        if (prec == 9 || strtof(out, NULL) == v)
            return (size_t)n;
    }
    return 0;
}

size_t bronze_fmt_decimal(__int128 v, int scale, char *out)
{
    char tmp[64];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        tmp[n++] = '0';
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[k++] = tmp[i];
        if (i == scale && scale > 0)
            out[k++] = '.';
    }
    out[k] = 0;
    return k;
}

int bronze_value_text(const bronze_field *f, const bronze_column *c, size_t row, bronze_buf *out)
{
    char tmp[64];
    size_t n;
    switch (f->type) {
    case BRONZE_T_BOOL:
        return c->v.u8[row] ? bronze_buf_append(out, "true", 4)
                            : bronze_buf_append(out, "false", 5);
    case BRONZE_T_INT16:
    case BRONZE_T_INT32:
        n = (size_t)snprintf(tmp, sizeof tmp, "%d", c->v.i32[row]);
        break;
    case BRONZE_T_INT64:
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)c->v.i64[row]);
        break;
    case BRONZE_T_FLOAT:
        n = bronze_fmt_float(c->v.f32[row], tmp);
        break;
    case BRONZE_T_DOUBLE:
        n = bronze_fmt_double(c->v.f64[row], tmp);
        break;
    case BRONZE_T_DECIMAL:
        n = bronze_fmt_decimal(c->v.i128[row], f->scale, tmp);
        break;
    case BRONZE_T_DATE:
        n = bronze_fmt_date(c->v.i32[row], tmp);
        break;
    case BRONZE_T_TIMESTAMP:
        n = bronze_fmt_timestamp(c->v.i64[row], ' ', "", tmp);
        break;
    case BRONZE_T_TIMESTAMPTZ:
        n = bronze_fmt_timestamp(c->v.i64[row], ' ', "+00", tmp);
        break;
    case BRONZE_T_TIME:
        n = bronze_fmt_time(c->v.i64[row], tmp);
        break;
    case BRONZE_T_BYTES: {
        size_t len;
        const unsigned char *p = (const unsigned char *)bronze_col_str(c, row, &len);
        static const char hex[] = "0123456789abcdef";
        if (bronze_buf_reserve(out, 2 + 2 * len))
            return -1;
        out->data[out->len++] = '\\';
        out->data[out->len++] = 'x';
        for (size_t i = 0; i < len; i++) {
            out->data[out->len++] = (uint8_t)hex[p[i] >> 4];
            out->data[out->len++] = (uint8_t)hex[p[i] & 15];
        }
        return 0;
    }
    default: {
        size_t len;
        const char *p = bronze_col_str(c, row, &len);
        return bronze_buf_append(out, p, len);
    }
    }
    return bronze_buf_append(out, tmp, n);
}
