/*
 * job.c - one config end to end (see job.h).
 *
 * Order of a run:
 *   1. where: run date, batch id, partition path, local root, staging dir,
 *      partition lock (a second process on the same partition fails at once);
 *   2. cursor: state file (adopting or dropping a pending batch, §6.6), then
 *      the overrides (incremental_cursor_env wins over incremental_cursor_value);
 *   3. stream: source batches -> roller -> staged parts; a source RESTART
 *      (widened schema, transient error) discards the staged parts and starts
 *      over (sources retry their own transient errors, max_retries times);
 *   4. commit (§6.3/6.4/6.6): state "pending" -> [full load: old marker out]
 *      -> parts in -> stale/uncommitted parts out -> new marker -> new cursor.
 * A failure before the marker leaves no final-named file (staged parts live
 * only under .bronze-tmp/) and the cursor unchanged.
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
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "batch/batch.h"
#include "run/metadata.h"
#include "run/reader.h"
#include "run/roller.h"
#include "run/state.h"
#include "source/source.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/datetime.h"
#include "util/interrupt.h"
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
    int lock_fd;
    bronze_storage *storage;
    bool incremental;
    char state_path[4096];
    bronze_state state;
    const char *last_cursor; /* points into state or config: not owned */
    json_t *previous;        /* existing marker, incremental append only */
    bronze_roller roller;
    bool roller_ready;
    const bronze_source_vt *svt;
    bronze_source *src;
} job;

static int take_lock(job *j, bronze_err *err)
{
    char name[600], path[4800];
    size_t k = 0;
    for (const char *p = j->partition; *p && k < sizeof name - 8; p++)
        name[k++] = *p == '/' ? '+' : *p;
    name[k] = 0;
    snprintf(path, sizeof path, "%s/.bronze-tmp/%s.lock", j->root, name);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock_fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating lock %s: %s", path, strerror(errno));
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "partition %s is being written by another bronze-extract process "
                              "(lock %s)",
                              j->partition, path);
    return 0;
}

/* Staging folders are named <system>.<table>.<pid>.<random>: those of this
 * table whose process is gone (killed runs) are removed, so crashes leave no
 * growing litter. A live process's folder is never touched. */
static void sweep_dead_staging(const char *base, const bronze_config *cfg)
{
    char prefix[300];
    int plen = snprintf(prefix, sizeof prefix, "%s.%s.", cfg->system, cfg->table);
    DIR *d = opendir(base);
    if (!d || plen <= 0 || (size_t)plen >= sizeof prefix) {
        if (d)
            closedir(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)plen))
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
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
    bronze_partition_path(cfg, &j->opts->date, now.tv_sec, j->batch_id, j->partition,
                          sizeof j->partition);
    snprintf(j->root, sizeof j->root, "%s",
             cfg->local_path
                 ? cfg->local_path
                 : (cfg->run.local_output_dir ? cfg->run.local_output_dir : "./output"));
    char base[4200];
    snprintf(base, sizeof base, "%s/.bronze-tmp", j->root);
    if (bronze_mkdirs(base, err))
        return bronze_err_prefix(err, "%s: local output root", cfg->path);
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint32_t)getpid();
    snprintf(j->tmp_dir, sizeof j->tmp_dir, "%s/%s.%s.%d.%08x", base, cfg->system, cfg->table,
             (int)getpid(), r);
    if (bronze_mkdirs(j->tmp_dir, err))
        return -1;
    if (take_lock(j, err))
        return -1;
    sweep_dead_staging(base, cfg);
    bronze_storage_params sp;
    const bronze_storage_vt *svt = bronze_storage_for(cfg, &sp);
    return svt->open(&j->storage, &sp, err);
}

/* §6.6: a pending batch from a run that died between commit and state write
 * is adopted when its marker exists and names it, else dropped. */
