/*
 * commit.c - a batch becomes visible all at once, and a committed batch is
 * never lost (see commit.h; SPEC §6.3-6.6).
 *
 * Keys (relative to the storage root; readers skip dot-folders):
 *   .bronze-tmp/stage/<flat>/<batch_id>/part-0001.parquet   staged parts
 *   .bronze-tmp/journals/<flat>.json                        the journal
 * where <flat> is the partition path with '/' as '+' (never in a segment).
 *
 * Invariants. Every step keeps them, and a roll-forward relies on them:
 *   1. A part is durable at its staging key before any journal names it.
 *   2. The journal is written in one step (storage put) after every part it
 *      names is staged, so a journal that exists is complete. It holds the
 *      exact text of the marker to write.
 *   3. Nothing under the partition changes before the journal is durable: a
 *      run that dies or fails earlier leaves the old batch exactly as it was.
 *   4. A marker never lies. In a full load the old marker goes before the
 *      first committed part is overwritten or removed; the new marker is
 *      written in one step after every part it lists is in place and every
 *      part-named file it does not list is gone.
 *   5. Locally a full load exchanges the whole partition folder
 *      (RENAME_EXCHANGE): the new folder, marker included, is complete in
 *      staging first, so even a reader that ignores the marker sees the old
 *      folder or the new one. Other files of the old folder are moved back
 *      after the exchange. A folder with subfolders, or a file system that
 *      cannot exchange, takes the marker protocol of 4.
 *   6. Applying a journal is idempotent: each step looks first at what is
 *      done (a part is published once its staging key is gone and its final
 *      key has the journal's size; the batch is committed once the
 *      partition's marker text equals the journal's). The next run on the
 *      partition, or verify --repair, resumes a killed commit at any step.
 *   7. The journal goes only after the marker is durable; staging only after
 *      the journal.
 *   8. The cursor advances only after the marker (job.c writes the state).
 *
 * Fault points (util/fault.h), in commit order: stage-first-part,
 * after-stage, after-journal, after-old-marker, after-first-publish,
 * after-parts, after-stale, after-swap, after-marker, after-cleanup,
 * after-journal-removed.
 *
 * Scale-out (SPEC §8, run/shard.c): the shards of one batch stage their
 * parts in one folder of their own (the journal's `stage`), and the commit of
 * their merge is this same journal and apply, with `cleanup` naming the
 * shard journals: removed once the batch is in place, before the journal
 * (invariant 7), so a roll-forward never meets a half-consumed merge.
 */
#include "run/commit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/metadata.h"
#include "util/fault.h"
#include "util/log.h"

#define MARKER "_metadata.json"

bool bronze_commit_is_part_name(const char *name)
{
    unsigned n, sh;
    char ext[16];
    int used = 0;
    if (sscanf(name, "part-%u.%15[a-z]%n", &n, ext, &used) != 2 || name[used]) {
        /* a shard's part (SPEC §8): part-0001-s03.parquet */
        used = 0;
        if (sscanf(name, "part-%u-s%u.%15[a-z]%n", &n, &sh, ext, &used) != 3 || name[used])
            return false;
    }
    return !strcmp(ext, "csv") || !strcmp(ext, "parquet");
}

int bronze_commit_flat(const char *partition, char *out, size_t cap, bronze_err *err)
{
    size_t k = 0;
    for (const char *p = partition; *p; p++) {
        if (k + 1 >= cap)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "partition path too long: %.200s",
                                  partition);
        out[k++] = *p == '/' ? '+' : *p;
    }
    while (k && out[k - 1] == '+')
        k--;
    out[k] = 0;
    return 0;
}

static int keys_for(const char *partition, const char *batch_id, char *stage, char *journal,
                    size_t cap, bronze_err *err)
{
    char flat[1024];
    if (bronze_commit_flat(partition, flat, sizeof flat, err))
        return -1;
    int a = batch_id ? snprintf(stage, cap, ".bronze-tmp/stage/%s/%s/", flat, batch_id)
                     : snprintf(stage, cap, ".bronze-tmp/stage/%s/", flat);
    int b = snprintf(journal, cap, ".bronze-tmp/journals/%s.json", flat);
    if (a < 0 || (size_t)a >= cap || b < 0 || (size_t)b >= cap)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "partition path too long: %.200s", partition);
    return 0;
}

int bronze_commit_init(bronze_commit *c, bronze_err *err)
{
    return keys_for(c->partition, c->batch_id, c->stage, c->journal, sizeof c->stage, err);
}

