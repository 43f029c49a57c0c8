/*
 * scaleout_args.h - the scale-out command line (SPEC §2, §8): `--shard I/K`,
 * `--shards K`, and the index and count a scheduler gives a task:
 *   Slurm job arrays   SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT (and
 *                      SLURM_ARRAY_TASK_MIN, so --array=1-4 is shards 0..3);
 *   Kubernetes         JOB_COMPLETION_INDEX of an Indexed Job, with --shards K.
 * Indices are 0-based. Every bad value is a usage error (exit 2) with one
 * message naming the flag or the variable.
 */
#ifndef BRONZE_CLI_SCALEOUT_ARGS_H
#define BRONZE_CLI_SCALEOUT_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "run/job.h"

/* "I/K" -> *i, *k. -1 with msg (cap bytes) when malformed or out of range. */
int bronze_cli_parse_shard(const char *arg, int *i, int *k, char *msg, size_t cap);
/* "K" -> *k. */
int bronze_cli_parse_shards(const char *arg, int *k, char *msg, size_t cap);

/* Fills the job options' scale-out fields from the flags (shard_arg,
 * shards_arg: NULL when absent) and the environment. commit: the `commit`
 * subcommand. -1 with msg on a usage error. */
int bronze_cli_scaleout(bronze_job_opts *o, bool commit, const char *shard_arg,
                        const char *shards_arg, char *msg, size_t cap);

#endif
