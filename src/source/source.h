/*
 * source.h - the source seam: every kind of input (db, file, api, custom)
 * is one bronze_source_vt, chosen once by bronze_source_for(); the job code
 * never asks which kind it has.
 *
 * Life cycle:
 *   open()   connects / opens files and fixes the schema (a database
 *            describes its query; a file source samples its input).
 *            With ctx->dry_run it only checks the source is reachable and
 *            describable, and fetches no rows.
 *   schema() the schema, valid until close() or the next RESTART.
 *   next()   clears and refills the caller's batch (whose schema is
 *            schema()). Returns BRONZE_SRC_ROWS with >= 1 row,
 *            BRONZE_SRC_END when done, BRONZE_SRC_RESTART when the source
 *            had to widen its schema (or retry after a transient error) and
 *            has rewound: the job discards everything staged, re-reads
 *            schema() and starts over; or -1 with err set.
 *   cursor() the new incremental cursor as text (NULL = none/unchanged),
 *            meaningful after END.
 *   close()  frees everything.
 */
#ifndef BRONZE_SOURCE_SOURCE_H
#define BRONZE_SOURCE_SOURCE_H

#include "batch/batch.h"
#include "config/config.h"
#include "util/err.h"

enum { BRONZE_SRC_END = 0, BRONZE_SRC_ROWS = 1, BRONZE_SRC_RESTART = 2 };

typedef struct bronze_source_ctx {
    const bronze_config *cfg;
    const char *last_cursor; /* resolved incremental cursor, NULL for a full load */
    const char *run_date;    /* YYYY-MM-DD */
    const char *tmp_dir;     /* private scratch dir for spools (exists, removed by the job) */
    size_t batch_rows;       /* rows per batch the job allocated */
    bool dry_run;
} bronze_source_ctx;

typedef struct bronze_source bronze_source; /* each kind defines its own */

typedef struct bronze_source_vt {
    const char *name;
    int (*open)(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err);
    const bronze_schema *(*schema)(bronze_source *s);
    int (*next)(bronze_source *s, bronze_batch *batch, bronze_err *err);
    const char *(*cursor)(bronze_source *s);
    void (*close)(bronze_source *s);
} bronze_source_vt;

/* The vtable for a config (db: by connection-string scheme, which needs the
 * resolved conn_str). Returns NULL with err set when the kind is not built in. */
const bronze_source_vt *bronze_source_for(const bronze_config *cfg, bronze_err *err);

extern const bronze_source_vt bronze_source_sqlite;
/* The database path of a sqlite: connection string (sqlite:///abs,
 * sqlite:/abs, sqlite:rel); "" when there is none. Points into cs. */
const char *bronze_source_sqlite_path(const char *cs);
extern const bronze_source_vt bronze_source_file;
extern const bronze_source_vt bronze_source_postgres;
extern const bronze_source_vt bronze_source_odbc;
extern const bronze_source_vt bronze_source_api;

#endif
