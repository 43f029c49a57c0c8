/* shard.c - scale-out shards and their one commit (see shard.h; SPEC §8). */
#include "run/shard.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/db_common.h"
#include "util/datetime.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/sha256.h"

#define JOURNAL_VERSION 1

int bronze_shard_keys(const char *partition, const char *batch_id, int shard, char *stage,
                      char *journal, size_t cap, bronze_err *err)
{
    char flat[1024];
    if (bronze_commit_flat(partition, flat, sizeof flat, err))
        return -1;
    int a = stage ? snprintf(stage, cap, ".bronze-tmp/shards/%s/batch=%s/", flat,
                             batch_id ? batch_id : "")
                  : 0;
    int b = !journal ? 0
            : shard >= 0
                ? snprintf(journal, cap, ".bronze-tmp/shards/%s/journal-s%02d.json", flat, shard)
                : snprintf(journal, cap, ".bronze-tmp/shards/%s/journal-", flat);
    if (a < 0 || (size_t)a >= cap || b < 0 || (size_t)b >= cap)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "partition path too long: %.200s", partition);
    return 0;
}

int bronze_shard_config_sha(const bronze_config *cfg, char out[65], bronze_err *err)
{
    if (bronze_sha256_file(cfg->path, out, err))
        return bronze_err_prefix(err, "%s: reading the config to derive the batch id", cfg->path);
    return 0;
}

int bronze_shard_batch_id(const bronze_config *cfg, const bronze_run_date *d,
                          const char *config_sha, const char *start_cursor, json_t *previous,
                          char out[32])
{
    int64_t y;
    unsigned m, dd;
    bronze_civil_from_days(d->day, &y, &m, &dd);
    char date[32];
    snprintf(date, sizeof date, "%04lld-%02u-%02uT%02d:%02d", (long long)y % 10000, m % 100,
             dd % 100, d->pinned ? d->hour % 100 : 0, d->pinned ? d->minute % 100 : 0);
    bronze_sha256 h;
    if (bronze_sha256_begin(&h))
        return -1;
    /* fields separated by a NUL so no two inputs hash alike */
    bronze_sha256_update(&h, config_sha, strlen(config_sha) + 1);
    bronze_sha256_update(&h, date, strlen(date) + 1);
    bronze_sha256_update(&h, start_cursor ? "c" : "-", 1);
    if (start_cursor)
        bronze_sha256_update(&h, start_cursor, strlen(start_cursor) + 1);
    char *prev = previous ? json_dumps(previous, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    if (prev)
        bronze_sha256_update(&h, prev, strlen(prev));
    free(prev);
    const char *hex = bronze_sha256_end(&h);
    if (!hex) {
        bronze_sha256_free(&h);
        return -1;
    }
    snprintf(out, 32, "%04lld%02u%02u_%02d%02d00_%.8s", (long long)y % 10000, m % 100, dd % 100,
             d->pinned ? d->hour % 100 : 0, d->pinned ? d->minute % 100 : 0, hex);
    bronze_sha256_free(&h);
    (void)cfg;
    return 0;
}

/* ---- the shard's side ---- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static char *journal_render(const bronze_shard_info *in)
{
    json_t *o = json_object(), *files = json_array(), *schema = json_array();
    bool bad = !o || !files || !schema;
    for (size_t i = 0; !bad && i < in->nfiles; i++) {
        const bronze_part_file *f = &in->files[i];
        json_t *p =
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "name", f->name, "format", f->format, "rows",
                      (json_int_t)f->rows, "bytes", (json_int_t)f->bytes, "sha256", f->sha256);
        bad = !p || json_array_append_new(files, p);
    }
    for (size_t i = 0; !bad && in->schema && i < in->schema->ncols; i++) {
        const bronze_field *f = &in->schema->fields[i];
        char ty[48];
        bronze_field_type_text(f, ty, sizeof ty);
        json_t *c =
            json_pack("{s:s, s:s, s:b}", "name", f->name, "type", ty, "nullable", f->nullable);
        if (c && f->source_name)
            json_object_set_new(c, "source_name", json_string(f->source_name));
        bad = !c || json_array_append_new(schema, c);
    }
    if (!bad)
        bad = json_object_set_new(o, "bronze_shard_journal", json_integer(JOURNAL_VERSION)) ||
              json_object_set_new(o, "shard", json_integer(in->shard)) ||
              json_object_set_new(o, "shards", json_integer(in->nshards)) ||
              json_object_set_new(o, "partition", json_string(in->partition)) ||
              json_object_set_new(o, "batch_id", json_string(in->batch_id)) ||
              json_object_set_new(o, "run_date", json_string(in->run_date)) ||
              json_object_set_new(o, "batch_timestamp", json_string(in->batch_timestamp)) ||
              json_object_set_new(o, "config_sha256", json_string(in->config_sha)) ||
              json_object_set_new(o, "start_cursor", str_or_null(in->start_cursor)) ||
              json_object_set_new(o, "new_cursor", str_or_null(in->new_cursor)) ||
              json_object_set_new(o, "cursor_type", json_integer(in->cursor_type)) ||
              json_object_set_new(o, "key_bounds", str_or_null(in->part_note)) ||
              json_object_set_new(o, "records", json_integer((json_int_t)in->records)) ||
              json_object_set_new(o, "replaced_invalid_utf8",
                                  json_integer((json_int_t)in->replaced_invalid_utf8)) ||
              json_object_set_new(o, "duration_seconds", json_real(in->duration_seconds)) ||
              json_object_set(o, "schema", in->schema ? schema : json_null()) ||
              json_object_set(o, "files", files);
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(1));
    json_decref(files);
    json_decref(schema);
    json_decref(o);
    return text;
}

/* Removes every object under the partition's shard area whose name is one
 * of shard `shard`'s parts. */
static int remove_shard_parts(bronze_storage *st, const char *partition, int shard, bronze_err *err)
{
    char flat[1024], area[1200];
    if (bronze_commit_flat(partition, flat, sizeof flat, err))
        return -1;
    snprintf(area, sizeof area, ".bronze-tmp/shards/%s/", flat);
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, area, true, &l, err))
        return -1;
    const char **doomed = calloc(l.n ? l.n : 1, sizeof *doomed);
    size_t nd = 0;
    int rc = 0;
    if (!doomed)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const char *base = strrchr(l.v[i].key, '/');
        base = base ? base + 1 : l.v[i].key;
        unsigned n, sh;
        int used = 0;
        if (sscanf(base, "part-%u-s%u.%*[a-z]%n", &n, &sh, &used) == 2 && used && !base[used] &&
            (int)sh == shard)
            doomed[nd++] = l.v[i].key;
    }
    if (rc == 0 && nd)
        rc = st->vt->remove(st, doomed, nd, err);
    free(doomed);
    bronze_obj_list_free(&l);
    return rc;
}

