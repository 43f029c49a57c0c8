/*
 * local.c - the local-directory storage back end (see storage.h).
 *
 * Staging lives under the same root (.bronze-tmp/), so upload() and
 * publish() are rename(2) on one file system: a final name always refers to
 * a complete, fsynced file, and the folder's fsync after each rename is
 * checked. swap_dir() exchanges a whole partition folder in one step with
 * renameat2(RENAME_EXCHANGE), so even a reader that ignores _metadata.json
 * sees the old batch or the new one (SPEC §6.4).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run/roller.h"
#include "storage/storage.h"
#include "util/fs.h"

typedef struct {
    bronze_storage base;
    char *root;
} local_storage;

#define PATH_CAP 4200

static int full_path(local_storage *s, const char *key, char *out, bronze_err *err)
{
    return bronze_path_fmt(out, PATH_CAP, err, "%s/%s", s->root, key);
}

static int ensure_parent(const char *path, bronze_err *err)
{
    char dir[PATH_CAP];
    bronze_dir_of(path, dir, sizeof dir);
    return bronze_mkdirs(dir, err);
}

static int move_into(const char *from, const char *to, bronze_err *err)
{
    /* another run may prune the (empty) target folder between the two
     * steps (see bronze_mkdirs): while the source is there, make it again */
    for (int attempt = 0;; attempt++) {
        if (ensure_parent(to, err))
            return -1;
        if (rename(from, to) == 0)
            break;
        int e = errno;
        if (e != ENOENT || attempt == 100 || access(from, F_OK) != 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "moving %s to %s: %s", from, to,
                                  strerror(e));
    }
    if (bronze_fsync_parent(to, err))
        return -1;
    /* the folder it left changed too */
    char a[PATH_CAP], b[PATH_CAP];
    bronze_dir_of(from, a, sizeof a);
    bronze_dir_of(to, b, sizeof b);
    return strcmp(a, b) ? bronze_fsync_parent(from, err) : 0;
}

static int local_upload(bronze_storage *base, const char *local_path, const char *key,
                        uint64_t size, const char *sha256_hex, bronze_err *err)
{
    (void)size;
    (void)sha256_hex;
    char dst[PATH_CAP];
    if (full_path((local_storage *)base, key, dst, err))
        return -1;
    return move_into(local_path, dst, err);
}

static int local_publish(bronze_storage *base, const char *src_key, const char *dst_key,
                         bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char src[PATH_CAP], dst[PATH_CAP];
    if (full_path(s, src_key, src, err) || full_path(s, dst_key, dst, err))
        return -1;
    return move_into(src, dst, err);
}

static int local_put(bronze_storage *base, const char *key, const void *data, size_t n,
                     bronze_err *err)
{
    char p[PATH_CAP];
    if (full_path((local_storage *)base, key, p, err) || ensure_parent(p, err))
        return -1;
    return bronze_write_file_atomic(p, data, n, err);
}

static int local_get(bronze_storage *base, const char *key, bronze_buf *out, bool *found,
                     bronze_err *err)
{
    char p[PATH_CAP];
    if (full_path((local_storage *)base, key, p, err))
        return -1;
    return bronze_read_file(p, out, found, err);
}

static int local_digest(bronze_storage *base, const char *key, char hex[65], uint64_t *size,
                        bool *found, bronze_err *err)
{
    char p[PATH_CAP];
    *found = false;
    if (full_path((local_storage *)base, key, p, err))
        return -1;
    struct stat st;
    if (stat(p, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "reading %s: %s", p, strerror(errno));
    }
    *size = (uint64_t)st.st_size;
    if (bronze_sha256_file(p, hex, err))
        return -1;
    *found = true;
    return 0;
}

/* Walks dir (the folder of prefix) adding keys that start with prefix. */
static int list_dir(const char *dir_path, const char *dir_key, const char *prefix, bool recursive,
                    bronze_obj_list *out, bronze_err *err)
{
    DIR *d = opendir(dir_path);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "listing %s: %s", dir_path, strerror(errno));
    }
    size_t plen = strlen(prefix);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char key[PATH_CAP], path[PATH_CAP];
        if (bronze_path_fmt(key, sizeof key, err, "%s%s", dir_key, e->d_name) ||
            bronze_path_fmt(path, sizeof path, err, "%s/%s", dir_path, e->d_name)) {
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(path, &st) != 0)
            continue; /* removed while we listed */
        if (S_ISDIR(st.st_mode)) {
            if (!recursive)
                continue;
            size_t klen = strlen(key);
            /* descend only where keys below can still match the prefix */
            if (klen + 1 >= sizeof key)
                continue;
            key[klen] = '/';
            key[klen + 1] = 0;
            size_t m = klen + 1 < plen ? klen + 1 : plen;
            if (strncmp(key, prefix, m))
                continue;
            rc = list_dir(path, key, prefix, recursive, out, err);
            continue;
        }
        if (!S_ISREG(st.st_mode) || strncmp(key, prefix, plen))
            continue;
        if (bronze_obj_list_add(out, key, (uint64_t)st.st_size))
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory listing %s", dir_path);
    }
    closedir(d);
    return rc;
}