static int resolve_cursor(job *j, bronze_err *err)
{
    const bronze_config *cfg = j->cfg;
    j->incremental = cfg->type == BRONZE_SRC_DB && cfg->db.incremental;
    if (!j->incremental)
        return 0;
    bronze_state_path(cfg, j->state_path, sizeof j->state_path);
    if (bronze_state_load(j->state_path, cfg, &j->state, err))
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
        if (bronze_state_save(j->state_path, &j->state, err))
            return -1;
    }
    j->last_cursor = j->state.cursor;
    if (cfg->db.cursor_value) {
        j->last_cursor = cfg->db.cursor_value;
        BRONZE_INFO("Using source.db.incremental_cursor_value as the cursor");
    }
    if (cfg->env.cursor_override) {
        j->last_cursor = cfg->env.cursor_override;
        BRONZE_INFO("Using the cursor from $%s", cfg->db.cursor_env);
    }
    BRONZE_INFO("Incremental load on %s, cursor %s", cfg->db.cursor_column,
                j->last_cursor ? j->last_cursor : "none (full load)");
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

static int dry_run(job *j, bronze_source_ctx *ctx, bronze_err *err)
{
    if (open_source(j, ctx, err))
        return -1;
    const bronze_schema *s = j->svt->schema(j->src);
    BRONZE_INFO("Dry run: source reachable, %zu column(s)", s ? s->ncols : 0);
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/.bronze-dry-run-probe-%d", j->root, (int)getpid());
    if (bronze_write_file_atomic(probe, "probe\n", 6, err))
        return bronze_err_prefix(err, "%s: local output root is not writable", j->cfg->path);
    unlink(probe);
    BRONZE_INFO("Dry run: %s is writable", j->root);
    return 0;
}

static int load_previous(job *j, bronze_err *err)
{
    if (!j->incremental)
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

static bool is_part_name(const char *name)
{
    unsigned n;
    char ext[16];
    return sscanf(name, "part-%u.%15s", &n, ext) == 2 &&
           (!strcmp(ext, "csv") || !strcmp(ext, "parquet"));
}

static bool new_file(const bronze_roller *r, const char *name)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].name, name))
            return true;
    return false;
}

/* Crash-test hook: BRONZE_FAULT=<point> kills the process with SIGKILL at
 * that commit step, so tests can prove §6.5/§6.6 at the exact boundary.
 * Points: before-commit, after-parts, after-marker. */
static void fault_point(const char *point)
{
    const char *f = getenv("BRONZE_FAULT");
    if (f && !strcmp(f, point))
        raise(SIGKILL);
}

static int commit(job *j, const char *new_cursor, double t0, bronze_err *err)
{
    fault_point("before-commit");
    const bronze_config *cfg = j->cfg;
    bronze_storage *st = j->storage;
    char key[1200];

    if (j->incremental) {
        j->state.pending = true;
        free(j->state.pending_partition);
        free(j->state.pending_batch_id);
        free(j->state.pending_cursor);
        j->state.pending_partition = strdup(j->partition);
        j->state.pending_batch_id = strdup(j->batch_id);
        j->state.pending_cursor = new_cursor ? strdup(new_cursor) : NULL;
        if (bronze_state_save(j->state_path, &j->state, err))
            return -1;
    }

    bronze_obj_list keys = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, j->partition, false, &keys, err))
        return -1;
    snprintf(key, sizeof key, "%s_metadata.json", j->partition);
    int rc = -1;
    const char *mk = key;
    if (!j->previous && st->vt->remove(st, &mk, 1, err)) /* full load: old marker goes first */
        goto out;
    for (size_t i = 0; i < j->roller.nfiles; i++) {
        const bronze_part_file *f = &j->roller.files[i];
        snprintf(key, sizeof key, "%s%s", j->partition, f->name);
        if (st->vt->upload(st, f->staged_path, key, f->bytes, f->sha256, err))
            goto out;
    }
    fault_point("after-parts");
    /* Stale parts (full load) and parts no marker lists (crashed runs) go. */
    for (size_t i = 0; i < keys.n; i++) {
        const char *name = keys.v[i].key + strlen(j->partition);
        if (!is_part_name(name) || new_file(&j->roller, name))
            continue;
        if (j->previous && bronze_metadata_lists(j->previous, name))
            continue;
        const char *k = keys.v[i].key;
        if (st->vt->remove(st, &k, 1, err))
            goto out;
    }
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
        .files = j->roller.files,
        .nfiles = j->roller.nfiles,
        .records = j->roller.total_rows,
        .duration_seconds = mono_now() - t0,
        .previous = j->previous,
    };
    char *text = bronze_metadata_render(&info);
    if (!text) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto out;
    }
    snprintf(key, sizeof key, "%s_metadata.json", j->partition);
    rc = st->vt->put(st, key, text, strlen(text), err);
    free(text);
    if (rc)
        goto out;

    fault_point("after-marker");
    if (j->incremental) {
        free(j->state.cursor);
        j->state.cursor = new_cursor ? strdup(new_cursor) : NULL;
        free(j->state.last_run);
        j->state.last_run = strdup(j->run_date);
        j->state.pending = false;
        if (bronze_state_save(j->state_path, &j->state, err)) {
            rc = -1;
            goto out;
        }
    }
    rc = 0;
