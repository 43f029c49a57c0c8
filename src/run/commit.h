/*
 * commit.h - publishing a batch so that a committed batch is never lost
 * (SPEC §6.3-6.6). The ordering invariants are at the top of commit.c.
 *
 * A batch is committed in three calls:
 *   bronze_commit_stage()   each finished part goes where readers do not look
 *                           (<root>/.bronze-tmp/stage/<partition>/<batch>/),
 *                           durable before the call returns;
 *   bronze_commit_publish() writes the batch's journal (the parts with size
 *                           and sha256, the marker text) in one step, then
 *                           applies it: the partition ends up holding exactly
 *                           the new batch (full load) or the old batches plus
 *                           the new one (append), marker last;
 *   bronze_commit_recover() run first by every job holding a partition's lock
 *                           (and by `verify --repair`): rolls a journal left by
 *                           a killed run forward, removes staging no journal
 *                           names.
 * The same apply routine serves all three, so a roll-forward is a normal
 * commit resumed, whatever step the killed run had reached.
 */
#ifndef BRONZE_RUN_COMMIT_H
#define BRONZE_RUN_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"
#include "util/err.h"

typedef struct bronze_commit_part {
    const char *name;       /* "part-0001.parquet" */
    const char *local_path; /* the finished local file; consumed by stage() */
    uint64_t bytes;
    const char *sha256; /* hex */
} bronze_commit_part;

typedef struct bronze_commit {
    bronze_storage *st;
    const char *partition; /* "system=s/table=t/dt=.../", trailing '/' */
    const char *batch_id;
    bool append; /* incremental: committed parts stay, numbering continues */
    /* optional: a key prefix removed once the batch is in place, before the
     * journal goes (the shard journals of a scale-out commit, SPEC §8) */
    const char *cleanup;
    /* filled by bronze_commit_init(): */
    char stage[1200];   /* key prefix of this batch's staging, trailing '/' */
    char journal[1200]; /* key of the partition's journal */
    bool journaled;     /* publish() wrote the journal: staging belongs to it now */
} bronze_commit;

/* Fills the keys of c (st, partition, batch_id, append set by the caller).
 * The caller may then point c->stage elsewhere (a scale-out commit: the
 * folder its shards staged into); the journal keeps the partition's key. */
int bronze_commit_init(bronze_commit *c, bronze_err *err);

/* Uploads the parts to the batch's staging. */
int bronze_commit_stage(bronze_commit *c, const bronze_commit_part *parts, size_t n,
                        bronze_err *err);

/* Journal, then apply (see commit.c). marker is the complete _metadata.json
 * text. Once the journal is written a failure leaves it for recover(); the
 * return is then -1 with err saying so. */
int bronze_commit_publish(bronze_commit *c, const bronze_commit_part *parts, size_t n,
                          const char *marker, bronze_err *err);

/* Removes what stage() uploaded (a failed run, before publish). */
void bronze_commit_discard(bronze_commit *c);

/* Rolls the partition's journal forward, if any, and removes staging that
 * no journal names. *rolled is set when a journal was applied. */
int bronze_commit_recover(bronze_storage *st, const char *partition, bool *rolled, bronze_err *err);

/* True for a committed part's file name ("part-0001.parquet", "part-0001.csv"). */
bool bronze_commit_is_part_name(const char *name);

/* The flat form of a partition used in staging and journal names:
 * "system=a/table=b/dt=x/" -> "system=a+table=b+dt=x". */
int bronze_commit_flat(const char *partition, char *out, size_t cap, bronze_err *err);

#endif
