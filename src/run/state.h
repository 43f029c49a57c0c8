/*
 * state.h - the incremental cursor state file (SPEC §3 "State", §6.6).
 *
 * Path: the state file the source kind names (bronze_source_state_file: db
 * source.db.incremental.state_file), else .state/<system>_<table>_cursor.json
 * (1.0's path), whatever the source kind (db, api, custom). Shape: 1.0's {"cursor": "...",
 * "last_run": "YYYY-MM-DD"}, with our fields beside them: "system" and "table", the owner (1.0's
 * path is ambiguous: a_b + c and a + b_c share a file, so a file owned by another table is refused;
 * a 1.0 file without an owner is adopted), and "pending" {partition_path, batch_id, new_cursor}
 * written before a commit, cleared after it. Written atomically.
 */
#ifndef BRONZE_RUN_STATE_H
#define BRONZE_RUN_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

typedef struct bronze_state {
    char *cursor;   /* committed cursor, NULL when none */
    char *last_run; /* YYYY-MM-DD */
    bool pending;
    char *pending_partition, *pending_batch_id, *pending_cursor;
    char *system, *table; /* owner: the loading config's, saved with the state */
} bronze_state;

/* Fills out (>= 4096) with the state file path for cfg. */
void bronze_state_path(const bronze_config *cfg, char *out, size_t cap);
/* A missing file gives an empty state (*found false; found may be NULL). A
 * corrupt one is an error naming it, and so is one owned by another table
 * than cfg's (naming both owners). The loaded state is owned by cfg's table
 * from then on. */
int bronze_state_load(const char *path, const bronze_config *cfg, bronze_state *st, bool *found,
                      bronze_err *err);
/* The same from text (the copy kept in the bucket); name is for messages. */
int bronze_state_parse(const char *name, const void *text, size_t len, const bronze_config *cfg,
                       bronze_state *st, bronze_err *err);
/* The state's JSON text (caller frees), NULL on out of memory. */
char *bronze_state_render(const bronze_state *st);
int bronze_state_save(const char *path, const bronze_state *st, bronze_err *err);
void bronze_state_free(bronze_state *st);

#endif
