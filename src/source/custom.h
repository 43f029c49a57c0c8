/*
 * custom.h - `source.type: custom` (SPEC §3 source.custom_extractor, §7
 * "Custom contracts"): three kinds behind the one source vtable.
 *
 *   bronze_source_plugin   module: ./libx.so + class_name, a C plugin speaking
 *                          include/bronze/extractor.h, dlopen()ed in process;
 *   bronze_source_python   module: a dotted Python name + class_name, a 1.0
 *                          class run by python/bronze_runner.py in a child;
 *   bronze_source_command  command: [prog, args...], any program that prints
 *                          JSON Lines on stdout.
 *
 * All three spool every record (src/source/spool.h) while the extractor runs,
 * in open(), and then hand schema()/next() to the file source over the spool,
 * so they type their batch exactly as a JSON Lines file is typed. The
 * extractor's new cursor is kept and answered by cursor() after END. Nothing
 * is committed until the source ends, so an extractor that fails, hangs or
 * crashes leaves the partition and the cursor as they were.
 *
 * Every error message reads "<config>: custom extractor <what>: <why>".
 */
#ifndef BRONZE_SOURCE_CUSTOM_H
#define BRONZE_SOURCE_CUSTOM_H

#include <stdbool.h>

#include "source/source.h"
#include "source/api_scan.h"
#include "source/spool.h"

extern const bronze_source_vt bronze_source_plugin;
extern const bronze_source_vt bronze_source_python;
extern const bronze_source_vt bronze_source_command;

/* True when custom_extractor.module names a shared library (ends in .so, or
 * has .so. or a '/' in it) rather than a dotted Python module. */
bool bronze_custom_module_is_library(const char *module);

/* The state every custom kind shares (each kind's file defines nothing more). */
struct bronze_source {
    const bronze_config *cfg;
    bronze_spool *spool;
    bronze_source *inner; /* the file source over the spool; NULL until spooled */
    char *cursor;         /* the extractor's new cursor, NULL = none */
    char what[512];       /* "command [./x.sh]", "python pkg.mod.Class", ... */
};

/* A zeroed source for cfg, its `what` set from fmt. NULL when out of memory. */
bronze_source *bronze_custom_new(const bronze_source_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets err to "<config>: custom extractor <what>: <fmt...>"; returns -1. */
int bronze_custom_fail(bronze_source *s, bronze_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the new cursor (copied; NULL clears). -1 when out of memory. */
int bronze_custom_set_cursor(bronze_source *s, const char *cursor);
/* Is p[0..n) one JSON object (a command's stdout line, a plugin's
 * emit_json)? Only the shape is checked, by the API's page scanner: the
 * records are judged by the JSON Lines reader (text no column holds, a real
 * beyond the double range, a huge integer) as a file's would be. 1 (*nmem:
 * its members), 0 (why: the reason), -1 out of memory. sc: scratch space. */
int bronze_custom_is_object(bronze_scan *sc, const char *p, size_t n, size_t *nmem, char *why,
                            size_t cap);
/* The spool is finished: opens the file source over it. */
int bronze_custom_finish(bronze_source *s, bronze_err *err);

/* The shared vtable members (schema/next/cursor/close delegate to the inner
 * file source; a dry-run source has no inner source and no schema). */
const bronze_schema *bronze_custom_schema(bronze_source *s);
int bronze_custom_next(bronze_source *s, bronze_batch *b, bronze_err *err);
const char *bronze_custom_cursor(bronze_source *s);
void bronze_custom_close(bronze_source *s);

/* Runs argv[0] (searched in PATH when it has no '/') without a shell, in its
 * own process group, with the inherited environment plus BRONZE_CONFIG_JSON,
 * BRONZE_RUN_DATE and BRONZE_LAST_CURSOR (unset on a first run); stdin is
 * /dev/null. Its stdout JSON Lines go to s->spool (when s->spool is NULL,
 * records are refused: a check that must print none), `{"_bronze_cursor": c}`
 * sets the cursor, `{"_bronze_error": "why"}` the reason it fails; its stderr
 * lines go to the log ("[ERROR] x" at ERROR, "[WARN] x" at WARN, ...).
 * Fails when it exits non-zero or by a signal, prints a line that is not a
 * JSON object, is silent (no byte on stdout or stderr) for silence_s seconds
 * (0 = no limit), or the run is interrupted (SIGINT/SIGTERM: its process
 * group gets SIGTERM, then SIGKILL after 5 s). On failure the whole process
 * group is gone when this returns. */
int bronze_custom_run_child(bronze_source *s, const bronze_source_ctx *ctx, char *const argv[],
                            int silence_s, bronze_err *err);

/* 0 when prog can be executed (a path with '/', else a name found in PATH). */
int bronze_custom_check_executable(bronze_source *s, const char *prog, bronze_err *err);

#endif
