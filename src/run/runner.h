/*
 * runner.h - runs several configs as independent jobs (SPEC §2, §7 "Exit
 * codes, several configs"): all are loaded, validated and resolved before any
 * starts; then up to `workers` run at once; one failing never stops the others.
 */
#ifndef BRONZE_RUN_RUNNER_H
#define BRONZE_RUN_RUNNER_H

#include "config/config.h"
#include "run/job.h"

typedef struct bronze_runner_opts {
    bronze_job_opts job;
    int workers;
} bronze_runner_opts;

/* Returns the process exit code: 0 all succeeded, 1 some job failed, 2 a job
 * failed on a config error found only once it ran (e.g. at the source open()). */
int bronze_runner_run(bronze_config **cfgs, size_t n, const bronze_runner_opts *opts);

/* Cross-config checks done before anything runs (formats enabled, two configs
 * on one partition or state file). Returns -1 with a config error. */
int bronze_runner_preflight(bronze_config **cfgs, size_t n, bronze_err *err);

#endif
