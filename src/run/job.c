/*
 * job.c - one config end to end (see job.h).
 *
 * Order of a run:
 *   1. where: run date, batch id, partition path, local root, storage back
 *      end (picked from the table in storage/), staging dir, locks: the
 *      partition's and, for an incremental table, its cursor state's (a
 *      second process on either fails at once, SPEC §7 "Clashes");
 *   2. recovery: a journal left by a killed commit is rolled forward, staging
 *      no journal names is removed (run/commit.c);
 *   3. cursor: state file (local, else the bucket's copy; a pending batch is
 *      adopted or dropped, §6.6), then the overrides
 *      (incremental_cursor_env wins over incremental_cursor_value);
 *   4. stream: source batches -> roller -> finished parts in the job's tmp
 *      dir; a source RESTART (widened schema, transient error) discards them
 *      and starts over (sources retry their own transient errors);
 *   5. commit: state "pending" -> parts staged -> journal -> applied (marker
 *      last) -> new cursor (local state, and the bucket's copy).
 * A --dry-run changes nothing but one probe file (and object). A failure
 * before the journal leaves the partition and the cursor as they were.
 */
#include "run/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "batch/batch.h"
#include "run/commit.h"
#include "run/fanin.h"
#include "run/hints.h"
#include "run/metadata.h"
#include "run/reader.h"
#include "run/roller.h"
#include "run/shard.h"
#include "run/state.h"
#include "source/source.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/datetime.h"
#include "util/fault.h"
#include "util/interrupt.h"
#include "util/lock.h"
#include "util/log.h"

#define DEFAULT_BATCH_ROWS 8192

const char *bronze_created_by(void)
{
    return "bronze-foundry version " BRONZE_VERSION " (build " BRONZE_BUILD ")";
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct job {
    const bronze_config *cfg;
    const bronze_job_opts *opts;
    char root[4096];
    char tmp_dir[4400];
    char partition[512];
    char batch_id[128];
    char run_date[16];
    char batch_ts[BRONZE_DT_MAX];
    bronze_lock part_lock, state_lock;
    bronze_storage *storage;
    bool remote; /* the back end is not the local root (S3) */
    bool incremental;
    bronze_incremental inc; /* the config's incremental settings, any source kind */
    char state_path[4096];
    char state_key[600]; /* the bucket's copy of the state, when remote */
    bronze_state state;
    const char *last_cursor; /* points into state or config: not owned */
    json_t *previous;        /* existing marker, incremental append only */
    bronze_roller roller;
    bool roller_ready;
    bronze_commit commit;
    bool staged; /* parts uploaded to staging and not yet published */
    const bronze_source_vt *svt;
    bronze_source *src;
    /* scale-out (SPEC §8, run/shard.h) */
    bronze_job_mode mode;
    int shard, nshards;
    char config_sha[65];
    char part_note[160];              /* the key bounds the source split by */
    const bronze_shard_merge *merged; /* COMMIT: what commit() publishes */
} job;

/* The partition's lock, and the cursor state's for an incremental table, so
 * two runs of one table into different partitions (an hourly run across the
 * hour, a backfill beside the daily run) never race on the cursor. */
static int take_locks(job *j, bronze_err *err)
{
    char flat[600], path[4800];
    char what[700];
    if (j->mode == BRONZE_JOB_SHARD) {
        /* shards of one partition run side by side: one lock per shard, and
         * the cursor state is only read */
        if (bronze_commit_flat(j->partition, flat, sizeof flat, err) ||
            bronze_path_fmt(path, sizeof path, err, "%s/.bronze-tmp/%s.s%02d.lock", j->root, flat,
                            j->shard))
            return -1;
        snprintf(what, sizeof what, "shard %d of partition %s", j->shard, j->partition);
        return bronze_lock_take(&j->part_lock, path, what, err) ? -1 : 0;
    }
    if (bronze_commit_flat(j->partition, flat, sizeof flat, err) ||
        bronze_path_fmt(path, sizeof path, err, "%s/.bronze-tmp/%s.lock", j->root, flat))
        return -1;
    snprintf(what, sizeof what, "partition %s", j->partition);
    if (bronze_lock_take(&j->part_lock, path, what, err))
        return -1;
    if (!j->incremental)
        return 0;
    char dir[4096];
    bronze_dir_of(j->state_path, dir, sizeof dir);
    if (bronze_hint_state_file(j->cfg, j->state_path, err) || bronze_mkdirs(dir, err) ||
        bronze_path_fmt(path, sizeof path, err, "%s.lock", j->state_path))
        return -1;
    snprintf(what, sizeof what, "the cursor state of %s.%s", j->cfg->system, j->cfg->table);
    return bronze_lock_take(&j->state_lock, path, what, err) ? -1 : 0;
}

/* Staging folders are named <system>+<table>+<pid>+<random> ('+' is never
 * in a segment, so the prefix names one table only): those of this table
 * whose process is gone (killed runs) are removed. A live process's folder is
 * never touched. */
static void sweep_dead_staging(const char *base, const bronze_config *cfg)
{
    char prefix[600];
    int plen = snprintf(prefix, sizeof prefix, "%s+%s+", cfg->system, cfg->table);
    if (plen <= 0 || (size_t)plen >= sizeof prefix)
        return;
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)plen))
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (pid <= 0 || *end != '+' || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[4600];
        if (snprintf(path, sizeof path, "%s/%s", base, e->d_name) >= (int)sizeof path)
            continue;
        BRONZE_INFO("Removing staging left by an interrupted run (pid %ld): %s", pid, path);
        bronze_remove_tree(path);
    }
    closedir(d);
}

