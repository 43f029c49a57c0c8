/*
 * fs.h - local file-system helpers every part of the tool shares (the local
 * storage back end, the state file, staging). Each one either completes or
 * returns -1 with err naming the path; "durable" means fsynced, and a rename
 * is followed by an fsync of the folder it changed (checked).
 */
#ifndef BRONZE_UTIL_FS_H
#define BRONZE_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* mkdir -p; an existing non-folder at any level is an error. */
int bronze_mkdirs(const char *path, bronze_err *err);
/* fsync of a folder; 0 or -1 with errno. */
int bronze_fsync_dir(const char *dir);
/* fsync of the folder that holds path; -1 with err set on failure. */
int bronze_fsync_parent(const char *path, bronze_err *err);
/* Writes data to path via a private tmp name + fsync + rename + fsync of the
 * folder: readers see the old file or the new one, never half. */
int bronze_write_file_atomic(const char *path, const void *data, size_t n, bronze_err *err);
/* Reads a whole file (NUL-terminated, len excludes it); *found false if absent. */
int bronze_read_file(const char *path, bronze_buf *out, bool *found, bronze_err *err);
/* Writeback of a file written front to back, `written` bytes so far: at
 * each `step` (a power of two) boundary passed, writeback of the full steps
 * behind starts (no wait), so a final fsync has little left. With `drop`,
 * what was sent to disk a step or more ago is then dropped from the page
 * cache (waiting for its writeback first): nothing reads it again in this
 * run, and new page-cache pages cost more than reusing freed ones.
 * Advisory: errors are ignored. *synced: writeback started up to here. */
void bronze_writeback(int fd, uint64_t *synced, uint64_t written, uint64_t step, bool drop);
/* rm -rf of a tree we own (staging). Best effort. */
void bronze_remove_tree(const char *path);
/* The folder part of path ("." when none) into out. */
void bronze_dir_of(const char *path, char *out, size_t cap);
/* snprintf that reports truncation: 0, or -1 with err ("path too long"). */
int bronze_path_fmt(char *out, size_t cap, bronze_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
