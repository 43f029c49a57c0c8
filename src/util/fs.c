/* fs.c - local file-system helpers (see fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bronze_path_fmt(char *out, size_t cap, bronze_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "path too long (over %zu bytes): %.200s...",
                              cap - 1, out);
    return 0;
}

/* One pass of mkdir -p; ENOENT when a parent vanished under it. */
static int mkdirs_once(char *tmp, char **failed)
{
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = mkdir(tmp, 0755) != 0 && errno != EEXIST;
        if (rc) {
            *failed = p; /* tmp ends at the component that failed */
            return -1;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        *failed = NULL;
        return -1;
    }
    return 0;
}

/* Runs sharing .bronze-tmp remove the staging folders they leave empty, so a
 * parent can vanish between two of our mkdir calls (ENOENT): start again
 * from the top, as `mkdir -p` implementations do, a bounded number of times. */
int bronze_mkdirs(const char *path, bronze_err *err)
{
    char tmp[4096];
    if (bronze_path_fmt(tmp, sizeof tmp, err, "%s", path))
        return -1;
    for (int attempt = 0;; attempt++) {
        char *failed = NULL;
        if (mkdirs_once(tmp, &failed) == 0)
            break;
        int e = errno;
        if (e != ENOENT || attempt == 10000) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "creating directory %s: %s", tmp, strerror(e));
            if (failed)
                *failed = '/';
            return -1;
        }
        if (failed)
            *failed = '/';
    }
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
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

void bronze_dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(out, cap, ".");
}

int bronze_fsync_parent(const char *path, bronze_err *err)
{
    char dir[4096];
    bronze_dir_of(path, dir, sizeof dir);
    if (bronze_fsync_dir(dir) != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing directory %s: %s", dir,
                              strerror(errno));
    return 0;
}

int bronze_write_file_atomic(const char *path, const void *data, size_t n, bronze_err *err)
{
    char tmp[4200];
    if (bronze_path_fmt(tmp, sizeof tmp, err, "%s.tmp-%d", path, (int)getpid()))
        return -1;
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
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing %s: %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "closing %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "renaming %s: %s", path, strerror(e));
    }
    return bronze_fsync_parent(path, err);
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
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading %s", path);
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
    if (bronze_buf_cstr(out))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading %s", path);
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void bronze_writeback(int fd, uint64_t *synced, uint64_t written, uint64_t step, bool drop)
{
    if (written - *synced < step)
        return;
    uint64_t end = written & ~(step - 1);
    sync_file_range(fd, (off_t)*synced, (off_t)(end - *synced), SYNC_FILE_RANGE_WRITE);
    if (drop && *synced > step) {
        off_t len = (off_t)(*synced - step);
        sync_file_range(fd, 0, len, SYNC_FILE_RANGE_WAIT_BEFORE);
        posix_fadvise(fd, 0, len, POSIX_FADV_DONTNEED);
    }
    *synced = end;
}

void bronze_remove_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