static int setup(job *j, bronze_err *err)
{
    const bronze_config *cfg = j->cfg;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    bronze_fmt_timestamp_seed(now_us, j->batch_ts);
    bronze_fmt_date(j->opts->date.day, j->run_date);
    if (cfg->run.batch_id)
        snprintf(j->batch_id, sizeof j->batch_id, "%s", cfg->run.batch_id);
    else
        bronze_batch_id_auto(now.tv_sec, j->batch_id);
    if (bronze_partition_path(cfg, &j->opts->date, now.tv_sec, j->batch_id, j->partition,
                              sizeof j->partition))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.system / source.table: the partition path is longer "
                              "than %zu bytes",
                              cfg->path, sizeof j->partition - 1);
    bronze_storage_params sp;
    const bronze_storage_vt *stv = bronze_storage_for(cfg, &sp);
    j->remote = stv->remote;
    if (bronze_path_fmt(j->root, sizeof j->root, err, "%s", sp.local_root))
        return -1;
    bronze_config_incremental(cfg, &j->inc);
    j->incremental = bronze_source_keeps_state(cfg);
    if (j->incremental) {
        bronze_state_path(cfg, j->state_path, sizeof j->state_path);
        snprintf(j->state_key, sizeof j->state_key, "_state/%s_%s_cursor.json", cfg->system,
                 cfg->table);
    }
    if (stv->open(&j->storage, &sp, err))
        return bronze_err_prefix(err, "%s", cfg->path);
    if (j->opts->dry_run)
        return 0; /* a dry run takes no lock and creates nothing */
    char base[4200];
    if (bronze_hint_local_root(cfg, j->root, err))
        return -1;
    if (bronze_path_fmt(base, sizeof base, err, "%s/.bronze-tmp", j->root) ||
        bronze_mkdirs(base, err))
        return bronze_err_prefix(err, "%s: local output root", cfg->path);
    if (take_locks(j, err))
        return -1;
    /* a shard's peers may run on other hosts over a shared file system,
     * where a pid says nothing: only whole runs sweep */
    if (j->mode == BRONZE_JOB_EXTRACT)
        sweep_dead_staging(base, cfg);
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint32_t)getpid();
    if (bronze_path_fmt(j->tmp_dir, sizeof j->tmp_dir, err, "%s/%s+%s+%d+%08x", base, cfg->system,
                        cfg->table, (int)getpid(), r) ||
        bronze_mkdirs(j->tmp_dir, err))
        return -1;
    j->commit =
        (bronze_commit){.st = j->storage, .partition = j->partition, .batch_id = j->batch_id};
    if (bronze_commit_init(&j->commit, err))
        return -1;
    bool rolled;
    /* shards never publish: the commit (or the next run) recovers */
    if (j->mode != BRONZE_JOB_SHARD &&
        bronze_commit_recover(j->storage, j->partition, &rolled, err))
        return bronze_err_prefix(err, "%s", cfg->path);
    return 0;
}

/* The local state file, else (uploads on, a fresh container) the bucket's copy. */
static int load_state(job *j, bronze_err *err)
{
    bool found = false;
    if (bronze_state_load(j->state_path, j->cfg, &j->state, &found, err))
        return -1;
    if (found || !j->remote)
        return 0;
    bronze_buf b = BRONZE_BUF_INIT;
    int rc = j->storage->vt->get(j->storage, j->state_key, &b, &found, err);
    if (rc == 0 && found) {
        char where[1200];
        j->storage->vt->describe(j->storage, j->state_key, where, sizeof where);
        bronze_state_free(&j->state); /* the empty state of the missing file */
        rc = bronze_state_parse(where, b.data, b.len, j->cfg, &j->state, err);
        if (rc == 0)
            BRONZE_INFO("No local cursor state: resuming from %s", where);
    }
    bronze_buf_free(&b);
    return rc;
}