static int key_join(char *out, size_t cap, const char *a, const char *b, bronze_err *err)
{
    int n = snprintf(out, cap, "%s%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "key too long: %.200s%.200s", a, b);
    return 0;
}

int bronze_commit_stage(bronze_commit *c, const bronze_commit_part *parts, size_t n,
                        bronze_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char key[1400];
        if (key_join(key, sizeof key, c->stage, parts[i].name, err) ||
            c->st->vt->upload(c->st, parts[i].local_path, key, parts[i].bytes, parts[i].sha256,
                              err))
            return -1;
        if (i == 0 && bronze_fault("stage-first-part", err))
            return -1;
    }
    return bronze_fault("after-stage", err);
}

/* Removes every object under prefix (staging). */
static int remove_prefix(bronze_storage *st, const char *prefix, bronze_err *err)
{
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, prefix, true, &l, err))
        return -1;
    int rc = 0;
    if (l.n) {
        const char **keys = malloc(l.n * sizeof *keys);
        if (!keys) {
            bronze_obj_list_free(&l);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        }
        for (size_t i = 0; i < l.n; i++)
            keys[i] = l.v[i].key;
        rc = st->vt->remove(st, keys, l.n, err);
        free(keys);
    }
    bronze_obj_list_free(&l);
    return rc;
}

void bronze_commit_discard(bronze_commit *c)
{
    bronze_err e = BRONZE_ERR_INIT;
    if (remove_prefix(c->st, c->stage, &e))
        BRONZE_WARN("removing the staging of a failed run: %s", e.msg);
}

/* ---- the journal ---- */

typedef enum { MODE_REPLACE, MODE_APPEND, MODE_SWAP } commit_mode;
static const char *const MODE_NAMES[] = {"replace", "append", "swap"};

typedef struct journal {
    json_t *root; /* owns everything below */
    const char *partition, *stage, *marker;
    const char *cleanup; /* optional: removed first when the batch is in place */
    commit_mode mode;
    json_t *parts;       /* [{name, bytes, sha256}] */
    json_t *marker_json; /* parsed marker (its files[]) */
} journal;

static void journal_free(journal *j)
{
    json_decref(j->root);
    json_decref(j->marker_json);
    memset(j, 0, sizeof *j);
}

static int journal_parse(journal *j, const char *key, const bronze_buf *b, bronze_err *err)
{
    memset(j, 0, sizeof *j);
    json_error_t je;
    j->root = json_loadb((const char *)b->data, b->len, 0, &je);
    const char *mode = json_string_value(json_object_get(j->root, "mode"));
    j->partition = json_string_value(json_object_get(j->root, "partition"));
    j->stage = json_string_value(json_object_get(j->root, "stage"));
    j->marker = json_string_value(json_object_get(j->root, "marker"));
    j->cleanup = json_string_value(json_object_get(j->root, "cleanup"));
    j->parts = json_object_get(j->root, "parts");
    int m = -1;
    for (int i = 0; mode && i < 3; i++)
        if (!strcmp(mode, MODE_NAMES[i]))
            m = i;
    if (json_integer_value(json_object_get(j->root, "bronze_journal")) != 1 || m < 0 ||
        !j->partition || !j->stage || !j->marker || !json_is_array(j->parts) ||
        !(j->marker_json = json_loads(j->marker, 0, NULL))) {
        journal_free(j);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "journal %s is not one this tool wrote (corrupt?); move it away and "
                              "re-run the load",
                              key);
    }
    j->mode = (commit_mode)m;
    return 0;
}

static char *journal_render(const bronze_commit *c, commit_mode mode,
                            const bronze_commit_part *parts, size_t n, const char *marker)
{
    json_t *o = json_object(), *arr = json_array();
    int bad = !o || !arr;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *p = json_pack("{s:s, s:I, s:s}", "name", parts[i].name, "bytes",
                              (json_int_t)parts[i].bytes, "sha256", parts[i].sha256);
        bad = !p || json_array_append_new(arr, p);
    }
    if (!bad)
        bad = json_object_set_new(o, "bronze_journal", json_integer(1)) ||
              json_object_set_new(o, "mode", json_string(MODE_NAMES[mode])) ||
              json_object_set_new(o, "partition", json_string(c->partition)) ||
              json_object_set_new(o, "batch_id", json_string(c->batch_id)) ||
              json_object_set_new(o, "stage", json_string(c->stage)) ||
              json_object_set(o, "parts", arr) ||
              json_object_set_new(o, "marker", json_string(marker)) ||
              (c->cleanup && json_object_set_new(o, "cleanup", json_string(c->cleanup)));
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(1));
    json_decref(arr);
    json_decref(o);
    return text;
}

/* ---- applying a journal ---- */

static const bronze_obj *find(const bronze_obj_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].key, key))
            return &l->v[i];
    return NULL;
}

/* 1 when the partition's marker is the journal's (the batch is committed),
 * 0 when not, -1 on error. */
