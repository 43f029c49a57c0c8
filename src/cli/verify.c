/*
 * verify.c - `bronze-extract verify [--config PATH | LOCATION] [--repair]`
 * (SPEC §2): checks that every committed batch is what its marker says.
 *
 * For each _metadata.json under the target: every file it lists exists with
 * the listed size and sha256 (the object is read through SHA-256, locally or
 * from S3); part files in its folder that it does not list, folders of parts
 * with no marker, journals of interrupted commits and staging left by killed
 * runs are reported. One finding per line on stdout; exit 0 when there is
 * none, 1 with findings, 2 on usage errors. --repair first completes every
 * journal (the same roll-forward the next load would do, run/commit.c) and
 * removes staging no journal names, then verifies.
 *
 * The target is a config's table (its storage, system=<s>/table=<t>/), a
 * local folder (the root, or any hive folder under it: the root is the first
 * folder above that is not `k=v`), or s3://bucket/prefix[/k=v...] with the
 * standard AWS_* variables (AWS_ENDPOINT_URL for an S3-compatible server).
 */
#include "cli/verify.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "run/commit.h"
#include "run/metadata.h"
#include "storage/storage.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"

#define MARKER "_metadata.json"

typedef struct verifier {
    bronze_storage *st;
    char root_desc[1200];
    char scope[1200];       /* key prefix under the root being checked ("" = all) */
    const char *local_root; /* for locks; NULL on S3 */
    unsigned findings;
} verifier;

static void finding(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(verifier *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    v->findings++;
}

/* Index of the first key >= key in a sorted listing (storage lists sort). */
static size_t first_at_or_after(const bronze_obj_list *l, const char *key)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->v[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool under_tmp(const char *key)
{
    return !strncmp(key, ".bronze-tmp/", 12);
}

/* The folder part of key, trailing '/' kept ("" for a top-level key). */
static void folder_of(const char *key, char *out, size_t cap)
{
    const char *slash = strrchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) + 1 : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, key, n);
    out[n] = 0;
}

static int check_marker(verifier *v, const char *key, const bronze_obj_list *all, bronze_err *err)
{
    char folder[1200];
    folder_of(key, folder, sizeof folder);
    bronze_buf b = BRONZE_BUF_INIT;
    bool found = false;
    if (v->st->vt->get(v->st, key, &b, &found, err)) {
        bronze_buf_free(&b);
        return -1;
    }
    json_error_t je;
    json_t *m = found ? json_loadb((const char *)b.data, b.len, 0, &je) : NULL;
    bronze_buf_free(&b);
    if (!json_is_object(m) || !json_is_array(json_object_get(m, "files"))) {
        finding(v, "BAD_MARKER %s: not a bronze _metadata.json (%s)", key,
                m ? "no files[]" : je.text);
        json_decref(m);
        return 0;
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        json_t *bytes = json_object_get(f, "bytes");
        if (!name || !sha || !json_is_integer(bytes) || strchr(name, '/')) {
            finding(v, "BAD_MARKER %s: files[%zu] lacks name, bytes or sha256", key, i);
            continue;
        }
        char fkey[1400], hex[65];
        snprintf(fkey, sizeof fkey, "%s%s", folder, name);
        uint64_t size = 0;
        bool have = false;
        if (v->st->vt->digest(v->st, fkey, hex, &size, &have, err)) {
            json_decref(m);
            return -1;
        }
        if (!have)
            finding(v, "MISSING %s (listed by %s)", fkey, key);
        else if (size != (uint64_t)json_integer_value(bytes))
            finding(v, "CHANGED %s: %llu bytes, the marker lists %lld", fkey,
                    (unsigned long long)size, (long long)json_integer_value(bytes));
        else if (strcmp(hex, sha))
            finding(v, "CHANGED %s: sha256 %s, the marker lists %s", fkey, hex, sha);
    }
    /* parts in the same folder that the marker does not list */
    size_t flen = strlen(folder);
    for (size_t k = first_at_or_after(all, folder); k < all->n; k++) {
        const char *ok = all->v[k].key;
        if (strncmp(ok, folder, flen))
            break; /* sorted: the folder's keys are one run */
        if (strchr(ok + flen, '/'))
            continue;
        if (bronze_commit_is_part_name(ok + flen) && !bronze_metadata_lists(m, ok + flen))
            finding(v,
                    "UNLISTED %s: no marker lists it (left by an interrupted run; the next "
                    "load of the partition removes it)",
                    ok);
    }
    json_decref(m);
    return 0;
}

/* Partition of a journal key ".bronze-tmp/journals/<flat>.json": '+' -> '/'. */
static bool journal_partition(const char *key, char *out, size_t cap)
{
    const char *p = ".bronze-tmp/journals/";
    size_t n = strlen(key), pl = strlen(p);
    if (strncmp(key, p, pl) || n < pl + 6 || strcmp(key + n - 5, ".json") || n - pl - 5 + 2 > cap)
        return false;
    size_t k = 0;
    for (const char *c = key + pl; c < key + n - 5; c++)
        out[k++] = *c == '+' ? '/' : *c;
    out[k++] = '/';
    out[k] = 0;
    return true;
}

