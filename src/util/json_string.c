/* json_string.c - a JSON string literal (see json_string.h). */
#include "util/json_string.h"

int bronze_json_string_put(bronze_buf *out, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = p;
    if (bronze_buf_reserve(out, n + 2) || bronze_buf_putc(out, '"'))
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (bronze_buf_append(out, s + run, i - run))
            return -1;
        char esc[6] = {'\\', (char)c};
        size_t k = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (bronze_buf_append(out, esc, k))
            return -1;
        run = i + 1;
    }
    if (bronze_buf_append(out, s + run, n - run))
        return -1;
    return bronze_buf_putc(out, '"');
}
