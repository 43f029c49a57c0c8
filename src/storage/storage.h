/*
 * storage.h - the storage seam: where committed files go. Keys are relative
 * to the target root ("system=s/table=t/dt=.../part-0001.parquet").
 *
 *   put()    makes a finished local file durable under key (local: fsync +
 *            atomic rename into place; S3: upload, then the local copy goes).
 *   remove() deletes key; a missing key is not an error.
 *   list()   keys directly under a prefix (a partition folder), sorted;
 *            the caller frees with bronze_storage_free_list().
 *   get()    reads a small object (the _metadata.json); *found false if absent.
 */
#ifndef BRONZE_STORAGE_STORAGE_H
#define BRONZE_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_storage bronze_storage;

typedef struct bronze_storage_vt {
    const char *name;
    int (*put)(bronze_storage *s, const char *local_path, const char *key, bronze_err *err);
    int (*remove)(bronze_storage *s, const char *key, bronze_err *err);
    int (*list)(bronze_storage *s, const char *prefix, char ***keys, size_t *n, bronze_err *err);
    int (*get)(bronze_storage *s, const char *key, bronze_buf *out, bool *found, bronze_err *err);
    /* A human name for a key, for logs ("output/system=..." or "s3://b/p/..."). */
    void (*describe)(bronze_storage *s, const char *key, char *out, size_t cap);
    void (*close)(bronze_storage *s);
} bronze_storage_vt;

struct bronze_storage {
    const bronze_storage_vt *vt;
};

/* A local directory target rooted at `root` (created if missing). */
int bronze_storage_local_open(bronze_storage **out, const char *root, bronze_err *err);
void bronze_storage_free_list(char **keys, size_t n);

/* Helpers shared by storage back ends. */
int bronze_mkdirs(const char *path, bronze_err *err); /* mkdir -p */
int bronze_fsync_dir(const char *dir);
/* Writes data to path via path.tmp + fsync + rename: readers see old or new, never half. */
int bronze_write_file_atomic(const char *path, const void *data, size_t n, bronze_err *err);
int bronze_read_file(const char *path, bronze_buf *out, bool *found, bronze_err *err);
/* rm -rf of a directory we own (staging). */
void bronze_remove_tree(const char *path);

#endif
