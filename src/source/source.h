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
 *   schema() the schema. THE lifetime rule (batch.h points here): every
 *            schema a source hands out lives until close(), RESTART or
 *            not, because the job's thread may still be encoding a batch
 *            that points at it while the source's thread re-describes. A
 *            source that re-describes keeps the old object when nothing
 *            changed and otherwise retires it until close() (file.c,
 *            db_driver.c).
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

/* Writes into out what to call record `rec` (1-based) of a spool in
 * messages ("page 2, record 3"). */
typedef void (*bronze_record_namer)(void *arg, uint64_t rec, char *out, size_t cap);

typedef struct bronze_source_ctx {
    const bronze_config *cfg;
    const char *last_cursor; /* resolved incremental cursor, NULL for a full load */
    const char *run_date;    /* YYYY-MM-DD */
    const char *tmp_dir;     /* private scratch dir for spools (exists, removed by the job) */
    size_t batch_rows;       /* rows per batch the job allocated */
    bool dry_run;
    /* Scale-out (SPEC §8): read only shard `shard` of `nshards` (0: all).
     * A database source with source.db.partitioning writes the key bounds it
     * split by into part_note (may be NULL), so the shards of one batch can
     * be checked to agree. */
    int shard, nshards;
    int sub, nsub; /* this connection's part of the shard's ranges (run/fanin.h); nsub 0: all */
    char *part_note;
    size_t part_note_cap;
    /* File sources only: source.file.path is still being written by another
     * thread (a spool read while records arrive, source/spool.h). */
    struct bronze_live *live;
    /* ... and has a side index of its members there (file_json.h), itself
     * still being written when index_live is set. */
    const char *index_path;
    struct bronze_live *index_live;
    /* ... and is a spool of another source's records (source/spool.h), whose
     * record `rec` (1-based) name_record names for messages ("page 2, record
     * 3", or "record 3": a spool always sets it). It may be called from the
     * reader's thread while records are still spooled. */
    bool spooled;
    bronze_record_namer name_record;
    void *name_arg;
} bronze_source_ctx;

typedef struct bronze_source bronze_source; /* each kind defines its own */

typedef struct bronze_source_vt {
    const char *name;
    int (*open)(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err);
    const bronze_schema *(*schema)(bronze_source *s);
    int (*next)(bronze_source *s, bronze_batch *batch, bronze_err *err);
    const char *(*cursor)(bronze_source *s);
    void (*close)(bronze_source *s);
    /* The source logs the seed's chunk lines itself ("Chunked N records into
     * M chunks", "Chunk K completed successfully": a spool, source/spool.h),
     * so the job's roller does not log one of its own for each part. */
    bool chunk_lines;
} bronze_source_vt;

/* One row of the source table (source/registry.c): claim() answers 1 and
 * sets *vt when the config is this kind's, 0 when it is not, -1 with err set
 * when it is but cannot work (a bad connection string). `names` lists what
 * --list-backends prints ("db sqlite", ...), NULL-terminated. */
typedef struct bronze_source_kind {
    const char *const *names;
    int (*claim)(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err);
} bronze_source_kind;

/* Adds a kind at run time (before any job starts); it is asked before the
 * built-in kinds, the newest first. The kind must outlive every lookup. */
int bronze_source_register(const bronze_source_kind *kind, bronze_err *err);
/* Forgets every added kind. */
void bronze_source_unregister_all(void);
/* The i-th kind in lookup order, NULL past the end. */
const bronze_source_kind *bronze_source_kind_at(size_t i);

/* The vtable for a config (db: by connection-string scheme, which needs the
 * resolved conn_str). Returns NULL with err set when no kind claims it. */
const bronze_source_vt *bronze_source_for(const bronze_config *cfg, bronze_err *err);

/* What the job asks instead of "which kind is this?":
 * keeps_state  the job loads last_cursor from the cursor state and saves the
 *              source's new cursor after the commit (db incremental; custom);
 * appends      this run's rows are only the new ones, so the batch is added to
 *              the partition's committed batches instead of replacing them
 *              (db incremental; a custom source once it has a cursor). */
bool bronze_source_keeps_state(const bronze_config *cfg);
bool bronze_source_appends(const bronze_config *cfg, const char *last_cursor);
/* state_file  the cursor state file this config names (NULL: 1.0's default
 *             .state/<system>_<table>_cursor.json); *key gets the config key
 *             that names it for this source kind (NULL when the kind has
 *             none), for messages;
 * batch_rows  rows per batch the source hands over (dflt unless the source
 *             kind has its own setting: db fetch_batch_size). */
const char *bronze_source_state_file(const bronze_config *cfg, const char **key);
size_t bronze_source_batch_rows(const bronze_config *cfg, size_t dflt);

extern const bronze_source_vt bronze_source_sqlite;
/* The database path of a sqlite: connection string (sqlite:///abs,
 * sqlite:/abs, sqlite:rel); "" when there is none. Points into cs. */
const char *bronze_source_sqlite_path(const char *cs);
extern const bronze_source_vt bronze_source_file;
extern const bronze_source_vt bronze_source_postgres;
extern const bronze_source_vt bronze_source_odbc;
extern const bronze_source_vt bronze_source_api;

#endif
