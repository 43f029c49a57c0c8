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

typedef struct bronze_job_opts {
    bronze_run_date date;
    bool dry_run;
} bronze_job_opts;

typedef struct bronze_job_result {
    uint64_t rows, files, bytes;
    double seconds;
    char partition[512]; /* relative partition path */
    char location[4400]; /* where the batch landed, for the user */
} bronze_job_result;

int bronze_job_run(const bronze_config *cfg, const bronze_job_opts *opts, bronze_job_result *res,
                   bronze_err *err);

/* "bronze-foundry version X (build Y)" */
const char *bronze_created_by(void);

#endif
