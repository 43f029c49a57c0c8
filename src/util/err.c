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
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
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