int bronze_shard_publish(bronze_commit *c, const bronze_shard_info *in,
                         const bronze_commit_part *parts, size_t n, bronze_err *err)
{
    char jkey[1200];
    if (bronze_shard_keys(in->partition, NULL, in->shard, NULL, jkey, sizeof jkey, err))
        return -1;
    char *text = journal_render(in);
    if (!text)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    const char *k = jkey;
    int rc = c->st->vt->remove(c->st, &k, 1, err);
    if (rc == 0)
        rc = remove_shard_parts(c->st, in->partition, in->shard, err);
    if (rc == 0)
        rc = bronze_commit_stage(c, parts, n, err);
    if (rc == 0)
        rc = bronze_fault("shard-before-journal", err);
    if (rc == 0)
        rc = c->st->vt->put(c->st, jkey, text, strlen(text), err);
    if (rc) {
        /* nothing of this attempt stays: no journal names its parts */
        bronze_err e2 = BRONZE_ERR_INIT;
        const char *k2 = jkey;
        c->st->vt->remove(c->st, &k2, 1, &e2);
        remove_shard_parts(c->st, in->partition, in->shard, &e2);
    }
    free(text);
    return rc;
}

/* ---- the commit's side ---- */

void bronze_shard_merge_free(bronze_shard_merge *m)
{
    free(m->files);
    json_decref(m->schema);
    free(m->new_cursor);
    json_decref(m->journals);
    memset(m, 0, sizeof *m);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int bronze_shard_cursor_cmp(int t, const char *a, const char *b)
{
    bronze_dbc_value va, vb;
    int ra = t >= 0 ? bronze_dbc_value_parse((bronze_type)t, 0, a, &va) : -1;
    int rb = t >= 0 ? bronze_dbc_value_parse((bronze_type)t, 0, b, &vb) : -1;
    if (ra || rb) {
        if (ra && rb)
            return strcmp(a, b);
        return ra ? -1 : 1;
    }
    switch ((bronze_type)t) {
    case BRONZE_T_FLOAT:
    case BRONZE_T_DOUBLE:
        return (va.f > vb.f) - (va.f < vb.f);
    case BRONZE_T_DECIMAL:
        return (va.d > vb.d) - (va.d < vb.d);
    case BRONZE_T_STRING:
    case BRONZE_T_JSON:
    case BRONZE_T_BYTES:
        return strcmp(a, b);
    default:
        return (va.i > vb.i) - (va.i < vb.i);
    }
}

/* One schema for the batch: the same columns in the same order; nullable
 * if any shard's is; a type that differs is refused (its parts are already
 * encoded: widening would need them rewritten). */
static int merge_schema(json_t **into, json_t *s, int shard, const bronze_config *cfg,
                        bronze_err *err)
{
    if (!json_is_array(s))
        return 0;
    if (!*into) {
        *into = json_deep_copy(s);
        return *into ? 0 : bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    if (json_array_size(*into) != json_array_size(s))
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: shard %d returned %zu columns, shard 0 %zu; the shards of one "
                              "batch must return the same columns: re-run the shards",
                              cfg->path, shard, json_array_size(s), json_array_size(*into));
    size_t i;
    json_t *c;
    json_array_foreach(s, i, c)
    {
        json_t *m = json_array_get(*into, i);
        const char *n = jstr(c, "name"), *t = jstr(c, "type");
        if (!same_str(n, jstr(m, "name")))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: shard %d's column %zu is '%s', shard 0's '%s'; re-run the "
                                  "shards",
                                  cfg->path, shard, i + 1, n ? n : "?", jstr(m, "name"));
        if (!same_str(t, jstr(m, "type")))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: column '%s' is %s in shard %d but %s in an earlier shard; "
                                  "one batch has one schema (parts already encoded are not "
                                  "rewritten): %s",
                                  cfg->path, n, t ? t : "?", shard, jstr(m, "type"),
                                  cfg->type == BRONZE_SRC_DB
                                      ? "CAST the column in base_query so every shard reads the "
                                        "same type"
                                      : "the shards' files read as different types; load them "
                                        "in one run (without --shard)");
        if (json_is_true(json_object_get(c, "nullable")))
            json_object_set_new(m, "nullable", json_true());
    }
    return 0;
}