out:
    bronze_obj_list_free(&keys);
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
    j->lock_fd = -1;
    memset(res, 0, sizeof *res);
    double t0 = mono_now();
    int rc = -1;
    char *new_cursor = NULL;

    if (setup(j, err) || resolve_cursor(j, err))
        goto done;
    j->svt = bronze_source_for(cfg, err);
    if (!j->svt)
        goto done;
    bronze_source_ctx ctx = {
        .cfg = cfg,
        .last_cursor = j->last_cursor,
        .run_date = j->run_date,
        .tmp_dir = j->tmp_dir,
        .batch_rows = cfg->type == BRONZE_SRC_DB && cfg->db.fetch_batch_size > 0 &&
                              cfg->db.fetch_batch_size < 1000000
                          ? (size_t)cfg->db.fetch_batch_size
                          : DEFAULT_BATCH_ROWS,
        .dry_run = opts->dry_run,
    };
    if (opts->dry_run) {
        rc = dry_run(j, &ctx, err);
        goto done;
    }
    if (load_previous(j, err))
        goto done;
    unsigned formats = (cfg->run.write_csv && cfg->allow_csv ? 1u : 0u) |
                       (cfg->run.write_parquet && cfg->allow_parquet ? 2u : 0u);
    bronze_encoder_opts eo = {
        .codec = cfg->parquet_compression,
        .max_bytes =
            cfg->run.max_file_size_mb > 0 ? (uint64_t)(cfg->run.max_file_size_mb * 1048576.0) : 0,
        .created_by = bronze_created_by(),
        .workers = cfg->run.parallel_workers,
    };
    unsigned first = j->previous ? bronze_metadata_max_part(j->previous) + 1 : 1;
    if (bronze_roller_init(&j->roller, j->tmp_dir, formats, &eo, cfg->run.max_rows_per_file, first,
                           err))
        goto done;
    j->roller_ready = true;
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
    if (commit(j, j->incremental ? new_cursor : NULL, t0, err))
        goto done;
    res->rows = j->roller.total_rows;
    res->files = j->roller.nfiles;
    res->bytes = j->roller.total_bytes;
    _Static_assert(sizeof res->partition == sizeof j->partition, "partition buffers");
    memcpy(res->partition, j->partition, sizeof res->partition);
    j->storage->vt->describe(j->storage, j->partition, res->location, sizeof res->location);
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
    if (j->tmp_dir[0] && (rc == 0 || cfg->run.cleanup_on_failure))
        bronze_remove_tree(j->tmp_dir);
    if (j->storage)
        j->storage->vt->close(j->storage);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    json_decref(j->previous);
    bronze_state_free(&j->state);
    free(new_cursor);
    return rc;
}
