/* scaleout_args.c - --shard, --shards and the schedulers' variables (see scaleout_args.h). */
#include "cli/scaleout_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/shard.h"

/* A whole number 0..max from the entire text. */
static int whole(const char *s, size_t n, long *out, long max)
{
    if (!n || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int bronze_cli_parse_shards(const char *arg, int *k, char *msg, size_t cap)
{
    long v;
    if (whole(arg, strlen(arg), &v, BRONZE_SHARD_MAX) || v < 1) {
        snprintf(msg, cap, "--shards: '%s' is not a whole number from 1 to %d", arg,
                 BRONZE_SHARD_MAX);
        return -1;
    }
    *k = (int)v;
    return 0;
}

int bronze_cli_parse_shard(const char *arg, int *i, int *k, char *msg, size_t cap)
{
    const char *slash = strchr(arg, '/');
    long a, b;
    if (!slash || whole(arg, (size_t)(slash - arg), &a, BRONZE_SHARD_MAX) ||
        whole(slash + 1, strlen(slash + 1), &b, BRONZE_SHARD_MAX)) {
        snprintf(msg, cap,
                 "--shard: '%s' is not I/K (shard I of K, 0-based as Slurm array task ids: "
                 "0/4 .. 3/4)",
                 arg);
        return -1;
    }
    if (b < 1) {
        snprintf(msg, cap, "--shard: '%s': the shard count K must be at least 1", arg);
        return -1;
    }
    if (a >= b) {
        snprintf(msg, cap,
                 "--shard: '%s': shard index %ld is out of range for %ld shards (indices are "
                 "0-based: 0 to %ld)",
                 arg, a, b, b - 1);
        return -1;
    }
    *i = (int)a;
    *k = (int)b;
    return 0;
}

static int env_whole(const char *name, long *out, char *msg, size_t cap)
{
    const char *v = getenv(name);
    if (whole(v, strlen(v), out, 1000000000L)) {
        snprintf(msg, cap, "$%s: '%.40s' is not a whole number", name, v);
        return -1;
    }
    return 0;
}

int bronze_cli_scaleout(bronze_job_opts *o, bool commit, const char *shard_arg,
                        const char *shards_arg, char *msg, size_t cap)
{
    int k = 0, i = 0, kk = 0;
    if (shards_arg && bronze_cli_parse_shards(shards_arg, &kk, msg, cap))
        return -1;
    if (commit) {
        if (shard_arg) {
            snprintf(msg, cap,
                     "commit: --shard belongs to the shard runs; commit takes --shards K");
            return -1;
        }
        o->mode = BRONZE_JOB_COMMIT;
        o->nshards = kk;
        return 0;
    }
    if (shard_arg) {
        if (bronze_cli_parse_shard(shard_arg, &i, &k, msg, cap))
            return -1;
        if (kk && kk != k) {
            snprintf(msg, cap, "--shard %s and --shards %d disagree on the shard count", shard_arg,
                     kk);
            return -1;
        }
        o->mode = BRONZE_JOB_SHARD;
        o->shard = i;
        o->nshards = k;
        return 0;
    }
    const char *kix = getenv("JOB_COMPLETION_INDEX");
    if (kk) {
        if (!kix || !*kix) {
            snprintf(msg, cap,
                     "--shards %d needs the shard index: --shard I/%d, or $JOB_COMPLETION_INDEX "
                     "(a Kubernetes Indexed Job)",
                     kk, kk);
            return -1;
        }
        long v;
        if (env_whole("JOB_COMPLETION_INDEX", &v, msg, cap))
            return -1;
        if (v >= kk) {
            snprintf(msg, cap, "$JOB_COMPLETION_INDEX %ld is out of range for --shards %d", v, kk);
            return -1;
        }
        o->mode = BRONZE_JOB_SHARD;
        o->shard = (int)v;
        o->nshards = kk;
        return 0;
    }
    const char *sid = getenv("SLURM_ARRAY_TASK_ID");
    if (sid && *sid) {
        const char *cnt = getenv("SLURM_ARRAY_TASK_COUNT"), *mn = getenv("SLURM_ARRAY_TASK_MIN");
        long id, n, lo = 0;
        if (!cnt || !*cnt) {
            snprintf(msg, cap,
                     "$SLURM_ARRAY_TASK_ID is set but $SLURM_ARRAY_TASK_COUNT is not; "
                     "give --shard I/K");
            return -1;
        }
        if (env_whole("SLURM_ARRAY_TASK_ID", &id, msg, cap) ||
            env_whole("SLURM_ARRAY_TASK_COUNT", &n, msg, cap) ||
            (mn && *mn && env_whole("SLURM_ARRAY_TASK_MIN", &lo, msg, cap)))
            return -1;
        if (n < 1 || n > BRONZE_SHARD_MAX || id < lo || id - lo >= n) {
            snprintf(msg, cap,
                     "$SLURM_ARRAY_TASK_ID %ld (min %ld) is out of range for "
                     "$SLURM_ARRAY_TASK_COUNT %ld: submit a contiguous array such as "
                     "--array=0-%ld",
                     id, lo, n, n > 0 ? n - 1 : 0);
            return -1;
        }
        o->env_shard = (int)(id - lo);
        o->env_nshards = (int)n;
    }
    return 0;
}
