/*
 * local.c - the local-directory storage target, plus the file helpers every
 * back end shares (mkdir -p, atomic write, fsync of directories).
 *
 * put() is rename(2) from the staging folder (same file system: the staging
 * folder lives under the root, SPEC §7) followed by an fsync of the target
 * folder, so a committed name always refers to a complete, durable file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"

typedef struct {
    bronze_storage base;
    char *root;
} local_storage;

int bronze_mkdirs(const char *path, bronze_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "creating directory %s: %s", tmp,
                                  strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating directory %s: %s", tmp,
                              strerror(errno));
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s is not a directory", tmp);
    return 0;
}

int bronze_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(out, cap, ".");
}

int bronze_write_file_atomic(const char *path, const void *data, size_t n, bronze_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "writing %s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "renaming %s: %s", path, strerror(e));
    }
    char dir[4200];
    dir_of(path, dir, sizeof dir);
    bronze_fsync_dir(dir);
    return 0;
}

int bronze_read_file(const char *path, bronze_buf *out, bool *found, bronze_err *err)
{
    out->len = 0;
    *found = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "reading %s: %s", path, strerror(errno));
    }
    for (;;) {
        if (bronze_buf_reserve(out, 65536)) {
            close(fd);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        }
        ssize_t r = read(fd, out->data + out->len, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "reading %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    close(fd);
    *found = true;
    return bronze_buf_cstr(out);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void bronze_remove_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void full_path(local_storage *s, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", s->root, key);
}

static int local_put(bronze_storage *base, const char *local_path, const char *key, bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char dst[4200], dir[4200];
    full_path(s, key, dst, sizeof dst);
    dir_of(dst, dir, sizeof dir);
    if (bronze_mkdirs(dir, err))
        return -1;
    if (rename(local_path, dst) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "moving %s to %s: %s", local_path, dst,
                              strerror(errno));
    if (bronze_fsync_dir(dir) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing %s: %s", dir, strerror(errno));
    return 0;
}

static int local_remove(bronze_storage *base, const char *key, bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char p[4200];
    full_path(s, key, p, sizeof p);
    if (unlink(p) != 0 && errno != ENOENT)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "removing %s: %s", p, strerror(errno));
    char dir[4200];
    dir_of(p, dir, sizeof dir);
    bronze_fsync_dir(dir);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int local_list(bronze_storage *base, const char *prefix, char ***keys, size_t *n,
                      bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char p[4200];
    full_path(s, prefix, p, sizeof p);
    *keys = NULL;
    *n = 0;
    DIR *d = opendir(p);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return bronze_err_set(err, BRONZE_E_RUNTIME, "listing %s: %s", p, strerror(errno));
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_type == DT_DIR)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **k = realloc(*keys, cap * sizeof *k);
            if (!k)
                break;
            *keys = k;
        }
        size_t len = strlen(prefix) + strlen(e->d_name) + 2;
        char *k = malloc(len);
        if (!k)
            break;
        snprintf(k, len, "%s%s", prefix, e->d_name);
        (*keys)[(*n)++] = k;
    }
    closedir(d);
    if (*n)
        qsort(*keys, *n, sizeof **keys, cmp_str);
    return 0;
}

static int local_get(bronze_storage *base, const char *key, bronze_buf *out, bool *found,
                     bronze_err *err)
{
    local_storage *s = (local_storage *)base;
    char p[4200];
    full_path(s, key, p, sizeof p);
    return bronze_read_file(p, out, found, err);
}

static void local_describe(bronze_storage *base, const char *key, char *out, size_t cap)
{
    local_storage *s = (local_storage *)base;
    full_path(s, key, out, cap);
}

static void local_close(bronze_storage *base)
{
    local_storage *s = (local_storage *)base;
    if (!s)
        return;
    free(s->root);
    free(s);
}

static const bronze_storage_vt local_vt = {
    .name = "local",
    .put = local_put,
    .remove = local_remove,
    .list = local_list,
    .get = local_get,
    .describe = local_describe,
    .close = local_close,
};

int bronze_storage_local_open(bronze_storage **out, const char *root, bronze_err *err)
{
    local_storage *s = calloc(1, sizeof *s);
    if (!s || !(s->root = strdup(root))) {
        free(s);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    size_t n = strlen(s->root);
    while (n > 1 && s->root[n - 1] == '/')
        s->root[--n] = 0;
    s->base.vt = &local_vt;
    *out = &s->base;
    return 0;
}

void bronze_storage_free_list(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}