/* §6.6: a pending batch from a run that died between commit and state write
 * is adopted when its marker exists and names it, else dropped. */
static int resolve_cursor(job *j, bronze_err *err)
{
    const bronze_config *cfg = j->cfg;
    if (!j->incremental)
        return 0;
    if (load_state(j, err))
        return bronze_err_prefix(err, "%s", cfg->path);
    if (j->state.pending) {
        bool adopt = false;
        if (j->state.pending_partition && j->state.pending_batch_id) {
            char key[1024];
            snprintf(key, sizeof key, "%s_metadata.json", j->state.pending_partition);
            bronze_buf b = BRONZE_BUF_INIT;
            bool found = false;
            if (j->storage->vt->get(j->storage, key, &b, &found, err)) {
                bronze_buf_free(&b);
                return -1;
            }
            if (found) {
                json_t *m = json_loadb((const char *)b.data, b.len, 0, NULL);
                adopt = m && bronze_metadata_has_batch(m, j->state.pending_batch_id);
                json_decref(m);
            }
            bronze_buf_free(&b);
        }
        if (adopt) {
            BRONZE_INFO("Adopting committed batch %s from an interrupted run (cursor %s)",
                        j->state.pending_batch_id,
                        j->state.pending_cursor ? j->state.pending_cursor : "null");
            free(j->state.cursor);
            j->state.cursor = j->state.pending_cursor ? strdup(j->state.pending_cursor) : NULL;
        } else {
            BRONZE_INFO("Dropping uncommitted pending batch %s from an interrupted run",
                        j->state.pending_batch_id ? j->state.pending_batch_id : "?");
        }
        j->state.pending = false;
        if (!j->opts->dry_run && j->mode != BRONZE_JOB_SHARD &&
            bronze_state_save(j->state_path, &j->state, err))
            return -1;
    }
    j->last_cursor = j->state.cursor;
    if (!j->last_cursor && j->inc.initial)
        j->last_cursor = j->inc.initial; /* no state yet: the configured start */
    if (j->inc.forced) {
        j->last_cursor = j->inc.forced;
        BRONZE_INFO("Using %s as the cursor", j->inc.forced_key);
    }
    if (j->inc.env_value) {
        j->last_cursor = j->inc.env_value;
        BRONZE_INFO("Using the cursor from $%s", j->inc.env_name);
    }
    if (j->inc.cursor_field)
        BRONZE_INFO("Incremental load on %s, cursor %s", j->inc.cursor_field,
                    j->last_cursor ? j->last_cursor : "none (full load)");
    else if (j->last_cursor) /* a custom extractor keeps its own cursor */
        BRONZE_INFO("The extractor's cursor from its last run: %s", j->last_cursor);
    else
        BRONZE_INFO("No cursor from an earlier run: the extractor starts without one");
    return 0;
}

/* Sources retry their own transient failures (connection set-up, mid-stream
 * errors) with backoff, up to run.max_retries: the job tries open() once. */
static int open_source(job *j, bronze_source_ctx *ctx, bronze_err *err)
{
    bronze_err_clear(err);
    if (j->svt->open(&j->src, ctx, err) == 0)
        return 0;
    j->svt->close(j->src);
    j->src = NULL;
    return -1;
}

/* SPEC §7 "Dry run": one probe file in the local root (or, when the root does
 * not exist yet, in the nearest folder above it that does), one probe object
 * in the bucket when uploads are on; nothing else is written. */
static int dry_run(job *j, bronze_source_ctx *ctx, bronze_err *err)
{
    if (open_source(j, ctx, err))
        return -1;
    /* a source that only checked it can run (an API's first page discarded,
     * an extractor loaded but not run) has no schema to count */
    const bronze_schema *s = j->svt->schema(j->src);
    if (s)
        BRONZE_INFO("Dry run: source reachable, %zu column(s)", s->ncols);
    else
        BRONZE_INFO("Dry run: source reachable");
    char dir[4096], probe[4400];
    snprintf(dir, sizeof dir, "%s", j->root);
    struct stat st;
    while (stat(dir, &st) != 0 && strcmp(dir, ".") && strcmp(dir, "/")) {
        char up[4096];
        bronze_dir_of(dir, up, sizeof up);
        snprintf(dir, sizeof dir, "%s", up);
    }
    if (bronze_path_fmt(probe, sizeof probe, err, "%s/.bronze-dry-run-probe-%d", dir,
                        (int)getpid()) ||
        bronze_write_file_atomic(probe, "probe\n", 6, err))
        return bronze_err_prefix(err, "%s: local output root %s is not writable", j->cfg->path,
                                 j->root);
    unlink(probe);
    BRONZE_INFO("Dry run: %s is writable", j->root);
    if (!j->remote)
        return 0;
    char key[128], where[1200];
    snprintf(key, sizeof key, ".bronze-dry-run-probe-%d", (int)getpid());
    j->storage->vt->describe(j->storage, key, where, sizeof where);
    const char *k = key;
    if (j->storage->vt->put(j->storage, key, "probe\n", 6, err) ||
        j->storage->vt->remove(j->storage, &k, 1, err))
        return bronze_err_prefix(err, "%s: dry run: writing %s", j->cfg->path, where);
    BRONZE_INFO("Dry run: %s is writable with the given credentials", where);
    return 0;
}

