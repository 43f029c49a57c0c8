/* err.c - error context helpers (see err.h). */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int bronze_err_set(bronze_err *err, bronze_err_kind kind, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->kind = kind;
    return -1;
}

int bronze_err_prefix(bronze_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix), mlen = strlen(err->msg);
    if (plen + 2 >= sizeof err->msg)
        plen = sizeof err->msg - 3;
    if (plen + 2 + mlen >= sizeof err->msg)
        mlen = sizeof err->msg - plen - 3;
    memmove(err->msg + plen + 2, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen] = ':';
    err->msg[plen + 1] = ' ';
    err->msg[plen + 2 + mlen] = 0;
    if (err->kind == BRONZE_E_NONE)
        err->kind = BRONZE_E_RUNTIME;
    return -1;
}

void bronze_err_clear(bronze_err *err)
{
    if (err) {
        err->kind = BRONZE_E_NONE;
        err->msg[0] = 0;
    }
}
