/*
 * out_file.h - the one write path of an encoder's part file (CSV and
 * Parquet): every byte written goes to the file and to its SHA-256 (for
 * _metadata.json, so no part is read back to be hashed), and each full
 * 8 MiB behind the end is handed to writeback, so that the commit's fsync
 * has little left to flush (with drop, those bytes also leave the page
 * cache: bronze_writeback in fs.h).
 *
 *   bronze_out_file_open()      creates (or empties) the file;
 *   bronze_out_file_write()     appends, retrying short writes and EINTR;
 *   bronze_out_file_truncate()  cuts the file back to pos (a rewritten
 *                               tail): the hash is then invalid and the
 *                               caller's reader hashes the file itself;
 *   bronze_out_file_close()     fsync and close (the descriptor is closed
 *                               whatever fsync says);
 *   bronze_out_file_sha256()    the hex digest of every byte written, or
 *                               NULL (a truncation, or OpenSSL failed);
 *   bronze_out_file_free()      closes without syncing if still open.
 * Messages name the path, which must outlive the file.
 */
#ifndef BRONZE_UTIL_OUT_FILE_H
#define BRONZE_UTIL_OUT_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/sha256.h"

typedef struct bronze_out_file {
    int fd; /* -1: not open */
    const char *path;
    bronze_sha256 hash;
    uint64_t written; /* bytes in the file */
    uint64_t synced;  /* writeback started up to here */
    bool drop;
} bronze_out_file;

int bronze_out_file_open(bronze_out_file *f, const char *path, bool drop, bronze_err *err);
int bronze_out_file_write(bronze_out_file *f, const void *p, size_t n, bronze_err *err);
int bronze_out_file_truncate(bronze_out_file *f, uint64_t pos, bronze_err *err);
int bronze_out_file_close(bronze_out_file *f, bronze_err *err);
const char *bronze_out_file_sha256(bronze_out_file *f);
void bronze_out_file_free(bronze_out_file *f);

#endif