static int load_previous(job *j, bronze_err *err)
{
    if (!j->incremental || !bronze_source_appends(j->cfg, j->last_cursor))
        return 0;
    char key[1024];
    snprintf(key, sizeof key, "%s_metadata.json", j->partition);
    bronze_buf b = BRONZE_BUF_INIT;
    bool found = false;
    int rc = j->storage->vt->get(j->storage, key, &b, &found, err);
    if (!rc && found) {
        json_error_t je;
        j->previous = json_loadb((const char *)b.data, b.len, 0, &je);
        if (!json_is_object(j->previous))
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "existing %s is not valid JSON (%s); move it away to re-load the "
                                "partition",
                                key, je.text);
    }
    bronze_buf_free(&b);
    return rc;
}

/* On a terminal a live line redrawn twice a second; elsewhere a log line
 * every 10 s (SPEC §2). */
static void progress(job *j, double t0, double *last)
{
    double t = mono_now();
    bool live = bronze_log_live();
    if (t - *last < (live ? 0.5 : 10.0))
        return;
    *last = t;
    double rate = (double)j->roller.total_rows / (t - t0);
    if (live)
        bronze_log_live_line("%s.%s: %llu rows, %llu parts, %.1f MiB, %.0f rows/s", j->cfg->system,
                             j->cfg->table, (unsigned long long)j->roller.total_rows,
                             (unsigned long long)j->roller.parts,
                             (double)j->roller.total_bytes / 1048576.0, rate);
    else
        BRONZE_INFO("progress: %llu rows, %llu parts, %.1f MiB, %.0f rows/s",
                    (unsigned long long)j->roller.total_rows, (unsigned long long)j->roller.parts,
                    (double)j->roller.total_bytes / 1048576.0, rate);
}

static int stream(job *j, bronze_source_ctx *ctx, bronze_err *err)
{
    bronze_reader rd;
    int rc = -1;
    double t0 = mono_now();
    double last = bronze_log_live() ? t0 - 1.0 : t0; /* a live line shows at once */
    char tag[160];
    snprintf(tag, sizeof tag, "%s.%s", j->cfg->system, j->cfg->table);
    const bronze_schema *schema = j->svt->schema(j->src);
    if (bronze_reader_init(&rd, schema, ctx->batch_rows)) {
        bronze_reader_free(&rd);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    bronze_roller_set_schema(&j->roller, schema);
    if (bronze_reader_start(&rd, j->svt, j->src, tag)) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start the reader thread");
        goto out;
    }
    for (;;) {
        bronze_reader_slot *slot = bronze_reader_take(&rd);
        int r = slot->result;
        if (r == BRONZE_SRC_ROWS) {
            int wrc = bronze_roller_write(&j->roller, &slot->batch, err);
            bronze_reader_release(&rd, slot);
            if (wrc)
                goto out;
            if (bronze_interrupted()) {
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "interrupted by signal %d after %llu rows: nothing committed",
                               bronze_interrupted(), (unsigned long long)j->roller.total_rows);
                goto out;
            }
            progress(j, t0, &last);
            continue;
        }
        /* The segment ended: the reader thread is joined, the source is ours. */
        *err = slot->err;
        bronze_reader_release(&rd, slot);
        if (r == BRONZE_SRC_END) {
            rc = 0;
            break;
        }
        /* Sources own their mid-stream retries (they reconnect and answer
         * RESTART, at most max_retries times); anything else is final. */
        if (r != BRONZE_SRC_RESTART)
            goto out;
        BRONZE_INFO("Source restarted (schema widened or transient error): discarding %llu "
                    "staged rows and starting over",
                    (unsigned long long)j->roller.total_rows);
        bronze_roller_discard(&j->roller);
        schema = j->svt->schema(j->src);
        if (bronze_reader_reset(&rd, schema)) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            goto out;
        }
        bronze_roller_set_schema(&j->roller, schema);
        if (bronze_reader_start(&rd, j->svt, j->src, tag)) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "cannot start the reader thread");
            goto out;
        }
    }
    rc = bronze_roller_finish(&j->roller, err);
