/*
 * shard.h - one table's batch extracted by K processes and committed once
 * (SPEC §8). No coordinator: the processes find each other through the
 * storage target and the run date, nothing else.
 *
 * Keys (relative to the storage root; readers skip dot-folders):
 *   .bronze-tmp/shards/<flat>/batch=<batch_id>/part-0001-s03.parquet
 *                                           staged parts of every shard
 *   .bronze-tmp/shards/<flat>/journal-s03.json
 *                                           shard 3's journal
 * (<flat>: the partition path with '/' as '+', as in run/commit.c).
 *
 * A shard run (bronze-extract --shard I/K) extracts its key range into
 * parts named -sII, then: removes its previous journal, removes its
 * previous parts (any batch folder), stages the new ones, writes its
 * journal last, so a journal that exists names parts that are staged (a
 * failure on the way removes what this attempt staged; fault point
 * shard-before-journal, util/fault.h). It never touches the partition, the
 * marker or the cursor, and takes only its own lock (<flat>.sNN.lock); the
 * commit takes every shard's lock, so no shard re-runs while it publishes.
 *
 * The batch id is the same in every shard without any exchange: it is
 * derived from what they share, "<YYYYMMDD>_<HHMM>00_<8 hex>" where the date
 * and time are --date's (00:00 when not pinned) and the hex is the start of
 * SHA-256 over the config file's bytes, the --date text, the cursor the run
 * starts from and, for an append, the partition's current marker. So the
 * shards of one run agree, a re-run of a shard keeps the id, and the next
 * incremental run (a new cursor or a new marker) gets a new one.
 * source.run.batch_id, when set, is used as is.
 *
 * The commit (bronze-extract commit) reads the K journals, checks they
 * belong together (config, run date, start cursor, batch id, shard count,
 * key bounds, schema), then publishes their merge with run/commit.c's one
 * journal-and-apply routine, the shard journals as its `cleanup`.
 */
#ifndef BRONZE_RUN_SHARD_H
#define BRONZE_RUN_SHARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "config/config.h"
#include "run/commit.h"
#include "run/partition.h"
#include "run/roller.h"
#include "storage/storage.h"
#include "util/err.h"

#define BRONZE_SHARD_MAX 10000

/* The keys of a partition's shard area. stage: the batch's folder; journal:
 * shard `shard`'s journal (shard < 0: the prefix every journal starts with). */
int bronze_shard_keys(const char *partition, const char *batch_id, int shard, char *stage,
                      char *journal, size_t cap, bronze_err *err);

/* SHA-256 of the config file (hex). */
int bronze_shard_config_sha(const bronze_config *cfg, char out[65], bronze_err *err);

/* The deterministic batch id (see above). previous: the marker being
 * appended to, or NULL. */
int bronze_shard_batch_id(const bronze_config *cfg, const bronze_run_date *d,
                          const char *config_sha, const char *start_cursor, json_t *previous,
                          char out[32]);

/* What a shard's journal records. */
typedef struct bronze_shard_info {
    int shard, nshards;
    const char *partition, *batch_id, *run_date, *batch_timestamp, *config_sha;
    const char *start_cursor, *new_cursor; /* NULL -> null */
    int cursor_type;                       /* bronze_type of the cursor column, -1: none */
    const char *part_note;                 /* key bounds the shard split by */
    const bronze_schema *schema;
    const bronze_part_file *files;
    size_t nfiles;
    uint64_t records, replaced_invalid_utf8;
    double duration_seconds;
} bronze_shard_info;

/* The shard's side: replaces its journal and parts (see above). c: the
 * storage and the shard's stage (c->stage); parts: the finished files. */
int bronze_shard_publish(bronze_commit *c, const bronze_shard_info *in,
                         const bronze_commit_part *parts, size_t n, bronze_err *err);

/* The merge of K shard journals, for the commit. */
typedef struct bronze_shard_merge {
    int nshards;
    char batch_id[128];
    char batch_timestamp[48]; /* the earliest shard's (BRONZE_DT_MAX) */
    char stage[1200];         /* where the parts are staged */
    char cleanup[1200];       /* the journals' prefix */
    bronze_part_file *files;  /* staged_path NULL; shard set */
    size_t nfiles;
    uint64_t records, replaced_invalid_utf8;
    double duration_seconds; /* the slowest shard's */
    json_t *schema;          /* [{name, type, nullable}], owned */
    char *new_cursor;        /* typed maximum over the shards, owned, NULL when none */
    json_t *journals;        /* the parsed journals, owned */
} bronze_shard_merge;

typedef struct bronze_shard_expect {
    const bronze_config *cfg;
    const char *partition, *run_date, *config_sha, *start_cursor;
    int nshards; /* --shards K; 0: from the journals */
    bool tidy;   /* remove staged files no journal names (the shards' locks held) */
} bronze_shard_expect;

/* Loads and checks the journals. 0 ok; 1 when there is no journal at all
 * (nothing to commit: the caller decides whether the batch is already
 * committed); -1 with err: BRONZE_E_RUNTIME for a missing or incomplete
 * shard (exit 1: re-run it), BRONZE_E_CONFIG for journals that do not
 * belong to this config / date / run (exit 2). */
int bronze_shard_merge_load(bronze_storage *st, const bronze_shard_expect *x, bronze_shard_merge *m,
                            bronze_err *err);
void bronze_shard_merge_free(bronze_shard_merge *m);

/* Typed order of two cursor texts of bronze_type t (-1: as text): <0, 0,
 * >0; an unreadable one sorts below. */
int bronze_shard_cursor_cmp(int t, const char *a, const char *b);

#endif
