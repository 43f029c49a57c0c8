/*
 * validate.h - what --validate-only checks beyond one file's keys (SPEC §2,
 * §7): the run-time rules that depend on the configs alone (an output format
 * left after the platform gates, an S3 bucket name), the clashes between the
 * configs of one run (same partition, same state file), and the list of
 * messages (bronze_diags) that reports them all, in file order, in one pass.
 *
 * Nothing here reads the environment, connects, imports or loads a plugin.
 */
#ifndef BRONZE_CONFIG_VALIDATE_H
#define BRONZE_CONFIG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Appends one message (deduplicated). Returns -1 on OOM (the message is lost). */
int bronze_diags_add(bronze_diags *d, bool error, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Orders by line, then column (stable: equal places keep their order). */
void bronze_diags_sort(bronze_diags *d);
size_t bronze_diags_errors(const bronze_diags *d);
/* Logs each message at its level (WARNING or ERROR), in order. */
void bronze_diags_log(const bronze_diags *d);
void bronze_diags_free(bronze_diags *d);

/* The checks of one loaded config that the run would otherwise make later
 * (runner preflight, storage open), reported at the key's place in path. */
void bronze_validate_config(const bronze_config *cfg, bronze_diags *d);

/* The clashes between the configs of one run: cfgs[i] may be NULL (did not
 * load). A clash is reported in both files' lists (per[i]). */
void bronze_validate_run(bronze_config *const *cfgs, size_t n, bronze_diags *per);

/* Loads every config of a run with bronze_config_load_diags(), checks each
 * with bronze_validate_config() and all of them with bronze_validate_run(),
 * and logs each file's messages in file order (SPEC §2, §7: everything is
 * validated before any job starts). 0 with every cfgs[i] loaded, or -1 when
 * any message is an error (every cfgs[i] is then NULL). */
int bronze_config_load_all(bronze_config **cfgs, const char *const *paths, size_t n);

#endif