out:
    bronze_log_live_clear();
    bronze_reader_free(&rd);
    return rc;
}

/* The bucket's copy of the state (SPEC §3): written after each commit. */
static int save_state(job *j, bronze_err *err)
{
    if (bronze_state_save(j->state_path, &j->state, err))
        return -1;
    if (!j->remote || j->state.pending)
        return 0;
    char *text = bronze_state_render(&j->state);
    if (!text)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    int rc = j->storage->vt->put(j->storage, j->state_key, text, strlen(text), err);
    free(text);
    return rc ? bronze_err_prefix(err, "saving the cursor state in the bucket") : 0;
}

static int commit(job *j, const char *new_cursor, double t0, bronze_err *err)
{
    if (bronze_fault("before-commit", err))
        return -1;
    const bronze_config *cfg = j->cfg;
    if (j->incremental) {
        j->state.pending = true;
        free(j->state.pending_partition);
        free(j->state.pending_batch_id);
        free(j->state.pending_cursor);
        j->state.pending_partition = strdup(j->partition);
        j->state.pending_batch_id = strdup(j->batch_id);
        j->state.pending_cursor = new_cursor ? strdup(new_cursor) : NULL;
        if (!j->state.pending_partition || !j->state.pending_batch_id ||
            (new_cursor && !j->state.pending_cursor))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        if (save_state(j, err))
            return -1;
    }
    const bronze_shard_merge *m = j->merged;
    const bronze_part_file *files = m ? m->files : j->roller.files;
    size_t n = m ? m->nfiles : j->roller.nfiles;
    bronze_commit_part *parts = calloc(n ? n : 1, sizeof *parts);
    if (!parts)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const bronze_part_file *f = &files[i];
        parts[i] = (bronze_commit_part){
            .name = f->name, .local_path = f->staged_path, .bytes = f->bytes, .sha256 = f->sha256};
    }
    j->commit.append = j->previous != NULL;
    /* a scale-out commit's parts are staged already, by their shards */
    j->staged = !m;
    int rc = m ? 0 : bronze_commit_stage(&j->commit, parts, n, err);
    char *text = NULL;
    if (rc == 0) {
        bronze_batch_info info = {
            .cfg = cfg,
            .batch_timestamp = j->batch_ts,
            .run_date = j->run_date,
            .partition_path = j->partition,
            .batch_id = j->batch_id,
            .new_cursor = new_cursor,
            .csv = cfg->run.write_csv && cfg->allow_csv,
            .parquet = cfg->run.write_parquet && cfg->allow_parquet,
            .schema = j->roller.out_schema,
            .files = files,
            .nfiles = n,
            .records = m ? m->records : j->roller.total_rows,
            .duration_seconds = mono_now() - t0 + (m ? m->duration_seconds : 0),
            .previous = j->previous,
            .replaced_invalid_utf8 = m ? m->replaced_invalid_utf8 : j->roller.replaced_utf8,
            .schema_json = m ? m->schema : NULL,
            .shards = m ? m->nshards : 0,
        };
        text = bronze_metadata_render(&info);
        if (!text)
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "cannot render _metadata.json (out of memory, or a name that is "
                                "not UTF-8)");
    }
    if (rc == 0)
        rc = bronze_commit_publish(&j->commit, parts, n, text, err);
    if (rc == 0)
        j->staged = false;
    free(text);
    free(parts);
    if (rc)
        return -1;
    if (j->incremental) {
        free(j->state.cursor);
        free(j->state.last_run);
        j->state.cursor = new_cursor ? strdup(new_cursor) : NULL;
        j->state.last_run = strdup(j->run_date);
        j->state.pending = false;
        if ((new_cursor && !j->state.cursor) || !j->state.last_run)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        if (save_state(j, err))
            return -1;
    }
    return 0;
}

/* ---- scale-out (SPEC §8, run/shard.h) ---- */

/* The run's mode: --shard / commit as asked; the scheduler's environment
 * only for a config that declares how to split. The checks that every
 * shard lands in one partition under one batch id. */
