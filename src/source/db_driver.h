/*
 * db_driver.h - the one skeleton of the client/server database sources.
 *
 * postgres.c and odbc.c are drivers: a small table of functions that
 * connect, describe, run and fetch. Everything they used to copy lives once
 * in db_driver.c: the checks in open(), connection retries with an
 * interruptible backoff, the mid-stream RESTART, the schemas' lifetime, the
 * incremental cursor maximum and dry runs. A source kind's bronze_source_vt
 * is its driver table wrapped by bronze_dbd_open() and the bronze_dbd_*
 * functions below.
 *
 * Driver life cycle (all calls on the source's thread):
 *   create()     parses the connection string: no I/O. A string that cannot
 *                be parsed is BRONZE_E_CONFIG, never retried, never quoted.
 *   setup()      connects and describes the (cursor-filtered) query; hands
 *                back a new schema (the skeleton owns it from then on) and
 *                the cursor column. Retried while the error is
 *                BRONZE_E_RETRY. On failure the driver is disconnected.
 *   use_schema() the schema the next rows are decoded for (the skeleton's,
 *                valid until destroy()).
 *   start()      runs the query.
 *   fetch()      appends rows to the (cleared) batch until it is full
 *                (BRONZE_DBD_MORE) or the result ends (BRONZE_DBD_END);
 *                BRONZE_DBD_REDO asks for a fresh setup() and a RESTART
 *                that does not count as a retry (ODBC's switch to row at a
 *                time); -1 with err set (BRONZE_E_RETRY: reconnect and
 *                RESTART, anything else is final).
 *   disconnect() drops the connection (setup() may follow).
 *   destroy()    frees everything.
 */
#ifndef BRONZE_SOURCE_DB_DRIVER_H
#define BRONZE_SOURCE_DB_DRIVER_H

#include "source/db_common.h"
#include "source/source.h"

typedef struct bronze_dbd_args {
    const bronze_config *cfg;
    const char *last_cursor;             /* NULL: full load; valid until destroy() */
    const bronze_dbc_lookback *lookback; /* valid until destroy() */
    const bronze_source_ctx *ctx;        /* shard and part_note (SPEC §8); valid until destroy() */
} bronze_dbd_args;

typedef struct bronze_dbd_desc {
    bronze_schema *schema; /* new; the skeleton takes it */
    int cursor_col;        /* -1: no incremental cursor */
    bool numeric_text;     /* the cursor column holds exact numeric text */
} bronze_dbd_desc;

enum { BRONZE_DBD_END = 0, BRONZE_DBD_MORE = 1, BRONZE_DBD_REDO = 2 };

typedef struct bronze_dbd_vt {
    const char *name; /* "postgres", "odbc": prefixes the skeleton's own messages */
    int (*create)(void **out, const bronze_dbd_args *args, bronze_err *err);
    int (*setup)(void *d, bronze_dbd_desc *out, bronze_err *err);
    void (*use_schema)(void *d, const bronze_schema *schema);
    int (*start)(void *d, bronze_err *err);
    int (*fetch)(void *d, bronze_batch *b, bronze_err *err);
    void (*disconnect)(void *d);
    void (*destroy)(void *d);
} bronze_dbd_vt;

/* The bronze_source_vt functions of every database driver. */
int bronze_dbd_open(bronze_source **out, const bronze_dbd_vt *vt, const bronze_source_ctx *ctx,
                    bronze_err *err);
const bronze_schema *bronze_dbd_schema(bronze_source *s);
int bronze_dbd_next(bronze_source *s, bronze_batch *b, bronze_err *err);
const char *bronze_dbd_cursor(bronze_source *s);
void bronze_dbd_close(bronze_source *s);

/* Sets err to "interrupted by signal N" (BRONZE_E_RUNTIME) when a SIGINT or
 * SIGTERM arrived, and returns -1; else 0. Drivers call it from their waits. */
int bronze_dbd_check_interrupt(const char *name, bronze_err *err);

#endif