static bool in_scope(const verifier *v, const char *partition)
{
    return !strncmp(partition, v->scope, strlen(v->scope));
}

static int repair(verifier *v, bronze_err *err)
{
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    if (v->st->vt->list(v->st, ".bronze-tmp/", true, &l, err))
        return -1;
    int rc = 0;
    /* every partition with a journal or staging */
    char last[1200] = "";
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const char *key = l.v[i].key;
        char part[1200] = "";
        if (!journal_partition(key, part, sizeof part)) {
            const char *sp = ".bronze-tmp/stage/";
            if (strncmp(key, sp, strlen(sp)))
                continue;
            const char *flat = key + strlen(sp), *end = strchr(flat, '/');
            size_t n = end ? (size_t)(end - flat) : 0;
            if (!n || n + 2 > sizeof part)
                continue;
            for (size_t k = 0; k < n; k++)
                part[k] = flat[k] == '+' ? '/' : flat[k];
            part[n] = '/';
            part[n + 1] = 0;
        }
        if (!strcmp(part, last) || !in_scope(v, part))
            continue;
        snprintf(last, sizeof last, "%s", part);
        bronze_lock lk = BRONZE_LOCK_INIT;
        if (v->local_root) {
            char flat[1200], path[4400];
            if (bronze_commit_flat(part, flat, sizeof flat, err) ||
                bronze_path_fmt(path, sizeof path, err, "%s/.bronze-tmp/%s.lock", v->local_root,
                                flat) ||
                bronze_lock_take(&lk, path, part, err)) {
                rc = -1;
                break;
            }
        }
        bool rolled = false;
        rc = bronze_commit_recover(v->st, part, &rolled, err);
        bronze_lock_release(&lk);
        if (rc == 0)
            BRONZE_INFO("Repaired %s: %s", part,
                        rolled ? "interrupted commit completed" : "stale staging removed");
    }
    bronze_obj_list_free(&l);
    return rc;
}

static int verify_all(verifier *v, bronze_err *err)
{
    bronze_obj_list all = BRONZE_OBJ_LIST_INIT;
    if (v->st->vt->list(v->st, "", true, &all, err))
        return -1;
    int rc = 0;
    unsigned markers = 0;
    for (size_t i = 0; rc == 0 && i < all.n; i++) {
        const char *key = all.v[i].key;
        char part[1200];
        if (under_tmp(key)) {
            /* staging belongs to a journal or to a run in progress: not a finding */
            if (journal_partition(key, part, sizeof part) && in_scope(v, part))
                finding(v,
                        "JOURNAL %s: an interrupted commit of %s (the next load of the "
                        "partition or `verify --repair` completes it)",
                        key, part);
            continue;
        }
        if (strncmp(key, v->scope, strlen(v->scope)))
            continue;
        const char *base = strrchr(key, '/');
        base = base ? base + 1 : key;
        if (!strcmp(base, MARKER)) {
            markers++;
            rc = check_marker(v, key, &all, err);
        } else if (bronze_commit_is_part_name(base)) {
            char folder[1200], mk[1300];
            folder_of(key, folder, sizeof folder);
            snprintf(mk, sizeof mk, "%s%s", folder, MARKER);
            size_t k = first_at_or_after(&all, mk);
            bool has = k < all.n && !strcmp(all.v[k].key, mk);
            if (!has)
                finding(v, "UNLISTED %s: its folder has no _metadata.json (not committed)", key);
        }
    }
    if (rc == 0)
        BRONZE_INFO("verify: %u marker(s) checked under %s%s, %u finding(s)", markers, v->root_desc,
                    v->scope, v->findings);
    bronze_obj_list_free(&all);
    return rc;
}

/* Splits a location into the storage root and the hive folders under it:
 * trailing `k=v` segments are scope, the rest is the root. */
static void split_location(const char *loc, char *root, size_t rcap, char *scope, size_t scap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", loc);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = 0;
    scope[0] = 0;
    for (;;) {
        char *slash = strrchr(tmp, '/');
        const char *seg = slash ? slash + 1 : tmp;
        if (!strchr(seg, '=') || !slash)
            break;
        char s2[1200];
        snprintf(s2, sizeof s2, "%s/%s", seg, scope);
        snprintf(scope, scap, "%s", s2);
        *slash = 0;
    }
    snprintf(root, rcap, "%s", tmp);
}

static void usage(FILE *f)
{
    fputs("Usage: bronze-extract verify [--config PATH | LOCATION] [--repair]\n"
          "                             [-v|-q] [--log-format human|json|simple]\n"
          "\n"
          "Checks every _metadata.json under a config's table, a local folder or an\n"
          "s3://bucket/prefix location: listed files exist with their size and sha256;\n"
          "unlisted parts, interrupted commits and leftover staging are reported.\n"
          "--repair completes interrupted commits and removes stale staging first.\n"
          "Exit codes: 0 clean, 1 findings or failure, 2 usage or config error.\n",
          f);
}