static int scaleout_mode(job *j, bronze_err *err)
{
    const bronze_config *cfg = j->cfg;
    const bronze_job_opts *o = j->opts;
    bool partitioned = cfg->type == BRONZE_SRC_DB && cfg->db.partitioning.column;
    j->mode = o->mode;
    j->shard = o->shard;
    j->nshards = o->nshards;
    if (j->mode == BRONZE_JOB_EXTRACT && o->env_nshards > 0 && partitioned) {
        j->mode = BRONZE_JOB_SHARD;
        j->shard = o->env_shard;
        j->nshards = o->env_nshards;
    }
    if (j->mode == BRONZE_JOB_EXTRACT)
        return 0;
    const char *what = j->mode == BRONZE_JOB_SHARD ? "--shard" : "commit";
    if (j->mode == BRONZE_JOB_SHARD && !partitioned && cfg->type == BRONZE_SRC_DB)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: %s needs source.db.partitioning ({column, num_partitions}: how "
                              "to split the query's rows)",
                              cfg->path, what);
    if (j->mode == BRONZE_JOB_SHARD &&
        (cfg->type == BRONZE_SRC_API || cfg->type == BRONZE_SRC_CUSTOM))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: %s: a %s source cannot be sharded (a database with "
                              "source.db.partitioning or a file glob can)",
                              cfg->path, what, cfg->type == BRONZE_SRC_API ? "REST API" : "custom");
    if ((cfg->strategy == BRONZE_PART_HOURLY || cfg->strategy == BRONZE_PART_TIMESTAMP) &&
        !o->date.pinned)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: platform.bronze.partitioning.partition_strategy: %s with %s "
                              "needs --date YYYY-MM-DDTHH:MM, so every shard and the commit land "
                              "in one partition",
                              cfg->path,
                              cfg->strategy == BRONZE_PART_HOURLY ? "hourly" : "timestamp", what);
    if (cfg->strategy == BRONZE_PART_BATCH_ID && !cfg->run.batch_id)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "%s: source.run.batch_id: partition_strategy batch_id with %s needs "
                              "an explicit batch_id, so every shard and the commit land in one "
                              "partition",
                              cfg->path, what);
    return bronze_shard_config_sha(cfg, j->config_sha, err);
}

/* A shard's batch id and staging, once the cursor and the marker it
 * appends to are known (both go into the id). */
static int shard_begin(job *j, bronze_err *err)
{
    if (!j->cfg->run.batch_id && bronze_shard_batch_id(j->cfg, &j->opts->date, j->config_sha,
                                                       j->last_cursor, j->previous, j->batch_id))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    return bronze_shard_keys(j->partition, j->batch_id, j->shard, j->commit.stage, NULL,
                             sizeof j->commit.stage, err);
}

/* The cursor column's type in the source's schema, -1 when none. */
static int cursor_type(job *j)
{
    const bronze_schema *s = j->src ? j->svt->schema(j->src) : NULL;
    const char *c = j->inc.cursor_field;
    for (size_t i = 0; s && c && i < s->ncols; i++)
        if (!strcasecmp(s->fields[i].name, c))
            return (int)s->fields[i].type;
    return -1;
}

static int shard_finish(job *j, const char *new_cursor, double t0, bronze_err *err)
{
    size_t n = j->roller.nfiles;
    bronze_commit_part *parts = calloc(n ? n : 1, sizeof *parts);
    if (!parts)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const bronze_part_file *f = &j->roller.files[i];
        parts[i] = (bronze_commit_part){
            .name = f->name, .local_path = f->staged_path, .bytes = f->bytes, .sha256 = f->sha256};
    }
    bronze_shard_info in = {
        .shard = j->shard,
        .nshards = j->nshards,
        .partition = j->partition,
        .batch_id = j->batch_id,
        .run_date = j->run_date,
        .batch_timestamp = j->batch_ts,
        .config_sha = j->config_sha,
        .start_cursor = j->incremental ? j->last_cursor : NULL,
        .new_cursor = j->incremental ? new_cursor : NULL,
        .cursor_type = cursor_type(j),
        .part_note = j->part_note[0] ? j->part_note : NULL,
        .schema = j->roller.out_schema,
        .files = j->roller.files,
        .nfiles = n,
        .records = j->roller.total_rows,
        .replaced_invalid_utf8 = j->roller.replaced_utf8,
        .duration_seconds = mono_now() - t0,
    };
    int rc = bronze_shard_publish(&j->commit, &in, parts, n, err);
    free(parts);
    if (rc == 0) {
        char where[1600];
        j->storage->vt->describe(j->storage, j->commit.stage, where, sizeof where);
        BRONZE_INFO("Shard %d of %d of batch %s staged in %s (%llu rows, %zu files): run "
                    "`bronze-extract commit` once every shard is done",
                    j->shard, j->nshards, j->batch_id, where,
                    (unsigned long long)j->roller.total_rows, n);
    }
    return rc;
}

static int commit_merged(job *j, bronze_shard_merge *mp, int r, double t0, bronze_job_result *res,
                         bronze_err *err);

