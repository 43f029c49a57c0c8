/* runner.c - config-level parallelism: a small pool of threads taking jobs
 * from a shared index; each job logs under its own "system.table" tag. */
#include "run/runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "run/state.h"
#include "source/source.h"
#include "util/log.h"

typedef struct {
    bronze_config **cfgs;
    size_t n;
    const bronze_runner_opts *opts;
    atomic_size_t next;
    atomic_int ok, failed, config_failed;
} pool;

static const char *root_of(const bronze_config *c)
{
    return c->local_path ? c->local_path
                         : (c->run.local_output_dir ? c->run.local_output_dir : "./output");
}

int bronze_runner_preflight(bronze_config **cfgs, size_t n, bronze_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const bronze_config *c = cfgs[i];
        if (!(c->run.write_csv && c->allow_csv) && !(c->run.write_parquet && c->allow_parquet))
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.run: no output format is enabled (write_csv/"
                                  "write_parquet and platform.bronze.output_defaults.allow_*)",
                                  c->path);
    }
    for (size_t i = 0; i < n; i++)
        if (!bronze_source_for(cfgs[i], err))
            return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            const bronze_config *a = cfgs[i], *b = cfgs[k];
            bool same_target = !strcmp(a->system, b->system) && !strcmp(a->table, b->table) &&
                               !strcmp(root_of(a), root_of(b));
            char sa[4096], sb[4096];
            bronze_state_path(a, sa, sizeof sa);
            bronze_state_path(b, sb, sizeof sb);
            bronze_incremental ia, ib;
            bronze_config_incremental(a, &ia);
            bronze_config_incremental(b, &ib);
            bool same_state = ia.enabled && ib.enabled && !strcmp(sa, sb);
            if (same_target || same_state)
                return bronze_err_set(err, BRONZE_E_CONFIG,
                                      "%s and %s: both write %s (system=%s/table=%s); give each "
                                      "config its own table or output root",
                                      a->path, b->path, same_state ? sa : root_of(a), a->system,
                                      a->table);
        }
    return 0;
}

/* This process's peak resident set in KiB: VmHWM, which belongs to the
 * current program image. (getrusage's ru_maxrss survives exec on Linux, so a
 * child of a large parent would report the parent's size.) */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static void run_one(pool *p, size_t i)
{
    const bronze_config *cfg = p->cfgs[i];
    char tag[160];
    snprintf(tag, sizeof tag, "%s.%s", cfg->system, cfg->table);
    bronze_log_set_job(tag);
    BRONZE_INFO("Starting extraction for %s", tag);
    bronze_job_result res;
    bronze_err err = BRONZE_ERR_INIT;
    if (bronze_job_run(cfg, &p->opts->job, &res, &err) == 0) {
        if (p->opts->job.dry_run) {
            BRONZE_INFO("✓ Dry run passed for %s", tag);
        } else {
            double rss = (double)peak_rss_kib() / 1024.0;
            char fields[256];
            snprintf(fields, sizeof fields,
                     "\"rows\":%llu,\"files\":%llu,\"bytes\":%llu,\"seconds\":%.3f,"
                     "\"rss_mib\":%.1f",
                     (unsigned long long)res.rows, (unsigned long long)res.files,
                     (unsigned long long)res.bytes, res.seconds, rss);
            bronze_log_fields(BRONZE_LOG_INFO, fields,
                              "Finished: %llu rows, %llu files, %.1f MiB in %.2f s (%.0f rows/s, "
                              "peak RSS %.1f MiB)",
                              (unsigned long long)res.rows, (unsigned long long)res.files,
                              (double)res.bytes / 1048576.0, res.seconds,
                              res.seconds > 0 ? (double)res.rows / res.seconds : 0.0, rss);
            if (res.nshards)
                BRONZE_INFO("Shard %d/%d staged for %s (published by `bronze-extract commit`)",
                            res.shard, res.nshards, res.location);
            else
                BRONZE_INFO("Batch committed to %s", res.location);
            BRONZE_INFO("✓ Successfully completed extraction for %s", tag);
        }
        atomic_fetch_add(&p->ok, 1);
    } else {
        /* every job's error names its config, as the loader's do (a
         * driver's message starts with "postgres:" or "odbc:") */
        size_t pl = strlen(cfg->path);
        if (strncmp(err.msg, cfg->path, pl) || err.msg[pl] != ':')
            bronze_err_prefix(&err, "%s", cfg->path);
        BRONZE_ERROR("%s", err.msg);
        BRONZE_ERROR("✗ Extraction failed for %s", tag);
        atomic_fetch_add(&p->failed, 1);
        if (err.kind == BRONZE_E_CONFIG) /* e.g. open() found no cursor column: exit 2 */
            atomic_fetch_add(&p->config_failed, 1);
    }
    bronze_log_set_job(NULL);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return NULL;
        run_one(p, i);
    }
}

int bronze_runner_run(bronze_config **cfgs, size_t n, const bronze_runner_opts *opts)
{
    pool p = {.cfgs = cfgs, .n = n, .opts = opts};
    atomic_init(&p.next, 0);
    atomic_init(&p.ok, 0);
    atomic_init(&p.failed, 0);
    atomic_init(&p.config_failed, 0);
    size_t workers = opts->workers > 0 ? (size_t)opts->workers : 1;
    if (workers > n)
        workers = n;
    bronze_log_tag_jobs(n > 1 && workers > 1);
    if (n > 1 && workers > 1)
        BRONZE_INFO("Starting parallel extraction with %zu workers for %zu configs", workers, n);
    if (workers <= 1) {
        worker(&p);
    } else {
        pthread_t *t = calloc(workers, sizeof *t);
        size_t started = 0;
        for (size_t i = 0; t && i < workers; i++)
            if (pthread_create(&t[i], NULL, worker, &p) == 0)
                started++;
        if (!started)
            worker(&p);
        for (size_t i = 0; i < started; i++)
            pthread_join(t[i], NULL);
        free(t);
    }
    int ok = atomic_load(&p.ok), failed = atomic_load(&p.failed);
    if (n > 1)
        BRONZE_INFO("Parallel extraction complete: %d successful, %d failed out of %zu total", ok,
                    failed, n);
    if (failed == 0 && !opts->job.dry_run)
        BRONZE_INFO("Finished Bronze extract run successfully");
    return failed ? (atomic_load(&p.config_failed) ? 2 : 1) : 0;
}