static const char *envz(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int bronze_verify_main(int argc, char **argv)
{
    enum { OPT_REPAIR = 256, OPT_LOGFMT };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"repair", no_argument, NULL, OPT_REPAIR},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"log-format", required_argument, NULL, OPT_LOGFMT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *logfmt = getenv("BRONZE_LOG_FORMAT");
    bool fix = false;
    bronze_log_level level = BRONZE_LOG_INFO;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case OPT_REPAIR:
            fix = true;
            break;
        case 'v':
            level = BRONZE_LOG_DEBUG;
            break;
        case 'q':
            level = BRONZE_LOG_ERROR;
            break;
        case OPT_LOGFMT:
            logfmt = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            BRONZE_ERROR("bronze-extract verify: unknown or incomplete option '%s'",
                         argv[optind - 1]);
            if (bronze_log_current_format() != BRONZE_LOGFMT_JSON)
                usage(stderr);
            return 2;
        }
    }
    bronze_log_format fmt = BRONZE_LOGFMT_HUMAN;
    if (logfmt && *logfmt && bronze_log_format_parse(logfmt, &fmt)) {
        BRONZE_ERROR("bronze-extract verify: --log-format: '%s' is not one of human, json, simple",
                     logfmt);
        return 2;
    }
    bronze_log_setup(level, fmt);
    const char *loc = optind < argc ? argv[optind] : NULL;
    if ((config && loc) || (!config && !loc) || optind + (loc ? 1 : 0) < argc) {
        BRONZE_ERROR("bronze-extract verify: give either --config PATH or one LOCATION");
        if (fmt != BRONZE_LOGFMT_JSON)
            usage(stderr);
        return 2;
    }

    verifier v = {0};
    bronze_err err = BRONZE_ERR_INIT;
    bronze_config *cfg = NULL;
    bronze_storage_params sp;
    const bronze_storage_vt *vt;
    char root[4096], bucket[4096] = "", *prefix = NULL;
    int rc = 2;
    if (config) {
        if (bronze_config_load(&cfg, config, &err) || bronze_config_resolve(cfg, &err)) {
            BRONZE_ERROR("%s", err.msg);
            goto out;
        }
        vt = bronze_storage_for(cfg, &sp);
        snprintf(v.scope, sizeof v.scope, "system=%s/table=%s/", cfg->system, cfg->table);
    } else if (!strncmp(loc, "s3://", 5)) {
        split_location(loc + 5, root, sizeof root, v.scope, sizeof v.scope);
        char *slash = strchr(root, '/');
        if (slash) {
            *slash = 0;
            prefix = slash + 1;
        }
        snprintf(bucket, sizeof bucket, "%s", root);
        if (!bucket[0] || !envz("AWS_ACCESS_KEY_ID") || !envz("AWS_SECRET_ACCESS_KEY")) {
            BRONZE_ERROR("bronze-extract verify: %s needs a bucket and AWS_ACCESS_KEY_ID / "
                         "AWS_SECRET_ACCESS_KEY (AWS_ENDPOINT_URL for another server)",
                         loc);
            goto out;
        }
        memset(&sp, 0, sizeof sp);
        sp.local_root = ".";
        sp.bucket = bucket;
        sp.prefix = prefix && *prefix ? prefix : NULL;
        sp.endpoint = envz("AWS_ENDPOINT_URL");
        sp.region = envz("AWS_REGION") ? envz("AWS_REGION") : envz("AWS_DEFAULT_REGION");
        sp.access_key = envz("AWS_ACCESS_KEY_ID");
        sp.secret_key = envz("AWS_SECRET_ACCESS_KEY");
        sp.session_token = envz("AWS_SESSION_TOKEN");
        sp.timeout_seconds = 30;
        sp.max_retries = 3;
        sp.workers = 1;
        vt = &bronze_storage_s3;
    } else {
        split_location(loc, root, sizeof root, v.scope, sizeof v.scope);
        memset(&sp, 0, sizeof sp);
        sp.local_root = root;
        vt = &bronze_storage_local;
    }
    rc = 1;
    if (vt->open(&v.st, &sp, &err)) {
        BRONZE_ERROR("%s", err.msg);
        goto out;
    }
    v.local_root = vt == &bronze_storage_local ? sp.local_root : NULL;
    v.st->vt->describe(v.st, "", v.root_desc, sizeof v.root_desc);
    if ((fix && repair(&v, &err)) || verify_all(&v, &err)) {
        BRONZE_ERROR("verify: %s", err.msg);
        goto out;
    }
    rc = v.findings ? 1 : 0;
out:
    if (v.st)
        v.st->vt->close(v.st);
    bronze_config_free(cfg);
    return rc;
}