static int committed(bronze_storage *st, const journal *j, bronze_err *err)
{
    char key[1400];
    if (key_join(key, sizeof key, j->partition, MARKER, err))
        return -1;
    bronze_buf b = BRONZE_BUF_INIT;
    bool found = false;
    if (st->vt->get(st, key, &b, &found, err)) {
        bronze_buf_free(&b);
        return -1;
    }
    int done = found && b.len == strlen(j->marker) && !memcmp(b.data, j->marker, b.len);
    bronze_buf_free(&b);
    return done;
}

static int finish(bronze_storage *st, const char *journal_key, const journal *j, bronze_err *err)
{
    const char *k = journal_key;
    if (j->cleanup && (remove_prefix(st, j->cleanup, err) || bronze_fault("after-cleanup", err)))
        return -1;
    if (st->vt->remove(st, &k, 1, err) || bronze_fault("after-journal-removed", err))
        return -1;
    return remove_prefix(st, j->stage, err);
}

/* Invariant 4: the marker protocol, resumable at any step. */
static int apply_marker(bronze_storage *st, const journal *j, bronze_err *err)
{
    int done = committed(st, j, err);
    if (done)
        return done < 0 ? -1 : 0;
    bronze_obj_list have = BRONZE_OBJ_LIST_INIT, staged = BRONZE_OBJ_LIST_INIT;
    const char **doomed = NULL;
    int rc = -1;
    char key[1400], src[1400];
    if (st->vt->list(st, j->partition, false, &have, err) ||
        st->vt->list(st, j->stage, false, &staged, err))
        goto out;
    if (j->mode != MODE_APPEND) {
        if (key_join(key, sizeof key, j->partition, MARKER, err))
            goto out;
        const char *k = key;
        if (find(&have, key) && st->vt->remove(st, &k, 1, err))
            goto out;
        if (bronze_fault("after-old-marker", err))
            goto out;
    }
    size_t i;
    json_t *p;
    json_array_foreach(j->parts, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        uint64_t bytes = (uint64_t)json_integer_value(json_object_get(p, "bytes"));
        if (!name || key_join(key, sizeof key, j->partition, name, err) ||
            key_join(src, sizeof src, j->stage, name, err))
            goto out;
        if (find(&staged, src)) {
            if (st->vt->publish(st, src, key, err))
                goto out;
        } else {
            const bronze_obj *f = find(&have, key);
            if (!f || f->size != bytes) {
                char where[1600];
                st->vt->describe(st, src, where, sizeof where);
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "journal for %s names %s, which is neither staged (%s) nor in "
                               "place: the batch cannot be completed; re-run the load",
                               j->partition, name, where);
                goto out;
            }
        }
        if (i == 0 && bronze_fault("after-first-publish", err))
            goto out;
    }
    if (bronze_fault("after-parts", err))
        goto out;
    /* Part-named files the new marker does not list: the old batch's (full
     * load) or crashed runs' (append). */
    size_t nd = 0;
    if (have.n && !(doomed = malloc(have.n * sizeof *doomed))) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < have.n; k++) {
        const char *name = have.v[k].key + strlen(j->partition);
        if (bronze_commit_is_part_name(name) && !bronze_metadata_lists(j->marker_json, name))
            doomed[nd++] = have.v[k].key;
    }
    if ((nd && st->vt->remove(st, doomed, nd, err)) || bronze_fault("after-stale", err))
        goto out;
    if (key_join(key, sizeof key, j->partition, MARKER, err) ||
        st->vt->put(st, key, j->marker, strlen(j->marker), err))
        goto out;
    rc = bronze_fault("after-marker", err);
out:
    free(doomed);
    bronze_obj_list_free(&have);
    bronze_obj_list_free(&staged);
    return rc;
}

/* Invariant 5: the folder exchange. Returns 1 when the marker protocol must
 * do the work instead. */
static int apply_swap(bronze_storage *st, const journal *j, bronze_err *err)
{
    int done = committed(st, j, err);
    if (done < 0)
        return -1;
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    int rc = -1;
    char key[1400], src[1400];
    if (!done) {
        if (st->vt->list(st, j->stage, false, &l, err))
            goto out;
        /* every part and the marker still staged, else a fallback was under way */
        size_t i;
        json_t *p;
        bool all = key_join(src, sizeof src, j->stage, MARKER, err) == 0 && find(&l, src);
        json_array_foreach(j->parts, i, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            if (!name || key_join(src, sizeof src, j->stage, name, err) || !find(&l, src))
                all = false;
        }
        bronze_obj_list_free(&l);
        if (!all) {
            rc = 1;
            goto out;
        }
        int s = st->vt->swap_dir(st, j->stage, j->partition, err);
        if (s) {
            rc = s;
            goto out;
        }
        if (bronze_fault("after-swap", err))
            goto out;
    }
    /* The stage folder now holds the old partition: other files move back. */
    bronze_obj_list have = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, j->stage, false, &l, err) ||
        st->vt->list(st, j->partition, false, &have, err)) {
        bronze_obj_list_free(&have);
        goto out;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const char *name = l.v[i].key + strlen(j->stage);
        if (bronze_commit_is_part_name(name) || !strcmp(name, MARKER) || strchr(name, '/'))
            continue;
        if (key_join(key, sizeof key, j->partition, name, err))
            rc = -1;
        else if (!find(&have, key))
            rc = st->vt->publish(st, l.v[i].key, key, err);
    }
    bronze_obj_list_free(&have);
    if (rc == 0)
        rc = bronze_fault("after-marker", err);
