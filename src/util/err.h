/*
 * err.h - the one error context every fallible call fills.
 *
 * Functions that can fail return int (0 ok, negative on error) and take a
 * bronze_err * last. The message is complete and human-readable: it names the
 * config file, key or record that caused it. `kind` decides the exit code:
 * BRONZE_E_CONFIG -> 2 (usage/config), anything else -> 1 (runtime).
 * Never put a secret (password, token, connection string) into a message.
 */
#ifndef BRONZE_UTIL_ERR_H
#define BRONZE_UTIL_ERR_H

#include <stdarg.h>

typedef enum {
    BRONZE_E_NONE = 0,
    BRONZE_E_CONFIG = 1,  /* bad config / usage: exit 2 */
    BRONZE_E_RUNTIME = 2, /* source, data or storage failure: exit 1 */
    BRONZE_E_RETRY = 3,   /* transient (network, serialization): may be retried */
} bronze_err_kind;

typedef struct bronze_err {
    bronze_err_kind kind;
    char msg[2048];
} bronze_err;

#define BRONZE_ERR_INIT                                                                            \
    {                                                                                              \
        BRONZE_E_NONE,                                                                             \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Sets the error and returns -1, so callers can `return bronze_err_set(...)`. */
int bronze_err_set(bronze_err *err, bronze_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: " (formatted). Returns -1. */
int bronze_err_prefix(bronze_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bronze_err_clear(bronze_err *err);

#endif
