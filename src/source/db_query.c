/* db_query.c - incremental query wrapping shared by the database sources. */
#include "source/db_query.h"

#include <stdbool.h>
#include <string.h>

size_t bronze_db_query_trimmed_len(const char *q)
{
    size_t n = strlen(q);
    for (;;) {
        while (n && (q[n - 1] == ' ' || q[n - 1] == '\t' || q[n - 1] == '\n' || q[n - 1] == '\r' ||
                     q[n - 1] == ';'))
            n--;
        /* a -- comment on the last line (not inside a string: good enough for a tail) */
        size_t ls = n;
        while (ls && q[ls - 1] != '\n')
            ls--;
        const char *dash = NULL;
        bool in_str = false;
        for (size_t i = ls; i + 1 < n; i++) {
            if (q[i] == '\'')
                in_str = !in_str;
            if (!in_str && q[i] == '-' && q[i + 1] == '-') {
                dash = q + i;
                break;
            }
        }
        if (!dash)
            return n;
        n = (size_t)(dash - q);
    }
}

int bronze_db_wrap_incremental(bronze_buf *out, const char *base_query, const char *column,
                               const char *rhs)
{
    if (bronze_buf_printf(out, "SELECT * FROM (%.*s\n) bronze_src WHERE \"",
                          (int)bronze_db_query_trimmed_len(base_query), base_query))
        return -1;
    for (const char *p = column; *p; p++)
        if ((*p == '"' && bronze_buf_putc(out, '"')) || bronze_buf_putc(out, (uint8_t)*p))
            return -1;
    return bronze_buf_printf(out, "\" > %s", rhs);
}