static int commit_shards(job *j, double t0, bronze_job_result *res, bronze_err *err)
{
    bronze_shard_expect x = {
        .cfg = j->cfg,
        .partition = j->partition,
        .run_date = j->run_date,
        .config_sha = j->config_sha,
        .start_cursor = j->incremental ? j->last_cursor : NULL,
        .nshards = j->nshards,
    };
    bronze_shard_merge m;
    int r = bronze_shard_merge_load(j->storage, &x, &m, err);
    bronze_lock *locks = NULL;
    int nlocks = r == 0 ? m.nshards : 0;
    if (r == 0) {
        /* no shard may (re-)run while its work is published: hold every
         * shard's lock, then read the journals again under them */
        bronze_shard_merge_free(&m);
        char flat[600], path[4800], what[700];
        if (!(locks = calloc((size_t)nlocks, sizeof *locks)))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        for (int i = 0; i < nlocks; i++)
            locks[i] = (bronze_lock)BRONZE_LOCK_INIT;
        for (int i = 0; r == 0 && i < nlocks; i++) {
            snprintf(what, sizeof what, "shard %d of partition %s", i, j->partition);
            if (bronze_commit_flat(j->partition, flat, sizeof flat, err) ||
                bronze_path_fmt(path, sizeof path, err, "%s/.bronze-tmp/%s.s%02d.lock", j->root,
                                flat, i) ||
                bronze_lock_take(&locks[i], path, what, err))
                r = -1;
        }
        x.tidy = true;
        if (r == 0)
            r = bronze_shard_merge_load(j->storage, &x, &m, err);
    }
    int rc = commit_merged(j, &m, r, t0, res, err);
    for (int i = 0; i < nlocks; i++)
        bronze_lock_release(&locks[i]);
    free(locks);
    return rc;
}

/* commit_shards' second half, r the journals' load. */
static int commit_merged(job *j, bronze_shard_merge *mp, int r, double t0, bronze_job_result *res,
                         bronze_err *err)
{
    bronze_shard_merge m = *mp;
    if (r < 0)
        return -1;
    if (r == 1) {
        bronze_shard_merge_free(&m);
        char where[1600];
        j->storage->vt->describe(j->storage, j->partition, where, sizeof where);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: no shard journal for %s (--date %s): run the shards "
                              "(--shard I/K) first; nothing was published",
                              j->cfg->path, where, j->run_date);
    }
    snprintf(j->batch_id, sizeof j->batch_id, "%s", m.batch_id);
    if (m.batch_timestamp[0])
        snprintf(j->batch_ts, sizeof j->batch_ts, "%s", m.batch_timestamp);
    snprintf(j->commit.stage, sizeof j->commit.stage, "%s", m.stage);
    j->commit.cleanup = m.cleanup;
    j->merged = &m;
    const char *c = m.new_cursor ? m.new_cursor : j->last_cursor;
    int rc = commit(j, j->incremental ? c : NULL, t0, err);
    j->merged = NULL;
    if (rc == 0) {
        res->rows = m.records;
        res->files = m.nfiles;
        for (size_t i = 0; i < m.nfiles; i++)
            res->bytes += m.files[i].bytes;
        BRONZE_INFO("Committed %d shards of batch %s: %llu rows, %zu files", m.nshards, m.batch_id,
                    (unsigned long long)m.records, m.nfiles);
    }
    bronze_shard_merge_free(&m);
    return rc;
}

