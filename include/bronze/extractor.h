/*
 * bronze/extractor.h - the whole contract between bronze-extract and a C
 * extractor plugin (SPEC §3 source.custom_extractor, `module: ./libx.so`).
 *
 * A plugin is a shared library that exports two symbols:
 *
 *   const unsigned int bronze_extractor_abi;   (= BRONZE_EXTRACTOR_ABI_VERSION)
 *   const bronze_extractor *bronze_extractor_entry(const char *class_name);
 *
 * BRONZE_EXTRACTOR_DEFINE_ABI() defines the first. The loader dlopen()s the
 * library, reads bronze_extractor_abi BEFORE it calls anything, and refuses a
 * library built for another ABI with a message that says so (an old or foreign
 * library never gets called with a layout it does not know). It then calls the
 * entry with the config's `class_name`; the entry returns the extractor of that
 * name, or NULL when the library has none (the run fails naming the class).
 * The returned struct's `version` must also be BRONZE_EXTRACTOR_ABI_VERSION.
 *
 * A run calls extractor->run(api, host) once, on one thread. The plugin reads
 * its inputs through `api` (the config, read only, by typed accessors or as
 * JSON text; the run date; the previous cursor), emits records (typed rows or
 * JSON objects) and, optionally, a new cursor, and returns 0. To fail it calls
 * api->fail(host, "message") and returns non-zero: the run fails with that
 * message, nothing is committed and the cursor stays as it was.
 *
 * Records are spooled by the host and typed on the whole batch (one schema per
 * batch, SPEC §4): integers become INT64, doubles DOUBLE (an int column with a
 * double widens to DOUBLE), booleans BOOLEAN, text STRING, nested JSON objects
 * and arrays their JSON text; columns keep their first-seen order. Memory is
 * the plugin's own plus one record.
 *
 * Lifetimes: every pointer the api returns (strings) stays valid until run()
 * returns. Every pointer the plugin passes in is copied before the call returns.
 * The host, its layout and the api table are owned by bronze-extract.
 * All strings are UTF-8 and NUL-terminated unless a length is given.
 *
 * A plugin that crashes takes the run down with it (it runs in the process):
 * the batch is committed only after run() returns, so a crash leaves nothing
 * committed and the cursor unchanged.
 *
 * Build: cc -shared -fPIC -Ipath/to/include -o libmine.so mine.c
 * Compatibility: a new ABI version is issued whenever a struct here changes
 * except by appending members to bronze_extractor_api (its `size` tells a
 * plugin which members a host has).
 */
#ifndef BRONZE_EXTRACTOR_H
#define BRONZE_EXTRACTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRONZE_EXTRACTOR_ABI_VERSION 1u

/* The symbol names the loader looks up. */
#define BRONZE_EXTRACTOR_ABI_SYMBOL "bronze_extractor_abi"
#define BRONZE_EXTRACTOR_ENTRY_SYMBOL "bronze_extractor_entry"

/* Opaque: the host's per-run state. Pass it back to every api call. */
typedef struct bronze_extractor_host bronze_extractor_host;

/* Log levels for api->log. */
enum {
    BRONZE_EXTRACTOR_LOG_DEBUG = 0,
    BRONZE_EXTRACTOR_LOG_INFO = 1,
    BRONZE_EXTRACTOR_LOG_WARN = 2,
    BRONZE_EXTRACTOR_LOG_ERROR = 3
};

/* Results of the config accessors. */
enum {
    BRONZE_EXTRACTOR_OK = 0,         /* found, *out set */
    BRONZE_EXTRACTOR_MISSING = 1,    /* no such key (or null): *out untouched */
    BRONZE_EXTRACTOR_WRONG_TYPE = -1 /* present with another type: *out untouched */
};

/* What the host offers a plugin. Every function returns 0 on success and
 * non-zero on failure (out of memory, bad argument, or the run was interrupted
 * by SIGINT/SIGTERM): a plugin that gets non-zero from an emit call should
 * stop and return non-zero. */
typedef struct bronze_extractor_api {
    unsigned int version; /* BRONZE_EXTRACTOR_ABI_VERSION of the host */
    size_t size;          /* sizeof(bronze_extractor_api) in the host */

    /* ---- inputs (read only) ---- */
    /* The run date, "YYYY-MM-DD" (--date). */
    const char *(*run_date)(bronze_extractor_host *h);
    /* The cursor the previous successful run returned, NULL on a first run. */
    const char *(*last_cursor)(bronze_extractor_host *h);
    /* The whole config (platform and source sections) as compact JSON text. */
    const char *(*config_json)(bronze_extractor_host *h);
    /* Typed lookups by dotted path from the root, e.g. "source.salesforce.
     * soql_query" or "source.run.timeout_seconds". A number read as a string
     * gives its text; an integral double reads as an int. */
    int (*config_string)(bronze_extractor_host *h, const char *path, const char **out);
    int (*config_int)(bronze_extractor_host *h, const char *path, int64_t *out);
    int (*config_double)(bronze_extractor_host *h, const char *path, double *out);
    int (*config_bool)(bronze_extractor_host *h, const char *path, int *out);

    /* ---- outputs ---- */
    /* One record as the text of one JSON object (len bytes, no NUL needed). */
    int (*emit_json)(bronze_extractor_host *h, const char *json, size_t len);
    /* One typed row: row_begin, any number of put_* (a column named twice
     * keeps the last value), row_end. */
    int (*row_begin)(bronze_extractor_host *h);
    int (*put_null)(bronze_extractor_host *h, const char *column);
    int (*put_int)(bronze_extractor_host *h, const char *column, int64_t v);
    int (*put_double)(bronze_extractor_host *h, const char *column, double v);
    int (*put_bool)(bronze_extractor_host *h, const char *column, int v);
    /* utf8[0..len): UTF-8 text (NULL: a NULL value); bytes that are not
     * UTF-8 fail the run, or, with source.run.invalid_utf8: replace, land
     * as U+FFFD, counted in _metadata.json as for any source. */
    int (*put_text)(bronze_extractor_host *h, const char *column, const char *utf8, size_t len);
    int (*row_end)(bronze_extractor_host *h);
    /* The new incremental cursor (NULL: none; the previous one is kept). */
    int (*set_cursor)(bronze_extractor_host *h, const char *cursor);

    /* ---- errors and logging ---- */
    /* Records why the run fails; run() should then return non-zero. */
    int (*fail)(bronze_extractor_host *h, const char *message);
    /* One line in the job's log (BRONZE_EXTRACTOR_LOG_*). */
    void (*log)(bronze_extractor_host *h, int level, const char *message);
    /* Non-zero once SIGINT/SIGTERM arrived: stop and return non-zero. */
    int (*interrupted)(bronze_extractor_host *h);
} bronze_extractor_api;

/* What a plugin exports per extractor (libgit2-style: version first). */
typedef struct bronze_extractor {
    unsigned int version; /* BRONZE_EXTRACTOR_ABI_VERSION the plugin was built with */
    const char *name;     /* the class_name it answers to */
    /* Emits every record; 0 = success. */
    int (*run)(const bronze_extractor_api *api, bronze_extractor_host *h);
} bronze_extractor;

typedef const bronze_extractor *(*bronze_extractor_entry_fn)(const char *class_name);

/* In exactly one file of the plugin. */
#define BRONZE_EXTRACTOR_DEFINE_ABI()                                                              \
    __attribute__((visibility("default"))) extern const unsigned int bronze_extractor_abi;         \
    const unsigned int bronze_extractor_abi = BRONZE_EXTRACTOR_ABI_VERSION

#ifdef __cplusplus
}
#endif

#endif
