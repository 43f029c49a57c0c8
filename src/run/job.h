/*
 * job.h - one config, end to end: source -> batches -> roller -> commit.
 *
 * The job never asks which source, encoder or storage it has: it wires the
 * seams together, stages parts under <root>/.bronze-tmp/, and commits in the
 * order SPEC §6 fixes (pending cursor, old marker out, parts in, stale parts
 * out, new marker, new cursor).
 */
#ifndef BRONZE_RUN_JOB_H
#define BRONZE_RUN_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "run/partition.h"
#include "util/err.h"

/* Scale-out (SPEC §8, run/shard.h): a whole extraction, one shard of it
 * (parts and a shard journal, nothing published), or the commit of the
 * shards' journals as one batch. */
typedef enum { BRONZE_JOB_EXTRACT = 0, BRONZE_JOB_SHARD, BRONZE_JOB_COMMIT } bronze_job_mode;

typedef struct bronze_job_opts {
    bronze_run_date date;
    bool dry_run;
    bronze_job_mode mode;
    int shard, nshards; /* SHARD: this shard of nshards; COMMIT: nshards expected, 0: any */
    /* from SLURM_ARRAY_TASK_* / JOB_COMPLETION_INDEX (nshards 0: none): applied
     * to the configs that declare source.db.partitioning only */
    int env_shard, env_nshards;
} bronze_job_opts;

typedef struct bronze_job_result {
    uint64_t rows, files, bytes;
    double seconds;
    char partition[512]; /* relative partition path */
    char location[4400]; /* where the batch landed, for the user */
    int shard, nshards;  /* nshards > 0: one shard staged, nothing published yet */
} bronze_job_result;

int bronze_job_run(const bronze_config *cfg, const bronze_job_opts *opts, bronze_job_result *res,
                   bronze_err *err);

/* "bronze-foundry version X (build Y)" */
const char *bronze_created_by(void);

#endif
