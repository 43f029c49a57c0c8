/* out_file.c - an encoder's part file: write, hash, writeback (see out_file.h). */
#include "util/out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

#define WRITEBACK_STEP ((uint64_t)8 << 20)

int bronze_out_file_open(bronze_out_file *f, const char *path, bool drop, bronze_err *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->drop = drop;
    bronze_sha256_begin(&f->hash); /* on failure the roller hashes the file itself */
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "creating %s: %s", path, strerror(errno));
    return 0;
}

int bronze_out_file_write(bronze_out_file *f, const void *p, size_t n, bronze_err *err)
{
    const char *q = p;
    while (n) {
        ssize_t w = write(f->fd, q, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return bronze_err_set(err, BRONZE_E_RUNTIME, "writing %s: %s", f->path,
                                  strerror(errno));
        }
        bronze_sha256_update(&f->hash, q, (size_t)w);
        q += w;
        n -= (size_t)w;
        f->written += (uint64_t)w;
        bronze_writeback(f->fd, &f->synced, f->written, WRITEBACK_STEP, f->drop);
    }
    return 0;
}

int bronze_out_file_truncate(bronze_out_file *f, uint64_t pos, bronze_err *err)
{
    f->hash.valid = false; /* written bytes are undone: the roller reads the file */
    if (f->synced > pos)
        f->synced = pos & ~(WRITEBACK_STEP - 1);
    if (ftruncate(f->fd, (off_t)pos) != 0 || lseek(f->fd, (off_t)pos, SEEK_SET) < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "truncating %s: %s", f->path, strerror(errno));
    f->written = pos;
    return 0;
}

int bronze_out_file_close(bronze_out_file *f, bronze_err *err)
{
    /* closed whatever fsync says: the descriptor must not outlive the file */
    int synced = fsync(f->fd), sync_errno = errno;
    int closed = close(f->fd), close_errno = errno;
    f->fd = -1;
    if (synced != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "syncing %s: %s", f->path,
                              strerror(sync_errno));
    if (closed != 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "closing %s: %s", f->path,
                              strerror(close_errno));
    return 0;
}

const char *bronze_out_file_sha256(bronze_out_file *f)
{
    return bronze_sha256_end(&f->hash);
}

void bronze_out_file_free(bronze_out_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    bronze_sha256_free(&f->hash);
}