out:
    bronze_obj_list_free(&l);
    return rc;
}

static int apply(bronze_storage *st, const char *journal_key, const journal *j, bronze_err *err)
{
    int rc = 1;
    if (j->mode == MODE_SWAP && st->vt->swap_dir)
        rc = apply_swap(st, j, err);
    if (rc == 1)
        rc = apply_marker(st, j, err);
    return rc ? -1 : finish(st, journal_key, j, err);
}

/* A full load exchanges folders where the back end can and the partition
 * has no subfolders (invariant 5). */
static int choose_mode(bronze_commit *c, commit_mode *mode, bronze_err *err)
{
    *mode = c->append ? MODE_APPEND : MODE_REPLACE;
    if (c->append || !c->st->vt->swap_dir)
        return 0;
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    if (c->st->vt->list(c->st, c->partition, true, &l, err))
        return -1;
    bool sub = false;
    for (size_t i = 0; i < l.n; i++)
        if (strchr(l.v[i].key + strlen(c->partition), '/'))
            sub = true;
    bronze_obj_list_free(&l);
    if (!sub)
        *mode = MODE_SWAP;
    return 0;
}

int bronze_commit_publish(bronze_commit *c, const bronze_commit_part *parts, size_t n,
                          const char *marker, bronze_err *err)
{
    commit_mode mode;
    if (choose_mode(c, &mode, err))
        return -1;
    char key[1400];
    if (mode == MODE_SWAP && (key_join(key, sizeof key, c->stage, MARKER, err) ||
                              c->st->vt->put(c->st, key, marker, strlen(marker), err)))
        return -1;
    char *text = journal_render(c, mode, parts, n, marker);
    if (!text)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    int rc = c->st->vt->put(c->st, c->journal, text, strlen(text), err);
    if (rc == 0) {
        c->journaled = true;
        bronze_buf b = {(uint8_t *)text, strlen(text), strlen(text) + 1};
        journal j;
        rc = journal_parse(&j, c->journal, &b, err);
        if (rc == 0) {
            rc = bronze_fault("after-journal", err);
            if (rc == 0)
                rc = apply(c->st, c->journal, &j, err);
            journal_free(&j);
        }
        if (rc) {
            char where[1600];
            c->st->vt->describe(c->st, c->journal, where, sizeof where);
            bronze_err_prefix(err,
                              "commit interrupted after its journal was written (%s); the next "
                              "run on this partition or `bronze-extract verify --repair` "
                              "completes it",
                              where);
        }
    }
    free(text);
    return rc;
}

int bronze_commit_recover(bronze_storage *st, const char *partition, bool *rolled, bronze_err *err)
{
    char stage_all[1200], jkey[1200];
    *rolled = false;
    if (keys_for(partition, NULL, stage_all, jkey, sizeof jkey, err))
        return -1;
    bronze_buf b = BRONZE_BUF_INIT;
    bool found = false;
    if (st->vt->get(st, jkey, &b, &found, err)) {
        bronze_buf_free(&b);
        return -1;
    }
    if (found) {
        journal j;
        int rc = journal_parse(&j, jkey, &b, err);
        bronze_buf_free(&b);
        if (rc)
            return -1;
        char where[1600];
        st->vt->describe(st, partition, where, sizeof where);
        BRONZE_INFO("Completing the commit of batch %s in %s, interrupted in an earlier run",
                    json_string_value(json_object_get(j.root, "batch_id")), where);
        rc = apply(st, jkey, &j, err);
        journal_free(&j);
        if (rc)
            return bronze_err_prefix(err, "completing an interrupted commit");
        *rolled = true;
    }
    bronze_buf_free(&b);
    /* A run killed inside a one-step write leaves its private temporary
     * (local back end: "<name>.tmp-<pid>") beside the journal or marker. */
    char tmp[1400];
    if (key_join(tmp, sizeof tmp, jkey, ".tmp-", err) || remove_prefix(st, tmp, err) ||
        key_join(tmp, sizeof tmp, partition, MARKER ".tmp-", err) || remove_prefix(st, tmp, err))
        return -1;
    return remove_prefix(st, stage_all, err);
}