/* Compares one journal field with the expected value; a mismatch is a
 * config error (exit 2): the journal is not this run's. */
static int expect_same(const bronze_shard_expect *x, int shard, const char *what, const char *got,
                       const char *want, const char *hint, bronze_err *err)
{
    if (same_str(got, want))
        return 0;
    return bronze_err_set(
        err, BRONZE_E_CONFIG, "%s: the journal of shard %d has %s %s%s%s, this commit %s%s%s: %s",
        x->cfg->path, shard, what, got ? "'" : "", got ? got : "none", got ? "'" : "",
        want ? "'" : "", want ? want : "none", want ? "'" : "", hint);
}

int bronze_shard_merge_load(bronze_storage *st, const bronze_shard_expect *x, bronze_shard_merge *m,
                            bronze_err *err)
{
    memset(m, 0, sizeof *m);
    const bronze_config *cfg = x->cfg;
    char prefix[1200];
    if (bronze_shard_keys(x->partition, NULL, -1, NULL, prefix, sizeof prefix, err))
        return -1;
    snprintf(m->cleanup, sizeof m->cleanup, "%s", prefix);
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, prefix, false, &l, err))
        return -1;
    m->journals = json_array();
    int rc = -1, k = x->nshards;
    json_t **by = NULL;
    char where[1600];
    st->vt->describe(st, prefix, where, sizeof where);
    if (!m->journals)
        goto oom;
    for (size_t i = 0; i < l.n; i++) {
        const char *key = l.v[i].key;
        size_t kl = strlen(key);
        if (kl < 5 || strcmp(key + kl - 5, ".json"))
            continue; /* a put's private temporary */
        bronze_buf b = BRONZE_BUF_INIT;
        bool found = false;
        if (st->vt->get(st, key, &b, &found, err)) {
            bronze_buf_free(&b);
            goto out;
        }
        if (!found) {
            bronze_buf_free(&b);
            continue;
        }
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        bronze_buf_free(&b);
        if (json_integer_value(json_object_get(j, "bronze_shard_journal")) != JOURNAL_VERSION ||
            !json_is_integer(json_object_get(j, "shard")) ||
            !json_is_integer(json_object_get(j, "shards")) || !jstr(j, "batch_id") ||
            !json_is_array(json_object_get(j, "files"))) {
            json_decref(j);
            st->vt->describe(st, key, where, sizeof where);
            bronze_err_set(err, BRONZE_E_RUNTIME,
                           "%s: shard journal %s is not one this tool wrote (corrupt?); re-run "
                           "that shard",
                           cfg->path, where);
            goto out;
        }
        if (json_array_append_new(m->journals, j))
            goto oom;
    }
    size_t nj = json_array_size(m->journals);
    if (nj == 0) {
        rc = 1;
        goto out;
    }
    if (!k)
        k = (int)json_integer_value(json_object_get(json_array_get(m->journals, 0), "shards"));
    if (k < 1 || k > BRONZE_SHARD_MAX) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s: shard journals in %s give %d shards", cfg->path,
                       where, k);
        goto out;
    }
    by = calloc((size_t)k, sizeof *by);
    if (!by)
        goto oom;
    size_t i;
    json_t *j;
    json_array_foreach(m->journals, i, j)
    {
        int sh = (int)json_integer_value(json_object_get(j, "shard"));
        int jk = (int)json_integer_value(json_object_get(j, "shards"));
        if (jk != k) {
            bronze_err_set(err, BRONZE_E_CONFIG,
                           "%s: the journal of shard %d was written by a run of %d shards, this "
                           "commit expects %d (--shards or the other journals): re-run every "
                           "shard with the same count",
                           cfg->path, sh, jk, k);
            goto out;
        }
        if (sh < 0 || sh >= k)
            continue;
        by[sh] = j;
    }
    /* every shard present */
    bronze_buf missing = BRONZE_BUF_INIT;
    int nmissing = 0;
    for (int s = 0; s < k; s++)
        if (!by[s]) {
            bronze_buf_printf(&missing, "%s%d", nmissing ? ", " : "", s);
            nmissing++;
        }
    if (nmissing) {
        bronze_buf_cstr(&missing);
        st->vt->describe(st, prefix, where, sizeof where);
        bronze_err_set(err, BRONZE_E_RUNTIME,
                       "%s: %d of %d shard(s) have no journal for partition %s (shard %s): they "
                       "failed or have not run; re-run them with --shard I/%d (same --date), then "
                       "commit again. Nothing was published",
                       cfg->path, nmissing, k, x->partition,
                       missing.data ? (const char *)missing.data : "?", k);
        bronze_buf_free(&missing);
        goto out;
    }
    bronze_buf_free(&missing);
    /* they belong to this config, date and run, and to each other */
    const char *bid = jstr(by[0], "batch_id"), *bounds = jstr(by[0], "key_bounds");
    int ctype = (int)json_integer_value(json_object_get(by[0], "cursor_type"));
    size_t nfiles = 0;
    for (int s = 0; s < k; s++) {
        j = by[s];
        if (expect_same(x, s, "config sha256", jstr(j, "config_sha256"), x->config_sha,
                        "it was written with another config (or an edited one); re-run the "
                        "shards with this config",
                        err) ||
            expect_same(x, s, "run date", jstr(j, "run_date"), x->run_date,
                        "give commit the --date the shards ran with, or re-run them", err) ||
            expect_same(x, s, "start cursor", jstr(j, "start_cursor"), x->start_cursor,
                        "the cursor state changed since the shards ran; re-run them", err) ||
            expect_same(x, s, "batch id", jstr(j, "batch_id"), bid,
                        "the shards come from different runs; re-run them", err))
            goto out;
        if (!same_str(jstr(j, "key_bounds"), bounds)) {
            bronze_err_set(err, BRONZE_E_RUNTIME,
                           "%s: shard %d split source.db.partitioning.column by bounds %s, shard 0 "
                           "by %s (the table changed between the shards' starts): rows could be "
                           "missed or doubled, nothing published; set "
                           "source.db.partitioning.lower_bound and upper_bound, and re-run the "
                           "shards",
                           cfg->path, s, jstr(j, "key_bounds") ? jstr(j, "key_bounds") : "none",
                           bounds ? bounds : "none");
            goto out;
        }
        if (merge_schema(&m->schema, json_object_get(j, "schema"), s, cfg, err))
            goto out;
        nfiles += json_array_size(json_object_get(j, "files"));
        m->records += (uint64_t)json_integer_value(json_object_get(j, "records"));
        m->replaced_invalid_utf8 +=
            (uint64_t)json_integer_value(json_object_get(j, "replaced_invalid_utf8"));
        double d = json_number_value(json_object_get(j, "duration_seconds"));
        if (d > m->duration_seconds)
            m->duration_seconds = d;
        const char *ts = jstr(j, "batch_timestamp");
        if (ts && (!m->batch_timestamp[0] || strcmp(ts, m->batch_timestamp) < 0))
            snprintf(m->batch_timestamp, sizeof m->batch_timestamp, "%s", ts);
        const char *c = jstr(j, "new_cursor");
        if (c && (!m->new_cursor || bronze_shard_cursor_cmp(ctype, c, m->new_cursor) > 0)) {
            free(m->new_cursor);
            if (!(m->new_cursor = strdup(c)))
                goto oom;
        }
    }
    snprintf(m->batch_id, sizeof m->batch_id, "%s", bid);
    m->nshards = k;
    if (bronze_shard_keys(x->partition, bid, -1, m->stage, NULL, sizeof m->stage, err))
        goto out;
    /* the parts, in shard order, each staged with its journal's size */
    bronze_obj_list staged = BRONZE_OBJ_LIST_INIT;
    if (st->vt->list(st, m->stage, false, &staged, err))
        goto out;
    m->files = calloc(nfiles ? nfiles : 1, sizeof *m->files);
    if (!m->files) {
        bronze_obj_list_free(&staged);
        goto oom;
    }
    for (int s = 0; s < k; s++) {
        json_t *f;
        size_t fi;
        json_array_foreach(json_object_get(by[s], "files"), fi, f)
        {
            bronze_part_file *pf = &m->files[m->nfiles++];
            const char *nm = jstr(f, "name"), *fmt = jstr(f, "format"), *sha = jstr(f, "sha256");
            if (!nm || !fmt || !sha || strlen(nm) >= sizeof pf->name || strlen(sha) != 64) {
                bronze_obj_list_free(&staged);
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "%s: shard %d's journal is malformed; "
                               "re-run that shard",
                               cfg->path, s);
                goto out;
            }
            snprintf(pf->name, sizeof pf->name, "%s", nm);
            pf->format = strcmp(fmt, "csv") ? "parquet" : "csv";
            pf->rows = (uint64_t)json_integer_value(json_object_get(f, "rows"));
            pf->bytes = (uint64_t)json_integer_value(json_object_get(f, "bytes"));
            snprintf(pf->sha256, sizeof pf->sha256, "%s", sha);
            pf->shard = s;
            char key[1400];
            snprintf(key, sizeof key, "%s%s", m->stage, nm);
            bool ok = false;
            for (size_t q = 0; q < staged.n && !ok; q++)
                ok = !strcmp(staged.v[q].key, key) && staged.v[q].size == pf->bytes;
            if (!ok) {
                st->vt->describe(st, key, where, sizeof where);
                bronze_obj_list_free(&staged);
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "%s: shard %d's part %s is not staged with its journal's size "
                               "(%s); re-run shard %d, then commit again. Nothing was published",
                               cfg->path, s, nm, where, s);
                goto out;
            }
        }
    }
    /* staged files no journal names (a killed attempt of a shard) go, so the
     * folder holds exactly the batch (the commit may exchange it whole) */
    for (size_t q = 0; x->tidy && q < staged.n; q++) {
        const char *nm = staged.v[q].key + strlen(m->stage);
        bool listed = false;
        for (size_t f = 0; f < m->nfiles && !listed; f++)
            listed = !strcmp(m->files[f].name, nm);
        if (!listed) {
            const char *kk = staged.v[q].key;
            BRONZE_INFO("Removing %s, staged by no shard journal", kk);
            if (st->vt->remove(st, &kk, 1, err)) {
                bronze_obj_list_free(&staged);
                goto out;
            }
        }
    }
    bronze_obj_list_free(&staged);
    rc = 0;
    goto out;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
out:
    free(by);
    bronze_obj_list_free(&l);
    if (rc < 0) {
        json_t *keep = m->journals;
        m->journals = NULL;
        bronze_shard_merge_free(m);
        json_decref(keep);
    }
    return rc;
}
