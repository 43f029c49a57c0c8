/*
 * storage.h - the storage seam: where batches go (SPEC §1, §6.4).
 *
 * A back end is one bronze_storage_vt, picked once by bronze_storage_for()
 * from a table (bronze_storage_backends[]), the way sources are: the job and
 * the commit never ask which kind they have. Keys are relative to the
 * target root (a local directory, or s3://<bucket>/<prefix>) and use '/':
 * "system=s/table=t/dt=2025-01-12/part-0001.parquet".
 *
 * What each operation guarantees (the commit in run/commit.c relies on it):
 *   upload()   puts a finished local file under key, which the caller picks
 *              where readers do not look (".bronze-tmp/..."); durable when it
 *              returns 0. The local file is consumed (local: renamed into
 *              place; S3: uploaded, single PUT or multipart with up to
 *              `workers` parts in flight, then unlinked). sha256 is the file's
 *              hex digest, known from the encoder (S3 sends it as
 *              x-amz-checksum-sha256 so the server checks the bytes).
 *   publish()  makes the object at src visible under dst, overwriting dst
 *              (local: rename + fsync of the folder; S3: server-side copy,
 *              multipart copy above 5 GiB, then src deleted). Idempotent for
 *              the commit's purposes: the commit checks what is already done.
 *   put()      writes a small object (marker, journal, state) in one step:
 *              readers see the old object or the new one, never a part of it
 *              (local: tmp + fsync + rename + fsync dir; S3: one PUT).
 *   get()      reads a small object whole; *found = false when absent.
 *   digest()   streams an object through SHA-256 (verify); *found as get().
 *   list()     every object whose key starts with prefix (a folder prefix
 *              ends in '/'): with recursive false only those directly under
 *              it (no further '/'), with true all below. Sorted by key. Local
 *              listing skips nothing: the caller filters dot-folders.
 *   remove()   deletes keys (S3: DeleteObjects in batches of 1000); a missing
 *              key is not an error.
 *   swap_dir() optional (NULL where the back end has no folders): atomically
 *              exchanges the folder src with the folder dst (renameat2
 *              RENAME_EXCHANGE), or renames src to dst when dst does not
 *              exist. Returns 1 (not an error) when the file system cannot
 *              exchange, so the caller falls back to the marker protocol.
 *   describe() a human name for a key, for logs ("output/system=..." or
 *              "s3://bucket/prefix/system=..."). Never holds a secret.
 *
 * Errors name the bucket/root and key, never a credential. Transient
 * failures are retried inside the back end (backoff with jitter, up to
 * run.max_retries); what comes back is final.
 */
#ifndef BRONZE_STORAGE_STORAGE_H
#define BRONZE_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_storage bronze_storage;

typedef struct bronze_obj {
    char *key; /* owned */
    uint64_t size;
} bronze_obj;

typedef struct bronze_obj_list {
    bronze_obj *v;
    size_t n, cap;
} bronze_obj_list;

#define BRONZE_OBJ_LIST_INIT                                                                       \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Everything a back end needs to open, taken from a config or (verify with a
 * location) from the command line and the standard AWS variables. Strings are
 * borrowed for the duration of open(); the back end copies what it keeps. */
typedef struct bronze_storage_params {
    const char *local_root; /* local: the root; S3: where local staging lives */
    /* S3 only */
    const char *bucket, *prefix; /* prefix without leading/trailing '/', may be NULL */
    const char *endpoint;        /* NULL: AWS (https://s3.<region>.amazonaws.com) */
    const char *region;          /* default us-east-1 */
    const char *access_key, *secret_key, *session_token; /* secrets: never log */
    const char *addressing_style;                        /* "path" | "virtual" | NULL (SPEC §7) */
    const char *ca_bundle;
    int timeout_seconds; /* per request; 0 -> 30 */
    int max_retries;     /* transient failures; default 3 */
    int workers;         /* parallel multipart parts; >= 1 */
} bronze_storage_params;

typedef struct bronze_storage_vt {
    const char *name; /* "local", "s3" */
    /* Objects live elsewhere than the local root: the cursor state gets a
     * copy there, and a dry run probes it. */
    bool remote;
    int (*open)(bronze_storage **out, const bronze_storage_params *p, bronze_err *err);
    int (*upload)(bronze_storage *s, const char *local_path, const char *key, uint64_t size,
                  const char *sha256_hex, bronze_err *err);
    int (*publish)(bronze_storage *s, const char *src_key, const char *dst_key, bronze_err *err);
    int (*put)(bronze_storage *s, const char *key, const void *data, size_t n, bronze_err *err);
    int (*get)(bronze_storage *s, const char *key, bronze_buf *out, bool *found, bronze_err *err);
    int (*digest)(bronze_storage *s, const char *key, char sha256_hex[65], uint64_t *size,
                  bool *found, bronze_err *err);
    int (*list)(bronze_storage *s, const char *prefix, bool recursive, bronze_obj_list *out,
                bronze_err *err);
    int (*remove)(bronze_storage *s, const char *const *keys, size_t n, bronze_err *err);
    int (*swap_dir)(bronze_storage *s, const char *src_key, const char *dst_key, bronze_err *err);
    void (*describe)(bronze_storage *s, const char *key, char *out, size_t cap);
    void (*close)(bronze_storage *s);
} bronze_storage_vt;

struct bronze_storage {
    const bronze_storage_vt *vt;
};

extern const bronze_storage_vt bronze_storage_local;
extern const bronze_storage_vt bronze_storage_s3;

/* Every built-in back end, NULL-terminated (--list-backends prints it). */
extern const bronze_storage_vt *const bronze_storage_backends[];

/* The back end a config writes to: S3 when storage_backend is s3 and
 * run.s3_enabled, else local. Fills params from the config (resolved env).
 * The params' strings point into cfg. */
const bronze_storage_vt *bronze_storage_for(const bronze_config *cfg, bronze_storage_params *p);

/* Appends a copy of key to a list. */
int bronze_obj_list_add(bronze_obj_list *l, const char *key, uint64_t size);
void bronze_obj_list_free(bronze_obj_list *l);
/* Sorts by key. */
void bronze_obj_list_sort(bronze_obj_list *l);

#endif