int bronze_job_run(const bronze_config *cfg, const bronze_job_opts *opts, bronze_job_result *res,
                   bronze_err *err)
{
    job jb;
    memset(&jb, 0, sizeof jb);
    job *j = &jb;
    j->cfg = cfg;
    j->opts = opts;
    j->part_lock = (bronze_lock)BRONZE_LOCK_INIT;
    j->state_lock = (bronze_lock)BRONZE_LOCK_INIT;
    memset(res, 0, sizeof *res);
    double t0 = mono_now();
    int rc = -1;
    char *new_cursor = NULL;

    if (scaleout_mode(j, err) || setup(j, err) || resolve_cursor(j, err))
        goto done;
    j->svt = bronze_source_for(cfg, err);
    if (!j->svt)
        goto done;
    if (bronze_fanin_applies(cfg, opts->dry_run))
        j->svt = &bronze_source_fanin; /* one connection per key range slice (run/fanin.h) */
    bronze_source_ctx ctx = {
        .cfg = cfg,
        .last_cursor = j->last_cursor,
        .run_date = j->run_date,
        .tmp_dir = j->tmp_dir,
        .batch_rows = bronze_source_batch_rows(cfg, DEFAULT_BATCH_ROWS),
        .dry_run = opts->dry_run,
        .shard = j->mode == BRONZE_JOB_SHARD ? j->shard : 0,
        .nshards = j->mode == BRONZE_JOB_SHARD ? j->nshards : 0,
        .part_note = j->part_note,
        .part_note_cap = sizeof j->part_note,
    };
    if (opts->dry_run) {
        rc = dry_run(j, &ctx, err);
        goto done;
    }
    if (load_previous(j, err))
        goto done;
    if (j->mode == BRONZE_JOB_COMMIT) {
        if (commit_shards(j, t0, res, err))
            goto done;
        memcpy(res->partition, j->partition, sizeof res->partition);
        j->storage->vt->describe(j->storage, j->partition, res->location, sizeof res->location);
        rc = 0;
        goto done;
    }
    if (j->mode == BRONZE_JOB_SHARD && shard_begin(j, err))
        goto done;
    unsigned formats = (cfg->run.write_csv && cfg->allow_csv ? 1u : 0u) |
                       (cfg->run.write_parquet && cfg->allow_parquet ? 2u : 0u);
    bronze_encoder_opts eo = {
        .codec = cfg->parquet_compression,
        .max_bytes =
            cfg->run.max_file_size_mb > 0 ? (uint64_t)(cfg->run.max_file_size_mb * 1048576.0) : 0,
        .created_by = bronze_created_by(),
        .workers = cfg->run.parallel_workers,
        .bloom_columns = cfg->bloom_columns,
        .n_bloom_columns = cfg->n_bloom_columns,
        .bloom_fpp = cfg->bloom_fpp,
        .drop_written = !j->storage->vt->remote,
    };
    unsigned first = j->previous ? bronze_metadata_max_part(j->previous) + 1 : 1;
    if (bronze_roller_init(&j->roller, j->tmp_dir, formats, &eo, cfg->run.max_rows_per_file, first,
                           err))
        goto done;
    j->roller_ready = true;
    if (j->mode == BRONZE_JOB_SHARD) {
        snprintf(j->roller.name_suffix, sizeof j->roller.name_suffix, "-s%02d", j->shard);
        j->roller.shard = j->shard;
    }
    bronze_roller_set_text_policy(&j->roller, cfg);
    j->roller.part_lines = !j->svt->chunk_lines; /* one "Chunk K completed" line per chunk */
    if (open_source(j, &ctx, err) || stream(j, &ctx, err))
        goto done;
    const char *c = j->svt->cursor(j->src);
    if (!c && j->incremental)
        c = j->last_cursor; /* nothing new: carry the cursor forward */
    if (c && !(new_cursor = strdup(c))) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto done;
    }
    if (bronze_interrupted()) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "interrupted by signal %d: nothing committed",
                       bronze_interrupted());
        goto done;
    }
    /* a batch of no rows adds no part whose columns could differ (and a spool
     * of nothing has no columns at all) */
    if (j->previous && j->src && j->roller.total_rows &&
        bronze_metadata_schema_drift(j->previous, j->svt->schema(j->src), cfg->path, err))
        goto done;
    if (j->mode == BRONZE_JOB_SHARD ? shard_finish(j, new_cursor, t0, err)
                                    : commit(j, j->incremental ? new_cursor : NULL, t0, err))
        goto done;
    res->rows = j->roller.total_rows;
    res->files = j->roller.nfiles;
    res->bytes = j->roller.total_bytes;
    _Static_assert(sizeof res->partition == sizeof j->partition, "partition buffers");
    memcpy(res->partition, j->partition, sizeof res->partition);
    j->storage->vt->describe(j->storage, j->partition, res->location, sizeof res->location);
    if (j->mode == BRONZE_JOB_SHARD) {
        res->shard = j->shard;
        res->nshards = j->nshards;
    }
    rc = 0;
done:
    res->seconds = mono_now() - t0;
    if (j->src)
        j->svt->close(j->src);
    if (j->roller_ready) {
        if (rc && !cfg->run.cleanup_on_failure && j->roller.nfiles) {
            BRONZE_WARN("cleanup_on_failure is false: staged parts kept in %s", j->tmp_dir);
            for (size_t i = 0; i < j->roller.nfiles; i++)
                j->roller.files[i].staged_path[0] = 0; /* keep them */
        }
        bronze_roller_free(&j->roller);
    }
    if (rc && j->staged && !j->commit.journaled && cfg->run.cleanup_on_failure)
        bronze_commit_discard(&j->commit);
    if (j->tmp_dir[0] && (rc == 0 || cfg->run.cleanup_on_failure))
        bronze_remove_tree(j->tmp_dir);
    if (j->storage)
        j->storage->vt->close(j->storage);
    bronze_lock_release(&j->state_lock);
    bronze_lock_release(&j->part_lock);
    json_decref(j->previous);
    bronze_state_free(&j->state);
    free(new_cursor);
    return rc;
}