static int local_list(bronze_storage *base, const char *prefix, bool recursive,
                      bronze_obj_list *out, bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    /* the folder part of the prefix: everything up to its last '/' */
    const char *slash = strrchr(prefix, '/');
    size_t dlen = slash ? (size_t)(slash - prefix) + 1 : 0;
    char dir_key[PATH_CAP], dir_path[PATH_CAP];
    if (dlen >= sizeof dir_key)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "path too long: %.200s", prefix);
    memcpy(dir_key, prefix, dlen);
    dir_key[dlen] = 0;
    if (bronze_path_fmt(dir_path, sizeof dir_path, err, "%s/%s", s->root, dir_key))
        return -1;
    size_t before = out->n;
    if (list_dir(dir_path, dir_key, prefix, recursive, out, err))
        return -1;
    (void)before;
    bronze_obj_list_sort(out);
    return 0;
}

/* Staging folders left empty by a remove go too, up to (not including)
 * .bronze-tmp/stage and .bronze-tmp itself, which other runs share. */
static void prune_staging_dirs(local_storage *s, const char *key)
{
    if (strncmp(key, ".bronze-tmp/", 12))
        return;
    char k[PATH_CAP];
    snprintf(k, sizeof k, "%s", key);
    for (char *slash; (slash = strrchr(k, '/'));) {
        *slash = 0;
        if (!strcmp(k, ".bronze-tmp") || !strcmp(k, ".bronze-tmp/stage") ||
            !strcmp(k, ".bronze-tmp/journals"))
            return;
        char p[PATH_CAP];
        if (snprintf(p, sizeof p, "%s/%s", s->root, k) >= (int)sizeof p || rmdir(p) != 0)
            return;
    }
}

static int local_remove(bronze_storage *base, const char *const *keys, size_t n, bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char last_dir[PATH_CAP] = "";
    for (size_t i = 0; i < n; i++) {
        char p[PATH_CAP], dir[PATH_CAP];
        if (full_path(s, keys[i], p, err))
            return -1;
        bool gone = unlink(p) == 0;
        if (!gone && errno != ENOENT)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "removing %s: %s", p, strerror(errno));
        bronze_dir_of(p, dir, sizeof dir);
        if (strcmp(dir, last_dir)) {
            if (bronze_fsync_dir(dir) != 0 && errno != ENOENT)
                return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing directory %s: %s", dir,
                                      strerror(errno));
            snprintf(last_dir, sizeof last_dir, "%s", dir);
        }
        if (gone) /* removing nothing empties no folder another run may be filling */
            prune_staging_dirs(s, keys[i]);
    }
    return 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int local_swap_dir(bronze_storage *base, const char *src_key, const char *dst_key,
                          bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char src[PATH_CAP], dst[PATH_CAP];
    if (full_path(s, src_key, src, err) || full_path(s, dst_key, dst, err))
        return -1;
    /* keys of folders end in '/': drop it for the syscalls */
    size_t n = strlen(src);
    if (n > 1 && src[n - 1] == '/')
        src[n - 1] = 0;
    n = strlen(dst);
    if (n > 1 && dst[n - 1] == '/')
        dst[n - 1] = 0;
    struct stat st;
    if (stat(dst, &st) != 0) {
        if (errno != ENOENT)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "reading %s: %s", dst, strerror(errno));
        return move_into(src, dst, err);
    }
    /* Tests run the fallback as on a file system without the exchange. */
    if (getenv("BRONZE_TEST_NO_RENAME_EXCHANGE"))
        return 1;
    if (syscall(SYS_renameat2, AT_FDCWD, src, AT_FDCWD, dst, RENAME_EXCHANGE) != 0) {
        if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
            return 1; /* this file system cannot exchange: marker protocol */
        return bronze_err_set(err, BRONZE_E_RUNTIME, "exchanging %s with %s: %s", src, dst,
                              strerror(errno));
    }
    if (bronze_fsync_parent(dst, err))
        return -1;
    char a[PATH_CAP], b[PATH_CAP];
    bronze_dir_of(src, a, sizeof a);
    bronze_dir_of(dst, b, sizeof b);
    return strcmp(a, b) ? bronze_fsync_parent(src, err) : 0;
}

static void local_describe(bronze_storage *base, const char *key, char *out, size_t cap)
{
    local_storage *s = (local_storage *)base;
    snprintf(out, cap, "%s/%s", s->root, key);
}

static void local_close(bronze_storage *base)
{
    local_storage *s = (local_storage *)base;
    if (!s)
        return;
    free(s->root);
    free(s);
}

static int local_open(bronze_storage **out, const bronze_storage_params *p, bronze_err *err)
{
    *out = NULL;
    local_storage *s = calloc(1, sizeof *s);
    if (!s || !(s->root = strdup(p->local_root && *p->local_root ? p->local_root : "."))) {
        free(s);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    size_t n = strlen(s->root);
    while (n > 1 && s->root[n - 1] == '/')
        s->root[--n] = 0;
    s->base.vt = &bronze_storage_local;
    *out = &s->base;
    return 0;
}

const bronze_storage_vt bronze_storage_local = {
    .name = "local",
    .open = local_open,
    .upload = local_upload,
    .publish = local_publish,
    .put = local_put,
    .get = local_get,
    .digest = local_digest,
    .list = local_list,
    .remove = local_remove,
    .swap_dir = local_swap_dir,
    .describe = local_describe,
    .close = local_close,
};
